"""A push's batch of sales and movements holds its store's levels as plain values (`ledger.PlainLevel`) and writes
the changed ones with one statement and the new ones with another; a batch with any other kind of event keeps ORM
levels, which a query in its handlers sees flushed. Both give the levels, feed and exceptions event by event gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from sync import protocol
from sync.central import ledger
from sync.central.models import FeedChange, StockException, Store
from tests.sync.conftest import Central
from tests.sync.test_bulk_central import statements
from tests.sync.test_central import event, movement, on_hand, receipt, sale


@pytest.fixture
def written(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The kinds of level each `write_staged` of the test's pushes wrote (`ledger.write_levels`), per call."""
    calls: list[list[str]] = []
    real = ledger.write_levels

    def spy(session: Any, levels: Iterable[Any], postgres: bool) -> None:
        levels = list(levels)
        calls.append([type(level).__name__ for level in levels])
        real(session, levels, postgres)

    monkeypatch.setattr(ledger, "write_levels", spy)
    return calls


def _stock_feed(central: Central, key: str) -> list[dict[str, Any]]:
    with central.sessions() as s:
        store_id = s.scalar(select(Store.id).where(Store.code == "S1"))
        return list(
            s.scalars(
                select(FeedChange.payload)
                .where(FeedChange.store_id == store_id, FeedChange.type == protocol.CHANGE_STOCK)
                .where(FeedChange.key == key)
                .order_by(FeedChange.seq)
            )
        )


def test_a_batch_of_sales_holds_plain_levels_and_writes_them_in_two_statements(
    central: Central, written: list[list[str]]
) -> None:
    central.push([receipt("A1", "10")])
    written.clear()
    batch = [event(protocol.SALE_COMPLETED, sale(f"S1-T1-{n}", "A1", "1")) for n in range(1, 4)]
    batch.append(event(protocol.SALE_COMPLETED, sale("S1-T1-4", "C3", "2")))  # never stocked: a new level
    batch.append(event(protocol.STOCK_MOVEMENT, movement("A1", "5", "receipt")))
    with statements(central) as sent:
        assert {r["status"] for r in central.push(batch)} == {"applied"}
    kinds = {kind for call in written for kind in call}
    assert kinds == {"PlainLevel"}, written
    assert sum(1 for s in sent if s.lstrip().upper().startswith("UPDATE STOCK_LEVELS")) == 1
    assert sum(1 for s in sent if s.lstrip().upper().startswith("INSERT INTO STOCK_LEVELS")) == 1
    assert on_hand(central, "A1") == Decimal("12")  # 10 - 3 + 5, and the ledger agrees
    assert on_hand(central, "C3") == Decimal("-2")
    # One feed row per key for the batch, carrying the level as it stands after the batch's last movement.
    assert [p["on_hand"] for p in _stock_feed(central, "A1@floor")] == ["10.000", "12.000"]
    assert [(p["on_hand"], p["available"]) for p in _stock_feed(central, "C3@floor")] == [
        ("-2.000", "-2.000")
    ]
    with central.sessions() as s:
        oversold = s.scalars(select(StockException).where(StockException.kind == "oversell")).all()
        assert [(e.sku, e.detail["on_hand"]) for e in oversold] == [("C3", "-2.000")]
    # The next batch finds the new level stored, and changes it in place.
    written.clear()
    central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-5", "C3", "1"))])
    assert on_hand(central, "C3") == Decimal("-3")


def test_a_batch_with_another_kind_keeps_orm_levels_and_the_same_figures(
    central: Central, written: list[list[str]]
) -> None:
    central.push([receipt("A1", "10")])
    written.clear()
    transfer = event(
        protocol.TRANSFER_SENT,
        {
            "transfer_id": str(uuid.uuid4()),
            "number": "TR-9",
            "to_store": "S2",
            "movements": [movement("A1", "-2", "transfer")],
        },
    )
    batch = [
        event(protocol.SALE_COMPLETED, sale("S1-T1-10", "A1", "1")),
        transfer,
        event(protocol.SALE_COMPLETED, sale("S1-T1-11", "A1", "1")),
        event(protocol.SALE_COMPLETED, sale("S1-T1-12", "C3", "1")),
    ]
    assert {r["status"] for r in central.push(batch)} == {"applied"}
    kinds = {kind for call in written for kind in call}
    assert kinds == {"StockLevel"}, written
    assert on_hand(central, "A1") == Decimal("6")
    assert on_hand(central, "C3") == Decimal("-1")
    assert _stock_feed(central, "A1@floor")[-1]["on_hand"] == "6.000"


def test_a_batch_refused_in_part_goes_event_by_event_with_the_same_levels(
    central: Central, written: list[list[str]]
) -> None:
    """A bad event drops the batch's transaction, plain levels and all; event by event (ORM levels) the good ones
    are applied once."""
    central.push([receipt("A1", "10")])
    reused = movement("A1", "-1", "sale")
    first = sale("S1-T1-20", "A1", "1")
    first["movements"] = [reused]
    second = sale("S1-T1-21", "A1", "1")
    second["movements"] = [dict(reused)]  # the same movement id again: refused alone
    results = central.push([event(protocol.SALE_COMPLETED, first), event(protocol.SALE_COMPLETED, second)])
    assert [r["status"] for r in results] == ["applied", "rejected"]
    assert on_hand(central, "A1") == Decimal("9")
    assert _stock_feed(central, "A1@floor")[-1]["on_hand"] == "9.000"
