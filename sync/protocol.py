"""The wire format between the terminals and the central store (version 1).

This module owns every shape that crosses the network: the envelopes (push, pull, enrolment), the event types the
terminals push and the change types they pull, and the payload models both ends validate against. Payloads travel as
plain JSON: decimals as strings, ids as UUID strings, times as ISO 8601 with an offset. Both `sync.client` and
`sync.central` import this module; of ours it imports only the pure order lifecycle and code prefixes (app.domain.lifecycle, app.domain.prefixes).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from app.domain import figures, lifecycle, pickup, prefixes, staff_proof, tenders  # noqa: F401  (re-exported for the central)

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
# Store credit or a gift card balance given (a refund, a tender taken back) or taken (a tender), at a till.
BALANCE_ISSUED = "balance.issued"
BALANCE_SPENT = "balance.spent"
# A store cannot fulfil a pickup line (short pick, damaged): the central routes it again (routing.hand_back).
ORDER_HANDBACK = "order.handback"
# A store received an expected delivery (its receipt movements, what it found) / sent goods to another store.
DELIVERY_RECEIVED = "delivery.received"
TRANSFER_SENT = "transfer.sent"
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
        BALANCE_ISSUED,
        BALANCE_SPENT,
        ORDER_HANDBACK,
        DELIVERY_RECEIVED,
        TRANSFER_SENT,
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
# A store credit or gift card balance as the central store keeps it (key "<kind>:<account>"), sync.central.balances.
CHANGE_BALANCE = "balance"
# A delivery the store expects (a purchase order, a transfer from another store), or its end (received).
CHANGE_DELIVERY = "delivery"
# A cycle count the central store set up for the store (payload: CountSetup); its tills count it.
CHANGE_COUNT = "count"
CHANGE_TYPES: frozenset[str] = frozenset(
    {
        CHANGE_STORE,
        CHANGE_DELIVERY,
        CHANGE_COUNT,
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
        CHANGE_BALANCE,
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

# ---------------------------------------------------------------- limits and value types
#
# Everything that enters the central store is checked against these before it is applied or enters a feed (a
# value that passes them can be stored on both engines and taken by every till of the store). Decimals travel
# as strings (or whole numbers): a JSON float is refused, since a float is not the amount the till counted.

MAX_BODY_BYTES = 4 * 1024 * 1024  # one request's body, checked before it is read
MAX_EVENTS_PER_PUSH = 500
MAX_LINES = 500  # lines, payments or movements of one sale, return or parked sale
MAX_ORDER_LINES = 200  # lines of one storefront order
MAX_PAYLOAD_BYTES = 256 * 1024  # one event's payload as JSON
MAX_DEPTH = 8  # nesting of objects and lists inside one payload
MAX_QTY = Decimal(1_000_000_000)  # a quantity of one line or movement, either sign (a receipt may be large)
MAX_MONEY = Decimal(100_000_000)  # an amount of one line, payment or total, either sign
MAX_SEQ = 2**63 - 1  # feed seqs and cursors are 64-bit
QTY_PLACES = 3  # the central keeps thousandths; a finer quantity would be stored as something else
MONEY_PLACES = 2
RATE_PLACES = 6
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def _clean(value: str) -> str:
    """No NUL and no lone surrogate: neither can be stored as text on PostgreSQL, nor encoded as UTF-8."""
    if "\x00" in value:
        raise ValueError("contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("is not valid Unicode (lone surrogate)") from exc
    return value


def _decimal_input(value: Any) -> Any:
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError('give a decimal as a string, e.g. "1.50"')
    if isinstance(value, int):
        if abs(value) > 10**18:
            raise ValueError("is out of range")
        return Decimal(value)
    if isinstance(value, str):
        if len(value) > 40:
            raise ValueError("is too long for a number")
        try:
            return Decimal(value.strip())
        except InvalidOperation as exc:
            raise ValueError("is not a number") from exc
    if isinstance(value, Decimal):
        return value
    raise ValueError("must be a decimal number given as a string")


def _checked(places: int, bound: Decimal) -> Any:
    def check(value: Decimal) -> Decimal:
        if not value.is_finite():
            raise ValueError("must be a finite number")
        if abs(value) > bound:
            raise ValueError(f"is out of range (at most {bound} either way)")
        if value != value.quantize(Decimal(1).scaleb(-places)):
            raise ValueError(f"has more than {places} decimal places")
        return value

    return check


def _in_time_range(value: datetime) -> datetime:
    if not EARLIEST <= value < LATEST:
        raise ValueError(f"must lie between {EARLIEST.year} and {LATEST.year}")
    return value


def _time_input(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("must be an ISO 8601 time with an offset, e.g. 2026-05-01T10:00:00+00:00")
    return value


Qty = Annotated[Decimal, BeforeValidator(_decimal_input), AfterValidator(_checked(QTY_PLACES, MAX_QTY))]
Money = Annotated[Decimal, BeforeValidator(_decimal_input), AfterValidator(_checked(MONEY_PLACES, MAX_MONEY))]
TaxRate = Annotated[
    Decimal,
    BeforeValidator(_decimal_input),
    AfterValidator(_checked(RATE_PLACES, Decimal(1))),
    Field(ge=0, lt=1),
]
Time = Annotated[AwareDatetime, BeforeValidator(_time_input), AfterValidator(_in_time_range)]
Seq = Annotated[StrictInt, Field(ge=0, le=MAX_SEQ)]
Sku = Annotated[StrictStr, Field(min_length=1, max_length=40), AfterValidator(_clean)]
Code = Annotated[StrictStr, Field(min_length=1, max_length=32), AfterValidator(_clean)]
Number = Annotated[StrictStr, Field(min_length=1, max_length=40), AfterValidator(_clean)]
Short = Annotated[StrictStr, Field(max_length=20), AfterValidator(_clean)]
Name = Annotated[StrictStr, Field(max_length=200), AfterValidator(_clean)]
Note = Annotated[StrictStr, Field(max_length=500), AfterValidator(_clean)]
Ident = Annotated[StrictStr, Field(max_length=64), AfterValidator(_clean)]


def check_json(value: Any, what: str = "payload") -> None:
    """Raise ValueError unless `value` is plain JSON that any store can keep: nesting at most MAX_DEPTH, every
    string (keys too) free of NUL and lone surrogates and at most 10,000 characters, every number finite."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"{what} is nested more than {MAX_DEPTH} deep")
        if isinstance(item, str):
            if len(item) > 10_000:
                raise ValueError(f"{what} holds a string of more than 10,000 characters")
            _clean(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError(f"{what} holds a number that is not finite")
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) > MAX_SEQ:
                raise ValueError(f"{what} holds a whole number out of the 64-bit range")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError(f"{what} has a key that is not text")
                _clean(key)
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
        elif item is not None and not isinstance(item, bool):
            raise ValueError(f"{what} holds a {type(item).__name__}, which is not JSON")


