"""Weighed items and weights on labels: a GS1 net weight (AI 310n) is the quantity of a weighed item only, and a
weighed item that comes without a weight is weighed, never sold as 1 kg."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Product
from app.services import sales, shifts
from app.services.base import Actor
from tests.conftest import user_id


def _setup(db: sessionmaker[Session]) -> tuple[Actor, str, str, str]:
    """The manager with an open shift, a piece item's GTIN-14, and a weighed item given a GTIN of its own."""
    manager = Actor(user_id(db, "manager"))
    with db.begin() as s:
        shifts.open_shift(s, manager, Decimal("100"))
        piece = s.scalars(
            select(Barcode.code)
            .join(Product)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False))
            .limit(1)
        ).one()
        apples = s.scalars(select(Product).where(Product.weighed.is_(True)).limit(1)).one()
        apples.barcodes.append(Barcode(code="05399000999991", pack_qty=1))
        return manager, piece, apples.sku, "05399000999991"


def _sell(db: sessionmaker[Session], actor: Actor, *codes: str) -> sales.SaleView:
    with db.begin() as s:
        sale = sales.start_sale(s, actor)
        view = sale
        for code in codes:
            view = sales.add_scan(s, actor, sale.id, code).sale
        return view


def test_a_net_weight_sets_the_quantity_of_weighed_items_only(db: sessionmaker[Session]) -> None:
    manager, piece, _sku, weighed_gtin = _setup(db)
    # A 2 kg bag sold by the piece is one bag; the same code for 1.5 kg is not refused (it is one bag too).
    view = _sell(db, manager, f"(01){piece}(3103)002000", f"(01){piece}(3103)001500")
    assert [ln.qty for ln in view.lines] == [Decimal("2")]  # one line, two bags
    view = _sell_after_parking(db, manager, view, f"(01){weighed_gtin}(3103)001500")
    assert [(ln.qty, ln.unit) for ln in view.lines] == [(Decimal("1.500"), "kg")]


def _sell_after_parking(
    db: sessionmaker[Session], actor: Actor, view: sales.SaleView, code: str
) -> sales.SaleView:
    with db.begin() as s:
        sales.park(s, actor, view.id)
    return _sell(db, actor, code)


def test_a_weighed_item_without_a_weight_asks_for_one(db: sessionmaker[Session]) -> None:
    manager, _piece, sku, weighed_gtin = _setup(db)
    with db.begin() as s:
        sale = sales.start_sale(s, manager)
        for code in (sku, weighed_gtin):  # keyed by SKU, scanned by its plain GTIN
            outcome = sales.add_scan(s, manager, sale.id, code)
            assert outcome.weigh is not None and outcome.weigh.sku == sku
            assert outcome.line_id is None and outcome.sale.lines == []
            assert "sold by weight" in outcome.message
        assert outcome.weigh is not None
        product_id = outcome.weigh.id
        picked = sales.add_product(s, manager, sale.id, product_id, None)  # picked by search (F2)
        assert picked.weigh is not None and picked.sale.lines == []
        weighed = sales.add_product(s, manager, sale.id, product_id, Decimal("0.480"))
        assert [(ln.qty, ln.unit) for ln in weighed.sale.lines] == [(Decimal("0.480"), "kg")]
