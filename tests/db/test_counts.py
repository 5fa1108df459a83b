"""Cycle counts at a stand-alone till: set up, counted by scanning (a case code counts its pack, a weight label its
weight), sales during the count kept out of the variance, posted by a manager as count movements with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Barcode, Location, Product, StockMovement
from app.services import counts, sales, shifts, stock
from app.services.base import Actor, PermissionDenied, UserError
from tests.conftest import user_id

Factory = sessionmaker[Session]


def _case_product(db: Factory) -> tuple[str, str, str, str]:
    """A product with a unit code and a case-of-6 code: (product id, sku, unit code, case code)."""
    with db() as s:
        case = s.scalars(select(Barcode).where(Barcode.pack_qty == 6).limit(1)).one()
        unit = s.scalars(
            select(Barcode.code).where(Barcode.product_id == case.product_id, Barcode.pack_qty == 1)
        ).one()
        return case.product_id, case.product.sku, unit, case.code


def _floor(db: Factory, product_id: str) -> Decimal:
    with db() as s:
        return stock.on_hand(s, product_id, stock.location(s, "floor").id)


def _sell(db: Factory, actor: Actor, product_id: str, qty: int) -> None:
    with db.begin() as s:
        if shifts.current_shift(s) is None:
            shifts.open_shift(s, actor, Decimal("100"))
        sale = sales.start_sale(s, actor)
        sales.add_product(s, actor, sale.id, product_id, Decimal(qty))
        view = sales.add_tender(s, actor, sale.id, "cash", Decimal("1000"))
        sales.complete_sale(s, actor, view.id)


def test_a_count_with_sales_during_it_posts_the_exact_variance(db: Factory) -> None:
    manager, associate = Actor(user_id(db, "manager")), Actor(user_id(db, "associate"))
    product_id, sku, unit, case = _case_product(db)
    with db() as s:
        dept = s.get(Product, product_id).department  # type: ignore[union-attr]
        assert dept is not None
    before = _floor(db, product_id)
    with db.begin() as s:
        count = counts.setup(s, manager, "floor", departments=[dept])
    assert sku in [line.sku for line in count.lines] and count.left == len(count.lines)

    # The associate counts: one case (6) then one unit; one sold in between; two more sold after.
    with db.begin() as s:
        v = counts.scan(s, associate, count.id, case)
    assert v.last_sku == sku and next(ln for ln in v.lines if ln.sku == sku).counted == 6
    _sell(db, manager, product_id, 1)
    with db.begin() as s:
        v = counts.scan(s, associate, count.id, unit)
    _sell(db, manager, product_id, 2)
    line = next(ln for ln in v.lines if ln.sku == sku)
    assert line.counted == 7 and line.expected == before  # measured against the stock at the first scan
    assert line.variance == 7 - before
    assert line.variance_value == ((7 - before) * line.price).quantize(Decimal("0.01")) and line.price > 0

    # Posting needs a manager and a reason, and every line counted (or posted as none there).
    with pytest.raises(PermissionDenied), db.begin() as s:
        counts.post(s, associate, count.id, "cycle count")
    with pytest.raises(UserError, match="not counted"), db.begin() as s:
        counts.post(s, manager, count.id, "cycle count")
    with db.begin() as s:
        posted = counts.post(s, manager, count.id, "cycle count", uncounted_as_zero=True)
    assert posted.status == "posted" and posted.left == 0
    # Shelf had 7 when counted, 3 sold since: 4 now, whatever the records said before.
    assert _floor(db, product_id) == 4
    with db() as s:
        kinds = set(s.scalars(select(StockMovement.kind).where(StockMovement.cause_id == count.id)))
        assert kinds <= {"count"} and kinds
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "count.posted")).one()
        assert entry.details["reason"] == "cycle count"
        assert entry.details["variances"][sku] == str(Decimal(7) - before)
        floor = s.scalars(select(Location).where(Location.code == "floor")).one()
        for line in posted.lines:  # every line's balance still equals its ledger
            assert stock.on_hand(s, line.product_id, floor.id) == stock.ledger_on_hand(
                s, line.product_id, floor.id
            )


def test_a_weight_label_counts_its_weight_and_out_of_scope_items_are_refused(db: Factory) -> None:
    manager = Actor(user_id(db, "manager"))
    with db.begin() as s:
        apples = s.scalars(select(Product).where(Product.weighed.is_(True)).limit(1)).one()
        apples.barcodes.append(Barcode(code="05399000999991", pack_qty=1))
        other = s.scalars(select(Product).where(Product.department == "TOYS").limit(1)).one().sku
        count = counts.setup(s, manager, "floor", skus=[apples.sku])
    with db.begin() as s:
        v = counts.scan(s, manager, count.id, "(01)05399000999991(3103)001500")
        v = counts.scan(s, manager, count.id, "(01)05399000999991(3103)000250")
    assert [ln.counted for ln in v.lines] == [Decimal("1.750")]
    with pytest.raises(UserError, match="not in this count"), db.begin() as s:
        counts.scan(s, manager, count.id, other)
    with pytest.raises(UserError, match="by weight"), db.begin() as s:
        counts.scan(s, manager, count.id, apples.sku)  # a SKU carries no weight
    with db.begin() as s:
        v = counts.set_counted(s, manager, count.id, apples.sku, Decimal("2.5"))
    assert [ln.counted for ln in v.lines] == [Decimal("2.5")]


def test_a_location_count_takes_found_items_and_lists_open_counts(db: Factory) -> None:
    manager = Actor(user_id(db, "manager"))
    with db.begin() as s:
        count = counts.setup(s, manager, "quarantine")
        assert count.lines == ()  # nothing held there
        found = s.scalars(select(Product.sku).where(Product.weighed.is_(False)).limit(1)).one()
        v = counts.scan(s, manager, count.id, found)
    assert [(ln.sku, ln.counted, ln.expected) for ln in v.lines] == [(found, 1, 0)]
    with db() as s:
        assert [c.id for c in counts.open_counts(s)] == [count.id]
    with db.begin() as s:
        counts.post(s, manager, count.id, "found in quarantine")
        assert counts.open_counts(s) == []
    with pytest.raises(UserError, match="posted"), db.begin() as s:
        counts.scan(s, manager, count.id, found)
