"""The Returns desk's plain views and inputs, and the store's return settings as the desk reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.db.models import (
    Order,
    OrderLine,
    Product,
    Store,
)
from app.domain import lifecycle, tenders
from app.domain import return_policy as rp
from app.services import settings
from app.services.base import here

ONLINE = "online"  # a web order's payment, refunded by the central store
TENDER_WORDS: dict[str, str] = {**tenders.WORDS, ONLINE: "Web payment"}
HANDED_OVER = (str(lifecycle.OrderState.COLLECTED), str(lifecycle.OrderState.SHIPPED))
# Where each disposition puts the goods: the location's code, name and kind (made when missing).
VENDOR_LOCATION = ("rtv", "Return to vendor", "vendor")
QUARANTINE_LOCATION = ("quarantine", "Quarantine", "quarantine")


# -- plain views -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoldLineView:
    line_no: int
    sku: str
    name: str
    qty: Decimal
    unit: str
    paid: Decimal  # what the whole line paid
    returned: Decimal
    returnable: Decimal


@dataclass(frozen=True)
class OriginalView:
    order_id: str
    number: str
    channel: str  # counter or web
    terminal: str
    completed_at: datetime | None
    customer_id: str | None
    customer_name: str | None
    total: Decimal
    lines: list[SoldLineView]
    payments: list[tuple[str, Decimal]]
    refunded: list[tuple[str, Decimal]]  # what earlier returns gave back, per tender


@dataclass(frozen=True)
class SaleHit:
    order_id: str
    number: str
    when: datetime | None
    customer: str
    total: Decimal
    terminal: str


@dataclass(frozen=True)
class ReturnLineIn:
    """A line to take back: the sold line's number, how many, why, and in what condition."""

    line_no: int
    qty: Decimal
    reason: str
    condition: str


@dataclass(frozen=True)
class NoReceiptLineIn:
    product_id: str
    qty: Decimal
    reason: str
    condition: str


@dataclass(frozen=True)
class QuoteLine:
    line_no: int
    name: str
    qty: Decimal
    amount: Decimal
    tax: Decimal
    total: Decimal
    reason: str
    condition: str
    disposition: str


@dataclass(frozen=True)
class TenderOut:
    kind: str
    amount: Decimal
    words: str
    reference: str | None = None


@dataclass(frozen=True)
class Quote:
    """What a return would give back, before it is taken: the screen's refund dialog shows it."""

    original_number: str | None
    lines: list[QuoteLine]
    lines_total: Decimal
    fee: Decimal
    total: Decimal
    tax: Decimal
    tenders: list[TenderOut]
    unallocated: Decimal
    exceptions: list[str]
    permission: str  # the one permission taking it needs (see app.domain.return_policy.approval_for)


@dataclass(frozen=True)
class ReturnDone:
    return_id: str
    number: str
    total: Decimal
    tenders: list[TenderOut]
    receipt_job_id: str
    label_job_ids: list[str]
    open_drawer: bool


@dataclass(frozen=True)
class Central:
    """What the central store (the authority) said is taken back of a sale over every till's returns, asked just
    before the return (`sync.client.Client.returnable`, read by `central_answer`): per sku returned, and per tender
    kind refunded (None for a web order, whose payment is the storefront's)."""

    returned: dict[str, Decimal]
    refunded: dict[str, Decimal] | None


# -- the refund ------------------------------------------------------------------------------------------------
@dataclass
class _Planned:
    order: Order | None
    quote: Quote
    lines: list[tuple[QuoteLine, OrderLine | None, Product | None]]
    references: dict[str, str | None]
    card_last4: str | None
    customer_id: str | None
    online: bool = False  # decided on the central store's word (`Central`), not on this till's alone


# -- finding the original --------------------------------------------------------------------------------------
def _policy(session: Session) -> rp.Policy:
    return rp.Policy.from_setting(
        settings.get(session, "returns.policy"), settings.get_decimal(session, "refund.limit")
    )


def reasons(session: Session) -> dict[str, str]:
    """The reason codes a cashier chooses from (setting ``returns.reasons``), code -> words."""
    return rp.reasons(settings.get(session, "returns.reasons"))


def _store(session: Session) -> Store:
    store = session.get(Store, here(session).store_id)
    assert store is not None
    return store


def _local_day(session: Session, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(here(session).timezone)).date()
