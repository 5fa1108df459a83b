"""The hold window of pickup and curbside orders (sync.central.hold), on SQLite and PostgreSQL: the store setting
(CLI set-hold-window), the job (expire-orders) reminding once a day before the end and expiring once after it,
reservations released, the change in the store's feed (and a till following), notices never twice, and a
collected order never reminded or expired."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fleet import Hub, Till
from sqlalchemy import func, select

from app.db.models import Order
from sync import protocol
from sync.central import cli, hold, ledger, notices, service, status_page, stock
from sync.central.models import FeedChange, Notice, OrderStatusHistory, StockLevel, WebOrder
from sync.central.service.order_state import _set_status, ready_since

if TYPE_CHECKING:
    from conftest import Central


def _place(sessions: Any, fulfilment: str = "pickup", qty: str = "2", paid: bool | None = None) -> str:
    with sessions.begin() as s:
        stock.receive(s, "S1", [stock.StockLine("C3", Decimal(5))])
        order = service.place_order(
            s,
            protocol.OrderRequest.model_validate(
                {
                    "store": "S1",
                    "fulfilment": fulfilment,
                    "lines": [{"sku": "C3", "qty": qty}],
                    "customer": {"name": "Ada", "email": "ada@example.com"},
                    **({"paid": paid} if paid is not None else {}),
                }
            ),
        )
        return str(order.id)


def _move(sessions: Any, order_id: str, to: str) -> datetime:
    """The order moved at the central as a till's push would move it; returns when it became `to`."""
    with sessions.begin() as s:
        order = s.get_one(WebOrder, uuid.UUID(order_id))
        _set_status(s, order, to, "test", None)
        ledger.emit(s, order.store_id, protocol.CHANGE_ORDER, str(order.id), service.order_payload(order))
    with sessions() as s:
        order = s.get_one(WebOrder, uuid.UUID(order_id))
        since = ready_since(s, order)
        assert since is not None
        return since


def _at(when: datetime) -> Callable[[], datetime]:
    return lambda: when


def _reserved(sessions: Any) -> Decimal:
    with sessions() as s:
        return s.scalar(select(func.sum(StockLevel.reserved))) or Decimal(0)


def _notices(sessions: Any, order_id: str) -> list[tuple[str, str]]:
    with sessions() as s:
        rows = s.execute(
            select(Notice.kind, Notice.stage)
            .where(Notice.order_id == uuid.UUID(order_id))
            .order_by(Notice.id)
        ).all()
        return [(k, st) for k, st in rows]


def _feed_statuses(sessions: Any, order_id: str) -> list[str]:
    with sessions() as s:
        return [
            p["status"]
            for p in s.scalars(
                select(FeedChange.payload).where(FeedChange.key == order_id).order_by(FeedChange.seq)
            )
        ]


def test_a_ready_order_is_reminded_once_then_expires_once(central: Central) -> None:
    sessions = central.sessions
    order_id = _place(sessions)
    assert _reserved(sessions) == Decimal(2)
    ready = _move(sessions, order_id, "ready")
    with sessions() as s:
        payload = service.order_payload(s.get_one(WebOrder, uuid.UUID(order_id)))
    assert payload["hold_until"] == (ready + timedelta(days=7)).isoformat()

    assert hold.expire_orders(sessions, _at(ready + timedelta(days=5))).reminded == []
    first = hold.expire_orders(sessions, _at(ready + timedelta(days=6, hours=1)))
    again = hold.expire_orders(sessions, _at(ready + timedelta(days=6, hours=2)))
    assert len(first.reminded) == 1 and again.reminded == [] and again.expired == []
    assert _notices(sessions, order_id)[-1] == ("reminder", "expiry")

    done = hold.expire_orders(sessions, _at(ready + timedelta(days=7, seconds=1)))
    assert len(done.expired) == 1 and not done.errors
    assert hold.expire_orders(sessions, _at(ready + timedelta(days=30))).expired == []
    with sessions() as s:
        order = s.get_one(WebOrder, uuid.UUID(order_id))
        assert order.status == "expired"
        moves = s.scalar(
            select(func.count())
            .select_from(OrderStatusHistory)
            .where(OrderStatusHistory.order_id == order.id, OrderStatusHistory.to_status == "expired")
        )
        assert moves == 1
    assert _reserved(sessions) == Decimal(0)  # the reservation is released
    assert _feed_statuses(sessions, order_id)[-1] == "expired"  # every till of the store learns it
    kinds = _notices(sessions, order_id)
    assert kinds == [("received", "new"), ("ready", "ready"), ("reminder", "expiry"), ("expired", "expired")]
    with sessions() as s:
        expired = s.scalars(select(Notice).where(Notice.kind == "expired")).one()
        message = notices.build_message(expired, "shop@example.com")
    assert "has expired" in message["Subject"] and "refunded" in message.get_content()
    with sessions() as s:
        reminder = s.scalars(select(Notice).where(Notice.kind == "reminder")).one()
        text = notices.build_message(reminder, "shop@example.com").get_content()
    assert f"collect it by {(ready + timedelta(days=7)).strftime('%Y-%m-%d %H:%M')}" in text  # store in UTC


