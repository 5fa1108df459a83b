"""Gift card and store credit balances: this till's view of them, what a tender takes and what is given back.

A gift card (known by its code) and a customer's store credit are money the chain owes; the central store keeps each
balance (sync.central.balances). This till keeps its view of it in `Customer.store_credit` and `GiftCard.balance`:
the last balance the central store gave it (its store's feed, or an online lookup just before spending: `note_central`)
plus this till's own changes not yet sent. Every change is an outbox event written in the change's own transaction
(`balance.spent` for a tender, `balance.issued` for a refund or a tender taken back), with its own id, so the central
store applies it once and credit issued here can be spent at any other till.

The rule for spending, the same at every till:
1. a tender takes at most this till's view of the balance (never below zero here), and
2. an enrolled till takes at most `balances.offline_limit` (a setting, 50.00 unless set) of one account in spends
   the central store has not yet confirmed (its outbox events not yet sent, net of what it gave back): online, the
   outbox empties within a sync round, so this bites only while the till is offline.
So an offline till overspends an account by at most that limit (when another till spent the same money meanwhile);
the central store never refuses such a spend, it parks the overspend for review.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Customer, GiftCard, OutboxEvent
from app.domain import tenders
from app.ids import new_id
from app.services import outbox, settings
from app.services.base import UserError

ISSUED = "balance.issued"
SPENT = "balance.spent"
OFFLINE_LIMIT_KEY = "balances.offline_limit"
OFFLINE_LIMIT_DEFAULT = Decimal("50.00")
# The tenders that hold a balance (app.domain.tenders owns the list of tenders).
HELD: tuple[str, ...] = tuple(k for k in tenders.KINDS if k not in ("cash", "card"))
ZERO = Decimal(0)


def offline_limit(session: Session) -> Decimal:
    value = settings.get(session, OFFLINE_LIMIT_KEY)
    return OFFLINE_LIMIT_DEFAULT if value in (None, "") else Decimal(str(value))


def _enrolled(session: Session) -> bool:
    return bool(settings.get(session, "sync.central_url"))


def _unsent(session: Session, kind: str, account: str) -> tuple[Decimal, Decimal]:
    """This till's changes of the account the central store has not confirmed yet: (issued, spent)."""
    issued = spent = ZERO
    for type_, payload in session.execute(
        select(OutboxEvent.type, OutboxEvent.payload).where(
            OutboxEvent.status == "pending", OutboxEvent.type.in_((ISSUED, SPENT))
        )
    ):
        if payload.get("kind") != kind or payload.get("account") != account:
            continue
        amount = Decimal(str(payload["amount"]))
        if type_ == SPENT:
            spent += amount
        else:
            issued += amount
    return issued, spent


def _emit(
    session: Session,
    type_: str,
    kind: str,
    account: str,
    amount: Decimal,
    reason: str,
    cause: str | None,
    seen: Decimal,
) -> None:
    payload: dict[str, Any] = {
        "id": new_id(),
        "kind": kind,
        "account": account,
        "amount": str(amount),
        "reason": reason,
        "seen": str(seen),
    }
    if cause:
        payload["cause"] = cause
    outbox.emit(session, type_, payload)


def _check_offline_limit(session: Session, kind: str, account: str, amount: Decimal, what: str) -> None:
    if not _enrolled(session):
        return
    issued, spent = _unsent(session, kind, account)
    limit = offline_limit(session)
    if spent - issued + amount > limit:
        raise UserError(
            f"{what} spent at this till and not yet confirmed by the central store would pass the offline limit "
            f"of {limit}: connect to the central store, or take another payment."
        )


def take_store_credit(
    session: Session, customer_id: str | None, amount: Decimal, cause: str | None = None
) -> str:
    """Take `amount` of the customer's store credit; returns the tender's reference (the customer's id)."""
    if customer_id is None:
        raise UserError("Attach the customer first (F6): store credit belongs to a customer.")
    customer = session.get(Customer, customer_id)
    assert customer is not None
    if customer.store_credit < amount:
        raise UserError(f"{customer.name} has {customer.store_credit} of store credit: enter that or less.")
    _check_offline_limit(session, "store_credit", customer.id, amount, f"{customer.name}'s store credit")
    seen = customer.store_credit
    customer.store_credit -= amount
    _emit(session, SPENT, "store_credit", customer.id, amount, "tender", cause, seen)
    return customer.id


