"""Store reports: each figure defined once, computed from the orders, lines, payments, shifts and the stock ledger.

A report is plain data (columns and rows) over a period of local days in the store's time zone: today, yesterday,
this week (from the locale's first day of the week) or a range. What counts as a sale is what the Z report counts:
a completed counter sale, or a web order paid at the pickup counter when handed over, worth its order total
(`Order.total`, the Z's net sales); tenders come from
`shifts.tender_figures`, the Z's own function; a shift's expected cash is the Z's (`shifts.shift_figures`), and its
over/short is the counted cash (the blind count kept on the shift) minus it. Nothing here reads a counter kept on
the side: stock on hand is the sum of the ledger's movements, not the balance table.

Returns, pickups and the pack bench are figures of app.domain.figures, fed here from the till's rows
(app.services.reports_fulfilment) and at the central store from its own: one definition for both.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from app.db.models import (
    Approval,
    Department,
    Order,
    OrderLine,
    Payment,
    Product,
    Shift,
    StaffUser,
    StockMovement,
)
from app.domain import figures, tenders
from app.domain.money import ZERO, quantize_money
from app.domain.permissions import Permission
from app.services import reports_fulfilment as fulfilment
from app.services import shifts, staff
from app.services.base import Actor, UserError, here

Cell = str | int | Decimal
PERIOD_KINDS = ("today", "yesterday", "week", "range")
PERIOD_WORDS = {"today": "Today", "yesterday": "Yesterday", "week": "This week", "range": "Range"}
TOP_ITEMS = 20
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Local days from `first` to `last`, both included, in the store's zone."""

    kind: str
    first: date
    last: date
    timezone: str

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants: from the first day's local midnight to the midnight after the last."""
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    def week_before(self) -> Period:
        """The same weekdays one week earlier: what each day is set beside."""
        return replace(
            self, kind="range", first=self.first - timedelta(days=7), last=self.last - timedelta(days=7)
        )

    def local(self, moment: datetime | None) -> datetime:
        assert moment is not None  # completed sales and closed shifts have their time
        return moment.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Column:
    title: str
    kind: str  # text, count, money, qty


@dataclass(frozen=True)
class Report:
    """One report as shown: its columns, its rows, and which columns the chart draws (labels, then values)."""

    key: str
    title: str
    period: Period
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    chart_label: int = 0
    chart_values: tuple[int, ...] = ()
    note: str = ""


def period(session: Session, kind: str, first: date | None = None, last: date | None = None) -> Period:
    """Today, yesterday, this week (so far) or a range of local days, in the store's time zone."""
    h = here(session)
    today = datetime.now(ZoneInfo(h.timezone)).date()
    if kind == "today":
        return Period(kind, today, today, h.timezone)
    if kind == "yesterday":
        day = today - timedelta(days=1)
        return Period(kind, day, day, h.timezone)
    if kind == "week":
        try:
            first_weekday = Locale.parse(h.locale).first_week_day
        except (ValueError, UnknownLocaleError):
            first_weekday = 0
        start = today - timedelta(days=(today.weekday() - first_weekday) % 7)
        return Period(kind, start, today, h.timezone)
    if kind == "range":
        if first is None or last is None:
            raise UserError("Give the first and the last day of the range.")
        if last < first:
            raise UserError("The last day of the range is before the first: swap them.")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise UserError(f"A range is at most {MAX_RANGE_DAYS} days: choose a shorter one.")
        return Period(kind, first, last, h.timezone)
    raise UserError(f"{kind} is not a period: choose today, yesterday, this week or a range.")


# -- what a sale is: the Z report's definition ----------------------------------------------------------------
def _sales(p: Period) -> Any:
    """The sales the Z counts (`shifts.shift_sales`: completed counter sales, and web orders paid at the pickup
    counter when handed over, the only web orders with a shift) completed within the period, by time instead of
    by shift."""
    return _sold_between(*p.bounds())


def _sold_between(start: datetime, end: datetime) -> Any:
    """`_sales` between two moments."""
    return and_(
        or_(
            and_(Order.channel == "counter", Order.status == "completed"),
            and_(Order.channel == "web", Order.status == "collected", Order.shift_id.is_not(None)),
        ),
        Order.completed_at >= start,
        Order.completed_at < end,
    )


