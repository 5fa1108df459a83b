"""Sales reports: sales by hour and by department (each beside the same days a week before), the top items, and
the discounts and price overrides with who approved them; all over the sales the Z counts
(app.services.reports_base.sales).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import String, and_, case, cast, func, or_, select
from sqlalchemy.orm import Session

from app.db.models import Approval, Department, Order, OrderLine, Product, StaffUser
from app.domain.money import ZERO, quantize_money
from app.services.reports_base import Cell, Column, Period, Report, sales, sold_between

TOP_ITEMS = 20


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
        select(bucket, func.count(), func.sum(Order.total)).where(sales(p)).group_by(bucket)
    ):
        start = datetime.strptime(text, "%Y-%m-%d %H").replace(tzinfo=UTC)
        first, last = start.astimezone(zone), (start + timedelta(hours=1, microseconds=-1)).astimezone(zone)
        if first.hour == last.hour and first.utcoffset() == last.utcoffset():
            add(first.hour, n, amount or ZERO)
        else:
            split.append(start)
    for start in split:
        q = select(Order.completed_at, Order.total).where(
            sales(p), Order.completed_at >= start, Order.completed_at < start + timedelta(hours=1)
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
        .where(sold_between(before_start, end), OrderLine.voided.is_(False))
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


def top_items(session: Session, p: Period) -> Report:
    amount = func.sum(OrderLine.amount)
    q = (
        select(OrderLine.sku, func.max(OrderLine.name), func.sum(OrderLine.qty), amount)
        .join(Order, Order.id == OrderLine.order_id)
        .where(sales(p), OrderLine.voided.is_(False))
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
                sales(p), _holds(Order.order_discount)
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
                sales(p),
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
