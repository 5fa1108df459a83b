"""The start to the window: `counterline` shows its window before it imports what only later work needs (the
approval dialog, the shift and print services the status bar reads, the GS1 library), imports those once the window
has painted, and styles the sign-in page and the workstation buttons by the app's one style sheet."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from tests.ui.contexts import main_window, sign_in

Factory = sessionmaker[Session]

LATER = [
    "ui.approval",
    "app.services.shifts",
    "app.services.printing",
    "biip",
    "ui.camera_preview",
    "ui.screens.sell",
]

# The app as `counterline` starts it, with a look at what is imported when the window has painted.
_PROBE = """
import sys
import ui.main, ui.main_window

real = ui.main_window.MainWindow.when_painted

def spy(self, then):
    def ready():
        later = [m for m in LATER if m in sys.modules]
        print("imported at ready:", later, flush=True)
        then()
    real(self, ready)

ui.main_window.MainWindow.when_painted = spy
sys.exit(ui.main.main(["--data-dir", DATA_DIR]))
"""


def test_the_window_shows_before_what_comes_later_is_imported(db_path: Path) -> None:
    code = f"LATER = {LATER!r}\nDATA_DIR = {str(db_path.parent)!r}\n" + _PROBE
    env = dict(os.environ, COUNTERLINE_EXIT_WHEN_READY="1", QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "imported at ready: []" in done.stdout, done.stdout
    assert "window ready in" in done.stdout  # what benchmarks/start.py reads


def test_sign_in_and_workstation_buttons_have_no_style_sheet_of_their_own(db: Factory, qtbot: QtBot) -> None:
    with main_window(db, qtbot) as win:
        own = [w.objectName() or type(w).__name__ for w in win.signin.findChildren(QWidget) if w.styleSheet()]
        assert own == []
        assert [b for b in win.nav.values() if b.styleSheet()] == []
        key = win.signin.findChildren(QWidget, "primary")[0]
        assert key.font().pixelSize() == 28  # the keypad's rule in ui/theme.py reached it
        sign_in(qtbot, win, "manager", "6666")
        assert win.nav["sell"].property("current") is True
        # The current one is marked by its colour, not by bold type (which would widen it and move the row).
        assert win.nav["sell"].palette().button().color() != win.nav["pickup"].palette().button().color()
        win.show_screen("pickup")
        assert win.nav["pickup"].property("current") is True and win.nav["sell"].property("current") is False
        assert [b for b in win.nav.values() if b.styleSheet()] == []


def test_the_status_bar_is_read_once_the_window_has_painted(db: Factory, qtbot: QtBot) -> None:
    with main_window(db, qtbot) as win:
        qtbot.waitUntil(lambda: bool(win.st_shift.text()), timeout=10_000)
        assert win.st_sync.text().startswith("sync:")


def test_the_rest_is_imported_while_idle(db: Factory, qtbot: QtBot) -> None:
    with main_window(db, qtbot) as win:
        done: list[bool] = []
        win.build_rest_when_idle(then=lambda: done.append(True))
        qtbot.waitUntil(lambda: bool(done), timeout=30_000)
        assert "biip" in sys.modules and "ui.approval" in sys.modules