def _utc_hour(session: Session) -> Any:
    """The UTC hour a sale was completed in, as text 'YYYY-MM-DD HH', computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Order.completed_at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", Order.completed_at)  # SQLite keeps UTC moments as naive text


def _hour_totals(session: Session, p: Period) -> dict[int, tuple[int, Decimal]]:
    """Sales and net sales per local hour. The database sums them per UTC hour (a year is ~9k hours, not ~110k
    sales); a UTC hour that falls in one local hour (a zone whole hours from UTC) counts there, any other (a
    zone at a half or quarter hour) is read sale by sale."""
    zone = ZoneInfo(p.timezone)
    out: dict[int, tuple[int, Decimal]] = {}

    def add(hour: int, n: int, amount: Decimal) -> None:
        n0, amount0 = out.get(hour, (0, ZERO))
        out[hour] = (n0 + n, amount0 + amount)

    bucket = _utc_hour(session)
    split = []
    for text, n, amount in session.execute(
        select(bucket, func.count(), func.sum(Order.total)).where(_sales(p)).group_by(bucket)
    ):
        start = datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)
        first, last = start.astimezone(zone), (start + timedelta(hours=1, microseconds=-1)).astimezone(zone)
        if first.hour == last.hour and first.utcoffset() == last.utcoffset():
            add(first.hour, n, amount or ZERO)
        else:
            split.append(start)
    for start in split:
        q = select(Order.completed_at, Order.total).where(
            _sales(p), Order.completed_at >= start, Order.completed_at < start + timedelta(hours=1)
        )
        for completed_at, total in session.execute(q):
            add(p.local(completed_at).hour, 1, total)
    return out


def sales_by_hour(session: Session, p: Period) -> Report:
    now_ = _hour_totals(session, p)
    before = _hour_totals(session, p.week_before())
    rows: list[tuple[Cell, ...]] = []
    for hour in sorted(set(now_) | set(before)):
        n, amount = now_.get(hour, (0, ZERO))
        n0, amount0 = before.get(hour, (0, ZERO))
        rows.append((f"{hour:02d}:00", n, amount, n0, amount0))
    return Report(
        "hour",
        "Sales by hour",
        p,
        (
            Column("Hour", "text"),
            Column("Sales", "count"),
            Column("Net sales", "money"),
            Column("Sales a week before", "count"),
            Column("Net a week before", "money"),
        ),
        rows,
        0,
        (2, 4),
        "Net sales: completed counter sales at their totals, as the Z report counts them.",
    )


def _department_totals(session: Session, p: Period) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Sold per department in the period and in the same days a week before. Summed per product by the database
    in one pass over both (a year's range and the year a week before overlap but for a week), then per department
    here: grouping a year's lines by product needs no join per line."""
    start, end = p.bounds()
    before_start, before_end = p.week_before().bounds()

    def sold(a: datetime, b: datetime) -> tuple[Any, Any]:
        """The lines sold in [a, b) and their amount (a product with lines at 0 still has a row)."""
        within = and_(Order.completed_at >= a, Order.completed_at < b)
        return func.count(case((within, 1))), func.sum(case((within, OrderLine.amount), else_=0))

    per_product = session.execute(
        select(OrderLine.product_id, *sold(start, end), *sold(before_start, before_end))
        .join(Order, Order.id == OrderLine.order_id)
        .where(_sold_between(before_start, end), OrderLine.voided.is_(False))
        .group_by(OrderLine.product_id)
    ).all()
    names = dict(session.execute(select(Department.code, Department.name)).all())
    department = dict(session.execute(select(Product.id, Product.department)).all())
    now_: dict[str, Decimal] = {}
    before: dict[str, Decimal] = {}
    for product_id, n, total, n_before, total_before in per_product:
        code = department.get(product_id) if product_id else None
        name = names.get(code, code) if code else "No department"
        for out, lines, value in ((now_, n, total), (before, n_before, total_before)):
            if lines:
                out[name] = out.get(name, ZERO) + quantize_money(Decimal(value or 0))
    return now_, before


def sales_by_department(session: Session, p: Period) -> Report:
    now_, before = _department_totals(session, p)
    names = sorted(set(now_) | set(before), key=lambda n: (-now_.get(n, ZERO), n))
    rows: list[tuple[Cell, ...]] = [(n, now_.get(n, ZERO), before.get(n, ZERO)) for n in names]
    return Report(
        "department",
        "Sales by department",
        p,
        (Column("Department", "text"), Column("Sold", "money"), Column("A week before", "money")),
        rows,
        0,
        (1, 2),
        "Sold: the lines' amounts after discounts, voided lines left out.",
    )


