"""The change feed and the stock ledger of the central store.

Each store's feed is numbered by `stores.feed_seq`, taken under a row lock (`SELECT ... FOR UPDATE` on
PostgreSQL; SQLite has one writer at a time) so seqs are dense, never reused and committed in order. Stock is an
append-only ledger of signed movements; `stock_levels` keeps on-hand and reserved per location, updated in the same
transaction as the ledger row, and every change of a level is published as a `stock` change.
"""

from __future__ import annotations

import uuid
import weakref
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Table,
    any_,
    bindparam,
    func,
    insert,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import feedwait
from sync.central.level_rows import Level, PlainLevel, write_levels
from sync.central.models import (
    FeedChange,
    Location,
    Product,
    StockException,
    StockLevel,
    StockMovement,
    Store,
)


class Rejected(Exception):
    """An event that cannot be applied as sent; the reason goes back to the terminal and into rejected_events."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def lock_store(session: Session, store_id: int) -> Store:
    """Take the store's row lock for the rest of the transaction and return it with fresh values."""
    # FOR NO KEY UPDATE: pushes to one store still wait for each other, but a row that only points at the store (a
    # transfer's delivery from another store's push) does not wait for its lock: two stores sending each other
    # transfers deadlocked on it.
    stmt = (
        select(Store)
        .where(Store.id == store_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    store = session.execute(stmt).scalar_one()
    # The row is kept here too: the session's identity map holds clean objects weakly, and a store dropped from
    # it after a flush was read again for every event of a batch.
    session.info.setdefault("locked_stores", {})[store_id] = (_current(session), store)
    return store


# Built once: a statement object keeps its cache key (routing locks stores for every web order).
_LOCK_STORES = (
    select(Store)
    .where(Store.id.in_(bindparam("ids", expanding=True)))
    .order_by(Store.id)
    .with_for_update(key_share=True)
    .execution_options(populate_existing=True)
)


def lock_stores(session: Session, store_ids: Iterable[int]) -> dict[int, Store]:
    """Several stores' row locks in one statement, taken in id order (PostgreSQL locks the rows as the sorted scan
    returns them), so two transactions locking overlapping sets wait for each other instead of deadlocking."""
    ids = sorted(set(store_ids))
    stores = {store.id: store for store in session.execute(_LOCK_STORES, {"ids": ids}).scalars()}
    held = session.info.setdefault("locked_stores", {})
    for store_id, store in stores.items():
        held[store_id] = (_current(session), store)
    return stores


def _current(session: Session) -> weakref.ref[Any] | None:
    """The session's transaction as what keeps something for it in `session.info` holds it: weakly. A transaction
    holds its session, so a strong reference from the session's `info` made a cycle, and every session of a push,
    with all it had read and staged (about a hundred objects an event), was left for the cyclic collector, whose
    passes over them were a quarter of the central's Python time."""
    tx = session.get_transaction()
    return None if tx is None else weakref.ref(tx)


def _is_current(session: Session, held: weakref.ref[Any] | None) -> bool:
    """Whether `held` (from `_current`) is the session's transaction now."""
    return held is not None and held() is session.get_transaction()


def _locked(session: Session, store_id: int) -> Store | None:
    """The store row this transaction holds the lock of, or None."""
    entry = session.info.get("locked_stores", {}).get(store_id)
    if entry is None or not _is_current(session, entry[0]):
        return None
    store: Store = entry[1]
    return store


def locked_store(session: Session, store_id: int) -> Store:
    """The store row under this transaction's lock (taken now when it is not held yet)."""
    return _locked(session, store_id) or lock_store(session, store_id)


def _holds_lock(session: Session, store_id: int) -> bool:
    return _locked(session, store_id) is not None


def next_seq(session: Session, store_id: int) -> int:
    """The store's next feed seq. Under the store lock already held by this transaction it is counted in memory
    (the row is written at the next flush); otherwise the lock is taken first."""
    store = locked_store(session, store_id)
    store.feed_seq += 1
    return store.feed_seq


def emit(session: Session, store_id: int, change_type: str, key: str, payload: dict[str, Any]) -> int:
    """Append one change to the store's feed and return its seq."""
    seq: int = _feed_row(session, store_id, change_type, key, payload)["seq"]
    return seq


def _feed_row(
    session: Session, store_id: int, change_type: str, key: str, payload: dict[str, Any] | None
) -> dict[str, Any]:
    """The feed row of one change, added (`add_row`); while the transaction stages, the staged values themselves."""
    seq = next_seq(session, store_id)
    row: dict[str, Any] = {
        "store_id": store_id,
        "seq": seq,
        "type": change_type,
        "key": key,
        "payload": payload,
    }
    add_row(session, FeedChange, row)
    return row


def emit_to_all_stores(session: Session, change_type: str, key: str, payload: dict[str, Any]) -> None:
    for store_id in session.scalars(select(Store.id).order_by(Store.id)):
        emit(session, store_id, change_type, key, payload)


def among(session: Session, column: Any, values: list[Any]) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL as one array parameter (`= ANY(...)`), so the statement's text is the same
    for any number of values and is compiled and parsed once per process, not once per batch (a batch's IN of a
    few hundred values cost more to compile and parse than to run)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, values, type_=postgresql.ARRAY(column.type)))
    return column.in_(values)  # type: ignore[no-any-return]


