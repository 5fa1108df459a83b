"""This terminal's audit trail against what the central store received of it.

The local chain proves itself (`app.services.audit.verify_chain`); but a trail rewritten from the first changed entry
on, or cut off at the end, is a valid chain again. The central store keeps every entry it was sent, so it can tell:
the entry at its last seq must be here with the same hash, and nothing it holds may be missing here.

Entries not sent yet are covered too: every push carries the head of the chain as it was then (the anchor), and
the central keeps the highest. Entries deleted here together with their unsent outbox rows leave the chain shorter
than the anchor, or with another entry at its seq.

`counterline audit verify` exits EXIT_OK, EXIT_PROBLEM, or EXIT_NOT_COMPARED where the trail could not be compared
with the central store (not reachable, token unreadable): a trail cut off or rewritten here is not found then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, OutboxEvent
from sync import protocol

EXIT_OK = 0
EXIT_PROBLEM = 1
EXIT_NOT_COMPARED = 3


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
    _check_anchor(session, head, local_last, out)
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


def _check_anchor(session: Session, head: protocol.AuditHead, local_last: int, out: Comparison) -> None:
    """The highest head this till's pushes named must still be here, with the same hash."""
    if head.anchor_seq is None:
        return
    if local_last < head.anchor_seq:
        out.problems.append(
            f"this till's trail ends at entry {local_last}, but it had entries up to {head.anchor_seq} when it "
            "last sent to the central store: entries were removed here (with their unsent copies)"
        )
        return
    here = session.scalar(select(AuditEntry.hash).where(AuditEntry.seq == head.anchor_seq))
    if here != head.anchor_hash:
        out.problems.append(
            f"entry {head.anchor_seq} here is not the one this till named when it last sent to the central store: "
            "the trail was rewritten here"
        )
