"""Store reports, figure by figure, against the raw rows and the Z report, over randomized store days.

Two evening shifts a week apart (same weekday), each running past midnight: sales of one to four lines with voided
lines, line discounts (the cashier's own and a manager-approved one), price overrides approved by a supervisor,
sale discounts, cash with change, card, split tenders, voided sales, no-sales, paid in and out, a blind count off
by a random amount; a refund booked a day after its sale, and stock sold below zero. Every figure of every report
is then worked out again here from the orders, lines, payments, shifts and ledger rows with code of its own, and
compared with the service, the Reports screen's table, its CSV, the text of its PDF (pdftotext) and the Z report.
"""

from __future__ import annotations

import csv
import io
import random
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Approval,
    CashMovement,
    Department,
    Order,
    OrderLine,
    PackFigures,
    Payment,
    PickupRecord,
    Product,
    ReturnLine,
    Shift,
    StaffUser,
    StockMinimum,
    StockMovement,
)
from app.domain import tenders
from app.domain.money import ZERO, quantize_money
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import reports, sales, shifts, staff
from app.services.base import Actor, here
from app.services.sales import cart as sale_cart
from app.services.sales import completion as sale_completion
from app.services.sales import payments as sale_payments
from tests.ui.contexts import signed_in
from ui.context import AppContext
from ui.screens.reports import ReportsScreen

Factory = sessionmaker[Session]
D = Decimal
CENT = D("0.01")


@dataclass
class Days:
    first: date  # the earlier shift's evening
    second: date  # a week later, the same weekday
    zs: list[shifts.ZReport]
    tz: ZoneInfo


def _actor(s: Session, username: str) -> Actor:
    uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
    assert uid is not None
    return Actor(uid)


def _ring(db: Factory, rng: random.Random, who: Actor, approver: Actor, products: list[Product]) -> None:
    with db.begin() as s:
        sale = sales.start_sale(s, who)
        line_ids = []
        for _ in range(rng.randint(1, 4)):
            p = rng.choice(products)
            out = sales.add_product(s, who, sale.id, p.id, D(rng.randint(1, 3)))
            assert out.line_id is not None
            line_ids.append(out.line_id)
        if len(line_ids) > 1 and rng.random() < 0.25:
            sales.void_line(s, who, sale.id, line_ids.pop())
        if rng.random() < 0.3:
            sales.discount_line(
                s, who, sale.id, line_ids[0], "percent", D(rng.choice([5, 10])), "damaged box"
            )
        if rng.random() < 0.3:
            sales.discount_order(s, who, sale.id, "percent", D(5), "regular customer")
        elif rng.random() < 0.3:  # given, then taken back: no discount left (a JSON null on the sale)
            sales.discount_order(s, who, sale.id, "percent", D(5), "regular customer")
            sales.discount_order(s, who, sale.id, "percent", D(0), "")
        kind = rng.choice(["cash", "cash", "card", "split"])
        view = sales.current_sale(s, who)
        assert view is not None
        if kind == "card":
            sales.add_tender(s, who, sale.id, "card", view.total, card_last4="4242", approval_code="OK12")
        elif kind == "split":
            half = quantize_money(view.total / 2)
            sales.add_tender(s, who, sale.id, "card", half, card_last4="4242", approval_code="OK12")
            view = sales.current_sale(s, who)
            assert view is not None
            sales.add_tender(s, who, sale.id, "cash", view.remaining_in_cash)
        else:
            due = sales.current_sale(s, who)
            assert due is not None
            sales.add_tender(s, who, sale.id, "cash", due.remaining_in_cash + D(rng.choice([0, 0, 1, 5])))
        sales.complete_sale(s, who, sale.id)


