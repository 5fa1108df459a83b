"""Tables of the central store service (SQLAlchemy 2, SQLite or PostgreSQL).

The central store keeps the chain's catalog (products, barcodes, effective-dated prices, tax classes), each store's
locations and enrolled terminals, the append-only stock ledger with its derived on-hand/reserved levels, web orders
with their status history, the returns and sales the terminals pushed, exceptions for people to look at (oversell),
the ids of every event applied (exactly-once) and each store's change feed. Money is integer cents and quantities
integer thousandths in the database so sums are exact on both engines; Python sees `Decimal`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Scaled(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True
    scale = 100

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = (Decimal(value) * self.scale).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        places = Decimal(1).scaleb(-len(str(self.scale)) + 1)
        return (Decimal(int(value)) / self.scale).quantize(places)


class Money(_Scaled):
    """Decimal money with 2 places, stored as integer cents."""

    cache_ok = True
    scale = 100


class Qty(_Scaled):
    """Decimal quantity with 3 places (pieces or kilograms), stored as integer thousandths."""

    cache_ok = True
    scale = 1000


class Rate(_Scaled):
    """A tax rate as a fraction with 6 places (0.088750 is 8.875 %), stored as integer millionths.

    A rate with more places is refused, never rounded: a rounded rate taxes every sale at it wrongly."""

    cache_ok = True
    scale = 1_000_000

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is not None and (Decimal(value) * self.scale) % 1:
            raise ValueError(f"tax rate {value} has more than 6 decimal places; it is not rounded")
        return super().process_bind_param(value, dialect)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC (naive on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def table_of(model: type[Base]) -> Table:
    """A model's table, for plain statements (no unit of work: one statement, nothing tracked)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    locale: Mapped[str] = mapped_column(String(35))
    timezone: Mapped[str] = mapped_column(String(64))
    # Last seq handed out in this store's change feed; allocated under a row lock (see ledger.next_seq).
    feed_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Feed retention: entries up to this seq may have been compacted away, so a till whose cursor is below it
    # takes a snapshot instead of pulling (see service.feed.compact_feed).
    feed_floor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # How the store's tills tax and round (sent to them in the feed as a `store` change): "inclusive" shelf
    # prices include tax, "exclusive" add it; tax rounded per "line", per "rate" or once per "order"; cash
    # rounded to a step of 0.05 or 0.10 (0 for none).
    tax_mode: Mapped[str] = mapped_column(String(10), default="inclusive", server_default="inclusive")
    tax_rounding: Mapped[str] = mapped_column(String(10), default="line", server_default="line")
    cash_rounding: Mapped[Decimal] = mapped_column(Money, default=Decimal(0), server_default="0")
    # Where the store is (WGS84 degrees), for routing web orders to the nearest store that has the goods.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # Days a ready pickup or curbside order is held for the customer before it expires (sync.central.hold).
    hold_days: Mapped[int] = mapped_column(Integer, default=7, server_default="7")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locations: Mapped[list[Location]] = relationship(back_populates="store", order_by="Location.id")


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(100))
    # Stock at a location that is not sellable (quarantine) is never offered to web orders.
    sellable: Mapped[bool] = mapped_column(Boolean, default=True)
    store: Mapped[Store] = relationship(back_populates="locations")


class Terminal(Base):
    __tablename__ = "terminals"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100), default="")
    # Only sha256 digests are kept: a copy of the database gives no working token or code.
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    enrol_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Each enrolment is a new generation of the terminal (a replacement till, a new data dir): its audit chain
    # starts again, so the chains are told apart by it.
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The token an enrolment replaced still works until `previous_token_until`, so the old till's unsent work
    # can be delivered; `revoke-terminal` ends both at once.
    previous_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    previous_token_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The highest number of each kind (receipt, return, parked, shift) seen from this terminal, so a replacement
    # till goes on after it.
    last_numbers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # A till just enrolled may push one first admin of its own (made before it knew the store's staff) in its
    # first push; closed after that push.
    bootstrap_open: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The head of the terminal's audit chain as its latest push said (of the current generation): entries up to
    # it existed at the till then, so removing them there, even with their unsent outbox rows, shows.
    anchor_seq: Mapped[int | None] = mapped_column(BigInteger)
    anchor_hash: Mapped[str | None] = mapped_column(String(128))
    store: Mapped[Store] = relationship()


