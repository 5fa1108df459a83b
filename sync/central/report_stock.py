"""The chain's stock below its minimum and negative at the central store, by store and for the chain, as each
till's Reports screen shows it (app.services.reports `stock_watch`).

A store's stock of a product is its on hand at every location of the store, from the ledger's levels; its minimum
is the safety stock kept back from web orders there, the most specific setting (sync.central.stock), which the
store's tills are sent (a `minimum` change) and hold their stock against. Stock is as of now, whatever the period.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session, aliased

from sync import protocol
from sync.central.models import Product, SafetyStock, StockLevel, Store

figures = protocol.figures
STOCK = figures.STOCK


def stock_items(session: Session, store: Store, _start: datetime, _end: datetime) -> list[figures.StockItem]:
    """The store's active products whose stock is negative or below their minimum: the database gives the few
    that qualify (a chain's catalog is ~100k products), judged by figures.stock_rows as at the till."""
    qty = SafetyStock.qty.type
    default = session.scalar(
        select(SafetyStock.qty).where(SafetyStock.store_id == store.id, SafetyStock.product_id.is_(None))
    )
    have = (
        select(StockLevel.product_id, func.sum(StockLevel.on_hand).label("qty"))
        .where(StockLevel.store_id == store.id)
        .group_by(StockLevel.product_id)
        .subquery()
    )
    own, every = aliased(SafetyStock), aliased(SafetyStock)
    on_hand = func.coalesce(have.c.qty, 0)
    minimum = func.coalesce(own.qty, every.qty, type_coerce(default or Decimal(0), qty))
    q = (
        select(Product.sku, Product.name, type_coerce(on_hand, qty), type_coerce(minimum, qty))
        .outerjoin(have, have.c.product_id == Product.id)
        .outerjoin(own, and_(own.product_id == Product.id, own.store_id == store.id))
        .outerjoin(every, and_(every.product_id == Product.id, every.store_id.is_(None)))
        .where(Product.active.is_(True), or_(on_hand < 0, on_hand < minimum))
    )
    return [
        figures.StockItem(sku, name, Decimal(n or 0), Decimal(m or 0))
        for sku, name, n, m in session.execute(q)
    ]