def _safe_json(value: Any) -> Any:
    check_json(value)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_safe_json)]


# ---------------------------------------------------------------- envelopes


class Event(BaseModel):
    """One fact a terminal committed locally; `id` is the UUIDv7 the terminal gave it, its identity everywhere.

    The central store validates each event of a push alone against this and against its type's payload model
    (`PAYLOADS`), so one bad event is refused with its reason and the others of its batch still apply."""

    model_config = ConfigDict(extra="forbid")

    id: UUID
    type: Annotated[StrictStr, Field(min_length=1, max_length=32), AfterValidator(_clean)]
    occurred_at: Time
    payload: JsonObject


class AuditAnchor(BaseModel):
    """The head of the terminal's audit chain when it sent a batch: the central store keeps the highest, so entries
    removed at the till afterwards (even together with their unsent outbox rows) show against it."""

    seq: StrictInt = Field(ge=1, le=MAX_SEQ)
    hash: Annotated[StrictStr, Field(min_length=1, max_length=128), AfterValidator(_clean)]


class PushRequest(BaseModel):
    """What a terminal sends. The central store reads `events` as plain objects and judges each one alone."""

    events: list[Event] = Field(max_length=MAX_EVENTS_PER_PUSH)
    protocol_version: int = PROTOCOL_VERSION
    audit_head: AuditAnchor | None = None