def _approved_sale(db: Factory, who: Actor, product: Product, days: Days | None = None) -> None:
    """A cashier's sale with a price override a supervisor approved and a 50 % discount a manager approved."""
    with db.begin() as s:
        sale = sales.start_sale(s, who)
        line = sales.add_product(s, who, sale.id, product.id, D(2)).line_id
        other = sales.add_product(s, who, sale.id, product.id, D(1)).line_id
        assert line is not None and other is not None
    with db.begin() as s:
        override = staff.approve(s, who.user_id, Permission.PRICE_OVERRIDE, "supervisor", "5555")
    with db.begin() as s:
        new_price = quantize_money(product.price * D("0.8"))
        sales.override_price(s, who.with_approval(override), sale.id, line, new_price, "price match")
    with db.begin() as s:
        big = staff.approve(s, who.user_id, Permission.DISCOUNT_ABOVE_THRESHOLD, "manager", "6666")
    with db.begin() as s:
        sales.discount_line(s, who.with_approval(big), sale.id, other, "percent", D(50), "end of line")
        view = sales.current_sale(s, who)
        assert view is not None
        sales.add_tender(s, who, sale.id, "card", view.total, card_last4="1111", approval_code="AP1")
        sales.complete_sale(s, who, sale.id)


def store_days(db: Factory, monkeypatch: pytest.MonkeyPatch, seed: int) -> Days:
    rng = random.Random(seed)
    clock = [datetime.now(UTC)]
    # The steps of a sale that stamp a time (start, tender, completion) read the clock in their own modules.
    for module in (sale_cart, sale_payments, sale_completion, shifts, staff):
        monkeypatch.setattr(module, "now", lambda: clock[0])
    with db() as s:
        tz = ZoneInfo(here(s).timezone)
        cashier, manager = _actor(s, "cashier"), _actor(s, "manager")
        products = list(
            s.scalars(
                select(Product)
                .where(
                    Product.weighed.is_(False), Product.priced_by_barcode.is_(False), Product.active.is_(True)
                )
                .order_by(Product.sku)
            )
        )
        products = rng.sample(products, 12)
        s.expunge_all()
    today = datetime.now(tz).date()
    second = today - timedelta(days=2)
    first = second - timedelta(days=7)
    zs = []
    for day, who in ((first, manager), (second, cashier)):
        start = datetime.combine(day, time(18, 0), tz)
        clock[0] = start.astimezone(UTC)
        with db.begin() as s:
            shifts.open_shift(s, who, D("100.00"))
        moments = sorted(rng.uniform(0, 7.5 * 3600) for _ in range(rng.randint(10, 16)))  # 18:00 to 01:30
        for n, seconds in enumerate(moments):
            clock[0] = (start + timedelta(seconds=seconds)).astimezone(UTC)
            _ring(db, rng, who, manager, products)
            if n == 3:
                with db.begin() as s:
                    shifts.no_sale(s, manager, "change for the van")
                    shifts.paid_in(s, manager, D("20.00"), "change from the safe")
                    shifts.paid_out(s, manager, D(rng.randint(1, 9)), "window cleaner")
            if n == 5:
                with db.begin() as s:  # a voided sale
                    sale = sales.start_sale(s, manager)
                    sales.add_product(s, manager, sale.id, products[0].id, D(1))
                    sales.void_sale(s, manager, sale.id, "customer left")
        if who == cashier:
            clock[0] = (start + timedelta(hours=7, minutes=40)).astimezone(UTC)
            _approved_sale(db, cashier, products[1])
        clock[0] = (start + timedelta(hours=8)).astimezone(UTC)
        with db.begin() as s:
            expected = shifts.x_report(s).expected_cash
            off = D(rng.randint(-300, 300)) * CENT
            counted = {CENT: int((expected + off) / CENT)}
            zs.append(shifts.close_shift(s, manager, counted, {}))
    # A refund on a later day, as the central sends one rung at the desk: the sale of the first evening.
    with db.begin() as s:
        sold = s.scalars(select(Order).where(Order.channel == "counter", Order.status == "completed")).first()
        assert sold is not None
        when = datetime.combine(first + timedelta(days=1), time(11, 0), tz).astimezone(UTC)
        s.add(
            Order(
                id=new_id(),
                number="RET-1",
                channel="return",
                status="completed",
                terminal_code="2",
                original_order_id=sold.id,
                total=sold.total,
                created_at=when,
                completed_at=when,
                lines=[
                    OrderLine(
                        id=new_id(),
                        line_no=1,
                        sku="RET",
                        name="Returned item",
                        qty=D(1),
                        unit_price=sold.total,
                        tax_class="std",
                        tax_rate=D(0),
                        amount=sold.total,
                    )
                ],
            )
        )
        s.flush()
        line_id = s.scalars(select(OrderLine.id).where(OrderLine.sku == "RET")).one()
        s.add(ReturnLine(order_line_id=line_id, reason="faulty", condition="defective", disposition="vendor"))
    return Days(first, second, zs, tz)


