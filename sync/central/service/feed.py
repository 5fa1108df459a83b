"""The change feed a till pulls, one store's changes after a cursor; the catalog snapshot a till takes instead of
replaying the feed from the start; and feed retention (compaction).

Every change carries the full state of its key, so the latest entry of each (type, key) stands for all before it.
A snapshot is exactly that, as of a cursor: the latest entry of every key up to the store's feed head, read in one
consistent transaction and streamed gzip-compressed (nothing is held in memory beyond a batch). Store settings and
tax classes come first (products name them), then the catalog and stock, then everything else in feed order (a
sale of another till finds its products already there). Compaction deletes entries older than the horizon that a
later entry of the same key replaces, and raises the store's `feed_floor`: a pull from a cursor below it could miss
the order between kinds (a product before its tax class), so it is answered "snapshot needed" (SnapshotNeeded).
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Text, cast, delete, exists, func, select
from sqlalchemy.orm import Session, aliased

from sync import protocol
from sync.central.db import READONLY_OPTION
from sync.central.models import (
    FeedChange,
    Store,
    utcnow,
)
from sync.central.service.base import PULL_MAX_LIMIT, CentralError


class SnapshotNeeded(CentralError):
    """The cursor is below the store's compacted feed: the till must take a snapshot (GET /v1/snapshot)."""


# ---------------------------------------------------------------- pull


def pull(
    session: Session, store_id: int, cursor: int, limit: int, first: bool | None = None
) -> protocol.PullResponse:
    """Changes of one store after `cursor`, by seq. `remaining_estimate` comes with the first page of a catch-up
    only (`first`, or by default a request from cursor 0), since later pages already know how far they are."""
    if cursor < 0:
        raise CentralError("cursor must be 0 or more")
    limit = max(1, min(limit, PULL_MAX_LIMIT))
    rows = session.scalars(
        select(FeedChange)
        .where(FeedChange.store_id == store_id, FeedChange.seq > cursor)
        .order_by(FeedChange.seq)
        .limit(limit + 1)
    ).all()
    # Read after the page: a compaction that committed before the page was read has raised the floor by now.
    head, floor = session.execute(select(Store.feed_seq, Store.feed_floor).where(Store.id == store_id)).one()
    if cursor < (floor or 0):
        raise SnapshotNeeded(
            f"snapshot needed: this store's feed before {floor} was compacted and the cursor is {cursor}; "
            "take a snapshot (GET /v1/snapshot) and pull on from its cursor"
        )
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [protocol.Change(seq=r.seq, type=r.type, key=r.key, payload=r.payload) for r in rows]
    next_cursor = rows[-1].seq if rows else cursor
    estimate = None
    if first if first is not None else cursor == 0:
        # Seqs are dense per store, so what is left after this page is exact unless writes land meanwhile.
        estimate = max(0, (head or 0) - next_cursor)
    return protocol.PullResponse(
        changes=changes, next_cursor=next_cursor, more=more, remaining_estimate=estimate
    )


# ---------------------------------------------------------------- snapshot

# The kinds a snapshot sends first (later kinds name them), then the catalog and stock; everything else follows.
_FIRST_KINDS = (protocol.CHANGE_STORE, protocol.CHANGE_TAX_CLASS)
_CATALOG_KINDS = (protocol.CHANGE_PRODUCT, protocol.CHANGE_PRICE, protocol.CHANGE_STOCK)
_SNAPSHOT_FETCH = 2_000  # rows fetched from the database at a time
_FLUSH_BYTES = 256 * 1024  # compressed output is sent in chunks of about this size


