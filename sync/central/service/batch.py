"""Push: a till's batch judged event by event, applied exactly once (one transaction per batch, one per event
when the batch fails), refusals recorded, and the till's audit head and numbers noted in the same transaction."""

from __future__ import annotations

import functools
import json
import re
import threading
import time
import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import JSON, select
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from sync import protocol
from sync.central import balances, deliveries, ledger
from sync.central.ledger import Rejected
from sync.central.models import (
    AppliedEvent,
    Location,
    Product,
    RejectedEvent,
    Sale,
    Terminal,
)
from sync.central.service.base import Forbidden
from sync.central.service.handlers import (
    _apply,
    _document_ahead,
    _kept_whole,
    _known_sales,
    _prefetch_numbers,
    _sale_row,
    _written_first,
)
from sync.central.service.judge import _judge, _safe_text

# ---------------------------------------------------------------- push


def push(
    factory: sessionmaker[Session],
    terminal_id: int,
    events: Sequence[protocol.Event | dict[str, Any]],
    generation: int | None = None,
    anchor: protocol.AuditAnchor | None = None,
    store: tuple[int, str] | None = None,
) -> list[protocol.PushResult]:
    """Apply each event exactly once, in the order given; each applied event's id is written with its effects, so
    a batch sent again answers "duplicate".

    Each event is first judged alone against the protocol (`check_event`: schema, bounds, and whether what it
    claims adds up); one that fails is refused with its reason and never reaches the database or a feed. The
    rest is tried in one transaction, under the store's lock but for its sales and applied events (`_apply_batch`).
    If any event in it is refused, that transaction is dropped and the batch is applied again one event per
    transaction, so the refused event alone is parked with its reason. (Savepoints per event would also isolate it, but on PostgreSQL each savepoint that touches the
    locked store row grows a multixact, and twenty tills queued on one store took minutes a batch.)
    An event that names another store than the terminal's is refused alone. Raises `CentralError` (before
    applying anything) when an event has no id to answer for.

    Only a few pushes of a store are worked on at once in this process (`pushes_per_store`); its others wait here
    before they judge anything, holding no connection.

    `store` is the terminal's store (id, code) where the caller has read it already (the API, with the terminal
    its token names), else it is read here.

    `generation` is the enrolment generation the push came with (the terminal's current one when None) and
    `anchor` the audit head it named: what `_note_push` keeps of them is written in the batch's own transaction
    (the API then calls `after_push`, which publishes what the batch left for other stores).
    """
    if store is None:
        with factory() as session:
            terminal = session.get(Terminal, terminal_id)
            if terminal is None:
                raise Forbidden("unknown terminal")
            store = (terminal.store_id, terminal.store.code)
    store_id, store_code = store
    with _store_gate(store_id):
        return _push(factory, terminal_id, store_code, events, generation, anchor)


# How many pushes of one store a process works on at once when it serves the API alone; the store's other pushes
# wait their turn here. Twenty tills of one store pushing at once all judged their batches and wrote their sales
# while one of them held the store's lock, and the holder had the interpreter a fraction of the time: each push held
# the lock about three times as long as its work took. Three: one holds the lock, the next has written its sales
# and waits for it, the third judges its batch. benchmarks/sync.py, 20 tills x 2,000 sales (--quick --push-only),
# alternate runs: 1 at a time 1,435-1,515 events/s, 2: 1,631-1,770, 3: 1,752-1,875, 4: 1,615-1,642, 6:
# 1,571-1,589, all at once (before) about 1,500 with pushes of up to 8 s.
PUSHES_PER_STORE = 3

# ... and when it is one of several processes (`serve --workers N`): one. A store's pushes then overlap across the
# processes, each with an interpreter of its own, instead of taking turns on one. The same runs on a busier day,
# alternate: 1 process (3 at a time) 827-1,304 events/s; 2 processes with 3 each 1,168-1,426, with 1 each
# 1,017-1,745; 3 with 1 each 1,134-1,566; 4 with 1 each 953-1,664.
PUSHES_PER_STORE_OF_SEVERAL = 1

