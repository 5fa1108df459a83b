"""The customer's notices of a split ship order (sync.central.order_parts), on SQLite and PostgreSQL: each part
that leaves is told in its own "shipped" notice (unique per (order, kind, stage), the stage naming the store's
part) with its own tracking numbers and its items, and the last part's notice says the order is complete; the
status page shows the same events."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from sync import protocol
from sync.central import notices, service, status_page, stock
from sync.central.models import Notice
from tests.sync.fleet import place_split_order
from tests.sync.test_shipments import box, move, ship

if TYPE_CHECKING:
    from conftest import Central


def _shipped(central: Central, order_id: str) -> list[tuple[str, str, str]]:
    """(stage, subject, body) of each "shipped" notice of the order, as the worker would send it."""
    with central.sessions() as s:
        rows = s.scalars(
            select(Notice)
            .where(Notice.order_id == uuid.UUID(order_id), Notice.kind == "shipped")
            .order_by(Notice.id)
        ).all()
        out = []
        for n in rows:
            msg = notices.build_message(n, "shop@example.test", "https://shop.example.test")
            out.append((n.stage, str(msg["Subject"]), str(msg.get_content())))
        return out


def test_each_part_is_told_with_its_own_tracking_and_items_and_the_last_says_complete(
    central: Central,
) -> None:
    order_id = place_split_order(central)
    number = _number(central, order_id)
    # S2 ships its part; its till sends no tracking numbers: its boxes' numbers are told.
    first = ship(central, order_id, [box(11, {"C3": "1"})], terminal="S2/T1")
    assert first.status_code == 200, first.text
    t2 = first.json()["shipments"][0]["tracking"]
    assert move(central, order_id, "shipped", [], terminal="S2/T1") == "applied"
    ((stage, subject, body),) = _shipped(central, order_id)
    assert stage == "part-S2-1" and subject == f"Part of your order {number} is on its way"
    assert "1 x Coffee 500g (C3)" in body and f"Tracking: {t2}" in body
    assert "Apple juice" not in body and "rest follows in another shipment" in body
    # S1 ships the rest, in two boxes: the order is shipped, the last notice lists only these two.
    rest = ship(central, order_id, [box(12, {"A1": "2"}), box(13, {"A1": "1"})])
    assert rest.status_code == 200, rest.text
    t1 = [b["tracking"] for b in rest.json()["shipments"]]
    assert move(central, order_id, "shipped", t1) == "applied"
    told = _shipped(central, order_id)
    move(central, order_id, "shipped", t1)  # said again (another event): nothing is told twice
    assert _shipped(central, order_id) == told
    assert [t[0] for t in told] == ["part-S2-1", "shipped"]
    _, subject, body = told[1]
    assert subject == f"Your order {number} is on its way"
    assert "the last part of your order" in body and "Your order is complete" in body
    assert "3 x Apple juice 1l (A1)" in body and "Coffee" not in body
    assert f"Tracking: {', '.join(t1)}" in body and t2 not in body
    with central.sessions() as s:
        page = status_page.render(s, service.find_order(s, order_id))
    assert "Part shipped from" in page and f"(tracking {t2})" in page
    assert "Shipped, order complete" in page and f"(tracking {', '.join(t1)})" in page


def test_an_order_shipped_whole_from_one_store_keeps_its_one_notice(central: Central) -> None:
    with central.sessions.begin() as s:
        stock.receive(s, "S1", [stock.StockLine("A1", Decimal(10)), stock.StockLine("C3", Decimal(10))])
        order = service.place_order(
            s,
            protocol.OrderRequest.model_validate(
                {
                    "store": "S1",
                    "fulfilment": "ship",
                    "lines": [{"sku": "A1", "qty": "1"}, {"sku": "C3", "qty": "1"}],
                    "customer": {"email": "bo@example.test", "address": "2 Oak St"},
                }
            ),
        )
        order_id = str(order.id)
    sent = ship(central, order_id, [box(21, {"A1": "1", "C3": "1"})])
    tracking = sent.json()["shipments"][0]["tracking"]
    assert move(central, order_id, "shipped", [tracking]) == "applied"
    ((stage, subject, body),) = _shipped(central, order_id)
    assert stage == "shipped" and "is on its way" in subject and not subject.startswith("Part")
    assert f"Tracking: {tracking}" in body and "In this shipment" not in body


def _number(central: Central, order_id: str) -> str:
    with central.sessions() as s:
        return service.find_order(s, order_id).number
