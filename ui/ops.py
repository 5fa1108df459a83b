"""The one op helper: every service call from a screen runs here, one transaction per user event.

Calls run in order on one worker thread (database work never blocks the GUI), each in `with factory.begin()`.
Results come back on the GUI thread through the `on_done` callback; a `UserError` is shown in the message bar; a
`PermissionDenied` asks a permitted person to approve that one action (the approval dialog) and, when approved,
runs the call again with the approval attached. Every success that wrote anything emits `changed(Changes)`,
derived from the tables the transaction wrote (`app.services.changed`), so screens redraw what concerns them at
once instead of waiting for a timer. An unexpected error is logged and shown in plain words; it never reaches the
user as a traceback.

Any error rolls the whole call back. A refusal that must leave a record (a wrong PIN counted towards the lockout, and
its audit entry) needs nothing from here: the service writes it with `app.services.base.kept_if_rolled_back`, which
writes it again on its own once this transaction has been rolled back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import make_read_sessionmaker
from app.services import changed
from app.services.base import Actor, Changes, PermissionDenied, UserError

log = logging.getLogger(__name__)

Work = Callable[[Session, Actor], Any]


class Ops(QObject):
    changed = Signal(object)  # Changes
    failed = Signal(str)  # a message for the message bar
    _done = Signal()  # one outcome more waits in _outcomes
    busy_changed = Signal(bool)

    def __init__(self, factory: sessionmaker[Session], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.factory = factory
        # Reads begin DEFERRED on SQLite: they neither take nor wait for the write lock.
        self.read_factory = make_read_sessionmaker(factory.kw["bind"])
        self.actor: Actor | None = None
        self.ask_approval: Callable[[str, str, Callable[[str | None], None]], None] | None = None
        self._queue: queue.Queue[
            tuple[Callable[[], Any], Callable[[Any, BaseException | None], None]] | None
        ] = queue.Queue()
        # What a job leaves (the job, the screen's callback, the result or the error) goes to the GUI thread through
        # this queue, and is dropped there: a job's closure may hold the last reference to a screen, and a QObject
        # freed on the worker thread is undefined in Qt (a crash, or a till whose GUI waits on this very thread).
        self._outcomes: queue.SimpleQueue[
            tuple[Any, Callable[[Any, BaseException | None], None], Any, Any]
        ] = queue.SimpleQueue()
        self._pending = 0
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._done.connect(self._deliver)
        self._thread = threading.Thread(target=self._loop, name="counterline-ops", daemon=True)
        self._thread.start()

    # -- public -------------------------------------------------------------------------------------------
    def run(
        self,
        work: Work,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        actor: Actor | None = None,
    ) -> None:
        """Run `work(session, actor)` in one transaction off the GUI thread; `on_done(result)` on the GUI thread."""
        act = actor or self.actor
        if act is None:
            self.failed.emit(self.tr("Sign in first."))
            return

        def job() -> tuple[Any, set[str]]:
            with self.factory.begin() as session:
                written = changed.watch(session)  # the tables this transaction writes
                return work(session, act), written

        def finish(outcome: Any, error: BaseException | None) -> None:
            if error is None:
                result, written = outcome
                # What changed is read from the transaction (now committed); a service's own Changes adds notes.
                said = result if isinstance(result, Changes) else getattr(result, "changes", None)
                derived = changed.changes_of(written)
                if isinstance(said, Changes):
                    derived.merge(said)
                if written or isinstance(said, Changes):
                    self.changed.emit(derived)
                if on_done is not None:
                    on_done(result)
                return
            if isinstance(error, PermissionDenied) and self.ask_approval is not None:

                def approved(approval_id: str | None) -> None:
                    if approval_id is None:
                        msg = self.tr("Not approved: nothing was changed.")
                        (on_error or self.failed.emit)(msg)
                        return
                    self.run(work, on_done, on_error, act.with_approval(approval_id))

                self.ask_approval(error.permission, str(error), approved)
                return
            msg = str(error) if isinstance(error, UserError) else self._unexpected(error)
            if on_error is not None:
                on_error(msg)
            else:
                self.failed.emit(msg)

        self._submit(job, finish)

    def read(self, work: Callable[[Session], Any], on_done: Callable[[Any], None]) -> None:
        """A read-only call (no actor needed), in order with the writes."""

        def job() -> Any:
            with self.read_factory() as session:
                return work(session)

        def finish(result: Any, error: BaseException | None) -> None:
            if error is None:
                on_done(result)
            else:
                self.failed.emit(str(error) if isinstance(error, UserError) else self._unexpected(error))

        self._submit(job, finish)

    def is_idle(self) -> bool:
        """True when every queued call has run and delivered its result (tests wait on this)."""
        return self._idle.is_set()

    def shutdown(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)

    # -- inside --------------------------------------------------------------------------------------------
    def _unexpected(self, error: BaseException) -> str:
        log.error("operation failed", exc_info=(type(error), error, error.__traceback__))
        return self.tr("Something went wrong and nothing was changed. If it happens again, tell a manager.")

    def _submit(self, job: Callable[[], Any], finish: Callable[[Any, BaseException | None], None]) -> None:
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self.busy_changed.emit(True)
        self._queue.put((job, finish))

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            job, finish = item
            del item
            try:
                result, error = job(), None
            except BaseException as exc:  # noqa: BLE001 - delivered to the GUI thread as a message
                result, error = None, exc
            # The queue takes a reference before this thread lets go of its own, so the last one is always the
            # GUI thread's (an emitted signal's copies could be dropped there first, leaving this thread the last).
            self._outcomes.put((job, finish, result, error))
            del job, finish, result, error
            self._done.emit()

    def _deliver(self) -> None:
        job, finish, result, error = self._outcomes.get_nowait()
        del job  # here, on the GUI thread
        try:
            finish(result, error)
        except Exception as exc:  # noqa: BLE001 - a screen's bug: the work is committed, say so plainly
            log.error("showing a result failed", exc_info=exc)
            self.failed.emit(
                self.tr("Done, but the screen could not show the result. If it looks wrong, tell a manager.")
            )
        finally:
            with self._lock:
                self._pending -= 1
                if self._pending == 0:
                    self._idle.set()
                    self.busy_changed.emit(False)