def chunks(session: Session, values: list[Any]) -> list[list[Any]]:
    """`values` in parts small enough for an IN on SQLite (whole on PostgreSQL: one array parameter)."""
    if session.get_bind().dialect.name == "postgresql":
        return [values] if values else []
    return [values[i : i + 500] for i in range(0, len(values), 500)]


def tx_cache(session: Session, name: str) -> dict[Any, Any]:
    """A dict that lives as long as the session's current transaction (caches of rows read under the lock)."""
    entry = session.info.get(name)
    if entry is None or not _is_current(session, entry[0]):
        entry = (_current(session), {})
        session.info[name] = entry
    cache: dict[Any, Any] = entry[1]
    return cache


def tx_set(session: Session, name: str) -> set[Any]:
    """A set that lives as long as the session's current transaction (ids a push's steps tell each other)."""
    held: set[Any] = tx_cache(session, name).setdefault("members", set())
    return held


# ---------------------------------------------------------------- rows written set-wise

_STAGED = "staged_rows"


class _Staged:
    """What a staging transaction holds until `write_staged`: the rows per table, in the order given, and the stock
    change of each key of the feed staged so far (its row, and what its payload is made of)."""

    __slots__ = ("tx", "rows", "stock", "plain_levels")

    def __init__(self, tx: Any, plain_levels: bool) -> None:
        self.tx = tx
        self.rows: dict[type[Any], list[dict[str, Any]]] = {}
        self.stock: dict[tuple[int, str], tuple[dict[str, Any], Location, Product, Level]] = {}
        self.plain_levels = plain_levels


def start_staging(session: Session, plain_levels: bool = False) -> None:
    """From now to the end of this transaction, the rows `add_row` is given are kept as plain values, to be written
    by `write_staged` with one INSERT per table (executemany) (a push's batch), instead of one ORM object each.

    Only for the append-only tables (the feed, the ledger, sales, applied events): nothing reads a row of them back
    in the transaction it was written in, except through a query, and the caller writes the staged rows before any
    step that may query them (a push writes them before every event its fast path does not cover).

    The stock changes of one key between two writes are one feed row (`emit_stock`).

    `plain_levels`: the levels this transaction reads under a store's lock from now on are `PlainLevel`s, written
    by `write_staged` alone. Only for a transaction whose every step changes levels through this module and reads
    none with a query of its own (a push's batch of sales and movements): a query does not see a plain level's
    change before `write_staged`, where an ORM level's is flushed ahead of it."""
    session.info[_STAGED] = _Staged(_current(session), plain_levels)


