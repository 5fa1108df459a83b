"""What the tills pushed: sales, returns, parked sales, store credit and gift card balances, the ids of every
event applied (exactly-once) or refused, and each store's change feed."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from sync.central.models.columns import Base, Money, Qty, UTCDateTime, sqlite_key, utcnow


class Sale(Base):
    """A completed sale as pushed by a terminal (its lines and payments stay in the JSON document)."""

    __tablename__ = "sales"
    __table_args__ = (
        UniqueConstraint("store_id", "number", name="uq_sales_store_number"),
        sqlite_key("store_id", "stores"),
        sqlite_key("terminal_id", "terminals"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # Not indexed alone: the (store_id, number) unique index leads with it (migration 0025).
    store_id: Mapped[int] = mapped_column(Integer)
    terminal_id: Mapped[int] = mapped_column(Integer)
    # Indexed alone too: a push looks its numbers up chain-wide (service.order_state._number_free).
    number: Mapped[str] = mapped_column(String(64), index=True)
    total: Mapped[Decimal | None] = mapped_column(Money)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Return(Base):
    __tablename__ = "returns"
    __table_args__ = (
        UniqueConstraint("store_id", "number", name="uq_returns_store_number"),
        # The chain's returns reports read a store's returns over a period.
        Index("ix_returns_store_occurred", "store_id", "occurred_at"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))  # as sales.store_id
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    number: Mapped[str] = mapped_column(String(64), index=True)  # as sales.number
    # What it takes back from: a till's sale, or a web order (sync.central.service.returns judges it against them).
    original_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    web_order_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Whose it is (a return without a receipt counts against the customer's rolling limit, chain-wide).
    customer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    # Units taken back and the money refunded, as positive figures (the no-receipt limit sums them).
    items: Mapped[Decimal] = mapped_column(Qty, default=Decimal(0), server_default="0")
    refunded: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    # Decided offline and more than was left to take back: it stands (its goods moved) and is parked for review.
    over: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    total: Mapped[Decimal | None] = mapped_column(Money)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Balance(Base):
    """Money the chain owes one holder: a customer's store credit (`account` their id) or a gift card (`account`
    its code), kept here for every till (sync.central.balances). It may go below zero only by spends the tills
    made offline, each of which is then a review item."""

    __tablename__ = "balances"
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # store_credit, gift_card
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    # Stores whose tills got this balance in their feed (each change goes to them all).
    stores: Mapped[list[int]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalanceEntry(Base):
    """One change of a balance, as a till sent it (its own id, applied once) or made here; never updated."""

    __tablename__ = "balance_entries"
    __table_args__ = (Index("ix_balance_entries_account", "kind", "account"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    account: Mapped[str] = mapped_column(String(64))
    amount: Mapped[Decimal] = mapped_column(Money)  # signed: issued is positive, spent negative
    balance_after: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(20), default="")
    cause: Mapped[str] = mapped_column(String(64), default="")  # the sale or return it belongs to
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BalancePending(Base):
    """A balance that changed since a store's feed last had it: the store's next publication puts the balance (and,
    for store credit, its customer) into that store's feed (sync.central.balances.publish_pending)."""

    __tablename__ = "balance_pending"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)


class ParkedSale(Base):
    __tablename__ = "parked_sales"
    # A parked number is unique within its store: another store's parked sale never shadows it.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    lines: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AppliedEvent(Base):
    """Every event applied, written in the same transaction as its effects: the exactly-once guard."""

    __tablename__ = "applied_events"
    __table_args__ = (sqlite_key("store_id", "stores"), sqlite_key("terminal_id", "terminals"))
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(Integer)
    terminal_id: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The terminal's enrolment generation that pushed it (a replacement till's audit chain is its own).
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class RejectedEvent(Base):
    """An event parked with the reason it could not be applied, for a person to look at."""

    __tablename__ = "rejected_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    type: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(500))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FeedChange(Base):
    __tablename__ = "change_feed"
    # The latest entry of a key (snapshots, compaction) is found by this index.
    __table_args__ = (
        Index("ix_change_feed_store_type_key", "store_id", "type", "key", "seq"),
        sqlite_key("store_id", "stores"),
    )
    store_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
