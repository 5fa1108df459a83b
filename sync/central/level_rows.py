"""Stock levels as a push's batch holds them under its store's lock (`PlainLevel`), and the one write of a
transaction's changed and new levels (`write_levels`) that `ledger.write_staged` makes before the rows it staged."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, inspect, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from sync.central.models import StockLevel


class PlainLevel:
    """A stock level as a push's batch of sales and movements holds it under the store's lock: plain values, not an
    ORM object (`start_staging(plain_levels=True)`); `write_staged` writes the ones changed or new. Read as ORM
    objects, a batch's two hundred levels were loaded into the identity map, their changes tracked attribute by
    attribute, checked one by one for what changed, and expired at the commit, all under the store's lock."""

    __slots__ = ("location_id", "product_id", "store_id", "on_hand", "reserved", "stored")

    def __init__(
        self,
        location_id: int,
        product_id: int,
        store_id: int,
        on_hand: Decimal,
        reserved: Decimal,
        stored: bool,
    ) -> None:
        self.location_id = location_id
        self.product_id = product_id
        self.store_id = store_id
        self.on_hand = on_hand
        self.reserved = reserved
        # The quantities as the database has them; None while the level is not in it yet.
        self.stored: tuple[Decimal, Decimal] | None = (on_hand, reserved) if stored else None

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


Level = StockLevel | PlainLevel


_LEVEL_VALUES = frozenset({"on_hand", "reserved"})


def write_levels(session: Session, levels: Iterable[Level], postgres: bool) -> None:
    """The levels of `levels` (a transaction's cache of them, `ledger.get_level`) that changed, written with one
    statement for those that changed and one for those that are new, instead of one UPDATE each at the flush; they
    are then as stored, so the flush leaves them alone. Every `PlainLevel`; on PostgreSQL also the ORM levels
    changed in their quantities alone (on SQLite, and for a level made or changed otherwise, the flush writes ORM
    levels)."""
    orm: list[StockLevel] = []
    plain: list[PlainLevel] = []
    new: list[PlainLevel] = []
    for level in levels:
        if isinstance(level, PlainLevel):
            if level.stored is None:
                new.append(level)
            elif level.stored != (level.on_hand, level.reserved):
                plain.append(level)
        elif postgres:
            state: Any = inspect(level)
            if state.persistent and state.committed_state and _LEVEL_VALUES.issuperset(state.committed_state):
                orm.append(level)
    changed: list[Level] = [*orm, *plain]
    # Not through the session: an autoflush here would write the ORM levels one by one first.
    conn = session.connection()
    if changed and postgres:
        qty = StockLevel.__table__.c.on_hand.type._cached_bind_processor(conn.dialect)
        assert qty is not None

        def raw(values: Iterable[Decimal]) -> list[int]:
            return [qty(value) for value in values]

        result: Any = conn.execute(
            _UPDATE_LEVELS_FROM_ARRAYS,
            {
                "loc": [level.location_id for level in changed],
                "prod": [level.product_id for level in changed],
                "on_hand": raw(level.on_hand for level in changed),
                "reserved": raw(level.reserved for level in changed),
            },
        )
        if result.rowcount != len(changed):
            raise RuntimeError(f"{len(changed)} stock levels written, {result.rowcount} found")
    elif changed:  # SQLite: the plain ones, one executemany
        conn.execute(
            _UPDATE_LEVEL,
            [
                {
                    "at": level.location_id,
                    "of": level.product_id,
                    "on_hand": level.on_hand,
                    "reserved": level.reserved,
                }
                for level in changed
            ],
        )
    if new:
        conn.execute(insert(_LEVELS), [_level_values(level) for level in new])
    for level in orm:
        set_committed_value(level, "on_hand", level.on_hand)
        set_committed_value(level, "reserved", level.reserved)
    for level in [*plain, *new]:
        level.stored = (level.on_hand, level.reserved)


def _level_values(level: Level) -> dict[str, Any]:
    return {
        "location_id": level.location_id,
        "product_id": level.product_id,
        "store_id": level.store_id,
        "on_hand": level.on_hand,
        "reserved": level.reserved,
    }


_LEVELS = cast(Table, StockLevel.__table__)
# Made once, not at every write (a `text()` parses its statement for parameters when made).
_UPDATE_LEVELS_FROM_ARRAYS = text(
    "UPDATE stock_levels AS l SET on_hand = v.on_hand, reserved = v.reserved "
    "FROM unnest(CAST(:loc AS integer[]), CAST(:prod AS integer[]), CAST(:on_hand AS bigint[]), "
    "CAST(:reserved AS bigint[])) AS v(location_id, product_id, on_hand, reserved) "
    "WHERE l.location_id = v.location_id AND l.product_id = v.product_id"
)
_UPDATE_LEVEL = (
    update(_LEVELS)
    .where(_LEVELS.c.location_id == bindparam("at"), _LEVELS.c.product_id == bindparam("of"))
    .values(on_hand=bindparam("on_hand"), reserved=bindparam("reserved"))
)
