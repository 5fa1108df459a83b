"""The pickup queue and its plain views: what the Pickup screen reads, and the read-only queries that answer it
(the queue, finding an order by number, pickup code, name, phone or e-mail, the goods each order holds in staging).

The actions (prepare, ready, hand over, put back) are in `app.services.pickup`, which re-exports everything public
here: callers import `pickup` only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Location, Order, OrderLine, PickupRecord, StockMovement
from app.domain import barcodes, lifecycle, prefixes
from app.domain import pickup as codes
from app.services import settings
from app.services.base import UserError, here, now

S = lifecycle.OrderState
FULFILMENTS = ("pickup", "curbside")
STAGING = "staging"
CAUSE = "pickup"
DEFAULT_PROMISE_MINUTES = 120
DEFAULT_HOLD_DAYS = 7
RECENT_DAYS = 2  # collected, cancelled and expired orders stay in the queue this long


# ---------------------------------------------------------------- plain views


@dataclass(frozen=True)
class QueueRow:
    id: str
    number: str
    fulfilment: str
    customer: str
    phone: str
    email: str
    status: str  # the lifecycle's word
    shown: str  # what the queue says: the status, or "at_curb" / "no_show"
    items: Decimal
    promised: datetime
    late: bool  # not ready by the promised time
    minutes: int  # minutes past (positive) or to (negative) the promised time
    arrived_at: datetime | None  # curbside: when the customer said they are here
    waiting_s: int | None  # curbside: seconds the customer has waited
    staged: bool  # goods are in staging
    no_show: bool  # past the hold window, or closed at the central with goods still in staging
    paid: bool


@dataclass(frozen=True)
class PickLine:
    line_id: str
    line_no: int
    sku: str
    name: str
    location: str
    qty: Decimal
    scanned: Decimal
    done: bool


@dataclass(frozen=True)
class PrepView:
    order_id: str
    number: str
    status: str
    fulfilment: str
    customer: str
    lines: list[PickLine]
    left: Decimal  # items still to scan
    complete: bool
    staged: bool
    paid: bool
    collector: str
    verdict: str | None = None
    message: str = ""
    line_id: str | None = None
    returns_to: str = ""  # for a closed order: where its goods go back


@dataclass(frozen=True)
class Done:
    order_id: str
    number: str
    status: str
    message: str
    job_id: str | None = None
    open_drawer: bool = False  # cash was taken at the hand-over


# ---------------------------------------------------------------- helpers


def _ext(order: Order) -> dict[str, Any]:
    return order.external if isinstance(order.external, dict) else {}


def _customer(order: Order) -> dict[str, Any]:
    c = _ext(order).get("customer")
    return c if isinstance(c, dict) else {}


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at


def _int_setting(session: Session, key: str, default: int) -> int:
    try:
        value = int(str(settings.get(session, key)))
    except (TypeError, ValueError):
        return default
    return value if value > 0 else default


def _promised(session: Session, order: Order, minutes: int) -> datetime:
    return _when(_ext(order).get("promised_at")) or order.created_at + timedelta(minutes=minutes)


def _paid(order: Order) -> bool:
    return _ext(order).get("paid") is not False


def _collector(order: Order) -> str:
    ext = _ext(order)
    who = ext.get("collector") or _customer(order).get("collector")
    if isinstance(who, dict):
        who = who.get("name")
    return str(who) if who else ""


def _staged(session: Session, order_ids: Sequence[str]) -> dict[str, dict[str, Decimal]]:
    """Goods each order holds in staging now, per product: its own movements there, summed."""
    if not order_ids:
        return {}
    h = here(session)
    loc = session.scalar(select(Location.id).where(Location.store_id == h.store_id, Location.code == STAGING))
    if loc is None:
        return {}
    rows = session.execute(
        select(StockMovement.cause_id, StockMovement.product_id, func.sum(StockMovement.qty))
        .where(
            StockMovement.location_id == loc,
            StockMovement.cause_type == CAUSE,
            StockMovement.cause_id.in_(list(order_ids)),
        )
        .group_by(StockMovement.cause_id, StockMovement.product_id)
    ).all()
    out: dict[str, dict[str, Decimal]] = {}
    for cause, product, qty in rows:
        if Decimal(qty) != 0:
            out.setdefault(cause, {})[product] = Decimal(qty)
    return out


def _line_location(order: Order, line: OrderLine) -> str:
    for ext_line in _ext(order).get("lines") or []:
        if isinstance(ext_line, dict) and ext_line.get("sku") == line.sku and ext_line.get("location"):
            return str(ext_line["location"])
    return "floor"


def _live(order: Order) -> list[OrderLine]:
    return [ln for ln in order.lines if not ln.voided]


def _hold_until(session: Session, order: Order, rec: PickupRecord | None, days: int) -> datetime:
    ready = rec.ready_at if rec is not None and rec.ready_at is not None else order.created_at
    return ready + timedelta(days=days)


# ---------------------------------------------------------------- queue and find


def queue(session: Session, at: datetime | None = None) -> list[QueueRow]:
    """The store's pickup and curbside orders: open ones, those closed in the last days, and any that still hold
    goods in staging. Customers at the curb first, then late ones, then by promised time."""
    at = at or now()
    minutes = _int_setting(session, "pickup.promise_minutes", DEFAULT_PROMISE_MINUTES)
    days = _int_setting(session, "pickup.hold_days", DEFAULT_HOLD_DAYS)
    orders = list(
        session.scalars(
            select(Order).where(
                Order.channel == "web",
                Order.fulfilment.in_(FULFILMENTS),
                Order.status.in_([str(s) for s in lifecycle.OPEN_STATES])
                | (Order.created_at >= at - timedelta(days=max(RECENT_DAYS, days + 1))),
            )
        )
    )
    staged = _staged(session, [o.id for o in orders])
    records = {
        r.order_id: r
        for r in session.scalars(
            select(PickupRecord).where(PickupRecord.order_id.in_([o.id for o in orders]))
        )
    }
    rows = []
    for o in orders:
        rows.append(_row(session, o, at, minutes, days, o.id in staged, records.get(o.id)))
    final_old = at - timedelta(days=RECENT_DAYS)
    rows = [
        r for r in rows if lifecycle.is_open(r.status) or r.staged or r.promised >= final_old or r.no_show
    ]
    rows.sort(key=lambda r: (r.shown != "at_curb", not r.late, not lifecycle.is_open(r.status), r.promised))
    return rows


def _row(
    session: Session,
    o: Order,
    at: datetime,
    minutes: int,
    days: int,
    staged: bool,
    rec: PickupRecord | None,
) -> QueueRow:
    promised = _promised(session, o, minutes)
    open_ = lifecycle.is_open(o.status)
    arrived = _when(_ext(o).get("arrived_at")) if o.fulfilment == "curbside" else None
    no_show = (staged and not open_ and o.status != S.COLLECTED) or (
        o.status == S.READY and at >= _hold_until(session, o, rec, days)
    )
    shown = o.status
    if open_ and arrived is not None:
        shown = "at_curb"
    elif no_show:
        shown = "no_show"
    cust = _customer(o)
    return QueueRow(
        id=o.id,
        number=o.number,
        fulfilment=o.fulfilment,
        customer=o.customer_name or str(cust.get("name") or ""),
        phone=str(cust.get("phone") or ""),
        email=str(cust.get("email") or ""),
        status=o.status,
        shown=shown,
        items=sum((ln.qty for ln in _live(o)), Decimal(0)),
        promised=promised,
        late=open_ and o.status in (S.NEW, S.PICKING) and at > promised,
        minutes=int((at - promised).total_seconds() // 60),
        arrived_at=arrived if open_ else None,
        waiting_s=int((at - arrived).total_seconds()) if arrived is not None and open_ else None,
        staged=staged,
        no_show=no_show,
        paid=_paid(o),
    )


def _digits(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def find(session: Session, text: str | barcodes.ScanResult, at: datetime | None = None) -> list[QueueRow]:
    """Orders matching what was typed or scanned: an order number (scanned from the bag label or the e-mail), a
    pickup code (``PU-...`` or typed as is), a customer's name, phone number or e-mail address."""
    if isinstance(text, barcodes.InternalCode):
        if text.internal_kind == "pickup":
            return [by_code(session, text.value, at)]
        typed = text.raw
    elif isinstance(text, str):
        typed = text
    else:
        typed = text.raw
    typed = typed.strip()
    rows = queue(session, at)
    if not typed:
        return rows
    if typed.upper().startswith(prefixes.PICKUP):
        return [by_code(session, prefixes.without(prefixes.PICKUP, typed), at)]
    number = typed.upper()
    exact = [r for r in rows if r.number.upper() in (number, prefixes.ORDER + number)]
    if exact:
        return exact
    if len(codes.normalize(typed)) == codes.LENGTH and not any(ch.isspace() or ch == "@" for ch in typed):
        with contextlib.suppress(UserError):
            return [by_code(session, typed, at)]
    low = typed.casefold()
    digits = _digits(typed)
    return [
        r
        for r in rows
        if low in r.number.casefold()
        or low in r.customer.casefold()
        or low in r.email.casefold()
        or (len(digits) >= 4 and digits in _digits(r.phone))
    ]


def by_code(session: Session, code: str, at: datetime | None = None) -> QueueRow:
    """The ready order whose pickup code this is (checked here, with the central out of reach or not)."""
    for row in queue(session, at):
        if row.status != S.READY:
            continue
        order = session.get(Order, row.id)
        if order is not None and codes.verify(code, _ext(order).get("pickup")):
            return row
    raise UserError(
        "No ready order here has this pickup code: check it with the customer, or find the order by name "
        "and check their ID."
    )
