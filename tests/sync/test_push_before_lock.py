"""A push's batch writes its sales and applied events before it takes the store's lock (`batch._write_first`), so
the tills of one store write those at once and queue only for the levels, the movements and the feed. What the
lock used to settle is then settled by the keys: a copy of the batch pushed at the same moment, and a sale
completed at two tills at the same moment, meet the first's rows, and the batch goes one event at a time under the
lock. PostgreSQL only: SQLite has one writer at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select

from sync import protocol
from sync.central import service
from sync.central.models import AppliedEvent, Sale, StockException, Store, Terminal
from sync.central.service import batch as push_module
from tests.sync.conftest import Central
from tests.sync.test_central import event, on_hand, receipt, sale

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url(pg_url: str) -> str:
    from tests.sync.conftest import _empty_postgres

    _empty_postgres(pg_url)
    return pg_url


def _dsn(hub: Central) -> str:
    return hub.url.replace("postgresql+psycopg://", "postgresql://")


@contextmanager
def _store_held(hub: Central, code: str) -> Iterator[psycopg.Connection[Any]]:
    """The store's row lock, held by another connection as a push holds it (FOR NO KEY UPDATE)."""
    with psycopg.connect(_dsn(hub)) as conn:
        conn.execute("SELECT 1 FROM stores WHERE code = %s FOR NO KEY UPDATE", (code,))
        yield conn
        conn.rollback()


def _waiting(hub: Central) -> list[str]:
    """The statements of the database's backends now waiting for a lock."""
    with psycopg.connect(_dsn(hub), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT query FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).fetchall()
    return [row[0] for row in rows]


def _until(what: str, done: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.02)


def _terminal_id(hub: Central, store: str, code: str) -> int:
    with hub.sessions() as s:
        found = s.scalar(select(Terminal.id).join(Store).where(Store.code == store, Terminal.code == code))
        assert found is not None
        return found


def _push_in_thread(hub: Central, terminal_id: int, events: list[dict[str, Any]]) -> Callable[[], list[str]]:
    """Start a push in its own thread; the function returned joins it and gives its statuses."""
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(service.push(hub.sessions, terminal_id, events))
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            out.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()

    def join() -> list[str]:
        thread.join(30)
        assert not thread.is_alive(), "the push did not finish"
        if isinstance(out[0], BaseException):
            raise out[0]
        return [r.status for r in out[0]]

    return join


def _count(hub: Central, model: Any, *where: Any) -> int:
    with hub.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_a_batch_writes_its_sales_before_it_waits_for_the_store(central: Central) -> None:
    assert central.push([receipt("A1", "50")])[0]["status"] == "applied"
    t1 = _terminal_id(central, "S1", "T1")
    batch = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{k}", "A1", "1")) for k in range(5)]
    with _store_held(central, "S1"), psycopg.connect(_dsn(central), autocommit=True) as look:
        join = _push_in_thread(central, t1, batch)
        _until("the push waits for the store", lambda: len(_waiting(central)) == 1)
        assert "FOR NO KEY UPDATE" in _waiting(central)[0]
        # While it waits, its sales and applied events are written (not yet visible: not committed).
        held = look.execute(
            "SELECT relation::regclass::text FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE a.wait_event_type = 'Lock' AND l.mode = 'RowExclusiveLock' AND l.granted"
        ).fetchall()
        assert {"sales", "applied_events"} <= {row[0] for row in held}, held
        assert _count(central, Sale) == 0
    assert join() == ["applied"] * 5
    assert _count(central, Sale) == 5 and on_hand(central, "A1") == 45


