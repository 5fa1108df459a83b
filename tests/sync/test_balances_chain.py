"""Balances across the chain: store credit issued at a till of one store is spent at a till of another store, the
customer and the balance reaching that store's feed without an online lookup (through the real central store,
SQLite and PostgreSQL); a gift card the same way; every store ends with the same balance."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import Customer, GiftCard
from app.services import balances, customers
from sync.central.models import Balance, BalancePending, StockException
from tests.sync.fleet import Hub, Till
from tests.sync.test_balances import pay_with

D = Decimal


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub.start(db_url)
    yield h
    h.close()


def credit_at(till: Till, customer_id: str) -> Decimal | None:
    with till.factory() as s:
        customer = s.get(Customer, customer_id)
        return None if customer is None else customer.store_credit


def test_credit_issued_at_one_store_is_spent_at_another_stores_till(hub: Hub, tmp_path: Path) -> None:
    a = Till.enrol(hub, tmp_path / "a", "S1", "T1")
    b = Till.enrol(hub, tmp_path / "b", "S2", "T1")
    a.sync()
    b.sync()
    with a.factory.begin() as s:
        ann = customers.create_customer(s, a.actor, "Ann Lee", phone="0123 456789").id
        balances.issue_store_credit(s, ann, D("20.00"), cause="R-1")  # a refund as store credit at store S1
        balances.issue_gift_card(s, "gc-7", D("30.00"))
    a.sync()
    assert credit_at(b, ann) is None  # store S2 has not pulled yet
    b.sync()
    assert credit_at(b, ann) == D("20.00")  # the customer and the credit came in S2's own feed
    with b.factory() as s:
        card = s.get(GiftCard, "GC-7")
        assert card is not None and card.balance == D("30.00")

    pay_with(b, ann, "store_credit", D("5.00"))  # spent at store S2's till
    pay_with(b, None, "gift_card", D("10.00"), reference="GC-7")
    b.sync()
    a.sync()
    assert credit_at(a, ann) == credit_at(b, ann) == D("15.00")
    with a.factory() as s:
        card = s.get(GiftCard, "GC-7")
        assert card is not None and card.balance == D("20.00")
    with hub.sessions() as s:
        assert s.get(Balance, ("store_credit", ann)).balance == D("15.00")  # type: ignore[union-attr]
        assert s.get(Balance, ("gift_card", "GC-7")).balance == D("20.00")  # type: ignore[union-attr]
        assert s.scalar(select(func.count()).select_from(BalancePending)) == 0  # all published
        assert s.scalar(select(func.count()).where(StockException.kind == "balance_overspent")) == 0
    a.sync()
    b.sync()  # nothing new: published once per change, the views stay
    assert credit_at(a, ann) == credit_at(b, ann) == D("15.00")
