"""A screen's AppContext for someone signed in, built the way the main window builds it: the store's style, the op
helper acting as that person, failures shown in the message bar. And the real main window for the screen tests that go
through it: built, signed in by PIN, and scanned into through its scan field."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.services import staff
from app.services.base import Actor, here
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.main_window import MainWindow
from ui.ops import Ops
from ui.scan_router import ScanRouter
from ui.theme import STYLE

Factory = sessionmaker[Session]


def context_for(factory: Factory, username: str, pin: str) -> AppContext:
    """Signed in as `username`; the caller shuts `ctx.ops` down."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE)
    with factory.begin() as s:
        user = staff.sign_in(s, username, pin)
        where = here(s)
    ops = Ops(factory)
    ops.actor = Actor(user.id, key=user.key)
    ctx = AppContext(factory, ops, ScanRouter(), MessageBar(), Sounds(), where, user=user)
    ops.failed.connect(ctx.messages.show_error)
    return ctx


@contextmanager
def signed_in(factory: Factory, qtbot: QtBot, username: str, pin: str) -> Iterator[AppContext]:
    """`context_for` with its message bar in qtbot's care and its op helper shut down afterwards."""
    ctx = context_for(factory, username, pin)
    qtbot.addWidget(ctx.messages)
    try:
        yield ctx
    finally:
        ctx.ops.shutdown()


@contextmanager
def main_window(
    factory: Factory,
    qtbot: QtBot,
    router: ScanRouter | None = None,
    size: tuple[int, int] | None = (1280, 800),
) -> Iterator[MainWindow]:
    """The main window at its sign-in page, styled and showing (at `size`, if given), in qtbot's care; its op helper
    shut down afterwards."""
    with factory() as s:
        h = here(s)
    ctx = AppContext(
        factory=factory,
        ops=Ops(factory),
        router=router or ScanRouter(),
        messages=MessageBar(),
        sounds=Sounds(),
        here=h,
    )
    win = MainWindow(ctx)
    win.setStyleSheet(STYLE)
    qtbot.addWidget(win)
    if size is not None:
        win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    try:
        yield win
    finally:
        ctx.ops.shutdown()


def idle(qtbot: QtBot, win: MainWindow) -> None:
    qtbot.waitUntil(win.ctx.ops.is_idle, timeout=10_000)


def sign_in(qtbot: QtBot, win: MainWindow, username: str, pin: str) -> None:
    """Pick `username` on the sign-in page, type the PIN and submit, as a person would."""
    idle(qtbot, win)
    users = win.signin.users
    for i in range(users.count()):
        if users.item(i).data(Qt.ItemDataRole.UserRole) == username:
            users.setCurrentRow(i)
    win.signin.pin.setText(pin)
    win.signin.submit()
    qtbot.waitUntil(lambda: win.ctx.user is not None, timeout=10_000)
    idle(qtbot, win)


def scan(qtbot: QtBot, win: MainWindow, code: str) -> None:
    """A scanner: the code's keys, then its trailing Enter, into whatever has the keyboard (the scan field)."""
    target = QApplication.focusWidget()
    assert target is win.scan, f"focus is on {target!r}, not the scan field"
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.wait(5)  # what the scan answers straight away shows once its Enter has gone by
    idle(qtbot, win)
