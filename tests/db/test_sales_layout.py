"""The sale workflow's layout: `app.services.sales` re-exports every public name of its modules (callers use only
the package), no module of it grows past about 600 lines, and the balances module a Returns desk will use stands on
its own (taking from and giving back to a gift card or a customer's store credit, on a real SQLite store)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Customer, GiftCard
from app.services import balances, sales
from app.services.base import UserError
from tests.layout import assert_no_file_passes_600_lines, assert_re_exports_exactly_its_modules

Factory = sessionmaker[Session]


def test_the_package_re_exports_every_public_name_of_its_modules_and_nothing_else() -> None:
    assert_re_exports_exactly_its_modules(sales)


def test_no_module_of_the_sale_workflow_passes_600_lines() -> None:
    assert_no_file_passes_600_lines(sales, balances)


def test_gift_card_and_store_credit_balances_taken_and_given_back(db: Factory) -> None:
    with db.begin() as s:
        customer = s.scalars(select(Customer).where(Customer.store_credit > 0)).first()
        assert customer is not None
        customer_id, credit = customer.id, customer.store_credit
        card = s.get(GiftCard, "GC-1000-0002")
        assert card is not None and card.active
        balance = card.balance

    with db.begin() as s:
        assert balances.take_store_credit(s, customer_id, Decimal("1.00")) == customer_id
        assert balances.take_gift_card(s, " gc-1000-0002 ", Decimal("2.00")) == "GC-1000-0002"
    with db() as s:
        assert s.get(Customer, customer_id).store_credit == credit - Decimal("1.00")  # type: ignore[union-attr]
        assert s.get(GiftCard, "GC-1000-0002").balance == balance - Decimal("2.00")  # type: ignore[union-attr]

    with pytest.raises(UserError, match="of store credit: enter that or less"), db.begin() as s:
        balances.take_store_credit(s, customer_id, credit)
    with pytest.raises(UserError, match="Attach the customer first"), db.begin() as s:
        balances.take_store_credit(s, None, Decimal("1.00"))
    with pytest.raises(UserError, match="left: enter that or less"), db.begin() as s:
        balances.take_gift_card(s, "GC-1000-0002", balance)
    with pytest.raises(UserError, match="not known or not active"), db.begin() as s:
        balances.take_gift_card(s, "GC-0000-0000", Decimal("1.00"))

    with db.begin() as s:
        balances.give_back(s, "store_credit", customer_id, Decimal("1.00"))
        balances.give_back(s, "gift_card", "GC-1000-0002", Decimal("2.00"))
        balances.give_back(s, "cash", None, Decimal("5.00"))  # cash holds no balance here: nothing moves
    with db() as s:
        assert s.get(Customer, customer_id).store_credit == credit  # type: ignore[union-attr]
        assert s.get(GiftCard, "GC-1000-0002").balance == balance  # type: ignore[union-attr]