_gate_size = PUSHES_PER_STORE
_gates: dict[int, threading.BoundedSemaphore] = {}
_gates_lock = threading.Lock()


def serve_as_one_of(processes: int) -> None:
    """This process is one of `processes` serving the API against one database (`serve --workers N` tells each
    worker): it works on `PUSHES_PER_STORE` pushes of a store at once when alone, `PUSHES_PER_STORE_OF_SEVERAL`
    when one of several. Stores' gates made before are dropped (call it before serving)."""
    global _gate_size
    with _gates_lock:
        _gate_size = PUSHES_PER_STORE if processes <= 1 else PUSHES_PER_STORE_OF_SEVERAL
        _gates.clear()


def pushes_per_store() -> int:
    """How many pushes of one store this process works on at once (`serve_as_one_of`)."""
    return _gate_size


def _store_gate(store_id: int) -> threading.BoundedSemaphore:
    """The gate of a store's pushes in this process (`pushes_per_store`); other stores' pushes never wait at it."""
    with _gates_lock:
        gate = _gates.get(store_id)
        if gate is None:
            gate = _gates[store_id] = threading.BoundedSemaphore(_gate_size)
        return gate


def _push(
    factory: sessionmaker[Session],
    terminal_id: int,
    store_code: str,
    events: Sequence[protocol.Event | dict[str, Any]],
    generation: int | None,
    anchor: protocol.AuditAnchor | None,
) -> list[protocol.PushResult]:
    parsed: dict[uuid.UUID, tuple[BaseModel, str]] = {}
    judged: list[protocol.Event | protocol.PushResult] = [_judge(raw, store_code, parsed) for raw in events]
    good = [ev for ev in judged if isinstance(ev, protocol.Event)]
    for attempt in range(_ATTEMPTS if len(good) == len(judged) else 0):
        try:
            with factory.begin() as session:
                terminal, results = _apply_batch(session, terminal_id, good, parsed, generation)
                _note_push(terminal, generation, anchor)
                return results
        except _UNAPPLIABLE as exc:
            # A key met once is most often a copy of this batch, or a sale of another till, that committed while
            # this one was written (`_apply_batch` writes its sales before the store's lock): tried again, the
            # batch finds them and is answered whole. A key met again is an event's own: one event at a time.
            again = _transient(exc) or (isinstance(exc, IntegrityError) and attempt == 0)
            if again and attempt + 1 < _ATTEMPTS:
                continue
            if _database_fault(exc):
                raise
            break
    # One by one, in the order sent, so what is parked for review reads in the till's order.
    results = []
    for ev in judged:
        if isinstance(ev, protocol.PushResult):
            _record_refusal(factory, terminal_id, ev, *_raw_of(events, ev.id))
            results.append(ev)
        else:
            results.append(_push_alone(factory, terminal_id, ev, generation))
    with factory.begin() as session:
        found = session.get(Terminal, terminal_id)
        if found is not None:
            _note_push(found, generation, anchor)
    return results


# What applying an event can raise that is the event's fault: it is refused alone, never an HTTP 500.
_UNAPPLIABLE = (
    Rejected,
    ValidationError,
    IntegrityError,
    DataError,
    StatementError,
    ValueError,
    ArithmeticError,
    OverflowError,
)


# A batch the database rolled back for a deadlock or a serialization failure is tried again this many times in all.
_ATTEMPTS = 3


def _transient(exc: BaseException) -> bool:
    """A deadlock or a serialization failure (SQLSTATE class 40): the database rolled the transaction back, and the
    same work may simply be done again (two stores sending each other goods at once can deadlock on PostgreSQL)."""
    code = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return isinstance(exc, DBAPIError) and isinstance(code, str) and code.startswith("40")


