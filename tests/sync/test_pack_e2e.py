"""The Pack bench end to end with the real central store on PostgreSQL: a ship order placed at the central reaches the
till's bench, is verified with one wrong scan refused, packed into two boxes and labelled with the tracking numbers
the central's carrier gave (the client's `create_shipments`, as the screen calls it); the central store shows it
shipped with both numbers, its ledger has the stock out of the packing location, and one shipped notice is sent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from app.db.models import Order, PrintJob
from app.services import packing
from sync import protocol
from sync.central import notices, service
from sync.central.models import Notice, WebOrder
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, central_ledger

pytestmark = pytest.mark.postgres

A1_UNIT, C3_UNIT = "4006381333931", "5012345678900"  # tests.sync.fleet.CATALOG_CSV


@pytest.fixture
def hub(pg_url: str) -> Iterator[Hub]:
    _empty_postgres(pg_url)
    h = Hub.start(pg_url)
    yield h
    h.close()


def test_a_ship_order_packed_into_two_boxes_reaches_the_central_shipped(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    till.receive("A1", 10)
    till.sync()
    with hub.sessions.begin() as s:
        placed = service.place_order(
            s,
            protocol.OrderRequest.model_validate(
                {
                    "store": "S1",
                    "fulfilment": "ship",
                    "lines": [{"sku": "A1", "qty": "2"}],
                    "customer": {
                        "name": "Ann Lee",
                        "email": "ann@example.test",
                        "address": "1 Elm St, Springfield",
                    },
                }
            ),
        )
        order_id, number = str(placed.id), placed.number
    till.sync()  # the order reaches the store's bench

    who = till.actor
    with till.factory() as s:
        assert [q.number for q in packing.queue(s)] == [number]
    with till.factory.begin() as s:
        bench = packing.find(s, number)
        assert bench.order.order_id == order_id and bench.left == 2
        packing.start_box(s, who, order_id, "small_box")
    with till.factory.begin() as s:
        packing.scan(s, who, order_id, A1_UNIT)
    with till.factory.begin() as s:
        wrong = packing.scan(s, who, order_id, C3_UNIT)  # not in this order: refused, nothing counted
    assert wrong.refused and wrong.left == 1
    with till.factory.begin() as s:
        packing.start_box(s, who, order_id, "small_box")
    with till.factory.begin() as s:
        done = packing.scan(s, who, order_id, A1_UNIT)
    assert done.order.complete and [b.units for b in done.boxes] == [1, 1]
    for box, kg in zip(done.boxes, ("1.1", "0.9"), strict=True):
        with till.factory.begin() as s:
            packing.set_weight(s, who, order_id, box.id, Decimal(kg))
    with till.factory.begin() as s:
        packed = packing.pack(s, who, order_id)

    # The carrier, through the central store: one tracking number per box.
    boxes = [
        protocol.ShipmentBoxRequest(
            sscc=p.sscc,
            weight=p.weight_kg,
            package_type=p.package_type,
            lines=[protocol.ShipmentLine(sku=sku, qty=qty) for sku, qty in p.lines],
        )
        for p in packed.parcels
    ]
    with till.client() as client:
        answer = client.create_shipments(order_id, boxes)
    shipments = [
        packing.Shipment(a.sscc, a.tracking, a.carrier, a.service, tuple(a.ship_from), tuple(a.ship_to))
        for a in answer
    ]
    tracking = [a.tracking for a in answer]
    assert len(set(tracking)) == 2
    with till.factory.begin() as s:
        shipped = packing.ship(s, who, order_id, shipments)
    assert shipped.tracking == tracking
    till.sync()
    assert till.refused() == [] and till.outbox_pending() == 0

    with till.factory() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "shipped"
        jobs = s.scalars(select(PrintJob.kind).where(PrintJob.cause_id == order_id)).all()
        assert sorted(jobs) == ["label"] * 4 + ["packing_slip"] * 2  # two SSCC labels, two shipping labels
    with hub.sessions() as s:
        central = s.get(WebOrder, placed.id)
        assert central is not None and central.status == "shipped"
        (notice,) = s.scalars(
            select(Notice).where(Notice.order_id == placed.id, Notice.kind == "shipped")
        ).all()
        assert notice.facts["tracking"] == tracking
    assert central_ledger(hub, "S1")[("A1", "floor")] == 8
    report = notices.send_pending(hub.sessions, notices.FolderTransport(tmp_path / "mail"))
    assert report.sent >= 1
    with hub.sessions() as s:
        (notice,) = s.scalars(
            select(Notice).where(Notice.order_id == placed.id, Notice.kind == "shipped")
        ).all()
        assert notice.state == "sent"
    mail = "".join(p.read_text(errors="replace") for p in (tmp_path / "mail").rglob("*") if p.is_file())
    assert all(t in mail for t in tracking)
