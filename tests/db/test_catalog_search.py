"""The name search (F2) reads its views in one statement: each found product's view is the one `catalog.get` gives
(price and tax rate as Decimals, flags as booleans), inactive products stay out, the limit holds, and a change not
yet flushed in the same session is searched as the ORM would (autoflush)."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product, TaxClass
from app.services import catalog


def test_a_found_product_is_the_view_get_gives(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        weighed = s.scalars(select(Product).where(Product.weighed.is_(True)).limit(1)).one()
        weighed.name = "Plumquat Loose"
        plain = s.scalars(select(Product).where(Product.weighed.is_(False)).limit(1)).one()
        plain.name = "Plumquat Jam 340g"
        plain.price = Decimal("3.49")
        ids = {weighed.id, plain.id}
    with db() as s:
        found = catalog.search(s, "plumq")
        assert {v.id for v in found} == ids
        for v in found:
            assert v == catalog.get(s, v.id)
            assert isinstance(v.price, Decimal) and isinstance(v.tax_rate, Decimal)
            assert isinstance(v.weighed, bool) and isinstance(v.active, bool)
        jam = next(v for v in found if v.id == plain.id)
        rate = s.scalar(select(TaxClass.rate).where(TaxClass.code == jam.tax_class))
        assert jam.price == Decimal("3.49") and jam.tax_rate == rate
        assert [v.id for v in found] == [weighed.id, plain.id]  # the shorter name first


def test_inactive_products_and_the_limit(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        rows = s.scalars(select(Product).limit(4)).all()
        for i, p in enumerate(rows):
            p.name = f"Vexqor Item {i}"
            p.active = True
        rows[0].active = False
    with db() as s:
        assert {v.id for v in catalog.search(s, "vexqor")} == {p.id for p in rows[1:]}
        assert len(catalog.search(s, "vexqor", limit=2)) == 2


def test_a_change_not_yet_flushed_is_searched(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        p = s.scalars(select(Product).where(Product.active.is_(True)).limit(1)).one()
        p.name = "Gorbinet Tin"  # not flushed: the search flushes it first, as an ORM query would
        assert [v.id for v in catalog.search(s, "gorb tin")] == [p.id]
