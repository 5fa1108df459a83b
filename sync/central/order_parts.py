"""Ship orders sent in parts: a split order (routing put its lines at several stores) leaves each store as that
store's own shipment, so each part has its own state.

When a till of a store holding lines of a split ship order says "shipped" (`order.status` to shipped), only that
store's lines are shipped: their reservations are released (the goods left with the movements the till sent), each
such line's state becomes "shipped", and the tracking numbers join the order's. The order itself becomes shipped
(final) when no line is still held anywhere; until then it keeps its state, its history says which part left, and
every store of the order hears of it in its feed. An order held at one store only goes on as before (`_set_status`
shipped releases it all at once, one "shipped" notice).

The customer hears of each part (`_tell_part`): every part that leaves writes a "shipped" notice with that part's
own tracking numbers (those the till sent, else its store's boxes of the order not told yet) and its items, stage
``part-<store code>-<n>`` (the store's n-th part of the order, counted under that store's lock, which the push
holds). The last part is told in the order's own "shipped" notice (stage ``shipped``, written by `_set_status`),
given that part's tracking and items and marked complete, so the customer reads that the order has all left.

The terminal's push holds its own store's lock: only that store's levels are changed here, so no other store's
lock is taken out of order.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger, notices, routing
from sync.central.ledger import Rejected
from sync.central.models import (
    Location,
    Notice,
    OrderStatusHistory,
    Product,
    Shipment,
    Store,
    WebOrder,
    WebOrderLine,
)
from sync.central.service.order_state import _set_status

SHIPPED = protocol.lifecycle.OrderState.SHIPPED


def line_store(session: Session, line: WebOrderLine) -> int:
    location = session.get(Location, line.location_id)
    assert location is not None
    return location.store_id


def stores_of(session: Session, order: WebOrder) -> set[int]:
    """The stores holding (or having shipped) lines of the order."""
    return {line_store(session, ln) for ln in order.lines if ln.state in ("reserved", "shipped")}


def in_parts(session: Session, order: WebOrder, store_id: int) -> bool:
    """Whether a "shipped" from `store_id` is one part of `order`: a ship order, not final, whose lines are (or
    were) held at more than one store, or at a store that is not the order's own, this one among them."""
    if order.fulfilment != "ship" or order.status in protocol.ORDER_FINAL_STATES:
        return False
    stores = stores_of(session, order)
    return store_id in stores and (len(stores) > 1 or store_id != order.store_id)


def ship_part(
    session: Session,
    order: WebOrder,
    store_id: int,
    by: str,
    event_id: uuid.UUID | None,
    tracking: Sequence[str],
    apply_movements: Callable[[], None],
) -> None:
    """Store `store_id`'s part of `order` has shipped (see the module's text)."""
    part = [ln for ln in order.lines if ln.state == "reserved" and line_store(session, ln) == store_id]
    if not part:  # its goods left already: moving them again would count them twice
        raise Rejected(f"order {order.number}: this store's part has shipped already")
    for ln in part:
        location = session.get(Location, ln.location_id)
        product = session.get(Product, ln.product_id)
        assert location is not None and product is not None
        ledger.change_reserved(session, location, product, -ln.qty)
        ln.state = "shipped"
    apply_movements()
    if not any(ln.state == "reserved" for ln in order.lines):
        _set_status(session, order, SHIPPED, by, event_id, tracking)  # nothing left to release
        _tell_part(session, order, store_id, part, tracking, last=True)
    else:
        _tell_part(session, order, store_id, part, tracking, last=False)
        access = notices.access_of(session, order)
        extra = [t for t in tracking if t and t not in access.tracking]
        if extra:
            access.tracking = [*access.tracking, *extra]
        code = order.store.code if order.store_id == store_id else _code(session, part, store_id)
        session.add(
            OrderStatusHistory(
                order_id=order.id,
                from_status=order.status,
                to_status=order.status,
                by=f"{by}: part shipped from {code} ({len(part)} line(s))"[:100],
                event_id=event_id,
            )
        )
    # Every store of the order hears of it. The push holds its own store's lock; the others' are taken after it
    # (as a till's hand-back does), in id order: two parts shipped at the very same moment can make PostgreSQL
    # abort one push as a deadlock, which the till sends again.
    ledger.lock_stores(session, stores_of(session, order) | {order.store_id})
    routing.emit_order(session, order)


def _code(session: Session, part: list[WebOrderLine], store_id: int) -> str:
    for ln in part:
        location = session.get(Location, ln.location_id)
        if location is not None:
            return location.store.code
    return str(store_id)


def _tell_part(
    session: Session,
    order: WebOrder,
    store_id: int,
    part: list[WebOrderLine],
    tracking: Sequence[str],
    last: bool,
) -> Notice | None:
    """The customer's "shipped" notice of one part (see the module's text); None when it was written already."""
    store = session.get(Store, store_id)
    assert store is not None
    told = list(
        session.scalars(
            select(Notice).where(Notice.order_id == order.id, Notice.kind == "shipped").order_by(Notice.id)
        )
    )
    before = {str(t) for n in told if n.stage != "shipped" for t in n.facts.get("tracking") or []}
    boxes = session.scalars(
        select(Shipment.tracking)
        .where(Shipment.order_id == order.id, Shipment.store_id == store_id)
        .order_by(Shipment.serial)
    )
    mine = [t for t in dict.fromkeys([*tracking, *boxes]) if t and t not in before]
    items = []
    for ln in part:
        product = session.get(Product, ln.product_id)
        name = product.name if product is not None else ln.sku
        items.append({"sku": ln.sku, "name": name, "qty": f"{ln.qty.normalize():f}"})
    number = sum(1 for n in told if n.stage != "shipped") + 1  # which shipment of the order this is
    facts = {"tracking": mine, "items": items, "from": store.name, "complete": last, "part": number}
    if last:
        final = next((n for n in told if n.stage == "shipped"), None)
        if final is None or final.state != "pending" or "items" in final.facts:
            return None
        final.facts = {**final.facts, **facts, "all_tracking": list(final.facts.get("tracking") or [])}
        return final
    prefix = f"part-{store.code}-"
    stage = f"{prefix}{sum(1 for n in told if n.stage.startswith(prefix)) + 1}"
    access = notices.access_of(session, order)
    base = {
        "number": order.number,
        "name": (order.customer or {}).get("name") or "",
        "store": order.store.name if order.store is not None else "",
        "fulfilment": order.fulfilment,
        "token": access.token,
    }
    return notices.add_notice(session, order, "shipped", stage[:32], {**base, **facts})
