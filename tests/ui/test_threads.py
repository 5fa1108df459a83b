"""ui.threads: a short job's closure is let go on the GUI thread, even when it holds the last reference to what
asked for it (a screen closed while the job ran)."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from ui import threads


def test_a_jobs_closure_is_let_go_on_the_gui_thread(qtbot: QtBot) -> None:
    freed_on: list[str] = []

    class Screen:  # stands for a dialog the job's closure holds
        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    release = threading.Event()
    ran: list[bool] = []
    screen = Screen()

    def work(held: Screen = screen) -> None:  # its own reference, not the test's variable
        release.wait(5)
        ran.append(held is not None)

    thread = threads.start(work, "counterline-test-job")
    del work, screen  # the dialog is closed: only the running job holds it now
    release.set()
    thread.join(5)
    assert ran == [True] and not thread.is_alive()
    qtbot.waitUntil(lambda: freed_on != [], timeout=5000)
    assert freed_on == [threading.main_thread().name]


def test_a_job_that_raises_is_let_go_on_the_gui_thread_too(qtbot: QtBot) -> None:
    freed_on: list[str] = []

    class Screen:
        def __del__(self) -> None:
            freed_on.append(threading.current_thread().name)

    def work(held: Screen = Screen()) -> None:  # noqa: B008 - the default is the point: the closure's own reference
        raise RuntimeError("the scale is unplugged")

    thread = threads.start(work, "counterline-test-job")
    del work
    thread.join(5)
    qtbot.waitUntil(lambda: freed_on != [], timeout=5000)
    assert freed_on == [threading.main_thread().name]
