"""Reports over a year of a busy store: the time to open each report (today, this week, the whole year).

    .venv/bin/python benchmarks/reports.py [--days 365] [--sales 300] [--lines 8] [--quick] [--keep FILE] [--screen]

Builds the demo store on a real SQLite file, then writes a year of closed shifts (one a day) with 300 completed
sales a day of 8 lines each (some discounted or overridden, one in twenty voided), their payments (cash, card,
split), paid in/out, and a stock movement per line, with bulk inserts; and each day 15 returns with their reasons and dispositions, 40 pickup and curbside orders made
ready and 30 orders packed at the bench. Then times the first opening of a year (which sums and keeps every ended
day, app.services.report_days), and `reports.run` in a fresh transaction per call, as the Reports screen calls it,
one line per report and period. With --screen, also each report over the year on the Reports screen of the real
window (offscreen Qt), from asking to shown, as the person at the office waits for it. Goal: under 1 s.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# This folder's own helper, when run as a script (a worker process it spawns imports this file without the folder
# on sys.path, and never calls main).
if __name__ == "__main__":
    import _machine
from sqlalchemy import String, cast, delete, insert, null, select, update

from app import demo
from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import (
    CashMovement,
    Location,
    Order,
    OrderLine,
    PackFigures,
    Payment,
    PickupRecord,
    Product,
    ReportDay,
    ReturnLine,
    Shift,
    StaffUser,
    StockMovement,
)
from app.ids import new_id
from app.services import report_days, reports
from app.services.base import here

D = Decimal
CENT = D("0.01")


def build(path: Path, days: int, per_day: int, per_sale: int, rng: random.Random) -> None:
    engine = make_engine(f"sqlite:///{path}")
    migrate(engine)
    factory = make_sessionmaker(engine)
    with factory.begin() as s:
        demo.seed(s, products=400)
    with factory() as s:
        tz = ZoneInfo(here(s).timezone)
        products = [
            (p.id, p.sku, p.name, p.price, p.tax_class)
            for p in s.scalars(select(Product).where(Product.weighed.is_(False)))
        ]
        users = list(s.scalars(select(StaffUser.id)))
        location = s.scalar(select(Location.id).where(Location.sellable.is_(True)))
    today = datetime.now(tz).date()
    seq = 0
    for d in range(days):
        day = today - timedelta(days=days - 1 - d)
        opened = datetime.combine(day, datetime.min.time(), tz).replace(hour=8).astimezone(UTC)
        shift_id = new_id()
        cashier = rng.choice(users)
        orders: list[dict[str, Any]] = []
        lines: list[dict[str, Any]] = []
        payments: list[dict[str, Any]] = []
        moves: list[dict[str, Any]] = []
        cash = D("100.00")
        for _ in range(per_day):
            seq += 1
            oid = new_id()
            when = opened + timedelta(seconds=rng.uniform(0, 12 * 3600))
            total = D(0)
            discount_total = D(0)
            for n in range(per_sale):
                pid, sku, name, price, tax_class = rng.choice(products)
                qty = D(rng.randint(1, 3))
                voided = rng.random() < 0.05
                discount = None
                override = None
                amount = price * qty
                if rng.random() < 0.05:
                    off = (amount * D("0.10")).quantize(CENT)
                    discount = {
                        "kind": "percent",
                        "value": "10",
                        "reason": "damaged",
                        "approval_id": None,
                        "amount": str(off),
                    }
                    amount -= off
                    discount_total += off
                elif rng.random() < 0.02:
                    new = (price * D("0.9")).quantize(CENT)
                    override = {"price": str(new), "reason": "price match", "approval_id": None}
                    amount = new * qty
                if not voided:
                    total += amount
                lid = new_id()
                lines.append(
                    {
                        "id": lid,
                        "order_id": oid,
                        "line_no": n + 1,
                        "product_id": pid,
                        "sku": sku,
                        "name": name,
                        "qty": qty,
                        "unit": "ea",
                        "unit_price": price,
                        "tax_class": tax_class,
                        "tax_rate": D("0.23"),
                        "amount": amount,
                        "tax": (amount * D("0.23") / D("1.23")).quantize(CENT),
                        "voided": voided,
                        "scanned_qty": D(0),
                        "discount": discount,
                        "price_override": override,
                    }
                )
                if not voided:
                    moves.append(
                        {
                            "id": new_id(),
                            "product_id": pid,
                            "location_id": location,
                            "qty": -qty,
                            "kind": "sale",
                            "cause_type": "order",
                            "cause_id": oid,
                            "created_at": when,
                        }
                    )
            kind = rng.choice(["cash", "cash", "card", "card", "split"])
            if kind == "split":
                half = (total / 2).quantize(CENT)
                parts = [("card", half), ("cash", total - half)]
            else:
                parts = [(kind, total)]
            for k, a in parts:
                payments.append(
                    {
                        "id": new_id(),
                        "order_id": oid,
                        "kind": k,
                        "amount": a,
                        "tendered": a,
                        "created_at": when,
                    }
                )
                if k == "cash":
                    cash += a
            orders.append(
                {
                    "id": oid,
                    "number": f"S001-01-{seq:07d}",
                    "channel": "counter",
                    "fulfilment": "carry_out",
                    "status": "completed",
                    "terminal_code": "01",
                    "owner_id": cashier,
                    "shift_id": shift_id,
                    "subtotal": total + discount_total,
                    "discount_total": discount_total,
                    "tax_total": D(0),
                    "total": total,
                    "rounding": D(0),
                    "change_given": D(0),
                    "created_at": when,
                    "completed_at": when,
                }
            )
        closed = opened + timedelta(hours=12, minutes=30)
        counted_cents = int((cash + D(20) - D(5)) / CENT) + rng.randint(-200, 200)
        with engine.begin() as conn:
            conn.execute(
                insert(Shift),
                [
                    {
                        "id": shift_id,
                        "number": f"S001-01-{d + 1:06d}",
                        "terminal_code": "01",
                        "status": "closed",
                        "opened_by": cashier,
                        "opened_at": opened,
                        "opening_float": D("100.00"),
                        "closed_by": cashier,
                        "closed_at": closed,
                        "counted": {"cash": {"0.01": counted_cents}, "other": {}},
                    }
                ],
            )
            conn.execute(
                insert(CashMovement),
                [
                    {
                        "id": new_id(),
                        "shift_id": shift_id,
                        "kind": "paid_in",
                        "amount": D(20),
                        "reason": "safe",
                        "user_id": cashier,
                        "created_at": opened,
                    },
                    {
                        "id": new_id(),
                        "shift_id": shift_id,
                        "kind": "paid_out",
                        "amount": D(5),
                        "reason": "milk",
                        "user_id": cashier,
                        "created_at": opened,
                    },
                ],
            )
            conn.execute(insert(Order), orders)
            conn.execute(insert(OrderLine), lines)
            conn.execute(insert(Payment), payments)
            conn.execute(insert(StockMovement), moves)
            for table, rows in fulfilment(d, opened, products, rng).items():
                conn.execute(insert(table), rows)
    with engine.begin() as conn:
        as_the_till_writes(conn)
    engine.dispose()


def as_the_till_writes(conn: Any) -> None:
    """A line never given a discount or a price override holds SQL NULL at the till (a JSON null is one taken off
    again); the bulk inserts wrote JSON nulls."""
    for column in (OrderLine.discount, OrderLine.price_override):
        conn.execute(update(OrderLine).where(cast(column, String) == "null").values({column.key: null()}))


RETURNS_A_DAY, PICKUPS_A_DAY, PACKED_A_DAY = 15, 40, 30


def fulfilment(d: int, opened: datetime, products: list[Any], rng: random.Random) -> dict[Any, list[Any]]:
    """A day's returns (one or two lines, each with a reason, condition and disposition), pickup and curbside
    orders made ready (most collected, some at the curb, a few no-shows) and orders packed at the bench."""
    orders: list[dict[str, Any]] = []
    lines: list[dict[str, Any]] = []
    decided: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    packs: list[dict[str, Any]] = []

    def order(number: str, channel: str, fulfilment: str, status: str, when: datetime, **kw: Any) -> str:
        oid = new_id()
        orders.append(
            {
                "id": oid,
                "number": number,
                "channel": channel,
                "fulfilment": fulfilment,
                "status": status,
                "terminal_code": "01",
                "created_at": when,
                "completed_at": kw.pop("completed_at", None),
                "total": kw.pop("total", D(0)),
                **kw,
            }
        )
        return oid

    for n in range(RETURNS_A_DAY):
        when = opened + timedelta(seconds=rng.uniform(0, 12 * 3600))
        oid = order(f"RT-{d:04d}-{n:03d}", "return", "carry_out", "completed", when, completed_at=when)
        for line_no in range(1, rng.randint(2, 3)):
            pid, sku, name, price, tax_class = rng.choice(products)
            lid = new_id()
            lines.append(
                {
                    "id": lid,
                    "order_id": oid,
                    "line_no": line_no,
                    "product_id": pid,
                    "sku": sku,
                    "name": name,
                    "qty": D(1),
                    "unit": "ea",
                    "unit_price": price,
                    "tax_class": tax_class,
                    "tax_rate": D("0.23"),
                    "amount": price,
                    "tax": D(0),
                    "voided": False,
                    "scanned_qty": D(0),
                }
            )
            condition = rng.choice(["new", "opened", "damaged", "defective"])
            disposition = {"damaged": "quarantine", "defective": "vendor"}.get(condition, "floor")
            decided.append(
                {
                    "order_line_id": lid,
                    "reason": rng.choice(["faulty", "changed_mind", "wrong_size", "damaged"]),
                    "condition": condition,
                    "disposition": disposition,
                }
            )
    for n in range(PICKUPS_A_DAY):
        placed = opened + timedelta(seconds=rng.uniform(0, 11 * 3600))
        ready = placed + timedelta(minutes=rng.randint(10, 180))
        curbside = rng.random() < 0.5
        arrived = ready + timedelta(minutes=rng.randint(0, 60)) if curbside else None
        status = "expired" if rng.random() < 0.05 else "collected"
        handed = (
            (arrived or ready) + timedelta(seconds=rng.randint(30, 900)) if status == "collected" else None
        )
        external = {"arrived_at": arrived.isoformat()} if arrived else {}
        oid = order(
            f"PU-{d:04d}-{n:03d}",
            "web",
            "curbside" if curbside else "pickup",
            status,
            placed,
            external=external,
        )
        records.append({"order_id": oid, "ready_at": ready, "handed_at": handed})
    for n in range(PACKED_A_DAY):
        started = opened + timedelta(seconds=rng.uniform(0, 11 * 3600))
        oid = order(f"SH-{d:04d}-{n:03d}", "web", "ship", "shipped", started)
        packs.append(
            {
                "order_id": oid,
                "started_at": started,
                "packed_at": started + timedelta(seconds=rng.randint(60, 900)),
                "scans": rng.randint(1, 20),
                "errors": rng.choice([0, 0, 0, 1]),
                "approvals": rng.choice([0] * 9 + [1]),
            }
        )
    return {Order: orders, OrderLine: lines, ReturnLine: decided, PickupRecord: records, PackFigures: packs}


def _on_screen(path: Path, year: tuple[str, date | None, date | None]) -> list[str]:
    """Each report over the year on the Reports screen of the real window (offscreen), signed in as the manager:
    from asking (the screen's own refresh, as its Show button does) to the table and chart shown. The op helper
    runs the report on its thread, as at the counter; the closed days are kept first, as the screen keeps them
    while it is open."""
    import os

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Run as a script, this folder comes first on sys.path: its devices.py would hide the package the window uses.
    here_dir = Path(__file__).resolve().parent
    sys.path[:] = [str(here_dir.parent)] + [p for p in sys.path if Path(p or ".").resolve() != here_dir]
    from PySide6.QtCore import QEventLoop, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    from app.services import staff
    from app.services.base import Actor
    from ui.context import AppContext
    from ui.feedback import MessageBar, Sounds
    from ui.ops import Ops
    from ui.scan_router import ScanRouter
    from ui.screens.reports import ReportsScreen
    from ui.theme import STYLE

    # The offscreen platform says at every window shown that it has no size hints: not news here.
    qInstallMessageHandler(lambda _kind, _where, msg: None if "propagateSizeHints" in msg else print(msg))
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setStyleSheet(STYLE)  # type: ignore[union-attr,attr-defined]
    factory = make_sessionmaker(make_engine(f"sqlite:///{path}"))
    with factory.begin() as s:
        user = staff.sign_in(s, "manager", "6666")
        where = here(s)
        while report_days.keep_recent(s):
            pass
    ops = Ops(factory)
    ops.actor = Actor(user.id, key=user.key)
    ctx = AppContext(factory, ops, ScanRouter(), MessageBar(), Sounds(), where, user=user)
    screen = ReportsScreen(ctx)
    screen.resize(1280, 700)
    screen.show()

    def wait_until(done: Callable[[], bool], what: str) -> None:
        """Run the event loop, as the app does, until `done`. (A loop of processEvents(flags, maxtime) calls
        returns at once when nothing is pending: that busy loop held the interpreter lock and slowed the op
        helper's thread two to three times.)"""
        loop = QEventLoop()
        poll = QTimer()
        poll.setInterval(20)
        poll.timeout.connect(lambda: loop.quit() if done() else None)
        poll.start()
        QTimer.singleShot(60_000, loop.quit)
        if not done():
            loop.exec()
        poll.stop()
        if not done():
            raise TimeoutError(f"{what}: nothing after 60 s ({ctx.messages.text()})")

    shown = QEventLoop()
    show = screen._show

    def show_and_stop(report: reports.Report) -> None:  # the screen's own, then the timing stops
        show(report)
        shown.quit()

    screen._show = show_and_stop  # type: ignore[method-assign]
    wait_until(ops.is_idle, "open the screen")
    kind, first, last = year
    print(f"{'on the screen, a year':<24}{'asked to shown':>16}{'best of 3':>12}   rows")
    slow = []
    for key in reports.REPORTS:
        times = []
        for _ in range(3):
            screen.report = None
            start = time.perf_counter()
            screen.choose(key, kind, first, last)
            QTimer.singleShot(60_000, shown.quit)
            shown.exec()
            app.processEvents()  # painted  # type: ignore[union-attr]
            if screen.report is None:
                raise TimeoutError(f"{key}: not shown after 60 s ({ctx.messages.text()})")
            times.append(time.perf_counter() - start)
            wait_until(ops.is_idle, key)  # what the op helper runs after it (none: the days are kept)
        assert screen.report is not None
        if max(times) >= 1.0:
            slow.append(f"{key} on the screen {max(times):.2f} s")
        print(
            f"{key:<24}{max(times) * 1000:>14.0f}ms{min(times) * 1000:>10.0f}ms   {len(screen.report.rows)}"
        )
    ops.shutdown()
    return slow


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sales", type=int, default=300)
    ap.add_argument("--lines", type=int, default=8)
    ap.add_argument("--quick", action="store_true", help="30 days")
    ap.add_argument(
        "--keep", type=Path, help="build the store in this file (kept), or time it again if it exists"
    )
    ap.add_argument(
        "--screen",
        action="store_true",
        help="also time each report over the year on the Reports screen (offscreen Qt): from asking to shown",
    )
    args = ap.parse_args()
    print(_machine.speed_line(), flush=True)
    days = 30 if args.quick else args.days
    with tempfile.TemporaryDirectory() as tmp:
        path = args.keep or Path(tmp) / "year.db"
        t0 = time.perf_counter()
        if not path.exists():
            build(path, days, args.sales, args.lines, random.Random(5))
        else:
            migrate(make_engine(f"sqlite:///{path}"))  # a kept store gets the indexes added since
        built = time.perf_counter() - t0
        print(
            f"built {days} days x {args.sales} sales x {args.lines} lines "
            f"({days * args.sales} sales, {days * args.sales * args.lines} lines) in {built:.0f} s, "
            f"{path.stat().st_size / 1e6:.0f} MB"
        )
        engine = make_engine(f"sqlite:///{path}")
        factory = make_sessionmaker(engine)
        with factory() as s:
            today = reports.period(s, "today").last
        periods = {
            "today": ("today", None, None),
            "week": ("week", None, None),
            "year": ("range", today - timedelta(days=min(days, reports.MAX_RANGE_DAYS) - 1), today),
        }
        # The closed days' sums are kept by the first report that needs them (app.services.report_days), in its
        # transaction: a year's first opening pays for every day once; each later one reads them. Forgotten first,
        # so a kept store is timed as a new one.
        with factory.begin() as s:
            s.execute(delete(ReportDay))
        # The Reports screen keeps them in steps while it is shown (report_days.keep_recent), one transaction each.
        steps, left = [], 1
        while left:
            start = time.perf_counter()
            with factory.begin() as s:
                left = report_days.keep_recent(s)
            steps.append(time.perf_counter() - start)
        print(
            f"the screen's keeping steps: {len(steps)}, longest {max(steps) * 1000:.0f} ms, "
            f"all {sum(steps) * 1000:.0f} ms"
        )
        with factory.begin() as s:
            s.execute(delete(ReportDay))
        kind, first, last = periods["year"]
        start, start_cpu = time.perf_counter(), time.process_time()
        with factory.begin() as s:
            reports.run(s, "top_items", kind, first, last)
        print(
            f"first opening of a year (its {days + 7} ended days summed and kept, once): "
            f"{(time.perf_counter() - start) * 1000:.0f} ms, cpu {(time.process_time() - start_cpu) * 1000:.0f} ms"
        )
        slow = []
        # Wall time is what the screen waits; the CPU time of this process (the SQLite work is in it) is what it
        # would wait on an idle machine, when other work shares the cores.
        width = max(len(key) for key in reports.REPORTS) + 2
        print(
            f"{'report':<{width}}" + "".join(f"{name:>12}" for name in periods) + "   cpu(year)   rows (year)"
        )
        for key in reports.REPORTS:
            times = []
            rows = 0
            cpu = 0.0
            for name, (kind, first, last) in periods.items():
                start, start_cpu = time.perf_counter(), time.process_time()
                with factory.begin() as s:  # as the screen's op helper runs it
                    report = reports.run(s, key, kind, first, last)
                took, cpu = time.perf_counter() - start, time.process_time() - start_cpu
                times.append(took)
                rows = len(report.rows)
                if took >= 1.0:
                    slow.append(f"{key} {name} {took:.2f} s")
            print(
                f"{key:<{width}}"
                + "".join(f"{t * 1000:>10.0f}ms" for t in times)
                + f"{cpu * 1000:>10.0f}ms   {rows}"
            )
        engine.dispose()
        if args.screen:
            slow += _on_screen(path, periods["year"])
    print("goal: under 1 s each; " + ("all met" if not slow else "over: " + "; ".join(slow)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