def tender_totals(session: Session, p: Period) -> tuple[list[shifts.TenderFigure], Decimal]:
    """The Z's tenders over the period's sales: per tender the sales it paid, its payments and the amount kept, in
    the tender list's order, and the cash customers handed over (`shifts.tender_figures`, the Z's function, which
    the reports' tests hold these to). Summed by the database: a year is ~130k payments, read from the payments'
    covering index."""
    q = (
        select(
            Payment.kind,
            func.count(func.distinct(Payment.order_id)),
            func.count(),
            func.sum(Payment.amount),
            func.sum(Payment.tendered),
        )
        .join(Order, Order.id == Payment.order_id)
        .where(_sales(p))
        .group_by(Payment.kind)
    )
    order = shifts.TENDER_ORDER
    rows = sorted(session.execute(q).all(), key=lambda r: order.index(r.kind) if r.kind in order else 99)
    by_tender = [shifts.TenderFigure(kind, sales, n, amount) for kind, sales, n, amount, _ in rows]
    return by_tender, sum((t for kind, *_, t in rows if kind == "cash"), ZERO)


def tender_report(session: Session, p: Period) -> Report:
    by_tender, _cash_tendered = tender_totals(session, p)
    rows: list[tuple[Cell, ...]] = [
        (tenders.WORDS.get(t.kind, t.kind), t.sales, t.payments, t.amount) for t in by_tender
    ]
    return Report(
        "tenders",
        "Tenders",
        p,
        (
            Column("Tender", "text"),
            Column("Sales", "count"),
            Column("Payments", "count"),
            Column("Amount", "money"),
        ),
        rows,
        0,
        (3,),
        "Amount kept: cash net of change, as on the Z report.",
    )


@dataclass(frozen=True)
class ShiftCash:
    number: str
    cashier: str
    closed_at: datetime
    expected: Decimal
    counted: Decimal
    over_short: Decimal


def shift_cash(session: Session, p: Period) -> list[ShiftCash]:
    """Closed shifts closed within the period: the Z's expected cash, the blind count, and counted minus expected."""
    start, end = p.bounds()
    closed = list(
        session.execute(
            select(Shift.id, Shift.number, Shift.closed_at, Shift.counted, StaffUser.display_name)
            .join(StaffUser, StaffUser.id == Shift.opened_by)
            .where(Shift.status == "closed", Shift.closed_at >= start, Shift.closed_at < end)
            .order_by(Shift.closed_at)
        )
    )
    expected = shifts.expected_cash_of(session, [row.id for row in closed])
    out = []
    for shift_id, number, closed_at, counted_json, cashier in closed:
        cash = (counted_json or {}).get("cash") or {}
        counted = tenders.denomination_total({Decimal(d): int(n) for d, n in cash.items()})
        out.append(
            ShiftCash(
                number,
                cashier,
                closed_at,
                expected[shift_id],
                counted,
                tenders.over_short(expected[shift_id], counted),
            )
        )
    return out


def cash_by_shift(session: Session, p: Period) -> Report:
    rows: list[tuple[Cell, ...]] = [
        (
            c.number,
            c.cashier,
            p.local(c.closed_at).strftime("%Y-%m-%d %H:%M"),
            c.expected,
            c.counted,
            c.over_short,
        )
        for c in shift_cash(session, p)
    ]
    return Report(
        "cash_shift",
        "Cash over/short by shift",
        p,
        (
            Column("Shift", "text"),
            Column("Cashier", "text"),
            Column("Closed", "text"),
            Column("Expected cash", "money"),
            Column("Counted", "money"),
            Column("Over/short", "money"),
        ),
        rows,
        0,
        (5,),
        "Shifts closed in the period; over is positive, short negative.",
    )


def cash_by_cashier(session: Session, p: Period) -> Report:
    by: dict[str, list[ShiftCash]] = {}
    for c in shift_cash(session, p):
        by.setdefault(c.cashier, []).append(c)
    rows: list[tuple[Cell, ...]] = [
        (
            name,
            len(cs),
            sum((c.expected for c in cs), ZERO),
            sum((c.counted for c in cs), ZERO),
            sum((c.over_short for c in cs), ZERO),
        )
        for name, cs in sorted(by.items())
    ]
    return Report(
        "cash_cashier",
        "Cash over/short by cashier",
        p,
        (
            Column("Cashier", "text"),
            Column("Shifts", "count"),
            Column("Expected cash", "money"),
            Column("Counted", "money"),
            Column("Over/short", "money"),
        ),
        rows,
        0,
        (4,),
        "The cashier who opened each shift closed in the period.",
    )


