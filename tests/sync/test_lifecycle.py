"""One order lifecycle (app.domain.lifecycle) pinned to the till, the wire and the central store, end to end.

The pins: the wire's states are the lifecycle's, the till's model holds exactly the counter sale's states and the
lifecycle's, the central store takes a move the lifecycle allows, ignores a step that arrives after a later one
and refuses one it does not know. The regression: an order collected at the central store (handed over at another
till of the store) leaves this till's Pickup waiting list; the till said `handed_over` and kept it there.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from app.db import models
from app.db.engine import make_engine, migrate
from app.db.models import Order, OutboxEvent
from app.domain import lifecycle
from app.domain.lifecycle import OrderState as S
from app.services import outbox
from sync import protocol
from tests.sync.fleet import Hub, Till
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.scan_router import ScanRouter
from ui.screens.pickup import PickupScreen


def test_the_wire_and_the_tills_model_are_the_lifecycle() -> None:
    assert protocol.ORDER_STATES == {str(s) for s in lifecycle.OrderState}
    assert (
        protocol.ORDER_FINAL_STATES
        == {"collected", "shipped", "cancelled", "expired"}
        == set(lifecycle.FINAL_STATES)
    )
    assert set(models.ORDER_STATUSES) == {*lifecycle.CounterState, *lifecycle.OrderState}
    assert "handed_over" not in models.ORDER_STATUSES
    # Every state fits the till's and the central store's status columns.
    assert max(len(s) for s in models.ORDER_STATUSES) <= Order.__table__.c.status.type.length  # type: ignore[attr-defined]


def test_the_moves_follow_each_fulfilments_path() -> None:
    assert lifecycle.next_states("new", "pickup") == (S.PICKING, S.READY, S.COLLECTED, S.CANCELLED, S.EXPIRED)
    assert lifecycle.next_states("picking", "ship") == (
        S.PACKED,
        S.SHIPPED,
        S.CANCELLED,
    )  # a parcel never expires
    assert (
        lifecycle.next_step("ready", "curbside") is S.COLLECTED
    )  # expiring is not the next step of the work
    assert lifecycle.may_move("ready", "expired", "pickup") and not lifecycle.may_move(
        "ready", "expired", "ship"
    )
    assert lifecycle.next_step("picking", "pickup") is S.READY
    assert lifecycle.next_step("picking", "ship") is S.PACKED
    assert lifecycle.next_step("collected", "pickup") is None
    assert lifecycle.may_move("new", "collected", "pickup")  # picked and handed over in one go
    assert not lifecycle.may_move("ready", "picking", "pickup")  # never back
    assert not lifecycle.may_move("picking", "shipped", "pickup")  # not on a pickup's path
    assert not lifecycle.may_move("cancelled", "collected")
    assert not lifecycle.may_move("new", "handed_over")
    for final in lifecycle.FINAL_STATES:
        assert lifecycle.next_states(final) == ()


def test_the_till_migration_renames_handed_over(tmp_path: Path) -> None:
    from alembic import command

    from app.db.engine import alembic_config

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0006")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO orders (id, number, channel, fulfilment, status, subtotal, discount_total, tax_total,"
                " total, rounding, change_given, created_at) VALUES ('o1', 'W-1', 'web', 'pickup', 'handed_over',"
                " 0, 0, 0, 0, 0, 0, '2026-01-01 00:00:00')"
            )
        )
    migrate(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM orders WHERE id = 'o1'")).scalar() == "collected"
    engine.dispose()


def _status(order_id: str, frm: str, to: str, terminal: Till) -> str:
    """Push one status change from `terminal`; what became of its outbox event (sent or rejected)."""
    with terminal.factory.begin() as s:
        outbox.emit(s, protocol.ORDER_STATUS, {"order_id": order_id, "from": frm, "to": to, "by": "T2"})
    terminal.sync()
    with terminal.factory() as s:
        row = s.scalars(select(OutboxEvent).order_by(OutboxEvent.seq.desc())).first()
        assert row is not None
        return str(row.status)


@pytest.fixture
def hub(db_url: str) -> Iterator[Hub]:
    h = Hub.start(db_url)
    yield h
    h.close()


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_an_order_collected_at_another_till_shows_collected_in_pickups_queue(
    hub: Hub, tmp_path: Path, qtbot: QtBot
) -> None:
    here_till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    other_till = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    for till in (here_till, other_till):
        till.sync()
    other_till.receive("C3", 5)
    other_till.sync()
    collected = hub.place_order("S1", "C3", "1")
    waiting = hub.place_order("S1", "C3", "1")
    for till in (here_till, other_till):
        till.sync()

    screen, ctx = _pickup(here_till.factory, qtbot)
    assert _rows(screen, ctx, qtbot) == [(collected["number"], "new"), (waiting["number"], "new")]

    other_till.hand_over(collected["id"])  # the other till hands it over and tells the central store
    other_till.sync()
    here_till.sync()
    with here_till.factory() as s:
        assert s.get(Order, collected["id"]).status == "collected"  # type: ignore[union-attr]
    # Still open work first; the order handed over at the other till shows as collected, below it.
    assert _rows(screen, ctx, qtbot) == [(waiting["number"], "new"), (collected["number"], "collected")]

    # The central store keeps to the lifecycle: a step back is ignored, a move off the path is refused.
    assert _status(waiting["id"], "new", "ready", other_till) == "sent"
    assert _status(waiting["id"], "ready", "picking", other_till) == "sent"
    assert _status(waiting["id"], "ready", "shipped", other_till) == "rejected"
    here_till.sync()
    assert _rows(screen, ctx, qtbot) == [(waiting["number"], "ready"), (collected["number"], "collected")]
    ctx.ops.shutdown()


def _pickup(factory: sessionmaker[Session], qtbot: QtBot) -> tuple[PickupScreen, AppContext]:
    from app.services.base import here

    with factory() as s:
        where = here(s)
    ctx = AppContext(factory, Ops(factory), ScanRouter(), MessageBar(), Sounds(), where)
    screen = PickupScreen(ctx)
    qtbot.addWidget(screen)
    screen.show()
    return screen, ctx


def _rows(screen: PickupScreen, ctx: AppContext, qtbot: QtBot) -> list[tuple[Any, ...]]:
    """The Pickup queue as (order number, state): the state as shown, without its notes (curbside, late)."""
    screen.activate()
    qtbot.waitUntil(ctx.ops.is_idle)
    table = screen.table
    out = []
    for r in range(table.rowCount()):
        cells = [table.item(r, c).text() for c in range(table.columnCount())]  # type: ignore[union-attr]
        out.append((cells[0], cells[3].split(" · ")[0]))
    return out
