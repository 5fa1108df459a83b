"""The terminal's stock records (models of `app.db.models`, split from it by subject): the append-only stock
ledger with its per-location balance, the store's minimum stock, the central store's view of the store's stock, cycle counts, and the
deliveries the store expects and receives. `app.db.models` re-exports every class here.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.models import Base, _id
from app.db.types import Qty, UTCDateTime, utcnow
from app.ids import new_id


class StockMovement(Base):
    """One signed movement of stock; append-only (triggers refuse UPDATE and DELETE)."""

    __tablename__ = "stock_movements"
    # On-hand per product and location is summed from this index alone (covering: the stock report reads no rows).
    __table_args__ = (Index("ix_stock_movements_product_location_qty", "product_id", "location_id", "qty"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    qty: Mapped[Decimal] = mapped_column(Qty)
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # sale, return, receipt, adjustment, count, transfer, central
    cause_type: Mapped[str] = mapped_column(String(30))
    cause_id: Mapped[str] = mapped_column(String(36), index=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockMinimum(Base):
    """The store's minimum stock of a product (the central store's safety stock there, `sync.central.stock`): what
    the stock report holds its stock against. Sent by the central store (a `minimum` change); the row of SKU "*"
    is the store's own for every product without one of its own."""

    __tablename__ = "stock_minimums"
    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    qty: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))


class StockBalance(Base):
    """On-hand per product and location, kept in the same transaction as each movement."""

    __tablename__ = "stock_balances"
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), primary_key=True)
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))


class CentralStock(Base):
    """The store's stock as the central store last reported it (every terminal's movements, web reservations).

    Written only by sync when a page of the central feed is applied; `seq` is the feed position it holds as of.
    Keyed by SKU and location code, as the feed names them, so a change for a product not yet pulled is kept.
    """

    __tablename__ = "central_stock"
    sku: Mapped[str] = mapped_column(String(40), primary_key=True)
    location: Mapped[str] = mapped_column(String(30), primary_key=True)
    on_hand: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))
    reserved: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))
    available: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CycleCount(Base):
    """A count of one location, of some departments or items of it (or all it holds): open, posted or cancelled."""

    __tablename__ = "cycle_counts"
    id: Mapped[str] = _id()
    location_id: Mapped[str] = mapped_column(ForeignKey("locations.id"))
    # {"departments": [...], "skus": [...]}; both empty: whatever the location holds, and any item found there.
    scope: Mapped[Any] = mapped_column(JSON, default=dict)
    title: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open, posted, cancelled
    created_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    posted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    posted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    lines: Mapped[list[CountLine]] = relationship(back_populates="count", cascade="all, delete-orphan")


class CountLine(Base):
    """One item of a count: what was counted, and the stock it is measured against as of the moment it was first
    counted (the ledger position here and the central feed position), so sales during the count do not show as
    variance."""

    __tablename__ = "count_lines"
    __table_args__ = (UniqueConstraint("count_id", "product_id"),)
    id: Mapped[str] = _id()
    count_id: Mapped[str] = mapped_column(ForeignKey("cycle_counts.id"))
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"))
    counted: Mapped[Decimal | None] = mapped_column(Qty, nullable=True)
    expected: Mapped[Decimal | None] = mapped_column(Qty, nullable=True)  # stock at the moment of counting
    ledger_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # last local movement seq then
    feed_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)  # central feed cursor then
    counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    counted_by: Mapped[str | None] = mapped_column(String(36), nullable=True)
    posted_qty: Mapped[Decimal | None] = mapped_column(Qty, nullable=True)  # the variance posted
    count: Mapped[CycleCount] = relationship(back_populates="lines")


class Delivery(Base):
    """A delivery the store expects (a purchase order, a transfer from another store), from the central store's
    feed; received here by scan (`app.services.receiving`). `status`: expected, received (here), or
    received_elsewhere (at another till of the store)."""

    __tablename__ = "deliveries"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # the central store's id
    number: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(16))  # purchase, transfer
    source: Mapped[str] = mapped_column(String(200), default="")  # the supplier, or the sending store
    status: Mapped[str] = mapped_column(String(20), default="expected", index=True)
    location_code: Mapped[str | None] = mapped_column(String(30), nullable=True)  # where it was received into
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    lines: Mapped[list[DeliveryLine]] = relationship(
        back_populates="delivery", order_by="DeliveryLine.line_no", cascade="all, delete-orphan"
    )


class DeliveryLine(Base):
    """A line of an expected delivery, with what was received of it so far (kept per scan, so receiving survives a
    restart). An item the delivery did not name, taken in anyway, is a line of its own with `qty` 0."""

    __tablename__ = "delivery_lines"
    id: Mapped[str] = _id()
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(40))
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    qty: Mapped[Decimal] = mapped_column(Qty)  # expected
    sscc: Mapped[str | None] = mapped_column(String(18), nullable=True)  # the sealed case or pallet it is in
    received: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))
    delivery: Mapped[Delivery] = relationship(back_populates="lines")