def _database_fault(exc: BaseException) -> bool:
    """An error of the database or of the way to it (a lost connection, a deadlock, no connection left, a server
    error), not of the event: the push fails (HTTP 500) and the till sends it again; it is never refused. Only a
    reused key (IntegrityError) or a value the column cannot hold (DataError) is the event's."""
    return isinstance(exc, DBAPIError) and not isinstance(exc, IntegrityError | DataError)


def _raw_of(events: Sequence[protocol.Event | dict[str, Any]], event_id: uuid.UUID) -> tuple[Any, Any]:
    """The type and payload an event was sent with."""
    for raw in events:
        data = raw.model_dump() if isinstance(raw, protocol.Event) else raw
        if str(data.get("id")) == str(event_id):
            return data.get("type"), data.get("payload")
    return None, None


def _record_refusal(
    factory: sessionmaker[Session], terminal_id: int, result: protocol.PushResult, kind: Any, payload: Any
) -> None:
    """Park an event refused before it was applied, with its reason, for a person to look at (what was sent is
    kept where it can be stored as it is; otherwise only what it is)."""
    try:
        protocol.check_json(payload)
        kept = payload if isinstance(payload, dict) else {"sent": payload}
        if len(json.dumps(kept)) > protocol.MAX_PAYLOAD_BYTES:
            raise ValueError("too large")
    except (ValueError, TypeError, RecursionError):
        kept = {"unstorable": type(payload).__name__}
    with factory.begin() as session:
        terminal = _locked_terminal(session, terminal_id)
        if session.get(AppliedEvent, result.id) is not None:
            return
        session.add(
            RejectedEvent(
                event_id=result.id,
                store_id=terminal.store_id,
                terminal_id=terminal.id,
                type=_safe_text(str(kind), 32),
                reason=_safe_text(result.reason or "refused", 500),
                payload=kept,
            )
        )


def _locked_terminal(session: Session, terminal_id: int) -> Terminal:
    terminal = session.get(Terminal, terminal_id)
    assert terminal is not None
    # Everything a store's events touch is serialised on the store row, so levels read here are current, and a
    # second copy of a batch still being applied waits here, then finds its events already applied.
    ledger.lock_store(session, terminal.store_id)
    return terminal


def _applied(
    session: Session, terminal: Terminal, ev: protocol.Event, generation: int | None, numbers: dict[str, int]
) -> None:
    _apply(session, terminal, ev)
    _note_number(terminal, ev, numbers)
    if ev.id not in _written_first(session):
        _applied_row(session, terminal, ev, generation)


def _applied_row(session: Session, terminal: Terminal, ev: protocol.Event, generation: int | None) -> None:
    applied = {
        "event_id": ev.id,
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "type": ev.type,
        "occurred_at": ev.occurred_at,
        # A sale's or return's payload is its document (sales.document, returns.document): stored once, not again
        # here (JSON null; the column stays NOT NULL). A second completion of a recorded sale keeps its own.
        "payload": JSON.NULL if ev.id in _kept_whole(session) else ev.payload,
        "generation": terminal.generation if generation is None else generation,
    }
    ledger.add_row(session, AppliedEvent, applied)  # set-wise in a batch (`_apply_batch`)


def _note_push(terminal: Terminal, generation: int | None, anchor: protocol.AuditAnchor | None) -> None:
    """What a push tells of its terminal, in the transaction the terminal was read in (the batch hands it over;
    asked for again, the session had let the unchanged row go and read it anew): the first-admin window of a just
    enrolled terminal closes, and the audit head the push named is kept (the highest, of the current generation
    only). A replaced till delivering its unsent work in its grace has the generation before: its events were
    written with it (`_applied`), and its audit chain is not the new till's."""
    if generation is not None and generation != terminal.generation:
        return
    if terminal.bootstrap_open:
        terminal.bootstrap_open = False
    if anchor is not None and (terminal.anchor_seq is None or anchor.seq > terminal.anchor_seq):
        terminal.anchor_seq = anchor.seq
        terminal.anchor_hash = anchor.hash


