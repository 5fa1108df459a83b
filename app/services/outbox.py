"""The outbox: every fact the central store must learn, written in the same transaction as the fact itself."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.db.models import OutboxEvent
from app.db.types import utcnow
from app.ids import new_id


def emit(session: Session, type_: str, payload: dict[str, Any], event_id: str | None = None) -> str:
    """Add an event (UUIDv7 id, given now, unless the caller made it: a payload signed over its event id) to the
    outbox; returns its id."""
    event_id = event_id or new_id()
    session.add(OutboxEvent(id=event_id, type=type_, payload=payload, created_at=utcnow()))
    return event_id


def pending(session: Session, limit: int = 200) -> list[OutboxEvent]:
    return list(
        session.scalars(
            select(OutboxEvent).where(OutboxEvent.status == "pending").order_by(OutboxEvent.seq).limit(limit)
        )
    )


def mark(
    session: Session, results: Mapping[str, tuple[str, str | None]], when: datetime | None = None
) -> None:
    """Record the central store's answer per event id: ("applied"|"duplicate", None) or ("rejected", reason)."""
    when = when or utcnow()
    for event_id, (status, reason) in results.items():
        values: dict[str, Any] = {"attempts": OutboxEvent.attempts + 1}
        if status in ("applied", "duplicate"):
            values.update(status="sent", sent_at=when, error=None)
        else:
            values.update(status="rejected", error=reason or "rejected")
        session.execute(update(OutboxEvent).where(OutboxEvent.id == event_id).values(**values))


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
