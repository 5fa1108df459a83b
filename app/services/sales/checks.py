"""The sale in hand and the checks every step of a counter sale starts with.

A counter sale is an `Order(channel="counter")` on this terminal; a change needs it open and owned by the user (or by
no one), and a sale is started, recalled or completed only under an open shift. What the cashier types (a quantity, a
price, an amount) must be a finite number, and a reason must say something. The other modules of the sale workflow
import these; this one imports none of them.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.db.models import Order, OrderLine, Shift
from app.services.base import Actor, UserError, here


def _open_shift(session: Session) -> Shift | None:
    h = here(session)
    return session.scalar(select(Shift).where(Shift.terminal_code == h.terminal_code, Shift.status == "open"))


def _order(session: Session, sale_id: str) -> Order:
    # The lines and payments come with the sale in one statement: every step of a sale reads both (three round
    # trips through the ORM were a third of a scan's statements). Already in the session, it is not read again.
    order = session.get(Order, sale_id, options=(joinedload(Order.lines), joinedload(Order.payments)))
    if order is None or order.channel != "counter":
        raise UserError("That sale is not on this terminal.")
    return order


def _editable(session: Session, actor: Actor, sale_id: str) -> Order:
    """An open sale this user owns; every change to a sale goes through here."""
    order = _order(session, sale_id)
    if order.status != "open":
        raise UserError(f"Sale {order.number} is {order.status}: it can no longer be changed.")
    if order.owner_id not in (None, actor.user_id):
        raise UserError(f"Sale {order.number} belongs to another user: they can park it for you to recall.")
    return order


def _line(order: Order, line_id: str) -> OrderLine:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise UserError("That line is not in this sale.")


def _reason(reason: str, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise UserError(f"Give a reason for the {what}.")
    return text[:200]


def _decimal(value: Decimal | str | int, what: str) -> Decimal:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise UserError(f"The {what} is not a number.") from None
    if not d.is_finite():
        raise UserError(f"The {what} is not a number.")
    return d
