"""The print queue as data: a job is a row written in the transaction that caused it.

The worker that sends jobs lives in the UI layer (off the GUI thread); this module only moves a job through its
states: pending → sending → printed, or back to pending with a later attempt time when nothing reached the printer,
or failed ("may have printed": a person decides to reprint) when bytes may have gone out. A job is never lost and
never printed twice by an automatic retry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from app.db.models import Order, PrintJob
from app.db.types import utcnow
from app.documents.model import Document, Text
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, staff
from app.services.base import Actor, Changes, UserError, now

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


# What a reprinted document is about, for its audit entry (a receipt is about its sale).
RECORD_TYPE = {"receipt": "order", "x_report": "shift", "z_report": "shift"}


def record_reprint(
    session: Session, actor: Actor, kind: str, cause_id: str | None, job_id: str, details: dict[str, Any]
) -> None:
    """The one audit entry of a reprint, wherever it was asked for (Office > Print queue, the journal):
    `<kind>.reprinted` on the record the document is about, so a search for `receipt.reprinted` (or for the
    sale's id) finds every copy of a receipt made at this till."""
    audit.record(
        session,
        actor.user_id,
        f"{kind}.reprinted",
        RECORD_TYPE.get(kind, "print_job"),
        cause_id or job_id,
        {**details, "job": job_id, "at": now().isoformat()},
    )


@dataclass(frozen=True)
class JobDone:
    """What a print-queue action did: the job acted on, the copy made (reprint), and what changed."""

    job_id: str
    copy_id: str | None = None
    changes: Changes = field(default_factory=lambda: Changes(print_queue=True))


def _job(session: Session, job_id: str) -> PrintJob:
    job = session.scalar(select(PrintJob).where(PrintJob.id == job_id))
    if job is None:
        raise UserError("That print job is no longer in the queue: look at the list again.")
    return job


def reprint_job(session: Session, actor: Actor, job_id: str) -> JobDone:
    """Office > Print queue: a copy of a job (marked COPY), with the reprint permission (or an approval) and
    the one reprint audit entry (`receipt.reprinted` for a receipt, on its sale)."""
    job = _job(session, job_id)
    approval = staff.require(session, actor, Permission.REPRINT, f"reprint {job.title}")
    copy_id = reprint(session, job_id)
    details: dict[str, Any] = {"copy_of": job_id, "approval": approval, "from": "print_queue"}
    if job.kind == "receipt" and job.cause_id:
        number = session.scalar(select(Order.number).where(Order.id == job.cause_id))
        if number:
            details["number"] = number
    record_reprint(session, actor, job.kind, job.cause_id, copy_id, details)
    return JobDone(job_id, copy_id)


def cancel_job(session: Session, actor: Actor, job_id: str) -> JobDone:
    """Office > Print queue: a waiting or failed job will not print. Whoever may reprint a document may also
    decide it is not printed (the same permission: both decide what paper comes out); audited."""
    job = _job(session, job_id)
    if job.status not in ("pending", "failed"):
        raise UserError(
            f"That job is {job.status.replace('_', ' ')}: only a waiting or failed job can be cancelled."
        )
    approval = staff.require(session, actor, Permission.REPRINT, f"cancel printing {job.title}")
    cancel(session, job_id)
    audit.record(
        session,
        actor.user_id,
        "print.cancelled",
        "print_job",
        job_id,
        {"kind": job.kind, "title": job.title, "cause": job.cause_id, "approval": approval},
    )
    return JobDone(job_id)


def retry_job(session: Session, _actor: Actor, job_id: str) -> JobDone:
    """Office > Print queue: send a waiting job now instead of at its next attempt. It prints nothing that was
    not going to print anyway, so it needs no permission beyond being signed in, and leaves no audit entry."""
    _job(session, job_id)
    retry_now(session, job_id)
    return JobDone(job_id)


def test_label(session: Session, actor: Actor) -> JobDone:
    """Office > Devices' Test button of the label printer: a small label through the queue, for a person allowed
    to change device settings (the tab is theirs)."""
    staff.require(session, actor, Permission.DEVICE_SETTINGS, "print a test label")
    doc = Document("label", 32, [Text("Counterline test label", bold=True), Text("The label printer works.")])
    return JobDone(enqueue(session, "test", doc.to_json(), "Test label", role="label"))


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
