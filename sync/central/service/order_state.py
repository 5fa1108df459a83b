"""A web order's state: its payload, status changes (with the customer's notice and the release of what it
holds), finding one, and document numbers kept unique across sales, returns and web orders.

Routing builds on this module, so it imports nothing that imports routing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from sync import protocol
from sync.central import ledger, notices
from sync.central.ledger import Rejected
from sync.central.models import (
    Location,
    OrderStatusHistory,
    Product,
    Return,
    Sale,
    WebOrder,
    utcnow,
)
from sync.central.service.base import NotFound


def _number_free(session: Session, number: str, kind: type[Sale] | type[Return] | type[WebOrder]) -> None:
    """A till keeps sales, returns and web orders in one table, numbered alike: a number one of the others has
    already would be a record no till could take, so it is refused here (its own kind's are unique by table)."""
    holders = _numbers_held(session)
    if number not in holders:
        with session.no_autoflush:
            holders[number] = {
                other.__name__
                for other in (Sale, Return, WebOrder)
                if session.scalar(select(other.id).where(other.number == number)) is not None
            }
    if holders[number] - {kind.__name__}:
        raise Rejected(f"number {number} is already used by another sale, return or web order")
    holders[number].add(kind.__name__)


def _numbers_held(session: Session) -> dict[str, set[str]]:
    """Which kinds of record (Sale, Return, WebOrder) hold a number, for this transaction (a batch fills it for
    all its numbers in three queries: one query per event, each flushing first, was most of a push's time)."""
    return ledger.tx_cache(session, "numbers_held")


def order_payload(order: WebOrder) -> dict[str, Any]:
    return {
        "id": str(order.id),
        "number": order.number,
        "store": order.store.code,
        "status": order.status,
        "fulfilment": order.fulfilment,
        "customer": order.customer,
        # Paid online, or to be paid at the store when collected (a till's Pickup takes the payment then).
        "paid": order.paid is not False,
        **({"refund_due": ledger.money_text(order.refund_due)} if order.refund_due is not None else {}),
        "lines": [
            {
                "sku": ln.sku,
                "qty": ledger.qty_text(ln.qty),
                "unit_price": ledger.money_text(ln.unit_price),
                # Where routing holds it ("unavailable": handed back, held nowhere): a till picks its own store's.
                "store": ln.location.store.code,
                "location": ln.location.code,
                "state": ln.state,
            }
            for ln in order.lines
        ],
        "created_at": order.created_at.isoformat(),
        # When a pickup or curbside customer said they had arrived, and where they wait (sync.central.curbside).
        **(
            {"arrived_at": order.arrived_at.isoformat(), "arrival": dict(order.arrival or {})}
            if order.arrived_at is not None
            else {}
        ),
        # What a till needs to check the pickup code offline (a salted slow hash; the code is in the notice only).
        **_pickup_check(order),
    }


def _pickup_check(order: WebOrder) -> dict[str, Any]:
    session = object_session(order)
    verifier = notices.pickup_verifier(session, order) if session is not None else None
    out: dict[str, Any] = {"pickup": verifier} if verifier else {}
    until = hold_until(session, order) if session is not None else None
    if until is not None:  # a ready pickup or curbside order is held until then (sync.central.hold)
        out["hold_until"] = until.isoformat()
    return out


def ready_since(session: Session, order: WebOrder) -> datetime | None:
    """When the order last became ready (its status history), or None."""
    return session.scalar(
        select(func.max(OrderStatusHistory.at)).where(
            OrderStatusHistory.order_id == order.id, OrderStatusHistory.to_status == "ready"
        )
    )


def hold_until(session: Session, order: WebOrder) -> datetime | None:
    """The end of a ready pickup or curbside order's hold window (ready + the store's hold days), else None."""
    if order.status != "ready" or order.fulfilment not in ("pickup", "curbside"):
        return None
    since = ready_since(session, order)
    return since + timedelta(days=order.store.hold_days) if since is not None else None


def _release(session: Session, order: WebOrder) -> None:
    for ln in order.lines:
        if ln.state != "reserved":  # handed back with nowhere else to go: nothing is held for it
            continue
        location = session.get(Location, ln.location_id)
        product = session.get(Product, ln.product_id)
        assert location is not None and product is not None
        ledger.change_reserved(session, location, product, -ln.qty)


# A paid order ending in these states owes its customer a refund of what was paid.
_REFUNDED_WHEN = frozenset({protocol.lifecycle.OrderState.CANCELLED, protocol.lifecycle.OrderState.EXPIRED})


def _order_value(order: WebOrder) -> Decimal:
    """What the customer paid for and has not received: every line as ordered (a handed-back line keeps its
    quantity) but those already shipped (a part of a split order that left before it was cancelled)."""
    owed = (ln.qty * ln.unit_price for ln in order.lines if ln.state != "shipped")
    return sum(owed, Decimal(0)).quantize(Decimal("0.01"))


def _set_status(
    session: Session,
    order: WebOrder,
    to: str,
    by: str,
    event_id: uuid.UUID | None,
    tracking: Sequence[str] = (),
) -> None:
    session.add(
        OrderStatusHistory(
            order_id=order.id, from_status=order.status, to_status=to, by=by, event_id=event_id
        )
    )
    order.status = to
    order.updated_at = utcnow()
    if to in _REFUNDED_WHEN and order.paid is not False and order.refund_due is None:
        # Paid online and never handed over: the customer is owed what was paid (the refund-due record).
        order.refund_due = _order_value(order)
        order.refund_due_at = order.updated_at
    notices.order_changed(session, order, to, tracking)  # the customer's notice, in this transaction
    if to in protocol.ORDER_FINAL_STATES:
        _release(session, order)


def find_order(session: Session, ident: str) -> WebOrder:
    if len(ident) > 64 or "\x00" in ident:  # no order has such a number (and PostgreSQL cannot compare a NUL)
        raise NotFound(f"no web order {ident[:64]!r}")
    order = None
    try:
        order = session.get(WebOrder, uuid.UUID(ident))
    except ValueError:
        pass
    if order is None:
        order = session.scalar(select(WebOrder).where(WebOrder.number == ident))
    if order is None:
        raise NotFound(f"no web order {ident!r}")
    return order
