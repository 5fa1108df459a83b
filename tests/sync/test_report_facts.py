"""The facts the chain reports read (sync.central.report_facts) are written by the database with each sale and each
applied order change, on SQLite and PostgreSQL, from that row alone: every payment of a sale at the moment its till
completed it (an offset read, a moment that does not read falls back to when the event happened), the payments of
a hand-over's receipt, the moments and counts of a change to ready, collected or packed. What does not read is left
out or counted as nothing, and never stops the row it comes with from being stored."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain import figures
from sync.central import office_web, report_cash, service
from sync.central import reports as chain
from sync.central.db import make_engine, make_sessionmaker
from sync.central.models import AppliedEvent, Sale, Store, Terminal
from sync.central.report_facts import DiscountFact, OrderEventFact, SaleFact, SaleLineFact, TenderFact

AT = datetime(2026, 3, 29, 0, 30, 15, 250400, tzinfo=UTC)  # the night Europe's clocks go forward


def _store_and_till(s: Session, code: str, zone: str = "UTC") -> tuple[int, int]:
    """A store (in `zone`) and a till of it: their ids."""
    store = service.create_store(s, code, "Facts")
    store.timezone = zone
    term = Terminal(store_id=store.id, code="T1", name="till")
    s.add(term)
    s.flush()
    return store.id, term.id


def _event(store: int, term: int, payload: dict[str, Any], type_: str = "order.status") -> AppliedEvent:
    return AppliedEvent(
        event_id=uuid.uuid4(),
        store_id=store,
        terminal_id=term,
        type=type_,
        occurred_at=AT + timedelta(hours=5),
        payload=payload,
    )


def test_facts_are_written_with_their_rows(db_url: str) -> None:
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    order = uuid.uuid4()
    with factory.begin() as s:
        sid, tid = _store_and_till(s, "F1")
        sales = {
            # Completed at 02:30:15.25 in a zone two hours ahead: 00:30:15.25 UTC.
            "split": [{"kind": "card", "amount": "1.00"}, {"kind": "cash", "amount": "12.35"}],
            "bad": [{"kind": "cash", "amount": "lots"}, {"kind": "gift_card", "amount": "5"}, ["x"]],
        }
        rows = {}
        for name, payments in sales.items():
            rows[name] = uuid.uuid4()
            completed = (AT + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
            s.add(
                Sale(
                    id=rows[name],
                    store_id=sid,
                    terminal_id=tid,
                    number=f"N-{name}",
                    total=Decimal("13.35"),
                    document={
                        "completed_at": completed if name == "split" else "yesterday",
                        "payments": payments,
                    },
                    occurred_at=AT + timedelta(hours=1),
                )
            )
        receipt = {"payments": [["card", "2.00"], ["cash", "3.10"], ["cash", None]]}
        handed = _event(
            sid,
            tid,
            {"order_id": str(order), "to": "collected", "handed_at": AT.isoformat(), "receipt": receipt},
        )
        ready = _event(sid, tid, {"order_id": str(order), "to": "ready", "ready_at": "not a time"})
        pack = {"started_at": AT.isoformat(), "packed_at": "2026-03-29T03:00:00", "scans": 7, "errors": "x"}
        packed = _event(sid, tid, {"order_id": str(order), "to": "packed", "pack": pack})
        other = _event(sid, tid, {"order_id": str(order), "to": "picking"})
        sale_ev = _event(sid, tid, {"payments": [{"kind": "cash", "amount": "1.00"}]}, "sale.completed")
        s.add_all([handed, ready, packed, other, sale_ev])
    with factory() as s:
        tender = sorted(
            (str(f.source_id), str(f.sale_id), f.kind, f.amount, f.at) for f in s.scalars(select(TenderFact))
        )
        events = {f.event_id: f for f in s.scalars(select(OrderEventFact))}
        assert s.scalar(select(Sale.id).where(Sale.number == "N-bad")) == rows["bad"]
    # SQLite's date functions keep the millisecond; PostgreSQL the microsecond.
    done = AT if engine.dialect.name == "postgresql" else AT.replace(microsecond=250000)
    fallback = AT + timedelta(hours=1)
    assert tender == sorted(
        [
            (str(rows["split"]), str(rows["split"]), "card", Decimal("1.00"), done),
            (str(rows["split"]), str(rows["split"]), "cash", Decimal("12.35"), done),
            (str(rows["bad"]), str(rows["bad"]), "gift_card", Decimal("5.00"), fallback),
            (str(handed.event_id), str(order), "card", Decimal("2.00"), done),
            (str(handed.event_id), str(order), "cash", Decimal("3.10"), done),
        ]
    )
    assert set(events) == {handed.event_id, ready.event_id, packed.event_id}
    r, h, p = events[ready.event_id], events[handed.event_id], events[packed.event_id]
    assert (r.to_status, r.ready_at, r.promised_at, r.occurred_at) == (
        "ready",
        None,
        None,
        AT + timedelta(hours=5),
    )
    assert (h.to_status, h.handed_at) == ("collected", done)
    assert (p.started_at, p.packed_at) == (done, datetime(2026, 3, 29, 3, tzinfo=UTC))
    assert (p.scans, p.errors, p.approvals) == (7, 0, 0)
    engine.dispose()


def test_sale_facts_are_the_sales_the_tills_count_and_what_does_not_read_is_left_out(db_url: str) -> None:
    """Migration 0021: per sale its total and lines taken, from the sale's document and from a hand-over paid at
    the counter (its receipt's `total` and `sold`); a hand-over paid online, or one whose receipt does not read,
    is no sale; a line that does not read is left out, and the row it came with is stored all the same."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    order, online = uuid.uuid4(), uuid.uuid4()
    completed = (AT + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    lines = [
        {"sku": "A1", "name": "Apple juice", "qty": "2", "amount": "4.98"},
        {"sku": "K9", "name": "Flour", "qty": "0.755", "amount": "1.51"},
        {"sku": "B2", "qty": "lots", "amount": "1.00"},  # does not read: left out
        {"name": "no sku", "qty": "1", "amount": "1.00"},
        ["A1", 1],
    ]
    with factory.begin() as s:
        sid, tid = _store_and_till(s, "F2")
        sale, untotalled = uuid.uuid4(), uuid.uuid4()
        for row, total in ((sale, Decimal("6.49")), (untotalled, None)):
            s.add(
                Sale(
                    id=row,
                    store_id=sid,
                    terminal_id=tid,
                    number=f"N-{row}",
                    total=total,
                    document={"completed_at": completed, "lines": lines},
                    occurred_at=AT + timedelta(hours=1),
                )
            )
        receipt = {"taken": [["A1", "Apple juice", "1"]], "refused": [["C3", "Coffee", "1"]], "total": "2.49"}
        receipt["sold"] = [["A1", "Apple juice", "1", "2.49"], ["C3", None, "x", "1.00"], "A1"]
        paid_here = _event(
            sid,
            tid,
            {"order_id": str(order), "to": "collected", "handed_at": AT.isoformat(), "receipt": receipt},
        )
        paid_online = _event(
            sid, tid, {"order_id": str(online), "to": "collected", "receipt": {"taken": [["A1", "A", "1"]]}}
        )
        unreadable = _event(
            sid, tid, {"order_id": str(online), "to": "collected", "receipt": ["total", "9.99"]}
        )
        s.add_all([paid_here, paid_online, unreadable])
    with factory() as s:
        totals = sorted((str(f.source_id), f.total, f.at) for f in s.scalars(select(SaleFact)))
        got = sorted(
            (str(f.source_id), f.sku, f.name, f.qty, f.amount, f.at) for f in s.scalars(select(SaleLineFact))
        )
        assert s.scalar(select(Sale.id).where(Sale.number == f"N-{untotalled}")) == untotalled
    done = AT if engine.dialect.name == "postgresql" else AT.replace(microsecond=250000)
    assert totals == sorted(
        [(str(sale), Decimal("6.49"), done), (str(paid_here.event_id), Decimal("2.49"), done)]
    )
    assert got == sorted(
        [
            (str(sale), "A1", "Apple juice", Decimal("2.000"), Decimal("4.98"), done),
            (str(sale), "K9", "Flour", Decimal("0.755"), Decimal("1.51"), done),
            (str(paid_here.event_id), "A1", "Apple juice", Decimal("1.000"), Decimal("2.49"), done),
        ]
    )
    engine.dispose()


def test_discount_facts_are_the_discounts_of_the_sales_and_what_does_not_read_is_left_out(
    db_url: str,
) -> None:
    """Migration 0022: per price override, line discount and whole-sale discount of a sale, its kind, reason,
    approver and amount off; one without an approver was the cashier's own (the sale's owner). A discount that is
    no object, an override without a price, an amount that does not read are left out; the sale is stored all
    the same. The chain's report names who approved by the name the store's tills gave them, "?" for a stranger."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    cashier, manager, stranger = (str(uuid.uuid4()) for _ in range(3))
    completed = (AT + timedelta(hours=2)).replace(tzinfo=None).isoformat() + "+02:00"
    lines: list[Any] = [
        {
            "sku": "A1",
            "price_override": {
                "price": "1.00",
                "reason": "price match",
                "amount": "2.98",
                "approved_by": manager,
            },
            "discount": {"kind": "percent", "value": "5", "reason": "damaged box", "amount": "0.10"},
        },
        {"sku": "B2", "discount": {"kind": "amount", "value": "1", "reason": "end", "approved_by": stranger}},
        {"sku": "C3", "price_override": {"reason": "no price"}, "discount": "ten percent"},
        {"sku": "D4", "discount": {"kind": "amount", "reason": "odd", "amount": "lots"}},
        {"sku": "E5", "discount": None, "price_override": None},
        ["A1", {"discount": {"amount": "9.00"}}],
    ]
    order_discount = {"kind": "percent", "value": "5", "reason": "regular customer", "amount": "0.38"}
    with factory.begin() as s:
        sid, tid = _store_and_till(s, "F9")
        sale, odd, plain = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        documents = {
            sale: {
                "completed_at": completed,
                "owner_id": cashier,
                "order_discount": order_discount,
                "lines": lines,
            },
            odd: {"completed_at": completed, "order_discount": [1], "lines": "none"},  # the sale has no owner
            plain: {"completed_at": completed, "lines": [{"sku": "A1"}]},
        }
        for row, document in documents.items():
            s.add(
                Sale(
                    id=row,
                    store_id=sid,
                    terminal_id=tid,
                    number=f"N-{row}",
                    total=Decimal("1.00"),
                    document=document,
                    occurred_at=AT + timedelta(hours=1),
                )
            )
        s.add(
            Sale(
                id=uuid.uuid4(),
                store_id=sid,
                terminal_id=tid,
                number="N-unowned",
                total=Decimal("1.00"),
                document={"completed_at": completed, "lines": [{"sku": "A1", "discount": {"reason": "x"}}]},
                occurred_at=AT + timedelta(hours=1),
            )
        )
        for who, name in ((cashier, "Casey"), (manager, "Morgan")):
            s.add(_event(sid, tid, {"id": who, "display_name": name}, "staff.saved"))
    with factory() as s:
        got = sorted(
            (str(f.source_id), f.kind, f.reason, f.approver, f.own, f.amount, f.at)
            for f in s.scalars(select(DiscountFact))
        )
        assert {s.scalar(select(Sale.id).where(Sale.number == f"N-{row}")) for row in documents} == set(
            documents
        )
    done = AT if engine.dialect.name == "postgresql" else AT.replace(microsecond=250000)
    want = [
        (str(sale), "override", "price match", manager, False, Decimal("2.98"), done),
        (str(sale), "line", "damaged box", cashier, True, Decimal("0.10"), done),
        (str(sale), "line", "end", stranger, False, Decimal("0.00"), done),
        (str(sale), "sale", "regular customer", cashier, True, Decimal("0.38"), done),
    ]
    assert [g for g in got if g[0] == str(sale)] == sorted(want)
    (unowned,) = [g for g in got if g[0] != str(sale)]
    assert unowned[1:5] == ("line", "x", "", True)
    with factory() as s:
        places = sorted((f.number, f.line_no, f.item, f.kind) for f in s.scalars(select(DiscountFact)))
        one_by_one = chain.run(s, "discounts", AT.date(), AT.date())
        report = chain.run(s, "discount_reasons", AT.date(), AT.date())
        with pytest.raises(chain.CentralError, match="at most 31 days"):
            chain.run(s, "discounts", AT.date(), AT.date() + timedelta(days=31))
    assert places == [
        (f"N-{sale}", 1, "A1", "line"),
        (f"N-{sale}", 1, "A1", "override"),
        (f"N-{sale}", 2, "B2", "line"),
        (f"N-{sale}", 1 << 30, "Whole sale", "sale"),
        ("N-unowned", 1, "A1", "line"),
    ]
    # In the order of the receipt: an override before the line's discount, the whole-sale one last; at the local
    # minute (the store's zone is UTC).
    assert [r[1:4] for r in one_by_one.chain if r[1] == f"N-{sale}"] == [
        (f"N-{sale}", "A1", "Price override"),
        (f"N-{sale}", "A1", "Line discount"),
        (f"N-{sale}", "B2", "Line discount"),
        (f"N-{sale}", "Whole sale", "Sale discount"),
    ]
    assert {r[0] for r in one_by_one.chain} == {"2026-03-29 00:30"}
    assert [list(r) for r in report.chain] == [
        ["Price override", "price match", "Morgan", 1, Decimal("2.98")],
        ["Line discount", "damaged box", "Casey (own authority)", 1, Decimal("0.10")],
        ["Line discount", "end", "?", 1, Decimal("0.00")],
        ["Line discount", "x", "? (own authority)", 1, Decimal("0.00")],
        ["Sale discount", "regular customer", "Casey (own authority)", 1, Decimal("0.38")],
    ]
    engine.dispose()


def test_shifts_are_read_as_their_tills_sent_them_and_what_does_not_read_is_left_out(db_url: str) -> None:
    """The chain's cash over and short (sync.central.report_cash): a shift closed in the period, its cashier the
    one who opened it by their latest name; a close whose figures do not read, or closed outside the period, is
    left out; a cashier the central never heard of shows as "?"."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    who, stranger = uuid.uuid4(), uuid.uuid4()
    shifts = [uuid.uuid4() for _ in range(4)]
    with factory.begin() as s:
        sid, tid = _store_and_till(s, "F3", "Europe/Dublin")

        def ev(kind: str, payload: dict[str, Any], hours: int = 5) -> AppliedEvent:
            e = _event(sid, tid, payload, kind)
            e.occurred_at = AT + timedelta(hours=hours)
            return e

        staff_a = ev("staff.saved", {"id": str(who), "display_name": "Ann"}, 1)
        staff_b = ev("staff.saved", {"id": str(who), "display_name": "Ann Lee"}, 2)  # renamed since
        events = [staff_a, staff_b]
        for n, sh in enumerate(shifts):
            events.append(
                ev("shift.opened", {"shift_id": str(sh), "opened_by": str(stranger if n == 1 else who)})
            )
        closes = [
            {
                "expected_cash": "100.00",
                "counted_cash": "98.50",
                "closed_at": (AT + timedelta(hours=3)).isoformat(),
            },
            {"expected_cash": "50.00", "counted_cash": "50.20"},  # no moment: when it arrived
            {"expected_cash": "lots", "counted_cash": "1.00"},
            {
                "expected_cash": "1.00",
                "counted_cash": "1.00",
                "closed_at": (AT - timedelta(days=3)).isoformat(),
            },
        ]
        for n, (sh, close) in enumerate(zip(shifts, closes, strict=True)):
            events.append(ev("shift.closed", {"shift_id": str(sh), "number": f"S-{n}", **close}, 6))
        s.add_all(events)
    with factory() as s:
        shop = s.scalars(select(Store).where(Store.code == "F3")).one()
        items = report_cash.shift_items(s, shop, AT - timedelta(days=1), AT + timedelta(days=1))
    assert figures.shift_rows(items, "Europe/Dublin") == [
        ("S-0", "Ann Lee", "2026-03-29 04:30", Decimal("100.00"), Decimal("98.50"), Decimal("-1.50")),
        ("S-1", "?", "2026-03-29 07:30", Decimal("50.00"), Decimal("50.20"), Decimal("0.20")),
    ]
    assert figures.cashier_rows(items) == [
        ("?", 1, Decimal("50.00"), Decimal("50.20"), Decimal("0.20")),
        ("Ann Lee", 1, Decimal("100.00"), Decimal("98.50"), Decimal("-1.50")),
    ]
    engine.dispose()


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "Europe/Dublin"])
def test_chain_sales_by_hour_and_department_are_what_the_facts_give(db_url: str, zone: str) -> None:
    """The chain's sales by hour and by department (sync.central.report_sales) over random sales around a week,
    in a zone at a half hour from UTC and in one whose clocks go forward that week: each hour and department of
    the period and of the week before equal what the facts give, summed one by one."""
    engine = make_engine(db_url)
    factory = make_sessionmaker(engine)
    rng = random.Random(zone)
    first = AT.date() - timedelta(days=1)
    last = first + timedelta(days=2)
    with factory.begin() as s:
        service.set_tax_class(s, "std", "0.20", "Standard")
        store = service.create_store(s, "F4", "Facts")
        store.timezone = zone
        service.import_catalog(
            s,
            "sku,name,price,tax_class,department,barcodes,weighed\nA1,A,1.00,std,drinks,,no\nB2,B,1.00,std,,,no\n",
        )
        s.flush()
        facts = []
        for _ in range(300):
            at = datetime.combine(first - timedelta(days=8), datetime.min.time(), UTC) + timedelta(
                minutes=rng.randint(0, 12 * 24 * 60)
            )
            source = uuid.uuid4()
            total = Decimal(rng.randint(1, 5000)) / 100
            s.add(SaleFact(store_id=store.id, source_id=source, total=total, at=at))
            sku = rng.choice(["A1", "B2", "Z9"])
            s.add(
                SaleLineFact(
                    store_id=store.id,
                    source_id=source,
                    sku=sku,
                    name=sku,
                    qty=Decimal(1),
                    amount=total,
                    at=at,
                )
            )
            facts.append((at, total, sku))
    tz = ZoneInfo(zone)

    def window(a: Any, b: Any) -> tuple[datetime, datetime]:
        start = datetime.combine(a, datetime.min.time(), tz)
        return start, datetime.combine(b + timedelta(days=1), datetime.min.time(), tz)

    windows = [
        (False, window(first, last)),
        (True, window(first - timedelta(days=7), last - timedelta(days=7))),
    ]
    hours: dict[int, list[Any]] = {}
    departments: dict[str, list[Decimal]] = {}
    names = {"A1": "Drinks", "B2": "No department", "Z9": "No department"}
    for at, total, sku in facts:
        for before, (start, end) in windows:
            if start <= at < end:
                cell = hours.setdefault(at.astimezone(tz).hour, [0, Decimal("0.00"), 0, Decimal("0.00")])
                cell[2 if before else 0] += 1
                cell[3 if before else 1] += total
                dept = departments.setdefault(names[sku], [Decimal("0.00"), Decimal("0.00")])
                dept[1 if before else 0] += total
    with factory() as s:
        by_hour = chain.run(s, "hour", first, last, ["F4"]).stores[0].rows
        by_department = chain.run(s, "department", first, last, ["F4"]).stores[0].rows
    assert [tuple(r) for r in by_hour] == [(f"{h:02d}:00", *hours[h]) for h in sorted(hours)]
    want = sorted(departments.items(), key=lambda kv: (-kv[1][0], kv[0]))
    assert [tuple(r) for r in by_department] == [(name, *sums) for name, sums in want]
    assert len(by_hour) > 12 and any(r[3] for r in by_hour)  # both weeks held sales
    engine.dispose()