# -- the figures again, from the raw rows, by code of their own -------------------------------------------------
def _window(days: Days, first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time(), days.tz).astimezone(UTC),
        datetime.combine(last + timedelta(days=1), time(), days.tz).astimezone(UTC),
    )


def _sold(s: Session, days: Days, first: date, last: date) -> list[Order]:
    a, b = _window(days, first, last)
    return [
        o
        for o in s.scalars(select(Order))
        if o.channel == "counter" and o.status == "completed" and o.completed_at and a <= o.completed_at < b
    ]


Rows = list[tuple[Any, ...]]


def _by_hour(days: Days, orders: list[Order]) -> dict[str, tuple[int, D]]:
    out: dict[str, tuple[int, D]] = {}
    for o in orders:
        assert o.completed_at is not None
        h = f"{o.completed_at.astimezone(days.tz).hour:02d}:00"
        n, t = out.get(h, (0, ZERO))
        out[h] = (n + 1, t + o.total)
    return out


def _hour(s: Session, days: Days, first: date, last: date) -> Rows:
    a = _by_hour(days, _sold(s, days, first, last))
    b = _by_hour(days, _sold(s, days, first - timedelta(days=7), last - timedelta(days=7)))
    return [(h, *a.get(h, (0, ZERO)), *b.get(h, (0, ZERO))) for h in sorted(set(a) | set(b))]


def _by_dept(s: Session, orders: list[Order]) -> dict[str, D]:
    names = {d.code: d.name for d in s.scalars(select(Department))}
    dept = {p.id: p.department for p in s.scalars(select(Product))}
    out: dict[str, D] = {}
    for o in orders:
        for line in o.lines:
            if not line.voided:
                code = dept.get(line.product_id or "")
                name = names.get(code or "", code or "No department")
                out[name] = out.get(name, ZERO) + line.amount
    return out


def _department(s: Session, days: Days, first: date, last: date) -> Rows:
    a = _by_dept(s, _sold(s, days, first, last))
    b = _by_dept(s, _sold(s, days, first - timedelta(days=7), last - timedelta(days=7)))
    rows = [(n, a.get(n, ZERO), b.get(n, ZERO)) for n in set(a) | set(b)]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def _tenders(s: Session, days: Days, first: date, last: date) -> Rows:
    per: dict[str, list[Payment]] = {}
    for o in _sold(s, days, first, last):
        for p in o.payments:
            per.setdefault(p.kind, []).append(p)
    return [
        (
            tenders.WORDS[k],
            len({p.order_id for p in per[k]}),
            len(per[k]),
            sum((p.amount for p in per[k]), ZERO),
        )
        for k in tenders.KINDS
        if k in per
    ]


