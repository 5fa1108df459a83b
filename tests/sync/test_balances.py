"""Store credit and gift card balances kept by the central store: credit issued at one till is spent at another
(through the real central store, SQLite and PostgreSQL), each change applied once; tills that spend offline stay
within their stated limit, and an overspend becomes a review item, never a refused sale."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.db.models import Customer, GiftCard, Product
from app.services import balances, customers, sales, settings
from app.services.base import UserError
from sync.central.models import Balance, BalanceEntry, StockException
from tests.sync.fleet import Hub, Till


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub.start(db_url)
    yield h
    h.close()


def credit_of(till: Till, customer_id: str) -> Decimal:
    with till.factory() as s:
        customer = s.get(Customer, customer_id)
        assert customer is not None
        return customer.store_credit


def central_balance(hub: Hub, kind: str, account: str) -> Decimal:
    with hub.sessions() as s:
        row = s.get(Balance, (kind, account))
        return row.balance if row is not None else Decimal(0)


def pay_with(
    till: Till, customer_id: str | None, kind: str, amount: Decimal, reference: str | None = None
) -> str:
    """A sale of one A1 (2.50) and what else makes up `amount`, paid with store credit or a gift card."""
    till.open_shift()
    with till.factory.begin() as s:
        sale = sales.start_sale(s, till.actor)
        product = s.scalars(select(Product).where(Product.sku == "A1")).one()
        sales.add_product(s, till.actor, sale.id, product.id, amount / Decimal("2.50"))
        if customer_id is not None:
            sales.attach_customer(s, till.actor, sale.id, customer_id)
        view = sales.add_tender(s, till.actor, sale.id, kind, amount, reference=reference)
        assert view.total == amount
        return sales.complete_sale(s, till.actor, view.id).sale.number


def test_store_credit_issued_at_one_till_is_spent_at_another_and_an_offline_overspend_is_parked(
    hub: Hub, tmp_path: Path
) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    with t1.factory.begin() as s:
        ann = customers.create_customer(s, t1.actor, "Ann Lee", phone="0123 456789").id
        # A refund to store credit at the Returns desk of till 1.
        assert balances.issue_store_credit(s, ann, Decimal("20.00"), cause="R-1") == Decimal("20.00")
    t1.sync()
    t2.sync()
    assert central_balance(hub, "store_credit", ann) == Decimal("20.00")
    assert credit_of(t2, ann) == Decimal("20.00")  # till 2 knows it from the store's feed

    pay_with(t2, ann, "store_credit", Decimal("5.00"))
    assert credit_of(t2, ann) == Decimal("15.00")
    t2.sync()
    t1.sync()
    assert central_balance(hub, "store_credit", ann) == Decimal("15.00")
    assert credit_of(t1, ann) == Decimal("15.00")

    # Both tills offline: each spends 10.00 of the 15.00 it believes is there (within its view and the limit).
    pay_with(t1, ann, "store_credit", Decimal("10.00"))
    pay_with(t2, ann, "store_credit", Decimal("10.00"))
    # A feed change arriving meanwhile keeps the till's own unsent spend in its view.
    with t1.factory.begin() as s:
        assert balances.note_central(s, "store_credit", ann, Decimal("15.00")) == Decimal("5.00")
    t1.sync()
    t2.sync()
    t1.sync()
    assert t1.refused() == [] and t2.refused() == []  # the sales stand
    assert central_balance(hub, "store_credit", ann) == Decimal("-5.00")
    assert credit_of(t1, ann) == credit_of(t2, ann) == Decimal("-5.00")
    with hub.sessions() as s:
        over = list(s.scalars(select(StockException).where(StockException.kind == "balance_overspent")))
        assert len(over) == 1 and over[0].detail["over"] == "5.00" and over[0].detail["account"] == ann
        # One ledger row per change, however often the batches were sent.
        assert s.scalar(select(func.count()).select_from(BalanceEntry)) == 4
        assert s.scalar(select(func.sum(BalanceEntry.amount))) == Decimal("-5.00")

    # The online lookup a till makes before spending.
    with t2.client() as c:
        assert c.balance("store_credit", ann) == Decimal("-5.00")
    with t2.factory() as s, pytest.raises(UserError, match="has -5.00 of store credit"):
        balances.take_store_credit(s, ann, Decimal("1.00"))


def test_an_offline_till_spends_at_most_its_limit_of_one_account_unconfirmed(
    hub: Hub, tmp_path: Path
) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t1.sync()
    with t1.factory.begin() as s:
        settings.put(s, balances.OFFLINE_LIMIT_KEY, "12.00")
        balances.issue_gift_card(s, "gc-100", Decimal("100.00"))
    t1.sync()
    pay_with(t1, None, "gift_card", Decimal("10.00"), reference="gc-100")
    with t1.factory() as s, pytest.raises(UserError, match="offline limit of 12.00"):
        balances.take_gift_card(s, "GC-100", Decimal("5.00"))
    t1.sync()  # confirmed: the limit counts only what the central store has not had yet
    with t1.factory.begin() as s:
        card = s.get(GiftCard, "GC-100")
        assert card is not None and card.balance == Decimal("90.00")
        balances.take_gift_card(s, "gc-100", Decimal("5.00"))
    t1.sync()
    assert central_balance(hub, "gift_card", "GC-100") == Decimal("85.00")
    with t1.factory() as s:
        card = s.get(GiftCard, "GC-100")
        assert card is not None and card.balance == Decimal("85.00")
    with hub.sessions() as s:
        overspent = select(func.count()).where(StockException.kind == "balance_overspent")
        assert s.scalar(overspent) == 0


def test_a_tender_taken_back_gives_the_balance_back_everywhere(hub: Hub, tmp_path: Path) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t1.sync()
    with t1.factory.begin() as s:
        ann = customers.create_customer(s, t1.actor, "Ann Lee", phone="0123 456789").id
        balances.issue_store_credit(s, ann, Decimal("8.00"))
    t1.open_shift()
    with t1.factory.begin() as s:
        sale = sales.start_sale(s, t1.actor)
        product = s.scalars(select(Product).where(Product.sku == "A1")).one()
        sales.add_product(s, t1.actor, sale.id, product.id, Decimal(1))
        sales.attach_customer(s, t1.actor, sale.id, ann)
        view = sales.add_tender(s, t1.actor, sale.id, "store_credit", Decimal("2.50"))
        sales.remove_tender(s, t1.actor, sale.id, view.payments[0].id)
    t1.sync()
    assert central_balance(hub, "store_credit", ann) == Decimal("8.00") == credit_of(t1, ann)
