"""Paying a web order at the pickup counter, through Sell's tenders.

An order the storefront placed unpaid (the central's order payload says ``"paid": false``; a payload without the
field was placed paid, as every order before the field was) is paid when it is handed over: cash (with change and
the store's cash rounding), card (last four digits and approval code only), store credit or a gift card, or any
split of them. The rules are Sell's own, not a copy: `app.domain.tenders.settle` settles the tenders, the card
check is Sell's (`sales.check_card`) and balances move through `app.services.balances`.

What is due is the amount of the lines the customer takes (a refused line is not paid for). The tenders are
collected on the screen first (:func:`check` settles them and tries every balance in a savepoint that is rolled
back, so nothing is written), then :func:`take` writes them inside the hand-over's one transaction: the payments
are the order's, its shift is the open shift of this till, and so the shift's tenders, expected cash and X/Z
reports count them (`app.services.shifts.shift_sales`). Exactly once: the payments and the collection commit
together or not at all, and a collected order cannot be handed over (or paid) again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, Payment, Store
from app.domain import tenders
from app.domain.money import ZERO, quantize_money
from app.ids import new_id
from app.services import balances, sales, shifts
from app.services.base import UserError, here, now


@dataclass(frozen=True, slots=True)
class TenderTaken:
    """One payment as the associate entered it (not yet written)."""

    kind: str
    amount: Decimal
    card_last4: str | None = None
    approval_code: str | None = None
    reference: str | None = None


@dataclass(frozen=True, slots=True)
class PaidView:
    id: str  # its place in the list, for taking a mistaken one back before the hand-over
    kind: str
    tendered: Decimal


@dataclass(frozen=True)
class PayView:
    """Where payment of the hand-over stands; read like Sell's `SaleView` by the Pay dialog."""

    id: str
    number: str
    total: Decimal
    remaining: Decimal
    remaining_in_cash: Decimal
    change: Decimal
    fully_paid: bool
    payments: list[PaidView] = field(default_factory=list)


def due(lines: Sequence[OrderLine], refused: Sequence[str] = ()) -> Decimal:
    """What the customer pays: the amounts of the lines they take."""
    out = set(refused)
    return quantize_money(sum((ln.amount for ln in lines if ln.id not in out), ZERO))


def _store(session: Session) -> Store:
    store = session.get(Store, here(session).store_id)
    assert store is not None
    return store


def _tender_in(t: TenderTaken) -> tenders.TenderIn:
    if t.kind not in tenders.KINDS:
        raise UserError(f"Unknown payment kind {t.kind}.")
    value = t.amount
    if not isinstance(value, Decimal) or not value.is_finite():
        raise UserError("Enter an amount of more than 0 in whole cents.")
    if quantize_money(value) != value or value < 0 or (value == 0 and t.kind != "cash"):
        raise UserError("Enter an amount of more than 0 in whole cents.")
    return tenders.TenderIn(t.kind, value)  # type: ignore[arg-type]


def _settle(session: Session, amount: Decimal, taken: Sequence[TenderTaken]) -> tenders.Settlement:
    try:
        return tenders.settle(amount, [_tender_in(t) for t in taken], sales.cash_step(_store(session)))
    except tenders.TenderError as exc:
        raise UserError(str(exc)) from exc


def _payment(session: Session, order: Order, t: TenderTaken) -> Payment:
    """Sell's checks and balance moves for one tender (add_tender's), as a payment of the web order."""
    payment = Payment(
        id=new_id(), order_id=order.id, kind=t.kind, amount=t.amount, tendered=t.amount, created_at=now()
    )
    if t.kind == "card":
        sales.check_card(t.card_last4, t.approval_code, t.reference)
        assert t.card_last4 is not None and t.approval_code is not None
        payment.card_last4 = t.card_last4.strip()
        payment.approval_code = t.approval_code.strip().upper()
        payment.reference = (t.reference or "").strip()[:40] or None
    elif t.kind == "store_credit":
        payment.reference = balances.take_store_credit(session, order.customer_id, t.amount, cause=order.id)
    elif t.kind == "gift_card":
        payment.reference = balances.take_gift_card(session, t.reference, t.amount, cause=order.id)
    return payment


def _view(order: Order, amount: Decimal, taken: Sequence[TenderTaken], s: tenders.Settlement) -> PayView:
    return PayView(
        id=order.id,
        number=order.number,
        total=amount,
        remaining=s.remaining,
        remaining_in_cash=s.remaining_in_cash,
        change=s.change,
        fully_paid=s.complete,
        payments=[PaidView(str(i), t.kind, t.amount) for i, t in enumerate(taken)],
    )


def check(session: Session, order: Order, amount: Decimal, taken: Sequence[TenderTaken]) -> PayView:
    """Settle the tenders entered so far and try each one as the hand-over will (card details, the gift card's
    or store credit's balance) in a savepoint rolled back at once: a refusal comes now, and nothing is written."""
    settlement = _settle(session, amount, taken)
    if taken:
        nested = session.begin_nested()
        try:
            for t in taken:
                _payment(session, order, t)
        finally:
            nested.rollback()
    return _view(order, amount, taken, settlement)


def take(session: Session, order: Order, amount: Decimal, taken: Sequence[TenderTaken]) -> list[Payment]:
    """Write the payments of a hand-over (in its transaction): paid in full, in this till's open shift, change
    out of the last tender as Sell gives it. The order then counts in the shift's tenders and expected cash."""
    shift = shifts.current_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift): the payment goes into the shift's drawer.")
    settlement = _settle(session, amount, taken)
    if not settlement.complete:
        raise UserError(
            f"{settlement.remaining} of order {order.number} is still due: take the payment before handing it "
            "over."
        )
    payments = [_payment(session, order, t) for t in taken]
    if settlement.change:
        payments[-1].amount = payments[-1].tendered - settlement.change
    order.payments.extend(payments)
    order.subtotal = order.total = amount
    order.change_given = settlement.change
    order.rounding = settlement.rounding_adjustment
    order.shift_id = shift.id
    order.owner_id = None
    return payments
