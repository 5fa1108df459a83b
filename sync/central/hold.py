"""The hold window of pickup and curbside orders: how long a ready order waits for its customer, the reminder a day
before the end, and expiry after it.

Each store has `hold_days` (default 7; `set-hold-window`). The window runs from when the order became ready (the
customer was told to come then; an order not ready yet never expires: that wait is the store's). The job
`expire_orders` (CLI `expire-orders`, for cron or a systemd timer, or called in process) goes through the ready
pickup and curbside orders:

- from one day before the end: a reminder notice, once per order (its notice row is unique per order, kind
  "reminder" and stage "expiry"; the worker skips it if the order was collected or cancelled before it went out);
- at the end: the order expires (status `expired`, final): its reservations are released, the customer gets the
  "expired" notice (refund wording for a paid order), and the order's change enters the store's feed, so every
  till of the store follows.

Each order is decided in a transaction of its own under its store's lock, looking again at its state there: two
runs at once, or a till handing the order over meanwhile, never expire it twice or expire a collected order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sync import protocol
from sync.central import ledger, notices
from sync.central.models import Store, WebOrder, utcnow
from sync.central.service.access import get_store
from sync.central.service.base import CentralError
from sync.central.service.order_state import _set_status, hold_until, order_payload

DEFAULT_HOLD_DAYS = 7
MAX_HOLD_DAYS = 90
REMIND_BEFORE = timedelta(days=1)
BY = "hold window"


def set_hold_window(session: Session, code: str, days: int) -> Store:
    """How many days a ready pickup or curbside order of store `code` is held (1 to MAX_HOLD_DAYS)."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_HOLD_DAYS:
        raise CentralError(f"the hold window is a whole number of days from 1 to {MAX_HOLD_DAYS}")
    store = get_store(session, code)
    store.hold_days = days
    return store


@dataclass
class HoldReport:
    reminded: list[str] = field(default_factory=list)  # order numbers
    expired: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def expire_orders(
    factory: sessionmaker[Session], now: Callable[[], datetime] = utcnow, store: str | None = None
) -> HoldReport:
    """Remind and expire the ready pickup and curbside orders whose hold window ends (see the module's text);
    one transaction per order. Safe to run at any time and as often as wanted."""
    report = HoldReport()
    with factory() as s:
        query = select(WebOrder.id).where(
            WebOrder.status == protocol.lifecycle.OrderState.READY,
            WebOrder.fulfilment.in_(("pickup", "curbside")),
        )
        if store is not None:
            query = query.where(WebOrder.store_id == get_store(s, store).id)
        ids = list(s.scalars(query.order_by(WebOrder.created_at)))
    for order_id in ids:
        try:
            with factory.begin() as s:
                _decide(s, order_id, now(), report)
        except Exception as exc:  # noqa: BLE001 - one order that fails must not stop the others
            report.errors.append(f"{order_id}: {type(exc).__name__}: {exc}")
    return report


def _decide(session: Session, order_id: object, now: datetime, report: HoldReport) -> None:
    order = session.get(WebOrder, order_id)
    if order is None:
        return
    ledger.lock_store(session, order.store_id)
    session.refresh(order)  # as it is under the lock: a till may have handed it over meanwhile
    until = hold_until(session, order)
    if until is None or now < until - REMIND_BEFORE:
        return
    if now < until:
        if notices.hold_reminder(session, order, until) is not None:
            report.reminded.append(order.number)
        return
    _set_status(session, order, protocol.lifecycle.OrderState.EXPIRED, BY, None)
    ledger.emit(session, order.store_id, protocol.CHANGE_ORDER, str(order.id), order_payload(order))
    report.expired.append(order.number)
