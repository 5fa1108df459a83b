"""The outbox records the central store's answer to a whole push batch in one statement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import OutboxEvent
from app.services import outbox


def _queue(db: sessionmaker[Session], n: int) -> list[str]:
    with db.begin() as s:
        return [outbox.emit(s, "audit.entry", {"k": k}) for k in range(n)]


def _updates_while(db: sessionmaker[Session], fn: Any) -> list[str]:
    seen: list[str] = []
    with db.begin() as s:
        engine = s.get_bind()

        def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if statement.lstrip().upper().startswith("UPDATE OUTBOX"):
                seen.append(statement)

        event.listen(engine, "before_cursor_execute", note)
        try:
            fn(s)
        finally:
            event.remove(engine, "before_cursor_execute", note)
    return seen


def _rows(db: sessionmaker[Session], ids: list[str]) -> dict[str, OutboxEvent]:
    with db() as s:
        return {r.id: r for r in s.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)))}


def test_a_batch_answered_applied_is_marked_sent_in_one_statement(db: sessionmaker[Session]) -> None:
    ids = _queue(db, 100)
    answer = {i: ("applied" if k % 2 else "duplicate", None) for k, i in enumerate(ids)}
    statements = _updates_while(db, lambda s: outbox.mark(s, answer))
    assert len(statements) == 1
    rows = _rows(db, ids)
    assert {r.status for r in rows.values()} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at is not None and r.error is None for r in rows.values())


def test_refusals_in_a_batch_keep_their_own_reasons_and_the_rest_is_sent(db: sessionmaker[Session]) -> None:
    ids = _queue(db, 10)
    answer: dict[str, tuple[str, str | None]] = {i: ("applied", None) for i in ids}
    answer[ids[3]] = ("rejected", "unknown sku 'X'")
    answer[ids[7]] = ("rejected", None)
    statements = _updates_while(db, lambda s: outbox.mark(s, answer))
    assert len(statements) == 1
    rows = _rows(db, ids)
    assert (rows[ids[3]].status, rows[ids[3]].error, rows[ids[3]].sent_at) == (
        "rejected",
        "unknown sku 'X'",
        None,
    )
    assert (rows[ids[7]].status, rows[ids[7]].error) == ("rejected", "rejected")
    sent = [rows[i] for i in ids if i not in (ids[3], ids[7])]
    assert all(r.status == "sent" and r.error is None and r.sent_at is not None for r in sent)
    assert all(r.attempts == 1 for r in rows.values())
    # Only refusals: all marked so, each with its reason; and sent again later, the attempts count on.
    only = {ids[0]: ("rejected", "a"), ids[1]: ("rejected", "b")}
    assert len(_updates_while(db, lambda s: outbox.mark(s, only))) == 1
    rows = _rows(db, ids[:2])
    assert [(rows[i].status, rows[i].error, rows[i].attempts) for i in ids[:2]] == [
        ("rejected", "a", 2),
        ("rejected", "b", 2),
    ]
