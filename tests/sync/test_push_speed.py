"""What makes a push cheaper keeps its guarantees: the JSON check of every payload (sorted by kind, strings checked
together) refuses exactly what a plain walk refuses; a batch reads what it needs in a fixed number of statements,
however many events it holds; what a push tells of its terminal (audit head, first-admin window, generation) is
written in the batch's own transaction; and a sale's payload is stored once, as its document."""

from __future__ import annotations

import math
import uuid
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from sync import protocol
from sync.central import service
from sync.central.models import AppliedEvent, RejectedEvent, Sale, Terminal
from sync.central.service import batch
from tests.sync.conftest import Central
from tests.sync.test_bulk_central import statements
from tests.sync.test_central import event, receipt, sale


def _plain_walk(value: Any, what: str = "payload") -> None:
    """The check as first written (one value at a time): the specification `protocol.check_json` must keep."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > protocol.MAX_DEPTH:
            raise ValueError("too deep")
        if isinstance(item, str):
            if len(item) > 10_000:
                raise ValueError("too long")
            protocol._clean(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise ValueError("not finite")
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) > protocol.MAX_SEQ:
                raise ValueError("out of range")
        elif isinstance(item, dict):
            for key, sub in item.items():
                if not isinstance(key, str):
                    raise ValueError("key not text")
                protocol._clean(key)
                stack.append((sub, depth + 1))
        elif isinstance(item, list):
            stack.extend((sub, depth + 1) for sub in item)
        elif item is not None and not isinstance(item, bool):
            raise ValueError("not JSON")


def _refused(check: Any, value: Any) -> bool:
    try:
        check(value)
    except ValueError:
        return True
    return False


_ATOMS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**64), max_value=2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.sampled_from(
        ["a\x00b", "\ud800", "é😀", "k" * 10_000, "k" * 10_001, b"bytes", (1, 2), 2**63 - 1, 2**63]
    ),
)
_KEYS = st.one_of(st.text(max_size=4), st.sampled_from(["\x00", "\udc00", 1, None, 1.5]))
_VALUES = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(_KEYS, inner, max_size=3),
        st.dictionaries(st.text(max_size=3), inner, max_size=2).map(OrderedDict),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_VALUES)
def test_the_json_check_refuses_exactly_what_a_plain_walk_refuses(value: Any) -> None:
    assert _refused(protocol.check_json, value) == _refused(_plain_walk, value)


@pytest.mark.parametrize("depth", range(protocol.MAX_DEPTH - 1, protocol.MAX_DEPTH + 3))
def test_the_json_check_counts_nesting_as_the_plain_walk(depth: int) -> None:
    for leaf in (1, [], {}):
        value: Any = leaf
        for k in range(depth):
            value = [value] if k % 2 else {"k": value}
        assert _refused(protocol.check_json, value) == _refused(_plain_walk, value), (depth, leaf)


def test_the_json_check_names_what_is_wrong() -> None:
    cases = {
        "contains a NUL character": {"a": ["x\x00"]},
        "lone surrogate": {"\ud800": 1},
        "a key that is not text": {"a": {1: 2}},
        "more than 10,000 characters": {"a": "k" * 10_001},
        "out of the 64-bit range": {"a": [2**63]},
        "not finite": {"a": float("nan")},
        "which is not JSON": {"a": b"x"},
        "nested more than 8 deep": {"a": [[[[[[[[[1]]]]]]]]]},
    }
    for words, value in cases.items():
        with pytest.raises(ValueError, match=words):
            protocol.check_json(value)


def _selects_for(central: Central, n: int, start: int) -> int:
    central.push([receipt("A1", "1000")])
    events = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{start + k}", "A1", "1")) for k in range(n)]
    with statements(central) as seen:
        assert {r["status"] for r in central.push(events)} == {"applied"}
    return sum(1 for s in seen if s.lstrip().upper().startswith("SELECT"))


def test_a_batch_reads_in_a_fixed_number_of_statements_however_many_events(central: Central) -> None:
    """Duplicates, products, levels, numbers held and sales recorded: one query each for the whole batch."""
    few = _selects_for(central, 3, 100)
    many = _selects_for(central, 60, 200)
    assert many == few, (few, many)


def test_a_push_keeps_the_audit_head_and_generation_in_its_own_transaction(central: Central) -> None:
    with central.sessions() as s:
        terminal = s.scalar(select(Terminal).where(Terminal.code == "T1", Terminal.store_id == 1))
        assert terminal is not None
        tid, current = terminal.id, terminal.generation
    anchor = protocol.AuditAnchor(seq=7, hash="ab" * 32)
    sent = receipt("A1", "5")
    results = service.push(central.sessions, tid, [sent], current, anchor)
    assert [r.status for r in results] == ["applied"]
    with central.sessions() as s:
        terminal = s.get(Terminal, tid)
        assert terminal is not None
        assert (terminal.anchor_seq, terminal.anchor_hash, terminal.bootstrap_open) == (7, "ab" * 32, False)
        applied = s.get(AppliedEvent, uuid.UUID(str(sent["id"])))
        assert applied is not None and applied.generation == current
    # A replaced till's unsent work (the generation before): its events carry that generation, and its audit
    # head is not the terminal's.
    older = receipt("A1", "1")
    results = service.push(
        central.sessions, tid, [older], current - 1, protocol.AuditAnchor(seq=99, hash="cd")
    )
    assert [r.status for r in results] == ["applied"]
    with central.sessions() as s:
        terminal = s.get(Terminal, tid)
        assert terminal is not None and terminal.anchor_seq == 7
        applied = s.get(AppliedEvent, uuid.UUID(str(older["id"])))
        assert applied is not None and applied.generation == current - 1


def test_a_sale_is_stored_once_but_a_second_completion_keeps_its_own_payload(central: Central) -> None:
    central.push([receipt("A1", "10")])
    first = event(protocol.SALE_COMPLETED, sale("S1-T1-500", "A1", "1"))
    second = sale("S1-T1-501", "A1", "1")  # its own number and movement, the same sale id
    again = event(protocol.SALE_COMPLETED, {**second, "order_id": first["payload"]["order_id"]})
    assert [r["status"] for r in central.push([first, again])] == ["applied", "applied"]
    with central.sessions() as s:
        document = s.scalar(select(Sale.document).where(Sale.number == "S1-T1-500"))
        assert document == first["payload"]
        kept = {
            str(e.event_id): e.payload
            for e in s.scalars(select(AppliedEvent).where(AppliedEvent.type == protocol.SALE_COMPLETED))
        }
    # The second completion of the same sale (recalled at two tills) is stored nowhere else: its event keeps it.
    assert kept == {first["id"]: None, again["id"]: again["payload"]}


def test_a_database_fault_fails_the_push_and_refuses_nothing(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lost connection, a deadlock or no connection left is the database's fault, not the event's: the push
    fails (the API answers 500 and the till sends it again), and no event is parked as refused."""
    central.push([receipt("A1", "10")])
    events = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{n}", "A1", "1")) for n in (600, 601)]
    real = batch._apply

    def lost_connection(session: Any, terminal: Any, ev: protocol.Event) -> None:
        if str(ev.id) == events[1]["id"]:
            raise OperationalError("INSERT", {}, Exception("server closed the connection unexpectedly"))
        real(session, terminal, ev)

    with central.sessions() as s:
        tid = s.scalar(select(Terminal.id).where(Terminal.code == "T1", Terminal.store_id == 1))
    assert tid is not None
    monkeypatch.setattr(batch, "_apply", lost_connection)
    with pytest.raises(OperationalError):
        service.push(central.sessions, tid, events)
    # Through the API: 503, which the till's client sends again later.
    answer = central.client.post("/v1/push", json={"events": events}, headers=central.auth())
    assert answer.status_code == 503, answer.text
    monkeypatch.undo()
    with central.sessions() as s:
        assert s.scalar(select(func.count()).select_from(RejectedEvent)) == 0
        assert s.scalar(select(func.count()).select_from(Sale)) == 0
    assert [r["status"] for r in central.push(events)] == ["applied", "applied"]


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_a_batch_the_database_rolled_back_for_a_deadlock_is_applied_on_its_next_attempt(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    central.push([receipt("A1", "10")])
    events = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{n}", "A1", "1")) for n in (700, 701)]
    real = batch._apply
    failures = [1]

    def deadlocked_once(session: Any, terminal: Any, ev: protocol.Event) -> None:
        if str(ev.id) == events[1]["id"] and failures:
            failures.pop()
            raise OperationalError("INSERT", {}, _Deadlock("deadlock detected"))
        real(session, terminal, ev)

    monkeypatch.setattr(batch, "_apply", deadlocked_once)
    assert [r["status"] for r in central.push(events)] == ["applied", "applied"]
    assert failures == []
    with central.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Sale)) == 2
        assert s.scalar(select(func.count()).select_from(RejectedEvent)) == 0