class PushBatch(BaseModel):
    """A push as the central store receives it: each event is validated on its own (see `Event`)."""

    events: list[dict[str, Any]] = Field(max_length=MAX_EVENTS_PER_PUSH)
    protocol_version: StrictInt = Field(default=PROTOCOL_VERSION, ge=0, le=1000)
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


# A catalog snapshot (GET /v1/snapshot): gzip of JSON lines, a header {"snapshot": SNAPSHOT_FORMAT, "store", "cursor"},
# one line per change ({"seq", "type", "key", "payload"}, the latest of each key up to the cursor), then a trailer
# {"end": true, "count": n}. A pull from a cursor below the store's compacted feed is answered SNAPSHOT_NEEDED_STATUS.
SNAPSHOT_FORMAT = 1
SNAPSHOT_NEEDED_STATUS = 410


class PullResponse(BaseModel):
    changes: list[Change]
    next_cursor: int
    more: bool
    remaining_estimate: int | None = None


class EnrollRequest(BaseModel):
    code: Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_clean)]
    terminal_name: Annotated[StrictStr, Field(min_length=1, max_length=100), AfterValidator(_clean)]


class EnrollResponse(BaseModel):
    token: str
    store_code: str
    terminal_code: str
    store: dict[str, Any]
    locations: list[dict[str, Any]]
    # Per kind of number (receipt, return, parked, shift): a replacement till's numbers start after this.
    numbers: dict[str, int] = Field(default_factory=dict)


class OrderLineRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Qty = Field(gt=0)


class GeoPoint(BaseModel):
    """Where a web order ships to (WGS84 degrees), so routing can choose the nearest location that has it."""

    model_config = ConfigDict(extra="forbid")

    latitude: Decimal = Field(ge=-90, le=90)
    longitude: Decimal = Field(ge=-180, le=180)


