"""Short jobs off the GUI thread (a carrier's answer, a scale's reading, a balance at the central) whose closures
are let go on the GUI thread.

A job's closure holds the screen or dialog that asked (its callback, `self`). When that screen was closed while the
job ran, the closure is its last reference; `threading.Thread` drops its target on the worker thread, and a QObject
freed there is undefined in Qt (a crash, or a GUI thread waiting on that very worker). `start` hands the closure to
the GUI thread through a queue before the worker lets go of it, as the op helper (ui/ops.py) does with its jobs.
"""

from __future__ import annotations

import logging
import queue
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QCoreApplication, QObject, Qt, Signal


class _Releaser(QObject):
    """Lives on the GUI thread: what a worker puts in its queue is dropped there."""

    arrived = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._kept: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.arrived.connect(self._drop, Qt.ConnectionType.QueuedConnection)

    def keep(self, obj: object) -> None:
        self._kept.put(obj)
        self.arrived.emit()

    def _drop(self) -> None:
        while True:
            try:
                self._kept.get_nowait()  # dropped here, on the GUI thread
            except queue.Empty:
                return


log = logging.getLogger(__name__)
_releaser: _Releaser | None = None


def start(work: Callable[[], None], name: str) -> threading.Thread:
    """Run `work` on a daemon thread of its own (called on the GUI thread); `work` is let go on the GUI thread."""
    global _releaser
    if _releaser is None:
        _releaser = _Releaser()
        app = QCoreApplication.instance()
        if app is not None:
            _releaser.moveToThread(app.thread())
    releaser = _releaser
    held = [work]
    del work

    def run() -> None:
        job = held.pop()
        error: BaseException | None = None
        try:
            job()
        except Exception as exc:  # noqa: BLE001 - a job answers its screen itself; what escapes is logged
            error = exc
            # As text: a log record that kept the exception would keep the job's frame, and what it holds, alive.
            log.error(
                "background job %s failed:\n%s", name, "".join(traceback.format_exception(exc)).rstrip()
            )
        # The queue takes its references (the job, and the error whose traceback holds the job's frame) before this
        # thread lets go of its own.
        releaser.keep((job, error))
        del job, error

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread
