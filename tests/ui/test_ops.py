"""The op helper: a screen callback that fails after the work committed says so, and the helper goes on."""

from __future__ import annotations

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