def after_push(
    factory: sessionmaker[Session], events: Sequence[protocol.Event | dict[str, Any]] | None = None
) -> None:
    """After a push has committed: a transfer it sent reaches the other store's feed, and a store credit or gift
    card balance it changed every other store's, each under that store's lock alone (never while holding the
    pushing store's: two stores pushing to each other would deadlock).

    Only a push's transfers and balance changes leave anything to publish: after a push of `events` that has none,
    it is looked for only when `SWEEP_S` have passed since the last look (what a process that stopped between a
    push's commit and this call, or a publish that failed, left behind). `events` None: looked for now."""
    global _last_sweep
    now = time.monotonic()
    if events is not None and now - _last_sweep < SWEEP_S and not any(map(_leaves_pending, events)):
        return
    _last_sweep = now
    deliveries.publish_pending(factory)
    balances.publish_pending(factory)


# How long what a push left to publish may wait for a push that has something of its own to publish. Looking
# after every push took two transactions a push (about 0.7 ms of the central's CPU, 1% of a 100-sale batch's).
SWEEP_S = 2.0
_last_sweep = float("-inf")
_LEAVING_PENDING = frozenset({protocol.TRANSFER_SENT, protocol.BALANCE_ISSUED, protocol.BALANCE_SPENT})


def _leaves_pending(ev: protocol.Event | dict[str, Any]) -> bool:
    kind = ev.type if isinstance(ev, protocol.Event) else ev.get("type") if isinstance(ev, dict) else None
    return type(kind) is str and kind in _LEAVING_PENDING  # as sent: anything, refused or not


def _seen(session: Session, terminal: Terminal, event_id: uuid.UUID) -> bool:
    """Whether the event was applied in this terminal's store already. An id another store used is refused, never
    answered "duplicate": an event id is unique within its store, and says nothing to another."""
    owner = session.scalar(select(AppliedEvent.store_id).where(AppliedEvent.event_id == event_id))
    if owner is None:
        return False
    if owner != terminal.store_id:
        raise Rejected(f"event id {event_id} was already used in another store")
    return True


# Which payload field holds a number of which kind, per event type.
_NUMBERED = {
    protocol.SALE_COMPLETED: (("number", "receipt"),),
    protocol.RETURN_COMPLETED: (("number", "return"),),
    protocol.SALE_PARKED: (("number", "parked"), ("receipt_number", "receipt")),
    protocol.SHIFT_OPENED: (("number", "shift"),),
}


def _note_number(terminal: Terminal, ev: protocol.Event, numbers: dict[str, int]) -> None:
    """Keep the highest number of each kind this terminal used (in `numbers`, the terminal's `last_numbers` as
    this transaction goes; `_keep_numbers` stores it), so a replacement till goes on after it."""
    for field_name, kind in _NUMBERED.get(ev.type, ()):
        value = ev.payload.get(field_name)
        if not isinstance(value, str):
            continue
        match = _number_pattern(terminal.code).search(value)
        if match is None:
            continue
        seq = int(match.group(1))
        if seq > int(numbers.get(kind, 0)):
            numbers[kind] = seq


@functools.lru_cache(maxsize=1024)
def _number_pattern(terminal_code: str) -> re.Pattern[str]:
    return re.compile(rf"(?:^|-){re.escape(terminal_code)}-\D*(\d{{1,12}})$")


def _keep_numbers(terminal: Terminal, numbers: dict[str, int]) -> None:
    if numbers != (terminal.last_numbers or {}):
        terminal.last_numbers = numbers  # a new dict: the JSON column sees the change