def test_an_order_collected_is_never_reminded_nor_expired_and_a_late_reminder_is_skipped(
    central: Central, tmp_path: Path
) -> None:
    sessions = central.sessions
    order_id = _place(sessions, "curbside", "1")
    ready = _move(sessions, order_id, "ready")
    assert len(hold.expire_orders(sessions, _at(ready + timedelta(days=6, hours=12))).reminded) == 1
    _move(sessions, order_id, "collected")  # handed over before the reminder went out
    report = notices.send_pending(sessions, notices.FolderTransport(tmp_path / "mail"))
    with sessions() as s:
        reminder = s.scalars(select(Notice).where(Notice.kind == "reminder")).one()
        assert reminder.state == "skipped" and "collected" in reminder.last_error
    assert report.skipped == 1
    late = hold.expire_orders(sessions, _at(ready + timedelta(days=40)))
    assert late.expired == [] and late.reminded == []
    with sessions() as s:
        assert s.get_one(WebOrder, uuid.UUID(order_id)).status == "collected"
    # An order not ready yet is the store's to prepare: it does not expire.
    waiting = _place(sessions, "pickup", "1")
    assert hold.expire_orders(sessions, _at(ready + timedelta(days=40))).expired == []
    with sessions() as s:
        assert s.get_one(WebOrder, uuid.UUID(waiting)).status == "new"


def test_two_runs_at_once_expire_once(central: Central) -> None:
    sessions = central.sessions
    ids = [_place(sessions, "pickup", "1") for _ in range(3)]
    ready = max(_move(sessions, i, "ready") for i in ids)
    reports: list[hold.HoldReport] = []
    runs = [
        threading.Thread(
            target=lambda: reports.append(hold.expire_orders(sessions, _at(ready + timedelta(days=8))))
        )
        for _ in range(2)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(30)
    assert sorted(n for r in reports for n in r.expired) == _numbers(sessions, ids)
    assert not [e for r in reports for e in r.errors]
    for i in ids:
        assert [k for k, _ in _notices(sessions, i)].count("expired") == 1
        assert _feed_statuses(sessions, i).count("expired") == 1
    assert _reserved(sessions) == Decimal(0)


def _numbers(sessions: Any, ids: list[str]) -> list[str]:
    with sessions() as s:
        return sorted(s.get_one(WebOrder, uuid.UUID(i)).number for i in ids)


def test_the_hold_window_is_a_store_setting_from_the_command_line(central: Central) -> None:
    assert cli.main(["--database-url", central.url, "set-hold-window", "S1", "3"]) == 0
    assert cli.main(["--database-url", central.url, "set-hold-window", "S1", "0"]) == cli.EXIT_BAD_INPUT
    assert cli.main(["--database-url", central.url, "set-hold-window", "S9", "3"]) == cli.EXIT_BAD_INPUT
    with central.sessions() as s:
        assert service.get_store(s, "S1").hold_days == 3
        assert service.get_store(s, "S2").hold_days == hold.DEFAULT_HOLD_DAYS
    order_id = _place(central.sessions)
    ready = _move(central.sessions, order_id, "ready")
    with central.sessions() as s:
        payload = service.order_payload(s.get_one(WebOrder, uuid.UUID(order_id)))
    assert payload["hold_until"] == (ready + timedelta(days=3)).isoformat()
    assert cli.main(["--database-url", central.url, "expire-orders"]) == 0  # nothing due yet
    with central.sessions() as s:
        assert s.get_one(WebOrder, uuid.UUID(order_id)).status == "ready"


# ---------------------------------------------------------------- a till follows


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    yield h
    h.close()


def test_a_till_follows_an_order_the_central_expired(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    order_id = _place(hub.sessions, "pickup", "1")
    ready = _move(hub.sessions, order_id, "ready")
    till.sync()
    with till.factory() as s:
        assert s.get_one(Order, order_id).status == "ready"
    assert len(hold.expire_orders(hub.sessions, _at(ready + timedelta(days=8))).expired) == 1
    till.sync()
    with till.factory() as s:
        order = s.get_one(Order, order_id)
        assert order.status == "expired" and order.external["status"] == "expired"


@pytest.mark.parametrize("paid", [True, False])
def test_an_expired_or_cancelled_order_owes_a_refund_only_when_it_was_paid(
    central: Central, paid: bool
) -> None:
    sessions = central.sessions
    expiring, cancelled = _place(sessions, paid=paid), _place(sessions, paid=paid)
    ready = _move(sessions, expiring, "ready")
    assert hold.expire_orders(sessions, _at(ready + timedelta(days=8))).expired
    with sessions.begin() as s:
        service.cancel_order(s, cancelled)
    for order_id, kind in ((expiring, "expired"), (cancelled, "cancelled")):
        with sessions() as s:
            order = s.get_one(WebOrder, uuid.UUID(order_id))
            # C3 is 6.40: 2 of them were paid for, and are owed back; an order to be paid at pickup owes nothing.
            assert order.refund_due == (Decimal("12.80") if paid else None)
            assert (order.refund_due_at is not None) is paid
            assert service.order_payload(order).get("refund_due") == ("12.80" if paid else None)
            notice = s.scalars(select(Notice).where(Notice.order_id == order.id, Notice.kind == kind)).one()
            text = notices.build_message(notice, "shop@example.com").get_content()
            page = status_page.render(s, order)
        assert ("The 12.80 you paid is refunded" in text) is paid
        assert ("the 12.80 you paid online is being refunded" in page) is paid
        assert ("to be paid at the store" in page) is not paid
        if not paid:
            assert "refund" not in text
        assert _feed_statuses(sessions, order_id)[-1] == kind
    with sessions.begin() as s:  # cancelled again: nothing new is owed, the record stays as it was
        service.cancel_order(s, cancelled)
