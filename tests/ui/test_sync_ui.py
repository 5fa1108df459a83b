"""The Office Sync tab on a terminal enrolled with the real central service (in process): "Sync now" runs a round
on the agent's thread, the counts and the status text follow, and a refused event is listed with its reason."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.db.models import Product
from app.services import outbox
from sync import protocol
from sync.agent import Agent
from tests.sync.fleet import FaultTransport, Hub, Till
from tests.ui.contexts import context_for
from tests.ui.test_office import shoot
from ui.context import AppContext
from ui.screens.lookup import LookupScreen
from ui.screens.office import OfficeScreen


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    yield h
    h.close()


@contextmanager
def sync_office(till: Till, qtbot: QtBot) -> Iterator[tuple[OfficeScreen, AppContext, Agent]]:
    """The Office screen of an enrolled till, signed in as admin, with a sync agent that runs only when told; the
    agent and the op helper are stopped afterwards."""
    ctx = context_for(till.factory, "admin", "123456")
    agent = Agent(till.factory, till.client, interval_s=3600, max_backoff_s=3600)
    ctx.services["sync"] = agent
    screen = OfficeScreen(ctx)
    ctx.ops.changed.connect(screen.on_changed)
    qtbot.addWidget(screen)
    qtbot.addWidget(ctx.messages)
    screen.resize(1280, 800)
    screen.show()
    screen.activate()
    try:
        yield screen, ctx, agent
    finally:
        agent.stop()
        ctx.ops.shutdown()


def test_sync_now_from_the_office_tab(hub: Hub, tmp_path: Path, qtbot: QtBot) -> None:
    wire = FaultTransport(hub.transport, random.Random(1), rate=0.0)
    till = Till.enrol(hub, tmp_path / "till", "S1", "T1", transport=wire)
    with till.factory.begin() as s:
        outbox.emit(s, protocol.STOCK_MOVEMENT, {"id": "broken", "sku": "A1", "location": "floor"})
    with sync_office(till, qtbot) as (screen, ctx, agent):
        wire.offline = True
        agent.start()  # the first round fails: the store is offline
        qtbot.waitUntil(lambda: agent.status().failures >= 1, timeout=10000)
        screen.tabs.setCurrentWidget(screen.sync_page)
        qtbot.waitUntil(ctx.ops.is_idle)
        assert "offline since" in screen.sync_state.text()
        assert "Waiting to send: 0" not in screen.sync_counts.text()

        wire.offline = False
        qtbot.mouseClick(screen.sync_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: agent.status().last_error is None and not agent.status().busy, timeout=10000)
        screen.refresh_sync()
        qtbot.waitUntil(lambda: "Refused: 1" in screen.sync_counts.text(), timeout=10000)
        assert screen.sync_state.text().startswith("sync: ok")
        assert screen.rejected_table.rowCount() == 1
        assert "id" in screen.rejected_table.item(0, 2).text()
        shoot(screen, "sync-enrolled")


def test_lookup_on_an_enrolled_till_shows_the_store_stock(hub: Hub, tmp_path: Path, qtbot: QtBot) -> None:
    t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
    t1.sync()
    t2.sync()
    t2.receive("A1", 10)
    t2.sync()
    hub.place_order("S1", "A1", "2")
    t1.sync()
    t1.sell("A1", 3)  # not sent yet
    with t1.factory() as s:
        product_id = s.scalars(select(Product.id).where(Product.sku == "A1")).one()
    ctx = context_for(t1.factory, "admin", "123456")
    ops = ctx.ops
    screen = LookupScreen(ctx)
    qtbot.addWidget(screen)
    screen.resize(1280, 800)
    screen.show()
    try:
        screen._picked(product_id)
        qtbot.waitUntil(lambda: "Stock in the store" in screen.detail.text(), timeout=5000)
        text = screen.detail.text()
        assert "Sales floor: 7 (2 held for web orders)" in text, text
        assert "Tax class std (20%)" in text
        shoot(screen, "lookup-enrolled")
    finally:
        ops.shutdown()
