"""Routing of web orders: which location fulfils each line, decided and reserved in one transaction.

The rule (stated by `Rule.describe`, configurable through COUNTERLINE_ROUTING_RULE; the pure choice is in
`sync.central.routing_rule`):
- pickup or curbside: the chosen store, when its sellable locations have every line available to promise; otherwise
  nothing is reserved and the refusal names the nearest store that has every line (by the stores' coordinates, else
  by code), or offers shipping.
- ship: the one location that can send every line, nearest to the address (coordinates) or else ranked (the
  ordering store first, then the nearest to it, then by store code); only when no one location can, the lines are
  split over the fewest locations (at most `max_shipments`), the first such set in rank order.

Locks: stores are locked in the order of their ids (`ledger.lock_stores`, as the tills' pushes do), then their stock
levels row by row in (location, product) order with SELECT ... FOR UPDATE, and availability is read again under
them. So two orders never deadlock and never reserve more than is available. A pickup locks its one store. A ship
order chooses its plan on a read without locks, then locks only the stores of that plan (and the ordering store
when an Idempotency-Key comes with it) in a savepoint and checks the plan again under the locks; only when the
stock has gone meanwhile is the savepoint rolled back (its locks go with it) and every candidate store locked, in id
order, to choose again. So ship orders from different places no longer wait for each other chain-wide.

A store that cannot fulfil a line hands it back (`hand_back`): its reservation is released, what the store
reported missing leaves its stock (a short pick is an adjustment, damaged goods move to quarantine), and the line is
routed again. Each decision is kept as a `RoutingTrace` (rule, candidates with the stock seen, choice).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session
from uuid6 import uuid7

from sync import protocol
from sync.central import ledger, order_write, routing_plan, stock
from sync.central.models import (
    ApiKey,
    Location,
    OrderStatusHistory,
    Product,
    RoutingTrace,
    StockLevel,
    Store,
    WebOrder,
    WebOrderLine,
    table_of,
    utcnow,
)
from sync.central.routing_rule import (
    RULE_ENV,
    Candidate,
    ProductRef,
    Rule,
    Unavailable,
    Want,
    allocate,
    covers,
    demand_of,
    distance_km,
    fewest,
    location_row,
    point,
    rank,
    rule_from_env,
    short_text,
)
from sync.central.service.base import STOREFRONT_KEY_ENV, CentralError, Conflict, Forbidden, NotFound, sha256
from sync.central.service.order_state import find_order, order_payload

__all__ = [
    "HANDBACK_REASONS",
    "RULE_ENV",
    "Rule",
    "Unavailable",
    "hand_back",
    "place",
    "replayed",
    "rule_from_env",
    "traces",
]

HANDBACK_REASONS = ("short", "damaged")
IDEMPOTENCY_KEY_MAX = 128


def _stores_holding(session: Session, product_ids: Iterable[int]) -> set[int]:
    """Stores with some stock of these products at a sellable location (read without locks: the set to lock)."""
    rows = session.scalars(
        select(StockLevel.store_id)
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.product_id.in_(sorted(set(product_ids))), Location.sellable.is_(True))
        .where(StockLevel.on_hand > StockLevel.reserved)
        .distinct()
    )
    return set(rows)


# Built once (a statement object keeps its cache key): the levels of these stores and products with their
# locations and safety stock, locked in (location, product) order; only the levels are locked.
_LOCK_QUERY = (
    select(*routing_plan.LEVEL_COLUMNS, Location, routing_plan.safety_of_level())
    .join(Location, Location.id == StockLevel.location_id)
    .where(
        StockLevel.store_id.in_(bindparam("ids", expanding=True)),
        StockLevel.product_id.in_(bindparam("pids", expanding=True)),
    )
    .where(Location.store_id.in_(bindparam("ids", expanding=True)), Location.sellable.is_(True))
)
_LOCK_READ = _LOCK_QUERY.order_by(StockLevel.location_id, StockLevel.product_id).with_for_update(
    of=StockLevel
)
_LOCK_READ_ONLY = (
    _LOCK_QUERY.where(Location.id.in_(bindparam("only", expanding=True)))
    .order_by(StockLevel.location_id, StockLevel.product_id)
    .with_for_update(of=StockLevel)
)


def _lock_and_read(
    session: Session,
    store_ids: Iterable[int],
    product_ids: Iterable[int],
    origin: tuple[float, float] | None,
    only: Iterable[int] | None = None,
) -> list[Candidate]:
    """Lock the stores (id order), then their levels of these products ((location, product) order, FOR UPDATE),
    and return their sellable locations (those of `only`, when given) holding a level of one of them as candidates
    with what they hold (a location with none of them has nothing to offer)."""
    ids = sorted(set(store_ids))
    pids = sorted(set(product_ids))
    stores = ledger.lock_stores(session, ids)
    params: dict[str, Any] = {"ids": ids, "pids": pids}
    if only is not None:
        params["only"] = sorted(set(only))
    cands: dict[int, Candidate] = {}
    for row in session.execute(_LOCK_READ if only is None else _LOCK_READ_ONLY, params):
        level, loc, safety = routing_plan.level_of(row), row[4], row[5]
        c = cands.get(loc.id)
        if c is None:
            c = cands[loc.id] = Candidate(
                store=stores[loc.store_id],
                location=loc,
                distance_km=distance_km(origin, point(stores[loc.store_id])),
                safety=dict.fromkeys(pids, Decimal(0)),
            )
        c.safety[level.product_id] = safety or Decimal(0)
        c.levels[level.product_id] = level
    return list(cands.values())


def _pickup_alternatives(
    session: Session, home: Store, demand: dict[int, Decimal], rule: Rule
) -> dict[str, Any]:
    """The other stores (nearest first) whose sellable locations have every line available, and whether the
    order could ship instead, read without locks (nothing is reserved on them)."""
    holding = _stores_holding(session, demand) | {home.id}
    cands = _read_unlocked(session, holding, demand, point(home))
    by_store: dict[int, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_store[c.store.id].append(c)
    found: list[dict[str, Any]] = []
    for store_id, group in by_store.items():
        if store_id != home.id and covers(group, demand):
            entry: dict[str, Any] = {"store": group[0].store.code}
            if group[0].distance_km is not None:
                entry["distance_km"] = round(group[0].distance_km, 1)
            found.append(entry)
    found.sort(key=lambda e: (e.get("distance_km") is None, e.get("distance_km", 0.0), e["store"]))
    return {"pickup_at": found, "ship": fewest(rank(cands, home), demand, rule) is not None}


def _read_unlocked(
    session: Session, store_ids: Iterable[int], demand: dict[int, Decimal], origin: tuple[float, float] | None
) -> list[Candidate]:
    ids, pids = sorted(set(store_ids)), sorted(demand)
    stores = {s.id: s for s in session.scalars(select(Store).where(Store.id.in_(ids)))}
    safety = stock.safety_stock(session, ids, pids)
    cands: dict[int, Candidate] = {}
    for row in session.execute(
        select(*routing_plan.LEVEL_COLUMNS, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(Location.store_id.in_(ids), Location.sellable.is_(True), StockLevel.product_id.in_(pids))
    ):
        level, loc = routing_plan.level_of(row), row[4]
        c = cands.get(loc.id)
        if c is None:
            store = stores[loc.store_id]
            c = cands[loc.id] = Candidate(
                store=store,
                location=loc,
                distance_km=distance_km(origin, point(store)),
                safety={pid: safety[(store.id, pid)] for pid in pids},
            )
        c.levels[level.product_id] = level
    return list(cands.values())


def _decide(
    session: Session,
    fulfilment: str,
    home: Store,
    wants: Sequence[Want],
    destination: tuple[float, float] | None,
    rule: Rule,
    extra_stores: Iterable[int] = (),
    locked: set[int] | None = None,
    exclude: int | None = None,
) -> tuple[list[tuple[Want, Candidate, Decimal]], list[Candidate], str]:
    """Lock, read and choose; returns the allocation, the candidates seen and the outcome in words. Raises
    Unavailable when the rule finds no place (nothing reserved). `exclude`: a location not to choose (a hand-back's:
    it just came up short)."""
    demand = demand_of(wants)
    products: dict[int, ProductRef] = {w.product.id: w.product for w in wants}
    if fulfilment in ("pickup", "curbside"):
        cands = _lock_and_read(session, {home.id, *extra_stores}, demand, point(home))
        own = [c for c in cands if c.store.id == home.id and c.location.id != exclude]
        if covers(own, demand):
            return allocate(own, wants), cands, f"{fulfilment} at {home.code}: every line available there"
        alternatives = _pickup_alternatives(session, home, demand, rule)
        nearest = alternatives["pickup_at"][:1]
        offers = []
        if nearest:
            away = f" ({nearest[0]['distance_km']} km away)" if "distance_km" in nearest[0] else ""
            offers.append(f"{nearest[0]['store']} has every line{away}")
        else:
            offers.append("no other store has every line")
        if alternatives["ship"]:
            offers.append("or ship it" if nearest else "it can be shipped")
        offer = "; ".join(offers)
        raise Unavailable(
            f"not available for {fulfilment} at {home.code} ({short_text(own, demand, products)}): {offer}",
            alternatives,
        )
    origin = destination if destination is not None else point(home)
    again = ""
    if locked is None:
        planned, tried = routing_plan.ship_planned(session, home, wants, demand, origin, rule, extra_stores)
        if planned is not None:
            return planned
        if tried:
            again = " (chosen again under every candidate store's lock: the first plan's stock had gone)"
    holding = _stores_holding(session, demand)
    if locked is not None:
        # Only stores already locked: one taken now out of id order could deadlock with another order.
        holding &= locked
    cands = rank(_lock_and_read(session, holding | {home.id, *extra_stores}, demand, origin), home)
    cands = [c for c in cands if c.location.id != exclude]
    chosen = fewest(cands, demand, rule)
    if chosen is None:
        short = short_text(cands, demand, products) or "no set of locations the rule allows has every line"
        raise Unavailable(f"cannot ship from any location: {short}", {"pickup_at": [], "ship": False})
    where = ", ".join(f"{c.store.code}/{c.location.code}" for c in chosen)
    how = "one location has every line" if len(chosen) == 1 else f"split over {len(chosen)} locations"
    return allocate(chosen, wants), cands, f"ship from {where}: {how}{again}"


def _trace_row(
    order_id: uuid.UUID,
    kind: str,
    rule: Rule,
    outcome: str,
    seen: list[dict[str, Any]],
    allocation: Sequence[tuple[Want, Candidate, Decimal]],
    at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "kind": kind,
        "rule": rule.describe()[:300],
        "outcome": outcome[:300],
        "candidates": seen,
        "chosen": [
            {
                "line": w.line_no,
                "sku": w.product.sku,
                "qty": ledger.qty_text(qty),
                "store": c.store.code,
                "location": c.location.code,
            }
            for w, c, qty in allocation
        ],
        "at": at or utcnow(),
    }


def _trace(
    session: Session,
    order: WebOrder,
    kind: str,
    rule: Rule,
    outcome: str,
    seen: list[dict[str, Any]],
    allocation: Sequence[tuple[Want, Candidate, Decimal]],
) -> None:
    session.flush()  # the order's row first: the trace names it
    session.execute(
        insert(table_of(RoutingTrace)), [_trace_row(order.id, kind, rule, outcome, seen, allocation)]
    )


def _reserve(
    session: Session, order: WebOrder, product: Product, allocation: Sequence[tuple[Want, Candidate, Decimal]]
) -> list[WebOrderLine]:
    """A hand-back's new lines of its product, reserved where routing put them (the lines written by sync.central.order_write)."""
    rows = [(product, qty, w.unit_price, location_row(c.location), "reserved") for w, c, qty in allocation]
    lines = order_write.add_lines(session, order, rows)
    for _, c, qty in allocation:
        ledger.change_reserved(session, location_row(c.location), product, qty)
    return lines


