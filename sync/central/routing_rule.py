"""The routing rule of web orders, apart from the database: the rule and its setting, the candidate locations
with what each has available, and the pure choice among them (rank, the fewest locations that cover the order,
the allocation of each line). `sync.central.routing` reads and locks the rows and applies it.
"""

from __future__ import annotations

import math
import os
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any, Protocol

from sync.central import ledger, stock
from sync.central.models import Location
from sync.central.service.base import CentralError, Conflict

RULE_ENV = "COUNTERLINE_ROUTING_RULE"
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


def location_row(ref: LocationRef) -> Location:
    """The row of a candidate's location: what routing allocates from was read under its lock, as a row."""
    if not isinstance(ref, Location):
        raise AssertionError(f"location {ref.code} of an allocation was not read under its lock")
    return ref


@dataclass(frozen=True, slots=True)
class Level:
    """A stock level's quantities as routing read them (plain values: the order's writer, not the ORM, writes what
    routing changes; see sync.central.order_write)."""

    location_id: int
    product_id: int
    on_hand: Decimal
    reserved: Decimal


class StoreRef(Protocol):
    """What routing's choice reads of a store: a `Store` row, or a plan's plain read of one (`PlanStore`)."""

    @property
    def id(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def latitude(self) -> float | None: ...

    @property
    def longitude(self) -> float | None: ...


class LocationRef(Protocol):
    """What routing's choice reads of a location: a `Location` row, or a plan's plain read of one."""

    @property
    def id(self) -> int: ...

    @property
    def code(self) -> str: ...

    @property
    def store_id(self) -> int: ...


class ProductRef(Protocol):
    """What routing reads of a product: a `Product` row (a hand-back's), or a placed order's plain read of one."""

    @property
    def id(self) -> int: ...

    @property
    def sku(self) -> str: ...


@dataclass(frozen=True, slots=True)
class PlanStore:
    """A store as a ship order's plan reads it without locks (no ORM object for each of the chain's stores)."""

    id: int
    code: str
    latitude: float | None
    longitude: float | None


@dataclass(frozen=True, slots=True)
class PlanLocation:
    id: int
    code: str
    store_id: int


@dataclass
class Candidate:
    """A sellable location and what each product has there, read under the lock (or, for a ship order's plan,
    without locks: then its store and location are plain values until the plan's are locked and read as rows)."""

    store: StoreRef
    location: LocationRef
    distance_km: float | None
    levels: dict[int, Level] = field(default_factory=dict)
    safety: dict[int, Decimal] = field(default_factory=dict)

    def atp(self, product_id: int) -> Decimal:
        level = self.levels.get(product_id)
        if level is None:
            return Decimal(0)
        return stock.available_to_promise(level, self.safety.get(product_id, Decimal(0)))

    def seen(self, products: dict[int, ProductRef], full: bool = True) -> dict[str, Any]:
        """What the trace keeps of this candidate: where it is, and for each product what was available to promise
        there, with the on-hand, reserved and safety stock behind it when `full` (a new order's trace keeps those
        for the locations it chose only: the others' availability is what the rule compared)."""
        out: dict[str, Any] = {"store": self.store.code, "location": self.location.code}
        if self.distance_km is not None:
            out["distance_km"] = round(self.distance_km, 1)
        stock_seen: dict[str, Any] = {}
        for pid, lvl in sorted(self.levels.items()):
            safety = self.safety.get(pid, _ZERO)
            available = stock.available_to_promise(lvl, safety)
            if full:
                stock_seen[products[pid].sku] = {
                    "on_hand": _qty_text(lvl.on_hand),
                    "reserved": _qty_text(lvl.reserved),
                    "safety": _qty_text(safety),
                    "available": _qty_text(available),
                }
            else:
                stock_seen[products[pid].sku] = {"available": _qty_text(available)}
        out["stock"] = stock_seen
        return out


_ZERO = Decimal(0)
_MILLI = Decimal("0.001")


def _qty_text(value: Decimal) -> str:
    """`ledger.qty_text` of a Decimal (the trace formats many): 3 places."""
    return str(value.quantize(_MILLI))


@dataclass(frozen=True)
class Want:
    """One line to place: its number in the order (1-based), product, quantity and unit price."""

    line_no: int
    product: ProductRef
    qty: Decimal
    unit_price: Decimal


def distance_km(a: tuple[float, float] | None, b: tuple[float, float] | None) -> float | None:
    """Great-circle distance (haversine), or None when either point is unknown."""
    if a is None or b is None:
        return None
    lat1, lon1, lat2, lon2 = map(math.radians, (a[0], a[1], b[0], b[1]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 6371.0 * 2 * math.asin(math.sqrt(min(1.0, h)))


def point(store: StoreRef) -> tuple[float, float] | None:
    if store.latitude is None or store.longitude is None:
        return None
    return (store.latitude, store.longitude)


def demand_of(wants: Sequence[Want]) -> dict[int, Decimal]:
    out: dict[int, Decimal] = defaultdict(Decimal)
    for w in wants:
        out[w.product.id] += w.qty
    return dict(out)


def covers(cands: Sequence[Candidate], demand: dict[int, Decimal]) -> bool:
    return all(sum((c.atp(pid) for c in cands), Decimal(0)) >= qty for pid, qty in demand.items())


def allocate(cands: Sequence[Candidate], wants: Sequence[Want]) -> list[tuple[Want, Candidate, Decimal]]:
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


def rank(cands: list[Candidate], home: StoreRef) -> list[Candidate]:
    def key(c: Candidate) -> tuple[Any, ...]:
        known = c.distance_km is not None
        return (not known, c.distance_km or 0.0, c.store.id != home.id, c.store.code, c.location.id)

    return sorted(cands, key=key)


def fewest(cands: list[Candidate], demand: dict[int, Decimal], rule: Rule) -> list[Candidate] | None:
    """The one location with everything, else (when the rule splits) the first smallest set in rank order."""
    for c in cands:
        if covers([c], demand):
            return [c]
    if not rule.split:
        return None
    useful = [c for c in cands if any(c.atp(pid) > 0 for pid in demand)][:MAX_SPLIT_CANDIDATES]
    for size in range(2, min(rule.max_shipments, len(useful)) + 1):
        for combo in combinations(useful, size):
            if covers(combo, demand):
                return list(combo)
    return None


def short_text(
    cands: Sequence[Candidate], demand: dict[int, Decimal], products: dict[int, ProductRef]
) -> str:
    parts = []
    for pid, qty in sorted(demand.items()):
        have = sum((c.atp(pid) for c in cands), Decimal(0))
        if have < qty:
            parts.append(f"only {ledger.qty_text(have)} of {products[pid].sku} available")
    return "; ".join(parts)
