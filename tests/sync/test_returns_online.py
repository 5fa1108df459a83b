"""The Returns desk asks the central store (in process, real) before deciding: another till's return that has not
reached this till yet counts, the return then goes as decided online and is taken; without the central store's word
the till decides on what it knows and the central store parks the conflict. The desk's asker (ui.screens.
returns_central) brings the same answer back on the GUI thread."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import OutboxEvent
from app.services import returns
from app.services.base import UserError
from app.services.returns import ReturnLineIn
from sync.central.models import StockException
from tests.sync.fleet import Hub, Till, central_ledger
from ui.screens.returns_central import CentralWord

D = Decimal


def offline_flag(s: Session, return_id: str) -> object:
    events = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "return.completed")).all()
    (event,) = [e for e in events if e.payload["order_id"] == return_id]
    return event.payload["offline"]


def line(qty: int) -> list[ReturnLineIn]:
    return [ReturnLineIn(1, D(qty), "changed_mind", "new")]


def test_the_central_stores_word_counts_another_tills_unsynced_return(tmp_path: Path) -> None:
    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
        t1.sync()
        number = t1.sell("A1", 3)
        t1.sync()
        t2.sync()
        t2.open_shift()
        with t2.factory.begin() as s:  # T2 takes two back and tells the central store; T1 has not heard of it
            found = returns.find_original(s, number)
            returns.take_return(s, t2.actor, found.order_id, line(2))
        t2.sync()
        with t1.factory() as s:
            assert [ln.returnable for ln in returns.get_original(s, found.order_id).lines] == [3]
        with t1.client() as c:
            word = returns.central_answer(c.returnable(found.order_id))
        assert word.returned == {"A1": D(2)} and word.refunded is not None and word.refunded["cash"] > 0
        with t1.factory() as s:
            view = returns.get_original(s, found.order_id, word)
            assert [ln.returnable for ln in view.lines] == [1]
            with pytest.raises(UserError, match="Only 1"):
                returns.quote(s, found.order_id, line(2), central=word)
            # The refund of the last unit takes the remainder of what the line paid, as if T2's return were here.
            left = returns.quote(s, found.order_id, line(1), central=word)
        with t1.factory.begin() as s:
            done = returns.take_return(s, t1.actor, found.order_id, line(1), central=word)
            assert offline_flag(s, done.return_id) is False  # decided online
        assert done.total == left.total
        t1.sync()
        assert t1.refused() == []
        with t1.factory() as s:  # T2's return arrived with the pull: the line is spent either way
            assert [ln.returnable for ln in returns.get_original(s, found.order_id).lines] == [0]
        with hub.sessions() as cs:
            assert cs.scalars(select(StockException).where(StockException.kind == "return_over")).all() == []
        with t1.factory() as s:
            sold_paid = returns.get_original(s, found.order_id).total
            refunded = sum((a for _k, a in returns.get_original(s, found.order_id).refunded), D(0))
        assert refunded == sold_paid  # three units back, exactly what was paid, nothing twice
    finally:
        hub.close()


def test_offline_the_till_decides_on_its_own_and_the_central_store_parks_it(tmp_path: Path) -> None:
    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
        t1.sync()
        number = t1.sell("A1", 1)
        t1.sync()
        t2.sync()
        t2.open_shift()
        with t2.factory.begin() as s:
            found = returns.find_original(s, number)
            returns.take_return(s, t2.actor, found.order_id, line(1))
        t2.sync()
        before = central_ledger(hub, "S1")
        with t1.factory.begin() as s:  # no word from the central store: this till's records only
            done = returns.take_return(s, t1.actor, found.order_id, line(1))
            assert offline_flag(s, done.return_id) is True
        t1.sync()
        assert t1.refused() == []
        with hub.sessions() as cs:
            parked = cs.scalars(select(StockException).where(StockException.kind == "return_over")).all()
            assert parked and all(p.detail["return"] == done.number for p in parked)
        after = central_ledger(hub, "S1")
        assert after[("A1", "floor")] == before.get(("A1", "floor"), D(0)) + 1  # its goods moved: once
    finally:
        hub.close()


def test_the_desks_asker_brings_the_answer_or_none(qtbot: QtBot, tmp_path: Path) -> None:
    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        t1.sync()
        number = t1.sell("A1", 2)
        with t1.factory() as s:
            order_id = returns.find_original(s, number).order_id
        asker = CentralWord()
        with qtbot.waitSignal(asker.answered, timeout=10_000) as got:  # not synced there yet: no word
            asker.ask(t1.client, order_id, False)
        assert got.args == [order_id, None]
        t1.sync()
        with qtbot.waitSignal(asker.answered, timeout=10_000) as got:
            asker.ask(t1.client, order_id, False)
        assert got.args is not None and got.args[1] is not None and got.args[1].returned == {"A1": D(0)}
        with qtbot.waitSignal(asker.answered, timeout=10_000) as got:  # not connected: no word
            asker.ask(None, order_id, False)
        assert got.args == [order_id, None]
    finally:
        hub.close()


def test_a_malformed_answer_is_refused_plainly() -> None:
    for bad in (
        None,
        {"lines": "x"},
        {"lines": [{"sku": "A1", "returned": "-1"}]},
        {"lines": [{"sku": "A1"}]},
    ):
        with pytest.raises(UserError, match="cannot be read"):
            returns.central_answer(bad)