class OrderCustomer(BaseModel):
    """Who a web order is for, as the tills show it."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    email: Name | None = None
    phone: Short | None = None
    address: Note | None = None
    note: Note | None = None


class OrderRequest(BaseModel):
    """What the storefront sends to create a web order for one store."""

    model_config = ConfigDict(extra="forbid")

    store: Annotated[StrictStr, Field(min_length=1, max_length=16), AfterValidator(_clean)]
    number: Number | None = None
    fulfilment: Literal["pickup", "curbside", "ship"] = "pickup"
    lines: list[OrderLineRequest] = Field(min_length=1, max_length=MAX_ORDER_LINES)
    customer: OrderCustomer = Field(default_factory=OrderCustomer)
    ship_to: GeoPoint | None = None  # a shipped order's destination, for routing to the nearest location
    # Paid online (true) or to be paid at the store when collected (false, pickup and curbside only); left out,
    # the order is paid, as every order was before the field existed. The tills get it as the order's `paid`.
    paid: StrictBool | None = None


class HandBackRequest(BaseModel):
    """A store cannot fulfil a web order line: how much is missing, and why (short pick or damaged)."""

    model_config = ConfigDict(extra="forbid")

    missing: Qty = Field(gt=0)
    reason: Literal["short", "damaged"] = "short"


def _one_line(value: str) -> str:
    """Printable text on one line, as a till shows it in one cell: no control character, tab or line break."""
    value = _clean(value)
    if not value.isprintable():
        raise ValueError("contains a control character or a line break")
    return value.strip()


class ArrivalRequest(BaseModel):
    """A pickup or curbside customer says they have arrived (through the storefront): where they wait."""

    model_config = ConfigDict(extra="forbid")

    bay: Annotated[StrictStr, Field(max_length=20), AfterValidator(_one_line)] | None = None
    car: Annotated[StrictStr, Field(max_length=60), AfterValidator(_one_line)] | None = None
    note: Annotated[StrictStr, Field(max_length=200), AfterValidator(_one_line)] | None = None


# The longest a pull may wait for the store's feed to move (GET /v1/pull?wait=...).
MAX_PULL_WAIT_S = 30


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


# ---------------------------------------------------------------- shipments (POST /v1/orders/{id}/shipments)

MAX_BOXES = 50  # boxes of one shipments request
MAX_BOX_KG = Decimal(1000)


def _sscc(value: str) -> str:
    """18 ASCII digits whose last is the GS1 mod-10 check digit of the others (as app.domain.barcodes checks)."""
    if len(value) != 18 or not (value.isascii() and value.isdigit()):
        raise ValueError("an SSCC is 18 digits")
    body = [int(d) for d in reversed(value[:-1])]
    total = sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(body))
    if (10 - total % 10) % 10 != int(value[-1]):
        raise ValueError("the SSCC's check digit is wrong")
    return value


class ShipmentLine(BaseModel):
    """How much of an order's sku is in one box."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    qty: Qty = Field(gt=0)


class ShipmentBoxRequest(BaseModel):
    """One sealed box of a ship order: its SSCC, weight in kg, package type and contents."""

    model_config = ConfigDict(extra="forbid")

    sscc: Annotated[StrictStr, AfterValidator(_sscc)]
    weight: Qty = Field(gt=0, le=MAX_BOX_KG)
    package_type: Annotated[StrictStr, Field(pattern=r"^[a-z0-9_-]{1,20}$")] = "box"
    lines: list[ShipmentLine] = Field(min_length=1, max_length=MAX_ORDER_LINES)

    @model_validator(mode="after")
    def _one_line_per_sku(self) -> ShipmentBoxRequest:
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("a box lists each sku once")
        return self


class ShipmentRequest(BaseModel):
    """The boxes a terminal hands to the carrier for one order (each SSCC once)."""

    model_config = ConfigDict(extra="forbid")

    boxes: list[ShipmentBoxRequest] = Field(min_length=1, max_length=MAX_BOXES)

    @model_validator(mode="after")
    def _distinct_boxes(self) -> ShipmentRequest:
        ssccs = [box.sscc for box in self.boxes]
        if len(set(ssccs)) != len(ssccs):
            raise ValueError("each box (SSCC) is sent once")
        return self


class ShipmentInfo(BaseModel):
    """A box as the carrier took it: what its shipping label needs. `created` is False when the box (its SSCC)
    had been sent before: the first answer again, with the same tracking number."""

    sscc: str
    tracking: str
    carrier: str
    service: str
    weight: Decimal
    package_type: str
    ship_from: list[str]
    ship_to: list[str]
    label_lines: list[str] = Field(default_factory=list)
    created: bool = True


class ShipmentResponse(BaseModel):
    order_id: UUID
    order_number: str
    shipments: list[ShipmentInfo]


# ---------------------------------------------------------------- event payloads


class _Payload(BaseModel):
    # Kept as sent beside the fields known here (shifts, cash, audit, staff: nothing reads the rest). Every value
    # is still plain JSON that any store can keep (`check_json`, applied to the whole payload).
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class _Document(BaseModel):
    # What the central store passes on to the other tills of a store: only the fields named here, each checked,
    # so no till receives a value it cannot apply.
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Movement(_Document):
    """One signed stock movement at a location of the terminal's store (negative takes stock out)."""

    id: UUID
    sku: Sku
    location: Code
    qty: Qty
    kind: MovementKind


