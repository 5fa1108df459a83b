"""The audit trail: who did what, when, on which terminal, to which record; hash-chained and append-only."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from app.db.models import AuditEntry, StaffUser
from app.db.types import utcnow
from app.domain.audit_chain import GENESIS, ChainBreak, entry_hash, verify
from app.ids import new_id
from app.services import outbox
from app.services.base import Actor, UserError, here


def _fields(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": e.at.isoformat(),
        "user_id": e.user_id,
        "user_name": e.user_name,
        "terminal": e.terminal_code,
        "action": e.action,
        "record_type": e.record_type,
        "record_id": e.record_id,
        "details": e.details,
    }


def record(
    session: Session,
    user_id: str | None,
    action: str,
    record_type: str = "",
    record_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry, chained to the last one (under the write lock of the caller's transaction)."""
    last = session.execute(
        select(AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1).with_for_update()
    ).scalar()
    user_name = ""
    if user_id:
        # From the identity map when the caller's permission check loaded the user (it nearly always has).
        user = session.get(StaffUser, user_id)
        user_name = (user.display_name if user is not None else "") or ""
    try:
        terminal = here(session).terminal_code
    except UserError:  # the very first entries are written while the terminal is being set up
        terminal = ""
    entry = AuditEntry(
        id=new_id(),
        at=utcnow().replace(microsecond=0),
        user_id=user_id,
        user_name=user_name,
        terminal_code=terminal,
        action=action,
        record_type=record_type,
        record_id=record_id,
        details=details or {},
        prev_hash=last or GENESIS,
        hash="",
    )
    entry.hash = entry_hash(entry.prev_hash, _fields(entry))
    # Straight to the table (an entry is never changed after it is written): its seq comes back from the INSERT,
    # with no flush of the unit of work for it.
    values = {c.key: getattr(entry, c.key) for c in _COLUMNS}
    entry.seq = session.execute(insert(_TABLE).returning(_TABLE.c.seq), values).scalar_one()
    if terminal:
        # The central store keeps every terminal's chain, so cutting entries off the end here can be seen there.
        outbox.emit(
            session,
            "audit.entry",
            {**_fields(entry), "seq": entry.seq, "prev_hash": entry.prev_hash, "hash": entry.hash},
        )
    return entry


_TABLE = cast(Table, AuditEntry.__table__)
_COLUMNS = [c for c in _TABLE.columns if c.key != "seq"]


def head(session: Session) -> tuple[int | None, str]:
    """The last entry's seq and hash (None, "" on an empty trail): printed on every Z report."""
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return (last[0], last[1]) if last is not None else (None, "")


def verify_chain(session: Session) -> ChainBreak | None:
    rows = session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
    return verify((e.seq, e.prev_hash, e.hash, _fields(e)) for e in rows)


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: datetime
    user_name: str
    terminal: str
    action: str
    record_type: str
    record_id: str
    details: dict[str, Any]


def search(
    session: Session,
    user_id: str | None = None,
    action: str | None = None,
    record_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 500,
) -> list[AuditRow]:
    q = select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(limit)
    if user_id:
        q = q.where(AuditEntry.user_id == user_id)
    if action:
        q = q.where(AuditEntry.action.like(f"{action}%"))
    if record_id:
        q = q.where(AuditEntry.record_id.like(f"%{record_id}%"))
    if since:
        q = q.where(AuditEntry.at >= since)
    if until:
        q = q.where(AuditEntry.at < until)
    return [
        AuditRow(e.seq, e.at, e.user_name, e.terminal_code, e.action, e.record_type, e.record_id, e.details)
        for e in session.scalars(q)
    ]


@dataclass(frozen=True)
class Trail:
    """What Office > Audit shows: the entries found, and the people to filter by."""

    rows: list[AuditRow]
    people: list[tuple[str, str]]  # (user id, display name)


def _require_view(session: Session, actor: Actor) -> None:
    # staff writes audit entries, so it is imported here, when a person reads the trail.
    from app.domain.permissions import Permission
    from app.services import staff

    staff.require(session, actor, Permission.AUDIT_VIEW)


def view_trail(
    session: Session,
    actor: Actor,
    user_id: str | None = None,
    action: str | None = None,
    record_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Trail:
    """Office > Audit's search, for a person allowed to view the trail."""
    _require_view(session, actor)
    rows = search(session, user_id=user_id, action=action, record_id=record_id, since=since, until=until)
    people = session.execute(select(StaffUser.id, StaffUser.display_name).order_by(StaffUser.display_name))
    return Trail(rows, [(i, n) for i, n in people])


def check_chain(session: Session, actor: Actor) -> ChainBreak | None:
    """Office > Audit's Verify, for a person allowed to view the trail."""
    _require_view(session, actor)
    return verify_chain(session)


def _cell(value: str) -> str:
    # A cell starting with = + - @ would run as a formula in a spreadsheet.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(rows: list[AuditRow]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["seq", "at_utc", "user", "terminal", "action", "record_type", "record_id", "details"])
    for r in rows:
        w.writerow(
            [
                r.seq,
                r.at.isoformat(),
                _cell(r.user_name),
                r.terminal,
                _cell(r.action),
                r.record_type,
                _cell(r.record_id),
                _cell(str(r.details)),
            ]
        )
    return buf.getvalue()
