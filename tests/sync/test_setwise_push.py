"""A push's batch is written set-wise: one INSERT (on PostgreSQL one COPY) per table for its sales, ledger rows, feed rows and applied
events (not one per event), with the same result as event by event, and a waiting pull woken by it."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections import Counter
from datetime import datetime
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import event as sa_event
from sqlalchemy import func, select

from sync import protocol
from sync.central.feedwait import FeedNotifier
from sync.central.models import AppliedEvent, FeedChange, Sale, StockMovement, Store
from tests.sync.conftest import Central
from tests.sync.test_central import event, on_hand, receipt, sale

STAGED_TABLES = ("applied_events", "sales", "stock_movements", "change_feed")


def _inserts_while(hub: Central, fn: Any) -> Counter[str]:
    """How many statements wrote rows to each staged table while `fn` ran: an INSERT (an executemany counts once)
    or, on PostgreSQL, a COPY (`ledger.write_staged` streams the rows; it goes around SQLAlchemy's events)."""
    seen: Counter[str] = Counter()
    engine = hub.sessions.kw["bind"]

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        words = statement.split()
        if len(words) > 2 and words[0].upper() == "INSERT" and words[2] in STAGED_TABLES:
            seen[words[2]] += 1

    original_copy = psycopg.Cursor.copy

    def copy(self: psycopg.Cursor[Any], statement: Any, *args: Any, **kwargs: Any) -> Any:
        words = str(statement).split()
        if len(words) > 1 and words[0].upper() == "COPY" and words[1] in STAGED_TABLES:
            seen[words[1]] += 1
        return original_copy(self, statement, *args, **kwargs)

    sa_event.listen(engine, "before_cursor_execute", note)
    psycopg.Cursor.copy = copy  # type: ignore[method-assign]
    try:
        fn()
    finally:
        psycopg.Cursor.copy = original_copy  # type: ignore[method-assign]
        sa_event.remove(engine, "before_cursor_execute", note)
    return seen


def _count(hub: Central, model: Any) -> int:
    with hub.sessions() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def test_a_batch_of_sales_is_written_one_insert_per_table(central: Central) -> None:
    assert all(r["status"] == "applied" for r in central.push([receipt("A1", "100"), receipt("C3", "100")]))
    batch = [
        event(protocol.SALE_COMPLETED, sale(f"S1-T1-{k}", "A1" if k % 2 else "C3", "1")) for k in range(40)
    ]
    results: list[dict[str, Any]] = []
    inserts = _inserts_while(central, lambda: results.extend(central.push(batch)))
    assert [r["status"] for r in results] == ["applied"] * 40
    assert inserts == Counter({table: 1 for table in STAGED_TABLES}), inserts
    assert _count(central, Sale) == 40 and _count(central, AppliedEvent) == 42
    assert _count(central, StockMovement) == 42
    assert on_hand(central, "A1") == 80 and on_hand(central, "C3") == 80
    # Sent again: all duplicates, nothing written twice.
    again = _inserts_while(central, lambda: results.extend(central.push(batch)))
    assert [r["status"] for r in results[40:]] == ["duplicate"] * 40 and not again
    assert _count(central, Sale) == 40 and on_hand(central, "A1") == 80


def test_a_batch_mixing_kinds_sees_its_own_earlier_events(central: Central) -> None:
    """A kind outside the set-wise path (a stock count reads the ledger) sees the rows staged before it."""
    with central.sessions() as s:
        seq = s.scalar(select(func.max(FeedChange.seq))) or 0
    count = event(
        protocol.STOCK_COUNT,
        {"sku": "A1", "location": "floor", "counted": "7", "as_of_seq": seq + 2, "local_movements_after": []},
    )
    batch = [receipt("A1", "10"), event(protocol.SALE_COMPLETED, sale("S1-T1-1", "A1", "1")), count]
    results = central.push(batch)
    assert [r["status"] for r in results] == ["applied"] * 3, results
    assert on_hand(central, "A1") == 7


def test_a_reused_movement_id_in_a_batch_is_refused_alone(central: Central) -> None:
    first = receipt("A1", "5")
    reused = receipt("B2", "5")
    reused["payload"]["id"] = first["payload"]["id"]
    results = central.push([first, reused, receipt("C3", "5")])
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert on_hand(central, "A1") == 5 and on_hand(central, "B2") == 0 and on_hand(central, "C3") == 5


def test_a_setwise_batch_wakes_a_waiting_pull(central: Central) -> None:
    """The feed rows a batch writes without the ORM still wake the store's waiters when it commits."""
    notifier: FeedNotifier = central.client.app.state.feed  # type: ignore[attr-defined]
    with central.sessions() as s:
        store_id = s.scalar(select(Store.id).where(Store.code == "S1"))
    assert store_id is not None
    seen = notifier.version(store_id)
    central.push([receipt("A1", "3")])
    assert notifier.version(store_id) > seen
    # And a coroutine waiting on it is woken (from the pushing thread).
    loop = asyncio.new_event_loop()
    woken: list[bool] = []
    current = notifier.version(store_id)

    def waiter() -> None:
        woken.append(loop.run_until_complete(notifier.wait(store_id, current, 30)))

    thread = threading.Thread(target=waiter)
    thread.start()
    while notifier.waiting() == 0 and thread.is_alive():
        threading.Event().wait(0.01)
    central.push([receipt("A1", "2")])
    thread.join(30)
    loop.close()
    assert woken == [True]


def test_rows_written_set_wise_read_back_as_sent(central: Central) -> None:
    """Each column of a streamed row holds what the event said, as the ORM would have stored it: money and
    quantities exact, times in UTC, JSON documents whole, and the columns an INSERT fills by default filled."""
    central.push([receipt("A1", "10")])
    sent = event(protocol.SALE_COMPLETED, sale("S1-T1-77", "A1", "1.250", unit_price="3.20"))
    assert [r["status"] for r in central.push([sent])] == ["applied"]
    with central.sessions() as s:
        row = s.scalar(select(Sale).where(Sale.number == "S1-T1-77"))
        assert row is not None
        assert row.total == Decimal("4.00") and row.document == sent["payload"]
        assert row.occurred_at == datetime.fromisoformat(sent["occurred_at"])
        applied = s.get(AppliedEvent, uuid.UUID(sent["id"]))
        assert applied is not None and applied.generation == 1 and applied.applied_at is not None
        # The sale's payload is kept once, as its document; its applied event holds JSON null, not a copy.
        assert applied.payload is None and applied.type == protocol.SALE_COMPLETED
        moved = s.scalar(select(StockMovement).where(StockMovement.event_id == applied.event_id))
        assert moved is not None and moved.qty == Decimal("-1.250") and moved.created_at is not None
        change = s.scalar(
            select(FeedChange).where(FeedChange.type == protocol.CHANGE_SALE, FeedChange.key == str(row.id))
        )
        assert change is not None and change.created_at is not None
        # The sale's document as the store's tills find it: made and serialised before the store's lock
        # (`_document_ahead`), the till that pushed it named, its movements left to the stock changes.
        document = {k: v for k, v in sent["payload"].items() if k != "movements"}
        document["terminal"] = "T1"
        document.setdefault("completed_at", sent["occurred_at"])
        assert change.payload == document
    assert on_hand(central, "A1") == Decimal("8.750")


def test_a_push_leaves_nothing_it_read_or_staged_to_the_cyclic_collector(central: Central) -> None:
    """A session's per-transaction caches held its transaction, which holds the session: every push's session,
    with its products, levels and staged rows (about a hundred objects an event), was freed only by the cyclic
    collector, whose walks over them were a quarter of the central's Python time."""
    from sync.central import service
    from sync.central.models import Terminal
    from tests.garbage import left_for_the_collector

    assert all(r["status"] == "applied" for r in central.push([receipt("A1", "100"), receipt("C3", "100")]))
    with central.sessions() as s:
        terminal_id = s.scalar(select(Terminal.id).where(Terminal.code == "T1"))
    assert terminal_id is not None

    def batch(first: int) -> list[dict[str, Any]]:
        return [
            event(protocol.SALE_COMPLETED, sale(f"S1-T1-{k}", "A1" if k % 2 else "C3", "1"))
            for k in range(first, first + 20)
        ]

    service.push(central.sessions, terminal_id, batch(0))  # the first push fills the statement caches
    left = left_for_the_collector(lambda: service.push(central.sessions, terminal_id, batch(20)))
    assert not {"Session", "SessionTransaction", "Product", "StockLevel", "SaleCompleted"} & set(left), left
    assert sum(left.values()) < 200, left  # was ~2,400 for these 20 sales