def snapshot_lines(session: Session, store_id: int) -> Iterator[str]:
    """The store's snapshot as JSON lines (see protocol.SNAPSHOT_FORMAT), read in the caller's transaction, which
    must see one consistent state (REPEATABLE READ on PostgreSQL; any read transaction on SQLite in WAL mode)."""
    store = session.get(Store, store_id)
    if store is None:
        raise CentralError(f"no store {store_id}")
    cursor = store.feed_seq or 0
    yield json.dumps({"snapshot": protocol.SNAPSHOT_FORMAT, "store": store.code, "cursor": cursor})
    later = aliased(FeedChange)
    replaced = exists().where(
        later.store_id == FeedChange.store_id,
        later.type == FeedChange.type,
        later.key == FeedChange.key,
        later.seq > FeedChange.seq,
        later.seq <= cursor,
    )
    base = (
        select(FeedChange.seq, FeedChange.type, FeedChange.key, cast(FeedChange.payload, Text))
        .where(FeedChange.store_id == store_id, FeedChange.seq <= cursor, ~replaced)
        .order_by(FeedChange.seq)
        .execution_options(yield_per=_SNAPSHOT_FETCH)
    )
    count = 0
    for where in (
        FeedChange.type.in_(_FIRST_KINDS),
        FeedChange.type.in_(_CATALOG_KINDS),
        FeedChange.type.not_in(_FIRST_KINDS + _CATALOG_KINDS),
    ):
        for seq, kind, key, payload in session.execute(base.where(where)):
            count += 1
            yield f'{{"seq":{seq},"type":{json.dumps(kind)},"key":{json.dumps(key)},"payload":{payload}}}'
    yield json.dumps({"end": True, "count": count})


def snapshot_stream(engine: Engine, store_id: int) -> Iterator[bytes]:
    """The snapshot of a store gzip-compressed, in chunks, from its own read transaction (one consistent view of
    the feed and its head, however long the till takes to read it)."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        else:
            conn = conn.execution_options(**{READONLY_OPTION: True})
        with conn.begin(), Session(bind=conn) as session:
            packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # wbits 31: a gzip stream
            pending: list[bytes] = []
            size = 0
            for line in snapshot_lines(session, store_id):
                chunk = packer.compress(line.encode() + b"\n")
                if chunk:
                    pending.append(chunk)
                    size += len(chunk)
                    if size >= _FLUSH_BYTES:
                        yield b"".join(pending)
                        pending, size = [], 0
            pending.append(packer.flush())
            yield b"".join(pending)


# ---------------------------------------------------------------- retention


@dataclass(frozen=True)
class Compacted:
    store: str
    removed: int
    floor: int


def compact_feed(session: Session, keep_days: float, now: datetime | None = None) -> list[Compacted]:
    """Delete, in every store's feed, the entries older than `keep_days` that a later entry of the same key
    replaces; a till whose cursor is below the new floor takes a snapshot. What a snapshot sends is never lost:
    the latest entry of every key stays."""
    if not keep_days >= 0:
        raise CentralError("keep days must be 0 or more")
    cutoff = (now or utcnow()) - timedelta(days=keep_days)
    later = aliased(FeedChange)
    done: list[Compacted] = []
    for store in session.scalars(select(Store).order_by(Store.id)):
        horizon = session.scalar(
            select(func.max(FeedChange.seq)).where(
                FeedChange.store_id == store.id, FeedChange.created_at < cutoff
            )
        )
        if horizon is None:
            done.append(Compacted(store.code, 0, store.feed_floor or 0))
            continue
        replaced = exists().where(
            later.store_id == FeedChange.store_id,
            later.type == FeedChange.type,
            later.key == FeedChange.key,
            later.seq > FeedChange.seq,
        )
        old = (FeedChange.store_id == store.id, FeedChange.seq <= horizon, replaced)
        top = session.scalar(select(func.max(FeedChange.seq)).where(*old))
        removed = 0
        if top is not None:
            removed = getattr(session.execute(delete(FeedChange).where(*old)), "rowcount", 0)
        if top is not None and top > (store.feed_floor or 0):
            store.feed_floor = top
        session.flush()
        done.append(Compacted(store.code, removed or 0, store.feed_floor or 0))
    return done
