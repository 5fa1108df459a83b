"""The op helper: a screen callback that fails after the work committed says so, and the helper goes on."""

from __future__ import annotations

import threading
from typing import Any

from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Setting, StaffUser
from app.services import settings
from app.services.base import Actor
from ui.ops import Ops


def test_a_failing_screen_callback_is_reported_and_the_work_stays(
    qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    ops = Ops(db)
    try:
        with db() as s:
            ops.actor = Actor(s.scalars(select(StaffUser.id).limit(1)).one())
        said: list[str] = []
        ops.failed.connect(said.append)

        def broken_screen(_result: Any) -> None:
            raise AttributeError("a screen bug")

        ops.run(lambda s, a: settings.put(s, "test.key", "kept"), broken_screen)
        qtbot.waitUntil(ops.is_idle, timeout=5000)
        assert said and "could not show the result" in said[0]
        with db() as s:
            assert s.get(Setting, "test.key") is not None  # committed before the screen failed

        done: list[Any] = []
        ops.read(lambda s: 42, done.append)  # and the helper goes on
        qtbot.waitUntil(lambda: done == [42], timeout=5000)
    finally:
        ops.shutdown()


def test_what_a_job_held_is_let_go_on_the_gui_thread(qtbot: QtBot, db: sessionmaker[Session]) -> None:
    """A job's closure may hold the last reference to a screen that was closed while the job ran: it is dropped
    on the GUI thread, never on the worker's (a QObject freed there is undefined in Qt)."""
    ops = Ops(db)
    freed_on: list[str] = []

    class Screen:  # stands for a widget the job's closure holds
        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    try:
        release = threading.Event()
        screen = Screen()

        def work(
            _s: Session, held: Screen = screen
        ) -> int:  # a reference of its own, not the test's variable
            release.wait(5)
            return id(held)

        ops.read(work, lambda _r: None)
        del work, screen  # the screen is closed: only the running job holds it now
        release.set()
        qtbot.waitUntil(ops.is_idle, timeout=5000)
        done: list[Any] = []
        ops.read(lambda s: 42, done.append)  # the worker takes its next job
        qtbot.waitUntil(lambda: done == [42], timeout=5000)
        assert freed_on == [threading.main_thread().name]
    finally:
        ops.shutdown()
