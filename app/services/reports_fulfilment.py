"""What the till feeds the fulfilment figures (app.domain.figures): the plain facts of its returns, pickups and pack
bench over a window of time, read from the till's own rows. The central store feeds the same functions from its
own tables (sync.central.reports); the definitions themselves are in app.domain.figures only.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, PackFigures, PickupRecord, ReturnLine
from app.domain import figures
from app.services.pickup_queue import DEFAULT_PROMISE_MINUTES, FULFILMENTS, _int_setting, _when


def return_items(session: Session, start: datetime, end: datetime) -> list[figures.ReturnItem]:
    """The lines of the returns completed in [start, end), with what the desk decided about each (a return synced
    from another till without it counts as not recorded)."""
    q = (
        select(
            Order.id,
            ReturnLine.reason,
            ReturnLine.condition,
            ReturnLine.disposition,
            OrderLine.qty,
            OrderLine.amount,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .outerjoin(ReturnLine, ReturnLine.order_line_id == OrderLine.id)
        .where(
            Order.channel == "return",
            Order.status == "completed",
            Order.completed_at >= start,
            Order.completed_at < end,
            OrderLine.voided.is_(False),
        )
    )
    return [
        figures.ReturnItem(
            oid, reason or "", condition or "", disposition or "", Decimal(qty), Decimal(amount)
        )
        for oid, reason, condition, disposition, qty, amount in session.execute(q)
    ]


def pickup_items(session: Session, start: datetime, end: datetime) -> list[figures.PickupItem]:
    """The pickup and curbside orders made ready here in [start, end): promised as the Pickup queue promises them
    (the storefront's time, else the store's promise after the order reached the till)."""
    minutes = _int_setting(session, "pickup.promise_minutes", DEFAULT_PROMISE_MINUTES)
    q = (
        select(
            Order.fulfilment,
            Order.created_at,
            Order.external,
            Order.status,
            PickupRecord.ready_at,
            PickupRecord.handed_at,
        )
        .join(PickupRecord, PickupRecord.order_id == Order.id)
        .where(
            Order.channel == "web",
            Order.fulfilment.in_(FULFILMENTS),
            PickupRecord.ready_at >= start,
            PickupRecord.ready_at < end,
        )
    )
    out = []
    for fulfilment, created_at, external, status, ready_at, handed_at in session.execute(q):
        assert ready_at is not None  # selected by it
        ext = external if isinstance(external, dict) else {}
        promise = figures.promised(created_at, _when(ext.get("promised_at")), minutes)
        out.append(
            figures.PickupItem(fulfilment, promise, ready_at, _when(ext.get("arrived_at")), handed_at, status)
        )
    return out


def pack_items(session: Session, start: datetime, end: datetime) -> list[figures.PackItem]:
    """The orders packed at this till's bench in [start, end)."""
    q = select(
        PackFigures.started_at,
        PackFigures.packed_at,
        PackFigures.scans,
        PackFigures.errors,
        PackFigures.approvals,
    ).where(PackFigures.packed_at >= start, PackFigures.packed_at < end)
    return [
        figures.PackItem(started, packed, scans, errors, approvals)
        for started, packed, scans, errors, approvals in session.execute(q)
        if packed is not None
    ]
