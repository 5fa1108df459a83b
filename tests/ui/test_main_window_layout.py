"""The main window's top row at the two sizes a till has: the scan field's hint shows whole, and switching
workstations moves neither the workstation buttons nor the scan field (the current one is marked by colour, not by
bold type, which would widen it)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from tests.ui.contexts import idle, main_window, sign_in
from ui.main_window import WORKSTATIONS

Factory = sessionmaker[Session]


@pytest.mark.parametrize(("size", "hint"), [((1024, 768), "Scan, or type a code"), ((1280, 800), None)])
def test_scan_hint_whole_and_nothing_moves_on_a_switch(
    db: Factory, qtbot: QtBot, size: tuple[int, int], hint: str | None
) -> None:
    with main_window(db, qtbot, size=size) as win:
        sign_in(qtbot, win, "manager", "6666")
        qtbot.wait(20)
        scan = win.scan
        shown = scan.placeholderText()
        assert shown == (hint or "Scan, or type a code + Enter")
        assert scan.fontMetrics().horizontalAdvance(shown) <= scan.width() - 32  # not cut off
        places: set[tuple[tuple[int, int], ...]] = set()
        for key, _label in WORKSTATIONS:
            win.show_screen(key)
            idle(qtbot, win)
            qtbot.wait(10)
            places.add(tuple((b.x(), b.width()) for b in [scan, *win.nav.values()]))
        assert len(places) == 1, places
