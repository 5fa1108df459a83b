"""Web orders from the storefront: placing one (routed by `sync.central.routing`) and cancelling one."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger, notices
from sync.central.ledger import Rejected
from sync.central.models import (
    Location,
    Product,
    Store,
    WebOrder,
    utcnow,
)
from sync.central.service.base import CentralError, Conflict, NotFound
from sync.central.service.catalog import CURRENT_PRICE
from sync.central.service.order_state import _number_free, _set_status, find_order, order_payload

# ---------------------------------------------------------------- web orders


@dataclass(frozen=True, slots=True)
class _PlainProduct:
    """A product as a new order reads it: plain values (building ORM objects for the products and prices was a
    fifth of an order's Python time); routing reads its id and sku (`routing_rule.ProductRef`)."""

    id: int
    sku: str
    active: bool


def place_order(
    session: Session,
    request: protocol.OrderRequest,
    idempotency_key: str | None = None,
    idempotency_scope: str | None = None,
) -> WebOrder:
    """A web order: routed by `routing` (the store chosen for pickup, the best location(s) to ship from), its
    quantities reserved there in this transaction, and it enters the feed at once. With an idempotency key, the
    order already placed with that key by the same storefront credential (`idempotency_scope`, see
    routing.idempotency_scope) and the same request is returned (another request with it is refused).

    Products and their current prices are read in one query before any store's lock is taken, and the stock
    levels in one query under it, so the tills of the store wait on a large order for a few queries."""
    if request.paid is False and request.fulfilment == "ship":
        raise CentralError("a shipped order is paid when it is ordered: paid cannot be false for ship")
    skus = sorted({line.sku for line in request.lines})
    store, found = _store_products_with_prices(session, request.store, skus)
    products: dict[str, _PlainProduct] = {}
    prices: dict[str, Decimal] = {}
    for line in request.lines:
        product, price = found.get(line.sku, (None, None))
        if product is None or not product.active:
            raise NotFound(f"no product {line.sku!r}")
        if price is None:
            raise Conflict(f"product {line.sku} has no price")
        products[line.sku], prices[line.sku] = product, price
    if request.number:
        try:
            _number_free(session, request.number, WebOrder)
        except Rejected as exc:
            raise Conflict(exc.reason) from None
    from sync.central import routing  # routing builds on this module

    if idempotency_key is not None:
        placed = routing.replayed(session, idempotency_key, request, idempotency_scope)
        if placed is not None:
            return placed
    order = routing.place(
        session,
        store,
        request,
        products,
        prices,
        idempotency_key=idempotency_key,
        idempotency_scope=idempotency_scope,
    )
    if not routing.placed_here(session, order):
        # A retry that found the first request's order: its "received" notice is there already (written with
        # the order by sync.central.order_write); this only fills in one an older order never had.
        notices.order_changed(session, order, order.status)
    return order


# Built once (a statement object keeps its cache key): the store beside each product with its price in effect.
# Products and prices as plain columns (no ORM object for each: only the store is a row).
_STORE_PRODUCTS_PRICES = (
    select(Store, Product.id, Product.sku, Product.active, CURRENT_PRICE)
    .select_from(Store)
    .outerjoin(Product, Product.sku.in_(bindparam("skus", expanding=True)))
    .where(Store.code == bindparam("code"))
)


def _store_products_with_prices(
    session: Session, code: str, skus: list[str]
) -> tuple[Store, dict[str, tuple[_PlainProduct, Decimal | None]]]:
    """The store of this code (as `access.get_store` finds it) and the products of these skus (plain values), each
    with its price in effect now (the latest effective one), in one query (one round trip: the store's row beside
    each product)."""
    rows = session.execute(
        _STORE_PRODUCTS_PRICES, {"skus": skus, "now": utcnow(), "code": code.strip().upper()}
    ).all()
    if not rows:
        raise NotFound(f"no store {code!r}")
    found: dict[str, tuple[_PlainProduct, Decimal | None]] = {
        sku: (_PlainProduct(pid, sku, active), price)
        for _, pid, sku, active, price in rows
        if pid is not None
    }
    return rows[0][0], found


def _location_or_404(session: Session, store_id: int, code: str) -> Location:
    loc = session.scalar(select(Location).where(Location.store_id == store_id, Location.code == code))
    if loc is None:
        raise NotFound(f"store has no {code} location")
    return loc


def cancel_order(session: Session, ident: str, by: str = "storefront") -> WebOrder:
    """Cancel a web order not yet handed over; its reservation is released and the store's feed says so at once."""
    order = find_order(session, ident)
    ledger.lock_store(session, order.store_id)
    if order.status == "cancelled":
        return order
    if order.status in protocol.ORDER_FINAL_STATES:
        raise Conflict(f"order {order.number} is already {order.status}")
    _set_status(session, order, "cancelled", by, None)
    ledger.emit(session, order.store_id, protocol.CHANGE_ORDER_CANCELLED, str(order.id), order_payload(order))
    return order