def test_the_office_chart_draws_a_bar_per_reason_whoever_approved_it() -> None:
    """As the till's screen does (its chart sums a list's rows per label): two approvers of one reason are one
    bar, at their sum; a figure without sums draws a bar per row."""
    rows: list[figures.Row] = [
        ("Line discount", "damaged box", "Morgan", 2, Decimal("1.50")),
        ("Line discount", "damaged box", "Casey (own authority)", 1, Decimal("0.25")),
        ("Sale discount", "regular customer", "Casey (own authority)", 1, Decimal("0.40")),
    ]
    svg = office_web.bar_chart(figures.DISCOUNT_REASONS, rows)
    assert svg.count("class='bar'") == 2 and ">1.75<" in svg and ">0.40<" in svg
    plain = office_web.bar_chart(figures.RETURNS_REASON, [("faulty", 1, Decimal(1), Decimal("2.00"))] * 2)
    assert plain.count("class='bar'") == 2


def _messy_sale(rng: random.Random, n: int) -> dict[str, Any]:
    """A sale document as a till, an old till or a broken one may send it: every field the facts read, good,
    missing, of the wrong type or not reading as its kind."""

    def pick(*choices: Any) -> Any:
        return rng.choice(choices)

    def amount() -> Any:
        return pick("1.50", "-2.00", "12", "0.005", "lots", None, 3, "")

    def discount(override: bool) -> Any:
        d: dict[str, Any] = {"reason": pick("damaged", None, "x" * 300), "amount": amount()}
        if rng.random() < 0.5:
            d["approved_by"] = pick("mgr-1", "", None)
        if override and rng.random() < 0.8:
            d["price"] = pick("1.00", None)
        return pick(d, d, d, "10%", None, [d])

    lines: Any = []
    for _ in range(rng.randrange(0, 5)):
        line: Any = {
            "sku": pick("SKU-1", "SKU-2", 7, None, "s" * 80),
            "name": pick("Tea", None, "n" * 300),
            "qty": pick("1.000", "-1", "2.5", "0.0001", "many", None),
            "amount": amount(),
        }
        if rng.random() < 0.4:
            line["discount"] = discount(False)
        if rng.random() < 0.3:
            line["price_override"] = discount(True)
        lines.append(pick(line, line, line, line, "a line", ["x"], None))
    doc: dict[str, Any] = {
        "number": f"S1-T1-{n:06d}",
        "completed_at": pick(
            "2026-03-29T02:30:15.25+02:00", "2026-03-29T00:30:15", "2026-13-45T00:00:00Z", "yesterday", None
        ),
        "lines": pick(lines, lines, lines, "lines", None),
        "payments": pick(
            [{"kind": "cash", "amount": amount()}, {"kind": pick("card", None), "amount": amount()}],
            [["cash", "1.00"]],
            "cash",
            None,
        ),
    }
    if rng.random() < 0.7:
        doc["owner_id"] = pick("user-1", "")
    if rng.random() < 0.4:
        doc["order_discount"] = discount(False)
    return doc


