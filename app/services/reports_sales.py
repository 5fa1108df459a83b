"""Sales reports: sales by hour and by department (each beside the same days a week before), the top items, and
the discounts and price overrides with who approved them; all over the sales the Z counts
(app.services.reports_base.sales).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, and_, cast, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from app.db.models import Approval, Department, Order, OrderLine, Product, StaffUser
from app.domain.money import ZERO, quantize_money
from app.services import report_days
from app.services.reports_base import Cell, Column, Period, Report, sales

TOP_ITEMS = 20


def sales_by_hour(session: Session, p: Period) -> Report:
    now_ = report_days.hour_sums(session, p)
    before = report_days.hour_sums(session, p.week_before())
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
    """Sold per department in the period and in the same days a week before, from the sums per product
    (app.services.report_days: the closed days' kept, the open days' from the orders), each product in the
    department it is in now."""
    names = dict(session.execute(select(Department.code, Department.name)).all())
    department = dict(session.execute(select(Product.id, Product.department)).all())
    totals: tuple[dict[str, Decimal], dict[str, Decimal]] = ({}, {})
    for by_name, window in zip(totals, (p, p.week_before()), strict=True):
        per_product: dict[str, Decimal] = {}
        for (product_id, _sku), (_name, _n, _qty, amount) in report_days.item_sums(session, window).items():
            per_product[product_id] = per_product.get(product_id, ZERO) + amount
        for product_id, value in per_product.items():
            code = department.get(product_id) if product_id else None
            name = names.get(code, code) if code else "No department"
            by_name[name] = by_name.get(name, ZERO) + quantize_money(value)
    return totals


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
    per_sku: dict[str, list[Any]] = {}
    for (_product_id, sku), (name, _n, qty, amount) in report_days.item_sums(session, p).items():
        cell = per_sku.get(sku)
        if cell is None:
            per_sku[sku] = [name, qty, amount]
        else:
            cell[0], cell[1], cell[2] = max(cell[0], name), cell[1] + qty, cell[2] + amount
    best = sorted(per_sku.items(), key=lambda kv: (-kv[1][2], kv[0]))[:TOP_ITEMS]
    rows: list[tuple[Cell, ...]] = [
        (sku, name, Decimal(qty).normalize(), quantize_money(amount)) for sku, (name, qty, amount) in best
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


def _holds(column: Any) -> Any:
    """A JSON column that holds an object: a removed discount is a JSON null, a never-given one SQL NULL (both
    compare false), an empty object is none either."""
    text = cast(column, String)
    return and_(text != "null", text != "{}")


def _field(column: Any, name: str) -> Any:
    """One field of a JSON column, read by the database as text (not the whole document decoded here)."""
    return column[name].as_string()


def _minute_text(p: Period) -> Callable[[Any], str]:
    """A completion moment as the local minute it shows ("YYYY-MM-DD HH:MM"), from the raw value the database
    gives (SQLite's naive UTC text, PostgreSQL's aware datetime). Worked out once per UTC hour: in an hour whose
    offset is whole hours throughout (every hour of a zone whole hours from UTC: clocks change on the hour), the
    local minute is the UTC one after the local hour; any other hour is worked out minute by minute."""
    zone = ZoneInfo(p.timezone)
    hours: dict[str, str | None] = {}
    minutes: dict[str, str] = {}

    def local(text: str) -> str:
        at = datetime.fromisoformat(text).replace(tzinfo=UTC).astimezone(zone)
        return at.strftime("%Y-%m-%d %H:%M")

    def text(raw: Any) -> str:
        if not isinstance(raw, str):
            raw = raw.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        hour = raw[:13]
        if hour not in hours:
            start = datetime.fromisoformat(hour + ":00").replace(tzinfo=UTC)
            first, last = start.astimezone(zone), (start + timedelta(minutes=59)).astimezone(zone)
            whole = first.utcoffset() == last.utcoffset() and first.minute == 0
            hours[hour] = first.strftime("%Y-%m-%d %H") if whole else None
        prefix = hours[hour]
        if prefix is not None:
            return prefix + raw[13:16]
        minute = raw[:16]
        shown = minutes.get(minute)
        if shown is None:
            shown = minutes[minute] = local(minute)
        return shown

    return text


_LAST = 1 << 30  # after every line of a sale


def _amount(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0"))


def discounts(session: Session, p: Period) -> Report:
    """Every discount and price override on the period's sales, with its reason and who approved it: the manager
    of the approval it used (app.db Approval), or the cashier's own authority when the role allowed it.

    A year holds tens of thousands of discounted lines: only the fields shown are read out of each discount (by
    the database), as plain rows, and the completion moments come raw (`_minute_text`)."""
    conn = session.connection()
    completed = type_coerce(
        Order.completed_at, String
    )  # the raw value: formatted once per minute, and sorted on
    money = OrderLine.unit_price.type
    qty_type = OrderLine.qty.type
    d, o = OrderLine.discount, OrderLine.price_override
    lines = conn.execute(
        select(
            OrderLine.name,
            type_coerce(OrderLine.qty, Integer),
            type_coerce(OrderLine.unit_price, Integer),
            _holds(o),
            _field(o, "price"),
            _field(o, "reason"),
            _field(o, "approval_id"),
            _holds(d),
            _field(d, "amount"),
            _field(d, "reason"),
            _field(d, "approval_id"),
            Order.number,
            completed,
            Order.owner_id,
            OrderLine.line_no,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            sales(p),
            OrderLine.voided.is_(False),
            # The index of the lines that carry either (app.db ix_order_lines_marked), then those that still do.
            or_(d.is_not(None), o.is_not(None)),
            or_(_holds(d), _holds(o)),
        )
    ).all()
    # The few sales with a whole-sale discount, found by their own index (app.db ix_orders_discounted) first: asked
    # in one statement with what a sale is, SQLite's planner walks every sale of the period instead.
    start, end = p.bounds()
    od = Order.order_discount
    whole = aliased(
        Order,
        select(Order)
        .where(od.is_not(None), _holds(od), Order.completed_at >= start, Order.completed_at < end)
        .cte("discounted")
        .prefix_with("MATERIALIZED"),
    )
    orders = conn.execute(
        select(
            whole.number,
            type_coerce(whole.completed_at, String),
            whole.owner_id,
            _field(whole.order_discount, "amount"),
            _field(whole.order_discount, "reason"),
            _field(whole.order_discount, "approval_id"),
        ).where(sales(p, of=whole))
    ).all()
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())
    approvers = dict(session.execute(select(Approval.id, Approval.approved_by)).all())
    dialect = session.get_bind().dialect

    own = {owner: f"{name} (own authority)" for owner, name in names.items()}

    def who(approval: str | None, owner: str | None) -> str:
        if approval and approval in approvers:
            return names.get(approvers[approval], "?")
        return own.get(owner or "") or "? (own authority)"

    when = _minute_text(p)
    # Sorted here by time and receipt, each sale's lines in order (an override before a discount of the same
    # line) and its whole-sale discount last.
    found: list[tuple[Any, str, int, int, tuple[Cell, ...]]] = []
    for (
        name,
        qty,
        unit_price,
        overridden,
        price,
        o_reason,
        o_approval,
        discounted,
        amount,
        d_reason,
        d_approval,
        number,
        completed_at,
        owner_id,
        line_no,
    ) in lines:
        shown = when(completed_at)
        if overridden and price is not None:
            unit = money.process_result_value(unit_price, dialect)
            n = qty_type.process_result_value(qty, dialect)
            off = quantize_money((unit - _amount(price)) * n)
            row = (shown, number, name, "Price override", off, o_reason or "", who(o_approval, owner_id))
            found.append((completed_at, number, line_no, 0, row))
        if discounted:
            row = (
                shown,
                number,
                name,
                "Line discount",
                _amount(amount),
                d_reason or "",
                who(d_approval, owner_id),
            )
            found.append((completed_at, number, line_no, 1, row))
    for number, completed_at, owner_id, amount, reason, approval in orders:
        row = (
            when(completed_at),
            number,
            "Whole sale",
            "Sale discount",
            _amount(amount),
            reason or "",
            who(approval, owner_id),
        )
        found.append((completed_at, number, _LAST, 0, row))
    found.sort()  # by those four: no two entries share them, so the rows themselves are never compared
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
        [f[4] for f in found],
        3,
        (4,),
        "A price override's amount off is the price it replaced less the new price, times the quantity.",
        chart_sums=True,  # a bar per kind (override, line or sale discount), not one per row
    )
