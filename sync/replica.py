"""Applying what the central store says to this terminal's database: the store set up at enrolment, then every page
of the change feed (catalog, prices, tax classes, store stock, web orders and their cancellations, parked sales,
and the sales and returns completed at the store's other tills).

A page and the cursor after it are written in one transaction by `apply_page`, so a terminal killed at any point
either has the whole page or none of it, and pulls it again. Applying a change twice gives the same rows: each
change carries the full state of its key, never a delta.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import (
    CentralStock,
    Location,
    Order,
    ParkedChange,
    Setting,
    StockMovement,
    Store,
    Terminal,
)
from app.ids import new_id
from app.services import numbers, settings
from sync import protocol
from sync.applier import ApplyError, _Applier, _store_tax

CURSOR_KEY = "sync.cursor"


@dataclass(frozen=True)
class PageResult:
    applied: int
    cursor: int
    skipped: bool = False  # another process applied this page first
    parked: int = 0  # changes this till could not apply, kept in parked_changes for review


# ---------------------------------------------------------------- enrolment


def setup_store(session: Session, enrolled: protocol.EnrollResponse, central_url: str) -> list[str]:
    """Make this database the terminal the central store enrolled: its store, terminal code and locations.

    A database that already holds another store's sales is refused rather than mixed: ask for a fresh data dir.
    Returns notes for the person enrolling.
    """
    notes: list[str] = []
    info = enrolled.store
    store = session.scalar(select(Store).limit(1))
    if store is not None and store.code != enrolled.store_code:
        has_facts = session.scalar(select(func.count()).select_from(StockMovement)) or session.scalar(
            select(func.count()).select_from(Order).where(Order.channel == "counter")
        )
        if has_facts:
            raise ApplyError(
                f"this database belongs to store {store.code} and holds its sales and stock; "
                f"enrol into store {enrolled.store_code} with a new --data-dir"
            )
        notes.append(f"store {store.code} (no sales yet) becomes store {enrolled.store_code}")
    if store is None:
        store = Store(
            id=new_id(), code=enrolled.store_code, name=str(info.get("name") or enrolled.store_code)
        )
        session.add(store)
    store.code = enrolled.store_code
    store.name = str(info.get("name") or store.name)
    for attr in ("currency", "locale", "timezone"):
        if info.get(attr):
            setattr(store, attr, str(info[attr]))
    try:
        _store_tax(store, info)
    except ValueError as exc:
        raise ApplyError(
            f"the central store's settings for {enrolled.store_code} cannot be used here: {exc}"
        ) from exc
    session.flush()
    terminal = session.scalar(select(Terminal).limit(1))
    if terminal is None:
        terminal = Terminal(id=new_id(), store_id=store.id, code=enrolled.terminal_code)
        session.add(terminal)
    elif terminal.code != enrolled.terminal_code:
        notes.append(f"terminal {terminal.code} is now terminal {enrolled.terminal_code}")
    terminal.store_id = store.id
    terminal.code = enrolled.terminal_code
    have = {loc.code: loc for loc in session.scalars(select(Location).where(Location.store_id == store.id))}
    for loc in enrolled.locations:
        code = str(loc["code"])
        row = have.get(code)
        if row is None:
            row = Location(id=new_id(), store_id=store.id, code=code, kind=code)
            session.add(row)
        row.name = str(loc.get("name") or code)
        row.sellable = bool(loc.get("sellable", False))
        if code in ("floor", "backroom", "quarantine"):
            row.kind = code
    settings.put(session, "sync.central_url", central_url)
    settings.put(session, CURSOR_KEY, 0)
    # A replacement till (this terminal code was enrolled before): its numbers go on after what the central saw.
    for kind, last in enrolled.numbers.items():
        numbers.continue_after(session, kind, last)
    if enrolled.numbers:
        notes.append(f"terminal {enrolled.terminal_code} was enrolled before: its numbers go on after those")
    session.flush()
    return notes


# ---------------------------------------------------------------- the change feed


def cursor(session: Session) -> int:
    return int(settings.get(session, CURSOR_KEY) or 0)


def apply_page(
    session: Session, expected_cursor: int, page: protocol.PullResponse, park: bool = False
) -> PageResult:
    """Apply one page and move the cursor, in the caller's transaction (begin it IMMEDIATE on SQLite).

    If the stored cursor is no longer `expected_cursor`, another process got there first: nothing is written.
    A change that cannot be applied raises ApplyError; with `park`, each change is applied in a savepoint of its
    own instead, and one that cannot be is kept in parked_changes with the reason while the rest apply (a till
    never waits forever on one change; the sync agent retries a page that failed this way).
    """
    row = session.get(Setting, CURSOR_KEY)
    stored = int(row.value) if row is not None else 0
    if stored != expected_cursor:
        return PageResult(0, stored, skipped=True)
    applier = _Applier(session, park=park)
    applier.apply(page.changes)
    settings.put(session, CURSOR_KEY, page.next_cursor)
    session.flush()
    return PageResult(len(page.changes) - applier.parked, page.next_cursor, parked=applier.parked)


def parked_changes(session: Session) -> list[ParkedChange]:
    """Changes of the feed this till could not apply, oldest first."""
    return list(session.scalars(select(ParkedChange).order_by(ParkedChange.seq)))


# ---------------------------------------------------------------- reading it back


def central_stock(session: Session, sku: str) -> list[CentralStock]:
    """The store's stock of `sku` per location as of the last pull (empty before the first)."""
    return list(
        session.scalars(select(CentralStock).where(CentralStock.sku == sku).order_by(CentralStock.location))
    )
