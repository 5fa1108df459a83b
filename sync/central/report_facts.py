"""Facts the chain reports read, kept by the database beside what the tills pushed (migration 0020).

The reports over a year of a chain read these instead of the stored documents: the fields a report needs, taken
out of each document once, when it was stored. They are not counters kept on the side: each row is written by a
trigger in the transaction that stored its source row (a sale, an applied event), from that row alone, and never
changed after; the tests hold them to the documents they come from.

- `tender_facts`: one row per payment of a sale the tills completed (`sales.document` payments) and per payment
  taken at a pickup counter at the hand-over (an `order.status` change to collected, its receipt's payments):
  the store, the sale or web order paid, the tender, the amount kept and the till's moment (the sale's
  `completed_at`, the hand-over's `handed_at`, else when the event happened).
- `sale_facts` and `sale_line_facts` (migration 0021): per sale the tills count (what their Z counts: a sale
  completed at a till, and a web order paid at the pickup counter when handed over), its total and its lines taken
  (sku, name, quantity, amount) with the till's moment: from the sale's document, and from the hand-over's receipt
  (`total` and `sold`, which a till sends when it took the payment).
- `discount_facts` (migration 0022): per price override, line discount and whole-sale discount of a sale the
  tills completed, its sale's number, its line's place and item, its kind (override, line, sale), reason, who approved it (the manager whose approval it used,
  else the cashier on their own authority: `own`) and the amount off, with the till's moment.
- `order_event_facts`: per applied `order.status` change to ready, collected or packed, the moments and the pack
  bench's counts it carried (NULL where the till sent none, or none that reads as one), by event id: the orders'
  history names the event of each change (sync.central.reports).

An index of the orders' history by order and kind is kept here too (the reports' own read).

Defined on the central's metadata (sync.central.models.Base), so the schema check sees them; imported by
sync.central.reports.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from sync.central.models import AppliedEvent, Base, Money, OrderStatusHistory, Qty, UTCDateTime, sqlite_key

# The pickups report finds each order's change of one kind (handed over) by the order: without it SQLite took the
# changes of that kind over all time for each order (by the index on kind and time), ~1.2 s for a month of two
# stores instead of ~40 ms.
Index(
    "ix_order_status_history_order_to_status",
    OrderStatusHistory.order_id,
    OrderStatusHistory.to_status,
    OrderStatusHistory.event_id,
)


# The cash reports read a store's shifts and staff as their tills sent them (sync.central.report_cash): found by
# a partial index, so the pushes of every other event (sales, stock) pay nothing for it.
SHIFT_EVENTS = ("shift.opened", "shift.closed", "staff.saved")
Index(
    "ix_applied_events_shifts",
    AppliedEvent.store_id,
    AppliedEvent.type,
    AppliedEvent.occurred_at,
    postgresql_where=AppliedEvent.type.in_(SHIFT_EVENTS),
    sqlite_where=AppliedEvent.type.in_(SHIFT_EVENTS),
)


class TenderFact(Base):
    __tablename__ = "tender_facts"
    # A store's payments over a period, by tender: read from the index alone.
    __table_args__ = (Index("ix_tender_facts_store_at", "store_id", "at", "kind", "sale_id", "amount"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    # The row it was taken from: the sale (sales.id) or the applied hand-over (applied_events.event_id).
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sale_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # the sale, or the web order paid at the hand-over
    kind: Mapped[str] = mapped_column(String(32))
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class OrderEventFact(Base):
    __tablename__ = "order_event_facts"
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    to_status: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    promised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the pack bench's first box
    packed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    approvals: Mapped[int] = mapped_column(Integer, default=0)


class SaleFact(Base):
    __tablename__ = "sale_facts"
    # A store's sales over a period, by the hour: read from the index alone.
    __table_args__ = (
        Index("ix_sale_facts_store_at", "store_id", "at", "total"),
        sqlite_key("store_id", "stores"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    # The row it was taken from: the sale (sales.id) or the applied hand-over (applied_events.event_id).
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    total: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class SaleLineFact(Base):
    __tablename__ = "sale_line_facts"
    # A store's lines over a period, per item: read from the index alone.
    __table_args__ = (
        Index("ix_sale_line_facts_store_at", "store_id", "at", "sku", "qty", "amount", "name"),
        sqlite_key("store_id", "stores"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[Decimal] = mapped_column(Qty)
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class DiscountFact(Base):
    __tablename__ = "discount_facts"
    __table_args__ = (Index("ix_discount_facts_store_at", "store_id", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    source_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)  # the sale (sales.id)
    number: Mapped[str] = mapped_column(String(64))  # the sale's
    line_no: Mapped[int] = mapped_column(
        Integer
    )  # the line's place in the sale (a whole-sale one: after them all)
    item: Mapped[str] = mapped_column(String(200))  # the line's name, or "Whole sale"
    kind: Mapped[str] = mapped_column(String(16))  # app.domain.figures.DISCOUNT_KIND_CODES
    reason: Mapped[str] = mapped_column(String(200))
    approver: Mapped[str] = mapped_column(String(64))  # a staff id ('' when the sale named no cashier)
    own: Mapped[bool] = mapped_column(
        Boolean
    )  # on the cashier's own authority: `approver` completed the sale
    amount: Mapped[Decimal] = mapped_column(Money)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
