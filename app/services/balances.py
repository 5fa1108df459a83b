"""Gift card and store credit balances: what a tender takes from them and what is given back.

A gift card (known by its code) and a customer's store credit are money the store owes. A sale's tender takes from
them in the sale's own transaction and removing that tender gives the amount back; the Returns desk gives money back
to them the same way. A balance is never taken below zero.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import Customer, GiftCard
from app.services.base import UserError


def take_store_credit(session: Session, customer_id: str | None, amount: Decimal) -> str:
    """Take `amount` of the customer's store credit; returns the tender's reference (the customer's id)."""
    if customer_id is None:
        raise UserError("Attach the customer first (F6): store credit belongs to a customer.")
    customer = session.get(Customer, customer_id)
    assert customer is not None
    if customer.store_credit < amount:
        raise UserError(f"{customer.name} has {customer.store_credit} of store credit: enter that or less.")
    customer.store_credit -= amount
    return customer.id


def take_gift_card(session: Session, code: str | None, amount: Decimal) -> str:
    """Take `amount` from the active gift card `code` (as typed or scanned); returns the tender's reference (the
    card's code)."""
    code = (code or "").strip().upper()
    card = session.get(GiftCard, code) if code else None
    if card is None or not card.active:
        raise UserError("That gift card is not known or not active: check the code, or use another payment.")
    if card.balance < amount:
        raise UserError(f"Gift card {code} has {card.balance} left: enter that or less.")
    card.balance -= amount
    return code


def give_back(session: Session, kind: str, reference: str | None, amount: Decimal) -> None:
    """Give `amount` back to the store credit (`reference` a customer's id) or the gift card (`reference` its code) a
    tender of `kind` took it from; other kinds hold no balance here, and a customer or card no longer on this
    terminal is left alone."""
    if kind == "store_credit" and reference:
        customer = session.get(Customer, reference)
        if customer is not None:
            customer.store_credit += amount
    elif kind == "gift_card" and reference:
        card = session.get(GiftCard, reference)
        if card is not None:
            card.balance += amount