def _cash_shift(s: Session, days: Days, first: date, last: date) -> Rows:
    a, b = _window(days, first, last)
    rows: Rows = []
    for sh in s.scalars(select(Shift).order_by(Shift.closed_at)):
        if sh.status != "closed" or sh.closed_at is None or not a <= sh.closed_at < b:
            continue
        sold = [o for o in s.scalars(select(Order).where(Order.shift_id == sh.id)) if o.status == "completed"]
        cash = sum((p.amount for o in sold for p in o.payments if p.kind == "cash"), ZERO)
        moves = list(s.scalars(select(CashMovement).where(CashMovement.shift_id == sh.id)))
        paid_in = sum((m.amount for m in moves if m.kind == "paid_in"), ZERO)
        paid_out = sum((m.amount for m in moves if m.kind == "paid_out"), ZERO)
        exp = sh.opening_float + cash + paid_in - paid_out
        counted = sum((D(d) * n for d, n in sh.counted["cash"].items()), ZERO)
        user = s.get(StaffUser, sh.opened_by)
        assert user is not None
        closed = sh.closed_at.astimezone(days.tz).strftime("%Y-%m-%d %H:%M")
        rows.append((sh.number, user.display_name, closed, exp, counted, counted - exp))
    return rows


def _cash_cashier(s: Session, days: Days, first: date, last: date) -> Rows:
    per: dict[str, Rows] = {}
    for r in _cash_shift(s, days, first, last):
        per.setdefault(str(r[1]), []).append(r)
    return [
        (
            n,
            len(rs),
            sum((r[3] for r in rs), ZERO),
            sum((r[4] for r in rs), ZERO),
            sum((r[5] for r in rs), ZERO),
        )
        for n, rs in sorted(per.items())
    ]


def _top_items(s: Session, days: Days, first: date, last: date) -> Rows:
    per: dict[str, tuple[str, D, D]] = {}
    for o in _sold(s, days, first, last):
        for line in o.lines:
            if not line.voided:
                _n, q, t = per.get(line.sku, (line.name, ZERO, ZERO))
                per[line.sku] = (line.name, q + line.qty, t + line.amount)
    ranked = sorted(per.items(), key=lambda kv: (-kv[1][2], kv[0]))[: reports.TOP_ITEMS]
    return [(sku, n, _plain(q), t) for sku, (n, q, t) in ranked]


def _discounts(s: Session, days: Days, first: date, last: date) -> Rows:
    names = {u.id: u.display_name for u in s.scalars(select(StaffUser))}
    approvals = {a.id: names[a.approved_by] for a in s.scalars(select(Approval))}

    def who(data: dict[str, str], o: Order) -> str:
        aid = data.get("approval_id")
        return approvals[aid] if aid else f"{names[o.owner_id or '']} (own authority)"

    found: Rows = []
    for o in sorted(_sold(s, days, first, last), key=lambda o: (o.completed_at, o.number)):
        assert o.completed_at is not None
        when = o.completed_at.astimezone(days.tz).strftime("%Y-%m-%d %H:%M")
        for line in o.lines:
            if line.voided:
                continue
            if line.price_override:
                r = line.price_override
                off = ((line.unit_price - D(r["price"])) * line.qty).quantize(CENT)
                found.append((when, o.number, line.name, "Price override", off, r["reason"], who(r, o)))
            if line.discount:
                r = line.discount
                found.append(
                    (when, o.number, line.name, "Line discount", D(r["amount"]), r["reason"], who(r, o))
                )
        if o.order_discount:
            r = o.order_discount
            found.append(
                (when, o.number, "Whole sale", "Sale discount", D(r["amount"]), r["reason"], who(r, o))
            )
    return found


def _discount_reasons(s: Session, days: Days, first: date, last: date) -> Rows:
    """The list's rows counted and summed by what, reason and who approved."""
    sums: dict[tuple[str, str, str], tuple[int, D]] = {}
    for _when, _number, _item, what, off, reason, who in _discounts(s, days, first, last):
        n, total = sums.get((what, reason, who), (0, ZERO))
        sums[what, reason, who] = (n + 1, total + off)
    kinds = ["Price override", "Line discount", "Sale discount"]
    ranked = sorted(sums.items(), key=lambda kv: (kinds.index(kv[0][0]), -kv[1][1], kv[0][1], kv[0][2]))
    return [(what, reason, who, n, total) for (what, reason, who), (n, total) in ranked]


