"""The change feed a till pulls, one store's changes after a cursor."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import (
    FeedChange,
    Store,
)
from sync.central.service.base import PULL_MAX_LIMIT, CentralError

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
    more = len(rows) > limit
    rows = rows[:limit]
    changes = [protocol.Change(seq=r.seq, type=r.type, key=r.key, payload=r.payload) for r in rows]
    next_cursor = rows[-1].seq if rows else cursor
    estimate = None
    if first if first is not None else cursor == 0:
        head = session.scalar(select(Store.feed_seq).where(Store.id == store_id)) or 0
        # Seqs are dense per store, so what is left after this page is exact unless writes land meanwhile.
        estimate = max(0, head - next_cursor)
    return protocol.PullResponse(
        changes=changes, next_cursor=next_cursor, more=more, remaining_estimate=estimate
    )
