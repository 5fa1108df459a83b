"""Tenders on an open sale: cash (as handed over; change at completion), card, store credit or a gift card by its code,
and taking a mistaken one back. Each is checked with `app.domain.tenders.settle` before it is taken; store credit and
gift card balances move through `app.services.balances`. Card tenders keep the last four digits and the approval code
only: anything that could be a card number is refused.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import Payment
from app.domain import tenders
from app.domain.money import quantize_money
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, balances, staff
from app.services.base import Actor, UserError, now
from app.services.sales.checks import _decimal, _editable
from app.services.sales.figures import _settle, _store
from app.services.sales.views import SaleView, _view

_LAST4 = re.compile(r"[0-9]{4}", re.ASCII)


_APPROVAL = re.compile(r"[A-Za-z0-9]{2,12}", re.ASCII)


def check_card(card_last4: str | None, approval_code: str | None, reference: str | None) -> None:
    last4 = (card_last4 or "").strip()
    if len(last4) > 4:
        # Never let a full card number reach the database, not even by mistake.
        raise UserError("Enter only the last 4 digits of the card, never the whole card number.")
    if not _LAST4.fullmatch(last4):
        raise UserError("Enter the last 4 digits of the card, as printed on the terminal slip.")
    if approval_code is None or not _APPROVAL.fullmatch(approval_code.strip()):
        raise UserError("Enter the approval code from the card terminal slip (2 to 12 letters or digits).")
    # No free-text field of a card tender may hold a card number, however its digits are separated.
    if reference and tenders.looks_like_card_number(reference):
        raise UserError("The reference looks like a card number: enter the terminal's reference only.")


def add_tender(
    session: Session,
    actor: Actor,
    sale_id: str,
    kind: str,
    amount: Decimal,
    card_last4: str | None = None,
    approval_code: str | None = None,
    reference: str | None = None,
) -> SaleView:
    """One payment: cash (as handed over; change at completion), card, store credit, or a gift card by its code."""
    staff.require(session, actor, Permission.SELL, "take a payment")
    order = _editable(session, actor, sale_id)
    if kind not in tenders.KINDS:
        raise UserError(f"Unknown payment kind {kind}.")
    if not any(not line.voided for line in order.lines):
        raise UserError("The sale is empty: scan an item first.")
    value = _decimal(amount, "amount")
    if quantize_money(value) != value or value < 0 or (value == 0 and kind != "cash"):
        raise UserError("Enter an amount of more than 0 in whole cents.")
    store = _store(session)
    _settle(store, order, [tenders.TenderIn(kind, value)])  # type: ignore[arg-type]
    payment = Payment(
        id=new_id(), order_id=order.id, kind=kind, amount=value, tendered=value, created_at=now()
    )
    if kind == "card":
        check_card(card_last4, approval_code, reference)
        assert card_last4 is not None and approval_code is not None
        payment.card_last4 = card_last4.strip()
        payment.approval_code = approval_code.strip().upper()
        payment.reference = (reference or "").strip()[:40] or None
    elif kind == "store_credit":
        payment.reference = balances.take_store_credit(session, order.customer_id, value, cause=order.id)
    elif kind == "gift_card":
        payment.reference = balances.take_gift_card(session, reference, value, cause=order.id)
    order.payments.append(payment)
    session.flush()
    return _view(session, order)


def remove_tender(session: Session, actor: Actor, sale_id: str, payment_id: str) -> SaleView:
    """Take back a mistaken payment; store credit and gift card balances are given back."""
    staff.require(session, actor, Permission.SELL, "remove a payment")
    order = _editable(session, actor, sale_id)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None:
        raise UserError("That payment is not part of this sale.")
    balances.give_back(session, payment.kind, payment.reference, payment.amount)
    order.payments.remove(payment)
    session.flush()
    audit.record(
        session,
        actor.user_id,
        "sale.tender_removed",
        "order",
        order.id,
        {"number": order.number, "kind": payment.kind, "amount": str(payment.tendered)},
    )
    return _view(session, order)
