"""Item verification on the demo store's web orders: scans count in the database, refusals write nothing, the
right role verifies the right orders, and the first scan tells the central store that work has started."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Barcode, Order, OrderLine, OutboxEvent
from app.services import verification
from app.services.base import PermissionDenied, UserError
from tests.db.test_sales import actor

Factory = sessionmaker[Session]


def _order(db: Factory, fulfilment: str) -> tuple[str, list[tuple[str, Decimal]]]:
    """A waiting web order of that kind, with (EAN-13 as scanned, qty) for each of its lines."""
    with db() as s:
        order = s.scalars(
            select(Order).where(Order.channel == "web", Order.fulfilment == fulfilment).order_by(Order.number)
        ).first()
        assert order is not None
        lines = []
        for ln in order.lines:
            code = s.scalars(
                select(Barcode.code).where(Barcode.product_id == ln.product_id, Barcode.pack_qty == 1)
            ).first()
            assert code is not None
            lines.append((code[1:], ln.qty))
        return order.id, lines


def test_an_associate_scans_a_pickup_order_to_complete(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    views = []
    for code, qty in lines:
        for _ in range(int(qty)):
            with db.begin() as s:
                views.append(verification.scan(s, who, order_id, code))
    assert views[-1].complete and views[-1].verdict == "order_done"
    assert all(v.verdict in ("counted", "line_done", "order_done") for v in views)
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "picking"
        assert [ln.scanned_qty for ln in order.lines] == [ln.qty for ln in order.lines]
        status_events = [
            e.payload for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.status"))
        ]
        assert status_events == [{"order_id": order_id, "from": "new", "to": "picking", "by": "01"}]
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.action == "order.verified")).all()
    # One more of anything is refused and counts nothing.
    with db.begin() as s:
        extra = verification.scan(s, who, order_id, lines[0][0])
    assert extra.verdict == "too_many" and "already scanned" in extra.message
    with db() as s:
        assert [ln.scanned_qty for ln in s.get(Order, order_id).lines] == [qty for _c, qty in lines]


def test_a_wrong_item_is_refused_and_an_unknown_code_says_why(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    mine = {c for c, _ in lines}
    with db() as s:
        other = s.scalars(
            select(Barcode.code)
            .join(OrderLine, OrderLine.product_id == Barcode.product_id, isouter=True)
            .where(OrderLine.id.is_(None), Barcode.pack_qty == 1)
        ).first()
    assert other is not None and other[1:] not in mine
    with db.begin() as s:
        view = verification.scan(s, who, order_id, other[1:])
    assert view.verdict == "not_in_order" and "not in this order" in view.message
    assert all(line.scanned == 0 for line in view.lines)
    with pytest.raises(UserError, match="not in the catalog"), db.begin() as s:
        verification.scan(s, who, order_id, "4006381333986")


def test_roles_the_packer_packs_shipments_the_cashier_verifies_nothing(db: Factory) -> None:
    ship_id, ship_lines = _order(db, "ship")
    pickup_id, pickup_lines = _order(db, "pickup")
    with db.begin() as s:
        assert verification.scan(s, actor(db, "packer"), ship_id, ship_lines[0][0]).verdict != "not_in_order"
    with pytest.raises(PermissionDenied), db.begin() as s:
        verification.scan(s, actor(db, "packer"), pickup_id, pickup_lines[0][0])
    with pytest.raises(PermissionDenied), db.begin() as s:
        verification.scan(s, actor(db, "cashier"), ship_id, ship_lines[0][0])


def test_a_recount_starts_from_zero_with_a_reason(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    with db.begin() as s:
        verification.scan(s, who, order_id, lines[0][0])
    with pytest.raises(UserError, match="Say why"), db.begin() as s:
        verification.restart(s, who, order_id, " ")
    with db.begin() as s:
        view = verification.restart(s, who, order_id, "bag dropped")
    assert all(line.scanned == 0 for line in view.lines) and not view.complete