class ApiKey(Base):
    """Keys the storefront uses to place and cancel web orders (sha256 digest only), each for its stores."""

    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The store codes this key may place and cancel orders for; ["*"] for every store of the chain.
    stores: Mapped[list[str]] = mapped_column(JSON, default=list, server_default='["*"]')
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class TaxClass(Base):
    __tablename__ = "tax_classes"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Rate)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))
    department: Mapped[str] = mapped_column(String(100), default="")
    weighed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The item code a scale prints on its price- or weight-embedded labels (the IIIII of 2x IIIII VVVVV C).
    scale_code: Mapped[str | None] = mapped_column(String(10), index=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    barcodes: Mapped[list[Barcode]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Barcode.code"
    )


class Barcode(Base):
    __tablename__ = "barcodes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    pack_qty: Mapped[int] = mapped_column(Integer, default=1)
    product: Mapped[Product] = relationship(back_populates="barcodes")


class Price(Base):
    """A product's price from `effective_from` on; the latest one already in effect applies."""

    __tablename__ = "prices"
    __table_args__ = (Index("ix_prices_product_effective", "product_id", "effective_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    price: Mapped[Decimal] = mapped_column(Money)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StockMovement(Base):
    """One signed ledger row; never updated or deleted. On-hand is the sum of these."""

    __tablename__ = "stock_movements"
    __table_args__ = (Index("ix_stock_movements_level", "location_id", "product_id", "seq"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    qty: Mapped[Decimal] = mapped_column(Qty)
    kind: Mapped[str] = mapped_column(String(32))
    # What caused it: an event type or "web_order", and the id of the record (order, return, count event).
    cause_type: Mapped[str] = mapped_column(String(32))
    cause_id: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    terminal_id: Mapped[int | None] = mapped_column(ForeignKey("terminals.id"))
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


class WebOrder(Base):
    __tablename__ = "web_orders"
    __table_args__ = (
        UniqueConstraint("idempotency_scope", "idempotency_key", name="uq_web_orders_idempotency"),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    fulfilment: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    customer: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The storefront's Idempotency-Key and a digest of the body it came with: the same key returns this order,
    # the same key with another body is refused.
    # Keys are each storefront credential's own (routing.idempotency_scope: "key:<api key id>", "env", "" for
    # none): the same key from two storefronts is two orders.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), index=True)
    idempotency_scope: Mapped[str | None] = mapped_column(String(40))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    # Paid online when ordered (a ship order always is), or to be paid at the store when collected; a paid order
    # that is cancelled or expires owes the customer `refund_due` (its lines' value), noted when it happened.
    paid: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())
    refund_due: Mapped[Decimal | None] = mapped_column(Money)
    refund_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Returned at a store's desk after it was handed over: "" (no), "part" or "whole". Not a lifecycle state (a
    # collected or shipped order stays so); the returns themselves are the history (Return.web_order_id).
    returned: Mapped[str] = mapped_column(String(8), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the customer of a pickup or curbside order said they had arrived, and the bay, car or note they gave
    # (sync.central.curbside).
    arrived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    arrival: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    lines: Mapped[list[WebOrderLine]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="WebOrderLine.id"
    )
    store: Mapped[Store] = relationship()


class WebOrderLine(Base):
    __tablename__ = "web_order_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    sku: Mapped[str] = mapped_column(String(64))
    qty: Mapped[Decimal] = mapped_column(Qty)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    # Where the reservation for this line is held, released when the order is cancelled or fulfilled.
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    # "reserved" while its quantity is held at location_id; "unavailable" when a store handed it back and no
    # other location could take it (nothing held).
    state: Mapped[str] = mapped_column(String(16), default="reserved", server_default="reserved")
    order: Mapped[WebOrder] = relationship(back_populates="lines")
    location: Mapped[Location] = relationship()


class OrderStatusHistory(Base):
    __tablename__ = "order_status_history"
    # The chain reports read the changes of one kind (made ready, handed over, packed) over a period.
    __table_args__ = (Index("ix_order_status_history_to_status_at", "to_status", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(100), default="")
    event_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Sale(Base):
    """A completed sale as pushed by a terminal (its lines and payments stay in the JSON document)."""

    __tablename__ = "sales"
    __table_args__ = (UniqueConstraint("store_id", "number", name="uq_sales_store_number"),)
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
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
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), index=True)
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


class CentralSetting(Base):
    """A rule of the whole chain the central store enforces (e.g. the rolling no-receipt return limit), one JSON
    value per key; a key not here has its default in the module that reads it."""

    __tablename__ = "central_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParkedSale(Base):
    __tablename__ = "parked_sales"
    # A parked number is unique within its store: another store's parked sale never shadows it.
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    number: Mapped[str] = mapped_column(String(64), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    lines: Mapped[list[Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class AppliedEvent(Base):
    """Every event applied, written in the same transaction as its effects: the exactly-once guard."""

    __tablename__ = "applied_events"
    event_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
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
    __table_args__ = (Index("ix_change_feed_store_type_key", "store_id", "type", "key", "seq"),)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    type: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffMember(Base):
    """The central store's own view of a store's staff: who may change whom. A staff change a till pushes is
    checked against this (the actor's role here, not the one the till claims); PIN hashes are not kept here."""

    __tablename__ = "staff"
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    username: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Who made the latest change (a user id of the store, or the terminal code for a first admin).
    changed_by: Mapped[str] = mapped_column(String(64), default="")
    # Their PIN key (app.domain.staff_proof), which checks the proofs of the changes they make; None for a user
    # whose PIN was set before proofs existed (their changes are checked by role only until their PIN changes).
    pin_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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


class RoutingTrace(Base):
    """One routing decision of a web order, for support: the rule, the candidates with the stock each had when
    it was decided, and what was chosen (written in the transaction that reserved)."""

    __tablename__ = "routing_traces"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "place" or "handback"
    rule: Mapped[str] = mapped_column(String(300))
    outcome: Mapped[str] = mapped_column(String(300))
    candidates: Mapped[list[Any]] = mapped_column(JSON)
    chosen: Mapped[list[Any]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OrderAccess(Base):
    """What the customer holds for an order: the status page's token (in every notice), the verifier of the pickup
    code (the code itself is kept nowhere; see app.domain.pickup), when the code was used, tracking numbers."""

    __tablename__ = "order_access"
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    pickup_verifier: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pickup_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking: Mapped[list[str]] = mapped_column(JSON, default=list)


class Shipment(Base):
    """One box of a ship order handed to a carrier (sync.central.shipments): its SSCC (unique: the same box posted
    again is this row again), the carrier's tracking number, and what the box holds."""

    __tablename__ = "shipments"
    __table_args__ = (
        UniqueConstraint("store_id", "serial", name="uq_shipments_store_serial"),
        UniqueConstraint("carrier", "tracking", name="uq_shipments_carrier_tracking"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), index=True)
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    terminal_id: Mapped[int] = mapped_column(ForeignKey("terminals.id"))
    # The store's box number, counting from 1 under the store's row lock (a local carrier's tracking builds on it).
    serial: Mapped[int] = mapped_column(Integer)
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    carrier: Mapped[str] = mapped_column(String(64))
    tracking: Mapped[str] = mapped_column(String(20))
    service: Mapped[str] = mapped_column(String(64))
    weight: Mapped[Decimal] = mapped_column(Qty)  # kg
    package_type: Mapped[str] = mapped_column(String(20))
    lines: Mapped[list[Any]] = mapped_column(JSON)  # [{"sku": ..., "qty": "2"}]
    label_lines: Mapped[list[Any]] = mapped_column(JSON, default=list)  # the carrier's extra label text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notice(Base):
    """One message to the customer, written in the transaction that changed the order; unique per order, kind and
    stage, so a change applied twice writes it once. The worker (notices.send_pending) sends it and marks it."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("order_id", "kind", "stage", name="uq_notices_order_kind_stage"),
        Index("ix_notices_due", "state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("web_orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # received, ready, picked_up, shipped, cancelled
    stage: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320), default="")
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The pickup code, only until the notice that carries it is sent.
    secret: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending, sent, skipped, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


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