def _returned(s: Session, days: Days, first: date, last: date, field: str) -> Rows:
    """Per reason (or disposition) of the returned lines: distinct returns, units and amount."""
    a, b = _window(days, first, last)
    decided = {r.order_line_id: r for r in s.scalars(select(ReturnLine))}
    per: dict[str, tuple[set[str], D, D]] = {}
    for o in s.scalars(select(Order).where(Order.channel == "return", Order.status == "completed")):
        if not (o.completed_at and a <= o.completed_at < b):
            continue
        for line in o.lines:
            if line.voided:
                continue
            r = decided.get(line.id)
            key = (getattr(r, field) if r else "") or "not recorded"
            ids, q, t = per.get(key, (set(), ZERO, ZERO))
            per[key] = (ids | {o.id}, q + line.qty, t + line.amount)
    return [(k, len(ids), _plain(q), t) for k, (ids, q, t) in sorted(per.items())]


def _returns(s: Session, days: Days, first: date, last: date) -> Rows:
    return _returned(s, days, first, last, "reason")


def _returns_disposition(s: Session, days: Days, first: date, last: date) -> Rows:
    return _returned(s, days, first, last, "disposition")


def _ext_time(value: Any) -> datetime | None:
    if not value:
        return None
    t = datetime.fromisoformat(str(value))
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def _mins(seconds: D | None) -> Any:
    return "" if seconds is None else (seconds / 60).quantize(D("0.1"))


