"""Customers at the counter: find one by phone digits, e-mail, name or loyalty card, and create one.

A customer attached to a sale gets their name on the receipt and may pay with store credit. Phone numbers are
matched on their digits only, so "+353 87 123 4567", "087 1234567" and "871234567" find the same person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from app.db.models import Customer
from app.domain import prefixes
from app.domain.permissions import Permission
from app.services import audit, outbox, staff
from app.services.base import Actor, UserError, now

# What people type around the digits of a phone number; anything else is not a phone number.
_PHONE_CHARS = re.compile(r"[0-9 +\-().]+")
_PHONE_NOISE = (" ", "+", "-", "(", ")", ".")
# One @, a dot in the domain, no spaces: the shape a receipt-by-mail address needs. The full RFC grammar
# (email-validator) is not a dependency of this project; this refuses the typing mistakes that happen at a till.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


@dataclass(frozen=True)
class CustomerView:
    id: str
    name: str
    phone: str | None
    email: str | None
    loyalty_card: str | None
    store_credit: Decimal


def _view(c: Customer) -> CustomerView:
    return CustomerView(c.id, c.name, c.phone, c.email, c.loyalty_card, c.store_credit)


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isascii() and ch.isdigit())


def _phone_digits_sql() -> ColumnElement[str]:
    expr: ColumnElement[str] = func.coalesce(Customer.phone, "")
    for ch in _PHONE_NOISE:
        expr = func.replace(expr, ch, "")
    return expr


def _significant(digits: str) -> str:
    # Trunk and international prefixes differ between how a number is stored and how it is typed
    # ("087..." vs "+353 87..."): the part after leading zeros is what both forms share.
    return digits.lstrip("0")


def get_customer(session: Session, customer_id: str) -> CustomerView:
    c = session.get(Customer, customer_id)
    if c is None:
        raise UserError("That customer is not on this terminal: search again.")
    return _view(c)


def find_customers(session: Session, query: str, limit: int = 20) -> list[CustomerView]:
    """Customers whose phone digits, e-mail, name or loyalty card match `query`, by name."""
    q = query.strip()
    if not q:
        return []
    conditions: list[ColumnElement[bool]] = [Customer.loyalty_card == q.upper()]
    if "@" in q:
        conditions.append(func.lower(Customer.email) == q.lower())
    digits = _digits(q)
    if len(digits) >= 4 and _PHONE_CHARS.fullmatch(q):
        conditions.append(_phone_digits_sql().contains(_significant(digits) or digits, autoescape=True))
    words = q.lower().split()
    if words and "@" not in q:
        name_match = [func.lower(Customer.name).contains(w, autoescape=True) for w in words]
        conditions.append(and_(*name_match))
    rows = session.scalars(select(Customer).where(or_(*conditions)).order_by(Customer.name).limit(limit))
    return [_view(c) for c in rows]


def by_loyalty_card(session: Session, code: str) -> CustomerView | None:
    """The customer holding a loyalty card, as scanned ("LC-100001", any letter case) or typed without prefix."""
    value = code.strip().upper()
    if not value:
        return None
    if not value.startswith(prefixes.LOYALTY):
        value = prefixes.LOYALTY + value
    c = session.scalar(select(Customer).where(Customer.loyalty_card == value))
    return _view(c) if c else None


def create_customer(
    session: Session, actor: Actor, name: str, phone: str | None = None, email: str | None = None
) -> CustomerView:
    """A new customer, with messages that say which field to fix; phone or e-mail must be given to find them again."""
    staff.require(session, actor, Permission.SELL, "add a customer")
    name = " ".join(name.split())
    phone = (phone or "").strip() or None
    email = (email or "").strip() or None
    if not name:
        raise UserError("Enter the customer's name.")
    if len(name) > 200:
        raise UserError("The name is too long: 200 characters at most.")
    if phone is None and email is None:
        raise UserError("Enter a phone number or an e-mail address so the customer can be found again.")
    if phone is not None:
        digits = _digits(phone)
        if not _PHONE_CHARS.fullmatch(phone) or not 7 <= len(digits) <= 15:
            raise UserError("The phone number needs 7 to 15 digits (spaces, +, - and brackets are fine).")
        same = session.scalar(
            select(Customer).where(_phone_digits_sql().contains(_significant(digits), autoescape=True))
        )
        if same is not None and _significant(_digits(same.phone or "")).endswith(_significant(digits)):
            raise UserError(f"{same.name} already has this phone number: attach that customer instead.")
    if email is not None:
        if len(email) > 200 or not _EMAIL.fullmatch(email):
            raise UserError(
                "The e-mail address looks wrong: it needs one @ and a domain, like name@example.com."
            )
        same = session.scalar(select(Customer).where(func.lower(Customer.email) == email.lower()))
        if same is not None:
            raise UserError(f"{same.name} already has this e-mail address: attach that customer instead.")
    c = Customer(name=name, phone=phone, email=email, store_credit=Decimal("0"), created_at=now())
    session.add(c)
    session.flush()
    outbox.emit(
        session,
        "customer.saved",
        {"id": c.id, "name": name, "phone": phone, "email": email, "created_at": c.created_at.isoformat()},
    )
    audit.record(session, actor.user_id, "customer.created", "customer", c.id, {"name": name})
    return _view(c)
