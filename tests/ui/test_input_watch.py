"""What watches every event of the application, and when: nothing while a scan goes into the scan field (an
application-wide filter makes every event of every widget, each paint among them, wait for Python's lock while the
op helper's thread holds it), the scan router while the keyboard is elsewhere, and the idle lock only until it has
seen the next key or tap. The idle lock (`staff.idle_lock_minutes`) still signs out after that many minutes without
input, and not while someone works."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QApplication, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.services import settings
from tests.ui.contexts import idle, main_window, scan, sign_in
from tests.ui.test_sell_trial import codes, open_till
from ui import main_window as main_window_module
from ui.scan_router import ScanRouter

Factory = sessionmaker[Session]


class CountingRouter(ScanRouter):
    """The scan router, counting the events its application-wide filter is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        self.seen += 1
        return super().eventFilter(obj, event)


def test_the_router_filters_only_while_the_keyboard_is_outside_the_scan_field(
    db: Factory, qtbot: QtBot
) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    router = CountingRouter()
    with main_window(db, qtbot, router=router) as win:
        router.install(app)
        try:
            sell = open_till(db, win, qtbot)
            idle(qtbot, win)
            win.activateWindow()
            win.scan.setFocus()
            qtbot.waitUntil(lambda: QApplication.focusWidget() is win.scan)
            router.seen = 0
            scan(qtbot, win, codes(db, 1)[0][0])  # a scan into the scan field, its line shown and painted
            win.repaint()
            assert router.seen == 0
            assert len(sell.rows) == 1  # the scan field took the scan itself
            # The idle lock's watch ended at the scan's first key; its next check starts it again.
            assert not win._watching
            win._check_idle()
            assert win._watching

            other = QLineEdit(win)
            other.show()
            other.setFocus()
            qtbot.waitUntil(lambda: QApplication.focusWidget() is other)
            win.repaint()
            assert router.seen > 0  # a burst typed here would be caught
            win.scan.setFocus()
            qtbot.waitUntil(lambda: QApplication.focusWidget() is win.scan)
            router.seen = 0
            win.repaint()
            assert router.seen == 0
        finally:
            router.uninstall()
        other.setFocus()
        qtbot.waitUntil(lambda: QApplication.focusWidget() is other)
        win.repaint()
        assert router.seen == 0  # uninstalled: a later focus change does not bring the filter back


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The main window's monotonic clock, moved by the test."""
    now = [1000.0]

    class Clock:
        @staticmethod
        def monotonic() -> float:
            return now[0]

    monkeypatch.setattr(main_window_module, "time", Clock)
    return now


def test_the_idle_lock_signs_out_after_its_minutes_without_input_only(
    db: Factory, qtbot: QtBot, clock: list[float]
) -> None:
    with db.begin() as s:
        settings.put(s, "staff.idle_lock_minutes", 2)
    with main_window(db, qtbot) as win:
        sign_in(qtbot, win, "cashier", "1111")
        qtbot.waitUntil(lambda: win._idle_minutes == 2.0)
        win.show_screen("sell")
        idle(qtbot, win)

        def key() -> None:
            app = QApplication.instance()
            assert isinstance(app, QApplication)
            app.sendEvent(win.scan, _key_press())

        # Someone works: a key every minute, the check every 15 s (the watch ends at a key, the check restarts it).
        for _minute in range(5):
            for _check in range(4):
                clock[0] += 15
                win._check_idle()
            key()
        assert win.ctx.user is not None
        # Nobody touches the till: signed out once two minutes have gone by, not before.
        clock[0] += 110
        win._check_idle()
        assert win.ctx.user is not None
        clock[0] += 15
        win._check_idle()
        assert win.ctx.user is None
        assert "2" in win.signin.status.text()


def test_an_idle_lock_of_zero_never_signs_out(db: Factory, qtbot: QtBot, clock: list[float]) -> None:
    with db.begin() as s:
        settings.put(s, "staff.idle_lock_minutes", 0)
    with main_window(db, qtbot) as win:
        sign_in(qtbot, win, "cashier", "1111")
        idle(qtbot, win)
        clock[0] += 24 * 3600
        win._check_idle()
        assert win.ctx.user is not None


def _key_press() -> Any:
    from PySide6.QtGui import QKeyEvent

    return QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_5, Qt.KeyboardModifier.NoModifier, "5")
