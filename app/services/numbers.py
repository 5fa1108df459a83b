"""Numbers people read and scan: STORE-TERMINAL-SEQUENCE, allocated in the caller's transaction.

Two terminals working offline never hand out the same number because the store and terminal codes are part of it.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import NumberSequence
from app.services.base import here


def next_number(session: Session, kind: str, width: int = 6) -> str:
    """The next number of `kind` (receipt, parked, return, shift), e.g. S001-01-000042."""
    h = here(session)
    seq = session.execute(
        update(NumberSequence)
        .where(NumberSequence.kind == kind)
        .values(next_value=NumberSequence.next_value + 1)
        .returning(NumberSequence.next_value)
    ).scalar()
    if seq is None:
        session.add(NumberSequence(kind=kind, next_value=2))
        session.flush()
        value = 1
    else:
        value = seq - 1
    return f"{h.store_code}-{h.terminal_code}-{value:0{width}d}"


def peek(session: Session, kind: str) -> int:
    return session.scalar(select(NumberSequence.next_value).where(NumberSequence.kind == kind)) or 1