def _pickups(s: Session, days: Days, first: date, last: date) -> Rows:
    """Orders made ready in the period: on time against the promise (the storefront's, or two hours after the
    order reached the till), curb waits as median and nearest-rank 90th percentile, no-shows (expired)."""
    a, b = _window(days, first, last)
    made: list[tuple[str, bool, str, int | None]] = []
    for rec in s.scalars(select(PickupRecord)):
        o = s.get(Order, rec.order_id)
        if o is None or rec.ready_at is None or not a <= rec.ready_at < b:
            continue
        if o.channel != "web" or o.fulfilment not in ("pickup", "curbside"):
            continue
        ext = o.external or {}
        promise = _ext_time(ext.get("promised_at")) or o.created_at + timedelta(minutes=120)
        arrived = _ext_time(ext.get("arrived_at"))
        wait = None
        if o.fulfilment == "curbside" and arrived is not None and rec.handed_at is not None:
            wait = max(0, int((rec.handed_at - arrived).total_seconds()))
        made.append((o.fulfilment, rec.ready_at <= promise, o.status, wait))

    def row(label: str, group: list[tuple[str, bool, str, int | None]]) -> tuple[Any, ...]:
        waits = sorted(w for *_x, w in group if w is not None)
        on_time = len([g for g in group if g[1]])
        med = None
        if waits:
            half = len(waits) // 2
            med = D(waits[half]) if len(waits) % 2 else D(waits[half - 1] + waits[half]) / 2
        p90 = None
        if waits:
            rank = -(-9 * len(waits) // 10)  # ceil(0.9 n), in whole numbers
            p90 = D(waits[rank - 1])
        return (
            label,
            len(group),
            on_time,
            len(group) - on_time,
            (D(on_time * 100) / len(group)).quantize(D("0.1")),
            len([g for g in group if g[2] == "collected"]),
            len([g for g in group if g[2] == "expired"]),
            len(waits),
            _mins(med),
            _mins(p90),
        )

    rows: Rows = []
    for kind, label in (("pickup", "Pickup"), ("curbside", "Curbside")):
        group = [m for m in made if m[0] == kind]
        if group:
            rows.append(row(label, group))
    if made:
        rows.append(row("All", made))
    return rows


def _pack(s: Session, days: Days, first: date, last: date) -> Rows:
    a, b = _window(days, first, last)
    per: dict[date, list[PackFigures]] = {}
    for f in s.scalars(select(PackFigures)):
        if f.packed_at is not None and a <= f.packed_at < b:
            per.setdefault(f.packed_at.astimezone(days.tz).date(), []).append(f)
    rows: Rows = []
    for day in sorted(per):
        fs = per[day]
        secs = sum((D(str((f.packed_at - f.started_at).total_seconds())) for f in fs if f.packed_at), ZERO)
        rows.append(
            (
                day.isoformat(),
                len(fs),
                sum(f.scans for f in fs),
                sum(f.errors for f in fs),
                sum(f.approvals for f in fs),
                _mins(secs / len(fs)),
            )
        )
    return rows


def _plain(q: D) -> D:
    """A quantity as the reports write it: no trailing zeros, no exponent (10, not 1E+1)."""
    return D(f"{q.normalize():f}")


def _stock(s: Session, days: Days, first: date, last: date) -> Rows:
    have: dict[str, D] = {}
    for m in s.scalars(select(StockMovement)):
        have[m.product_id] = have.get(m.product_id, ZERO) + m.qty
    least = {m.sku: m.qty for m in s.scalars(select(StockMinimum))}
    rows: Rows = []
    for p in s.scalars(select(Product).where(Product.active.is_(True))):
        q = have.get(p.id, ZERO)
        minimum = least.get(p.sku, least.get("*", ZERO))
        if q < 0:
            rows.append((p.sku, p.name, _plain(q), _plain(minimum), "Negative"))
        elif q < minimum:
            rows.append((p.sku, p.name, _plain(q), _plain(minimum), "Below minimum"))
    return sorted(rows, key=lambda r: (r[4] != "Negative", r[2], r[0]))


EXPECTED = {
    "hour": _hour,
    "department": _department,
    "tenders": _tenders,
    "cash_shift": _cash_shift,
    "cash_cashier": _cash_cashier,
    "top_items": _top_items,
    "discounts": _discounts,
    "discount_reasons": _discount_reasons,
    "returns": _returns,
    "returns_disposition": _returns_disposition,
    "pickups": _pickups,
    "pack": _pack,
    "stock": _stock,
}


def expected(s: Session, days: Days, key: str, first: date, last: date) -> Rows:
    return EXPECTED[key](s, days, first, last)


# -- the screen, its CSV and its PDF ----------------------------------------------------------------------------
@pytest.fixture
def context(db: Factory, qtbot: QtBot) -> Iterator[AppContext]:
    with signed_in(db, qtbot, "manager", "6666") as ctx:
        yield ctx


def pdf_text(data: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def row_in_text(cells: list[str], text: str) -> bool:
    pattern = r"\s+".join(re.escape(c) for c in cells if c)
    return re.search(pattern, text) is not None


@pytest.mark.parametrize("seed", [7, 2026])
def test_every_figure_agrees_with_the_raw_rows_the_screen_the_exports_and_the_z(
    db: Factory, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot, context: AppContext, seed: int
) -> None:
    days = store_days(db, monkeypatch, seed)
    screen = ReportsScreen(context)
    qtbot.addWidget(screen)
    screen.resize(1280, 700)
    screen.show()
    mismatches: list[str] = []
    periods = [
        (days.first, days.first + timedelta(days=1)),  # the first shift, across midnight, and the refund
        (days.second, days.second + timedelta(days=1)),  # the second, beside the first a week before
        (days.first, days.second + timedelta(days=1)),
        (days.second, days.second),  # the evening before midnight only
    ]
    for first, last in periods:
        for key in reports.REPORTS:
            with db() as s:
                got = reports.run(s, key, "range", first, last)
                want = expected(s, days, key, first, last)
            if [tuple(r) for r in got.rows] != want:
                mismatches.append(f"{key} {first}..{last}: service {got.rows} != raw rows {want}")
            screen.choose(key, "range", first, last)
            qtbot.waitUntil(context.ops.is_idle)
            assert screen.report is not None and screen.report.key == key
            shown = screen.shown_rows()
            formatted = [
                [screen.cell_text(c.kind, v) for c, v in zip(got.columns, r, strict=True)] for r in want
            ]
            if shown != formatted:
                mismatches.append(f"{key} {first}..{last}: screen {shown} != {formatted}")
            rows = list(csv.reader(io.StringIO(screen.csv_text())))
            if rows[1:] != [[str(v) for v in r] for r in want]:
                mismatches.append(f"{key} {first}..{last}: CSV {rows[1:]}")
            text = pdf_text(screen.pdf_bytes())
            missing = [r for r in shown if not row_in_text(r, text)]
            if missing:
                mismatches.append(f"{key} {first}..{last}: not in the PDF {missing}")

    # The Z report of each shift: same sales, tenders, discounts and over/short as the reports over its evening.
    for z, day in zip(days.zs, (days.first, days.second), strict=True):
        with db() as s:
            hour = reports.run(s, "hour", "range", day, day + timedelta(days=1))
            tend = reports.run(s, "tenders", "range", day, day + timedelta(days=1))
            disc = reports.run(s, "discounts", "range", day, day + timedelta(days=1))
            cash = reports.run(s, "cash_shift", "range", day, day + timedelta(days=1))
        f = z.figures
        checks = {
            "sales": (sum(int(r[1]) for r in hour.rows), f.sales_count),
            "net sales": (sum((D(r[2]) for r in hour.rows), ZERO), f.sales_total),
            "tenders": (
                [tuple(r[1:]) for r in tend.rows],
                [(t.sales, t.payments, t.amount) for t in f.by_tender],
            ),
            "discounts": (
                sum((D(r[4]) for r in disc.rows if r[3] != "Price override"), ZERO),
                f.discount_total,
            ),
            "over/short": ([r[5] for r in cash.rows], [z.cash_over_short]),
            "stored Z": (
                [str(r[5]) for r in cash.rows],
                [z.counts[0].over_short and str(z.counts[0].over_short)],
            ),
        }
        for name, (ours, zs) in checks.items():
            if ours != zs:
                mismatches.append(f"Z {z.number} {name}: reports {ours} != Z {zs}")
    assert mismatches == []

    # What the days must have held for the comparison to mean something.
    with db() as s:
        all_rows = {
            k: reports.run(s, k, "range", days.first, days.second + timedelta(days=1)).rows
            for k in reports.REPORTS
        }
    assert any(r[6] == "Sam Supervisor" for r in all_rows["discounts"])
    assert any(r[6] == "Morgan Manager" for r in all_rows["discounts"])
    assert any("own authority" in str(r[6]) for r in all_rows["discounts"])
    assert all_rows["returns"] == [("faulty", 1, D(1), all_rows["returns"][0][3])]
    assert all_rows["returns_disposition"] == [("vendor", 1, D(1), all_rows["returns"][0][3])]
    assert {r[1] for r in all_rows["cash_cashier"]} == {1}
    hours = {r[0] for r in all_rows["hour"]}
    assert {"23:00", "00:00"} & hours and "18:00" in hours


def test_periods_are_local_days_in_the_store_zone(db: Factory) -> None:
    with db() as s:
        tz = ZoneInfo(here(s).timezone)
        today = datetime.now(tz).date()
        t = reports.period(s, "today")
        y = reports.period(s, "yesterday")
        w = reports.period(s, "week")
        r = reports.period(s, "range", date(2026, 3, 28), date(2026, 3, 29))
        with pytest.raises(reports.UserError, match="before the first"):
            reports.period(s, "range", date(2026, 3, 29), date(2026, 3, 28))
        with pytest.raises(reports.UserError, match="at most"):
            reports.period(s, "range", date(2025, 1, 1), date(2026, 3, 28))
    assert (t.first, t.last) == (today, today)
    assert (y.first, y.last) == (today - timedelta(days=1),) * 2
    assert w.first <= today == w.last and (today - w.first).days < 7
    start, end = r.bounds()
    assert start == datetime.combine(date(2026, 3, 28), time(), tz).astimezone(UTC)
    assert str(tz) == "Europe/Dublin"  # the demo store's zone: clocks go forward on 29 March 2026
    assert end - start == timedelta(hours=47)
