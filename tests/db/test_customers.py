"""Customer search and creation on a real SQLite copy of the demo store."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, StaffUser
from app.services import customers
from app.services.base import Actor, PermissionDenied, UserError

Factory = sessionmaker[Session]


def actor(db: Factory, username: str) -> Actor:
    with db() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return Actor(uid)


@pytest.mark.parametrize(
    "query",
    [
        "+353 87 123 4567",
        "087 123 4567",
        "0871234567",
        "1234567",
        "jordan@EXAMPLE.com",
        "jordan",
        "byrne jor",
        "lc-100001",
    ],
)
def test_find_by_phone_email_name_or_card(db: Factory, query: str) -> None:
    with db() as s:
        found = customers.find_customers(s, query)
    assert [c.name for c in found] == ["Jordan Byrne"]


def test_find_nothing(db: Factory) -> None:
    with db() as s:
        assert customers.find_customers(s, "") == []
        assert customers.find_customers(s, "0000000") == []
        assert customers.find_customers(s, "nobody@example.com") == []
        assert customers.find_customers(s, "%") == []  # LIKE wildcards are matched literally


def test_loyalty_card(db: Factory) -> None:
    with db() as s:
        card = customers.by_loyalty_card(s, "lc-100001")
        assert card is not None and card.name == "Jordan Byrne" and card.store_credit == Decimal("15.00")
        assert customers.by_loyalty_card(s, "100002") is not None
        assert customers.by_loyalty_card(s, "LC-999999") is None


def test_create_customer_validates_each_field(db: Factory) -> None:
    cashier = actor(db, "cashier")
    cases = [
        (" ", "0851234567", None, "name"),
        ("Sam Kelly", None, None, "phone number or an e-mail"),
        ("Sam Kelly", "12-34", None, "7 to 15 digits"),
        ("Sam Kelly", "call me", None, "7 to 15 digits"),
        ("Sam Kelly", None, "sam@", "e-mail"),
        ("Sam Kelly", None, "sam kelly@example.com", "e-mail"),
        ("Sam Kelly", "087 123 4567", None, "Jordan Byrne already has this phone"),
        ("Sam Kelly", None, "Taylor@Example.com", "Taylor Walsh already has this e-mail"),
    ]
    for name, phone, email, message in cases:
        with pytest.raises(UserError, match=message), db.begin() as s:
            customers.create_customer(s, cashier, name, phone, email)
    with pytest.raises(PermissionDenied), db.begin() as s:
        customers.create_customer(s, actor(db, "packer"), "Sam Kelly", "0851234000", None)
    with db.begin() as s:
        made = customers.create_customer(s, cashier, "  Sam   Kelly ", "085 123 4000", "sam@example.ie")
    assert made.name == "Sam Kelly" and made.store_credit == 0
    with db() as s:
        assert [c.id for c in customers.find_customers(s, "0851234000")] == [made.id]
        assert customers.get_customer(s, made.id).email == "sam@example.ie"
        assert s.scalar(select(AuditEntry).where(AuditEntry.record_id == made.id)) is not None
