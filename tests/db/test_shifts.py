"""Shifts on a real SQLite copy of the demo store: open, cash movements, X figures and the blind-count Z close."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Barcode, CashMovement, OutboxEvent, PrintJob, Product, Shift, StaffUser
from app.documents.model import Columns, Document
from app.domain.permissions import Permission
from app.services import sales, shifts
from app.services.base import Actor, PermissionDenied, UserError

Factory = sessionmaker[Session]


def actor(db: Factory, username: str) -> Actor:
    with db() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return Actor(uid)


def first_item(db: Factory) -> tuple[str, Decimal]:
    with db() as s:
        row = s.execute(
            select(Barcode.code, Product.price)
            .join(Product, Product.id == Barcode.product_id)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False))
            .order_by(Product.sku)
        ).first()
        assert row is not None
        return row[0][1:], row[1]


def sell(
    db: Factory, who: Actor, code: str, qty: int, tender: str, amount: Decimal | None = None
) -> sales.Completed:
    with db.begin() as s:
        sale = sales.start_sale(s, who)
        for _ in range(qty):
            sale = sales.add_scan(s, who, sale.id, code).sale
        if tender == "card":
            sales.add_tender(s, who, sale.id, "card", sale.total, card_last4="0005", approval_code="OK1234")
        else:
            sales.add_tender(s, who, sale.id, "cash", amount or sale.remaining_in_cash)
        return sales.complete_sale(s, who, sale.id)


def test_open_shift_once_per_terminal(db: Factory) -> None:
    cashier = actor(db, "cashier")
    packer = actor(db, "packer")
    with db() as s:
        assert shifts.current_shift(s) is None
    with pytest.raises(PermissionDenied), db.begin() as s:
        shifts.open_shift(s, packer, Decimal("100.00"))
    with pytest.raises(UserError), db.begin() as s:
        shifts.open_shift(s, cashier, Decimal("-1.00"))
    with db.begin() as s:
        view = shifts.open_shift(s, cashier, Decimal("150.00"))
    assert (
        view.status == "open"
        and view.number.startswith("S001-01-")
        and view.opened_by_name == "Casey Cashier"
    )
    with pytest.raises(UserError, match="already open"), db.begin() as s:
        shifts.open_shift(s, cashier, Decimal("100.00"))
    with db() as s:
        current = shifts.current_shift(s)
        assert current is not None and current.id == view.id and current.opening_float == Decimal("150.00")
        event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "shift.opened"))
        assert event is not None and event.payload["opening_float"] == "150.00"


def test_cash_movements_need_their_permissions(db: Factory) -> None:
    cashier = actor(db, "cashier")
    supervisor = actor(db, "supervisor")
    with pytest.raises(UserError, match="No shift"), db.begin() as s:
        shifts.paid_in(s, cashier, Decimal("10.00"), "float top-up")
    with db.begin() as s:
        shifts.open_shift(s, cashier, Decimal("100.00"))
    with db.begin() as s:
        moved = shifts.paid_in(s, cashier, Decimal("20.00"), "coins from the safe")
    assert moved.kind == "paid_in" and moved.open_drawer
    with pytest.raises(PermissionDenied) as denied, db.begin() as s:
        shifts.paid_out(s, cashier, Decimal("5.00"), "window cleaner")
    assert denied.value.permission == Permission.PAID_OUT
    with pytest.raises(UserError, match="reason"), db.begin() as s:
        shifts.paid_out(s, supervisor, Decimal("5.00"), " ")
    with pytest.raises(UserError), db.begin() as s:
        shifts.paid_out(s, supervisor, Decimal("0"), "nothing")
    with db.begin() as s:
        shifts.paid_out(s, supervisor, Decimal("5.00"), "window cleaner")
    with pytest.raises(PermissionDenied), db.begin() as s:
        shifts.no_sale(s, cashier, "check a note")
    with db.begin() as s:
        shifts.no_sale(s, supervisor, "check a note")
    with db() as s:
        kinds = sorted(s.scalars(select(CashMovement.kind)).all())
        assert kinds == ["no_sale", "paid_in", "paid_out"]
        types = set(s.scalars(select(OutboxEvent.type)).all())
        assert {"cash.paid_in", "cash.paid_out"} <= types
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "drawer.no_sale")) is not None
        figures = shifts.x_report(s)
    assert figures.paid_in_total == Decimal("20.00") and figures.paid_out_total == Decimal("5.00")
    assert figures.no_sales == 1 and figures.expected_cash == Decimal("115.00")


def test_close_with_over_short_matches_the_sales(db: Factory) -> None:
    cashier = actor(db, "cashier")
    supervisor = actor(db, "supervisor")
    code, price = first_item(db)
    with db.begin() as s:
        shifts.open_shift(s, cashier, Decimal("100.00"))
    cash_sale = sell(db, cashier, code, 2, "cash", Decimal("50.00"))
    card_sale = sell(db, cashier, code, 1, "card")
    assert cash_sale.change > 0
    cash_kept = cash_sale.sale.total + cash_sale.sale.rounding
    with db.begin() as s:
        shifts.paid_out(s, supervisor, Decimal("7.50"), "milk for the staff room")

    with db() as s:
        x = shifts.x_report(s)
    assert x.sales_count == 2
    assert [(t.kind, t.count, t.amount) for t in x.by_tender] == [
        ("cash", 1, cash_kept),
        ("card", 1, card_sale.sale.total),
    ]
    expected = Decimal("100.00") + cash_kept - Decimal("7.50")
    assert x.expected_cash == expected and x.cash_sales == cash_kept

    # An open sale with an item on it blocks the close and is named.
    with db.begin() as s:
        pending = sales.start_sale(s, cashier)
        sales.add_scan(s, cashier, pending.id, code)
    with pytest.raises(PermissionDenied), db.begin() as s:
        shifts.close_shift(s, cashier, {Decimal("50"): 2})
    with pytest.raises(UserError, match=pending.number), db.begin() as s:
        shifts.close_shift(s, supervisor, {Decimal("50"): 2})
    with db.begin() as s:
        sales.void_line(s, cashier, pending.id, sales.get_sale(s, pending.id).lines[0].id)

    # Blind count: 50 cents short in cash, the card batch as expected.
    short = expected - Decimal("0.50")
    counted = {Decimal("50"): int(short // 50), Decimal("0.05"): int((short % 50) / Decimal("0.05"))}
    with db.begin() as s:
        z = shifts.close_shift(s, supervisor, counted, {"card": card_sale.sale.total})
    assert z.counted_cash == short and z.cash_over_short == Decimal("-0.50")
    by_kind = {c.kind: c for c in z.counts}
    assert by_kind["cash"].expected == expected
    assert by_kind["card"].over_short == 0
    assert z.figures.sales_count == 2

    with db() as s:
        assert shifts.current_shift(s) is None
        shift = s.get(Shift, z.shift_id)
        assert shift is not None and shift.status == "closed" and shift.closed_by == supervisor.user_id
        assert shift.report["expected_cash"] == str(expected)
        assert shift.report["over_short"] == {"cash": "-0.50", "card": "0.00"}
        assert shift.counted["cash"] == {str(d): n for d, n in counted.items()}
        job = s.scalar(select(PrintJob).where(PrintJob.id == z.job_id))
        assert job is not None and job.kind == "z_report" and job.cause_id == shift.id
        doc = Document.from_json(job.document)
        assert any(isinstance(b, Columns) and b.left == "Short" for b in doc.blocks)
        event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "shift.closed"))
        assert event is not None and event.payload["counted_cash"] == str(short)
    with pytest.raises(UserError, match="Open a shift first"), db.begin() as s:
        sales.start_sale(s, cashier)
