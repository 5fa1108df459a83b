"""The chain's cash over and short at the central store, per shift and per cashier, by store and for the chain, as
each till's Reports screen and Z report count them (app.services.reports_cash).

A till sends each shift it opens (`shift.opened`: who opened it) and closes (`shift.closed`: its Z's figures, the
expected cash and the blind count among them); the central keeps them as they came (applied_events). A shift counts
in the period its till closed it in (the moment it sent; the arrival when that does not read), its cashier is who
opened it, by the name the store's tills gave them (`staff.saved`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import AppliedEvent, Store

figures = protocol.figures
_SLACK = timedelta(days=2)  # an event's arrival time and the moment it carries differ by less than this
_CENT = Decimal("0.01")
_SHIFT_EVENTS = text("applied_events.type IN ('shift.opened', 'shift.closed', 'staff.saved')")

CASH_SHIFT, CASH_CASHIER = figures.CASH_SHIFT, figures.CASH_CASHIER
ShiftCash = figures.ShiftCash


def _money(value: Any) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return d.quantize(_CENT, rounding=ROUND_HALF_UP) if d.is_finite() else None


def moment(value: Any) -> datetime | None:
    """A moment a till sent: ISO 8601, UTC when it has no offset; None when it does not read."""
    if not isinstance(value, str) or not value:
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def uid(value: Any) -> str:
    """A user id as one text, however a till wrote it."""
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value or "")


def aware(value: Any) -> Any:
    """A moment read from a UTC column as the driver gives it, aware (SQLite's are naive UTC)."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def _payloads(
    session: Session, store: Store, kind: str, *where: Any
) -> list[tuple[dict[str, Any], datetime]]:
    q = select(AppliedEvent.payload, AppliedEvent.occurred_at).where(
        AppliedEvent.store_id == store.id,
        AppliedEvent.type == kind,
        _SHIFT_EVENTS,  # as the partial index says it (sync.central.report_facts), so SQLite uses it too
        *where,
    )
    return [(p, aware(at)) for p, at in session.execute(q) if isinstance(p, dict)]


def shift_items(session: Session, store: Store, start: datetime, end: datetime) -> list[ShiftCash]:
    """The store's shifts closed in [start, end): the Z's expected cash, the count, counted minus expected."""
    e = AppliedEvent.occurred_at
    closed = []
    for p, occurred in _payloads(
        session, store, protocol.SHIFT_CLOSED, e >= start - _SLACK, e < end + _SLACK
    ):
        at = moment(p.get("closed_at")) or occurred
        expected, counted = _money(p.get("expected_cash")), _money(p.get("counted_cash"))
        if start <= at < end and expected is not None and counted is not None:
            closed.append((at, str(p.get("shift_id") or ""), str(p.get("number") or ""), expected, counted))
    if not closed:
        return []
    opened = {
        str(p.get("shift_id")): uid(p.get("opened_by"))
        for p, _at in _payloads(
            session,
            store,
            protocol.SHIFT_OPENED,
            AppliedEvent.payload["shift_id"].as_string().in_(sorted({c[1] for c in closed})),
        )
    }
    names = staff_names(session, store)
    return [
        ShiftCash(number, names.get(opened.get(shift_id, ""), "?"), at, expected, counted)
        for at, shift_id, number, expected, counted in sorted(closed, key=lambda c: c[0])
    ]


def staff_names(session: Session, store: Store) -> dict[str, str]:
    """The store's staff by id (as `uid` writes it): the latest name its tills gave each (`staff.saved`)."""
    names: dict[str, tuple[datetime, str]] = {}
    for p, at in _payloads(session, store, protocol.STAFF_SAVED):
        who, name = uid(p.get("id")), p.get("display_name")
        if isinstance(name, str) and (who not in names or names[who][0] <= at):
            names[who] = (at, name)
    return {who: name for who, (_at, name) in names.items()}