@pytest.mark.postgres
@pytest.mark.parametrize("revision", ["0024_sale_facts_one_statement", "0026_sale_facts_one_parse"])
def test_the_one_statement_sale_facts_write_what_the_statements_of_0023_wrote(
    pg_url: str, revision: str
) -> None:
    """Migration 0024 writes a statement's sale facts in one statement, and 0026 parses each document, line and
    payment once: on 400 messy documents in one INSERT each writes exactly what the seven statements of 0023
    wrote."""
    from importlib import import_module

    m0024 = import_module("sync.central.migrations.versions.0024_sale_facts_one_statement")
    tested = import_module(f"sync.central.migrations.versions.{revision}")
    m0023 = import_module("sync.central.migrations.versions.0023_facts_per_statement")
    rng = random.Random(24)
    docs = [_messy_sale(rng, n) for n in range(400)]
    engine = make_engine(pg_url)
    factory = make_sessionmaker(engine)
    with factory.begin() as s:
        sid, tid = _store_and_till(s, f"F{revision[:4]}")
    tables = {
        "tender_facts": "kind, amount, at",
        "sale_facts": "total, at",
        "sale_line_facts": "sku, name, qty, amount, at",
        "discount_facts": "number, line_no, item, kind, reason, approver, own, amount, at",
    }

    def facts(body: str) -> dict[str, list[tuple[Any, ...]]]:
        with engine.connect() as conn:
            raw = conn.connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur:
                cur.execute(m0024._FUNCTION.format(body=body))
                rows = [
                    (
                        uuid.uuid4(),
                        sid,
                        tid,
                        doc["number"],
                        Decimal(n % 7) if n % 5 else None,
                        json.dumps(doc),
                        AT,
                    )
                    for n, doc in enumerate(docs)
                ]
                # One sale alone, then the rest in one statement as a push's COPY: the trigger sees them together.
                for part in (rows[:1], rows[1:]):
                    cur.execute(
                        "INSERT INTO sales (id, store_id, terminal_id, number, total, document, occurred_at) "
                        "SELECT * FROM unnest(%s::uuid[], %s::int[], %s::int[], %s::text[], %s::numeric[], "
                        "%s::json[], %s::timestamptz[])",
                        [list(col) for col in zip(*part, strict=True)],
                    )
                out = {}
                for table, columns in tables.items():
                    cur.execute(
                        f"SELECT {columns} FROM {table} WHERE store_id = %s ORDER BY {columns}", (sid,)
                    )
                    out[table] = cur.fetchall()
            raw.rollback()
        return out

    new = facts(tested.SALES_FACTS)
    old = facts(";\n    ".join(m0023.sales_statements()))
    for table in tables:
        assert new[table] == old[table], table
    assert all(new[t] for t in tables), {
        t: len(v) for t, v in new.items()
    }  # every kind of fact was exercised