class PriceOverride(_Payload):
    price: Money = Field(ge=0)
    reason: Name = ""
    approval_id: Ident | None = None


class LineDiscount(_Payload):
    kind: Literal["percent", "amount"]
    value: Money = Field(ge=0)
    reason: Name = ""
    approval_id: Ident | None = None
    amount: Money | None = None

    @model_validator(mode="after")
    def _percent_at_most_100(self) -> LineDiscount:
        if self.kind == "percent" and self.value > 100:
            raise ValueError("a percent discount cannot exceed 100")
        return self


class SaleLine(_Document):
    """A line of a completed sale or return, or of a parked sale (which carries its price override and discount
    so another till can recall it as it was)."""

    line_no: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = None
    sku: Sku
    name: Name = ""
    qty: Qty
    unit: Annotated[StrictStr, Field(min_length=1, max_length=5), AfterValidator(_clean)] = "ea"
    unit_price: Money
    amount: Money = Decimal(0)
    tax: Money = Decimal(0)
    tax_class: Short = ""
    tax_rate: TaxRate = Decimal(0)
    fixed_amount: Money | None = None
    price_override: PriceOverride | None = None
    discount: LineDiscount | None = None
    # A returned line: what the returns desk decided (the till's ReturnLine), for the chain's returns figures.
    reason: Annotated[StrictStr, Field(max_length=40), AfterValidator(_clean)] | None = None
    condition: Short | None = None
    disposition: Short | None = None


class Payment(_Document):
    kind: Short = Field(min_length=1)
    amount: Money


class Totals(_Document):
    subtotal: Money | None = None
    discount_total: Money | None = None
    tax_total: Money | None = None
    total: Money | None = None
    rounding: Money | None = None
    change: Money | None = None


class SaleCompleted(_Document):
    """`sale.completed` and `return.completed` share this shape (a return's movements are positive)."""

    order_id: UUID
    number: Number
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None
    terminal: Short = ""
    shift_id: UUID | None = None
    completed_at: Time | None = None
    customer_id: UUID | None = None
    customer_name: Name | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=MAX_LINES)
    payments: list[Payment] = Field(default_factory=list, max_length=MAX_LINES)
    totals: Totals = Field(default_factory=Totals)
    movements: list[Movement] = Field(default_factory=list, max_length=MAX_LINES)
    original_order_id: UUID | None = None
    web_order_id: UUID | None = None
    # A return the till decided without asking the central store (it was offline): the central accepts it even
    # when it takes back more than is left (its goods moved already) and parks the conflict for review. A return
    # decided online that goes over is refused with its reason (sync.central.service.returns).
    offline: StrictBool = False


class StockMovement(Movement):
    kind: Literal["receipt", "adjustment", "transfer"]  # type: ignore[assignment]
    reason: Note = ""
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


class StockCount(_Document):
    """A counted quantity that holds as of the central feed seq the terminal had applied when counting."""

    sku: Sku
    location: Code
    counted: Qty = Field(ge=0)
    as_of_seq: Seq
    local_movements_after: list[UUID] = Field(default_factory=list, max_length=10_000)
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


Sscc = Annotated[StrictStr, Field(pattern=r"^[0-9]{18}$")]


class ReceivedLine(_Document):
    """What a store found of one product of a delivery: expected (0 for an item the delivery did not name) and
    received."""

    sku: Sku
    expected: Qty = Field(ge=0)
    received: Qty = Field(ge=0)


class DeliveryReceived(_Document):
    """`delivery.received`: the store closed the receipt of an expected delivery into `location`; `movements` are
    its receipt movements (positive, one product each), `lines` what it found per product."""

    delivery_id: UUID
    number: Number
    location: Code
    lines: list[ReceivedLine] = Field(min_length=1, max_length=MAX_LINES)
    movements: list[Movement] = Field(default_factory=list, max_length=MAX_LINES)
    note: Note = ""
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


