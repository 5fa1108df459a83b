"""The discounts and price overrides given on the sales (what the Z counts) between two moments: read once, here,
for the report that lists them (app.services.reports_sales.discounts) and for the sums kept per closed day
(app.services.report_days), so both show the same amounts, reasons and approvers.

A year of a busy store holds tens of thousands of them: only the fields shown are read out of each discount (by
the database), as plain rows, and the completion moments come raw (SQLite's naive UTC text, PostgreSQL's aware
datetime), for the list to format once per minute.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, and_, cast, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from app.db.models import Approval, Order, OrderLine
from app.domain import figures
from app.services.reports_base import sold_between

OVERRIDE, LINE, SALE = figures.OVERRIDE, figures.LINE_DISCOUNT, figures.SALE_DISCOUNT
KINDS = figures.DISCOUNT_KINDS
_LAST = figures.WHOLE_SALE_LINE


class Entry(NamedTuple):
    """One discount or override: sorted by time, receipt, line and kind (an override before a discount of the same
    line, a sale's whole-sale discount after its lines); no two entries share those four."""

    completed_at: Any  # raw: see utc_text
    number: str
    line_no: int
    rank: int
    kind: str
    item: str
    amount: Decimal  # off the price
    reason: str
    approval_id: str | None
    owner_id: str | None
    approved_by: str | None  # who approved it, as the till that gave it sent it (a sale of another till)


def utc_text(raw: Any) -> str:
    """A raw completion moment (or any aware moment) as naive UTC text ('YYYY-MM-DD HH:MM:SS[.ffffff]'): SQLite's
    own form, which sorts as the moments do."""
    if isinstance(raw, str):
        return raw
    return str(raw.astimezone(UTC).replace(tzinfo=None).isoformat(" "))


def _holds(column: Any) -> Any:
    """A JSON column that holds an object: a removed discount is a JSON null, a never-given one SQL NULL (both
    compare false), an empty object is none either."""
    text = cast(column, String)
    return and_(text != "null", text != "{}")


def _field(column: Any, name: str) -> Any:
    """One field of a JSON column, read by the database as text (not the whole document decoded here)."""
    return column[name].as_string()


def _amount(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else "0"))


def entries(session: Session, start: datetime, end: datetime) -> list[Entry]:
    """Every discount and price override on the sales completed between two moments, in their order."""
    conn = session.connection()
    completed = type_coerce(Order.completed_at, String)  # the raw value
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
            _field(o, "approved_by"),
            _holds(d),
            _field(d, "amount"),
            _field(d, "reason"),
            _field(d, "approval_id"),
            _field(d, "approved_by"),
            Order.number,
            completed,
            Order.owner_id,
            OrderLine.line_no,
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            sold_between(start, end),
            OrderLine.voided.is_(False),
            # The index of the lines that carry either (app.db ix_order_lines_marked), then those that still do.
            or_(d.is_not(None), o.is_not(None)),
            or_(_holds(d), _holds(o)),
        )
    ).all()
    # The few sales with a whole-sale discount, found by their own index (app.db ix_orders_discounted) first: asked
    # in one statement with what a sale is, SQLite's planner walks every sale of the period instead.
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
            _field(whole.order_discount, "approved_by"),
        ).where(sold_between(start, end, of=whole))
    ).all()
    dialect = session.get_bind().dialect
    found: list[Entry] = []
    for (
        name,
        qty,
        unit_price,
        overridden,
        price,
        o_reason,
        o_approval,
        o_approver,
        discounted,
        amount,
        d_reason,
        d_approval,
        d_approver,
        number,
        completed_at,
        owner_id,
        line_no,
    ) in lines:
        if overridden and price is not None:
            unit = money.process_result_value(unit_price, dialect)
            n = qty_type.process_result_value(qty, dialect)
            off = figures.override_off(unit, _amount(price), n)
            found.append(
                Entry(
                    completed_at,
                    number,
                    line_no,
                    0,
                    OVERRIDE,
                    name,
                    off,
                    o_reason or "",
                    o_approval,
                    owner_id,
                    o_approver,
                )
            )
        if discounted:
            found.append(
                Entry(
                    completed_at,
                    number,
                    line_no,
                    1,
                    LINE,
                    name,
                    _amount(amount),
                    d_reason or "",
                    d_approval,
                    owner_id,
                    d_approver,
                )
            )
    for number, completed_at, owner_id, amount, reason, approval, approver_id in orders:
        found.append(
            Entry(
                completed_at,
                number,
                _LAST,
                0,
                SALE,
                "Whole sale",
                _amount(amount),
                reason or "",
                approval,
                owner_id,
                approver_id,
            )
        )
    found.sort()  # by the first four fields: no two entries share them, so the rest are never compared
    return found


def approvers(session: Session) -> dict[str, str]:
    """Who approved each approval: its id to the staff member's."""
    return dict(session.execute(select(Approval.id, Approval.approved_by)).all())


def approver(entry: Entry, by_approval: dict[str, str]) -> tuple[str, bool]:
    """Who approved an entry, and whether it was the cashier's own authority: the manager of the approval it used
    (app.db Approval; for a sale of another till, the manager its till named), or else the sale's owner, whose
    role allowed it ('' when the sale has none)."""
    if entry.approved_by:
        return entry.approved_by, False
    if entry.approval_id and entry.approval_id in by_approval:
        return by_approval[entry.approval_id], False
    return entry.owner_id or "", True