# The kinds of event applied with their rows staged and written set-wise at the end of the batch: their handlers
# read none of the staged tables back (the feed, the ledger, sales, applied events). Before any other kind, what is
# staged is written, so its handler's queries see every earlier event of the batch.
_SETWISE = frozenset(
    {
        protocol.SALE_COMPLETED,
        protocol.STOCK_MOVEMENT,
        protocol.SHIFT_OPENED,
        protocol.SHIFT_CLOSED,
        protocol.CASH_PAID_IN,
        protocol.CASH_PAID_OUT,
        protocol.AUDIT_ENTRY,
    }
)


def _apply_batch(
    session: Session,
    terminal_id: int,
    events: list[protocol.Event],
    parsed: dict[uuid.UUID, tuple[BaseModel, str]] | None = None,
    generation: int | None = None,
) -> tuple[Terminal, list[protocol.PushResult]]:
    """The whole batch in this transaction (the terminal, read under the store's lock, and each event's result):
    the rows of its events written set-wise (one COPY or executemany INSERT per table for a run of `_SETWISE`
    events), its payloads used as `_judge` parsed and serialised them.

    What no other push of the store can change is done before the store's lock is taken (`_write_first`): which
    events were applied before, the products, and the sales with their applied events (and the report facts their
    triggers write), so tills of one store write those at once and wait for each other only for the levels, the
    movements and the feed. A copy of the batch being applied at the same moment, or a sale another till recorded
    at that moment, then meets its key in the database (IntegrityError), and the batch goes one event at a time
    under the lock, where it is answered "duplicate" or the sale is flagged as completed twice (should that copy
    meet the first's rows while holding the lock, PostgreSQL breaks the deadlock and the loser is tried again)."""
    terminal = session.get(Terminal, terminal_id)
    assert terminal is not None
    # A batch of sales, movements and the like (the fast path's kinds) changes levels through the ledger alone and
    # reads none with a query of its own: it holds them as plain values (`ledger.PlainLevel`).
    ledger.start_staging(session, plain_levels=all(ev.type in _SETWISE for ev in events))
    if parsed:
        payloads = ledger.tx_cache(session, "payloads")
        for ev in events:
            if ev.id in parsed:
                model, text = parsed[ev.id]
                payloads[ev.id] = model
                ledger.note_json(session, ev.payload, text)
    # Which of these were applied before: one query for the batch.
    owners: dict[uuid.UUID, int] = {}
    for ids in ledger.chunks(session, [e.id for e in events]):
        owners.update(
            session.execute(
                select(AppliedEvent.event_id, AppliedEvent.store_id).where(
                    ledger.among(session, AppliedEvent.event_id, ids)
                )
            ).all()
        )
    if any(owner != terminal.store_id for owner in owners.values()):
        # An id another store used is refused, never "duplicate": the batch goes one event at a time.
        raise Rejected("an event id of this batch was used in another store")
    done = set(owners)
    skus = _prefetch_catalog(session, terminal.store_id, events)
    _prefetch_numbers(session, events)
    sale_ids = {
        uuid.UUID(str(e.payload["order_id"]))
        for e in events
        if e.type == protocol.SALE_COMPLETED and _is_uuid(e.payload.get("order_id"))
    }
    if sale_ids:
        recorded: set[uuid.UUID] = set()
        for ids in ledger.chunks(session, list(sale_ids)):
            recorded.update(session.scalars(select(Sale.id).where(ledger.among(session, Sale.id, ids))))
        _known_sales(session).update({i: i in recorded for i in sale_ids})
    _write_first(session, terminal, events, done, generation)
    terminal = _locked_terminal(session, terminal_id)
    products = ledger.tx_cache(session, "products")
    ledger.prefetch_levels(session, terminal.store_id, [products[sku].id for sku in skus if sku in products])
    numbers = dict(terminal.last_numbers or {})
    results = []
    for ev in events:
        if ev.id in done:
            results.append(protocol.PushResult(id=ev.id, status="duplicate"))
            continue
        if ev.type not in _SETWISE:
            ledger.write_staged(session)
        _applied(session, terminal, ev, generation, numbers)
        done.add(ev.id)  # the same event twice in one batch
        results.append(protocol.PushResult(id=ev.id, status="applied"))
    _keep_numbers(terminal, numbers)
    ledger.write_staged(session)
    return terminal, results


