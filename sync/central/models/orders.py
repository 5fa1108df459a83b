"""Web orders: the order and its lines, its status history, routing traces, the customer's access token,
shipments and the notices sent to the customer."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, Uuid
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.central.models.columns import Base, Money, Qty, UTCDateTime, utcnow

if TYPE_CHECKING:
    from sync.central.models.chain import Location, Store


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
