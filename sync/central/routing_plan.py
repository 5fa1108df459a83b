"""A ship order's plan: chosen on a read without locks, then checked under the locks of only the plan's stores.

`sync.central.routing` calls `ship_planned` first for every new ship order; None sends it to the old way (every
candidate store locked in id order, the choice made under the locks). See routing's text for why it is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, select, text
from sqlalchemy.orm import Session

from sync.central import ledger
from sync.central.models import Location, Qty, SafetyStock, StockLevel, Store
from sync.central.routing_rule import (
    Candidate,
    Level,
    PlanLocation,
    PlanStore,
    Rule,
    Want,
    allocate,
    covers,
    distance_km,
    fewest,
    point,
    rank,
)

SAVEPOINT = "routing_plan"


def safety_of_level() -> ColumnElement[Any]:
    """The safety stock of a stock level's (store, product), as a column of a query of stock levels (NULL for none):
    the most specific setting, as `stock.safety_stock` chooses it (store and product, else the product's, else the
    store's), read in the same statement as the levels instead of one query more."""

    def setting(*where: ColumnElement[bool]) -> Any:
        return (
            select(SafetyStock.qty)
            .where(*where)
            .order_by(SafetyStock.id.desc())
            .limit(1)
            .correlate(StockLevel)
            .scalar_subquery()
        )

    return func.coalesce(
        setting(SafetyStock.store_id == StockLevel.store_id, SafetyStock.product_id == StockLevel.product_id),
        setting(SafetyStock.store_id.is_(None), SafetyStock.product_id == StockLevel.product_id),
        setting(SafetyStock.store_id == StockLevel.store_id, SafetyStock.product_id.is_(None)),
        type_=Qty,
    )


# A level's quantities as plain values (no ORM object per level: routing reads many and writes few, and the
# order's writer writes those few itself).
LEVEL_COLUMNS = (StockLevel.location_id, StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved)


def level_of(row: Any) -> Level:
    """The `Level` of a row whose first columns are LEVEL_COLUMNS."""
    return Level(row[0], row[1], row[2], row[3])


def read_for_plan(
    session: Session, home: Store, demand: dict[int, Decimal], origin: tuple[float, float] | None
) -> list[Candidate]:
    """Without locks: every sellable location with some of these products free (and the ordering store's) with
    what it holds, its store and the safety stock, in one query."""
    pids = sorted(demand)
    rows = session.execute(_PLAN_READ, {"pids": pids, "home": home.id}).all()
    cands: dict[int, Candidate] = {}
    stores: dict[int, PlanStore] = {}
    for row in rows:
        level = level_of(row)
        c = cands.get(level.location_id)
        if c is None:
            store = stores.get(row[6])
            if store is None:
                store = stores[row[6]] = PlanStore(row[6], row[7], row[8], row[9])
            c = cands[level.location_id] = Candidate(
                store=store,
                location=PlanLocation(level.location_id, row[4], row[5]),
                distance_km=distance_km(origin, point(store)),
                safety=dict.fromkeys(pids, Decimal(0)),
            )
        c.levels[level.product_id] = level
        c.safety[level.product_id] = row[10] or Decimal(0)
    return list(cands.values())


# Built once: a statement object keeps its cache key, so executing it again skips building and keying it.
_PLAN_READ = (
    select(
        *LEVEL_COLUMNS,
        Location.code,
        Location.store_id,
        Store.id,
        Store.code,
        Store.latitude,
        Store.longitude,
        safety_of_level(),
    )
    .join(Location, Location.id == StockLevel.location_id)
    .join(Store, Store.id == Location.store_id)
    .where(StockLevel.product_id.in_(bindparam("pids", expanding=True)), Location.sellable.is_(True))
    .where((StockLevel.on_hand > StockLevel.reserved) | (Location.store_id == bindparam("home")))
)
_PLAN_LOCK = (
    select(*LEVEL_COLUMNS, Location)
    .join(Location, Location.id == StockLevel.location_id)
    .where(
        StockLevel.location_id.in_(bindparam("locs", expanding=True)),
        StockLevel.product_id.in_(bindparam("pids", expanding=True)),
    )
    .order_by(StockLevel.location_id, StockLevel.product_id)
    .with_for_update(of=StockLevel)
)


def ship_planned(
    session: Session,
    home: Store,
    wants: Sequence[Want],
    demand: dict[int, Decimal],
    origin: tuple[float, float] | None,
    rule: Rule,
    extra_stores: Iterable[int],
) -> tuple[tuple[list[tuple[Want, Candidate, Decimal]], list[Candidate], str] | None, bool]:
    """A ship order's plan chosen on a read without locks, then checked under the locks of only its stores (and
    `extra_stores`), in id order, in a savepoint. None when the plan no longer holds under the locks (someone took
    the stock meanwhile) or there was none: the savepoint is rolled back, which releases those locks, so the caller
    can lock every candidate store in id order without ever holding one out of order. The flag says whether a
    plan was tried under locks."""
    seen = rank(read_for_plan(session, home, demand, origin), home)
    plan = fewest(seen, demand, rule)
    if plan is None:
        return None, False
    lock_ids = {c.store.id for c in plan} | set(extra_stores)
    # A plain SAVEPOINT, never released when the plan holds (the transaction goes on inside it and commits it): one
    # round trip fewer than the session's own nested transaction, whose RELEASE is one more. Nothing is pending before
    # it (the plan's read flushed) and only locks are taken in it, so rolling back to it leaves no object stale.
    session.execute(text(f"SAVEPOINT {SAVEPOINT}"))
    stores = ledger.lock_stores(session, lock_ids)
    by_location = {c.location.id: c for c in plan}
    # The plan's levels again, now under their lock ((location, product) order), with their locations as rows: the
    # plan's candidates from now on hold the rows of their store and location (the order's writer names them).
    locked: dict[int, Candidate] = {}
    for row in session.execute(_PLAN_LOCK, {"locs": sorted(by_location), "pids": sorted(demand)}):
        level, loc = level_of(row), row[4]
        c = locked.get(loc.id)
        if c is None:
            was = by_location[loc.id]
            c = locked[loc.id] = Candidate(stores[loc.store_id], loc, was.distance_km, safety=was.safety)
        c.levels[level.product_id] = level
    plan = [locked.get(c.location.id) or Candidate(c.store, c.location, c.distance_km) for c in plan]
    seen = [locked.get(c.location.id, c) for c in seen]
    if len(locked) == len(by_location) and covers(plan, demand):
        where = ", ".join(f"{c.store.code}/{c.location.code}" for c in plan)
        how = "one location has every line" if len(plan) == 1 else f"split over {len(plan)} locations"
        return (allocate(plan, wants), seen, f"ship from {where}: {how}"), True
    session.execute(text(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}"))
    forget_locks(session, lock_ids)
    return None, True


def forget_locks(session: Session, store_ids: Iterable[int]) -> None:
    """After a savepoint that took these stores' locks was rolled back: they are no longer held, and the levels
    read under them are no longer this transaction's to trust."""
    held = session.info.get("locked_stores", {})
    gone = set(store_ids)
    for store_id in gone:
        held.pop(store_id, None)
    cache = ledger.tx_cache(session, "levels")
    for key in [k for k, level in cache.items() if level.store_id in gone]:
        del cache[key]  # ORM levels another step of the transaction read under those locks
