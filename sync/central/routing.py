"""Routing of web orders: which location fulfils each line, decided and reserved in one transaction.

The rule (stated by `Rule.describe`, configurable through COUNTERLINE_ROUTING_RULE):
- pickup or curbside: the chosen store, when its sellable locations have every line available to promise; otherwise
  nothing is reserved and the refusal names the nearest store that has every line (by the stores' coordinates, else
  by code), or offers shipping.
- ship: the one location that can send every line, nearest to the address (coordinates) or else ranked (the
  ordering store first, then the nearest to it, then by store code); only when no one location can, the lines are
  split over the fewest locations (at most `max_shipments`), the first such set in rank order.

Locks: the stores concerned are locked in the order of their ids (`ledger.lock_store`, as the tills' pushes do),
then their stock levels row by row in (location, product) order with SELECT ... FOR UPDATE, and availability is
read again under them. So two orders never deadlock and never reserve more than is available.

A store that cannot fulfil a line hands it back (`hand_back`): its reservation is released, what the store
reported missing leaves its stock (a short pick is an adjustment, damaged goods move to quarantine), and the line is
routed again. Each decision is kept as a `RoutingTrace` (rule, candidates with the stock seen, choice).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from uuid6 import uuid7

from sync import protocol
from sync.central import ledger, stock
from sync.central.models import (
    Location,
    OrderStatusHistory,
    Price,
    Product,
    RoutingTrace,
    StockLevel,
    Store,
    WebOrder,
    WebOrderLine,
)
from sync.central.service.base import CentralError, Conflict, Forbidden, NotFound
from sync.central.service.order_state import find_order, order_payload

RULE_ENV = "COUNTERLINE_ROUTING_RULE"
HANDBACK_REASONS = ("short", "damaged")
IDEMPOTENCY_KEY_MAX = 128
MAX_SPLIT_CANDIDATES = 12  # locations tried for a split, in rank order (12 choose 3 = 220 sets at most)


class Unavailable(Conflict):
    """The order cannot be routed by the rule; `alternatives` says what could be offered instead."""

    def __init__(self, message: str, alternatives: dict[str, Any]) -> None:
        super().__init__(message)
        self.alternatives = alternatives


@dataclass(frozen=True)
class Rule:
    split: bool = True
    max_shipments: int = 3

    def describe(self) -> str:
        split = f"split over at most {self.max_shipments} locations" if self.split else "never split"
        return (
            "pickup/curbside: the chosen store with every line, else name the nearest store with every line or "
            f"offer shipping; ship: the one location with every line, nearest first (else own store, then code); "
            f"{split}"
        )


def rule_from_env() -> Rule:
    """The rule from COUNTERLINE_ROUTING_RULE, e.g. `split=no` or `max_shipments=2` (comma separated)."""
    text = os.environ.get(RULE_ENV, "").strip()
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, value = part.partition("=")
        if name == "split" and value in ("yes", "no"):
            values["split"] = value == "yes"
        elif name == "max_shipments" and value.isdigit() and int(value) >= 1:
            values["max_shipments"] = int(value)
        else:
            raise CentralError(f"{RULE_ENV}: {part!r} is not split=yes|no or max_shipments=N")
    return Rule(**values)


@dataclass
class Candidate:
    """A sellable location and what each product has there, read under the lock."""

    store: Store
    location: Location
    distance_km: float | None
    levels: dict[int, StockLevel] = field(default_factory=dict)
    safety: dict[int, Decimal] = field(default_factory=dict)

    def atp(self, product_id: int) -> Decimal:
        level = self.levels.get(product_id)
        if level is None:
            return Decimal(0)
        return stock.available_to_promise(level, self.safety.get(product_id, Decimal(0)))

    def seen(self, products: dict[int, Product]) -> dict[str, Any]:
        out: dict[str, Any] = {"store": self.store.code, "location": self.location.code}
        if self.distance_km is not None:
            out["distance_km"] = round(self.distance_km, 1)
        out["stock"] = {
            products[pid].sku: {
                "on_hand": ledger.qty_text(lvl.on_hand),
                "reserved": ledger.qty_text(lvl.reserved),
                "safety": ledger.qty_text(self.safety.get(pid, Decimal(0))),
                "available": ledger.qty_text(self.atp(pid)),
            }
            for pid, lvl in sorted(self.levels.items())
        }
        return out


@dataclass(frozen=True)
class Want:
    """One line to place: its number in the order (1-based), product, quantity and unit price."""

    line_no: int
    product: Product
    qty: Decimal
    unit_price: Decimal


def distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Great-circle distance (haversine), or None when either point is unknown."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


def _point(store: Store) -> tuple[float, float] | None:
    if store.latitude is None or store.longitude is None:
        return None
    return (store.latitude, store.longitude)


def _demand(wants: Sequence[Want]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = defaultdict(Decimal)
    for w in wants:
        out[w.product.id] += w.qty
    return dict(out)


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


def _lock_and_read(
    session: Session, store_ids: Iterable[int], product_ids: Iterable[int], origin: tuple[float, float] | None
) -> list[Candidate]:
    """Lock the stores (id order), then their levels of these products ((location, product) order, FOR UPDATE),
    and return their sellable locations as candidates with what they hold."""
    ids = sorted(set(store_ids))
    pids = sorted(set(product_ids))
    stores = ledger.lock_stores(session, ids)
    locations = session.scalars(
        select(Location)
        .where(Location.store_id.in_(ids), Location.sellable.is_(True))
        .order_by(Location.store_id, Location.id)
    ).all()
    safety = stock.safety_stock(session, ids, pids)
    cands = {
        loc.id: Candidate(
            store=stores[loc.store_id],
            location=loc,
            distance_km=distance_km(origin, _point(stores[loc.store_id])),
            safety={pid: safety[(loc.store_id, pid)] for pid in pids},
        )
        for loc in locations
    }
    cache = ledger.tx_cache(session, "levels")
    for level in session.scalars(
        select(StockLevel)
        .where(StockLevel.location_id.in_(sorted(cands)), StockLevel.product_id.in_(pids))
        .order_by(StockLevel.location_id, StockLevel.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        cache[(level.location_id, level.product_id)] = level
        cands[level.location_id].levels[level.product_id] = level
    return list(cands.values())


def _covers(cands: Sequence[Candidate], demand: dict[int, Decimal]) -> bool:
    return all(sum((c.atp(pid) for c in cands), Decimal(0)) >= qty for pid, qty in demand.items())


def _allocate(cands: Sequence[Candidate], wants: Sequence[Want]) -> list[tuple[Want, Candidate, Decimal]]:
    """Each line from the first candidate (in the order given) that has all of it, else split over them."""
    left = {(id(c), pid): c.atp(pid) for c in cands for pid in {w.product.id for w in wants}}
    out: list[tuple[Want, Candidate, Decimal]] = []
    for w in wants:
        pid = w.product.id
        whole = next((c for c in cands if left[(id(c), pid)] >= w.qty), None)
        parts = [(whole, w.qty)] if whole is not None else []
        if whole is None:
            need = w.qty
            for c in cands:
                take = min(need, left[(id(c), pid)])
                if take > 0:
                    parts.append((c, take))
                    need -= take
                if need == 0:
                    break
            if need > 0:
                raise AssertionError("allocation beyond what was checked available")
        for c, qty in parts:
            assert c is not None
            left[(id(c), pid)] -= qty
            out.append((w, c, qty))
    return out


def _rank(cands: list[Candidate], home: Store) -> list[Candidate]:
    def key(c: Candidate) -> tuple[Any, ...]:
        known = c.distance_km is not None
        return (not known, c.distance_km or 0.0, c.store.id != home.id, c.store.code, c.location.id)

    return sorted(cands, key=key)


def _fewest(cands: list[Candidate], demand: dict[int, Decimal], rule: Rule) -> list[Candidate] | None:
    """The one location with everything, else (when the rule splits) the first smallest set in rank order."""
    for c in cands:
        if _covers([c], demand):
            return [c]
    if not rule.split:
        return None
    useful = [c for c in cands if any(c.atp(pid) > 0 for pid in demand)][:MAX_SPLIT_CANDIDATES]
    for size in range(2, min(rule.max_shipments, len(useful)) + 1):
        for combo in combinations(useful, size):
            if _covers(combo, demand):
                return list(combo)
    return None


def _short_text(cands: Sequence[Candidate], demand: dict[int, Decimal], products: dict[int, Product]) -> str:
    parts = []
    for pid, qty in sorted(demand.items()):
        have = sum((c.atp(pid) for c in cands), Decimal(0))
        if have < qty:
            parts.append(f"only {ledger.qty_text(have)} of {products[pid].sku} available")
    return "; ".join(parts)


def _pickup_alternatives(
    session: Session, home: Store, demand: dict[int, Decimal], rule: Rule
) -> dict[str, Any]:
    """The other stores (nearest first) whose sellable locations have every line available, and whether the
    order could ship instead, read without locks (nothing is reserved on them)."""
    holding = _stores_holding(session, demand) | {home.id}
    cands = _read_unlocked(session, holding, demand, _point(home))
    by_store: dict[int, list[Candidate]] = defaultdict(list)
    for c in cands:
        by_store[c.store.id].append(c)
    found: list[dict[str, Any]] = []
    for store_id, group in by_store.items():
        if store_id != home.id and _covers(group, demand):
            entry: dict[str, Any] = {"store": group[0].store.code}
            if group[0].distance_km is not None:
                entry["distance_km"] = round(group[0].distance_km, 1)
            found.append(entry)
    found.sort(key=lambda e: (e.get("distance_km") is None, e.get("distance_km", 0.0), e["store"]))
    return {"pickup_at": found, "ship": _fewest(_rank(cands, home), demand, rule) is not None}


def _read_unlocked(
    session: Session, store_ids: Iterable[int], demand: dict[int, Decimal], origin: tuple[float, float] | None
) -> list[Candidate]:
    ids, pids = sorted(set(store_ids)), sorted(demand)
    stores = {s.id: s for s in session.scalars(select(Store).where(Store.id.in_(ids)))}
    safety = stock.safety_stock(session, ids, pids)
    cands: dict[int, Candidate] = {}
    for level, loc in session.execute(
        select(StockLevel, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(Location.store_id.in_(ids), Location.sellable.is_(True), StockLevel.product_id.in_(pids))
    ):
        c = cands.get(loc.id)
        if c is None:
            store = stores[loc.store_id]
            c = cands[loc.id] = Candidate(
                store=store,
                location=loc,
                distance_km=distance_km(origin, _point(store)),
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
) -> tuple[list[tuple[Want, Candidate, Decimal]], list[Candidate], str]:
    """Lock, read and choose; returns the allocation, the candidates seen and the outcome in words. Raises
    Unavailable when the rule finds no place (nothing reserved)."""
    demand = _demand(wants)
    products = {w.product.id: w.product for w in wants}
    if fulfilment in ("pickup", "curbside"):
        cands = _lock_and_read(session, {home.id, *extra_stores}, demand, _point(home))
        own = [c for c in cands if c.store.id == home.id]
        if _covers(own, demand):
            return _allocate(own, wants), cands, f"{fulfilment} at {home.code}: every line available there"
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
            f"not available for {fulfilment} at {home.code} ({_short_text(own, demand, products)}): {offer}",
            alternatives,
        )
    origin = destination if destination is not None else _point(home)
    holding = _stores_holding(session, demand)
    if locked is not None:
        # Only stores already locked: one taken now out of id order could deadlock with another order.
        holding &= locked
    cands = _rank(_lock_and_read(session, holding | {home.id, *extra_stores}, demand, origin), home)
    chosen = _fewest(cands, demand, rule)
    if chosen is None:
        short = _short_text(cands, demand, products) or "no set of locations the rule allows has every line"
        raise Unavailable(f"cannot ship from any location: {short}", {"pickup_at": [], "ship": False})
    where = ", ".join(f"{c.store.code}/{c.location.code}" for c in chosen)
    how = "one location has every line" if len(chosen) == 1 else f"split over {len(chosen)} locations"
    return _allocate(chosen, wants), cands, f"ship from {where}: {how}"


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
    session.add(
        RoutingTrace(
            order_id=order.id,
            kind=kind,
            rule=rule.describe()[:300],
            outcome=outcome[:300],
            candidates=seen,
            chosen=[
                {
                    "line": w.line_no,
                    "sku": w.product.sku,
                    "qty": ledger.qty_text(qty),
                    "store": c.store.code,
                    "location": c.location.code,
                }
                for w, c, qty in allocation
            ],
        )
    )


def _reserve(
    session: Session, order: WebOrder, allocation: Sequence[tuple[Want, Candidate, Decimal]]
) -> list[WebOrderLine]:
    lines = []
    for w, c, qty in allocation:
        line = WebOrderLine(
            product_id=w.product.id,
            sku=w.product.sku,
            qty=qty,
            unit_price=w.unit_price,
            location_id=c.location.id,
            state="reserved",
        )
        order.lines.append(line)
        ledger.change_reserved(session, c.location, w.product, qty)
        lines.append(line)
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
    """A digest of what the storefront asked for, to tell a retry from another order under the same key."""
    text = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def replayed(session: Session, key: str, request: protocol.OrderRequest) -> WebOrder | None:
    """The order already placed with this Idempotency-Key and the same request, or None when the key is new;
    the key with another request is refused (nothing is placed)."""
    if not 1 <= len(key) <= IDEMPOTENCY_KEY_MAX or not key.isascii() or not key.isprintable():
        raise CentralError(f"the Idempotency-Key is 1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters")
    order = session.scalar(select(WebOrder).where(WebOrder.idempotency_key == key))
    if order is None:
        return None
    if order.request_hash != request_digest(request):
        raise CentralError(f"Idempotency-Key already used for order {order.number} with another request")
    return order


def place(
    session: Session,
    store: Store,
    request: protocol.OrderRequest,
    products: dict[str, Product],
    prices: dict[str, Price],
    rule: Rule | None = None,
    idempotency_key: str | None = None,
) -> WebOrder:
    """Route the request, reserve and create the order with its trace, in the caller's transaction."""
    rule = rule or rule_from_env()
    wants = [
        Want(n, products[line.sku], line.qty, prices[line.sku].price)
        for n, line in enumerate(request.lines, 1)
    ]
    ship_to = getattr(request, "ship_to", None)
    destination = (float(ship_to.latitude), float(ship_to.longitude)) if ship_to is not None else None
    allocation, cands, outcome = _decide(session, request.fulfilment, store, wants, destination, rule)
    if idempotency_key is not None:
        # Looked up again under the ordering store's lock: a retry that raced the first request waited for it.
        placed = replayed(session, idempotency_key, request)
        if placed is not None:
            return placed
    # A shipped order belongs to the store that sends the most of it (its tills pick and pack it).
    counts: dict[int, int] = defaultdict(int)
    owners: dict[int, Store] = {store.id: store}
    for _, c, _ in allocation:
        counts[c.store.id] += 1
        owners[c.store.id] = c.store
    owner = (
        store if request.fulfilment != "ship" else owners[max(counts, key=lambda sid: (counts[sid], -sid))]
    )
    # The owner's lock is held (routing locked it), and its next feed seq (taken by the order's change) names it.
    number = request.number or f"{protocol.ORDER_NUMBER_PREFIX}{owner.code}-{owner.feed_seq + 1:06d}"
    if session.scalar(select(WebOrder.id).where(WebOrder.number == number)) is not None:
        raise Conflict(f"order number {number} already exists")
    order = WebOrder(
        id=uuid7(),
        store_id=owner.id,
        number=number,
        fulfilment=request.fulfilment,
        status="new",
        customer=request.customer.model_dump(exclude_none=True),
        idempotency_key=idempotency_key,
        request_hash=request_digest(request) if idempotency_key is not None else None,
    )
    session.add(order)
    seen = [c.seen({w.product.id: w.product for w in wants}) for c in cands]  # before this order reserves
    _reserve(session, order, allocation)
    _trace(session, order, "place", rule, outcome, seen, allocation)
    session.add(OrderStatusHistory(order_id=order.id, from_status=None, to_status="new", by="storefront"))
    emit_order(session, order)
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
    cands_before = _lock_and_read(session, extra, [product.id], _point(home))
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
    want = Want(line_no, product, line.qty, line.unit_price)
    products = {product.id: product}
    destination = _point(home) if order.fulfilment == "ship" else None
    try:
        allocation, cands, outcome = _decide(
            session, order.fulfilment, home, [want], destination, rule, extra, locked=extra
        )
    except Unavailable as exc:
        line.state = "unavailable"
        seen = [c.seen(products) for c in cands_before]
        _trace(session, order, "handback", rule, f"line {line_no} {reason}: {exc}", seen, [])
    else:
        seen = [c.seen(products) for c in cands]
        first, *rest = allocation
        line.qty, line.location_id = first[2], first[1].location.id
        ledger.change_reserved(session, first[1].location, product, first[2])
        _reserve(session, order, rest)
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
