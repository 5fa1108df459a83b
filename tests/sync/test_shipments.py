"""Shipments at the central store (POST /v1/orders/{id}/shipments, sync.central.shipments and .carriers), on SQLite
and PostgreSQL: two boxes get two tracking numbers, the same box twice is one shipment, hostile bodies are refused
with 4xx, another store's order is refused, and the shipped status sends one notice listing both numbers."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import func, select
from uuid6 import uuid7

from sync import protocol
from sync.central import carriers, notices, service, stock
from sync.central.carriers import CarrierError, CarrierShipment, ShipmentBox, ShipmentOrder
from sync.central.models import Notice, OrderAccess, Shipment, StockLevel, Store, utcnow
from sync.client import Client, Refused
from tests.sync.fleet import place_split_order

if TYPE_CHECKING:
    from conftest import Central


def sscc(serial: int) -> str:
    body = f"0061414{serial:010d}"
    digits = [int(d) for d in reversed(body)]
    check = (10 - sum(d * (3 if i % 2 == 0 else 1) for i, d in enumerate(digits)) % 10) % 10
    return body + str(check)


def place(central: Central, fulfilment: str = "ship", store: str = "S1", qty: str = "3") -> str:
    request = protocol.OrderRequest.model_validate(
        {
            "store": store,
            "fulfilment": fulfilment,
            "lines": [{"sku": "A1", "qty": qty}, {"sku": "C3", "qty": "1"}],
            "customer": {"name": "Ann Lee", "email": "ann@example.test", "address": "1 Elm St, Springfield"},
        }
    )
    with central.sessions.begin() as s:
        stock.receive(s, store, [stock.StockLine("A1", Decimal(200)), stock.StockLine("C3", Decimal(20))])
        return str(service.place_order(s, request).id)


def box(serial: int, lines: dict[str, str], weight: str = "1.250") -> dict[str, Any]:
    return {
        "sscc": sscc(serial),
        "weight": weight,
        "package_type": "box",
        "lines": [{"sku": k, "qty": v} for k, v in lines.items()],
    }


def ship(central: Central, order_id: str, boxes: list[dict[str, Any]], terminal: str = "S1/T1") -> Any:
    return central.client.post(
        f"/v1/orders/{order_id}/shipments", json={"boxes": boxes}, headers=central.auth(terminal)
    )


def move(central: Central, order_id: str, to: str, tracking: list[str], terminal: str = "S1/T1") -> str:
    payload = {"order_id": order_id, "from": "", "to": to, "by": "T1", "tracking": tracking}
    ev = {
        "id": str(uuid7()),
        "type": protocol.ORDER_STATUS,
        "occurred_at": utcnow().isoformat(),
        "payload": payload,
    }
    status: str = central.push([ev], terminal)[0]["status"]
    return status


def count_shipments(central: Central) -> int:
    with central.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Shipment)) or 0)


def test_two_boxes_two_tracking_numbers_and_one_shipped_notice(central: Central) -> None:
    order_id = place(central)
    answer = ship(central, order_id, [box(1, {"A1": "2"}), box(2, {"A1": "1", "C3": "1"}, "0.5")])
    assert answer.status_code == 200, answer.text
    shipped = answer.json()["shipments"]
    tracking = [s["tracking"] for s in shipped]
    assert len(set(tracking)) == 2 and all(carriers.local_tracking_ok(t) for t in tracking)
    assert [s["sscc"] for s in shipped] == [sscc(1), sscc(2)] and all(s["created"] for s in shipped)
    assert shipped[0]["ship_to"] == ["Ann Lee", "1 Elm St", "Springfield"]
    assert shipped[0]["ship_from"] == ["High Street"] and shipped[0]["service"] == "Standard"
    assert Decimal(shipped[1]["weight"]) == Decimal("0.5")
    # The till moves the order to shipped with the numbers: one notice, listing both.
    assert move(central, order_id, "packed", []) == "applied"
    assert move(central, order_id, "shipped", tracking) == "applied"
    assert move(central, order_id, "shipped", tracking) in ("applied", "duplicate")  # a repeat sends nothing
    with central.sessions() as s:
        (notice,) = s.scalars(select(Notice).where(Notice.kind == "shipped")).all()
        assert notice.facts["tracking"] == tracking
        body = notices.build_message(notice, "shop@example.test").get_content()
    assert all(t in body for t in tracking)
    # Shipped: a new box is refused, the boxes already sent still answer the same.
    assert ship(central, order_id, [box(3, {"C3": "1"})]).status_code == 409
    again = ship(central, order_id, [box(2, {"A1": "1", "C3": "1"}, "0.5")])
    assert again.status_code == 200 and again.json()["shipments"][0]["tracking"] == tracking[1]


def test_the_same_box_twice_is_one_shipment(central: Central) -> None:
    order_id = place(central)
    first = ship(central, order_id, [box(7, {"A1": "1"})]).json()["shipments"][0]
    second = ship(central, order_id, [box(7, {"A1": "1"}), box(8, {"A1": "2"})])
    assert second.status_code == 200, second.text
    repeat, new = second.json()["shipments"]
    assert repeat["tracking"] == first["tracking"] and repeat["created"] is False and new["created"] is True
    assert new["tracking"] != first["tracking"] and count_shipments(central) == 2
    # The tracking numbers reach the customer's record even before the shipped status comes.
    with central.sessions() as s:
        access = s.get(OrderAccess, uuid.UUID(order_id))
        assert access is not None and access.tracking == [first["tracking"], new["tracking"]]
    # The same SSCC with other contents, or for another order, is not that box: refused.
    assert ship(central, order_id, [box(7, {"A1": "1"}, "2.0")]).status_code == 409
    other = place(central)
    assert ship(central, other, [box(7, {"A1": "1"})]).status_code == 409
    assert count_shipments(central) == 2


def test_contents_are_checked_against_the_order(central: Central) -> None:
    order_id = place(central)
    too_many = ship(central, order_id, [box(1, {"A1": "2"}), box(2, {"A1": "2"})])
    assert too_many.status_code == 422 and "A1" in too_many.json()["detail"]
    assert ship(central, order_id, [box(1, {"B2": "1"})]).status_code == 422  # not in the order
    assert count_shipments(central) == 0  # nothing of a refused request is kept
    assert ship(central, order_id, [box(1, {"A1": "3"})]).status_code == 200
    assert ship(central, order_id, [box(2, {"A1": "1"})]).status_code == 422  # all 3 are shipped already


def test_refused_for_another_store_a_pickup_order_or_no_order(central: Central) -> None:
    order_id = place(central)
    assert ship(central, order_id, [box(1, {"A1": "1"})], terminal="S2/T1").status_code == 404
    pickup = place(central, fulfilment="pickup")
    refused = ship(central, pickup, [box(2, {"A1": "1"})])
    assert refused.status_code == 409 and "pickup" in refused.json()["detail"]
    assert ship(central, str(uuid.uuid4()), [box(3, {"A1": "1"})]).status_code == 404
    unauthenticated = central.client.post(
        f"/v1/orders/{order_id}/shipments", json={"boxes": [box(4, {"A1": "1"})]}
    )
    assert unauthenticated.status_code == 401
    assert count_shipments(central) == 0


HOSTILE_BOXES: list[Any] = [
    [],  # no box
    [{**box(1, {"A1": "1"}), "sscc": sscc(1)[:-1] + str((int(sscc(1)[-1]) + 1) % 10)}],  # wrong check digit
    [{**box(1, {"A1": "1"}), "sscc": "0061414000000001"}],  # too short
    [{**box(1, {"A1": "1"}), "sscc": "００６１４１４０００００００００１"}],  # full-width digits
    [{**box(1, {"A1": "1"}), "sscc": int(sscc(1))}],  # a number, not a string
    [{**box(1, {"A1": "1"}), "weight": 1.25}],  # a float
    [{**box(1, {"A1": "1"}), "weight": "0"}],
    [{**box(1, {"A1": "1"}), "weight": "1001"}],
    [{**box(1, {"A1": "1"}), "weight": "1.2345"}],
    [{**box(1, {"A1": "1"}), "package_type": "Box; DROP TABLE"}],
    [{**box(1, {"A1": "1"}), "lines": []}],
    [box(1, {"A1": "-1"})],
    [box(1, {"A1": "NaN"})],
    [box(1, {"A1\x00": "1"})],
    [{**box(1, {"A1": "1"}), "extra": True}],  # an unknown field
    [box(1, {"A1": "1"}), box(1, {"A1": "1"})],  # the same box twice in one request
    [{**box(1, {}), "lines": [{"sku": "A1", "qty": "1"}, {"sku": "A1", "qty": "1"}]}],
    [box(n, {"A1": "1"}) for n in range(1, protocol.MAX_BOXES + 2)],  # too many boxes
]


def test_hostile_bodies_are_refused_with_4xx(central: Central) -> None:
    order_id = place(central, qty="100")
    for n, boxes in enumerate(HOSTILE_BOXES):
        answer = ship(central, order_id, boxes)
        assert 400 <= answer.status_code < 500, (n, answer.text)
    assert count_shipments(central) == 0


def test_hostile_raw_bodies_and_order_ids(central: Central) -> None:
    order_id = place(central)
    headers = {**central.auth(), "Content-Type": "application/json"}
    for raw in (b"", b"null", b"[]", b'{"boxes": "x"}', b"\xff\xfe", b'{"boxes": [' + b"[" * 5000):
        answer = central.client.post(f"/v1/orders/{order_id}/shipments", content=raw, headers=headers)
        assert 400 <= answer.status_code < 500, (raw[:20], answer.status_code)
    for ident in ("x" * 500, "%00", "W-1%27%20OR%201=1"):
        assert 400 <= ship(central, ident, [box(1, {"A1": "1"})]).status_code < 500
    assert count_shipments(central) == 0


class _FakeCarrier:
    """A plug-in carrier: answers with its own numbers, or refuses heavy boxes."""

    name = "Fake Express"

    def create_shipment(self, order: ShipmentOrder, box: ShipmentBox) -> CarrierShipment:
        if box.weight_kg > 5:
            raise CarrierError("Fake Express takes up to 5 kg")
        return CarrierShipment(self.name, f"FX{order.store_code}{box.serial:06d}", "Overnight", ("ZONE 7",))


def test_a_plug_in_carrier_by_name_and_its_refusal(central: Central, monkeypatch: pytest.MonkeyPatch) -> None:
    carriers.register("fake", _FakeCarrier)
    monkeypatch.setenv(carriers.CARRIER_ENV, "fake")
    central.client.app.state.carrier = carriers.from_settings()  # type: ignore[attr-defined]
    order_id = place(central)
    shipped = ship(central, order_id, [box(1, {"A1": "1"})]).json()["shipments"][0]
    assert shipped["tracking"] == "FXS1000001" and shipped["service"] == "Overnight"
    assert shipped["label_lines"] == ["ZONE 7"] and shipped["carrier"] == "Fake Express"
    heavy = ship(central, order_id, [box(2, {"A1": "1"}, "9")])
    assert heavy.status_code == 422 and "5 kg" in heavy.json()["detail"]
    # A dotted path names a carrier too; a name nothing answers to is a clear error.
    assert isinstance(carriers.get("sync.central.carriers:LocalCarrier"), carriers.LocalCarrier)
    with pytest.raises(CarrierError, match="no carrier"):
        carriers.get("nobody")
    with pytest.raises(CarrierError, match="not a carrier"):
        carriers.get("decimal:Decimal")


def test_local_tracking_numbers() -> None:
    numbers = {carriers.local_tracking(store, serial) for store in (1, 2, 9999) for serial in range(1, 200)}
    assert len(numbers) == 3 * 199 and all(carriers.local_tracking_ok(n) for n in numbers)
    assert all(len(n) <= carriers.MAX_TRACKING for n in numbers)
    good = carriers.local_tracking(1, 1)
    for i in range(2, len(good)):  # any one digit mistyped shows
        wrong = good[:i] + str((int(good[i]) + 1) % 10) + good[i + 1 :]
        assert not carriers.local_tracking_ok(wrong)


def test_client_create_shipments(central: Central) -> None:
    order_id = place(central)
    boxes = [protocol.ShipmentBoxRequest.model_validate(box(n, {"A1": "1"})) for n in (1, 2)]
    transport = central.client._transport
    with Client("http://127.0.0.1", central.tokens["S1/T1"], transport=transport) as till:
        first = till.create_shipments(order_id, boxes)
        again = till.create_shipments(uuid.UUID(order_id), boxes)  # a retry after a lost answer
    assert [s.tracking for s in first] == [s.tracking for s in again] and len(
        {s.tracking for s in first}
    ) == 2
    assert [s.created for s in again] == [False, False]
    with Client("http://127.0.0.1", central.tokens["S2/T1"], transport=transport) as other:
        with pytest.raises(Refused) as refused:
            other.create_shipments(order_id, boxes)
    assert refused.value.status == 404


def test_tills_shipping_at_once_get_distinct_numbers_and_one_shipment_per_box(central: Central) -> None:
    order_id = place(central, qty="100")
    requests = [[box(n % 3, {"A1": "1"})] for n in range(9)]  # three boxes, each sent by three tills at once
    answers: list[Any] = [None] * len(requests)

    def send(i: int) -> None:
        answers[i] = ship(central, order_id, requests[i], terminal=("S1/T1", "S1/T2")[i % 2])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert all(a is not None and a.status_code == 200 for a in answers), [a and a.text for a in answers]
    by_box: dict[str, set[str]] = {}
    for answer in answers:
        (shipped,) = answer.json()["shipments"]
        by_box.setdefault(shipped["sscc"], set()).add(shipped["tracking"])
    assert len(by_box) == 3 and all(len(numbers) == 1 for numbers in by_box.values())
    assert len({next(iter(n)) for n in by_box.values()}) == 3 and count_shipments(central) == 3


def test_a_split_order_ships_in_parts_each_releasing_only_its_own_reservation(central: Central) -> None:
    order_id = place_split_order(central)

    def reserved() -> dict[str, str]:
        with central.sessions() as s:
            levels = s.scalars(select(StockLevel).where(StockLevel.reserved != 0)).all()
            return {f"{s.get_one(Store, lv.store_id).code}": f"{lv.reserved:.0f}" for lv in levels}

    def state() -> tuple[str, list[str], int]:
        with central.sessions() as s:
            o = service.find_order(s, order_id)
            shipped = s.scalar(select(func.count()).select_from(Notice).where(Notice.kind == "shipped"))
            return o.status, [ln.state for ln in o.lines], int(shipped or 0)

    # The other store holding a line sends its own part: its box, then "shipped" for its lines alone.
    part = ship(central, order_id, [box(1, {"C3": "1"})], terminal="S2/T1")
    assert part.status_code == 200, part.text
    assert part.json()["shipments"][0]["ship_from"] == ["Station"]
    assert ship(central, order_id, [box(2, {"A1": "1"})], terminal="S2/T1").status_code == 422  # not its line
    t2 = part.json()["shipments"][0]["tracking"]
    assert move(central, order_id, "shipped", [t2], terminal="S2/T1") == "applied"
    assert reserved() == {"S1": "3"}  # only S2's reservation left
    assert state() == ("new", ["reserved", "shipped"], 1)  # not shipped until every part is: this part told
    assert move(central, order_id, "shipped", [t2], terminal="S2/T1") == "rejected"  # its part left already
    s1_feed = [c for c in central.pull_all(terminal="S1/T1")[0] if c["type"] == "order"]
    assert [ln["state"] for ln in s1_feed[-1]["payload"]["lines"]] == ["reserved", "shipped"]
    assert state()[2] == 1  # the part refused again wrote no second notice
    # The order's own store sends the rest: now the order is shipped, its last part told as complete.
    rest = ship(central, order_id, [box(3, {"A1": "3"})])
    assert rest.status_code == 200, rest.text
    t1 = rest.json()["shipments"][0]["tracking"]
    assert move(central, order_id, "shipped", [t1]) == "applied"
    assert reserved() == {}
    assert state() == ("shipped", ["shipped", "shipped"], 2)
    with central.sessions() as s:
        first, last = s.scalars(select(Notice).where(Notice.kind == "shipped").order_by(Notice.id)).all()
        assert (first.stage, first.facts["tracking"], first.facts["complete"]) == ("part-S2-1", [t2], False)
        assert [(i["sku"], i["qty"]) for i in first.facts["items"]] == [("C3", "1")]
        assert (last.stage, last.facts["tracking"], last.facts["complete"]) == ("shipped", [t1], True)
        assert [(i["sku"], i["qty"]) for i in last.facts["items"]] == [("A1", "3")]
        assert sorted(last.facts["all_tracking"]) == sorted([t1, t2])
    s2_feed = [c for c in central.pull_all(terminal="S2/T1")[0] if c["type"] == "order"]
    assert s2_feed[-1]["payload"]["status"] == "shipped"  # every store of the order hears it


def test_a_split_order_cancelled_after_one_part_left_refunds_only_the_rest(central: Central) -> None:
    order_id = place_split_order(central, customer=None)
    assert move(central, order_id, "shipped", [], terminal="S2/T1") == "applied"  # C3 (6.40) left from S2
    with central.sessions.begin() as s:
        service.cancel_order(s, order_id)
    with central.sessions() as s:
        order = service.find_order(s, order_id)
        assert order.status == "cancelled" and [ln.state for ln in order.lines] == ["reserved", "shipped"]
        assert order.refund_due == Decimal("7.50")  # 3 x A1 at 2.50: what never left
        assert s.scalar(select(func.sum(StockLevel.reserved))) == 0  # S1's reservation released, S2's was