def _order_stores(session: Session, order: WebOrder) -> list[int]:
    """The order's own store and every store holding one of its lines, each told of the order in its feed."""
    ids = {order.store_id}
    for ln in order.lines:
        loc = session.get(Location, ln.location_id)
        assert loc is not None
        ids.add(loc.store_id)
    return sorted(ids)


def emit_order(session: Session, order: WebOrder) -> None:
    for store_id in _order_stores(session, order):
        ledger.emit(session, store_id, protocol.CHANGE_ORDER, str(order.id), order_payload(order))


def request_digest(request: protocol.OrderRequest) -> str:
    """A digest of what the storefront asked for, to tell a retry from another order under the same key. A field
    left unsaid is left out, so a request of an older storefront digests as it did before the field existed."""
    body = request.model_dump(mode="json")
    if body.get("paid") is None:
        body.pop("paid", None)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


ENV_KEY_SCOPE = "env"  # the one storefront key of COUNTERLINE_CENTRAL_STOREFRONT_KEY


def idempotency_scope(session: Session, api_key: str | None) -> str | None:
    """Whose Idempotency-Keys a request's are: one storefront credential's (an API key by its id, or the key of
    the environment); None for a caller with none (the CLI)."""
    if not api_key:
        return None
    configured = os.environ.get(STOREFRONT_KEY_ENV, "")
    if configured and hmac.compare_digest(configured.encode(), api_key.encode()):
        return ENV_KEY_SCOPE
    key_id = session.scalar(select(ApiKey.id).where(ApiKey.key_hash == sha256(api_key)))
    return f"key:{key_id}" if key_id is not None else None


