"""`counterline`: start the app, or run one of its commands.

counterline [--data-dir DIR] [--database-url URL] [--demo]     the app (the demo store is created if empty)
counterline audit verify                                        check the audit chain (exit 1 on a break)
counterline demo-label SKU PRICE                                print a scale label code for a weighed item
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from app.config import Paths, resolve
from app.db.engine import make_engine, make_sessionmaker, migrate

log = logging.getLogger("counterline")


def _open(args: argparse.Namespace) -> tuple[Paths, Any]:
    paths = resolve(args.data_dir, args.database_url)
    engine = make_engine(paths.database_url)
    migrate(engine)
    return paths, make_sessionmaker(engine)


def _setup_logging(paths: Paths) -> None:
    from app.logsafe import RedactingFormatter

    handler = logging.FileHandler(paths.log_dir / "counterline.log", encoding="utf-8")
    handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])


def cmd_audit(args: argparse.Namespace) -> int:
    from app.services import audit

    _paths, factory = _open(args)
    with factory() as s:
        brk = audit.verify_chain(s)
    if brk is None:
        print("audit chain intact")
        return 0
    print(f"audit chain broken at entry {brk.seq}: {brk.reason}")
    return 1


def cmd_demo_label(args: argparse.Namespace) -> int:
    from app import demo

    _paths, factory = _open(args)
    try:
        price = Decimal(args.price)
        with factory() as s:
            print(demo.demo_scale_label(s, args.sku, price))
    except (ValueError, InvalidOperation) as e:
        print(f"cannot make that label: {e}", file=sys.stderr)
        return 2
    return 0


def run_app(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    paths, factory = _open(args)
    _setup_logging(paths)
    from app import demo
    from app.services.base import UserError, here

    with factory.begin() as s:
        try:
            h = here(s)
        except UserError:
            if not args.demo:
                print(
                    "This terminal has no store yet: start with --demo, or enrol it with a central store.",
                    file=sys.stderr,
                )
                return 2
            print("Creating the demo store (first start only)...")
            demo.seed(s)
            h = here(s)

    from PySide6.QtWidgets import QApplication

    from ui.context import AppContext
    from ui.feedback import MessageBar, Sounds
    from ui.main_window import MainWindow
    from ui.ops import Ops
    from ui.print_worker import PrintWorker
    from ui.scan_router import ScanRouter
    from ui.theme import STYLE

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Counterline")
    app.setStyleSheet(STYLE)
    router = ScanRouter()
    router.install(app)  # type: ignore[arg-type]
    ctx = AppContext(
        factory=factory,
        ops=Ops(factory),
        router=router,
        messages=MessageBar(),
        sounds=Sounds(),
        here=h,
        paths=paths,
    )
    win = MainWindow(ctx)
    win.show()
    log.info("window ready in %.0f ms", (time.perf_counter() - started) * 1000)
    worker = PrintWorker(factory, default_folder=str(paths.print_dir))
    worker.start()
    ctx.services["printer"] = worker
    code = app.exec()
    worker.stop()
    ctx.ops.shutdown()
    return int(code)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="counterline", description="Counterline store counter and warehouse bench"
    )
    p.add_argument("--data-dir", help="folder for the database, logs and printed files")
    p.add_argument("--database-url", help="any SQLAlchemy URL instead of the SQLite file in the data dir")
    p.add_argument("--demo", action="store_true", help="create the demo store when the database is empty")
    sub = p.add_subparsers(dest="command")
    a = sub.add_parser("audit", help="audit trail tools")
    a.add_argument("action", choices=["verify"])
    d = sub.add_parser("demo-label", help="a scale label code for a weighed demo item")
    d.add_argument("sku")
    d.add_argument("price")
    args = p.parse_args(argv)
    try:
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "demo-label":
            return cmd_demo_label(args)
        return run_app(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
