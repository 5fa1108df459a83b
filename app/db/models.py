"""The terminal's local database: typed SQLAlchemy 2 models.

What is here is what a store needs to keep selling with the network down: the store and its locations, the catalog,
customers and staff, orders (counter sales and web orders) with lines and payments, shifts and cash movements, the
append-only stock ledger with its per-location balance, the outbox of events for the central store, print jobs,
approvals and the hash-chained audit trail. Records that leave the terminal carry a UUIDv7 `id` (see `app.ids`).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from app.db.types import Money, Qty, Rate, UTCDateTime, utcnow
from app.domain import lifecycle
from app.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _id() -> Mapped[str]:
    return mapped_column(String(36), primary_key=True, default=new_id)


class Setting(Base):
    """Local settings of this terminal (device configuration, thresholds, sync cursor), one JSON value per key."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class Store(Base):
    __tablename__ = "stores"
    id: Mapped[str] = _id()
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    locale: Mapped[str] = mapped_column(String(20), default="en_IE")
    timezone: Mapped[str] = mapped_column(String(50), default="Europe/Dublin")
    # "exclusive": tax added on top of shelf prices; "inclusive": shelf prices include tax.
    tax_mode: Mapped[str] = mapped_column(String(10), default="inclusive")
    # "line": tax rounded per line; "rate": once per tax rate over the order; "order": once over the whole order.
    tax_rounding: Mapped[str] = mapped_column(String(10), default="line")
    cash_rounding: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))


class Terminal(Base):
    """This terminal's identity in its store (one row); numbers it hands out are STORE-TERMINAL-SEQUENCE."""

    __tablename__ = "terminal"
    id: Mapped[str] = _id()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100), default="")
    store: Mapped[Store] = relationship()


class Location(Base):
    __tablename__ = "locations"
    __table_args__ = (UniqueConstraint("store_id", "code"),)
    id: Mapped[str] = _id()
    store_id: Mapped[str] = mapped_column(ForeignKey("stores.id"))
    code: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(100))
    # "floor" (sellable), "backroom", "quarantine"
    kind: Mapped[str] = mapped_column(String(20))
    sellable: Mapped[bool] = mapped_column(Boolean, default=False)


class TaxClass(Base):
    __tablename__ = "tax_classes"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Rate)  # a fraction kept to 6 places: 0.088750 for 8.875 %


class Department(Base):
    __tablename__ = "departments"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class Product(Base):
    __tablename__ = "products"
    id: Mapped[str] = _id()
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_lower: Mapped[str] = mapped_column(String(200), index=True)
    price: Mapped[Decimal] = mapped_column(Money)
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))
    department: Mapped[str | None] = mapped_column(ForeignKey("departments.code"), nullable=True)
    unit: Mapped[str] = mapped_column(String(5), default="ea")  # "ea" or "kg"
    weighed: Mapped[bool] = mapped_column(Boolean, default=False)
    priced_by_barcode: Mapped[bool] = mapped_column(Boolean, default=False)
    item_ref: Mapped[str | None] = mapped_column(
        String(10), nullable=True, index=True
    )  # scale-label item reference
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Retired (migration 0022): the store's minimum stock is app.db StockMinimum, sent by the central store.
    reorder_level: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    barcodes: Mapped[list[Barcode]] = relationship(back_populates="product", cascade="all, delete-orphan")


