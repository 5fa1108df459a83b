"""The chain's reports at the central store over a year of busy stores: the time to open each.

    .venv/bin/python benchmarks/chain_reports.py [--stores 2] [--days 365] [--sales 300] [--products 100000]
        [--quick] [--url URL] [--reuse]

Builds a central database (SQLite file, or the PostgreSQL URL given) with a catalog of 100,000 products stocked at
every store (with minimums: the stock report reads them all) and, per store and day, the applied events a busy
store's tills send (and the orders' status history the central keeps): 300 sales (8 lines; paid in cash, by card
or split; discounts on about one sale in two), 15 returns (with their lines' reasons and dispositions), 40 pickup
and curbside orders made ready (most collected, half at the curb, a third paid at the counter when handed over)
and 30 ship orders packed (with the bench's figures), and a shift opened and closed (with its Z's cash), then
ANALYZE (as autovacuum does after a bulk load; the planner needs the tables' statistics). Then times
`sync.central.reports.run` for today, the week and the whole year, all stores, in a fresh session per call.
--reuse times a database this benchmark built before (brought to the newest schema) without building it again.
Goal: under 1 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder's own helper, when run as a script (a worker process it spawns imports this file without the folder
# on sys.path, and never calls main).
if __name__ == "__main__":
    import _machine

# Run as a script, this file's folder comes first on sys.path and its name would hide the `sync` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from decimal import Decimal  # noqa: E402
from typing import Any  # noqa: E402

from sqlalchemy import insert, select  # noqa: E402

from sync.central import report_discounts, reports, service  # noqa: E402
from sync.central.db import make_engine, make_sessionmaker, migrate  # noqa: E402
from sync.central.models import (  # noqa: E402
    AppliedEvent,
    Location,
    OrderStatusHistory,
    Product,
    Return,
    SafetyStock,
    Sale,
    StockLevel,
    Terminal,
    WebOrder,
)


def CASHIER(store_id: int) -> uuid.UUID:  # noqa: N802 - a constant per store
    return uuid.UUID(int=store_id)


def MANAGER(store_id: int) -> uuid.UUID:  # noqa: N802
    return uuid.UUID(int=1000 + store_id)


def _sale(store_id: int, term_id: int, number: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    """A sale as the central keeps it: 8 lines, paid in cash, by card or split (the document its till sent)."""
    sid = uuid.uuid4()
    lines: list[dict[str, Any]] = [
        {
            "line_no": i + 1,
            "sku": f"P{rng.randint(1, 400)}",
            "qty": "1",
            "unit_price": "2.50",
            "amount": "2.50",
        }
        for i in range(8)
    ]
    # Discounts as a busy till gives them (benchmarks/reports.py: about one sale in two has one): a line's on the
    # cashier's own authority, a price override the manager approved, now and then a whole-sale discount.
    for line in lines:
        if rng.random() < 0.05:
            reason = rng.choice(["damaged box", "loyalty", "short dated"])
            line["discount"] = {"kind": "amount", "value": "0.25", "reason": reason, "amount": "0.25"}
        elif rng.random() < 0.015:
            approved = {"approved_by": str(MANAGER(store_id)), "approval_id": str(uuid.uuid4())}
            line["price_override"] = {"price": "2.00", "reason": "price match", "amount": "0.50", **approved}
    whole = None
    if rng.random() < 0.08:
        whole = {"kind": "percent", "value": "5", "reason": "regular customer", "amount": "1.00"}
    total = Decimal("20.00")
    how = rng.choice(["cash", "cash", "card", "card", "split"])
    payments = (
        [{"kind": "card", "amount": "10.00"}, {"kind": "cash", "amount": "10.00"}]
        if how == "split"
        else [{"kind": how, "amount": str(total)}]
    )
    document = {
        "order_id": str(sid),
        "number": number,
        "completed_at": at.isoformat(),
        "owner_id": str(CASHIER(store_id)),
        "order_discount": whole,
        "lines": lines,
        "payments": payments,
        "totals": {"total": str(total)},
    }
    return {
        "id": sid,
        "store_id": store_id,
        "terminal_id": term_id,
        "number": number,
        "total": total,
        "document": document,
        "occurred_at": at,
    }


def _catalog(engine: Any, factory: Any, products: int, stores: list[int], rng: random.Random) -> None:
    """The chain's catalog (P1.., the SKUs the sales sell), each product's stock on every store's floor (now and
    then below zero), and the minimums (safety stock): 5 of everything at the first store, 10 of one product in a
    hundred in every store. The stock report reads them all."""
    with engine.begin() as conn:
        for start in range(0, products, 10_000):
            chunk = range(start + 1, min(products, start + 10_000) + 1)
            conn.execute(
                insert(Product),
                [
                    {"id": n, "sku": f"P{n}", "name": f"Product {n}", "tax_class": "std", "department": ""}
                    for n in chunk
                ],
            )
    with factory() as s:
        where = (Location.code == "floor", Location.store_id.in_(stores))
        floors = {
            store: loc for store, loc in s.execute(select(Location.store_id, Location.id).where(*where))
        }
    with engine.begin() as conn:
        for store_id in stores:
            for start in range(0, products, 10_000):
                chunk = range(start + 1, min(products, start + 10_000) + 1)
                conn.execute(
                    insert(StockLevel),
                    [
                        {
                            "location_id": floors[store_id],
                            "product_id": n,
                            "store_id": store_id,
                            "on_hand": Decimal(rng.randint(-1, 40)),
                            "reserved": Decimal(0),
                        }
                        for n in chunk
                    ],
                )
        rules = [{"store_id": stores[0], "product_id": None, "qty": Decimal(5)}]
        rules += [
            {"store_id": None, "product_id": n, "qty": Decimal(10)} for n in range(1, products + 1, 100)
        ]
        conn.execute(insert(SafetyStock), rules)


def build(url: str, stores: int, days: int, sales: int, rng: random.Random, products: int) -> None:
    engine = make_engine(url)
    migrate(engine=engine)
    factory = make_sessionmaker(engine)
    ids = []
    with factory.begin() as s:
        service.set_tax_class(s, "std", "0.20", "Standard")
        for n in range(stores):
            store = service.create_store(s, f"S{n + 1}", f"Store {n + 1}")
            term = Terminal(store_id=store.id, code="T1", name="till")
            s.add(term)
            s.flush()
            ids.append((store.id, term.id))
    _catalog(engine, factory, products, [store_id for store_id, _term in ids], rng)
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    for store_id, term_id in ids:
        for d in range(days):
            opened = today - timedelta(days=days - 1 - d)
            events: list[dict[str, Any]] = []
            orders: list[dict[str, Any]] = []
            rets: list[dict[str, Any]] = []
            sold: list[dict[str, Any]] = []

            history: list[dict[str, Any]] = []

            def event(
                type_: str,
                at: datetime,
                payload: dict[str, Any],
                events: list[dict[str, Any]] = events,
                history: list[dict[str, Any]] = history,
            ) -> None:
                eid = uuid.uuid4()
                if type_ == "order.status":  # the order's history names the event, as the central writes it
                    history.append(
                        {
                            "order_id": uuid.UUID(payload["order_id"]),
                            "from_status": None,
                            "to_status": payload["to"],
                            "by": "T1",
                            "event_id": eid,
                            "at": at,
                        }
                    )
                events.append(
                    {
                        "event_id": eid,
                        "store_id": store_id,  # noqa: B023 - used at once
                        "terminal_id": term_id,  # noqa: B023
                        "type": type_,
                        "occurred_at": at,
                        "applied_at": at,
                        "payload": payload,
                    }
                )

            if d == 0:  # the store's cashier and manager, as its till sent them
                event("staff.saved", opened, {"id": str(CASHIER(store_id)), "display_name": "Store admin"})
                event("staff.saved", opened, {"id": str(MANAGER(store_id)), "display_name": "Store manager"})
            shift = str(uuid.uuid4())  # a shift a day: opened, and closed with its Z's cash
            event("shift.opened", opened, {"shift_id": shift, "opened_by": str(CASHIER(store_id))})
            closed = opened + timedelta(hours=12, minutes=30)
            expected = Decimal(rng.randint(50_000, 150_000)) / 100
            event(
                "shift.closed",
                closed,
                {
                    "shift_id": shift,
                    "number": f"S{store_id}-{d}",
                    "closed_at": closed.isoformat(),
                    "expected_cash": str(expected),
                    "counted_cash": str(expected + Decimal(rng.randint(-300, 300)) / 100),
                },
            )
            for n in range(sales):
                at = opened + timedelta(seconds=rng.uniform(0, 12 * 3600))
                sale = _sale(store_id, term_id, f"S{store_id}-{d}-{n}", at, rng)
                sold.append(sale)
                event("sale.completed", at, sale["document"])
            for n in range(15):
                at = opened + timedelta(seconds=rng.uniform(0, 12 * 3600))
                lines = [
                    {
                        "sku": "A1",
                        "qty": "1",
                        "unit_price": "2.50",
                        "amount": "2.50",
                        "reason": rng.choice(["faulty", "changed_mind"]),
                        "condition": "new",
                        "disposition": rng.choice(["floor", "quarantine", "vendor"]),
                    }
                    for _ in range(rng.randint(1, 2))
                ]
                rid = uuid.uuid4()
                doc = {"order_id": str(rid), "completed_at": at.isoformat(), "lines": lines}
                rets.append(
                    {
                        "id": rid,
                        "store_id": store_id,
                        "terminal_id": term_id,
                        "number": f"R-{store_id}-{d}-{n}",
                        "document": doc,
                        "occurred_at": at,
                    }
                )
            for n in range(70):
                oid = uuid.uuid4()
                placed = opened + timedelta(seconds=rng.uniform(0, 11 * 3600))
                ship = n >= 40
                curb = not ship and rng.random() < 0.5
                orders.append(
                    {
                        "id": oid,
                        "store_id": store_id,
                        "number": f"W-{store_id}-{d}-{n}",
                        "fulfilment": "ship" if ship else "curbside" if curb else "pickup",
                        "status": "shipped" if ship else "collected",
                        "customer": {},
                        "created_at": placed,
                        "updated_at": placed,
                        "arrived_at": placed + timedelta(minutes=90) if curb else None,
                    }
                )
                event("order.status", placed + timedelta(minutes=5), {"order_id": str(oid), "to": "picking"})
                done = placed + timedelta(minutes=rng.randint(10, 180))
                if ship:
                    facts = {
                        "started_at": placed.isoformat(),
                        "packed_at": done.isoformat(),
                        "scans": 5,
                        "errors": rng.choice([0, 1]),
                        "approvals": 0,
                    }
                    event("order.status", done, {"order_id": str(oid), "to": "packed", "pack": facts})
                else:
                    promise = (placed + timedelta(minutes=120)).isoformat()
                    ready = {"order_id": str(oid), "to": "ready", "ready_at": done.isoformat()}
                    event("order.status", done, {**ready, "promised_at": promise})
                    handed = done + timedelta(minutes=100)
                    collected: dict[str, Any] = {
                        "order_id": str(oid),
                        "to": "collected",
                        "handed_at": handed.isoformat(),
                    }
                    if n % 3 == 0:  # paid at the pickup counter when handed over
                        due = Decimal(rng.randint(500, 9000)) / 100
                        collected["receipt"] = {
                            "paid": str(due),
                            "payments": [["card", str(due)]] if n % 2 else [["cash", str(due)]],
                            "change": "0.00",
                            "total": str(due),  # the sale it made at that till, which the sales reports count
                            "sold": [["SKU-PICKUP", "Picked up", "1", str(due)]],
                        }
                    event("order.status", handed, collected)
            with engine.begin() as conn:
                conn.execute(insert(WebOrder), orders)
                conn.execute(insert(AppliedEvent), events)
                conn.execute(insert(OrderStatusHistory), history)
                conn.execute(insert(Return), rets)
                conn.execute(insert(Sale), sold)
    engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stores", type=int, default=2)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--sales", type=int, default=300)
    ap.add_argument(
        "--products", type=int, default=100_000, help="the chain's catalog, stocked at every store"
    )
    ap.add_argument("--quick", action="store_true", help="30 days")
    ap.add_argument(
        "--url", help="an empty database to build in (default: a SQLite file in a temporary folder)"
    )
    ap.add_argument("--reuse", action="store_true", help="time the database at --url built by an earlier run")
    args = ap.parse_args()
    print(_machine.speed_line(), flush=True)
    if args.reuse and not args.url:
        ap.error("--reuse needs the --url of the database an earlier run built")
    days = 30 if args.quick else args.days
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'central.db'}"
        t0 = time.perf_counter()
        if args.reuse:
            migrate(engine=make_engine(url))
            print("reusing the database built before")
        else:
            build(url, args.stores, days, args.sales, random.Random(5), args.products)
            print(f"built {args.stores} stores x {days} days in {time.perf_counter() - t0:.0f} s")
        with make_engine(url).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in (
                "web_orders",
                "order_status_history",
                "applied_events",
                "returns",
                "sales",
                "tender_facts",
                "order_event_facts",
                "sale_facts",
                "sale_line_facts",
                "discount_facts",
                "products",
                "stock_levels",
                "safety_stock",
            ):
                conn.exec_driver_sql(f"ANALYZE {table}")
        factory = make_sessionmaker(make_engine(url), readonly=True)  # as the API's readers
        today = datetime.now(UTC).date()
        periods = {"today": (today, today), "week": (today - timedelta(days=6), today)}
        periods["year"] = (today - timedelta(days=min(days, reports.MAX_DAYS) - 1), today)
        slow = []
        # Wall time is what the office waits; the CPU time of this process (the reports' Python, not the database
        # server's work) shows what the wall time holds when other work shares the cores.
        print(f"{'report':<20}" + "".join(f"{name:>10}" for name in periods) + "  cpu(year)")
        for name in reports.NAMES:
            times = []
            cpu = 0.0
            for label, (first, last) in periods.items():
                if name == "discounts" and label == "year":  # a list of one row per discount: a month at most
                    first = last - timedelta(days=report_discounts.MAX_LIST_DAYS - 1)
                start, start_cpu = time.perf_counter(), time.process_time()
                with factory() as s:
                    reports.run(s, name, first, last)
                took, cpu = time.perf_counter() - start, time.process_time() - start_cpu
                times.append(took)
                if took >= 1.0:
                    slow.append(f"{name} {label} {took:.2f} s")
            print(f"{name:<20}" + "".join(f"{t * 1000:>8.0f}ms" for t in times) + f"{cpu * 1000:>9.0f}ms")
    print("(the list of discounts: the last 31 days in the year's column)")
    print("goal: under 1 s each; " + ("all met" if not slow else "over: " + "; ".join(slow)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
