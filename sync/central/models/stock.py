"""Stock: the append-only ledger, the levels derived from it, safety stock, stock documents and count set-ups,
deliveries expected at a store, and the exceptions a person must look at (oversell)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.central.models.columns import Base, Qty, UTCDateTime, sqlite_key, utcnow


class StockMovement(Base):
    """One signed ledger row; never updated or deleted. On-hand is the sum of these."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        Index("ix_stock_movements_level", "location_id", "product_id", "seq"),
        sqlite_key("store_id", "stores"),
        sqlite_key("location_id", "locations"),
        sqlite_key("product_id", "products"),
        sqlite_key("terminal_id", "terminals"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    location_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)
    qty: Mapped[Decimal] = mapped_column(Qty)
    kind: Mapped[str] = mapped_column(String(32))
    # What caused it: an event type or "web_order", and the id of the record (order, return, count event).
    cause_type: Mapped[str] = mapped_column(String(32))
    cause_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    terminal_id: Mapped[int | None] = mapped_column(Integer)
    # The feed seq of the stock change this movement produced: terminals that had applied up to a seq knew it.
    seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockLevel(Base):
    """On-hand and reserved per location and product, derived from the ledger and open web orders."""

    __tablename__ = "stock_levels"
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    # Indexed alone too: routing reads a few products' levels at every store without a seq scan of them all.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), primary_key=True, index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    on_hand: Mapped[Decimal] = mapped_column(Qty, default=Decimal(0))
    reserved: Mapped[Decimal] = mapped_column(Qty, default=Decimal(0))

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class StockException(Base):
    """Something for a person to resolve, e.g. an oversell: a sale took available stock below zero."""

    __tablename__ = "exceptions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    sku: Mapped[str] = mapped_column(String(64))
    location: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SafetyStock(Base):
    """Stock kept back from web orders at every sellable location: for a store (product_id NULL), a product
    (store_id NULL) or one product in one store; the most specific setting applies (see stock.safety_stock)."""

    __tablename__ = "safety_stock"
    __table_args__ = (Index("ix_safety_stock_scope", "store_id", "product_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[Decimal] = mapped_column(Qty)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockDocument(Base):
    """What caused stock movements made at the central store: an on-hand import (count), a goods receipt or a
    transfer between stores; its movements name it as their cause."""

    __tablename__ = "stock_documents"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # "import", "receipt" or "transfer"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    # A transfer's receiving store (store_id is the sending one).
    to_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    reference: Mapped[str] = mapped_column(String(100), default="")
    reason: Mapped[str] = mapped_column(String(200), default="")
    lines: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CountSetup(Base):
    """A cycle count the central store set up for a store (`counterline-central count-setup`): sent to the store's
    tills as a `count` change; the tills count it and post `stock.count` events."""

    __tablename__ = "count_setups"
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    location: Mapped[str] = mapped_column(String(32))
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    title: Mapped[str] = mapped_column(String(200), default="")
    seq: Mapped[int] = mapped_column(BigInteger)  # the feed change that sent it
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """Goods a store expects: a purchase order from a supplier, or a transfer from another store (its goods have
    left that store and are in transit until received here). Sent to the receiving store's feed as a `delivery`
    change once `published`; a till's `delivery.received` posts the receipt and keeps the differences."""

    __tablename__ = "deliveries"
    __table_args__ = (UniqueConstraint("store_id", "number", name="uq_deliveries_store_number"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)  # the receiving store
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # "purchase" or "transfer"
    source: Mapped[str] = mapped_column(String(200), default="")  # the supplier, or the sending store's code
    from_store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    status: Mapped[str] = mapped_column(String(16), default="expected")  # expected, received
    # In the receiving store's feed yet: a till's transfer is written under its own store's lock, and published
    # to the other store's feed after (never two stores' locks at once from a push).
    published: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false(), index=True)
    # What the store found that the delivery did not say: [{sku, expected, received, kind}] (short, over, unexpected).
    discrepancies: Mapped[list[Any]] = mapped_column(JSON, default=list)
    received_event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lines: Mapped[list[DeliveryLine]] = relationship(
        back_populates="delivery", cascade="all, delete-orphan", order_by="DeliveryLine.line_no"
    )


class DeliveryLine(Base):
    """A line of an expected delivery; `sscc` names the sealed case or pallet it travels in (several lines may
    share one), `received` is what the store reported."""

    __tablename__ = "delivery_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("deliveries.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[Decimal] = mapped_column(Qty)
    sscc: Mapped[str | None] = mapped_column(String(18))
    received: Mapped[Decimal | None] = mapped_column(Qty)
    delivery: Mapped[Delivery] = relationship(back_populates="lines")
