"""Curbside arrival and the long-poll of the feed (sync.central.curbside, sync.central.feedwait), on SQLite and
PostgreSQL: the storefront's POST /v1/orders/{id}/arrived (its key, the kinds of order it takes, idempotent, hostile
bodies refused), the change reaching the store's feed and a till's order (`external["arrived_at"]`), a pull with
`wait` answering at once when the feed moves and after `wait` otherwise, and the agent pushing while it waits."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from fleet import Hub, Till
from sqlalchemy import select

from sync import protocol
from sync.agent import Agent
from sync.central import ledger, service, stock
from sync.central.models import FeedChange, WebOrder
from sync.central.service.order_state import _set_status

if TYPE_CHECKING:
    from conftest import Central

from app.db.models import Order


def _key(central: Central, stores: list[str] | None = None) -> dict[str, str]:
    with central.sessions.begin() as s:
        _, key = service.create_api_key(s, "shop", stores=stores, all_stores=stores is None)
    return {"X-Api-Key": key}


def _order(
    central: Central, key: dict[str, str], fulfilment: str = "curbside", store: str = "S1"
) -> dict[str, Any]:
    with central.sessions.begin() as s:
        stock.receive(s, store, [stock.StockLine("C3", Decimal(5))])
    body: dict[str, Any] = {"store": store, "fulfilment": fulfilment, "lines": [{"sku": "C3", "qty": "1"}]}
    if fulfilment == "ship":
        body["ship_to"] = {"latitude": "51.5", "longitude": "-0.1"}
    response = central.client.post("/v1/orders", json=body, headers=key)
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    return order


def _order_changes(central: Central, order_id: str, store: str = "S1") -> list[dict[str, Any]]:
    with central.sessions() as s:
        store_id = service.get_store(s, store).id
        rows = s.scalars(
            select(FeedChange)
            .where(FeedChange.store_id == store_id, FeedChange.key == order_id)
            .order_by(FeedChange.seq)
        )
        return [r.payload for r in rows]


def test_arrival_reaches_the_feed_once_and_says_where(central: Central) -> None:
    key = _key(central)
    order = _order(central, key)
    before = len(_order_changes(central, order["id"]))
    answer = central.client.post(
        f"/v1/orders/{order['id']}/arrived", json={"bay": "3", "car": "red Fiat"}, headers=key
    )
    assert answer.status_code == 200, answer.text
    arrived_at = answer.json()["arrived_at"]
    assert answer.json()["arrival"] == {"bay": "3", "car": "red Fiat"}
    changes = _order_changes(central, order["id"])
    assert len(changes) == before + 1 and changes[-1]["arrived_at"] == arrived_at
    # The same call again (by number this time) changes nothing and emits nothing.
    again = central.client.post(
        f"/v1/orders/{order['number']}/arrived", json={"bay": "3", "car": "red Fiat"}, headers=key
    )
    assert again.status_code == 200 and again.json()["arrived_at"] == arrived_at
    assert len(_order_changes(central, order["id"])) == before + 1
    # Moved to another bay: recorded and sent again, with the first arrival time.
    moved = central.client.post(f"/v1/orders/{order['id']}/arrived", json={"bay": "5"}, headers=key)
    assert moved.json()["arrival"] == {"bay": "5"} and moved.json()["arrived_at"] == arrived_at
    assert len(_order_changes(central, order["id"])) == before + 2
    # Every later change of the order keeps saying when the customer arrived.
    with central.sessions.begin() as s:
        row = s.get_one(WebOrder, uuid.UUID(order["id"]))
        _set_status(s, row, "ready", "test", None)
        assert service.order_payload(row)["arrived_at"] == arrived_at


def test_arrival_needs_the_key_of_the_store_and_an_open_order_collected_at_the_store(
    central: Central,
) -> None:
    key = _key(central)
    order = _order(central, key, "pickup")
    url = f"/v1/orders/{order['id']}/arrived"
    assert central.client.post(url).status_code == 401
    assert central.client.post(url, headers={"X-Api-Key": "nope"}).status_code == 401
    assert central.client.post(url, headers=central.auth()).status_code == 401  # a till's token is no key
    assert central.client.post(url, headers=_key(central, ["S2"])).status_code == 404  # another store's key
    assert central.client.post("/v1/orders/no-such-order/arrived", headers=key).status_code == 404
    assert central.client.post(url, headers=key).status_code == 200  # no body at all: arrived, no details
    shipped = _order(central, key, "ship")
    answer = central.client.post(f"/v1/orders/{shipped['id']}/arrived", headers=key)
    assert answer.status_code == 409 and "shipped" in answer.json()["detail"]
    cancelled = _order(central, key, "curbside")
    assert central.client.post(f"/v1/orders/{cancelled['id']}/cancel", headers=key).status_code == 200
    answer = central.client.post(f"/v1/orders/{cancelled['id']}/arrived", headers=key)
    assert answer.status_code == 409 and "cancelled" in answer.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"bay": "3\n4"},
        {"bay": "x" * 21},
        {"note": "a\x00b"},
        {"car": "\x1b[31mred"},
        {"bay": 3},
        {"bay": ["3"]},
        {"colour": "red"},
        "bay 3",
        [1, 2],
        {"note": "\ud800"},
    ],
)
def test_hostile_arrival_bodies_are_refused(central: Central, body: Any) -> None:
    key = _key(central)
    order = _order(central, key)
    before = _order_changes(central, order["id"])
    if isinstance(body, dict) and body.get("note") == "\ud800":
        answer = central.client.post(
            f"/v1/orders/{order['id']}/arrived",
            content=b'{"note": "\\ud800"}',
            headers={**key, "Content-Type": "application/json"},
        )
    else:
        answer = central.client.post(f"/v1/orders/{order['id']}/arrived", json=body, headers=key)
    assert 400 <= answer.status_code < 500, answer.text
    assert _order_changes(central, order["id"]) == before
    long_id = central.client.post("/v1/orders/" + "9" * 500 + "/arrived", headers=key)
    assert long_id.status_code == 404


def test_a_waiting_pull_answers_when_the_feed_moves_and_after_wait_otherwise(central: Central) -> None:
    key = _key(central)
    _, head = central.pull_all()
    started = time.monotonic()
    idle = central.client.get("/v1/pull", params={"cursor": head, "wait": 1}, headers=central.auth())
    took = time.monotonic() - started
    assert idle.status_code == 200 and idle.json()["changes"] == [] and 0.9 <= took < 10
    assert (
        central.client.get(
            "/v1/pull", params={"cursor": head, "wait": 31}, headers=central.auth()
        ).status_code
        == 422
    )

    order = _order(central, key)
    _, head = central.pull_all()
    answers: list[tuple[float, dict[str, Any]]] = []

    def waiting_till() -> None:
        response = central.client.get(
            "/v1/pull", params={"cursor": head, "wait": 20}, headers=central.auth("S1/T2")
        )
        answers.append((time.monotonic(), response.json()))

    other_store = threading.Thread(
        target=lambda: answers.append(
            (
                time.monotonic(),
                central.client.get(
                    "/v1/pull", params={"cursor": 10**6, "wait": 1}, headers=central.auth("S2/T1")
                ).json(),
            )
        )
    )
    waiter = threading.Thread(target=waiting_till)
    waiter.start()
    other_store.start()
    time.sleep(0.5)  # the till is waiting now
    sent = time.monotonic()
    assert (
        central.client.post(f"/v1/orders/{order['id']}/arrived", json={"bay": "7"}, headers=key).status_code
        == 200
    )
    waiter.join(10)
    other_store.join(10)
    s1 = [a for a in answers if any(c["key"] == order["id"] for c in a[1]["changes"])]
    assert len(s1) == 1, answers
    at, page = s1[0]
    # Woken by the arrival, not answering at the end of its 20 s wait (how fast is benchmarks/curbside.py's
    # figure; a timed bound here would fail on a busy machine).
    assert at - sent < 10.0, f"the waiting pull answered {at - sent:.2f} s after the arrival"
    assert page["changes"][-1]["payload"]["arrival"] == {"bay": "7"}
    s2 = [a for a in answers if a not in s1]
    assert s2 and s2[0][1]["changes"] == []  # another store's till is not woken with S1's change


# ---------------------------------------------------------------- a till with its agent


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    yield h
    h.close()


def _arrive(hub: Hub, order_id: str, bay: str) -> None:
    with hub.sessions.begin() as s:
        _, key = service.create_api_key(s, "shop", all_stores=True)
    answer = hub.testclient.post(
        f"/v1/orders/{order_id}/arrived", json={"bay": bay}, headers={"X-Api-Key": key}
    )
    assert answer.status_code == 200, answer.text


def _external(till: Till, order_id: str) -> dict[str, Any]:
    with till.factory() as s:
        order = s.get(Order, order_id)
        return dict(order.external or {}) if order is not None else {}


def test_the_agent_applies_an_arrival_at_once_and_pushes_a_sale_while_it_waits(
    hub: Hub, tmp_path: Path
) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    with hub.sessions.begin() as s:
        stock.receive(s, "S1", [stock.StockLine("C3", Decimal(5))])
    order = hub.place_order("S1", "C3")
    # Long-poll 20 s and a push check every 30 s: what arrives well within 10 s came by the wake-ups, not by time.
    agent = Agent(till.factory, till.client, interval_s=60, long_poll_s=20, push_check_s=30)
    told: list[int] = []
    agent.on_applied = lambda report: told.append(report.pulled)  # what the main window redraws on
    agent.start()
    try:
        _wait(lambda: bool(_external(till, order["id"])), 10)
        time.sleep(0.5)  # the agent waits on the feed now
        sent = time.monotonic()
        _arrive(hub, order["id"], "2")
        _wait(lambda: "arrived_at" in _external(till, order["id"]), 10)
        took = time.monotonic() - sent
        assert took < 10.0, f"the arrival reached the till after {took:.2f} s"
        assert _external(till, order["id"])["arrival"] == {"bay": "2"}
        _wait(lambda: len(told) >= 2, 10)  # the round that brought the order, then the pull with the arrival
        assert all(n > 0 for n in told)
        # A sale made while the agent waits on the feed goes out at once, not after the wait.
        sent = time.monotonic()
        till.sell("A1")
        _wait(lambda: till.outbox_pending() == 0, 10)
        took = time.monotonic() - sent
        assert took < 10.0, f"the sale was pushed after {took:.2f} s"
        assert agent.status().last_error is None
    finally:
        agent.stop()


def _wait(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("not within the time")
        time.sleep(0.02)


def test_a_later_change_of_the_order_keeps_the_arrival_at_the_till(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    with hub.sessions.begin() as s:
        stock.receive(s, "S1", [stock.StockLine("C3", Decimal(5))])
    order = hub.place_order("S1", "C3")
    _arrive(hub, order["id"], "4")
    till.sync()
    arrived = _external(till, order["id"])
    assert arrived["arrival"] == {"bay": "4"}
    with hub.sessions.begin() as s:  # the order made ready at the central after the customer arrived
        row = s.get_one(WebOrder, uuid.UUID(order["id"]))
        _set_status(s, row, "ready", "test", None)
        ledger.emit(s, row.store_id, protocol.CHANGE_ORDER, order["id"], service.order_payload(row))
    till.sync()
    with till.factory() as s:
        local = s.get_one(Order, order["id"])
        assert local.status == "ready"
        assert local.external["arrived_at"] == arrived["arrived_at"]
        assert "hold_until" in local.external