def top_items(session: Session, p: Period) -> Report:
    amount = func.sum(OrderLine.amount)
    q = (
        select(OrderLine.sku, func.max(OrderLine.name), func.sum(OrderLine.qty), amount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(_sales(p), OrderLine.voided.is_(False))
        .group_by(OrderLine.sku)
        .order_by(amount.desc(), OrderLine.sku)
        .limit(TOP_ITEMS)
    )
    rows: list[tuple[Cell, ...]] = [
        (sku, name, Decimal(qty).normalize(), quantize_money(Decimal(total or 0)))
        for sku, name, qty, total in session.execute(q)
    ]
    return Report(
        "top_items",
        "Top items",
        p,
        (Column("SKU", "text"), Column("Item", "text"), Column("Quantity", "qty"), Column("Sold", "money")),
        rows,
        1,
        (3,),
        f"The {TOP_ITEMS} items that sold for most, after discounts.",
    )


@dataclass(frozen=True)
class _Sold:
    number: str
    completed_at: datetime
    owner_id: str | None


def _holds(column: Any) -> Any:
    return cast(column, String) != "null"


def discounts(session: Session, p: Period) -> Report:
    """Every discount and price override on the period's sales, with its reason and who approved it: the manager
    of the approval it used (app.db Approval), or the cashier's own authority when the role allowed it."""
    # Only rows that hold one: a removed discount is a JSON null, a never-given one SQL NULL (both compare false).
    orders = list(
        session.execute(
            select(Order.id, Order.number, Order.completed_at, Order.owner_id, Order.order_discount).where(
                _sales(p), _holds(Order.order_discount)
            )
        )
    )
    # Plain rows through the connection: a year holds tens of thousands of discounted lines.
    lines = (
        session.connection()
        .execute(
            select(
                OrderLine.order_id,
                OrderLine.name,
                OrderLine.qty,
                OrderLine.unit_price,
                OrderLine.price_override,
                OrderLine.discount,
                Order.number,
                Order.completed_at,
                Order.owner_id,
            )
            .join(Order, Order.id == OrderLine.order_id)
            .where(
                _sales(p),
                OrderLine.voided.is_(False),
                # The index of the lines that carry either (app.db ix_order_lines_marked), then those that still do.
                or_(OrderLine.discount.is_not(None), OrderLine.price_override.is_not(None)),
                or_(_holds(OrderLine.discount), _holds(OrderLine.price_override)),
            )
            .order_by(Order.completed_at, OrderLine.line_no)
        )
        .all()
    )
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())
    approvers = dict(session.execute(select(Approval.id, Approval.approved_by)).all())

    def who(data: dict[str, Any], owner: str | None) -> str:
        approval = data.get("approval_id")
        if approval and approval in approvers:
            return names.get(approvers[approval], "?")
        return f"{names.get(owner or '', '?')} (own authority)"

    found: list[tuple[datetime, tuple[Cell, ...]]] = []
    shown: dict[datetime, str] = {}  # a sale's lines share its time: written once
    for _order_id, name, qty, unit_price, override, discount, number, completed_at, owner_id in lines:
        o = _Sold(number, completed_at, owner_id)
        when = shown.get(completed_at) or shown.setdefault(
            completed_at, p.local(completed_at).strftime("%Y-%m-%d %H:%M")
        )
        if override:
            off = quantize_money((unit_price - Decimal(override["price"])) * qty)
            row = (
                when,
                o.number,
                name,
                "Price override",
                off,
                override.get("reason", ""),
                who(override, o.owner_id),
            )
            found.append((o.completed_at, row))
        if discount:
            off = Decimal(discount.get("amount", "0"))
            row = (
                when,
                o.number,
                name,
                "Line discount",
                off,
                discount.get("reason", ""),
                who(discount, o.owner_id),
            )
            found.append((o.completed_at, row))
    for row in orders:
        if row.order_discount:
            d = row.order_discount
            when = p.local(row.completed_at).strftime("%Y-%m-%d %H:%M")
            off = Decimal(d.get("amount", "0"))
            found.append(
                (
                    row.completed_at,
                    (
                        when,
                        row.number,
                        "Whole sale",
                        "Sale discount",
                        off,
                        d.get("reason", ""),
                        who(d, row.owner_id),
                    ),
                )
            )
    found.sort(key=lambda f: (f[0], str(f[1][1])))
    return Report(
        "discounts",
        "Discounts and price overrides",
        p,
        (
            Column("Time", "text"),
            Column("Receipt", "text"),
            Column("Item", "text"),
            Column("What", "text"),
            Column("Amount off", "money"),
            Column("Reason", "text"),
            Column("Approved by", "text"),
        ),
        [row for _, row in found],
        3,
        (4,),
        "A price override's amount off is the price it replaced less the new price, times the quantity.",
    )


