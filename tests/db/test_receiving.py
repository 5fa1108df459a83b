"""Receiving at the back door, on the demo store: an expected delivery (from the central store's feed, through the real
applier) received by scan: the right quantities, an over-receipt and an unexpected item refused until taken in and
kept as differences, a sealed case received whole by its SSCC; closing posts the receipts into the chosen location
and sends one event; a transfer out takes goods out and sends one event."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Barcode, Delivery, OutboxEvent, Product, StockMovement
from app.domain.barcodes import gtin_check_digit
from app.services import receiving, stock
from app.services.base import PermissionDenied, UserError
from sync import protocol, replica
from tests.db.test_sales import actor

Factory = sessionmaker[Session]
DELIVERY_ID = "01900000-0000-7000-8000-000000000001"


def sscc(serial: int) -> str:
    body = f"0400638{serial:010d}"
    return body + str(gtin_check_digit(body))


def goods(db: Factory, n: int) -> list[tuple[str, str, str]]:
    """`n` piece-sold products as (sku, name, EAN-13 as scanned)."""
    with db() as s:
        rows = s.execute(
            select(Product.sku, Product.name, Barcode.code)
            .join(Barcode, Barcode.product_id == Product.id)
            .where(Product.weighed.is_(False), Barcode.pack_qty == 1, Barcode.code.like("0%"))
            .order_by(Product.sku)
            .limit(n)
        ).all()
    assert len(rows) == n
    return [(sku, name, code[1:]) for sku, name, code in rows]


def expect(
    db: Factory, lines: list[dict[str, object]], number: str = "PO-1001", key: str = DELIVERY_ID
) -> None:
    """The central store's `delivery` change, applied as a pull would."""
    with db.begin() as s:
        at = replica.cursor(s)
        change = protocol.Change(
            seq=at + 1,
            type=protocol.CHANGE_DELIVERY,
            key=key,
            payload={
                "id": key,
                "number": number,
                "kind": "purchase",
                "source": "Acme",
                "status": "expected",
                "lines": lines,
            },
        )
        replica.apply_page(s, at, protocol.PullResponse(changes=[change], next_cursor=at + 1, more=False))


def test_right_over_unexpected_and_a_sealed_case(db: Factory) -> None:
    (a, a_name, a_code), (b, _, b_code), (c, _, c_code), (x, x_name, x_code) = goods(db, 4)
    case = sscc(42)
    expect(
        db,
        [
            {"line_no": 1, "sku": a, "qty": "2.000", "sscc": None},
            {"line_no": 2, "sku": b, "qty": "1.000", "sscc": None},
            {"line_no": 3, "sku": c, "qty": "6.000", "sscc": case},
        ],
    )
    who = actor(db, "manager")
    with db() as s:
        assert [d.number for d in receiving.expected(s)] == ["PO-1001"]
        delivery_id = receiving.find_delivery(s, "PO-1001")

    def scan(code: str) -> receiving.ReceiveView:
        with db.begin() as s:
            return receiving.scan(s, who, delivery_id, code)

    # Right: A twice.
    assert scan(a_code).verdict == "counted"
    assert scan(a_code).verdict == "line_done"
    # Over: a third A is refused, nothing counted, until taken in.
    over = scan(a_code)
    assert over.verdict == "too_many" and over.refused == receiving.Refused(a, a_name, Decimal(1), "too_many")
    assert [ln.received for ln in over.lines] == [2, 0, 0]
    # Unexpected: X is not in the delivery.
    stray = scan(x_code)
    assert stray.verdict == "not_in_order" and stray.refused is not None and stray.refused.sku == x
    with db.begin() as s:
        receiving.take_in(s, who, delivery_id, a, Decimal(1))
        view = receiving.take_in(s, who, delivery_id, x, Decimal(1), "in the same cage")
    assert view.verdict == "unexpected" and [ln.received for ln in view.lines] == [3, 0, 0, 1]
    # The sealed case: its whole content at once, and never twice.
    whole = scan(case)
    assert whole.verdict == "case" and [ln.received for ln in whole.lines] == [3, 0, 6, 1]
    assert scan(case).verdict == "case_again"
    assert scan(sscc(43)).verdict == "case_unknown"
    # B never came: closing with a short line needs a word.
    with pytest.raises(UserError, match="short"), db.begin() as s:
        receiving.close(s, who, delivery_id, "backroom")
    with db.begin() as s:
        closed = receiving.close(s, who, delivery_id, "backroom", "B not delivered")
    assert closed.received == 10
    assert {(d["sku"], d["kind"]) for d in closed.discrepancies} == {
        (a, "over"),
        (b, "short"),
        (x, "unexpected"),
    }
    with db() as s:
        back = stock.location(s, "backroom")
        moves = s.scalars(select(StockMovement).where(StockMovement.cause_type == "delivery")).all()
        assert sorted(m.qty for m in moves) == [1, 3, 6] and {m.location_id for m in moves} == {back.id}
        assert {m.kind for m in moves} == {"receipt"}
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "delivery.received")).all()
        assert len(events) == 1
        payload = protocol.DeliveryReceived.model_validate(events[0].payload)
        assert payload.location == "backroom" and len(payload.movements) == 3
        assert {ln.sku: ln.received for ln in payload.lines} == {a: 3, b: 0, c: 6, x: 1}
        assert s.get(Delivery, delivery_id).status == "received"  # type: ignore[union-attr]
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "delivery.take_in")).all()
    with pytest.raises(UserError, match="already received"), db.begin() as s:
        receiving.scan(s, who, delivery_id, a_code)