class Barcode(Base):
    """A code that finds a product: GTIN-14 normalised, with the quantity one scan stands for (case codes)."""

    __tablename__ = "barcodes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[str] = mapped_column(ForeignKey("products.id"), index=True)
    pack_qty: Mapped[int] = mapped_column(Integer, default=1)
    product: Mapped[Product] = relationship(back_populates="barcodes")


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[str] = _id()
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True, index=True)
    email: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    loyalty_card: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    store_credit: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GiftCard(Base):
    __tablename__ = "gift_cards"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    balance: Mapped[Decimal] = mapped_column(Money)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[str] = _id()
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    pin_hash: Mapped[str] = mapped_column(String(200))
    badge_code: Mapped[str | None] = mapped_column(String(60), nullable=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Shift(Base):
    __tablename__ = "shifts"
    id: Mapped[str] = _id()
    number: Mapped[str] = mapped_column(String(40), unique=True)
    terminal_code: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open")  # open, closed
    opened_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opening_float: Mapped[Decimal] = mapped_column(Money)
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    counted: Mapped[Any] = mapped_column(JSON, nullable=True)  # denomination -> count, and per-tender counts
    report: Mapped[Any] = mapped_column(JSON, nullable=True)  # the Z figures as stored when closed


class CashMovement(Base):
    """Paid-in, paid-out and no-sale drawer openings of a shift."""

    __tablename__ = "cash_movements"
    id: Mapped[str] = _id()
    shift_id: Mapped[str] = mapped_column(ForeignKey("shifts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # paid_in, paid_out, no_sale
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Every value orders.status may hold: the counter sale's states and the web order's, from the one lifecycle.
ORDER_STATUSES: tuple[str, ...] = (*lifecycle.CounterState, *lifecycle.OrderState)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_status_channel", "status", "channel"),
        # Reports over a period read completed counter sales by their completion time, with the id (to their lines
        # and payments) and the total in the index itself: a year of sales is read without its rows.
        Index(
            "ix_orders_sales_completed",
            *("channel", "status", "completed_at", "id", "total", "shift_id", "number", "owner_id"),
        ),
        # The few sales with a whole-sale discount (the discounts report lists them).
        Index(
            "ix_orders_discounted",
            "completed_at",
            sqlite_where=text("order_discount IS NOT NULL"),
            postgresql_where=text("order_discount IS NOT NULL"),
        ),
        # A shift's figures (X, Z, expected cash of many shifts in the reports) read its orders.
        Index("ix_orders_shift", "shift_id", "channel", "status"),
    )
    id: Mapped[str] = _id()
    number: Mapped[str] = mapped_column(String(40), unique=True)
    channel: Mapped[str] = mapped_column(String(10))  # counter, web, return
    fulfilment: Mapped[str] = mapped_column(
        String(10), default="carry_out"
    )  # carry_out, pickup, curbside, ship
    status: Mapped[str] = mapped_column(String(20))  # "recalled_elsewhere" did not fit 15
    terminal_code: Mapped[str | None] = mapped_column(String(10), nullable=True)
    customer_id: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), nullable=True)
    customer_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("staff_users.id"), nullable=True)
    shift_id: Mapped[str | None] = mapped_column(ForeignKey("shifts.id"), nullable=True)
    parked_number: Mapped[str | None] = mapped_column(String(40), nullable=True, unique=True)
    order_discount: Mapped[Any] = mapped_column(
        JSON, nullable=True
    )  # {"kind","value","reason","approval_id"}
    subtotal: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    discount_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    tax_total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    total: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    rounding: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    change_given: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    external: Mapped[Any] = mapped_column(JSON, nullable=True)  # web order details from the central store
    # A return (channel "return") names the sale or order it takes goods back from. No foreign key: the sale may
    # have been rung up at another till and not reached this one yet.
    original_order_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="order", cascade="all, delete-orphan")


_MARKED = "discount IS NOT NULL OR price_override IS NOT NULL"
_MARKED_SHOWN = ("line_no", "name", "qty", "unit_price", "discount", "price_override")


