"""Park and recall: a sale put aside under a parked number (barcode PS-<number>) for any till of the store to recall
once sync has brought it there, and a user's sale put aside for its owner when another user signs in. Parking emits
`sale.parked` with the sale's lines, so another till can rebuild the sale; recalling emits `sale.recalled`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, StaffUser
from app.domain import prefixes
from app.domain.permissions import Permission
from app.services import audit, numbers, outbox, staff
from app.services.base import Actor, UserError, here
from app.services.sales.checks import _editable, _open_shift, _order
from app.services.sales.figures import _reprice
from app.services.sales.views import ParkedView, SaleView, _view, current_sale


def _line_payload(line: OrderLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "sku": line.sku,
        "name": line.name,
        "qty": str(line.qty),
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "fixed_amount": None if line.fixed_amount is None else str(line.fixed_amount),
        "price_override": line.price_override,
        "discount": line.discount,
        "tax_class": line.tax_class,
        "tax_rate": str(line.tax_rate),
        "amount": str(line.amount),
        "tax": str(line.tax),
    }


def _park(session: Session, actor: Actor, sale_id: str, keep_owner: bool) -> str:
    staff.require(session, actor, Permission.SELL, "park a sale")
    order = _editable(session, actor, sale_id)
    live = [line for line in order.lines if not line.voided]
    if not live:
        raise UserError("There is nothing to park: scan an item first.")
    if order.payments:
        raise UserError("Payments are already taken: finish the sale, or remove the payments to park it.")
    h = here(session)
    number = numbers.next_number(session, "parked")
    order.parked_number = number
    order.status = "parked"
    if not keep_owner:
        order.owner_id = None
    outbox.emit(
        session,
        "sale.parked",
        {
            "number": number,
            "terminal": h.terminal_code,
            "store": h.store_code,
            "order_id": order.id,
            "receipt_number": order.number,
            "customer_id": order.customer_id,
            "customer_name": order.customer_name,
            "order_discount": order.order_discount,
            "owner_id": order.owner_id,
            "total": str(order.total),
            "lines": [_line_payload(line) for line in live],
        },
    )
    audit.record(
        session,
        actor.user_id,
        "sale.parked",
        "order",
        order.id,
        {"number": order.number, "parked": number, "total": str(order.total), "for_switch": keep_owner},
    )
    return number


def park(session: Session, actor: Actor, sale_id: str) -> str:
    """Suspend the sale for anyone to recall (barcode PS-<number>); returns the parked number."""
    return _park(session, actor, sale_id, keep_owner=False)


def park_for_switch(session: Session, actor: Actor, sale_id: str) -> str | None:
    """Put the user's sale aside when another user signs in, keeping its owner; an empty sale is simply voided."""
    order = _editable(session, actor, sale_id)
    if not any(not line.voided for line in order.lines) and not order.payments:
        order.status = "voided"
        audit.record(
            session,
            actor.user_id,
            "sale.voided",
            "order",
            order.id,
            {"number": order.number, "reason": "empty at user switch"},
        )
        return None
    return _park(session, actor, sale_id, keep_owner=True)


def _parked_value(number: str) -> str:
    return prefixes.without(prefixes.PARKED, number)


def recall(session: Session, actor: Actor, number: str) -> SaleView:
    """Take a parked sale back (typed number or scanned PS- barcode); the user recalling it becomes its owner."""
    staff.require(session, actor, Permission.SELL, "recall a sale")
    value = _parked_value(number)
    order = session.scalar(select(Order).where(Order.parked_number == value, Order.channel == "counter"))
    if order is None:
        raise UserError(
            f"Parked sale {value} is not on this terminal: if it was parked at another till, wait for sync "
            "and try again."
        )
    if order.status != "parked":
        raise UserError(f"Parked sale {value} was already recalled (it is {order.status} now).")
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift)")
    mine = current_sale(session, actor)
    if mine is not None:
        mine_order = _order(session, mine.id)
        if any(not line.voided for line in mine_order.lines) or mine_order.payments:
            raise UserError(f"Finish or park sale {mine.number} first, then recall {value}.")
        mine_order.status = "voided"  # an empty sale holds nothing worth keeping
    h = here(session)
    order.status = "open"
    order.owner_id = actor.user_id
    order.terminal_code = h.terminal_code
    order.shift_id = shift.id
    _reprice(
        session, order
    )  # a sale parked at another till arrives with its lines; the figures are made here
    outbox.emit(
        session,
        "sale.recalled",
        {"number": value, "terminal": h.terminal_code, "store": h.store_code, "order_id": order.id},
    )
    audit.record(
        session, actor.user_id, "sale.recalled", "order", order.id, {"parked": value, "number": order.number}
    )
    return _view(session, order)


def list_parked(session: Session) -> list[ParkedView]:
    """Parked sales on this terminal's database, oldest first."""
    rows = session.scalars(
        select(Order).where(Order.channel == "counter", Order.status == "parked").order_by(Order.created_at)
    ).all()
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())
    out = []
    for o in rows:
        assert o.parked_number is not None
        out.append(
            ParkedView(
                number=o.parked_number,
                barcode=prefixes.PARKED + o.parked_number,
                order_id=o.id,
                owner_id=o.owner_id,
                owner_name=names.get(o.owner_id, "") if o.owner_id else "",
                terminal=o.terminal_code or "",
                items=sum(1 for line in o.lines if not line.voided),
                total=o.total,
                started_at=o.created_at,
            )
        )
    return out
