"""The outbox: every fact the central store must learn, written in the same transaction as the fact itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, case, event, func, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from app.db.models import OutboxEvent
from app.db.types import utcnow
from app.ids import new_id


def emit(session: Session, type_: str, payload: dict[str, Any], event_id: str | None = None) -> str:
    """Add an event (UUIDv7 id, given now, unless the caller made it: a payload signed over its event id) to the
    outbox; returns its id."""
    event_id = event_id or new_id()
    # Straight to the table, not through the unit of work: an event is never changed after it is written, and a
    # sale writes two (the sale and its audit entry). Events of one transaction keep the order they were emitted in.
    session.execute(_INSERT, {"id": event_id, "type": type_, "payload": payload, "created_at": utcnow()})
    # No ORM object goes through the flush, so whoever pushes at once (the sync agent) learns from this mark, read
    # when the transaction commits and cleared when it ends.
    session.info[WRITTEN] = True
    return event_id


WRITTEN = "outbox_written"
_INSERT = insert(cast(Table, OutboxEvent.__table__))


def written(session: Session) -> bool:
    """Whether the session's transaction (committing now) wrote outbox events."""
    return bool(session.info.get(WRITTEN))


@event.listens_for(Session, "after_transaction_end")
def _forget(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction: after its commit's listeners, or rolled back
        session.info.pop(WRITTEN, None)


def pending(session: Session, limit: int = 200) -> list[OutboxEvent]:
    return list(
        session.scalars(
            select(OutboxEvent).where(OutboxEvent.status == "pending").order_by(OutboxEvent.seq).limit(limit)
        )
    )


def mark(
    session: Session, results: Mapping[str, tuple[str, str | None]], when: datetime | None = None
) -> None:
    """Record the central store's answer per event id: ("applied"|"duplicate", None) or ("rejected", reason).

    One UPDATE for the whole answer (a batch's worth of ids; more in chunks): the refused ones' status and reason
    are picked per id by CASE, so a batch costs one statement, not one per event."""
    when = when or utcnow()
    answered = list(results.items())
    for i in range(0, len(answered), _MARK_CHUNK):
        chunk = dict(answered[i : i + _MARK_CHUNK])
        refused = {
            event_id: (reason or "rejected")
            for event_id, (status, reason) in chunk.items()
            if status not in ("applied", "duplicate")
        }
        values: dict[str, Any] = {"attempts": OutboxEvent.attempts + 1}
        if not refused:
            values.update(status="sent", sent_at=when, error=None)
        elif len(refused) == len(chunk):
            values.update(status="rejected", error=case(refused, value=OutboxEvent.id))
        else:
            is_refused = OutboxEvent.id.in_(list(refused))
            values.update(
                status=case((is_refused, "rejected"), else_="sent"),
                sent_at=case((is_refused, OutboxEvent.sent_at), else_=when),
                error=case(refused, value=OutboxEvent.id, else_=None),
            )
        session.execute(update(OutboxEvent).where(OutboxEvent.id.in_(list(chunk))).values(**values))


# Ids per UPDATE: a push batch is 100; SQLite allows 32,766 bound parameters, and a refused id is bound 3 times.
_MARK_CHUNK = 2000


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all()
    return {status: n for status, n in rows}


def requeue_rejected(session: Session) -> int:
    """Send the refused events again (after the central store's data was put right): each is applied then, or
    refused again with its reason. Returns how many were queued."""
    result = session.execute(
        update(OutboxEvent).where(OutboxEvent.status == "rejected").values(status="pending", error=None)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