def made_on(obj: object, dialect: str) -> bool:
    """Whether a schema object is made on this dialect (false for an index declared `.ddl_if` another one): what a
    comparison of the models with a database of that dialect should include."""
    only = getattr(obj, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect)


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        # What the sales reports sum per item and department, read from the index alone (a year is ~900k lines).
        Index("ix_order_lines_sold", "order_id", "voided", "sku", "product_id", "qty", "amount", "name"),
        # The few lines with a discount or a price override, with what the discounts report shows of them: it reads
        # the index alone. PostgreSQL cannot order JSON, so it carries the shown fields as INCLUDE columns, under its
        # own name (each index is made on its dialect only; `made_on` leaves the other out of comparisons).
        Index(
            "ix_order_lines_marked",
            *("order_id", "voided", *_MARKED_SHOWN),
            sqlite_where=text(_MARKED),
        ).ddl_if(dialect="sqlite"),
        Index(
            "ix_order_lines_marked_pg",
            "order_id",
            "voided",
            postgresql_include=list(_MARKED_SHOWN),
            postgresql_where=text(_MARKED),
        ).ddl_if(dialect="postgresql"),
    )
    id: Mapped[str] = _id()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[str | None] = mapped_column(ForeignKey("products.id"), nullable=True)
    sku: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    qty: Mapped[Decimal] = mapped_column(Qty)
    unit: Mapped[str] = mapped_column(String(5), default="ea")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    fixed_amount: Mapped[Decimal | None] = mapped_column(Money, nullable=True)  # from a price-embedded label
    price_override: Mapped[Any] = mapped_column(JSON, nullable=True)  # {"price","reason","approval_id"}
    discount: Mapped[Any] = mapped_column(JSON, nullable=True)  # {"kind","value","reason","approval_id"}
    tax_class: Mapped[str] = mapped_column(String(20))
    tax_rate: Mapped[Decimal] = mapped_column(Rate)
    amount: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # net of discounts, as charged
    tax: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))
    voided: Mapped[bool] = mapped_column(Boolean, default=False)
    scanned_qty: Mapped[Decimal] = mapped_column(Qty, default=Decimal("0"))  # pick/pack/pickup verification
    order: Mapped[Order] = relationship(back_populates="lines")


