"""Exchanges at the Returns desk: the return and a new sale in one transaction, paying or refunding only the
difference.

After choosing the lines that come back, the clerk rings up the replacement items on an ordinary counter sale
(`app.services.sales`: the same cart, prices, tax and tenders as Sell; `begin` starts it, or takes the user's empty
open sale). The return's refund is worked out by the one rule (`app.domain.refunds`) with the new sale's total as
its ``exchange``: up to that total of the refund is carried into the sale as an ``exchange`` credit, the rest is
refunded to the original's tenders by the rule.

- **The customer pays the difference** (the new items cost more): `hold_credit` puts the credit on the open sale as
  its first payment, so Sell's Pay dialog asks only for the rest; `complete_exchange` runs when it is paid.
  `release_credit` takes the credit off again when the clerk goes back to the items.
- **Even, or the customer gets money back**: the credit pays the whole sale, and `complete_exchange` refunds what is
  left of the refund to the tenders.

`complete_exchange` writes, in ONE transaction, the return (its number, lines, ledger movements back to their
disposition, its payments: the refunded tenders and the ``exchange`` credit naming the sale), then completes the
sale (its number, its ledger movements out, its payments: the ``exchange`` credit naming the return and whatever
the customer paid). Each goes to the central store as its own `return.completed` and `sale.completed` event, once.
Sell refuses to complete a sale whose exchange credit names no return (the crash between the two steps).

**Leaving the exchange without making it** (Back, Esc, closing the dialog): `abandon_exchange` takes the held
credit off and voids the exchange's sale with `sales.void_sale` (its audit entry; with items on it, Sell's rule of a
manager's approval for a whole-sale void), in one transaction, so its items never stay on an open sale for the next
sale at Sell. Nothing of the return was written: only `complete_exchange` writes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import Order, Payment
from app.domain import tenders
from app.domain.money import ZERO
from app.ids import new_id
from app.services import sales
from app.services.base import Actor, UserError, now
from app.services.returns.planning import _plan
from app.services.returns.views import Central, Quote, ReturnDone, ReturnLineIn
from app.services.returns.writing import _write

EXCHANGE = tenders.EXCHANGE


@dataclass(frozen=True)
class ExchangeQuote:
    """The figures of an exchange before it is made: the return's refund (its tenders end with the credit), the new
    sale's total, the credit carried into it, and what the customer pays or gets back."""

    refund: Quote
    sale_total: Decimal
    credit: Decimal
    to_pay: Decimal
    to_refund: Decimal


@dataclass(frozen=True)
class ExchangeDone:
    returned: ReturnDone
    sale: sales.Completed


def _sale(session: Session, actor: Actor, sale_id: str) -> Order:
    order = session.get(Order, sale_id)
    if order is None or order.channel != "counter":
        raise UserError("The exchange's new sale is not on this terminal: start the exchange again.")
    if order.status != "open":
        raise UserError(f"Sale {order.number} is {order.status}: start the exchange again.")
    if order.owner_id not in (None, actor.user_id):
        raise UserError(f"Sale {order.number} belongs to another user.")
    if not any(not line.voided for line in order.lines):
        raise UserError("Scan the items the customer takes in exchange first.")
    return order


def _credit(q: Quote) -> Decimal:
    return sum((t.amount for t in q.tenders if t.kind == EXCHANGE), ZERO)


def _figures(q: Quote, sale_total: Decimal) -> ExchangeQuote:
    credit = _credit(q)
    return ExchangeQuote(q, sale_total, credit, sale_total - credit, q.total - credit)


def begin(session: Session, actor: Actor, resume: str | None = None) -> sales.SaleView:
    """The counter sale the replacement items go on: a new one, or the user's open sale if it is still empty or is
    the exchange's own (`resume`: the desk went back to the return and comes back to the exchange); a sale with
    items on it is otherwise Sell's: park or finish it there first."""
    current = sales.current_sale(session, actor)
    if current is not None and current.id != resume and (current.lines or current.payments):
        raise UserError(
            f"Sale {current.number} is open at Sell with items on it: finish or park it before an exchange."
        )
    return current or sales.start_sale(session, actor)


def quote_exchange(
    session: Session,
    actor: Actor,
    order_id: str,
    lines: list[ReturnLineIn],
    sale_id: str,
    gift_card_code: str | None = None,
    central: Central | None = None,
) -> ExchangeQuote:
    """What the exchange would do, nothing written: the credit, and what the customer pays or gets back."""
    order = _sale(session, actor, sale_id)
    return _figures(_plan(session, order_id, lines, gift_card_code, order.total, central).quote, order.total)