class TransferSent(_Document):
    """`transfer.sent`: goods picked and sent to another store (or the warehouse, a store of its own): the
    movements take them out here; the central store makes them an expected delivery there."""

    transfer_id: UUID
    number: Number
    to_store: Annotated[StrictStr, Field(min_length=1, max_length=16), AfterValidator(_clean)]
    movements: list[Movement] = Field(min_length=1, max_length=MAX_LINES)
    note: Note = ""
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


class CountSetup(_Document):
    """A cycle count set up at the central store: one location, of some departments or items (neither: all it holds)."""

    id: UUID
    location: Code
    departments: list[Code] = Field(default_factory=list, max_length=100)
    skus: list[Sku] = Field(default_factory=list, max_length=MAX_LINES)
    title: Name = ""


class OrderStatusChange(_Payload):
    order_id: UUID
    from_status: Short = Field(alias="from")
    to: Short
    by: Name = ""
    movements: list[Movement] = Field(default_factory=list, max_length=MAX_LINES)
    # Carrier tracking numbers, when shipped (the customer's "shipped" notice and status page show them).
    tracking: list[Short] = Field(default_factory=list, max_length=20)


class HandoverReceipt(BaseModel):
    """The `receipt` of an `order.status` event to "collected": what the customer took and handed back at the till,
    each [sku, name, qty], and what they paid there (an order placed unpaid: the total, each [tender, amount], the
    change). The central puts it in the customer's picked-up notice; one it cannot read leaves the notice plain and
    the hand-over stands (sync.central.service.handlers)."""

    model_config = ConfigDict(extra="ignore")

    taken: list[tuple[Sku, Name, Qty]] = Field(default_factory=list, max_length=MAX_LINES)
    refused: list[tuple[Sku, Name, Qty]] = Field(default_factory=list, max_length=MAX_LINES)
    paid: Money | None = None
    payments: list[tuple[Short, Money]] = Field(default_factory=list, max_length=20)
    change: Money | None = None


class OrderHandBack(_Payload):
    """`order.handback`: line `line_no` (1-based, as the order's feed payload lists them) of a web order is
    `missing` here (a short pick, or damaged): the central releases it and routes it again."""

    order_id: UUID
    line_no: Annotated[StrictInt, Field(ge=1, le=MAX_LINES)]
    missing: Qty = Field(gt=0)
    reason: Literal["short", "damaged"] = "short"


class ParkedSale(_Document):
    number: Number
    terminal: Short = ""
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None
    order_id: UUID | None = None
    receipt_number: Number | None = None
    customer_id: UUID | None = None
    customer_name: Name | None = None
    order_discount: LineDiscount | None = None
    owner_id: UUID | None = None
    total: Money | None = None
    lines: list[SaleLine] = Field(min_length=1, max_length=MAX_LINES)


class CustomerSaved(_Document):
    id: UUID
    name: Name = Field(min_length=1)
    phone: Short | None = None
    email: Name | None = None
    loyalty_card: Ident | None = None
    created_at: Time | None = None
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


class StaffActor(_Payload):
    id: UUID
    role: Annotated[StrictStr, Field(min_length=1, max_length=20), AfterValidator(_clean)]