def _prefetch_catalog(session: Session, store_id: int, events: list[protocol.Event]) -> list[str]:
    """Read the products and locations a batch names in a few queries, into the caches the handlers use, and return
    the SKUs named (their stock levels are read under the store's lock). One by one, every line of every sale was a
    query, and each query flushed what was pending first."""
    skus: set[str] = set()
    for ev in events:
        lines = ev.payload.get("movements")
        for m in [ev.payload, *(lines if isinstance(lines, list) else [])]:
            if isinstance(m, dict) and m.get("sku") is not None:
                skus.add(str(m["sku"]))
    if not skus:
        return []
    products = ledger.tx_cache(session, "products")
    wanted = sorted(skus)
    for chunk in ledger.chunks(session, wanted):
        for product in session.scalars(select(Product).where(ledger.among(session, Product.sku, chunk))):
            products[product.sku] = product
    locations = ledger.tx_cache(session, "locations")
    for loc in session.scalars(select(Location).where(Location.store_id == store_id)):
        locations[(store_id, loc.code)] = loc
    return wanted


def _write_first(
    session: Session,
    terminal: Terminal,
    events: list[protocol.Event],
    done: set[uuid.UUID],
    generation: int | None,
) -> None:
    """Write, before the store's lock, the sale of each new `sale.completed` event of the batch (not one recorded
    already: that one is flagged under the lock) and the applied event of each new event of the kinds staged
    (`_SETWISE`): rows no other push of the store reads or changes, so only their keys can meet another's. The
    sales' feed documents are made and serialised here too, for the lock to send as they are."""
    first = _written_first(session)
    for ev in events:
        if ev.id in done or ev.id in first or ev.type not in _SETWISE:
            continue
        if ev.type == protocol.SALE_COMPLETED:
            if not _sale_row(session, terminal, ev):
                continue
            _document_ahead(session, terminal, ev)
        first.add(ev.id)
        _applied_row(session, terminal, ev, generation)
    ledger.write_staged(session)


def _is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _push_alone(
    factory: sessionmaker[Session], terminal_id: int, ev: protocol.Event, generation: int | None = None
) -> protocol.PushResult:
    try:
        for attempt in range(_ATTEMPTS):
            try:
                with factory.begin() as session:
                    terminal = _locked_terminal(session, terminal_id)
                    if _seen(session, terminal, ev.id):
                        return protocol.PushResult(id=ev.id, status="duplicate")
                    numbers = dict(terminal.last_numbers or {})
                    _applied(session, terminal, ev, generation, numbers)
                    _keep_numbers(terminal, numbers)
                return protocol.PushResult(id=ev.id, status="applied")
            except DBAPIError as exc:
                if not (_transient(exc) and attempt + 1 < _ATTEMPTS):
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")
    except Rejected as exc:
        reason = exc.reason
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        reason = f"invalid {ev.type} payload: {where}: {first['msg']}"
    except IntegrityError:
        reason = "conflicts with a record already stored (reused id or number)"
    except _UNAPPLIABLE as exc:
        if _database_fault(exc):
            raise
        reason = f"cannot be stored as sent ({type(exc).__name__})"
    reason = _safe_text(reason, 500)
    with factory.begin() as session:
        terminal = _locked_terminal(session, terminal_id)
        applied = session.get(AppliedEvent, ev.id)
        if applied is not None and applied.store_id == terminal.store_id:  # a copy racing this one got it in
            return protocol.PushResult(id=ev.id, status="duplicate")
        session.add(
            RejectedEvent(
                event_id=ev.id,
                store_id=terminal.store_id,
                terminal_id=terminal.id,
                type=ev.type[:32],
                reason=reason[:500],
                payload=ev.payload,
            )
        )
    return protocol.PushResult(id=ev.id, status="rejected", reason=reason)