def test_a_batch_pushed_twice_at_once_is_applied_once(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The till sent its batch again (its first push timed out) while the first was still being applied: the copy
    meets the first's keys, is tried again once the first committed, and is answered whole, not event by event."""
    alone: list[Any] = []
    monkeypatch.setattr(
        push_module, "_push_alone", lambda *a, **_k: alone.append(a) or pytest.fail("event by event")
    )
    assert central.push([receipt("A1", "50"), receipt("C3", "50")])[0]["status"] == "applied"
    t1 = _terminal_id(central, "S1", "T1")
    batch = [
        event(protocol.SALE_COMPLETED, sale(f"S1-T1-{k}", "A1" if k % 2 else "C3", "1")) for k in range(8)
    ]
    with _store_held(central, "S1"):
        first = _push_in_thread(central, t1, batch)
        _until("the first copy waits for the store", lambda: len(_waiting(central)) == 1)
        second = _push_in_thread(central, t1, batch)
        # The second meets the first's applied events (not committed yet) and waits on their keys.
        _until("the second copy waits on the first", lambda: len(_waiting(central)) == 2)
    statuses = [first(), second()]
    assert ["applied"] * 8 in statuses and ["duplicate"] * 8 in statuses, statuses
    assert _count(central, Sale) == 8
    assert _count(central, AppliedEvent) == 10
    assert on_hand(central, "A1") == 46 and on_hand(central, "C3") == 46
    with central.sessions() as s:
        per_number = set(s.scalars(select(func.count()).select_from(Sale).group_by(Sale.number)))
    assert per_number == {1}


def test_a_sale_completed_at_two_tills_at_once_is_recorded_once_and_flagged(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parked sale recalled and completed at two tills of the store while both were offline, pushed at the same
    moment: one sale, both takings of goods in the ledger, and the second payment flagged for a person."""
    assert central.push([receipt("A1", "10")])[0]["status"] == "applied"
    alone: list[Any] = []
    monkeypatch.setattr(push_module, "_push_alone", lambda *a, **_k: alone.append(a))
    at_t1 = sale("S1-T1-7", "A1", "2")
    at_t2 = {**sale("S1-T2-7", "A1", "2"), "order_id": at_t1["order_id"], "terminal": "T2"}
    with _store_held(central, "S1"):
        first = _push_in_thread(
            central, _terminal_id(central, "S1", "T1"), [event(protocol.SALE_COMPLETED, at_t1)]
        )
        _until("the first till waits for the store", lambda: len(_waiting(central)) == 1)
        second = _push_in_thread(
            central, _terminal_id(central, "S1", "T2"), [event(protocol.SALE_COMPLETED, at_t2)]
        )
        _until("the second till waits on the first's sale", lambda: len(_waiting(central)) == 2)
    assert first() == ["applied"] and second() == ["applied"]
    assert not alone
    assert _count(central, Sale) == 1
    assert on_hand(central, "A1") == 6
    assert _count(central, StockException, StockException.kind == "sale_completed_twice") == 1


@pytest.fixture
def processes(request: pytest.FixtureRequest) -> Iterator[int]:
    """This process serves as one of `request.param` API processes for the test (`serve_as_one_of`), alone after."""
    push_module.serve_as_one_of(request.param)
    try:
        yield request.param
    finally:
        push_module.serve_as_one_of(1)


@pytest.mark.parametrize(("processes", "places"), [(1, 3), (2, 1)], indirect=["processes"])
def test_a_store_s_pushes_past_the_gate_wait_their_turn_before_the_database_and_other_stores_go_on(
    central: Central, processes: int, places: int
) -> None:
    """A few pushes of a store are worked on at once in a process serving alone (`batch.PUSHES_PER_STORE`): one
    holds the store's lock while the next ones write what they can before it; one at a time in each of several
    processes. One more waits in the process, holding no connection, and does not take the interpreter from the
    one holding the lock; another store's push does not wait at all."""
    assert push_module.pushes_per_store() == places
    assert central.push([receipt("A1", "50")])[0]["status"] == "applied"
    assert central.push([receipt("A1", "50")], terminal="S2/T1")[0]["status"] == "applied"
    tills = [(_terminal_id(central, "S1", code), code) for code in ("T1", "T2")]

    def batch(k: int) -> tuple[int, list[dict[str, Any]]]:
        terminal_id, code = tills[k % 2]
        sales = [sale(f"S1-{code}-{k}{n}", "A1", "1") for n in range(3)]
        return terminal_id, [event(protocol.SALE_COMPLETED, s) for s in sales]

    with _store_held(central, "S1"):
        joins = [_push_in_thread(central, *batch(k)) for k in range(places)]
        _until("the gate's pushes wait for the store", lambda: len(_waiting(central)) == places)
        joins.append(_push_in_thread(central, *batch(places)))
        # The other store's push goes through while the first store's are held.
        other = [event(protocol.SALE_COMPLETED, sale("S2-T1-1", "A1", "2", store="S2"))]
        assert _push_in_thread(central, _terminal_id(central, "S2", "T1"), other)() == ["applied"]
        time.sleep(0.5)
        # Without the gate the last would be in the database by now, waiting for the store's lock too.
        assert len(_waiting(central)) == places, _waiting(central)
        assert _count(central, Sale) == 1
    assert [join() for join in joins] == [["applied"] * 3] * (places + 1)
    assert _count(central, Sale) == 1 + 3 * (places + 1)
    assert on_hand(central, "A1") == 50 - 3 * (places + 1) and on_hand(central, "A1", store="S2") == 48


@pytest.mark.parametrize("processes", [1, 2], indirect=True)
def test_a_push_refused_whole_leaves_the_store_s_gate_open(central: Central, processes: int) -> None:
    """A push refused whole (an event without an id: nothing of it can be answered, HTTP 422) gives its place at
    the store's gate back: more of them than the gate has places, and the store's next push still goes through.
    Each in a thread: a place never given back would leave a push waiting for ever."""
    t1 = _terminal_id(central, "S1", "T1")
    for _ in range(push_module.pushes_per_store() + 1):
        with pytest.raises(service.CentralError, match="no valid id"):
            _push_in_thread(central, t1, [{"type": protocol.SALE_COMPLETED}])()
    assert _push_in_thread(central, t1, [receipt("A1", "5")])() == ["applied"]