@contextmanager
def set_wise(session: Session) -> Iterator[None]:
    """Stage what the block adds (`start_staging`) and write it when the block ends: the movements and feed rows of
    a receipt, a count or a catalog of thousands of lines go out as one COPY (one INSERT on SQLite) per table, not
    one flush each. Inside a transaction that stages already (a push's batch), its owner writes them. On an error
    the staged rows are dropped with the transaction the error rolls back."""
    if _staging(session) is not None:
        yield
        return
    start_staging(session)
    try:
        yield
        write_staged(session)
    finally:
        session.info.pop(_STAGED, None)


def _staging(session: Session) -> _Staged | None:
    staged: _Staged | None = session.info.get(_STAGED)
    if staged is None or not _is_current(session, staged.tx):
        return None
    return staged


def note_json(session: Session, value: Any, text: str) -> None:
    """`value` (the very object, not an equal one) serialises to `text`: a staged row holding it in a JSON column
    is written with that text, not serialised again (a pushed sale's payload goes into its sale and its applied
    event; the push serialised it once already to check its size)."""
    tx_cache(session, "json_texts")[id(value)] = (value, text)


def add_row(session: Session, model: type[Any], values: dict[str, Any]) -> None:
    """Add a row of `model`: staged when this transaction stages (`start_staging`), else an ORM object."""
    staged = _staging(session)
    if staged is None:
        session.add(model(**values))
    else:
        staged.rows.setdefault(model, []).append(values)


def write_staged(session: Session) -> None:
    """Write the staged rows: the levels changed first (`level_rows.write_levels`), then what the ORM has pending
    (locations, the store's feed seq), then one INSERT per table. A reused key fails here (IntegrityError), as a
    flush would have."""
    staged = _staging(session)
    if staged is None or not (staged.rows or staged.plain_levels):
        return
    # Each staged stock change carries its level as it stands now: after the last movement of its key.
    for row, location, product, level in staged.stock.values():
        row["payload"] = stock_payload(location, product, level)
    staged.stock.clear()
    postgres = session.get_bind().dialect.name == "postgresql"
    write_levels(session, tx_cache(session, "levels").values(), postgres)
    session.flush()
    for model, rows in staged.rows.items():
        if postgres:
            _copy_rows(session, model.__table__, rows)
        else:
            # One executemany of a cached statement: SQLite runs it in one call.
            session.execute(insert(model.__table__), rows)
    feed = staged.rows.get(FeedChange)
    if feed:
        feedwait.note_feed_rows(session, {row["store_id"] for row in feed})
    staged.rows.clear()


