"""Office > Sync lists the changes from the central store this till could not apply, beside the events the central
store refused, while the agent's rounds go on past them (real central service in process, real agent thread)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from sync import protocol, replica
from tests.sync.fleet import Hub, Till
from tests.ui.test_sync_ui import sync_office


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    yield h
    h.close()


def test_a_change_set_aside_shows_in_office_sync_and_sync_goes_on(
    hub: Hub, tmp_path: Path, qtbot: QtBot
) -> None:
    till = Till.enrol(hub, tmp_path / "till", "S1", "T1")
    till.sync()
    # A change in the feed this till cannot take (a sale line without a quantity), then a price change after it.
    head = hub.feed_a_change_no_till_can_apply()
    with sync_office(till, qtbot) as (screen, _ctx, agent):
        screen.tabs.setCurrentWidget(screen.sync_page)
        agent.start()
        qtbot.waitUntil(lambda: agent.rounds() >= 1 and not agent.status().busy, timeout=15000)
        # Sync now while the agent waits on the feed: the outbox is pushed at once and the feed comes as it
        # changes (a full round follows the wait), so the change set aside is already shown and passed.
        qtbot.mouseClick(screen.sync_btn, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not agent.status().busy, timeout=15000)
        assert agent.status().last_error is None, agent.status().last_error
        screen.refresh_sync()
        qtbot.waitUntil(lambda: screen.parked_changes_table.rowCount() == 1, timeout=10000)
        kind, why = screen.parked_changes_table.item(0, 1), screen.parked_changes_table.item(0, 3)
        assert kind is not None and why is not None
        assert kind.text() == protocol.CHANGE_SALE and "qty" in why.text()
        assert screen.sync_state.text().startswith("sync: ok")
        with till.factory() as s:
            assert replica.cursor(s) == head  # the feed went on past it
        folder = Path(os.environ.get("OFFICE_SHOTS", tempfile.gettempdir()))
        screen.grab().save(str(folder / "office-sync-parked-change.png"))
