"""Stock adjustments with a reason code: a ledger movement, an event for the central store and an audit entry each;
a manager approves one worth more than the setting `stock.adjust_approval_above`."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, OutboxEvent, Product, StockMovement
from app.domain.permissions import Permission
from app.services import adjustments, settings, staff, stock
from app.services.base import Actor, PermissionDenied, UserError
from tests.conftest import user_id

Factory = sessionmaker[Session]


def _product(db: Factory, price: str) -> tuple[str, str]:
    with db.begin() as s:
        p = s.scalars(select(Product).where(Product.weighed.is_(False)).limit(1)).one()
        p.price = Decimal(price)
        return p.id, p.sku


def test_each_reason_moves_stock_its_way_with_an_event_and_an_audit_entry(db: Factory) -> None:
    associate = Actor(user_id(db, "associate"))
    product_id, sku = _product(db, "2.00")
    with db() as s:
        before = stock.on_hand(s, product_id, stock.location(s, "floor").id)
    for reason, qty in (("damaged", 2), ("expired", 1), ("stolen", 1), ("found", 3)):
        with db.begin() as s:
            done = adjustments.record(s, associate, product_id, "floor", Decimal(qty), reason, "shelf 4")
        assert done.qty == qty * adjustments.REASONS[reason] and done.approval_id is None
    with db() as s:
        assert stock.on_hand(s, product_id, stock.location(s, "floor").id) == before - 1
        moves = s.scalars(
            select(StockMovement).where(
                StockMovement.product_id == product_id, StockMovement.kind == "adjustment"
            )
        ).all()
        assert sorted(m.qty for m in moves) == [-2, -1, -1, 3]
        events = [
            e.payload for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "stock.movement"))
        ]
        assert [(e["sku"], e["qty"], e["kind"], e["reason"]) for e in events][-1] == (
            sku,
            "3",
            "adjustment",
            "found: shelf 4",
        )
        assert {e["id"] for e in events} >= {m.id for m in moves}
        trail = s.scalars(select(AuditEntry).where(AuditEntry.action == "stock.adjustment")).all()
        assert [t.details["reason"] for t in trail] == ["damaged", "expired", "stolen", "found"]


def test_above_the_threshold_a_manager_approves_and_the_setting_moves_it(db: Factory) -> None:
    associate, manager = Actor(user_id(db, "associate")), Actor(user_id(db, "manager"))
    product_id, _sku = _product(db, "20.00")
    with pytest.raises(PermissionDenied, match="manager must approve"), db.begin() as s:
        adjustments.record(s, associate, product_id, "floor", Decimal(3), "damaged")  # 60.00 > 50.00
    with db.begin() as s:  # 40.00 is within it
        assert (
            adjustments.record(s, associate, product_id, "floor", Decimal(2), "damaged").approval_id is None
        )
    with db.begin() as s:
        approval = staff.approve(s, associate.user_id, Permission.STOCK_ADJUST, "manager", "6666")
    with db.begin() as s:
        done = adjustments.record(
            s, associate.with_approval(approval), product_id, "floor", Decimal(3), "damaged"
        )
    assert done.approval_id == approval and done.value == Decimal("60.00")
    with db.begin() as s:  # a manager needs nobody's approval
        assert adjustments.record(s, manager, product_id, "floor", Decimal(3), "expired").approval_id is None
    # The threshold is a setting: at 10.00 the 2-piece one (40.00) needs a manager too.
    with db.begin() as s:
        settings.put(s, "stock.adjust_approval_above", "10.00")
    with pytest.raises(PermissionDenied), db.begin() as s:
        adjustments.record(s, associate, product_id, "floor", Decimal(2), "damaged")


def test_bad_input_is_refused_in_words(db: Factory) -> None:
    associate = Actor(user_id(db, "associate"))
    product_id, _ = _product(db, "1.00")
    for qty, reason, message in (
        (Decimal(1), "lost", "Choose a reason"),
        (Decimal(0), "damaged", "above zero"),
        (Decimal("1.5"), "damaged", "whole pieces"),
    ):
        with pytest.raises(UserError, match=message), db.begin() as s:
            adjustments.record(s, associate, product_id, "floor", qty, reason)
    with pytest.raises(UserError, match="no location"), db.begin() as s:
        adjustments.record(s, associate, product_id, "attic", Decimal(1), "found")
