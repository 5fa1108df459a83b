"""The Pack bench's service on the demo store: units scanned box by box through the shared verification engine,
refusals that stop the bench and are counted, lot/expiry/serial capture, confirmation by hand only with a second
person's approval, packed and shipped with the stock out and the tracking numbers on the wire, and the figures."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    AuditEntry,
    Barcode,
    Order,
    OrderLine,
    OutboxEvent,
    PackBox,
    PackBoxItem,
    PackFigures,
    PrintJob,
    Product,
    StockMovement,
)
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import packing, settings, staff
from app.services.base import PermissionDenied, UserError
from tests.db.test_sales import actor

Factory = sessionmaker[Session]


def case_product(db: Factory) -> tuple[str, str, str]:
    """A product with a case code (pack of 6): (sku, unit code as scanned, case code as scanned)."""
    with db() as s:
        row = s.execute(
            select(Product.sku, Barcode.code, Product.id)
            .join(Barcode, Barcode.product_id == Product.id)
            .where(Barcode.pack_qty == 6, Product.weighed.is_(False))
            .order_by(Product.sku)
        ).first()
        assert row is not None
        sku, case, pid = row
        unit = s.scalar(select(Barcode.code).where(Barcode.product_id == pid, Barcode.pack_qty == 1))
        assert unit is not None
        return sku, unit[1:], case


def unit_code(db: Factory, sku: str) -> str:
    with db() as s:
        code = s.scalar(select(Barcode.code).join(Product).where(Product.sku == sku, Barcode.pack_qty == 1))
        assert code is not None
        return code[1:]


def in_no_order(db: Factory) -> str:
    with db() as s:
        code = s.scalars(
            select(Barcode.code)
            .join(Product, Product.id == Barcode.product_id)
            .join(OrderLine, OrderLine.product_id == Barcode.product_id, isouter=True)
            .where(OrderLine.id.is_(None), Barcode.pack_qty == 1, Product.weighed.is_(False))
        ).first()
        assert code is not None
        return code[1:]


def ship_order(db: Factory, lines: list[tuple[str, str]], number: str = "W-900001") -> str:
    """A new ship order with (sku, qty) lines, as the central store would have sent it."""
    with db.begin() as s:
        order = Order(
            id=new_id(),
            number=number,
            channel="web",
            fulfilment="ship",
            status="new",
            customer_name="Jordan Byrne",
            external={"ship_to": "1 Main Street, Dublin 2"},
        )
        for n, (sku, qty) in enumerate(lines, start=1):
            p = s.scalar(select(Product).where(Product.sku == sku))
            assert p is not None
            order.lines.append(
                OrderLine(
                    line_no=n,
                    product_id=p.id,
                    sku=sku,
                    name=p.name,
                    qty=Decimal(qty),
                    unit_price=p.price,
                    tax_class=p.tax_class,
                    tax_rate=Decimal(0),
                )
            )
        s.add(order)
        return order.id


def other_sku(db: Factory, not_sku: str) -> str:
    with db() as s:
        sku = s.scalar(
            select(Product.sku)
            .join(Barcode, Barcode.product_id == Product.id)
            .where(Product.sku != not_sku, Product.weighed.is_(False), Barcode.pack_qty == 1)
            .order_by(Product.sku.desc())
        )
        assert sku is not None
        return sku


def call(db: Factory, fn, *args, **kw):  # type: ignore[no-untyped-def]
    with db.begin() as s:
        return fn(s, *args, **kw)


def test_right_wrong_over_case_and_box_scans(db: Factory) -> None:
    packer = actor(db, "packer")
    sku, unit, case = case_product(db)
    second = other_sku(db, sku)
    order_id = ship_order(db, [(sku, "8"), (second, "1")])
    # Another open ship order wants an item this one does not.
    stranger = other_sku(db, second) if other_sku(db, second) != sku else in_no_order(db)
    ship_order(db, [(stranger, "1")], number="W-900002")

    with pytest.raises(UserError, match="Start a box first"):
        call(db, packing.scan, packer, order_id, unit)
    v = call(db, packing.start_box, packer, order_id, "medium_box")
    assert v.box is not None and v.box.box_no == 1 and len(v.box.sscc) == 18 and v.label_job
    v = call(db, packing.scan, packer, order_id, case)  # a case counts its six
    assert not v.refused and v.order.lines[0].scanned == 6 and v.left == 3
    for _ in range(2):
        v = call(db, packing.scan, packer, order_id, unit)
    assert v.order.lines[0].done and v.order.verdict == "line_done"
    v = call(db, packing.scan, packer, order_id, unit)  # one too many
    assert v.refused and "already scanned" in v.message and v.order.lines[0].scanned == 8
    v = call(db, packing.scan, packer, order_id, in_no_order(db))  # wrong item
    assert v.refused and "not in this order" in v.message
    v = call(db, packing.scan, packer, order_id, unit_code(db, stranger))  # another order's item
    assert v.refused and "belongs to order W-900002" in v.message
    # A second box takes the rest.
    v = call(db, packing.start_box, packer, order_id, "small_box")
    v = call(db, packing.scan, packer, order_id, unit_code(db, second))
    assert v.order.complete and v.left == 0
    assert [(b.box_no, [(i.sku, i.qty) for i in b.items]) for b in v.boxes] == [
        (1, [(sku, 8)]),  # the case and the two units, one manifest line
        (2, [(second, 1)]),
    ]
    with db() as s:
        fig = s.get(PackFigures, order_id)
        assert fig is not None and (fig.scans, fig.errors, fig.approvals) == (7, 3, 0)
        # Refusals wrote nothing into the boxes.
        assert s.scalar(select(PackBoxItem.qty).where(PackBoxItem.sku == stranger)) is None


def test_a_pre_printed_sscc_starts_a_box_and_a_bad_one_is_refused(db: Factory) -> None:
    packer = actor(db, "packer")
    sku, unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "2")])
    v = call(db, packing.start_box, packer, order_id, "large_box", "106141411234567897")
    assert v.box is not None and v.box.sscc == "106141411234567897" and v.label_job is None
    with pytest.raises(UserError, match="still empty"):
        call(db, packing.start_box, packer, order_id, "small_box")
    call(db, packing.scan, packer, order_id, unit)
    with pytest.raises(UserError, match="does not check"):
        call(db, packing.start_box, packer, order_id, "small_box", "106141411234567890")
    with pytest.raises(UserError, match="already on another box"):
        call(db, packing.start_box, packer, order_id, "small_box", "106141411234567897")


def test_lot_and_expiry_come_from_the_gs1_scan_or_are_asked_for(db: Factory) -> None:
    packer = actor(db, "packer")
    sku, unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "3")])
    with db.begin() as s:
        settings.put(s, "pack.capture", {sku: ["lot", "expiry"]})
    call(db, packing.start_box, packer, order_id, "small_box")
    v = call(db, packing.scan, packer, order_id, unit)  # a plain GTIN carries neither
    assert v.needs == ("lot", "expiry") and v.order.lines[0].scanned == 0 and not v.refused
    gtin14 = "0" + unit
    later = date.today() + timedelta(days=400)
    gs1 = f"(01){gtin14}(17){later:%y%m%d}(10)LOT42"
    v = call(db, packing.scan, packer, order_id, gs1)
    assert not v.refused and v.order.lines[0].scanned == 1
    v = call(db, packing.scan, packer, order_id, unit, packing.Capture("LOT7", date(2031, 5, 1)))
    assert v.order.lines[0].scanned == 2
    expired = f"(01){gtin14}(17){date.today() - timedelta(days=1):%y%m%d}(10)OLD1"
    v = call(db, packing.scan, packer, order_id, expired)
    assert v.refused and "expired" in v.message and v.order.lines[0].scanned == 2
    assert [(i.lot, i.expiry) for i in v.boxes[0].items] == [
        ("LOT42", date(later.year, later.month, later.day)),
        ("LOT7", date(2031, 5, 1)),
    ]


def test_a_serial_number_is_packed_once(db: Factory) -> None:
    packer = actor(db, "packer")
    sku, unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "2")])
    with db.begin() as s:
        settings.put(s, "pack.capture", {sku: ["serial"]})
    call(db, packing.start_box, packer, order_id, "small_box")
    v = call(db, packing.scan, packer, order_id, f"(01)0{unit}(21)SN001")
    assert v.order.lines[0].scanned == 1 and v.boxes[0].items[0].serial == "SN001"
    v = call(db, packing.scan, packer, order_id, f"(01)0{unit}(21)SN001")
    assert v.refused and "same unit again" in v.message and v.order.lines[0].scanned == 1


def test_by_hand_only_with_a_second_persons_approval_and_a_reason(db: Factory) -> None:
    packer = actor(db, "packer")
    manager = actor(db, "manager")
    sku, _unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "2")])
    call(db, packing.start_box, packer, order_id, "small_box")
    with db() as s:
        line_id = s.scalars(select(OrderLine.id).where(OrderLine.order_id == order_id)).one()
    with pytest.raises(UserError, match="Say why"):
        call(db, packing.confirm_by_hand, packer, order_id, line_id, " ")
    with pytest.raises(PermissionDenied) as denied:
        call(db, packing.confirm_by_hand, packer, order_id, line_id, "label torn")
    assert denied.value.permission == Permission.PACK_BY_HAND
    # A colleague without the permission may not approve; a manager packing needs a second person too.
    with pytest.raises(UserError, match="may not approve"), db.begin() as s:
        staff.approve(s, packer.user_id, Permission.PACK_BY_HAND, badge="BADGE-0002")
    with pytest.raises(PermissionDenied):
        call(db, packing.confirm_by_hand, manager, order_id, line_id, "label torn")
    with db.begin() as s:
        approval = staff.approve(s, packer.user_id, Permission.PACK_BY_HAND, badge="BADGE-0005")
    approved = packer.with_approval(approval)
    v = call(db, packing.confirm_by_hand, approved, order_id, line_id, "label torn")
    assert v.order.lines[0].scanned == 1
    item = v.boxes[0].items[0]
    assert item.by_hand and item.qty == 1
    with pytest.raises(PermissionDenied):  # one approval, one unit
        call(db, packing.confirm_by_hand, approved, order_id, line_id, "label torn")
    with db() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "pack.by_hand")).one()
        assert entry.details["reason"] == "label torn" and entry.details["approval"] == approval
        row = s.scalars(select(PackBoxItem)).one()
        assert row.approval_id == approval and row.reason == "label torn"
        assert s.get(PackFigures, order_id).approvals == 1  # type: ignore[union-attr]


def test_packed_then_shipped_with_tracking_and_stock_out(db: Factory) -> None:
    packer = actor(db, "packer")
    sku, unit, _case = case_product(db)
    second = other_sku(db, sku)
    order_id = ship_order(db, [(sku, "1"), (second, "1")])
    a = call(db, packing.start_box, packer, order_id, "small_box")
    call(db, packing.scan, packer, order_id, unit)
    with pytest.raises(UserError, match="still to scan"):
        call(db, packing.pack, packer, order_id)
    call(db, packing.start_box, packer, order_id, "small_box")
    v = call(db, packing.scan, packer, order_id, unit_code(db, second))
    with pytest.raises(UserError, match="Weigh box 1"):
        call(db, packing.pack, packer, order_id)
    assert a.box is not None
    for box, kg in zip(v.boxes, ("1.2", "0.75"), strict=True):
        call(db, packing.set_weight, packer, order_id, box.id, Decimal(kg))
    with pytest.raises(UserError, match="at most"):
        call(db, packing.set_weight, packer, order_id, v.boxes[0].id, Decimal("500"))
    shipments = [packing.Shipment(b.sscc, f"TRK{b.box_no}", "Local", "Standard") for b in v.boxes]
    with pytest.raises(UserError, match="pack it first"):
        call(db, packing.ship, packer, order_id, shipments)
    packed = call(db, packing.pack, packer, order_id)
    assert [p.weight_kg for p in packed.parcels] == [Decimal("1.200"), Decimal("0.750")]
    assert [p.lines for p in packed.parcels] == [[(sku, 1)], [(second, 1)]]
    with pytest.raises(UserError, match="1 of 2 boxes"):
        call(db, packing.ship, packer, order_id, shipments[:1])
    shipped = call(db, packing.ship, packer, order_id, shipments[::-1])
    assert shipped.tracking == ["TRK1", "TRK2"] and len(shipped.jobs) == 4
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "shipped"
        events = [
            e.payload
            for e in s.scalars(
                select(OutboxEvent).where(OutboxEvent.type == "order.status").order_by(OutboxEvent.seq)
            )
            if e.payload["order_id"] == order_id
        ]
        assert [(e["from"], e["to"]) for e in events] == [
            ("new", "picking"),
            ("picking", "packed"),
            ("packed", "shipped"),
        ]
        assert events[-1]["tracking"] == ["TRK1", "TRK2"]
        assert sorted(
            (m["sku"], m["location"], Decimal(m["qty"])) for m in events[-1]["movements"]
        ) == sorted([(sku, "floor", -1), (second, "floor", -1)])
        moved = s.scalars(select(StockMovement).where(StockMovement.cause_id == order_id)).all()
        assert len(moved) == 2 and all(m.kind == "fulfilment" for m in moved)
        assert [b.tracking for b in s.scalars(select(PackBox).order_by(PackBox.box_no))] == ["TRK1", "TRK2"]
        kinds = sorted(j.kind for j in s.scalars(select(PrintJob).where(PrintJob.cause_id == order_id)))
        assert kinds == ["label", "label", "label", "label", "packing_slip", "packing_slip"]
    with pytest.raises(UserError, match="shipped"):
        call(db, packing.scan, packer, order_id, unit)
    with db() as s:
        fig = packing.figures(s)
    assert fig.orders == 1 and fig.scans == 2 and fig.errors == 0 and fig.seconds_per_order is not None


def test_the_queue_and_the_order_scan(db: Factory) -> None:
    with db() as s:
        waiting = packing.queue(s)
        assert waiting and all(s.get(Order, q.order_id).fulfilment == "ship" for q in waiting)  # type: ignore[union-attr]
        first = packing.next_in_queue(s)
        assert first.order.order_id == waiting[0].order_id
        found = packing.find(s, waiting[-1].number)
        assert found.order.number == waiting[-1].number
        with pytest.raises(UserError, match="Pickup"):
            packing.find(s, "W-100201")  # a pickup order
        with pytest.raises(UserError, match="No web order"):
            packing.find(s, "W-999999")
