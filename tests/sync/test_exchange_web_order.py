"""An exchange of a web order at the Returns desk, with the real central store (SQLite and PostgreSQL): the order
collected, its item brought back and a cheaper one taken instead. The central store marks the order returned and
sends the customer the refund notice for the difference that went back to the online payment (the exchange's
credit paid the new sale and is no refund); an even exchange tells of no refund."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Product
from app.services import returns, sales
from app.services.returns import ReturnLineIn
from sync.central.models import Notice, Return, WebOrder
from tests.sync.fleet import Hub, Till

D = Decimal
BACK = [ReturnLineIn(1, D(1), "wrong_size", "new")]


def _exchange(till: Till, number: str, sku: str) -> returns.ExchangeDone:
    """At the till's desk: the web order found by its number, its line back, one `sku` in exchange."""
    with till.factory.begin() as s:
        found = returns.find_original(s, number)
        assert found.channel == "web"
        sale_id = returns.begin(s, till.actor).id
        product = s.scalars(select(Product).where(Product.sku == sku)).one().id
        sales.add_product(s, till.actor, sale_id, product, D(1))
    with till.factory.begin() as s:
        q = returns.quote_exchange(s, till.actor, found.order_id, BACK, sale_id)
        assert q.to_pay == 0
        return returns.complete_exchange(s, till.actor, found.order_id, BACK, sale_id)


@pytest.mark.parametrize("new_sku", ["A1", "C3"])
def test_a_web_orders_exchange_at_the_desk_sends_the_refund_notice_of_the_difference(
    db_url: str, tmp_path: Path, new_sku: str
) -> None:
    hub = Hub.start(db_url)
    try:
        till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        till.sync()
        till.receive("C3", 5)
        till.receive("A1", 5)
        till.sync()
        order = hub.place_order("S1", "C3", "1")  # 6.40, paid online
        till.sync()
        till.hand_over(order["id"])
        till.sync()
        till.open_shift()
        done = _exchange(till, order["number"], new_sku)
        online = sum((t.amount for t in done.returned.tenders if t.kind == returns.ONLINE), D(0))
        credit = sum((t.amount for t in done.returned.tenders if t.kind == "exchange"), D(0))
        assert credit == done.sale.sale.total and credit > 0
        till.sync()
        till.sync()
        assert till.refused() == [] and till.outbox_pending() == 0
        with hub.sessions() as s:
            row = s.get(WebOrder, uuid.UUID(order["id"]))
            assert row is not None and row.returned == "whole"
            ret = s.scalars(select(Return).where(Return.number == done.returned.number)).one()
            assert ret.web_order_id == row.id
            told = list(s.scalars(select(Notice).where(Notice.order_id == row.id, Notice.kind == "refunded")))
        if new_sku == "A1":  # 2.50 for 6.40: 3.90 back to the online payment, and the customer told of it
            assert online == D("3.90")
            assert [(n.facts["refunded"], n.facts["items"]) for n in told] == [("3.90", "1.000")]
            assert told[0].stage == str(ret.id).replace("-", "")[:32]
        else:  # the same item again: an even exchange, nothing refunded, no refund notice
            assert online == 0
            assert told == []
    finally:
        hub.close()