class ReturnLine(Base):
    """What the returns desk decided about a line of a return (an `OrderLine` of an order of channel "return",
    whose `line_no` is the sold line's): the reason code, the condition the item came back in, and where it went."""

    __tablename__ = "return_lines"
    order_line_id: Mapped[str] = mapped_column(ForeignKey("order_lines.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40))
    condition: Mapped[str] = mapped_column(String(12))  # new, opened, damaged, defective
    disposition: Mapped[str] = mapped_column(String(12))  # floor, quarantine, vendor


class PackBox(Base):
    """A parcel of a shipped web order at the Pack bench: its SSCC (made here or scanned from a pre-printed label),
    package type, weight and, once the carrier gave one, its tracking number. An order may take several."""

    __tablename__ = "pack_boxes"
    id: Mapped[str] = _id()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    box_no: Mapped[int] = mapped_column(Integer)
    package_type: Mapped[str] = mapped_column(String(30))
    sscc: Mapped[str] = mapped_column(String(18), unique=True)
    sscc_scanned: Mapped[bool] = mapped_column(Boolean, default=False)  # a pre-printed label, not made here
    weight_kg: Mapped[Decimal | None] = mapped_column(Qty, nullable=True)
    tracking: Mapped[str | None] = mapped_column(String(40), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    items: Mapped[list[PackBoxItem]] = relationship(
        back_populates="box", order_by="PackBoxItem.seq", cascade="all, delete-orphan"
    )


class PackBoxItem(Base):
    """What one scan (or one approved confirmation by hand) put in a box: the line, how many, and the lot, expiry
    and serial number where the product needs them."""

    __tablename__ = "pack_box_items"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    box_id: Mapped[str] = mapped_column(ForeignKey("pack_boxes.id"), index=True)
    line_id: Mapped[str] = mapped_column(ForeignKey("order_lines.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    qty: Mapped[Decimal] = mapped_column(Qty)
    lot: Mapped[str | None] = mapped_column(String(20), nullable=True)
    expiry: Mapped[date | None] = mapped_column(Date, nullable=True)
    serial: Mapped[str | None] = mapped_column(String(20), nullable=True)
    by_hand: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    reason: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    box: Mapped[PackBox] = relationship(back_populates="items")


class PackFigures(Base):
    """The bench's figures per order packed, for Reports: who, from first scan to done, scans, errors caught and
    approvals used."""

    __tablename__ = "pack_figures"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    packed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    scans: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    approvals: Mapped[int] = mapped_column(Integer, default=0)


class Payment(Base):
    """A tender. Card tenders keep the approval code and last four digits only: no field can hold a card number."""

    __tablename__ = "payments"
    # The tenders report and expected cash read a year of payments from the index alone.
    __table_args__ = (Index("ix_payments_order_tender", "order_id", "kind", "amount", "tendered"),)
    id: Mapped[str] = _id()
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # cash, card, store_credit, gift_card
    amount: Mapped[Decimal] = mapped_column(Money)  # applied to the sale (cash: net of change)
    tendered: Mapped[Decimal] = mapped_column(Money)
    card_last4: Mapped[str | None] = mapped_column(String(4), nullable=True)
    approval_code: Mapped[str | None] = mapped_column(String(12), nullable=True)
    reference: Mapped[str | None] = mapped_column(String(40), nullable=True)  # gift card code, customer id
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    order: Mapped[Order] = relationship(back_populates="payments")


class PickupRecord(Base):
    """What the Pickup workstation keeps of a pickup or curbside order beside the central's copy (`Order.external`
    is replaced by each feed change): when it was made ready here, and how it was handed over (pickup code or an ID
    check with the name confirmed, who collected it, the lines refused, the signature drawn on screen)."""

    __tablename__ = "pickup_records"
    order_id: Mapped[str] = mapped_column(ForeignKey("orders.id"), primary_key=True)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    method: Mapped[str | None] = mapped_column(String(10), nullable=True)  # "code" or "id"
    collector: Mapped[str | None] = mapped_column(String(200), nullable=True)
    refused: Mapped[Any] = mapped_column(JSON, nullable=True)  # [line id, ...] handed back at the counter
    signature: Mapped[Any] = mapped_column(
        JSON, nullable=True
    )  # strokes: [[[x, y], ...], ...] on a 0..1000 grid
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    put_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class OutboxEvent(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_seq", "status", "seq"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    type: Mapped[str] = mapped_column(String(50))
    payload: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, sent, rejected
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class ParkedChange(Base):
    """A change of the central store's feed this till could not apply, kept as received for a person to look at
    (Office > Sync); the till goes on with the changes after it."""

    __tablename__ = "parked_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # the feed's seq
    type: Mapped[str] = mapped_column(String(50))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[Any] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text)
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PrintJob(Base):
    __tablename__ = "print_jobs"
    __table_args__ = (Index("ix_print_jobs_status", "status"),)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    kind: Mapped[str] = mapped_column(
        String(20)
    )  # receipt, x_report, z_report, shelf_label, packing_slip, label
    role: Mapped[str] = mapped_column(
        String(20), default="receipt"
    )  # which configured printer: receipt or label
    title: Mapped[str] = mapped_column(String(200), default="")
    document: Mapped[Any] = mapped_column(JSON)
    cause_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    # pending -> sending -> printed | failed (maybe printed: a person decides) | cancelled
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class NumberSequence(Base):
    """Next number per kind (receipt, parked, return, shift) for this terminal: STORE-TERMINAL-SEQUENCE."""

    __tablename__ = "number_sequences"
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    next_value: Mapped[int] = mapped_column(Integer, default=1)


class Approval(Base):
    """A manager's approval of one action for another user: single use, short-lived."""

    __tablename__ = "approvals"
    id: Mapped[str] = _id()
    permission: Mapped[str] = mapped_column(String(50))
    requested_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    approved_by: Mapped[str] = mapped_column(ForeignKey("staff_users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    used_for: Mapped[str | None] = mapped_column(String(200), nullable=True)


class AuditEntry(Base):
    """Who did what, when, where, to which record; each row holds the hash of the one before (append-only)."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(36), unique=True, default=new_id)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    user_name: Mapped[str] = mapped_column(String(100), default="")
    terminal_code: Mapped[str] = mapped_column(String(10), default="")
    action: Mapped[str] = mapped_column(String(50), index=True)
    record_type: Mapped[str] = mapped_column(String(30), default="")
    record_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    details: Mapped[Any] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# The stock records and the reports' roll-ups live in their own modules; imported last (they need Base) and
# re-exported here.
from app.db.models_stock import (  # noqa: E402, I001 - one block, each name re-exported
    CentralStock as CentralStock,
    CountLine as CountLine,
    CycleCount as CycleCount,
    Delivery as Delivery,
    DeliveryLine as DeliveryLine,
    StockBalance as StockBalance,
    StockMinimum as StockMinimum,
    StockMovement as StockMovement,
)
from app.db.models_reports import (  # noqa: E402, I001 - one block, each name re-exported
    ReportDay as ReportDay,
    ReportDayDiscount as ReportDayDiscount,
    ReportDayHour as ReportDayHour,
    ReportDayItem as ReportDayItem,
)
