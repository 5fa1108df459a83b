"""Numbers people read and scan: STORE-TERMINAL-SEQUENCE, allocated in the caller's transaction.

Two terminals working offline never hand out the same number because the store and terminal codes are part of it.
A kind with a series letter puts it before its sequence, so its numbers never read like another kind's: parked sales
are S001-01-P000001, not the receipt S001-01-000001 (their barcode is PS-S001-01-P000001, which `barcodes.parse`
reads as a parked code: the value grammar takes the letter).
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.models import NumberSequence
from app.services.base import here

# The series letter of each kind of number that has one (the one place it is defined).
SERIES = {"parked": "P", "return": "R"}


def is_kind(number: str, kind: str) -> bool:
    """Whether a number (without any barcode prefix) is of `kind` by its series letter."""
    letter = SERIES.get(kind)
    last = number.strip().upper().rsplit("-", 1)[-1]
    if letter is None:
        return last.isdigit()
    return last.startswith(letter) and last[len(letter) :].isdigit()


def next_number(session: Session, kind: str, width: int = 6) -> str:
    """The next number of `kind` (receipt, parked, return, shift), e.g. S001-01-000042, S001-01-P000007."""
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
    return f"{h.store_code}-{h.terminal_code}-{SERIES.get(kind, '')}{value:0{width}d}"


def peek(session: Session, kind: str) -> int:
    return session.scalar(select(NumberSequence.next_value).where(NumberSequence.kind == kind)) or 1


def continue_after(session: Session, kind: str, last: int) -> None:
    """Make the next number of `kind` come after `last` (a replacement till goes on after the numbers the
    central store saw of its terminal); never moves a sequence back."""
    row = session.get(NumberSequence, kind)
    if row is None:
        session.add(NumberSequence(kind=kind, next_value=last + 1))
    elif row.next_value <= last:
        row.next_value = last + 1
    session.flush()
