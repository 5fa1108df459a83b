"""The chain: stores with their locations, enrolled terminals, storefront API keys, staff and central settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, Uuid
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.central.models.columns import Base, Money, UTCDateTime, utcnow


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


class CentralSetting(Base):
    """A rule of the whole chain the central store enforces (e.g. the rolling no-receipt return limit), one JSON
    value per key; a key not here has its default in the module that reads it."""

    __tablename__ = "central_settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


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
