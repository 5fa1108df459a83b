"""Sync between this terminal's database and the central store: one round (`Syncer.sync_once`) and the background
loop that runs rounds off the GUI thread (`Agent`), with backoff and jitter, for as long as the store is offline.

A round pushes the outbox in batches, then pulls the feed page by page. Nothing here holds a database transaction
across a network call: a batch is read, sent, and its answers written in a transaction of their own; a page is
fetched, then applied with its cursor in one transaction. A process killed anywhere loses nothing: unsent or
unacknowledged events are sent again (the central store answers "duplicate"), an unapplied page is pulled again.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry
from app.db.types import utcnow
from app.services import outbox
from sync import protocol, replica, snapshot
from sync.client import Client, NotEnrolled, Refused, Retryable, SnapshotNeeded, SyncError

log = logging.getLogger("counterline.sync")

PUSH_BATCH = 100
PULL_PAGE = 500
# How long an idle agent's pull waits on the central's feed (long-poll); 0 turns it off.
LONG_POLL_S = 25.0
# While long-polling, a full round (push, pull, push) still runs this often.
ROUND_EVERY_S = 300.0
Progress = Callable[[int, int | None], None]  # (changes applied so far, total expected or None)


@dataclass(frozen=True)
class RoundReport:
    pushed: int = 0
    rejected: int = 0
    pulled: int = 0
    cursor: int = 0


def _events(rows: list[Any]) -> list[protocol.Event]:
    # Built without validation: what the till holds is sent as it is and judged by the central store, which
    # refuses a bad event alone with its reason (a local check that raised here would stop every later event).
    return [
        protocol.Event.model_construct(
            id=UUID(r.id), type=r.type, occurred_at=r.created_at, payload=r.payload
        )
        for r in rows
    ]


# Answers to a whole push that say its size or shape is the trouble (400 not readable, 413 too large, 422 not
# valid): the batch is halved until the event at fault is alone, and that one is then marked refused here with
# the central store's reason, so the till goes on.
_SPLIT_ON = (400, 413, 422)


def audit_anchor(session: Session) -> protocol.AuditAnchor | None:
    """This till's audit chain head, sent with every batch: the central keeps it, so entries removed here later
    (with their unsent outbox rows) are missed against it (sync.audit.compare)."""
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    return protocol.AuditAnchor(seq=head[0], hash=head[1]) if head is not None else None


class Syncer:
    """Push and pull for one terminal database through one client. Not thread-safe: one per thread."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        client: Client,
        push_batch: int = PUSH_BATCH,
        pull_page: int = PULL_PAGE,
        snapshots: bool = True,
    ) -> None:
        self.factory = factory
        self.client = client
        self.push_batch = push_batch
        self.pull_page = pull_page
        # A first sync (cursor 0) takes the store's snapshot instead of replaying its feed (sync.snapshot); a till
        # whose cursor is below the compacted feed takes one whatever this says.
        self.snapshots = snapshots

    def push_pending(self) -> tuple[int, int]:
        """Send every pending event, a batch at a time; returns (acknowledged, rejected).

        A batch the central store (or a proxy before it) refuses as too large or malformed (_SPLIT_ON) is sent
        again in halves; a single event refused so is marked refused here with the reason, like one the central
        store refused by itself, and the next ones go on."""
        acknowledged = rejected = 0
        size = self.push_batch
        while True:
            with self.factory() as s:
                rows = outbox.pending(s, size)
                events = _events(rows)
                anchor = audit_anchor(s)
            if not events:
                return acknowledged, rejected
            try:
                answer = self.client.push(events, anchor)
            except Refused as exc:
                if exc.status not in _SPLIT_ON:
                    raise
                if len(events) > 1:
                    size = max(1, len(events) // 2)
                    log.info(
                        "push of %d events refused (HTTP %s); sending %d at a time",
                        len(events),
                        exc.status,
                        size,
                    )
                    continue
                with self.factory.begin() as s:
                    outbox.mark(s, {str(events[0].id): ("rejected", str(exc))})
                rejected += 1
                acknowledged += 1
                size = self.push_batch
                continue
            results = {str(r.id): (r.status, r.reason) for r in answer.results}
            with self.factory.begin() as s:
                outbox.mark(s, results)
            rejected += sum(1 for status, _ in results.values() if status == "rejected")
            acknowledged += len(results)

    def pull_changes(
        self,
        progress: Progress | None = None,
        wait: float = 0,
        stopped: Callable[[], bool] = lambda: False,
    ) -> tuple[int, int]:
        """Pull and apply every page after the stored cursor; returns (changes applied, new cursor).

        With `wait`, the first request waits on the central for the feed to move (long-poll); a page that
        arrives once `stopped()` says the agent is stopping is not applied (it is pulled again next time)."""
        with self.factory() as s:
            cursor = replica.cursor(s)
        applied = 0
        total: int | None = None
        first = True
        taken: snapshot.SnapshotResult | None = None
        if cursor == 0 and self.snapshots:
            taken = snapshot.take_snapshot(self.factory, self.client, progress)
            applied, cursor = taken.applied, taken.cursor
        while True:
            try:
                page = self.client.pull(cursor, self.pull_page, first=first, wait=wait if first else 0)
            except SnapshotNeeded as exc:
                if taken is not None:
                    raise  # a snapshot was just taken: its cursor is never below the floor, so say so
                log.info(
                    "cursor %s is below the central store's compacted feed (%s): taking a snapshot",
                    cursor,
                    exc,
                )
                taken = snapshot.take_snapshot(self.factory, self.client, progress)
                applied, cursor = applied + taken.applied, taken.cursor
                continue
            if stopped():
                return applied, cursor
            if first:
                total = (
                    (page.remaining_estimate or 0) + len(page.changes)
                    if page.remaining_estimate is not None
                    else None
                )
                first = False
            try:
                with self.factory.begin() as s:
                    result = replica.apply_page(s, cursor, page)
            except replica.ApplyError as exc:
                # One change this till cannot take must not stop every later one: the page again, change by
                # change, parking the ones that fail for review (Office > Sync).
                log.warning("page after %s: %s; applying it change by change", cursor, exc)
                with self.factory.begin() as s:
                    result = replica.apply_page(s, cursor, page, park=True)
            if result.skipped:
                log.info(
                    "page after %s was applied by another process; going on from %s", cursor, result.cursor
                )
            else:
                applied += result.applied
            cursor = result.cursor
            if progress is not None:
                progress(applied, total)
            if not page.more:
                return applied, cursor

    def sync_once(self, progress: Progress | None = None) -> RoundReport:
        """Push, pull, push again. A push that fails does not stop the pull (the till still gets prices, orders
        and cancellations); the round then ends with the push's error, so the agent says so and tries again."""
        try:
            pushed, rejected = self.push_pending()
        except NotEnrolled:
            raise
        except SyncError as exc:
            self.pull_changes(progress)
            raise exc
        pulled, cursor = self.pull_changes(progress)
        # What the pull made (nothing today) or what was sold meanwhile goes out in the same round.
        more, more_rejected = self.push_pending()
        return RoundReport(pushed + more, rejected + more_rejected, pulled, cursor)


# ---------------------------------------------------------------- the background loop


@dataclass(frozen=True)
class AgentStatus:
    running: bool = False
    busy: bool = False
    last_ok: datetime | None = None
    last_error: str | None = None
    error_since: datetime | None = None
    failures: int = 0
    next_try_in: float | None = None
    progress: tuple[int, int | None] | None = None
    last_round: RoundReport = field(default_factory=RoundReport)


def backoff_delay(failures: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with full jitter: terminals that lost the network together do not return together."""
    if failures <= 0:
        return base
    ceiling = min(cap, base * (2 ** min(failures, 16)))
    return max(1.0, rng.uniform(ceiling / 2, ceiling))


class Agent:
    """Runs sync rounds on its own thread: every `interval_s` when all is well, backing off when it is not.

    Long-poll (`long_poll_s` > 0): between rounds that went well the agent waits on the central's feed instead of
    sleeping, so a change (a curbside arrival) is applied as soon as it is made, and an idle till asks once per
    `long_poll_s`. Meanwhile a second thread pushes the outbox: at once when a transaction of this till's
    factory commits outbox events (and every `push_check_s` for ones written elsewhere), so a sale never waits
    for the long-poll to end. `stop()` does not wait for a long-poll in flight: its answer is dropped unapplied.

    `status()` and `status_text()` may be called from any thread (the status bar polls them). `on_applied`, when
    set, is called on the agent's thread with each report that applied changes of the central's feed, so the
    screens can redraw what the feed changed (a cancellation, a curbside arrival) at once.
    """

    def __init__(
        self,
        factory: sessionmaker[Session],
        make_client: Callable[[], Client],
        interval_s: float = 15.0,
        max_backoff_s: float = 300.0,
        rng: random.Random | None = None,
        long_poll_s: float = LONG_POLL_S,
        push_check_s: float = 2.0,
    ) -> None:
        self.factory = factory
        self.make_client = make_client
        self.interval_s = interval_s
        self.max_backoff_s = max_backoff_s
        self.rng = rng or random.Random()
        self.long_poll_s = min(max(long_poll_s, 0.0), float(protocol.MAX_PULL_WAIT_S))
        self.push_check_s = push_check_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._status = AgentStatus()
        self._thread: threading.Thread | None = None
        self._rounds = 0
        # Long-poll: the main thread waits on the feed while `_polling`; the pusher sends the outbox meanwhile,
        # woken by `_outbox` (set after a commit that wrote outbox events). `_push_lock`: one push at a time.
        self._polling = False
        self._outbox = threading.Event()
        self._push_lock = threading.Lock()
        self._pusher: threading.Thread | None = None
        self._listeners: list[tuple[str, Any]] = []
        self.on_applied: Callable[[RoundReport], None] | None = None

    # -- control (any thread)
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="counterline-sync", daemon=True)
        self._set(running=True)
        if self.long_poll_s > 0:
            # Kept, so stop() removes exactly these (a bound method is a new object at every access).
            self._listeners = [("after_commit", self._after_commit)]
            for name, fn in self._listeners:
                event.listen(self.factory, name, fn)
            self._pusher = threading.Thread(target=self._push_loop, name="counterline-push", daemon=True)
            self._pusher.start()
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        self._outbox.set()
        listeners, self._listeners = self._listeners, []
        for name, fn in listeners:  # stop() may be called more than once
            if event.contains(self.factory, name, fn):
                event.remove(self.factory, name, fn)
        if self._pusher is not None:
            self._pusher.join(timeout)
        if self._thread is not None:
            # A long-poll in flight is left to end by itself (its page is not applied).
            self._thread.join(0.5 if self._polling else timeout)
        self._set(running=False)

    def sync_now(self) -> None:
        """Run a round as soon as the current one (if any) ends, whatever the backoff (while the agent waits
        on the feed, the outbox is pushed at once)."""
        self._wake.set()
        self._outbox.set()

    def status(self) -> AgentStatus:
        with self._lock:
            return self._status

    def rounds(self) -> int:
        return self._rounds

    def status_text(self) -> str:
        st = self.status()
        if st.progress is not None and st.busy:
            done, total = st.progress
            return f"sync: receiving {done:,} of {total:,}" if total else f"sync: receiving {done:,}"
        if st.last_error:
            since = st.error_since.astimezone().strftime("%H:%M") if st.error_since else "?"
            last = f", last sync {st.last_ok.astimezone().strftime('%H:%M')}" if st.last_ok else ""
            return f"sync: offline since {since}{last} ({st.last_error})"
        if st.busy:
            return "sync: working"
        if st.last_ok:
            return f"sync: ok {st.last_ok.astimezone().strftime('%H:%M')}"
        return "sync: starting"

    # -- the thread
    def _set(self, **changes: Any) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)

    def _progress(self, done: int, total: int | None) -> None:
        self._set(progress=(done, total))

    def _run(self) -> None:
        client: Client | None = None
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            self._set(busy=True, progress=None, next_try_in=None)
            try:
                if client is None:
                    client = self.make_client()
                with self._push_lock:
                    report = Syncer(self.factory, client).sync_once(self._progress)
            except NotEnrolled as exc:
                failures += 1
                self._fail(str(exc), failures)
                delay = self.max_backoff_s  # waiting will not fix it; someone must enrol this terminal again
            except (Retryable, Refused, replica.ApplyError, SyncError) as exc:
                failures += 1
                self._fail(str(exc), failures)
                delay = backoff_delay(failures, self.interval_s, self.max_backoff_s, self.rng)
            except Exception as exc:  # noqa: BLE001 - a local fault (disk, locked database) must not end the loop
                log.exception("sync round failed")
                failures += 1
                self._fail(f"{type(exc).__name__}: {exc}", failures)
                delay = backoff_delay(failures, self.interval_s, self.max_backoff_s, self.rng)
                if client is not None:
                    client.close()
                    client = None
            else:
                failures = 0
                self._set(
                    busy=False,
                    last_ok=utcnow(),
                    last_error=None,
                    error_since=None,
                    failures=0,
                    last_round=report,
                    progress=None,
                )
                self._tell_applied(report)
                delay = self.interval_s
            self._rounds += 1
            self._set(busy=False, next_try_in=delay)
            if failures == 0 and self.long_poll_s > 0 and client is not None:
                # Pulls that bring changes are applied as they come and the pusher sends the outbox meanwhile:
                # a full round again only every ROUND_EVERY_S (a safety net), or at once when one is asked for.
                failures = self._wait_on_feed(client, max(delay, self.long_poll_s, ROUND_EVERY_S))
                if failures:
                    delay = backoff_delay(failures, self.interval_s, self.max_backoff_s, self.rng)
                    self._set(next_try_in=delay)
                    self._wake.wait(delay)
            else:
                self._wake.wait(delay)
        if client is not None and not self._polling:
            client.close()

    def _wait_on_feed(self, client: Client, interval: float) -> int:
        """Between good rounds: pull with long-poll, applying what comes at once, until `interval` has passed
        or a round is asked for; returns 1 when a pull failed (0 when all went well)."""
        syncer = Syncer(self.factory, client)
        until = time.monotonic() + interval
        # A round asked for during the round that just went well is done: what was written since is pushed by
        # the pusher (sync_now signals it too) and what the central has since comes through the long-poll.
        self._wake.clear()
        while not self._stop.is_set() and not self._wake.is_set() and time.monotonic() < until:
            self._polling = True
            try:
                pulled, cursor = syncer.pull_changes(wait=self.long_poll_s, stopped=self._stop.is_set)
            except (SyncError, replica.ApplyError) as exc:
                if self._stop.is_set():  # stopped meanwhile: the answer no longer matters
                    return 0
                self._fail(str(exc), 1)
                return 1
            except Exception as exc:  # noqa: BLE001 - a local fault must not end the loop
                log.exception("waiting on the feed failed")
                self._fail(f"{type(exc).__name__}: {exc}", 1)
                return 1
            finally:
                self._polling = False
            self._set(last_ok=utcnow())  # the central answered: the status bar says when it last did
            if pulled:
                report = RoundReport(pulled=pulled, cursor=cursor)
                self._set(last_round=report)
                self._tell_applied(report)
        return 0

    def _tell_applied(self, report: RoundReport) -> None:
        if report.pulled and self.on_applied is not None:
            try:
                self.on_applied(report)
            except Exception:  # noqa: BLE001 - a listener's fault must not end the sync loop
                log.exception("telling the screens what the feed changed failed")

    def _after_commit(self, session: Session) -> None:
        """A commit that wrote outbox events wakes this agent's pusher."""
        if outbox.written(session):
            self._outbox.set()

    def _push_loop(self) -> None:
        """While the main thread waits on the feed, push what the till wrote to its outbox, at once."""
        client: Client | None = None
        try:
            while not self._stop.is_set():
                signalled = self._outbox.wait(self.push_check_s)
                if self._stop.is_set():
                    break
                if self.status().failures:  # the central is out of reach: the main loop backs off and retries
                    self._outbox.clear()
                    continue
                if not self._polling:  # a round is on (it pushes too): look again shortly, keeping the signal
                    if signalled:
                        self._stop.wait(0.1)
                    continue
                self._outbox.clear()
                with self.factory() as s:
                    if not outbox.pending(s, 1):
                        continue
                try:
                    if client is None:
                        client = self.make_client()
                    with self._push_lock:
                        Syncer(self.factory, client).push_pending()
                except Exception as exc:  # noqa: BLE001 - the main loop's next round reports and backs off
                    log.warning("pushing while waiting on the feed failed: %s", exc)
                    self._wake.set()
        finally:
            if client is not None:
                client.close()

    def _fail(self, message: str, failures: int) -> None:
        log.warning("sync round failed (%d in a row): %s", failures, message)
        st = self.status()
        self._set(
            busy=False,
            last_error=message,
            failures=failures,
            error_since=st.error_since or utcnow(),
            progress=None,
        )
