"""Selling at scale: scan-to-line latency in the real Sell window, sale completion, and cart recalculation.

    .venv/bin/python benchmarks/sell.py [--quick] [--products N] [--scans N] [--sales N] [--db CATALOG.db]

The catalog (default 1,000,000 products, `--quick` 20,000) is built in a temporary folder by the lookup
benchmark's builder on top of the demo store. Then:
- Scan to line shown: the main window as `counterline` starts it (op helper, scan router installed on the
  application, message bar), the cashier signs in with her PIN and opens a shift, and each barcode is typed
  into the scan field as a wedge scanner types it. The clock starts when the scanner's Enter is delivered and
  stops when the new line (or, for a repeat scan, the new quantity) is in the cart table; "painted" also
  includes the repaint Qt queues after it. Every 25 lines the sale is paid in cash and completed, untimed.
  The scanned items are in stock at the till, as in a store whose stock is synced, except one in 8: those scans
  show the amber "only N in stock" warning, and their figures are reported on their own line.
- Sale completion: `sales.complete_sale` in its own transaction as the op helper runs it (synchronous=FULL, so
  every commit waits for the disk), beside the same rows written with plain sqlite3 into tables of the same
  shape in one transaction per sale, on a file with the same settings: the ratio is what the service costs.
- Cart recalculation: `pricing.price_cart` on a 200-line mixed cart.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

# Run as a script, this folder comes first on sys.path, and its sync.py would hide the `sync` package.
_HERE = Path(__file__).resolve().parent
# This folder's own helper, when run as a script (a worker process it spawns imports this file without the folder
# on sys.path, and never calls main).
if __name__ == "__main__":
    import _machine

sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault(
    "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), "counterline-escpos")
)

from sqlalchemy import event, func, select  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from app import demo  # noqa: E402
from app.db.engine import make_engine, make_sessionmaker  # noqa: E402
from app.db.models import Barcode, Product, StaffUser  # noqa: E402
from app.domain.pricing import CartLineIn, Discount, price_cart  # noqa: E402
from app.ids import new_id  # noqa: E402
from app.services import sales, shifts  # noqa: E402
from app.services.base import Actor, here  # noqa: E402
from benchmarks.lookup import build, pct, reuse  # noqa: E402

CASHIER, CASHIER_PIN = "cashier", "1111"  # app.demo.DEMO_USERS
SCAN_TARGET_MS = 30.0
PAINT_TARGET_MS = 17.0  # one frame at 60 Hz
COMPLETE_TARGET_MS = 20.0
PRICE_TARGET_MS = 20.0


@dataclass
class Figures:
    samples: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.samples)

    @property
    def p99(self) -> float:
        return pct(self.samples, 0.99)

    @property
    def worst(self) -> float:
        return max(self.samples)


def row(label: str, f: Figures, target: float | None = None) -> str:
    mark = "" if target is None else ("  ok" if f.p99 < target else "  OVER")
    aim = f"< {target:.0f}" if target is not None else ""
    return f"{label:<28}{f.p50:>9.2f}{f.p99:>9.2f}{f.worst:>9.2f}{aim:>9}{mark}"


HEADER = f"{'':<28}{'p50':>9}{'p99':>9}{'max':>9}{'target':>9}   (ms)"


def cashier(factory: sessionmaker[Session]) -> Actor:
    with factory() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == CASHIER))
        assert uid is not None, "the demo store has no cashier"
        return Actor(uid)


# ----------------------------------------------------------------------------------------- the Sell window


@dataclass
class ScanRun:
    shown: Figures  # Enter delivered -> the line (or its new quantity) is in the cart table
    painted: Figures  # ... and the repaint Qt queued for it has run
    warned: Figures  # painted, for the scans of an item the till has no stock of (the amber warning shows)
    first: float  # the first scan after sign-in, cold caches (not in the figures above)
    path: str  # how the keys reached the router
    none_refs_lost: float  # per scan: see `qt_refcount_ballast`


def qt_refcount_ballast() -> bool:
    """Guard against a PySide6 bug seen with PySide6 6.12.0 on CPython 3.11: every Qt call that returns None
    drops a reference to None, and every signal emit one to True or False, so after some tens of thousands of
    calls the interpreter aborts ("Fatal Python error: none_dealloc"). From 3.12 None is immortal and nothing
    happens. If the leak shows, hold enough extra references for a full run, say so and return True."""
    from PySide6.QtWidgets import QLabel

    label = QLabel()
    before = sys.getrefcount(None)
    for _ in range(100):
        label.setText("x")
    if before - sys.getrefcount(None) < 50:
        return False
    print(
        "warning: this PySide6 drops a reference to None on every Qt call that returns None (Python "
        f"{sys.version_info.major}.{sys.version_info.minor}); holding spare references so the run can finish"
    )
    ballast: list[object] = [None, True, False] * 2_000_000
    # One reference to the list is never given back, so it outlives interpreter shutdown, where the lost
    # references would otherwise bring None to zero after all.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(ballast))
    return True


def give_stock(db_path: Path, codes: list[str]) -> set[str]:
    """Stock (1,000 each, a receipt at the sellable location) for the items behind `codes`, except one in 8:
    the codes left without stock are returned (their scans warn)."""
    from app.services import stock

    engine = make_engine(f"sqlite:///{db_path}")
    with make_sessionmaker(engine).begin() as s:
        ids = dict(
            s.execute(
                select(Barcode.code, Barcode.product_id).where(
                    Barcode.code.in_([demo.gtin14(c) for c in codes])
                )
            ).all()
        )
        where = stock.sellable_location(s).id
        unstocked = {c for i, c in enumerate(codes) if i % 8 == 7}
        moves = [
            stock.MovementIn(ids[demo.gtin14(c)], where, Decimal(1000), "receipt")
            for c in codes
            if c not in unstocked
        ]
        stock.record_movements(s, moves, "receipt", new_id(), None)
    engine.dispose()
    return unstocked


def scan_latency(
    db_path: Path, codes: list[str], scans: int, lines_per_sale: int, rng: random.Random, unstocked: set[str]
) -> ScanRun:
    """Scans through the real main window, as a wedge scanner delivers them."""
    from PySide6.QtCore import QEvent, QEventLoop, Qt, QTimer
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication, QWidget

    from ui.context import AppContext
    from ui.feedback import MessageBar, Sounds
    from ui.idle_gc import IdleCollector, freeze_startup_objects
    from ui.main_window import MainWindow
    from ui.ops import Ops
    from ui.scan_router import ScanField, ScanRouter
    from ui.theme import STYLE

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE)  # type: ignore[union-attr]
    qt_refcount_ballast()
    engine = make_engine(f"sqlite:///{db_path}")
    factory = make_sessionmaker(engine)
    with factory() as s:
        h = here(s)
    # Wired as ui.main.run_app wires it (the print worker and sync agent are services, not the window).
    router = ScanRouter()
    router.install(app)  # type: ignore[arg-type]
    ctx = AppContext(
        factory=factory, ops=Ops(factory), router=router, messages=MessageBar(), sounds=Sounds(), here=h
    )
    win = MainWindow(ctx)
    win.show()
    win.activateWindow()
    freeze_startup_objects()
    collector = IdleCollector(ctx.ops)
    # Any event wakes the waiting loop below; this timer makes sure one comes even if nothing else happens.
    tick = QTimer()
    tick.setInterval(200)
    tick.start()

    def wait_until(done: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
        deadline = time.perf_counter() + timeout_s
        while not done():
            if ctx.messages.error:
                raise RuntimeError(f"{what}: the window refused it: {ctx.messages.text()}")
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{what}: nothing after {timeout_s:.0f} s")
            # Sleep until an event arrives (the op helper's result is one), then run everything pending.
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)  # type: ignore[union-attr]

    def idle(what: str) -> None:
        wait_until(ctx.ops.is_idle, what)

    def key(target: QWidget, k: Qt.Key, text: str) -> None:
        # Through QApplication like a real key (the router's filter sees it). Not QtTest: in PySide6 6.12 every
        # QTest.keyClick(s) call drops a reference to None, and a thousand scans crash the interpreter.
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(target, QKeyEvent(kind, k, Qt.KeyboardModifier.NoModifier, text))

    try:
        idle("list the staff")
        users = win.signin.users
        for i in range(users.count()):
            if users.item(i).data(Qt.ItemDataRole.UserRole) == CASHIER:
                users.setCurrentRow(i)
        win.signin.pin.setText(CASHIER_PIN)
        win.signin.submit()
        wait_until(lambda: ctx.user is not None, "sign in")
        idle("sign in")
        opened: list[object] = []
        ctx.ops.run(lambda s, a: shifts.open_shift(s, a, Decimal("100.00")), opened.append)
        wait_until(lambda: bool(opened), "open a shift")
        win.show_screen("sell")
        idle("show Sell")
        sell = win.screens["sell"]
        table = sell.table
        path = (
            "scan field"
            if isinstance(QApplication.focusWidget(), ScanField)
            else "key burst (scan router filter)"
        )

        def complete() -> None:
            assert sell.sale is not None
            sid, due = sell.sale.id, sell.sale.remaining_in_cash + Decimal(20)
            done: list[Any] = []
            ctx.ops.run(
                lambda s, a: (sales.add_tender(s, a, sid, "cash", due), sales.complete_sale(s, a, sid))[1],
                done.append,
            )
            wait_until(lambda: bool(done), "complete the sale")
            idle("complete the sale")
            sell.after_complete(done[0])
            ctx.messages.clear()

        shown, painted, warned = [], [], []
        first = 0.0
        in_sale: dict[str, int] = {}  # code -> row in the cart table
        qty: dict[str, int] = {}
        last: str | None = None
        none_refs = sys.getrefcount(None)
        for n in range(scans + 1):
            if len(in_sale) >= lines_per_sale:
                complete()
                in_sale, qty, last = {}, {}, None
            if last is not None and rng.random() < 0.125:
                code = last  # two of the same: the line's quantity goes up
            else:
                code = rng.choice(codes)
                while code in in_sale:
                    code = rng.choice(codes)
            if code in in_sale:
                r, want = in_sale[code], str(qty[code] + 1)

                def ready(r: int = r, want: str = want) -> bool:
                    item = table.item(r, 1)
                    return item is not None and item.text() == want
            else:
                rows = len(in_sale) + 1

                def ready(rows: int = rows) -> bool:
                    return table.rowCount() == rows and table.item(rows - 1, 0) is not None

            for ch in code:  # the scanner types the digits...
                key(win.scan, Qt.Key(Qt.Key.Key_0.value + int(ch)), ch)
            start = time.perf_counter()
            key(win.scan, Qt.Key.Key_Return, "\r")  # ...and its Enter delivers the scan
            wait_until(ready, f"scan {code}")
            t_shown = time.perf_counter()
            app.processEvents()  # type: ignore[union-attr]  # the queued repaint of the table and total
            t_painted = time.perf_counter()
            if code in in_sale:
                qty[code] += 1
            else:
                in_sale[code], qty[code] = len(in_sale), 1
            last = code
            if n == 0:
                first = (t_shown - start) * 1000  # first scan after sign-in: cold caches, not counted
            else:
                if code in unstocked:
                    warned.append((t_painted - start) * 1000)
                else:
                    shown.append((t_shown - start) * 1000)
                    painted.append((t_painted - start) * 1000)
            idle(f"scan {code}")
        lost = (none_refs - sys.getrefcount(None)) / (scans + 1)
        if in_sale:
            complete()
        return ScanRun(Figures(shown), Figures(painted), Figures(warned), first, path, lost)
    finally:
        tick.stop()
        collector.stop()
        ctx.ops.shutdown()
        win.close()
        engine.dispose()


# ----------------------------------------------------------------------------------------- sale completion

# With their indexes and triggers; the orders' triggers look into report_days (the reports' kept days, left empty).
LEDGER_TABLES = [
    "orders",
    "stock_movements",
    "stock_balances",
    "outbox",
    "print_jobs",
    "audit_log",
    "report_days",
]


@dataclass
class Completion:
    samples: list[float]
    rows: int  # rows changed by one completion (sqlite3 total_changes)
    order_id: str  # the last completed sale: the template for the plain sqlite3 rows
    cpu: list[
        float
    ]  # the same transactions' CPU time in this process: what a loaded machine does not inflate
    statements: float  # SQL statements sent per complete_sale transaction (BEGIN included), on average
    scan_statements: float  # ... per add_scan transaction


def completions(
    factory: sessionmaker[Session], codes: list[str], n: int, basket: int, rng: random.Random
) -> Completion:
    """Ring up `n` sales (untimed) and time each `complete_sale` transaction, commit included."""
    who = cashier(factory)
    samples: list[float] = []
    cpu: list[float] = []
    rows = 0
    sale_id = ""
    sent = [0]  # SQL statements sent to the database, counted by an engine event

    def count(*_args: Any) -> None:
        sent[0] += 1

    engine = factory.kw["bind"]
    event.listen(engine, "before_cursor_execute", count)
    scan_sent = completion_sent = 0
    gc.collect()
    for i in range(n + 3):
        with factory.begin() as s:
            sale_id = sales.start_sale(s, who).id
        for code in rng.sample(codes, basket):
            sent[0] = 0
            with factory.begin() as s:
                total = sales.add_scan(s, who, sale_id, code).sale.total
            scan_sent += sent[0] if i >= 3 else 0
        with factory.begin() as s:
            sales.add_tender(s, who, sale_id, "card", total, card_last4="4242", approval_code="A1B2C3")
        sent[0] = 0
        start, start_cpu = time.perf_counter(), time.process_time()
        with factory.begin() as s:
            raw = s.connection().connection.dbapi_connection
            assert raw is not None
            before = raw.total_changes
            sales.complete_sale(s, who, sale_id)
            rows = raw.total_changes - before
        if i >= 3:  # the first three warm SQLAlchemy's statement cache
            samples.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            completion_sent += sent[0]
    event.remove(engine, "before_cursor_execute", count)
    return Completion(samples, rows, sale_id, cpu, completion_sent / n, scan_sent / (n * basket))


def plain_sqlite(db_path: Path, plain_path: Path, template_order: str, n: int) -> tuple[list[float], int]:
    """The rows one completion writes, copied from a real completed sale into tables of the same shape
    (same columns, indexes and triggers, no ORM) in a file with the same settings: one transaction each."""
    src = sqlite3.connect(db_path)
    src.row_factory = sqlite3.Row
    ddl = [
        sql
        for (sql,) in src.execute(
            f"SELECT sql FROM sqlite_master WHERE sql IS NOT NULL AND tbl_name IN "
            f"({','.join('?' * len(LEDGER_TABLES))}) ORDER BY type = 'table' DESC",
            LEDGER_TABLES,
        )
    ]
    order = dict(src.execute("SELECT * FROM orders WHERE id = ?", (template_order,)).fetchone())
    moves = [
        dict(r) for r in src.execute("SELECT * FROM stock_movements WHERE cause_id = ?", (template_order,))
    ]
    balances = [
        dict(r)
        for m in moves
        for r in src.execute(
            "SELECT * FROM stock_balances WHERE product_id = ? AND location_id = ?",
            (m["product_id"], m["location_id"]),
        )
    ]
    # A completion writes two events (the sale, and its audit entry for the central store's copy of the chain).
    last = {
        t: [dict(r) for r in src.execute(f"SELECT * FROM {t} ORDER BY seq DESC LIMIT {k}")]
        for t, k in (("outbox", 2), ("print_jobs", 1), ("audit_log", 1))
    }
    src.close()

    db = sqlite3.connect(plain_path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    for sql in ddl:
        db.execute(sql)

    def insert(table: str, values: dict[str, Any]) -> None:
        cols = [c for c in values if c != "seq"]  # seq is the rowid: let SQLite number it
        db.execute(
            f"INSERT INTO {table} ({','.join(cols)}) VALUES ({','.join('?' * len(cols))})",
            [values[c] for c in cols],
        )

    ids = [new_id() for _ in range(n)]
    db.execute("BEGIN")
    for i, oid in enumerate(ids):
        insert("orders", {**order, "id": oid, "number": f"P-{i}", "status": "open", "completed_at": None})
    db.execute("COMMIT")

    samples = []
    rows = 0
    for oid in ids:
        start = time.perf_counter()
        before = db.total_changes
        db.execute("BEGIN IMMEDIATE")
        db.execute(
            "UPDATE orders SET status = 'completed', completed_at = ? WHERE id = ?",
            (order["completed_at"], oid),
        )
        for m in moves:
            insert("stock_movements", {**m, "id": new_id(), "cause_id": oid})
        for b in balances:
            db.execute(
                "INSERT INTO stock_balances (product_id, location_id, on_hand) VALUES (?, ?, ?) "
                "ON CONFLICT (product_id, location_id) DO UPDATE SET on_hand = on_hand + excluded.on_hand",
                (b["product_id"], b["location_id"], -1),
            )
        for table, rows_of in last.items():
            for values in rows_of:
                insert(table, {**values, "id": new_id()})
        db.execute("COMMIT")
        rows = db.total_changes - before
        samples.append((time.perf_counter() - start) * 1000)
    db.close()
    return samples, rows


# ----------------------------------------------------------------------------------------- recalculation


def cart(lines: int) -> list[CartLineIn]:
    """A mixed cart: weighed quantities, line discounts, two tax classes and a few voided lines."""
    return [
        CartLineIn(
            line_id=str(i),
            sku=f"SKU-{i}",
            name=f"Item {i}",
            qty=Decimal(f"{1 + i % 3}.{i % 7}") if i % 4 == 0 else Decimal(1 + i % 3),
            unit_price=Decimal(f"{1 + i % 37}.{i % 100:02d}"),
            tax_rate=Decimal("0.23") if i % 2 else Decimal("0.135"),
            tax_class="STD" if i % 2 else "RED",
            discount=Discount("percent", Decimal(5), "promo") if i % 5 == 0 else None,
            voided=i % 50 == 0,
        )
        for i in range(lines)
    ]


def recalculation(runs: int) -> list[tuple[str, Figures]]:
    items = cart(200)
    voucher = Discount("amount", Decimal("25.00"), "voucher")
    out = []
    gc.collect()  # start clean of the window's garbage, as a running till would be
    for label, mode, rounding in (
        ("inclusive, line rounding", "inclusive", "line"),
        ("exclusive, order rounding", "exclusive", "order"),
    ):
        samples = []
        for _ in range(runs):
            start = time.perf_counter()
            price_cart(items, voucher, mode, rounding)  # type: ignore[arg-type]
            samples.append((time.perf_counter() - start) * 1000)
        out.append((label, Figures(samples)))
    return out


# ----------------------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="20,000 products and fewer samples (under a minute)")
    ap.add_argument("--products", type=int, help="catalog size (default 1,000,000; quick 20,000)")
    ap.add_argument("--scans", type=int, help="timed scans in the window (default 1000; quick 200)")
    ap.add_argument("--sales", type=int, help="timed sale completions (default 300; quick 60)")
    ap.add_argument("--basket", type=int, default=8, help="lines per completed sale")
    ap.add_argument(
        "--db", type=Path, help="a catalog benchmarks/lookup.py built before, instead of building one"
    )
    args = ap.parse_args()
    print(_machine.speed_line(), flush=True)
    products = args.products or (20_000 if args.quick else 1_000_000)
    scans = args.scans or (200 if args.quick else 1000)
    n_sales = args.sales or (60 if args.quick else 300)
    rng = random.Random(11)

    with tempfile.TemporaryDirectory(prefix="counterline-sell-") as d:
        db_path = Path(d) / "sell.db"
        start = time.perf_counter()
        codes = reuse(args.db, db_path) if args.db else build(db_path, products, random.Random(1))
        built = time.perf_counter() - start
        engine = make_engine(f"sqlite:///{db_path}")
        factory = make_sessionmaker(engine)
        with factory() as s:
            count = s.scalar(select(func.count()).select_from(Product)) or 0
        engine.dispose()
        print(f"catalog: {count:,} products built in {built:.1f} s ({len(codes):,} codes to scan)")

        unstocked = give_stock(db_path, codes)
        run = scan_latency(db_path, codes, scans, 25, rng, unstocked)
        platform = os.environ.get("QT_QPA_PLATFORM") or "default"
        print(
            f"\nScan to line shown in the Sell window ({scans} scans, 1 in 8 a repeat, 25 lines a sale, "
            f"keys via {run.path}, Qt platform {platform})"
        )
        print(HEADER)
        print(row("line in cart table", run.shown, SCAN_TARGET_MS))
        print(row("line painted", run.painted, PAINT_TARGET_MS))
        print(row("painted, with stock warning", run.warned))
        print(f"{'first scan after sign-in':<28}{run.first:>9.2f}")
        if run.none_refs_lost > 1:
            print(f"references to None lost per scan (PySide6 bug, see above): {run.none_refs_lost:.0f}")

        engine = make_engine(f"sqlite:///{db_path}")
        factory = make_sessionmaker(engine)
        done = completions(factory, codes, n_sales, args.basket, rng)
        engine.dispose()
        plain, plain_rows = plain_sqlite(db_path, Path(d) / "plain.db", done.order_id, n_sales)
        ours, raw = Figures(done.samples), Figures(plain)
        print(
            f"\nSale completion, synchronous=FULL, WAL ({n_sales} sales of {args.basket} lines; rows written "
            f"per transaction: complete_sale {done.rows}, plain sqlite3 {plain_rows})"
        )
        print(HEADER)
        print(row("sales.complete_sale", ours, COMPLETE_TARGET_MS))
        print(row("plain sqlite3, same rows", raw))
        print(row("complete_sale, CPU time", Figures(done.cpu)))
        print(f"{'ratio':<28}{ours.p50 / raw.p50:>8.1f}x{ours.p99 / raw.p99:>8.1f}x")
        print(
            f"SQL statements sent (BEGIN included): {done.statements:.1f} per complete_sale, "
            f"{done.scan_statements:.1f} per add_scan (its own transaction, as the Sell window runs it)"
        )

    runs = 100 if args.quick else 500
    print(f"\nCart recalculation: pricing.price_cart, 200 lines, {runs} runs each")
    print(HEADER)
    for label, figures in recalculation(runs):
        print(row(label, figures, PRICE_TARGET_MS))


if __name__ == "__main__":
    main()
