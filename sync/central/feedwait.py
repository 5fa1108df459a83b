"""Waiting on a store's feed (the long-poll of GET /v1/pull?wait=...), in one process of the central service.

Every session of the app's factory is watched: a flush that adds feed rows notes their stores, and the commit
wakes whoever waits on those stores (a rollback forgets them). A waiter is a coroutine on the server's event loop,
so a till that waits holds no worker thread, no database connection and no transaction; it looks at the database
itself again every `RECHECK_S`, which covers changes committed by another process (a cron job, a second server).

Across processes on PostgreSQL (`serve --workers N`, or several hosts): the transaction that adds feed rows also
sends `NOTIFY counterline_feed, '<store ids>'` (delivered at its commit, dropped at a rollback), and each process
that has a pull waiting LISTENs on one connection of its own (`FeedNotifier.listen`) and wakes its waiters of those
stores, so a change committed in one process reaches a till waiting in another at once, not at the next re-check.

Versions: a waiter takes the store's version before it reads the feed, and waits only while the version is the
same, so a change committed between its read and its wait is not missed."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import psycopg
from sqlalchemy import Engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from sync.central.models import FeedChange

RECHECK_S = 2.0
# While this process LISTENs (PostgreSQL), other processes' commits wake its waiters at once: the re-check is only
# a safety net then, and 1,000 idle tills re-reading the feed every 2 s were 500 queries a second for nothing.
LISTENING_RECHECK_S = 15.0
CHANNEL = "counterline_feed"
_TOUCHED = "feedwait_touched"
log = logging.getLogger(__name__)


def note_notified(session: Session, store_ids: Iterable[int]) -> None:
    """Feed rows of these stores were added by a statement that sent their NOTIFY itself (sync.central.order_write):
    the commit wakes their waiters in this process."""
    session.info.setdefault(_TOUCHED, set()).update(store_ids)


def note_feed_rows(session: Session, store_ids: Iterable[int]) -> None:
    """Feed rows of these stores were added in this transaction: its commit wakes their waiters, in this process
    and (PostgreSQL) in every other one that listens."""
    touched: set[int] = session.info.setdefault(_TOUCHED, set())
    new = set(store_ids) - touched
    if not new:
        return
    touched.update(new)
    if session.get_bind().dialect.name == "postgresql":
        payload = ",".join(str(i) for i in sorted(new))
        session.connection().execute(_NOTIFY, {"channel": CHANNEL, "stores": payload})


_NOTIFY = text("SELECT pg_notify(:channel, :stores)")  # made once (a text() parses its statement when made)


class FeedNotifier:
    """Per-store versions bumped after each commit that added feed rows, and the coroutines waiting on them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._versions: dict[int, int] = defaultdict(int)
        self._waiters: dict[int, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
        self._listener: threading.Thread | None = None
        self._closed = threading.Event()
        self._listening = threading.Event()

    # -- the watch (any thread)
    def watch(self, factory: sessionmaker[Session]) -> None:
        """Wake the waiters of a store once a session of `factory` commits feed rows of it."""
        event.listen(factory, "after_flush", self._after_flush)
        event.listen(factory, "after_commit", self._after_commit)
        event.listen(factory, "after_rollback", self._after_rollback)

    def _after_flush(self, session: Session, _context: Any) -> None:
        stores = {obj.store_id for obj in session.new if isinstance(obj, FeedChange)}
        if stores:
            note_feed_rows(session, stores)

    def _after_commit(self, session: Session) -> None:
        stores = session.info.pop(_TOUCHED, None)
        if stores:
            self.notify(stores)

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(_TOUCHED, None)

    def notify(self, store_ids: set[int] | list[int]) -> None:
        with self._lock:
            woken: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
            for store_id in store_ids:
                self._versions[store_id] += 1
                woken.extend(self._waiters.get(store_id, ()))
        for loop, flag in woken:
            try:
                loop.call_soon_threadsafe(flag.set)
            except RuntimeError:  # that loop is closed: its waiter is gone
                pass

    def version(self, store_id: int) -> int:
        with self._lock:
            return self._versions[store_id]

    # -- waiting (on an event loop)
    async def wait(self, store_id: int, seen: int, timeout: float) -> bool:
        """Wait until the store's version moves past `seen`, or `timeout` seconds; True if it moved."""
        flag = asyncio.Event()
        entry = (asyncio.get_running_loop(), flag)
        with self._lock:
            if self._versions[store_id] != seen:
                return True
            self._waiters[store_id].add(entry)
        try:
            await asyncio.wait_for(flag.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                waiters = self._waiters.get(store_id)
                if waiters is not None:
                    waiters.discard(entry)
                    if not waiters:
                        del self._waiters[store_id]
        return self.version(store_id) != seen

    # -- other processes' commits (PostgreSQL)
    def listen(self, engine: Engine) -> None:
        """Start (once) a thread that LISTENs for other processes' feed commits and wakes the waiters here. Only
        on PostgreSQL; elsewhere the re-check every RECHECK_S covers other processes."""
        if engine.dialect.name != "postgresql" or self._listener is not None or self._closed.is_set():
            return
        dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._listener = threading.Thread(target=self._listen, args=(dsn,), name="feed-listen", daemon=True)
        self._listener.start()

    def _listen(self, dsn: str) -> None:
        while not self._closed.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True, connect_timeout=10) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    # What was committed while not listening: every waiter looks again.
                    self.notify(self._stores_waited_on())
                    while not self._closed.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self.notify([int(x) for x in note.payload.split(",") if x.isdigit()])
            except psycopg.Error as exc:
                self._listening.clear()
                with self._lock:
                    if not self._waiters:  # nobody to wake: stop; the next waiter starts listening again
                        self._listener = None
                        return
                log.warning(
                    "feed listener: %s; again in %.0f s",
                    str(exc).splitlines()[0] if str(exc) else exc,
                    RECHECK_S,
                )
                self._closed.wait(RECHECK_S)

    @property
    def recheck_s(self) -> float:
        """How long a waiter waits before it looks at the database again by itself."""
        return LISTENING_RECHECK_S if self._listening.is_set() else RECHECK_S

    def _stores_waited_on(self) -> list[int]:
        with self._lock:
            return list(self._waiters)

    def close(self) -> None:
        """Stop listening (the app shuts down)."""
        self._closed.set()
        if self._listener is not None:
            self._listener.join(5)

    def waiting(self) -> int:
        """How many waiters there are now (for tests and the status)."""
        with self._lock:
            return sum(len(w) for w in self._waiters.values())
