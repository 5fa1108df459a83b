"""An exchange at a till reaches the real central store (SQLite and PostgreSQL): the return and the new sale are
each taken once, nothing is parked, and the central ledger counts the item back and the new item out."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from app.db.models import Product
from app.services import returns, sales
from app.services.returns import ReturnLineIn
from sync.central.models import Return, Sale, StockException
from tests.sync.fleet import Hub, Till, central_ledger

D = Decimal
BACK = [ReturnLineIn(1, D(1), "changed_mind", "new")]


def test_an_exchange_reaches_the_central_store_once_each(db_url: str, tmp_path: Path) -> None:
    """The return and the new sale of an exchange at a till: the central store takes both, once, and its ledger
    counts the item back and the new item out."""
    hub = Hub.start(db_url)
    try:
        t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        t1.sync()
        number = t1.sell("A1", 2)
        t1.sync()
        before = central_ledger(hub, "S1")
        with t1.factory.begin() as s:
            found = returns.find_original(s, number)
            sale_id = returns.begin(s, t1.actor).id
            c3 = s.scalars(select(Product).where(Product.sku == "C3")).one().id
            sales.add_product(s, t1.actor, sale_id, c3, D(1))
        with t1.factory.begin() as s:
            q = returns.quote_exchange(s, t1.actor, found.order_id, BACK, sale_id)
            if q.to_pay:
                returns.hold_credit(s, t1.actor, found.order_id, BACK, sale_id)
                sales.add_tender(s, t1.actor, sale_id, "cash", D("100"))
            done = returns.complete_exchange(s, t1.actor, found.order_id, BACK, sale_id)
        t1.sync()
        t1.sync()  # a second sync sends nothing again
        assert t1.refused() == [] and t1.outbox_pending() == 0
        after = central_ledger(hub, "S1")
        expect = dict(before)
        expect[("A1", "floor")] = expect.get(("A1", "floor"), D(0)) + 1
        expect[("C3", "floor")] = expect.get(("C3", "floor"), D(0)) - 1
        assert after == {k: v for k, v in expect.items() if v}
        with hub.sessions() as cs:
            assert len(cs.scalars(select(Sale).where(Sale.number == done.sale.sale.number)).all()) == 1
            assert len(cs.scalars(select(Return).where(Return.number == done.returned.number)).all()) == 1
            assert cs.scalars(select(StockException).where(StockException.kind == "return_over")).all() == []
    finally:
        hub.close()
