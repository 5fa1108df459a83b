"""The one writer of a placed web order (sync.central.order_write), on SQLite and PostgreSQL: everything the order
brings is written once (lines, reservations, dense feed seqs, token, "received" notice, trace, history), the order
returned goes on through the ORM in the same transaction, a taken number writes nothing and leaves the
transaction usable, and on PostgreSQL an order costs the few statements it was cut to."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import event, func, select

from sync import protocol
from sync.central import service, stock
from sync.central.models import (
    FeedChange,
    Notice,
    OrderAccess,
    OrderStatusHistory,
    RoutingTrace,
    StockLevel,
    Store,
    WebOrder,
    utcnow,
)
from sync.central.service.base import Conflict

if TYPE_CHECKING:
    from conftest import Central


def _request(fulfilment: str = "pickup", store: str = "S1") -> protocol.OrderRequest:
    body: dict[str, Any] = {
        "store": store,
        "fulfilment": fulfilment,
        "lines": [{"sku": "A1", "qty": "2"}, {"sku": "C3", "qty": "1"}],
        "customer": {"name": "Ann Lee", "email": "ann@example.test"},
    }
    return protocol.OrderRequest.model_validate(body)


def _stocked(central: Central) -> None:
    with central.sessions.begin() as s:
        stock.receive(s, "S1", [stock.StockLine("A1", Decimal(10)), stock.StockLine("C3", Decimal(10))])


def _reserved(s: Any) -> Decimal:
    return Decimal(s.scalar(select(func.coalesce(func.sum(StockLevel.reserved), 0))) or 0)


def test_a_placed_order_is_written_once_with_everything_it_brings(central: Central) -> None:
    _stocked(central)
    with central.sessions() as s:
        seq_before = s.scalar(select(Store.feed_seq).where(Store.code == "S1"))
    with central.sessions.begin() as s:
        order = service.place_order(s, _request())
        order_id, number = order.id, order.number
        # The order returned is a clean, loaded row: its lines, their locations and stores read no more.
        assert not s.dirty and not s.new
        assert [(ln.sku, ln.qty, ln.location.store.code, ln.state) for ln in order.lines] == [
            ("A1", Decimal("2.000"), "S1", "reserved"),
            ("C3", Decimal("1.000"), "S1", "reserved"),
        ]
    with central.sessions() as s:
        row = s.get_one(WebOrder, order_id)
        assert (row.number, row.status, row.fulfilment, row.paid, row.returned) == (
            number,
            "new",
            "pickup",
            True,
            "",
        )
        assert [ln.id for ln in row.lines] == sorted(ln.id for ln in row.lines)
        assert _reserved(s) == Decimal(3)
        token = s.get_one(OrderAccess, order_id).token
        (notice,) = s.scalars(select(Notice).where(Notice.order_id == order_id)).all()
        assert (notice.kind, notice.stage, notice.recipient, notice.state) == (
            "received",
            "new",
            "ann@example.test",
            "pending",
        )
        assert notice.facts["token"] == token and notice.facts["number"] == number
        (history,) = s.scalars(
            select(OrderStatusHistory).where(OrderStatusHistory.order_id == order_id)
        ).all()
        assert (history.from_status, history.to_status, history.by) == (None, "new", "storefront")
        (trace,) = s.scalars(select(RoutingTrace).where(RoutingTrace.order_id == order_id)).all()
        assert trace.kind == "place" and [c["sku"] for c in trace.chosen] == ["A1", "C3"]
        feed = s.execute(
            select(FeedChange.seq, FeedChange.type, FeedChange.key)
            .join(Store, Store.id == FeedChange.store_id)
            .where(Store.code == "S1", FeedChange.seq > seq_before)
            .order_by(FeedChange.seq)
        ).all()
        # Two stock changes (one per line) and the order's, numbered on from the store's seq without a gap.
        assert [f.seq for f in feed] == [seq_before + 1, seq_before + 2, seq_before + 3]
        assert [f.type for f in feed] == [protocol.CHANGE_STOCK, protocol.CHANGE_STOCK, protocol.CHANGE_ORDER]
        assert feed[-1].key == str(order_id)
        assert s.scalar(select(Store.feed_seq).where(Store.code == "S1")) == seq_before + 3


def test_the_order_goes_on_through_the_orm_in_the_same_transaction(central: Central) -> None:
    _stocked(central)
    with central.sessions.begin() as s:
        order = service.place_order(s, _request())
        service.cancel_order(s, str(order.id))  # status, history, notice and release, as for an order read
    with central.sessions() as s:
        row = s.get_one(WebOrder, order.id)
        assert row.status == "cancelled" and _reserved(s) == 0
        kinds = s.scalars(select(Notice.kind).where(Notice.order_id == order.id).order_by(Notice.id)).all()
        assert kinds == ["received", "cancelled"]


def test_a_taken_number_writes_nothing_and_leaves_the_transaction_usable(central: Central) -> None:
    _stocked(central)
    with central.sessions.begin() as s:
        store = s.scalars(select(Store).where(Store.code == "S1")).one()
        taken = f"{protocol.ORDER_NUMBER_PREFIX}S1-{store.feed_seq + 1:06d}"  # the number routing will give
        s.add(
            WebOrder(
                id=uuid.uuid4(),
                store_id=store.id,
                number=taken,
                fulfilment="pickup",
                status="cancelled",
                customer={},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
        )
    with central.sessions() as s:
        seq = s.scalar(select(Store.feed_seq).where(Store.code == "S1"))
        with pytest.raises(Conflict, match="already exists"):
            service.place_order(s, _request())
        # Nothing of the order was written and the transaction still answers (no failed statement in it).
        assert _reserved(s) == 0
        assert s.scalar(select(func.count()).select_from(Notice)) == 0
        assert s.scalar(select(func.count()).select_from(FeedChange).where(FeedChange.seq > seq)) == 0
        s.rollback()


@pytest.mark.parametrize("fulfilment", ["pickup", "ship"])
def test_statements_per_order(central: Central, fulfilment: str) -> None:
    """4 statements for a pickup, 6 for a ship order on PostgreSQL (12 and 14 before the order had one writer)."""
    _stocked(central)
    engine = central.sessions.kw["bind"]
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with central.sessions.begin() as s:
            service.place_order(s, _request(fulfilment))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    if engine.dialect.name == "postgresql":
        assert len(sent) == (4 if fulfilment == "pickup" else 6), sent
    else:
        assert len(sent) <= 20, sent  # SQLite: one statement per table, nothing to save on a local file