def _held(order: Order) -> list[Payment]:
    return [p for p in order.payments if p.kind == EXCHANGE]


def hold_credit(
    session: Session,
    actor: Actor,
    order_id: str,
    lines: list[ReturnLineIn],
    sale_id: str,
    central: Central | None = None,
) -> sales.SaleView:
    """Put the return's credit on the new sale as its first payment, so the Pay dialog asks only the difference.
    With payments already taken (paying given up part way) the credit held must be the same; the sale as it is."""
    order = _sale(session, actor, sale_id)
    credit = _credit(_plan(session, order_id, lines, None, order.total, central).quote)
    others = [p for p in order.payments if p.kind != EXCHANGE]
    if others:
        if sum((p.amount for p in _held(order)), ZERO) == credit:
            return sales.get_sale(session, sale_id)  # paying was given up part way: the Pay dialog again
        raise UserError("Payments are already taken on this sale: remove them before the exchange credit.")
    for p in _held(order):
        order.payments.remove(p)
    if credit > 0:
        order.payments.append(
            Payment(
                id=new_id(),
                order_id=order.id,
                kind=EXCHANGE,
                amount=credit,
                tendered=credit,
                created_at=now(),
            )
        )
    session.flush()
    return sales.get_sale(session, sale_id)


def release_credit(session: Session, actor: Actor, sale_id: str) -> sales.SaleView:
    """Take the exchange credit off the sale again (back to the items); other payments must be removed first."""
    order = session.get(Order, sale_id)
    if order is None or order.status != "open":
        raise UserError("That sale is no longer open.")
    held = _held(order)
    if held and any(p.kind != EXCHANGE for p in order.payments):
        raise UserError("Remove the payments taken first (Pay dialog, Remove payment).")
    for p in held:
        order.payments.remove(p)
    session.flush()
    return sales.get_sale(session, sale_id)


ABANDONED = "exchange not made at the Returns desk"


def abandon_exchange(session: Session, actor: Actor, sale_id: str) -> sales.SaleView | None:
    """Leave the exchange without making it: the held credit comes off and the sale is voided (see the module), in
    the caller's one transaction. A sale with nothing on it at all stays open (it is any user's next sale, as at
    Sell); one already gone (completed or voided elsewhere) is left as it is. Returns the voided sale, or None."""
    order = session.get(Order, sale_id)
    if order is None or order.channel != "counter" or order.status != "open":
        return None
    if order.owner_id not in (None, actor.user_id):
        raise UserError(f"Sale {order.number} belongs to another user.")
    if any(p.kind != EXCHANGE for p in order.payments):
        raise UserError(
            "A payment is taken on the exchange's new items: give it back and remove it (Pay dialog, Remove "
            "payment) before leaving the exchange."
        )
    if not order.lines and not order.payments:
        return None
    for p in _held(order):
        order.payments.remove(p)
    session.flush()
    return sales.void_sale(session, actor, sale_id, ABANDONED)


def complete_exchange(
    session: Session,
    actor: Actor,
    order_id: str,
    lines: list[ReturnLineIn],
    sale_id: str,
    gift_card_code: str | None = None,
    central: Central | None = None,
) -> ExchangeDone:
    """The return and the new sale in one transaction (see the module); the caller's transaction commits both."""
    order = _sale(session, actor, sale_id)
    planned = _plan(session, order_id, lines, gift_card_code, order.total, central)
    credit = _credit(planned.quote)
    held = _held(order)
    if sum((p.amount for p in held), ZERO) != credit:
        if any(p.kind != EXCHANGE for p in order.payments):
            raise UserError(
                "The refund changed since the payment started: remove the payments and take them again."
            )
        for p in held:
            order.payments.remove(p)
        held = []
        if credit > 0:
            held = [
                Payment(
                    id=new_id(),
                    order_id=order.id,
                    kind=EXCHANGE,
                    amount=credit,
                    tendered=credit,
                    created_at=now(),
                )
            ]
            order.payments.insert(0, held[0])
        session.flush()
    returned = _write(session, actor, planned, no_receipt=False)
    ret = session.get(Order, returned.return_id)
    assert ret is not None
    for p in ret.payments:
        if p.kind == EXCHANGE:
            p.reference = order.id
    for p in held:
        p.reference = ret.id
    session.flush()
    completed = sales.complete_sale(session, actor, sale_id)
    return ExchangeDone(returned, completed)
