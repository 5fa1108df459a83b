"""The main window builds a workstation the first time it is needed: it starts with its sign-in page alone, and
what only the workstations import (the HTTP client, the wire's pydantic models, the screens' modules) is no part of
importing the window; a change reaches the screens built so far; the rest are built while idle."""

from __future__ import annotations

import subprocess
import sys

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.services.base import Changes
from tests.ui.contexts import idle, main_window, sign_in
from ui.main_window import WORKSTATIONS
from ui.screens.journal import JournalScreen
from ui.screens.pack import PackScreen

Factory = sessionmaker[Session]


def test_importing_the_window_imports_no_workstation_nor_the_http_client() -> None:
    heavy = ["httpx", "pydantic", "sync.protocol", "sync.client", "ui.screens.sell", "ui.screens.pack"]
    code = f"import sys, ui.main, ui.main_window; print([m for m in {heavy!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_workstations_are_built_on_first_show(db: Factory, qtbot: QtBot) -> None:
    with main_window(db, qtbot) as win:
        assert all(key not in win.screens for key, _label in WORKSTATIONS)
        assert win.stack.count() == 1  # the sign-in page
        sign_in(qtbot, win, "packer", "3333")  # a packer starts at Pack: the Sell screen is never built
        assert win.current == "pack" and isinstance(win.stack.currentWidget(), PackScreen)
        assert "pack" in win.screens and "sell" not in win.screens
        seen: list[Changes] = []
        win.screens["pack"].on_changed = seen.append
        win.on_changed(Changes(orders=True))
        assert len(seen) == 1 and "sell" not in win.screens  # a change builds nothing
        win.sign_out()  # with no Sell screen there is no sale to park
        assert win.current == "signin" and "sell" not in win.screens


def test_the_rest_are_built_while_idle_and_lookup_still_opens_the_journal(db: Factory, qtbot: QtBot) -> None:
    with main_window(db, qtbot) as win:
        done: list[bool] = []
        win.build_rest_when_idle(then=lambda: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=30_000)
        assert all(key in win.screens for key, _label in WORKSTATIONS)
        assert win.stack.count() == len(WORKSTATIONS) + 1
        idle(qtbot, win)
        sign_in(qtbot, win, "manager", "6666")
        qtbot.keyClick(win, Qt.Key.Key_5, Qt.KeyboardModifier.ControlModifier)
        assert win.current == "lookup"
        win.screens["lookup"].open_sale.emit("no-such-order")
        assert win.current == "journal" and isinstance(win.stack.currentWidget(), JournalScreen)
        idle(qtbot, win)
