"""The Pack bench end to end with the real central store on PostgreSQL: a ship order placed at the central reaches the
till's bench, is verified with one wrong scan refused, packed into two boxes and labelled with the tracking numbers
the central's carrier gave (the client's `create_shipments`, as the screen calls it); the central store shows it
shipped with both numbers, its ledger has the stock out of the packing location, and one shipped notice is sent."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from app.db.models import Order, PrintJob
from app.domain import barcodes
from app.services import packing
from sync import protocol
from sync.central import notices, service
from sync.central.models import Notice, WebOrder
from sync.client import Client
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, central_ledger
from tests.ui.contexts import signed_in
from ui.screens.pack import PackScreen
from ui.screens.pack_dialogs import BoxDialog, WeightDialog

pytestmark = pytest.mark.postgres

A1_UNIT, C3_UNIT = "4006381333931", "5012345678900"  # tests.sync.fleet.CATALOG_CSV


class Host(QWidget):
    """The window a screen stands in (the main window gives the keyboard back to its scan field)."""

    def focus_scan(self) -> None:
        pass


@pytest.fixture
def hub(pg_url: str) -> Iterator[Hub]:
    _empty_postgres(pg_url)
    h = Hub.start(pg_url)
    yield h
    h.close()


def ship_order(hub: Hub, till: Till, qty: str) -> WebOrder:
    """A ship order for `qty` of A1 placed at the central for store S1, and the till synced so it reaches the
    store's bench."""
    with hub.sessions.begin() as s:
        placed = service.place_order(
            s,
            protocol.OrderRequest.model_validate(
                {
                    "store": "S1",
                    "fulfilment": "ship",
                    "lines": [{"sku": "A1", "qty": qty}],
                    "customer": {
                        "name": "Ann Lee",
                        "email": "ann@example.test",
                        "address": "1 Elm St, Springfield",
                    },
                }
            ),
        )
    till.sync()
    return placed


def test_a_ship_order_packed_into_two_boxes_reaches_the_central_shipped(hub: Hub, tmp_path: Path) -> None:
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    till.receive("A1", 10)
    till.sync()
    placed = ship_order(hub, till, "2")  # the order reaches the store's bench
    order_id, number = str(placed.id), placed.number

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


def test_the_bench_screen_ships_through_the_central_and_stays_packed_while_it_is_out_of_reach(
    hub: Hub, tmp_path: Path, qtbot: QtBot
) -> None:
    """The screen's own path: F10 packs, asks the carrier through the sync client off the GUI thread, and ships; with
    the central store out of reach the order stays packed and the bench says so, and F10 later ships it."""
    till = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
    till.sync()
    till.receive("A1", 5)
    till.sync()
    placed = ship_order(hub, till, "1")
    order_id, number = str(placed.id), placed.number
    with signed_in(till.factory, qtbot, "admin", "123456") as ctx:
        offline = Client("http://127.0.0.1:9", till.token, timeout=2)  # nothing listens there
        ctx.services["sync"] = SimpleNamespace(make_client=lambda: offline)
        host = Host()
        screen = PackScreen(ctx, host)
        QVBoxLayout(host).addWidget(screen)
        qtbot.addWidget(host)
        host.show()

        def idle() -> None:
            qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)

        screen.on_order(barcodes.parse(number))
        idle()
        screen.new_box()
        idle()
        assert isinstance(screen.dialog, BoxDialog)
        screen.dialog.submit()
        qtbot.waitUntil(lambda: screen.dialog is None, timeout=10_000)
        screen.on_item(barcodes.parse(C3_UNIT))  # not in the order: the bench stops
        idle()
        qtbot.wait(5)
        assert ctx.messages.error and screen.stopped
        screen.on_item(barcodes.parse(A1_UNIT))  # refused until acknowledged
        idle()
        assert screen.bench is not None and screen.bench.left == 1
        ctx.messages.clear()
        screen.on_item(barcodes.parse(A1_UNIT))
        idle()
        assert screen.bench.left == 0
        screen.weigh()
        qtbot.waitUntil(lambda: isinstance(screen.dialog, WeightDialog), timeout=10_000)
        assert isinstance(screen.dialog, WeightDialog)
        screen.dialog.field.setText("0.8")
        screen.dialog.submit()
        qtbot.waitUntil(lambda: screen.dialog is None, timeout=10_000)
        idle()
        screen.finish()  # packed; the carrier cannot be reached
        qtbot.waitUntil(lambda: not screen.shipping and "stays packed" in ctx.messages.text(), timeout=20_000)
        assert "out of reach" in ctx.messages.text()
        idle()
        with till.factory() as s:
            order = s.get(Order, order_id)
            assert order is not None and order.status == "packed"

        ctx.messages.clear()
        ctx.services["sync"] = SimpleNamespace(make_client=till.client)  # the central store is back
        screen.finish()
        qtbot.waitUntil(lambda: "shipped" in ctx.messages.text(), timeout=20_000)
        idle()
        assert screen.bench is not None and screen.bench.order.status == "shipped"
        tracking = screen.bench.boxes[0].tracking
        assert tracking and tracking in ctx.messages.text()
    till.sync()
    assert till.refused() == []
    with hub.sessions() as s:
        central = s.get(WebOrder, placed.id)
        assert central is not None and central.status == "shipped"
        (notice,) = s.scalars(
            select(Notice).where(Notice.order_id == placed.id, Notice.kind == "shipped")
        ).all()
        assert notice.facts["tracking"] == [tracking]