def take_gift_card(session: Session, code: str | None, amount: Decimal, cause: str | None = None) -> str:
    """Take `amount` from the active gift card `code` (as typed or scanned); returns the tender's reference (the
    card's code)."""
    code = (code or "").strip().upper()
    card = session.get(GiftCard, code) if code else None
    if card is None or not card.active:
        raise UserError("That gift card is not known or not active: check the code, or use another payment.")
    if card.balance < amount:
        raise UserError(f"Gift card {code} has {card.balance} left: enter that or less.")
    _check_offline_limit(session, "gift_card", code, amount, f"Gift card {code}")
    seen = card.balance
    card.balance -= amount
    _emit(session, SPENT, "gift_card", code, amount, "tender", cause, seen)
    return code


def give_back(
    session: Session, kind: str, reference: str | None, amount: Decimal, reason: str = "tender_removed"
) -> None:
    """Give `amount` back to the store credit (`reference` a customer's id) or the gift card (`reference` its code) a
    tender of `kind` took it from; other kinds hold no balance. The central store learns it either way (a customer
    or card no longer on this terminal still gets it back there)."""
    if kind not in HELD or not reference or amount <= 0:
        return
    seen = ZERO
    if kind == "store_credit":
        customer = session.get(Customer, reference)
        if customer is not None:
            seen = customer.store_credit
            customer.store_credit += amount
    else:
        card = session.get(GiftCard, reference)
        if card is not None:
            seen = card.balance
            card.balance += amount
    _emit(session, ISSUED, kind, reference, amount, reason, None, seen)


def issue_store_credit(
    session: Session, customer_id: str, amount: Decimal, cause: str | None = None
) -> Decimal:
    """A refund to the customer's store credit (the Returns desk); spendable at every till once the central store
    has it. Returns the customer's balance as this till sees it now."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UserError("That customer is not known on this till: find or add them first.")
    if amount <= 0:
        raise UserError("Store credit to give must be more than 0.")
    seen = customer.store_credit
    customer.store_credit += amount
    _emit(session, ISSUED, "store_credit", customer.id, amount, "refund", cause, seen)
    return customer.store_credit


def issue_gift_card(session: Session, code: str, amount: Decimal, cause: str | None = None) -> Decimal:
    """Load `amount` onto gift card `code` (a card sold, or a refund to a card), making the card here if new.
    Returns its balance as this till sees it now."""
    code = code.strip().upper()
    if not code or len(code) > 40:
        raise UserError("Scan or type the gift card's code (at most 40 characters).")
    if amount <= 0:
        raise UserError("The amount to load must be more than 0.")
    card = session.get(GiftCard, code)
    if card is None:
        card = GiftCard(code=code, balance=ZERO, active=True)
        session.add(card)
    seen = card.balance
    card.balance = seen + amount
    _emit(session, ISSUED, "gift_card", code, amount, "sold", cause, seen)
    return card.balance


def note_central(session: Session, kind: str, account: str, balance: Decimal) -> Decimal | None:
    """The central store says the balance is `balance` (a feed change, or an online lookup): this till's view becomes
    that plus its own changes not yet sent. Returns the view, or None when the customer is not on this till (a gift
    card not seen before is added)."""
    issued, spent = _unsent(session, kind, account)
    view = balance + issued - spent
    if kind == "store_credit":
        customer = session.get(Customer, account)
        if customer is None:
            return None
        customer.store_credit = view
    elif kind == "gift_card":
        card = session.get(GiftCard, account)
        if card is None:
            card = GiftCard(code=account, balance=view, active=True)
            session.add(card)
        card.balance = view
    else:
        return None
    return view
