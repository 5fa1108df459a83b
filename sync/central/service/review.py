"""What an operator reviews: the per-store status summary, a terminal's audit head, stock exceptions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import (
    AppliedEvent,
    RejectedEvent,
    StockException,
    Store,
    Terminal,
)
from sync.central.service.base import NotFound

# ---------------------------------------------------------------- status


def status_summary(session: Session) -> list[dict[str, Any]]:
    """Per store: feed head, terminals enrolled, open exceptions and parked rejected events."""
    out = []
    for store in session.scalars(select(Store).order_by(Store.code)):
        terminals = session.scalars(
            select(Terminal).where(Terminal.store_id == store.id).order_by(Terminal.code)
        )
        out.append(
            {
                "store": store.code,
                "name": store.name,
                "feed_head": store.feed_seq,
                "terminals": [{"code": t.code, "enrolled": t.token_hash is not None} for t in terminals],
                "open_exceptions": session.scalar(
                    select(func.count(StockException.id)).where(
                        StockException.store_id == store.id, StockException.resolved.is_(False)
                    )
                ),
                "rejected_events": session.scalar(
                    select(func.count(RejectedEvent.id)).where(RejectedEvent.store_id == store.id)
                ),
            }
        )
    return out


# ---------------------------------------------------------------- exceptions for review


def audit_head(session: Session, terminal_id: int, generation: int | None = None) -> protocol.AuditHead:
    """The terminal's audit chain as received here. The hashes themselves are the terminal's to compute (this
    service does not know how entries are hashed); what is checked here is that the links hold and no seq is
    missing, so entries cut off or rewritten at the terminal after they were sent show up against this.

    Each enrolment of a terminal (a replacement till) has a chain of its own: `generation`, by default the
    current one. The anchor is the highest head the terminal's pushes named."""
    terminal = session.get(Terminal, terminal_id)
    if terminal is None:
        raise NotFound("unknown terminal")
    if generation is None:
        generation = terminal.generation
    anchor: dict[str, Any] = {}
    if generation == terminal.generation and terminal.anchor_seq is not None:
        anchor = {"anchor_seq": terminal.anchor_seq, "anchor_hash": terminal.anchor_hash}
    entries = sorted(
        (
            (int(p["seq"]), str(p.get("prev_hash") or ""), str(p.get("hash") or ""))
            for p in session.scalars(
                select(AppliedEvent.payload).where(
                    AppliedEvent.terminal_id == terminal_id,
                    AppliedEvent.type == protocol.AUDIT_ENTRY,
                    AppliedEvent.generation == generation,
                )
            )
        ),
    )
    if not entries:
        return protocol.AuditHead(count=0, **anchor)
    missing: list[int] = []
    broken_at = None
    for (seq_a, _prev_a, hash_a), (seq_b, prev_b, _hash_b) in zip(entries, entries[1:], strict=False):
        if seq_b != seq_a + 1:
            missing.extend(range(seq_a + 1, min(seq_b, seq_a + 1 + 20)))
        elif prev_b != hash_a and broken_at is None:
            broken_at = seq_b
    return protocol.AuditHead(
        count=len(entries),
        last_seq=entries[-1][0],
        last_hash=entries[-1][2],
        missing=missing[:20],
        broken_at=broken_at,
        **anchor,
    )


def list_exceptions(
    session: Session, store: str | None = None, include_resolved: bool = False
) -> list[dict[str, Any]]:
    """Exceptions a person must look at (oversells, order conflicts, sales completed twice), oldest first."""
    q = (
        select(StockException, Store.code)
        .join(Store, Store.id == StockException.store_id)
        .order_by(StockException.id)
    )
    if store:
        q = q.where(Store.code == store.strip().upper())
    if not include_resolved:
        q = q.where(StockException.resolved.is_(False))
    return [
        {
            "id": exc.id,
            "store": code,
            "kind": exc.kind,
            "sku": exc.sku,
            "location": exc.location,
            "detail": exc.detail,
            "resolved": exc.resolved,
            "created_at": exc.created_at.isoformat(),
        }
        for exc, code in session.execute(q).all()
    ]


def resolve_exception(session: Session, exception_id: int) -> None:
    exc = session.get(StockException, exception_id)
    if exc is None:
        raise NotFound(f"no exception {exception_id}")
    exc.resolved = True
