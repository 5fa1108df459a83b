"""What a push leaves for other stores (a transfer's delivery, a balance) reaches their feeds: at once after the push
that sent it, and, when that publish never ran (the process stopped between the push's commit and it), at the first
push after `SWEEP_S`; a push with nothing for other stores does not look for it in between. The push through the API
takes the terminal's store from the token's terminal, reading it once."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from sync import protocol
from sync.central import service
from sync.central.models import Delivery
from sync.central.service import batch
from tests.sync.conftest import Central
from tests.sync.test_bulk_central import feed, statements
from tests.sync.test_central import event, movement, receipt, sale


def _transfer(number: str) -> dict[str, Any]:
    return event(
        protocol.TRANSFER_SENT,
        {
            "transfer_id": str(uuid.uuid4()),
            "number": number,
            "to_store": "S2",
            "movements": [movement("A1", "-1", "transfer")],
        },
    )


def _looks_for_pending(sent: list[str]) -> bool:
    return any("deliveries" in s and "published" in s for s in sent)


def _published(central: Central, number: str) -> bool:
    with central.sessions() as s:
        delivery = s.scalar(select(Delivery).where(Delivery.number == number))
        assert delivery is not None
        return delivery.published


def test_a_transfer_is_published_at_once_and_a_sales_push_does_not_look_in_between(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    central.push([receipt("A1", "10")])
    monkeypatch.setattr(batch, "_last_sweep", batch.time.monotonic())  # looked just now
    with statements(central) as sent:
        assert central.push([_transfer("TR-1")])[0]["status"] == "applied"
    assert _looks_for_pending(sent)
    assert _published(central, "TR-1")
    assert [c.payload["number"] for c in feed(central, "S2", 0, protocol.CHANGE_DELIVERY)] == ["TR-1"]
    with statements(central) as sent:
        assert (
            central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-1", "A1", "1"))])[0]["status"]
            == "applied"
        )
    assert sent and not _looks_for_pending(sent)


def test_what_a_stopped_publish_left_goes_out_at_the_first_push_after_the_sweep_interval(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    central.push([receipt("A1", "10")])
    real = batch.after_push
    monkeypatch.setattr(service, "after_push", lambda factory, events=None: None)  # stopped after the commit
    central.push([_transfer("TR-2")])
    assert not _published(central, "TR-2")
    monkeypatch.setattr(service, "after_push", real)
    monkeypatch.setattr(batch, "_last_sweep", batch.time.monotonic())
    central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-2", "A1", "1"))])
    assert not _published(central, "TR-2")  # within the interval: a sales push does not look
    monkeypatch.setattr(batch, "_last_sweep", batch.time.monotonic() - batch.SWEEP_S)
    central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-3", "A1", "1"))])
    assert _published(central, "TR-2")
    # Called with no events (the CLI, a test), it looks now.
    monkeypatch.setattr(service, "after_push", lambda factory, events=None: None)
    central.push([_transfer("TR-3")])
    monkeypatch.setattr(batch, "_last_sweep", batch.time.monotonic())
    real(central.sessions)
    assert _published(central, "TR-3")


def test_a_push_through_the_api_reads_the_store_once(central: Central) -> None:
    central.push([receipt("A1", "10")])
    with statements(central) as sent:
        central.push([event(protocol.SALE_COMPLETED, sale("S1-T1-4", "A1", "1"))])
    # The token's terminal comes with its store in one query: the store's lock is the only read of its own.
    alone = [s for s in sent if "FROM stores" in s]
    assert len(alone) == 1, alone
