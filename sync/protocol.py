"""The wire format between the terminals and the central store (version 1).

This module owns every shape that crosses the network: the envelopes (push, pull, enrolment), the event types the
terminals push and the change types they pull, and the payload models both ends validate against. Payloads travel as
plain JSON: decimals as strings, ids as UUID strings, times as ISO 8601 with an offset. Both `sync.client` and
`sync.central` import this module; of ours it imports only the pure order lifecycle and code prefixes (app.domain.lifecycle, app.domain.prefixes).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from app.domain import lifecycle, prefixes

PROTOCOL_VERSION = 1

# Events a terminal pushes. Anything else is rejected per event, never as an error of the whole batch.
SALE_COMPLETED = "sale.completed"
RETURN_COMPLETED = "return.completed"
STOCK_MOVEMENT = "stock.movement"
STOCK_COUNT = "stock.count"
ORDER_STATUS = "order.status"
SALE_PARKED = "sale.parked"
SALE_RECALLED = "sale.recalled"
SHIFT_OPENED = "shift.opened"
SHIFT_CLOSED = "shift.closed"
CASH_PAID_IN = "cash.paid_in"
CASH_PAID_OUT = "cash.paid_out"
AUDIT_ENTRY = "audit.entry"
CUSTOMER_SAVED = "customer.saved"
STAFF_SAVED = "staff.saved"
EVENT_TYPES: frozenset[str] = frozenset(
    {
        SALE_COMPLETED,
        RETURN_COMPLETED,
        STOCK_MOVEMENT,
        STOCK_COUNT,
        ORDER_STATUS,
        SALE_PARKED,
        SALE_RECALLED,
        SHIFT_OPENED,
        SHIFT_CLOSED,
        CASH_PAID_IN,
        CASH_PAID_OUT,
        AUDIT_ENTRY,
        CUSTOMER_SAVED,
        STAFF_SAVED,
    }
)

# Changes a terminal pulls. `key` identifies the thing changed so a client can keep only the latest per key.
CHANGE_PRODUCT = "product"
CHANGE_PRICE = "price"
CHANGE_STOCK = "stock"
CHANGE_ORDER = "order"
CHANGE_ORDER_CANCELLED = "order.cancelled"
CHANGE_PARKED_SALE = "parked_sale"
CHANGE_TAX_CLASS = "tax_class"
CHANGE_STAFF = "staff"
# Completed counter sales and returns of the store's other terminals, so any till can take a return of them.
CHANGE_SALE = "sale"
CHANGE_RETURN = "return"
# Customers made at one till of the store, so a loyalty card or phone number is found at all of them.
CHANGE_CUSTOMER = "customer"
# The store's own settings its tills follow: tax mode, tax rounding, cash rounding step (payload: store_payload).
CHANGE_STORE = "store"
CHANGE_TYPES: frozenset[str] = frozenset(
    {
        CHANGE_STORE,
        CHANGE_PRODUCT,
        CHANGE_PRICE,
        CHANGE_STOCK,
        CHANGE_ORDER,
        CHANGE_ORDER_CANCELLED,
        CHANGE_PARKED_SALE,
        CHANGE_TAX_CLASS,
        CHANGE_STAFF,
        CHANGE_SALE,
        CHANGE_RETURN,
        CHANGE_CUSTOMER,
    }
)

# Web order states and their moves: the one lifecycle of app.domain.lifecycle (pure, stdlib only), so the wire,
# the central store and the till cannot disagree. The final ones can no longer change.
ORDER_STATES: frozenset[str] = frozenset(lifecycle.OrderState)
ORDER_FINAL_STATES: frozenset[str] = frozenset(lifecycle.FINAL_STATES)
may_move_order = lifecycle.may_move
# A web order's number starts with the till's order prefix, so the printed number scans as an order.
ORDER_NUMBER_PREFIX = prefixes.ORDER

MovementKind = Literal["sale", "return", "receipt", "adjustment", "transfer", "count", "fulfilment"]
PushStatus = Literal["applied", "duplicate", "rejected"]


# ---------------------------------------------------------------- envelopes


class Event(BaseModel):
    """One fact a terminal committed locally; `id` is the UUIDv7 the terminal gave it, its identity everywhere."""

    id: UUID
    type: str
    occurred_at: datetime
    payload: dict[str, Any]


class AuditAnchor(BaseModel):
    """The head of the terminal's audit chain when it sent a batch: the central store keeps the highest, so entries
    removed at the till afterwards (even together with their unsent outbox rows) show against it."""

    seq: int = Field(ge=1, le=2**63 - 1)
    hash: str = Field(min_length=1, max_length=128)


class PushRequest(BaseModel):
    events: list[Event]
    protocol_version: int = PROTOCOL_VERSION
    audit_head: AuditAnchor | None = None


class PushResult(BaseModel):
    id: UUID
    status: PushStatus
    reason: str | None = None


class PushResponse(BaseModel):
    results: list[PushResult]


class Change(BaseModel):
    seq: int
    type: str
    key: str
    payload: dict[str, Any]


class PullResponse(BaseModel):
    changes: list[Change]
    next_cursor: int
    more: bool
    remaining_estimate: int | None = None


class EnrollRequest(BaseModel):
    code: str = Field(min_length=1, max_length=64)
    terminal_name: str = Field(min_length=1, max_length=100)


class EnrollResponse(BaseModel):
    token: str
    store_code: str
    terminal_code: str
    store: dict[str, Any]
    locations: list[dict[str, Any]]
    # Per kind of number (receipt, return, parked, shift): a replacement till's numbers start after this.
    numbers: dict[str, int] = Field(default_factory=dict)


class OrderLineRequest(BaseModel):
    sku: str = Field(min_length=1)
    qty: Decimal = Field(gt=0)


class OrderRequest(BaseModel):
    """What the storefront sends to create a web order for one store."""

    store: str
    number: str | None = None
    fulfilment: Literal["pickup", "ship"] = "pickup"
    lines: list[OrderLineRequest] = Field(min_length=1)
    customer: dict[str, Any] = Field(default_factory=dict)


class AuditHead(BaseModel):
    """What the central store holds of one terminal's audit chain: the last entry it received, and whether the
    entries before it arrived whole (every seq, each naming the hash of the one before)."""

    count: int
    last_seq: int | None = None
    last_hash: str | None = None
    missing: list[int] = Field(default_factory=list)  # seqs below last_seq not received (the first 20)
    broken_at: int | None = None  # the first seq whose prev_hash does not name the entry before
    # The highest audit head the terminal's pushes named (see AuditAnchor): entries up to it existed there.
    anchor_seq: int | None = None
    anchor_hash: str | None = None


class StatusResponse(BaseModel):
    ok: bool
    protocol_version: int
    database: str
    store: str | None = None
    feed_head: int | None = None


# ---------------------------------------------------------------- event payloads


class _Payload(BaseModel):
    # Terminals may send more than this version knows; extra fields are kept, not refused.
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Movement(_Payload):
    """One signed stock movement at a location of the terminal's store (negative takes stock out)."""

    id: UUID
    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    qty: Decimal
    kind: str = Field(min_length=1)