def replayed(
    session: Session, key: str, request: protocol.OrderRequest, scope: str | None = None
) -> WebOrder | None:
    """The order already placed with this Idempotency-Key by this storefront credential (`scope`) and the same
    request, or None when the key is new to it; the key with another request is refused (nothing is placed). The
    same key from another credential is another order."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise CentralError(f"the Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters")
    order = session.scalar(
        select(WebOrder).where(WebOrder.idempotency_key == key, WebOrder.idempotency_scope == (scope or ""))
    )
    if order is None:
        return None
    if order.request_hash != request_digest(request):
        raise CentralError(f"Idempotency-Key already used for order {order.number} with another request")
    return order


def placed_here(session: Session, order: WebOrder) -> bool:
    """Whether `place` made this order in the session's current transaction (not a retry's order found again)."""
    return order.id in ledger.tx_cache(session, "placed_orders")


def place(
    session: Session,
    store: Store,
    request: protocol.OrderRequest,
    products: Mapping[str, ProductRef],
    prices: dict[str, Decimal],
    rule: Rule | None = None,
    idempotency_key: str | None = None,
    idempotency_scope: str | None = None,
) -> WebOrder:
    """Route the request, reserve and create the order with its trace, in the caller's transaction.

    The order, its lines, the levels and the feed changes go out in one flush (each table one statement), then
    the trace and the history row as plain INSERTs."""
    rule = rule or rule_from_env()
    wants = [
        Want(n, products[line.sku], line.qty, prices[line.sku]) for n, line in enumerate(request.lines, 1)
    ]
    ship_to = getattr(request, "ship_to", None)
    destination = (float(ship_to.latitude), float(ship_to.longitude)) if ship_to is not None else None
    # With an Idempotency-Key the ordering store is locked too (a pickup locks it anyway): a retry racing the
    # first request waits for it there and then finds its order.
    extra = {store.id} if idempotency_key is not None else set()
    allocation, cands, outcome = _decide(session, request.fulfilment, store, wants, destination, rule, extra)
    if idempotency_key is not None:
        placed = replayed(session, idempotency_key, request, idempotency_scope)
        if placed is not None:
            return placed
    # A shipped order belongs to the store that sends the most of it (its tills pick and pack it).
    counts: dict[int, int] = defaultdict(int)
    for _, c, _ in allocation:
        counts[c.store.id] += 1
    owner = (
        store
        if request.fulfilment != "ship"
        else ledger.locked_store(session, max(counts, key=lambda sid: (counts[sid], -sid)))
    )
    # The owner's lock is held (routing locked it), and its next feed seq (taken by the order's change) names it.
    number = request.number or f"{protocol.ORDER_NUMBER_PREFIX}{owner.code}-{owner.feed_seq + 1:06d}"
    now = utcnow()
    values: dict[str, Any] = {
        "id": uuid7(),
        "store_id": owner.id,
        "number": number,
        "fulfilment": request.fulfilment,
        "status": "new",
        "customer": request.customer.model_dump(exclude_none=True),
        "paid": request.paid is not False,
        "idempotency_key": idempotency_key,
        "idempotency_scope": (idempotency_scope or "") if idempotency_key is not None else None,
        "request_hash": request_digest(request) if idempotency_key is not None else None,
        "created_at": now,
        "updated_at": now,
    }
    # Before this order reserves: in full for the locations chosen, the availability of the others.
    by_id: dict[int, ProductRef] = {w.product.id: w.product for w in wants}
    used = {c.location.id for _, c, _ in allocation}
    seen = [c.seen(by_id, full=c.location.id in used) for c in cands]
    trace = _trace_row(values["id"], "place", rule, outcome, seen, allocation, now)
    # The order, its lines, reservations, feed changes, token, "received" notice, trace and history: one writer.
    order = order_write.write_new_order(session, values, owner, allocation, trace)
    ledger.tx_cache(session, "placed_orders")[order.id] = order
    return order


def hand_back(
    session: Session,
    ident: str,
    line_no: int,
    missing: Decimal,
    reason: str,
    by: str = "store",
    rule: Rule | None = None,
    store_id: int | None = None,
) -> WebOrder:
    """A store cannot fulfil line `line_no` (1-based): `missing` of it is not there (short pick) or not sellable
    (damaged). The reservation is released, the missing quantity leaves the location's stock, and the line is
    routed again (within the order's store for a pickup; anywhere for shipping). When nothing can take it, the line
    stays in the order as "unavailable" with nothing held."""
    rule = rule or rule_from_env()
    if reason not in HANDBACK_REASONS:
        raise CentralError(f"the reason is one of {', '.join(HANDBACK_REASONS)}")
    order = find_order(session, ident)
    if store_id is not None and not any(
        (loc := session.get(Location, ln.location_id)) is not None and loc.store_id == store_id
        for ln in order.lines
    ):
        raise NotFound(f"no web order {ident!r}")  # another store's: not even named
    if order.status in protocol.ORDER_FINAL_STATES:
        raise Conflict(f"order {order.number} is already {order.status}")
    if not 1 <= line_no <= len(order.lines):
        raise NotFound(f"order {order.number} has no line {line_no}")
    line = order.lines[line_no - 1]
    at = session.get(Location, line.location_id)
    assert at is not None
    if store_id is not None and at.store_id != store_id:
        raise Forbidden(f"line {line_no} of order {order.number} is held by another store")
    if line.state != "reserved":
        raise Conflict(f"line {line_no} of order {order.number} is {line.state}: nothing is held for it")
    if not Decimal(0) < missing <= line.qty:
        raise CentralError(f"the missing quantity must be above 0 and at most {ledger.qty_text(line.qty)}")
    product = session.get(Product, line.product_id)
    assert product is not None
    home = session.get(Store, order.store_id)
    assert home is not None
    # Every store this may touch, locked once in id order with the levels (the same order as routing).
    extra = {at.store_id} | (_stores_holding(session, [product.id]) if order.fulfilment == "ship" else set())
    extra.add(home.id)
    cands_before = _lock_and_read(session, extra, [product.id], point(home))
    ledger.change_reserved(session, at, product, -line.qty)
    cause = str(order.id)
    if reason == "damaged":
        quarantine = (
            session.scalar(  # the store's quarantine before any other unsellable place (pickup staging)
                select(Location)
                .where(Location.store_id == at.store_id, Location.sellable.is_(False))
                .order_by(Location.code != "quarantine", Location.id)
            )
        )
        if quarantine is None:
            raise Conflict(f"store has no quarantine location for damaged {product.sku}")
        moves = [(at, -missing), (quarantine, missing)]
        kind = "transfer"
    else:
        moves = [(at, -missing)]
        kind = "adjustment"
    for loc, qty in moves:
        ledger.record_movement(
            session,
            movement_id=uuid7(),
            location=loc,
            product=product,
            qty=qty,
            kind=kind,
            cause_type="handback",
            cause_id=cause,
        )
    # A pickup's store keeps what it still has held on the line where it is; only the missing quantity is routed
    # again, never back to the location that came up short, as new lines (the till follows them: Pickup's lines are
    # the central's). A shipped line is routed again whole, to fewer parcels.
    partial = order.fulfilment in ("pickup", "curbside")
    keep = line.qty - missing if partial else Decimal(0)
    if keep > 0:
        line.qty = keep
        ledger.change_reserved(session, at, product, keep)
    want = Want(line_no, product, missing if partial else line.qty, line.unit_price)
    products: dict[int, ProductRef] = {product.id: product}
    destination = point(home) if order.fulfilment == "ship" else None
    try:
        allocation, cands, outcome = _decide(
            session,
            order.fulfilment,
            home,
            [want],
            destination,
            rule,
            extra,
            locked=extra,
            exclude=at.id if partial else None,
        )
    except Unavailable as exc:
        if keep > 0:
            order_write.add_lines(session, order, [(product, missing, line.unit_price, at, "unavailable")])
        else:
            line.state = "unavailable"
        seen = [c.seen(products) for c in cands_before]
        _trace(session, order, "handback", rule, f"line {line_no} {reason}: {exc}", seen, [])
    else:
        seen = [c.seen(products) for c in cands]
        first, *rest = allocation
        if keep > 0:
            rest = allocation
        else:
            line.qty, line.location_id = first[2], first[1].location.id
            ledger.change_reserved(session, location_row(first[1].location), product, first[2])
        _reserve(session, order, product, rest)
        _trace(session, order, "handback", rule, f"line {line_no} {reason}: {outcome}", seen, allocation)
    session.flush()
    emit_order(session, order)
    session.add(
        OrderStatusHistory(
            order_id=order.id,
            from_status=order.status,
            to_status=order.status,
            by=f"{by}: line {line_no} {reason} {ledger.qty_text(missing)}",
        )
    )
    return order


def traces(session: Session, ident: str) -> tuple[WebOrder, list[RoutingTrace]]:
    """An order's routing decisions, oldest first (for support: `counterline-central order-trace`)."""
    order = find_order(session, ident)
    rows = session.scalars(
        select(RoutingTrace).where(RoutingTrace.order_id == order.id).order_by(RoutingTrace.id)
    ).all()
    return order, list(rows)
