"""Curbside arrival: the storefront says a pickup or curbside customer has arrived, and every till of the store
learns it from the feed (an `order` change whose payload carries `arrived_at` and `arrival`).

The first arrival time is kept; the same call again changes nothing and emits nothing (idempotent), while new
details (the customer moved to another bay) are recorded and sent again with the first time."""

from __future__ import annotations

from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger
from sync.central.models import WebOrder, utcnow
from sync.central.service.base import Conflict
from sync.central.service.order_state import find_order, order_payload

# The fulfilments whose customer comes to the store.
COLLECTED_AT_STORE = frozenset({"pickup", "curbside"})


def arrival_details(request: protocol.ArrivalRequest) -> dict[str, str]:
    """What the customer gave, without the empty fields."""
    return {k: v for k, v in request.model_dump().items() if v}


def arrived(session: Session, ident: str, request: protocol.ArrivalRequest) -> tuple[WebOrder, bool]:
    """Record that the customer of order `ident` has arrived; returns the order and whether anything changed
    (a change is emitted to the store's feed in this transaction)."""
    order = find_order(session, ident)
    if order.fulfilment not in COLLECTED_AT_STORE:
        raise Conflict(f"order {order.number} is shipped, not collected at the store")
    ledger.lock_store(session, order.store_id)  # one arrival at a time per store, after any status change
    session.refresh(order)
    if order.status in protocol.ORDER_FINAL_STATES:
        raise Conflict(f"order {order.number} is already {order.status}")
    details = arrival_details(request)
    if order.arrived_at is not None and (order.arrival or {}) == details:
        return order, False
    if order.arrived_at is None:
        order.arrived_at = utcnow()
    order.arrival = details
    ledger.emit(session, order.store_id, protocol.CHANGE_ORDER, str(order.id), order_payload(order))
    return order, True
