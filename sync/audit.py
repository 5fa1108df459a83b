"""This terminal's audit trail against what the central store received of it.

The local chain proves itself (`app.services.audit.verify_chain`); but a trail rewritten from the first changed entry
on, or cut off at the end, is a valid chain again. The central store keeps every entry it was sent, so it can tell:
the entry at its last seq must be here with the same hash, and nothing it holds may be missing here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, OutboxEvent
from sync import protocol


@dataclass
class Comparison:
    problems: list[str] = field(default_factory=list)  # each one a reason to look at this till
    notes: list[str] = field(default_factory=list)  # how far the check reached

    @property
    def ok(self) -> bool:
        return not self.problems


def compare(session: Session, head: protocol.AuditHead) -> Comparison:
    out = Comparison()
    local_last = session.scalar(select(func.max(AuditEntry.seq))) or 0
    unsent = (
        session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == protocol.AUDIT_ENTRY, OutboxEvent.status == "pending")
        )
        or 0
    )
    if head.last_seq is None:
        out.notes.append(
            f"the central store holds no audit entry of this till yet ({unsent} waiting to be sent)"
        )
        return out
    if head.broken_at is not None:
        out.problems.append(
            f"the entries the central store received are not one chain: entry {head.broken_at} does not follow "
            "the one before it"
        )
    if head.missing:
        shown = ", ".join(str(n) for n in head.missing)
        out.problems.append(
            f"the central store is missing entries it should have had before {head.last_seq}: {shown}"
        )
    if local_last < head.last_seq:
        out.problems.append(
            f"this till's trail ends at entry {local_last}, but the central store received entries up to "
            f"{head.last_seq}: entries were removed here"
        )
    else:
        here = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == head.last_seq))
        if here != head.last_hash:
            out.problems.append(
                f"entry {head.last_seq} here is not the one the central store received: the trail was changed "
                "here after it was sent"
            )
    out.notes.append(
        f"the central store holds {head.count} entries of this till, up to entry {head.last_seq}; this till has "
        f"{local_last} ({unsent} waiting to be sent)"
    )
    return out
