"""`counterline`: start the app, or run one of its commands.

counterline [--data-dir DIR] [--database-url URL] [--demo]     the app (--demo: the demo store is created if
                                                                empty; without it, an empty database starts
                                                                the first-run wizard: ui/first_run.py)
counterline audit verify                                        check the audit chain (exit 1 on a break, 3 if
                                                                it could not be compared with the central store)
counterline demo-label SKU PRICE                                print a scale label code for a weighed item
counterline enrol URL CODE [--name NAME] [--admin-pin PIN]      join a central store with its one-time code
counterline sync                                                one sync round now, with progress

At every start the database is migrated to the newest schema, after a backup where it is behind (app/db/backup.py);
a failed upgrade leaves it as it was, says what to do and exits 4.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from app.config import Paths, resolve
from app.db.engine import make_engine, make_sessionmaker

log = logging.getLogger("counterline")


def _open(args: argparse.Namespace) -> tuple[Paths, Any]:
    """Paths, logging, and the database brought to the newest schema (backed up first where it is behind);
    raises UpgradeFailed, which main() prints."""
    from app.db.backup import keep_from_env, upgrade_on_start
    from app.diagnostics import setup_logging

    paths = resolve(args.data_dir, args.database_url)
    setup_logging(paths.log_dir)
    engine = make_engine(paths.database_url)
    upgrade_on_start(engine, paths.data_dir / "backups", keep_from_env())
    return paths, make_sessionmaker(engine)


def cmd_audit(args: argparse.Namespace) -> int:
    from app.services import audit

    paths, factory = _open(args)
    with factory() as s:
        brk = audit.verify_chain(s)
    if brk is not None:
        print(f"audit chain broken at entry {brk.seq}: {brk.reason}")
        return 1
    print("audit chain intact")
    return _audit_against_central(factory, paths)


def _audit_against_central(factory: Any, paths: Paths) -> int:
    """Where the till is enrolled: its trail against what the central store received of it. Exits
    EXIT_NOT_COMPARED (3) where it could not compare: a cut-off or rewritten trail would not show then."""
    from app.services import settings
    from sync.audit import EXIT_NOT_COMPARED, EXIT_OK, EXIT_PROBLEM, compare
    from sync.client import SyncError

    not_compared = "NOT COMPARED with the central store (exit 3)"
    try:
        make = _sync_client(factory, paths)
    except SyncError as e:
        print(f"{not_compared}: {e}")
        return EXIT_NOT_COMPARED
    if make is None:
        with factory() as s:
            enrolled = bool(settings.get(s, "sync.central_url"))
        if enrolled:
            print(f"{not_compared}: this terminal's token is missing; enrol it again")
            return EXIT_NOT_COMPARED
        print("not compared with a central store: this terminal is not enrolled")
        return EXIT_OK
    try:
        with make() as client:
            head = client.audit_head()
    except SyncError as e:
        print(f"{not_compared}: {e}")
        return EXIT_NOT_COMPARED
    with factory() as s:
        result = compare(s, head)
    for note in result.notes:
        print(note)
    for problem in result.problems:
        print(f"PROBLEM: {problem}")
    return EXIT_OK if result.ok else EXIT_PROBLEM


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


def _sync_client(factory: Any, paths: Paths) -> Any:
    """A client for the central store this terminal is enrolled with, or None where it is not enrolled."""
    from app.services import settings
    from sync.client import Client, load_token

    token = load_token(paths.token_file)
    with factory() as s:
        url = settings.get(s, "sync.central_url")
        insecure = bool(settings.get(s, "sync.allow_insecure"))
    if not token or not url:
        return None
    return lambda: Client(url, token, allow_insecure=insecure)


def cmd_enrol(args: argparse.Namespace) -> int:
    import getpass

    from sync.enrol import EnrolError, check_first_admin_pin, enrol

    paths, factory = _open(args)
    try:
        pin = args.admin_pin
        if pin is None and check_first_admin_pin(factory, None):
            pin = getpass.getpass("PIN for the first admin user (6-8 digits): ")
        done = enrol(factory, paths.token_file, args.url, args.code, args.name or "", args.insecure, pin)
    except EnrolError as e:
        print(str(e), file=sys.stderr)
        return e.code
    for note in done.notes:
        print(note)
    print(f"enrolled as terminal {done.terminal_code} of store {done.store_code}; run `counterline sync`")
    return 0


def cmd_sync(args: argparse.Namespace) -> int:
    from sync.agent import Syncer
    from sync.client import SyncError
    from sync.replica import ApplyError

    paths, factory = _open(args)
    try:
        make = _sync_client(factory, paths)
    except SyncError as e:
        print(f"cannot sync: {e}", file=sys.stderr)
        return 2
    if make is None:
        print("this terminal is not enrolled: run `counterline enrol URL CODE` first", file=sys.stderr)
        return 2

    def progress(done: int, total: int | None) -> None:
        print(f"\rreceived {done:,}" + (f" of {total:,}" if total else ""), end="", flush=True)

    try:
        with make() as client:
            report = Syncer(factory, client).sync_once(progress)
    except (SyncError, ApplyError) as e:
        print(f"\nsync stopped: {e} (nothing is lost; run it again)", file=sys.stderr)
        return 1
    print(
        f"\nsent {report.pushed} events ({report.rejected} refused), received {report.pulled} changes; "
        f"feed position {report.cursor}"
    )
    return 1 if report.rejected else 0


def run_app(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    paths, factory = _open(args)
    from app.services.base import UserError, here

    with factory.begin() as s:
        try:
            h = here(s)
        except UserError:
            h = None
            if args.demo:  # `make run`: straight into the demo store, no questions
                print("Creating the demo store (first start only)...")
                from app import demo  # only here: the demo's catalog is a large import

                demo.seed(s)
                h = here(s)
    if h is None:  # no store yet: the first-run wizard (the store, the devices, the first manager)
        from ui.first_run import run_first_run

        if not run_first_run(factory, paths):
            print(
                "This terminal has no store yet: start again to set it up, start with --demo, or enrol it with a "
                "central store (counterline enrol URL CODE).",
                file=sys.stderr,
            )
            return 2
        with factory() as s:
            h = here(s)

    from PySide6.QtWidgets import QApplication

    from ui.context import AppContext
    from ui.feedback import MessageBar, Sounds
    from ui.idle_gc import IdleCollector, freeze_startup_objects
    from ui.main_window import MainWindow
    from ui.ops import Ops
    from ui.scan_sources import ScanSources, router_from_settings
    from ui.theme import STYLE

    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setApplicationName("Counterline")
    app.setStyleSheet(STYLE)
    router, scanner, scan_problems = router_from_settings(factory)  # prefix, suffix, key gap, barcode rules
    router.install(app)
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

    def ready() -> None:  # the window has painted
        ready_ms = (time.perf_counter() - started) * 1000
        log.info("window ready in %.0f ms", ready_ms)
        if (
            os.environ.get("COUNTERLINE_EXIT_WHEN_READY") == "1"
        ):  # benchmarks/start.py: start time, then leave
            cpu_ms, modules = time.process_time() * 1000, len(sys.modules)
            print(f"window ready in {ready_ms:.0f} ms, cpu {cpu_ms:.0f} ms, {modules} modules", flush=True)
            app.quit()

    win.when_painted(ready)
    win.show()
    for problem in scan_problems:
        ctx.messages.show_error(problem)
    if os.environ.get("COUNTERLINE_EXIT_WHEN_READY") == "1":
        app.exec()
        ctx.ops.shutdown()
        return 0
    # The other workstations, built while someone signs in; then what start-up made leaves every collection.
    win.build_rest_when_idle(then=freeze_startup_objects)
    collector = IdleCollector(ctx.ops)
    from ui.print_worker import PrintWorker  # here: the printers' drivers are no part of the window's start

    worker = PrintWorker(factory, default_folder=str(paths.print_dir))
    worker.start()
    ctx.services["printer"] = worker
    sources = ScanSources(router)  # a serial or camera scanner, into the same router
    sources.start(scanner)
    ctx.services["scanners"] = sources
    agent = _start_agent(factory, paths)
    if agent is not None:
        ctx.services["sync"] = agent
        win.watch_sync(agent)
    code = app.exec()
    collector.stop()
    sources.stop()
    worker.stop()
    if agent is not None:
        agent.stop()
    ctx.ops.shutdown()
    return int(code)


def _start_agent(factory: Any, paths: Paths) -> Any:
    from app.services import settings
    from sync.agent import Agent
    from sync.client import SyncError

    try:
        make = _sync_client(factory, paths)
    except SyncError as e:
        log.warning("sync not started: %s", e)
        return None
    if make is None:
        return None
    with factory() as s:
        interval = float(settings.get(s, "sync.interval_s") or 15)
    agent = Agent(factory, make, interval_s=interval)
    agent.start()
    return agent


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
    e = sub.add_parser("enrol", aliases=["enroll"], help="join a central store with a one-time code")
    e.add_argument("url", help="the central store's address, for example https://hq.example:8443")
    e.add_argument("code", help="the one-time code from `counterline-central enroll-terminal`")
    e.add_argument("--name", help="a name for this terminal (default: the machine's name)")
    e.add_argument("--admin-pin", help="PIN of the first admin user, on a database with no staff yet")
    e.add_argument("--insecure", action="store_true", help="allow plain http to another machine (lab only)")
    sub.add_parser("sync", help="one sync round with the central store now")
    args = p.parse_args(argv)
    from app.db.backup import UpgradeFailed

    try:
        if args.command == "audit":
            return cmd_audit(args)
        if args.command == "demo-label":
            return cmd_demo_label(args)
        if args.command in ("enrol", "enroll"):
            return cmd_enrol(args)
        if args.command == "sync":
            return cmd_sync(args)
        return run_app(args)
    except KeyboardInterrupt:
        return 130
    except UpgradeFailed as e:
        print(str(e), file=sys.stderr)
        return 4


if __name__ == "__main__":
    sys.exit(main())
