"""A ship order's plan: chosen on a read without locks, then checked under the locks of only the plan's stores.

`sync.central.routing` calls `ship_planned` first for every new ship order; None sends it to the old way (every
candidate store locked in id order, the choice made under the locks). See routing's text for why it is safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync.central import ledger, stock
from sync.central.models import Location, StockLevel, Store
from sync.central.routing_rule import (
    Candidate,
    Rule,
    Want,
    allocate,
    covers,
    distance_km,
    fewest,
    point,
    rank,
)


def read_for_plan(
    session: Session, home: Store, demand: dict[int, Decimal], origin: tuple[float, float] | None
) -> list[Candidate]:
    """Without locks: every sellable location with some of these products free (and the ordering store's) with
    what it holds, their stores, and the safety stock: three queries."""
    pids = sorted(demand)
    rows = session.execute(
        select(StockLevel, Location)
        .join(Location, Location.id == StockLevel.location_id)
        .where(StockLevel.product_id.in_(pids), Location.sellable.is_(True))
        .where((StockLevel.on_hand > StockLevel.reserved) | (Location.store_id == home.id))
        .execution_options(populate_existing=True)
    ).all()
    ids = sorted({loc.store_id for _, loc in rows})
    # The stores once each (not joined to every level: a store's row is rewritten at every change of its feed).
    stores = {st.id: st for st in session.scalars(select(Store).where(Store.id.in_(ids)))}
    safety = stock.safety_stock(session, ids, pids)
    cands: dict[int, Candidate] = {}
    for level, loc in rows:
        store = stores[loc.store_id]
        c = cands.get(loc.id)
        if c is None:
            c = cands[loc.id] = Candidate(
                store=store,
                location=loc,
                distance_km=distance_km(origin, point(store)),
                safety={pid: safety[(store.id, pid)] for pid in pids},
            )
        c.levels[level.product_id] = level
    return list(cands.values())


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
    savepoint = session.begin_nested()
    ledger.lock_stores(session, lock_ids)
    cache = ledger.tx_cache(session, "levels")
    by_location = {c.location.id: c for c in plan}
    for c in plan:
        c.levels.clear()
    for level in session.scalars(  # the plan's levels again, now under their lock ((location, product) order)
        select(StockLevel)
        .where(StockLevel.location_id.in_(sorted(by_location)), StockLevel.product_id.in_(sorted(demand)))
        .order_by(StockLevel.location_id, StockLevel.product_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ):
        cache[(level.location_id, level.product_id)] = level
        by_location[level.location_id].levels[level.product_id] = level
    if covers(plan, demand):
        savepoint.commit()  # RELEASE: the locks stay with the transaction
        where = ", ".join(f"{c.store.code}/{c.location.code}" for c in plan)
        how = "one location has every line" if len(plan) == 1 else f"split over {len(plan)} locations"
        return (allocate(plan, wants), seen, f"ship from {where}: {how}"), True
    savepoint.rollback()
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
        del cache[key]