class SaleLine(_Payload):
    sku: str
    qty: Decimal
    unit_price: Decimal
    amount: Decimal
    tax: Decimal


class Payment(_Payload):
    kind: str
    amount: Decimal


class SaleCompleted(_Payload):
    """`sale.completed` and `return.completed` share this shape (a return's movements are positive)."""

    order_id: UUID
    number: str
    store: str
    terminal: str
    lines: list[SaleLine]
    payments: list[Payment] = Field(default_factory=list)
    totals: dict[str, Any] = Field(default_factory=dict)
    movements: list[Movement] = Field(default_factory=list)
    original_order_id: UUID | None = None
    web_order_id: UUID | None = None


class StockMovement(Movement):
    kind: Literal["receipt", "adjustment", "transfer"]  # type: ignore[assignment]


class StockCount(_Payload):
    """A counted quantity that holds as of the central feed seq the terminal had applied when counting."""

    sku: str
    location: str
    counted: Decimal = Field(ge=0)
    as_of_seq: int = Field(ge=0)
    local_movements_after: list[UUID] = Field(default_factory=list)


class OrderStatusChange(_Payload):
    order_id: UUID
    from_status: str = Field(alias="from")
    to: str
    by: str = ""
    movements: list[Movement] = Field(default_factory=list)


class ParkedSale(_Payload):
    number: str
    terminal: str = ""
    lines: list[dict[str, Any]] = Field(default_factory=list)


class CustomerSaved(_Payload):
    id: UUID
    name: str = Field(min_length=1, max_length=200)
    phone: str | None = None
    email: str | None = None
    loyalty_card: str | None = None


class StaffActor(_Payload):
    id: UUID
    role: str = Field(min_length=1, max_length=20)


class StaffSaved(_Payload):
    """A staff user as a till saved them, whole: sign-in name, role, PIN hash (never the PIN), badge, active.
    Lockout counters stay on each till."""

    id: UUID
    username: str = Field(min_length=1, max_length=50)
    display_name: str = Field(min_length=1, max_length=100)
    role: str = Field(min_length=1, max_length=20)
    pin_hash: str = Field(min_length=1, max_length=200)
    badge_code: str | None = None
    active: bool = True
    # The authority of the change: the staff user who made or approved it, with the role the till knew. The
    # central store checks it against its own view of the store's staff; a first admin made at enrolment, before
    # the till knew any staff, is its own actor and says `bootstrap`.
    actor: StaffActor | None = None
    bootstrap: bool = False


class SaleRecalled(_Payload):
    number: str
    terminal: str = ""
