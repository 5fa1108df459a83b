"""A screen's AppContext for someone signed in, built the way the main window builds it: the store's style, the op
helper acting as that person, failures shown in the message bar."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.services import staff
from app.services.base import Actor, here
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
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