class StaffSaved(_Payload):
    """A staff user as a till saved them, whole: sign-in name, role, PIN hash (never the PIN), badge, active.
    Lockout counters stay on each till."""

    id: UUID
    username: Annotated[StrictStr, Field(min_length=1, max_length=50), AfterValidator(_clean)]
    display_name: Annotated[StrictStr, Field(min_length=1, max_length=100), AfterValidator(_clean)]
    role: Annotated[StrictStr, Field(min_length=1, max_length=20), AfterValidator(_clean)]
    pin_hash: Annotated[StrictStr, Field(min_length=1, max_length=200), AfterValidator(_clean)]
    badge_code: Ident | None = None
    active: StrictBool = True
    # The authority of the change: the staff user who made or approved it, with the role the till knew. The
    # central store checks it against its own view of the store's staff; a first admin made at enrolment, before
    # the till knew any staff, is its own actor and says `bootstrap`.
    actor: StaffActor | None = None
    bootstrap: StrictBool = False
    # The user's PIN key, where this change sets their PIN (kept by the central, never in a feed), and the proof
    # that the actor made the change: `app.domain.staff_proof`.
    pin_key: Annotated[StrictStr, Field(pattern="^[0-9a-f]{64}$")] | None = None
    proof: Annotated[StrictStr, Field(pattern="^[0-9a-f]{64}$")] | None = None


# The tenders that hold a balance (app.domain.tenders owns the list of tenders).
BALANCE_KINDS: tuple[str, ...] = tuple(k for k in tenders.KINDS if k not in ("cash", "card"))


def _balance_kind(value: str) -> str:
    if value not in BALANCE_KINDS:
        raise ValueError(f"must be one of {', '.join(BALANCE_KINDS)}")
    return value


class BalanceChange(_Document):
    """`balance.issued` and `balance.spent`: one change of a customer's store credit (`account` their id) or a gift
    card's balance (`account` its code), with its own id; the central store applies each once."""

    id: UUID
    kind: Annotated[StrictStr, AfterValidator(_balance_kind)]
    account: Annotated[StrictStr, Field(min_length=1, max_length=64), AfterValidator(_clean)]
    amount: Money = Field(gt=0)
    reason: Short = ""  # tender, tender_removed, refund, sold
    cause: Ident | None = None  # the sale or return it belongs to
    # What the till believed the balance was before it (the central store's last word plus its own unsent changes).
    seen: Money | None = None
    store: Annotated[StrictStr, Field(max_length=16), AfterValidator(_clean)] | None = None


class SaleRecalled(_Payload):
    number: Number
    terminal: Short = ""


class ShiftEvent(_Payload):
    """`shift.opened` and `shift.closed`: kept as sent; the figures named here are checked."""

    shift_id: Ident | None = None
    opening_float: Money | None = None


class CashMovement(_Payload):
    id: UUID | None = None
    amount: Money = Field(ge=0)
    reason: Note = ""


class AuditEntry(_Payload):
    """One entry of a terminal's hash-chained audit trail (the chain is checked by `GET /v1/audit/head`)."""

    seq: Annotated[StrictInt, Field(ge=1, le=MAX_SEQ)]
    prev_hash: Annotated[StrictStr, Field(max_length=128), AfterValidator(_clean)] = ""
    hash: Annotated[StrictStr, Field(min_length=1, max_length=128), AfterValidator(_clean)]


# The payload model of each event type: the central store validates a payload against it before applying it.
PAYLOADS: dict[str, type[BaseModel]] = {
    SALE_COMPLETED: SaleCompleted,
    RETURN_COMPLETED: SaleCompleted,
    STOCK_MOVEMENT: StockMovement,
    STOCK_COUNT: StockCount,
    ORDER_STATUS: OrderStatusChange,
    SALE_PARKED: ParkedSale,
    SALE_RECALLED: SaleRecalled,
    SHIFT_OPENED: ShiftEvent,
    SHIFT_CLOSED: ShiftEvent,
    CASH_PAID_IN: CashMovement,
    CASH_PAID_OUT: CashMovement,
    AUDIT_ENTRY: AuditEntry,
    CUSTOMER_SAVED: CustomerSaved,
    STAFF_SAVED: StaffSaved,
    BALANCE_ISSUED: BalanceChange,
    BALANCE_SPENT: BalanceChange,
    ORDER_HANDBACK: OrderHandBack,
    DELIVERY_RECEIVED: DeliveryReceived,
    TRANSFER_SENT: TransferSent,
}