def test_closing_needs_something_received_and_the_right_role(db: Factory) -> None:
    (a, _, a_code), *_ = goods(db, 1)
    expect(db, [{"line_no": 1, "sku": a, "qty": "1.000"}])
    with pytest.raises(UserError, match="Nothing of delivery"), db.begin() as s:
        receiving.close(s, actor(db, "manager"), DELIVERY_ID, "floor")
    cashier = actor(db, "cashier")
    with db.begin() as s:
        assert receiving.scan(s, cashier, DELIVERY_ID, a_code).verdict == "order_done"
    with pytest.raises(PermissionDenied), db.begin() as s:
        receiving.close(s, cashier, DELIVERY_ID, "floor")
    with db.begin() as s:
        closed = receiving.close(s, actor(db, "manager"), DELIVERY_ID, "floor")
    assert closed.discrepancies == [] and closed.location == "floor"


def test_a_transfer_out_takes_goods_out_and_sends_one_event(db: Factory) -> None:
    (a, _, a_code), (b, _, b_code) = goods(db, 2)
    who = actor(db, "manager")
    with db() as s:
        picked = [receiving.pick(s, a_code), receiving.pick(s, a_code), receiving.pick(s, b_code)]
        floor = stock.location(s, "floor")
        before = {p.sku: stock.on_hand(s, p.product_id, floor.id) for p in picked}
        own = receiving.here(s).store_code
    with pytest.raises(UserError, match="already in this store"), db.begin() as s:
        receiving.transfer_out(s, who, own, [(p.product_id, p.qty) for p in picked])
    with db.begin() as s:
        sent = receiving.transfer_out(s, who, "s2", [(p.product_id, p.qty) for p in picked])
    assert sent.to_store == "S2" and sent.units == 3 and sent.number.startswith("TR-")
    with db() as s:
        after = {p.sku: stock.on_hand(s, p.product_id, floor.id) for p in picked}
        assert {k: before[k] - after[k] for k in before} == {a: 2, b: 1}
        event = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "transfer.sent")).one()
        payload = protocol.TransferSent.model_validate(event.payload)
        assert payload.to_store == "S2" and sorted(m.qty for m in payload.movements) == [-2, -1]


def test_a_weighed_item_is_received_by_the_weight_on_its_scale_label(db: Factory) -> None:
    from app import demo

    with db() as s:
        produce = s.scalars(
            select(Product).where(Product.weighed.is_(True), Product.item_ref.is_not(None))
        ).first()
        assert produce is not None
        sku, price = produce.sku, produce.price
        label = demo.demo_scale_label(s, sku, (price * Decimal("1.25")).quantize(Decimal("0.01")))
    expect(db, [{"line_no": 1, "sku": sku, "qty": "2.000"}])
    who = actor(db, "manager")
    with pytest.raises(UserError, match="is weighed: scan its scale label"), db.begin() as s:
        receiving.scan(s, who, DELIVERY_ID, sku)
    with db.begin() as s:
        view = receiving.scan(s, who, DELIVERY_ID, label)
    assert view.verdict == "counted" and Decimal("1.2") <= view.lines[0].received <= Decimal("1.3")


def test_a_delivery_received_at_another_till_leaves_this_ones_list(db: Factory) -> None:
    (a, _, a_code), *_ = goods(db, 1)
    expect(db, [{"line_no": 1, "sku": a, "qty": "2.000"}])
    who = actor(db, "manager")
    with db.begin() as s:
        receiving.scan(s, who, DELIVERY_ID, a_code)
    with db.begin() as s:  # the central store says the store received it (the other till's report)
        at = replica.cursor(s)
        change = protocol.Change(
            seq=at + 1,
            type=protocol.CHANGE_DELIVERY,
            key=DELIVERY_ID,
            payload={"id": DELIVERY_ID, "number": "PO-1001", "status": "received", "lines": []},
        )
        replica.apply_page(s, at, protocol.PullResponse(changes=[change], next_cursor=at + 1, more=False))
    with db() as s:
        assert receiving.expected(s) == []
    with pytest.raises(UserError, match="received at another till"), db.begin() as s:
        receiving.scan(s, who, DELIVERY_ID, a_code)
