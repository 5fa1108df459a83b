"""The wire format between the terminals and the central store (version 1).

This module owns every shape that crosses the network: the envelopes (push, pull, enrolment), the event types the
terminals push and the change types they pull, and the payload models both ends validate against. Payloads travel as
plain JSON: decimals as strings, ids as UUID strings, times as ISO 8601 with an offset. Both `sync.client` and
`sync.central` import this module; of ours it imports only the pure order lifecycle and code prefixes (app.domain.lifecycle, app.domain.prefixes).

This module holds the event and change types and the event payloads; it re-exports the rest of the wire, which lives
in `sync.protocol_types` (limits, value types, the JSON check), `sync.protocol_sync` (push, pull, enrolment, status)
and `sync.protocol_orders` (web orders, hand-backs, arrivals, shipments), so callers import only `sync.protocol`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from app.domain import figures, lifecycle, pickup, prefixes, staff_proof, tenders  # noqa: F401  (re-exported for the central)
from sync.protocol_orders import (  # noqa: F401  (re-exported: callers import only sync.protocol)
    MAX_BOX_KG,
    MAX_BOXES,
    ArrivalRequest,
    GeoPoint,
    HandBackRequest,
    OrderCustomer,
    OrderLineRequest,
    OrderRequest,
    ShipmentBoxRequest,
    ShipmentInfo,
    ShipmentLine,
    ShipmentRequest,
    ShipmentResponse,
)
from sync.protocol_sync import (  # noqa: F401  (re-exported: callers import only sync.protocol)
    MAX_PULL_WAIT_S,
    PROTOCOL_VERSION,
    SNAPSHOT_FORMAT,
    SNAPSHOT_NEEDED_STATUS,
    AuditAnchor,
    AuditHead,
    Change,
    EnrollRequest,
    EnrollResponse,
    Event,
    PullResponse,
    PushBatch,
    PushRequest,
    PushResponse,
    PushResult,
    PushStatus,
    StatusResponse,
)
from sync.protocol_types import (  # noqa: F401  (re-exported: callers import only sync.protocol)
    EARLIEST,
    LATEST,
    MAX_BODY_BYTES,
    MAX_DEPTH,
    MAX_EVENTS_PER_PUSH,
    MAX_LINES,
    MAX_MONEY,
    MAX_ORDER_LINES,
    MAX_PAYLOAD_BYTES,
    MAX_QTY,
    MAX_SEQ,
    MONEY_PLACES,
    QTY_PLACES,
    RATE_PLACES,
    Code,
    Ident,
    JsonObject,
    Money,
    Name,
    Note,
    Number,
    Qty,
    Seq,
    Short,
    Sku,
    TaxRate,
    Time,
    _clean,
    check_json,
)

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
def department_name(code: str) -> str:
    """How a department the catalog names by its code is shown (a till that first hears of it names it so; the
    chain's sales by department show the same): "home_garden" -> "Home garden"."""
    return code.replace("_", " ").capitalize()


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
# The store's minimum stock of a product (key: its SKU), or of every product without one of its own (key "*"):
# the central's safety stock there (sync.central.stock), which the tills' stock report holds stock against.
CHANGE_MINIMUM = "minimum"
CHANGE_TYPES: frozenset[str] = frozenset(
    {
        CHANGE_STORE,
        CHANGE_DELIVERY,
        CHANGE_COUNT,
        CHANGE_MINIMUM,
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
    # On a completed sale: the amount off (the price replaced less `price`, times the quantity) and the manager
    # whose approval it used (app.services.sales.completion), for the chain's discount figures.
    amount: Money | None = None
    approved_by: UUID | None = None


class LineDiscount(_Payload):
    kind: Literal["percent", "amount"]
    value: Money = Field(ge=0)
    reason: Name = ""
    approval_id: Ident | None = None
    amount: Money | None = None
    approved_by: UUID | None = None  # on a completed sale, as on a price override

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
    owner_id: UUID | None = None  # the cashier who completed it
    order_discount: LineDiscount | None = None  # the whole-sale discount
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
    change, and the sale it made there). The central puts it in the customer's picked-up notice; one it cannot read leaves the notice plain and
    the hand-over stands (sync.central.service.handlers)."""

    model_config = ConfigDict(extra="ignore")

    taken: list[tuple[Sku, Name, Qty]] = Field(default_factory=list, max_length=MAX_LINES)
    refused: list[tuple[Sku, Name, Qty]] = Field(default_factory=list, max_length=MAX_LINES)
    paid: Money | None = None
    payments: list[tuple[Short, Money]] = Field(default_factory=list, max_length=20)
    change: Money | None = None
    # Paid at the counter, the order is a sale of that till: its total and its lines taken, each [sku, name, qty,
    # amount], as the till's Z and reports count them (the chain's sales reports count the same).
    total: Money | None = None
    sold: list[tuple[Sku, Name, Qty, Money]] = Field(default_factory=list, max_length=MAX_LINES)


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