def _figure_report(fig: figures.Figure, p: Period, rows: list[figures.Row]) -> Report:
    """A report of a figure defined in app.domain.figures (the central store shows the same rows)."""
    return Report(
        fig.key,
        fig.title,
        p,
        tuple(Column(title, kind) for title, kind in fig.columns),
        list(rows),
        fig.chart_label,
        fig.chart_values,
        fig.note,
    )


def returns_by_reason(session: Session, p: Period) -> Report:
    items = fulfilment.return_items(session, *p.bounds())
    return _figure_report(figures.RETURNS_REASON, p, figures.returns_by_reason(items))


def returns_by_disposition(session: Session, p: Period) -> Report:
    items = fulfilment.return_items(session, *p.bounds())
    return _figure_report(figures.RETURNS_DISPOSITION, p, figures.returns_by_disposition(items))


def pickup_report(session: Session, p: Period) -> Report:
    return _figure_report(figures.PICKUPS, p, figures.pickups(fulfilment.pickup_items(session, *p.bounds())))


def pack_report(session: Session, p: Period) -> Report:
    items = fulfilment.pack_items(session, *p.bounds())
    return _figure_report(figures.PACK, p, figures.pack_bench(items, p.timezone))


def stock_watch(session: Session, p: Period) -> Report:
    """Products whose on-hand (the sum of their ledger movements, all locations) is negative or below the
    product's minimum (its reorder level). Stock is as of now, whatever the period."""
    on_hand = func.coalesce(func.sum(StockMovement.qty), 0)
    q = (
        select(Product.sku, Product.name, Product.reorder_level, on_hand)
        .select_from(Product)
        .outerjoin(StockMovement, StockMovement.product_id == Product.id)
        .where(Product.active.is_(True))
        .group_by(Product.id, Product.sku, Product.name, Product.reorder_level)
    )
    rows: list[tuple[Cell, ...]] = []
    for sku, name, minimum, qty in session.execute(q):
        have = Decimal(qty)
        if have < 0:
            state = "Negative"
        elif minimum and have < minimum:
            state = "Below minimum"
        else:
            continue
        rows.append((sku, name, have.normalize(), Decimal(minimum).normalize(), state))
    rows.sort(key=lambda r: (r[4] != "Negative", Decimal(r[2]), str(r[0])))
    return Report(
        "stock",
        "Stock below minimum and negative",
        p,
        (
            Column("SKU", "text"),
            Column("Item", "text"),
            Column("On hand", "qty"),
            Column("Minimum", "qty"),
            Column("State", "text"),
        ),
        rows,
        1,
        (2,),
        "On hand now, from the stock ledger; the period does not apply.",
    )


REPORTS: dict[str, tuple[str, Callable[[Session, Period], Report]]] = {
    "hour": ("Sales by hour", sales_by_hour),
    "department": ("Sales by department", sales_by_department),
    "tenders": ("Tenders", tender_report),
    "cash_shift": ("Cash over/short by shift", cash_by_shift),
    "cash_cashier": ("Cash over/short by cashier", cash_by_cashier),
    "top_items": ("Top items", top_items),
    "discounts": ("Discounts and price overrides", discounts),
    "returns": ("Returns by reason", returns_by_reason),
    "returns_disposition": ("Returns by disposition", returns_by_disposition),
    "pickups": ("Pickups", pickup_report),
    "pack": ("Pack bench", pack_report),
    "stock": ("Stock below minimum and negative", stock_watch),
}


def open_report(
    session: Session, actor: Actor, key: str, kind: str, first: date | None = None, last: date | None = None
) -> Report:
    """What the Reports screen asks for: the figures of a store (cash over and short per cashier among them) are
    for those allowed to view reports, or shown with a supervisor's approval."""
    staff.require(session, actor, Permission.REPORTS_VIEW, "view the store's reports")
    return run(session, key, kind, first, last)


def run(session: Session, key: str, kind: str, first: date | None = None, last: date | None = None) -> Report:
    """One report over one period: what the Reports screen asks for."""
    if key not in REPORTS:
        raise UserError(f"There is no report called {key}.")
    return REPORTS[key][1](session, period(session, kind, first, last))