def _copy_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Rows into `table` with one PostgreSQL COPY, in this transaction: each value as the column's type binds it
    (the JSON serialiser, UTC times, scaled numbers), Python-side defaults filled in as an INSERT would. A row per
    INSERT, even pipelined, cost the server a parse, bind and execute each; COPY streams them. A database error is
    raised as SQLAlchemy raises it from an INSERT (IntegrityError for a reused key)."""
    import psycopg  # only the central on PostgreSQL has it

    conn = session.connection()
    dialect = conn.dialect
    texts = tx_cache(session, "json_texts")

    def processor(column: Any) -> Any:
        proc = column.type._cached_bind_processor(dialect)
        if proc is None or not isinstance(column.type, JSON):
            return proc

        def json_value(value: Any) -> Any:
            known = texts.get(id(value))
            return known[1] if known is not None and known[0] is value else proc(value)

        return json_value

    given = [(c.key, processor(c)) for c in table.columns if c.key in rows[0]]
    defaulted = [c for c in table.columns if c.key not in rows[0] and c.default is not None]
    fill: list[tuple[Any, bool, Any]] = []
    for c in defaulted:
        default: Any = c.default
        fill.append((default.arg, default.is_callable, c.type._cached_bind_processor(dialect)))
    prep = dialect.identifier_preparer
    names = [prep.quote(c.name) for c in table.columns if c.key in rows[0]]
    names += [prep.quote(c.name) for c in defaulted]
    statement = f"COPY {prep.format_table(table)} ({', '.join(names)}) FROM STDIN"
    driver = conn.connection.driver_connection
    assert isinstance(driver, psycopg.Connection)
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                if len(row) != len(given):
                    raise ValueError(f"staged rows of {table.name} do not all give the same columns")
                values = [row[key] if proc is None else proc(row[key]) for key, proc in given]
                for arg, call, proc in fill:
                    value = arg(None) if call else arg
                    values.append(value if proc is None else proc(value))
                copy.write_row(values)
    except psycopg.Error as exc:
        raise DBAPIError.instance(statement, None, exc, psycopg.Error, dialect=dialect) from exc


def prefetch_levels(session: Session, store_id: int, product_ids: list[int]) -> None:
    """Read the store's levels of these products in a few queries into the transaction's cache, where `get_level`
    finds them (the store's lock must be held: only this transaction changes them then). One by one, each level
    was a query, and each query flushed the movement before it first."""
    if not _holds_lock(session, store_id):
        raise RuntimeError("levels are read ahead only under the store's lock")
    levels = tx_cache(session, "levels")
    wanted = sorted(set(product_ids))
    tx_cache(session, "levels_read").update(dict.fromkeys((store_id, product_id) for product_id in wanted))
    if _plain_levels(session):
        for chunk in chunks(session, wanted):
            for loc, prod, on_hand, reserved in session.execute(
                select(
                    StockLevel.location_id, StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved
                ).where(StockLevel.store_id == store_id, among(session, StockLevel.product_id, chunk))
            ):
                levels.setdefault(
                    (loc, prod), PlainLevel(loc, prod, store_id, on_hand, reserved, stored=True)
                )
        return
    for chunk in chunks(session, wanted):
        for level in session.scalars(
            select(StockLevel)
            .where(StockLevel.store_id == store_id, among(session, StockLevel.product_id, chunk))
            .execution_options(populate_existing=True)
        ):
            levels[(level.location_id, level.product_id)] = level


def _plain_levels(session: Session) -> bool:
    staged = _staging(session)
    return staged is not None and staged.plain_levels


def get_level(session: Session, location: Location, product: Product) -> Level:
    key = (location.id, product.id)
    locked = _holds_lock(session, location.store_id)
    cache = tx_cache(session, "levels") if locked else {}
    level: Level | None = cache.get(key)
    if level is not None:
        return level  # only this transaction changes the store's levels while it holds the lock
    plain = locked and _plain_levels(session)
    if locked and (location.store_id, product.id) in tx_cache(session, "levels_read"):
        level = None  # read ahead under the lock and not there: none yet
    elif plain:
        row = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.location_id == location.id, StockLevel.product_id == product.id
            )
        ).first()
        if row is not None:
            level = PlainLevel(location.id, product.id, location.store_id, row[0], row[1], stored=True)
    else:
        level = session.get(StockLevel, key, populate_existing=True)
    if level is None and plain:
        level = PlainLevel(location.id, product.id, location.store_id, Decimal(0), Decimal(0), stored=False)
    elif level is None:
        level = StockLevel(
            location_id=location.id,
            product_id=product.id,
            store_id=location.store_id,
            on_hand=Decimal(0),
            reserved=Decimal(0),
        )
        session.add(level)
        if not locked:
            session.flush()
    cache[key] = level
    return level


def qty_text(value: Decimal) -> str:
    """A quantity as it goes on the wire: always 3 places, whatever arithmetic produced it."""
    return str(Decimal(value).quantize(Decimal("0.001")))


def money_text(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def stock_payload(location: Location, product: Product, level: Level) -> dict[str, Any]:
    return {
        "sku": product.sku,
        "location": location.code,
        "on_hand": qty_text(level.on_hand),
        "reserved": qty_text(level.reserved),
        "available": qty_text(level.available),
    }


def emit_stock(session: Session, location: Location, product: Product, level: Level) -> int:
    """Publish the level as a `stock` change and return its seq. While a transaction stages (a push's batch), a
    key's changes between two writes are one feed row, at the place of the first, carrying the level as it stands
    at the write (after the last): a till applies a level as it is sent, so the rows before the last of a key in
    one transaction only told it what the last one overwrites, and no reader sees the transaction half done. Every
    movement of the key in that span takes the row's seq, which is the first seq at which a till has seen it (a
    count's baseline, `count_baseline`)."""
    key = f"{product.sku}@{location.code}"
    staged = _staging(session)
    if staged is None:
        payload = stock_payload(location, product, level)
        return emit(session, location.store_id, protocol.CHANGE_STOCK, key, payload)
    pending = staged.stock.get((location.store_id, key))
    if pending is not None and pending[3] is level:
        seq: int = pending[0]["seq"]
        return seq
    row = _feed_row(session, location.store_id, protocol.CHANGE_STOCK, key, None)  # its payload at the write
    staged.stock[(location.store_id, key)] = (row, location, product, level)
    return int(row["seq"])


def record_movement(
    session: Session,
    *,
    movement_id: uuid.UUID,
    location: Location,
    product: Product,
    qty: Decimal,
    kind: str,
    cause_type: str,
    cause_id: str,
    event_id: uuid.UUID | None = None,
    terminal_id: int | None = None,
) -> Level:
    """Append one signed movement, update the level and publish it; a reused movement id fails the flush
    (IntegrityError), which `service.push` turns into a refusal of that event alone."""
    level = get_level(session, location, product)
    level.on_hand = level.on_hand + qty
    seq = emit_stock(session, location, product, level)
    add_row(
        session,
        StockMovement,
        {
            "id": movement_id,
            "store_id": location.store_id,
            "location_id": location.id,
            "product_id": product.id,
            "qty": qty,
            "kind": kind,
            "cause_type": cause_type,
            "cause_id": cause_id,
            "event_id": event_id,
            "terminal_id": terminal_id,
            "seq": seq,
        },
    )
    # No flush here: rows go out together at the end of the transaction (or at the next query, or set-wise).
    return level


def change_reserved(session: Session, location: Location, product: Product, delta: Decimal) -> Level:
    level = get_level(session, location, product)
    level.reserved = level.reserved + delta
    emit_stock(session, location, product, level)
    return level


def flag_oversell(
    session: Session,
    location: Location,
    product: Product,
    level: Level,
    event_id: uuid.UUID | None,
    cause: str,
) -> StockException | None:
    """Record an `oversell` exception when available went below zero; the sale itself always stands."""
    if level.available >= 0:
        return None
    exc = StockException(
        store_id=location.store_id,
        kind="oversell",
        sku=product.sku,
        location=location.code,
        detail={
            "on_hand": qty_text(level.on_hand),
            "reserved": qty_text(level.reserved),
            "available": qty_text(level.available),
            "cause": cause,
        },
        event_id=event_id,
    )
    session.add(exc)
    return exc


def count_baseline(
    session: Session,
    location: Location,
    product: Product,
    as_of_seq: int,
    terminal_id: int,
    later_local: list[uuid.UUID],
) -> Decimal:
    """On-hand as the counting terminal saw it: movements it had pulled by `as_of_seq`, plus its own pushed
    movements, less those it made after the count. What it could not have seen stays on top of the count."""
    stmt = select(func.coalesce(func.sum(type_coerce(StockMovement.qty, BigInteger)), 0)).where(
        StockMovement.location_id == location.id,
        StockMovement.product_id == product.id,
        or_(StockMovement.seq <= as_of_seq, StockMovement.terminal_id == terminal_id),
    )
    if later_local:
        stmt = stmt.where(StockMovement.id.not_in(later_local))
    # Summed as raw thousandths so the total is exact integer arithmetic on both engines.
    raw = session.execute(stmt).scalar_one()
    return Decimal(int(raw)) / 1000


def ledger_on_hand(session: Session, location: Location, product: Product) -> Decimal:
    """On-hand summed from the ledger itself (the level row must always agree with this)."""
    raw = session.execute(
        select(func.coalesce(func.sum(type_coerce(StockMovement.qty, BigInteger)), 0)).where(
            StockMovement.location_id == location.id, StockMovement.product_id == product.id
        )
    ).scalar_one()
    return Decimal(int(raw)) / 1000
