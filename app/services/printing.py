"""The print queue as data: a job is a row written in the transaction that caused it.

The worker that sends jobs lives in the UI layer (off the GUI thread); this module only moves a job through its
states: pending → sending → printed, or back to pending with a later attempt time when nothing reached the printer,
or failed ("may have printed": a person decides to reprint) when bytes may have gone out. A job is never lost and
never printed twice by an automatic retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.db.models import PrintJob
from app.db.types import utcnow
from app.ids import new_id

BACKOFF_S = (2, 4, 8, 15, 30, 60)


@dataclass(frozen=True)
class JobView:
    id: str
    kind: str
    role: str
    title: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    printed_at: datetime | None
    document: dict[str, Any]
    copy_printed: bool = False  # a failed job whose copy (or a reprint of its sale) has printed since


def _view(j: PrintJob, copy_printed: bool = False) -> JobView:
    return JobView(
        j.id,
        j.kind,
        j.role,
        j.title,
        j.status,
        j.attempts,
        j.last_error,
        j.created_at,
        j.printed_at,
        j.document,
        copy_printed,
    )


def enqueue(
    session: Session,
    kind: str,
    document: dict[str, Any],
    title: str,
    cause_id: str | None = None,
    role: str = "receipt",
) -> str:
    job_id = new_id()
    session.add(
        PrintJob(
            id=job_id,
            kind=kind,
            role=role,
            title=title,
            document=document,
            cause_id=cause_id,
            status="pending",
            created_at=utcnow(),
        )
    )
    return job_id


def claim_next(session: Session, when: datetime | None = None) -> JobView | None:
    """Take the oldest due job and mark it sending (in its own short transaction)."""
    when = when or utcnow()
    job = session.scalar(
        select(PrintJob)
        .where(
            PrintJob.status == "pending",
            or_(PrintJob.next_attempt_at.is_(None), PrintJob.next_attempt_at <= when),
        )
        .order_by(PrintJob.seq)
        .limit(1)
    )
    if job is None:
        return None
    job.status = "sending"
    job.attempts += 1
    return _view(job)


def mark_printed(session: Session, job_id: str) -> None:
    session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id)
        .values(status="printed", printed_at=utcnow(), last_error=None)
    )


def mark_not_sent(session: Session, job_id: str, reason: str) -> None:
    """Nothing reached the printer: retry later with backoff."""
    job = session.scalar(select(PrintJob).where(PrintJob.id == job_id))
    if job is None:
        return
    delay = BACKOFF_S[min(job.attempts, len(BACKOFF_S)) - 1] if job.attempts else BACKOFF_S[0]
    job.status = "pending"
    job.last_error = reason
    job.next_attempt_at = utcnow() + timedelta(seconds=delay)


def mark_maybe_sent(session: Session, job_id: str, reason: str) -> None:
    """Bytes may have reached the printer: never resend by itself; a person looks and reprints."""
    session.execute(update(PrintJob).where(PrintJob.id == job_id).values(status="failed", last_error=reason))


def recover_interrupted(session: Session) -> int:
    """At start-up, a job left in `sending` may or may not have printed."""
    res = session.execute(
        update(PrintJob)
        .where(PrintJob.status == "sending")
        .values(
            status="failed", last_error="The app stopped while printing: check the paper, reprint if missing."
        )
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def reprint(session: Session, job_id: str) -> str:
    """A new job with the same document, marked as a copy."""
    job = session.scalar(select(PrintJob).where(PrintJob.id == job_id))
    if job is None:
        raise ValueError("no such job")
    doc = dict(job.document)
    doc["copy"] = True
    return enqueue(session, job.kind, doc, job.title + " (copy)", job.cause_id, job.role)


def cancel(session: Session, job_id: str) -> None:
    session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.status.in_(("pending", "failed")))
        .values(status="cancelled")
    )


def retry_now(session: Session, job_id: str) -> None:
    session.execute(
        update(PrintJob)
        .where(PrintJob.id == job_id, PrintJob.status == "pending")
        .values(next_attempt_at=None)
    )


def queue(session: Session, limit: int = 200) -> list[JobView]:
    rows = session.execute(
        select(PrintJob, and_(PrintJob.status == "failed", _copy_printed()))
        .order_by(PrintJob.seq.desc())
        .limit(limit)
    )
    return [_view(j, bool(settled)) for j, settled in rows]


def _copy_printed() -> ColumnElement[bool]:
    """A later job of the same kind for the same cause (a copy, or a reprint from the journal) has printed: the
    failed job it replaced needs nobody any more."""
    later = aliased(PrintJob)
    return exists().where(
        later.cause_id == PrintJob.cause_id,
        later.kind == PrintJob.kind,
        later.seq > PrintJob.seq,
        later.status == "printed",
    )


def _open() -> ColumnElement[bool]:
    return or_(
        PrintJob.status.in_(("pending", "sending")),
        and_(PrintJob.status == "failed", ~_copy_printed()),
    )


def waiting(session: Session) -> int:
    """Jobs still to print or to be looked at: pending, sending, and failed ones whose copy has not printed."""
    return session.scalar(select(func.count()).select_from(PrintJob).where(_open())) or 0


def problems(session: Session, limit: int = 20) -> list[JobView]:
    """Jobs a person must hear about, oldest first: failed ones (may have printed: check the paper) whose copy
    has not printed, and pending ones that could not be sent (paper out, printer off) and are being retried."""
    rows = session.scalars(
        select(PrintJob)
        .where(
            or_(
                and_(PrintJob.status == "failed", ~_copy_printed()),
                and_(PrintJob.status == "pending", PrintJob.last_error.is_not(None)),
            )
        )
        .order_by(PrintJob.seq)
        .limit(limit)
    )
    return [_view(j) for j in rows]


def copy_printed(session: Session, job_id: str) -> bool:
    """Whether a later job of the same kind and cause has printed (the failed job is settled)."""
    return bool(session.scalar(select(PrintJob.id).where(PrintJob.id == job_id, _copy_printed())))
