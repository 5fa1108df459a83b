"""Office > Sync as plain data: what waits to be sent, what the central store refused and what this till could not
apply from its feed; and sending the refused events again, audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEvent, ParkedChange
from app.services import audit, outbox
from app.services.base import Actor, Changes


@dataclass(frozen=True)
class Refused:
    at: datetime
    type: str
    error: str


@dataclass(frozen=True)
class Parked:
    at: datetime
    type: str
    key: str
    reason: str


@dataclass(frozen=True)
class SyncReview:
    counts: dict[str, int]  # outbox events by status: pending, sent, rejected
    refused: list[Refused]  # newest first
    parked: list[Parked]  # changes of the central's feed set aside, newest first


def review(session: Session, limit: int = 500) -> SyncReview:
    refused = session.execute(
        select(OutboxEvent.created_at, OutboxEvent.type, OutboxEvent.error)
        .where(OutboxEvent.status == "rejected")
        .order_by(OutboxEvent.seq.desc())
        .limit(limit)
    ).all()
    parked = session.scalars(select(ParkedChange).order_by(ParkedChange.seq.desc()).limit(limit))
    return SyncReview(
        outbox.counts(session),
        [Refused(at, t, e or "") for at, t, e in refused],
        [Parked(p.parked_at, p.type, p.key, p.reason) for p in parked],
    )


@dataclass(frozen=True)
class Resent:
    events: int
    changes: Changes


def resend_refused(session: Session, actor: Actor) -> Resent:
    """After the central store's data was put right: queue the refused events for the next round. Any signed-in
    person may: the central applies each event once, so sending one again changes nothing it has (no permission
    beyond being signed in); the audit entry says who did it and how many."""
    n = outbox.requeue_rejected(session)
    audit.record(session, actor.user_id, "sync.resend_refused", "outbox", "", {"events": n})
    return Resent(n, Changes(outbox=True))
