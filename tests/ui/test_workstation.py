"""The workstation base (ui/workstation.py) on its own: a toy verification screen built on it in a real window with
the real scan field and router (pytest-qt, offscreen). A scan lands in the work list and lights its line; the
keyboard is back in the scan field after an action; Up/Down move the current line over the live lines only; a
button shows its key, never takes the focus, and a scanner's trailing Enter does not press it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidgetItem, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.domain import barcodes
from app.services.base import here
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.scan_router import ScanField, ScanRouter
from ui.theme import CURRENT_LINE, STYLE
from ui.workstation import Action, Row, Workstation


class Pick(Workstation):
    """A toy Pickup: each scan counts one of an item; F3 marks a line done, F10 finishes."""

    title = "Pick"
    columns = ("Item", "Scanned")
    numeric = (1,)
    action_keys = (Action("F3", "Done", "done"), Action("F1", "Keys", "help"))
    primary = Action("F10", "Finish", "finish")

    def __init__(self, ctx: AppContext) -> None:
        self.counts: dict[str, int] = {}
        self.dead: set[str] = set()
        self.finished = 0
        super().__init__(ctx)
        self.caption.setText("Left to scan")

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    def on_scan(self, result: barcodes.ScanResult) -> None:
        self.counts[result.raw] = self.counts.get(result.raw, 0) + 1
        self.current = self.highlight = result.raw
        self.redraw()

    def redraw(self) -> None:
        self.show_rows([Row(k, (k, str(n)), live=k not in self.dead) for k, n in self.counts.items()])
        self.figure.setText(str(len(self.counts) - len(self.dead)))

    def done(self) -> None:
        if self.current:
            self.dead.add(self.current)
        self.redraw()

    def finish(self) -> None:
        self.finished += 1


class Host(QWidget):
    """The window around a workstation: the scan field on top, as in the main window."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        lay = QVBoxLayout(self)
        self.scan = ScanField(ctx.router)
        lay.addWidget(self.scan)
        self.screen_ = Pick(ctx)
        lay.addWidget(self.screen_)

    def focus_scan(self) -> None:
        self.scan.setFocus(Qt.FocusReason.OtherFocusReason)


@pytest.fixture
def host(qtbot: QtBot, db: sessionmaker[Session]) -> Iterator[Host]:
    with db() as s:
        h = here(s)
    ctx = AppContext(
        factory=db, ops=Ops(db), router=ScanRouter(), messages=MessageBar(), sounds=Sounds(), here=h
    )
    win = Host(ctx)
    win.setStyleSheet(STYLE)
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.focus_scan()
    yield win
    ctx.ops.shutdown()


def scan(qtbot: QtBot, host: Host, code: str) -> None:
    """A scanner: the code's keys, then its trailing Enter, into whatever has the keyboard."""
    target = QApplication.focusWidget()
    assert target is host.scan, f"focus is on {target!r}, not the scan field"
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)


def cell(screen: Workstation, row: int, col: int) -> QTableWidgetItem:
    item = screen.table.item(row, col)
    assert item is not None
    return item


def bold_rows(screen: Workstation) -> list[int]:
    return [r for r in range(screen.table.rowCount()) if cell(screen, r, 0).font().bold()]


def test_a_scan_fills_the_work_list_and_lights_its_line(qtbot: QtBot, host: Host) -> None:
    pick = host.screen_
    for code in ("AAA", "BBB", "AAA"):
        scan(qtbot, host, code)
    assert [cell(pick, r, 1).text() for r in range(pick.table.rowCount())] == ["2", "1"]
    assert pick.current == "AAA" and pick.highlight == "AAA"
    assert bold_rows(pick) == [0]
    qtbot.waitUntil(lambda: pick.highlight is None, timeout=3000)  # the green goes; the current line stays
    assert cell(pick, 0, 0).background().color().name() == CURRENT_LINE.lower()
    assert pick.figure.text() == "2"


def test_up_and_down_move_the_current_line_over_live_lines_only(qtbot: QtBot, host: Host) -> None:
    pick = host.screen_
    for code in ("AAA", "BBB", "CCC"):
        scan(qtbot, host, code)
    pick.current = "BBB"
    pick.done()  # BBB is no longer live: struck through, and skipped
    assert cell(pick, 1, 0).font().strikeOut()
    assert pick.current == "CCC" and not pick.chosen  # the last live line took over
    qtbot.keyClick(host.scan, Qt.Key.Key_Up)
    assert pick.current == "AAA" and pick.chosen
    assert bold_rows(pick) == [0]
    qtbot.keyClick(host.scan, Qt.Key.Key_Up)  # already at the top: stays
    assert pick.current == "AAA"
    qtbot.keyClick(host.scan, Qt.Key.Key_Down)
    assert pick.current == "CCC"
    assert bold_rows(pick) == [2]
    assert QApplication.focusWidget() is host.scan
    scan(qtbot, host, "AAA")  # the next scan makes its own line current again
    assert pick.current == "AAA"


def test_a_button_shows_its_key_and_never_takes_the_focus(qtbot: QtBot, host: Host) -> None:
    pick = host.screen_
    finish = pick.buttons["finish"]
    assert pick.primary_button is finish
    assert "F10" in finish.text() and "F3" in pick.buttons["done"].text()
    assert finish.focusPolicy() == Qt.FocusPolicy.NoFocus
    qtbot.mouseClick(finish, Qt.MouseButton.LeftButton)
    assert pick.finished == 1
    assert QApplication.focusWidget() is host.scan  # the keyboard is back in the scan field
    scan(qtbot, host, "AAA")  # a scanner's trailing Enter does not press the button last used
    assert pick.finished == 1
    assert pick.counts == {"AAA": 1}
    qtbot.keyClick(host.scan, Qt.Key.Key_F10)  # the key works from the scan field
    assert pick.finished == 2
    assert QApplication.focusWidget() is host.scan


def test_focus_returns_to_the_scan_field_after_an_action(qtbot: QtBot, host: Host) -> None:
    pick = host.screen_
    scan(qtbot, host, "AAA")
    pick.table.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
    pick.table.setFocus()  # something took the keyboard (a closed dialog, a tap)
    assert QApplication.focusWidget() is pick.table
    qtbot.keyClick(pick.table, Qt.Key.Key_F3)
    assert "AAA" in pick.dead
    assert QApplication.focusWidget() is host.scan
    qtbot.keyClick(host.scan, Qt.Key.Key_F1)  # the key map, from the actions and their keys
    assert "F3  Done" in pick.ctx.messages.text() and "F10  Finish" in pick.ctx.messages.text()
