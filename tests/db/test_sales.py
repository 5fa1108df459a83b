"""Counter sales on a real SQLite copy of the demo store: each call in its own transaction, as the screens do."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Approval,
    AuditEntry,
    Barcode,
    Customer,
    GiftCard,
    Order,
    OutboxEvent,
    Payment,
    PrintJob,
    Product,
    StaffUser,
    StockMovement,
)
from app.demo import demo_scale_label
from app.documents.model import Barcode as BarcodeBlock
from app.documents.model import Document, Text
from app.domain.permissions import Permission
from app.services import audit, outbox, receipts, sales, shifts, staff, stock
from app.services.base import Actor, PermissionDenied, UserError
from sync import protocol

Factory = sessionmaker[Session]


def actor(db: Factory, username: str) -> Actor:
    with db() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return Actor(uid)


def items(db: Factory, n: int, price_below: Decimal | None = None) -> list[tuple[str, str, Decimal]]:
    """`n` piece-sold products as (id, EAN-13 as scanned, price), with distinct prices first to keep sums clear."""
    with db() as s:
        q = (
            select(Product.id, Barcode.code, Product.price)
            .join(Barcode, Barcode.product_id == Product.id)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False), Product.tax_class == "STD")
            .order_by(Product.sku)
        )
        if price_below is not None:
            q = q.where(Product.price < price_below)
        rows = s.execute(q).all()
    # GTIN-14 in the catalog; the shelf label carries the EAN-13 (drop the leading 0).
    return [(pid, code[1:], price) for pid, code, price in rows[:n]]


@pytest.fixture
def cashier(db: Factory) -> Actor:
    a = actor(db, "cashier")
    with db.begin() as s:
        shifts.open_shift(s, a, Decimal("100.00"))
    return a


def new_sale(db: Factory, who: Actor) -> str:
    with db.begin() as s:
        return sales.start_sale(s, who).id


def scan(db: Factory, who: Actor, sale_id: str, raw: str) -> sales.ScanOutcome:
    with db.begin() as s:
        return sales.add_scan(s, who, sale_id, raw)


def pay(db: Factory, who: Actor, sale_id: str, kind: str, amount: str, **kw: str) -> sales.SaleView:
    with db.begin() as s:
        return sales.add_tender(s, who, sale_id, kind, Decimal(amount), **kw)


def card(db: Factory, who: Actor, sale_id: str, amount: Decimal) -> sales.SaleView:
    with db.begin() as s:
        return sales.add_tender(s, who, sale_id, "card", amount, card_last4="4242", approval_code="A1B2C3")


def test_start_sale_needs_a_shift(db: Factory) -> None:
    a = actor(db, "cashier")
    with pytest.raises(UserError, match="Open a shift first"), db.begin() as s:
        sales.start_sale(s, a)
    with db.begin() as s:
        assert sales.current_sale(s, a) is None


def test_full_sale_writes_ledger_event_print_job_and_audit(db: Factory, cashier: Actor) -> None:
    (pid, code, price), (pid2, code2, price2) = items(db, 2)
    with db() as s:
        floor = stock.sellable_location(s).id
        before = stock.on_hand(s, pid, floor)
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    out = scan(db, cashier, sale_id, code)  # repeat scan: same line, qty 2
    scan(db, cashier, sale_id, code2)
    assert [ln.qty for ln in out.sale.lines] == [Decimal("2")]
    with db() as s:
        view = sales.get_sale(s, sale_id)
    assert view.total == price * 2 + price2
    # Inclusive store: the tax is inside the price, 23 % of net / 1.23 per line rounded.
    assert view.tax_total == sum(
        (
            (p * q * Decimal("0.23") / Decimal("1.23")).quantize(Decimal("0.01"))
            for p, q in ((price, 2), (price2, 1))
        ),
        Decimal(0),
    )
    assert view.lines[0].amount == price * 2

    card(db, cashier, sale_id, view.total)
    with db.begin() as s:
        done = sales.complete_sale(s, cashier, sale_id)
    assert done.sale.status == "completed" and done.change == 0 and done.open_drawer is False

    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None and order.completed_at is not None and order.shift_id is not None
        moves = s.scalars(select(StockMovement).where(StockMovement.cause_id == sale_id)).all()
        assert sorted((m.product_id, m.qty, m.kind, m.location_id) for m in moves) == sorted(
            [(pid, Decimal("-2.000"), "sale", floor), (pid2, Decimal("-1.000"), "sale", floor)]
        )
        assert all(m.cause_type == "order" for m in moves)
        assert stock.on_hand(s, pid, floor) == before - 2
        assert stock.ledger_on_hand(s, pid, floor) == stock.on_hand(s, pid, floor)

        event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "sale.completed"))
        assert event is not None
        payload = protocol.SaleCompleted.model_validate(event.payload)  # what the central store will accept
        assert str(payload.order_id) == sale_id and payload.number == order.number
        assert payload.store == "S001" and payload.terminal == "01"
        assert [(ln.qty, ln.unit_price) for ln in payload.lines] == [(2, price), (1, price2)]
        assert [(p.kind, p.amount) for p in payload.payments] == [("card", view.total)]
        assert payload.totals.total == view.total
        assert sorted(m.qty for m in payload.movements) == [-2, -1]
        assert {m.location for m in payload.movements} == {"floor"}

        job = s.scalar(select(PrintJob).where(PrintJob.id == done.receipt_job_id))
        assert (
            job is not None and job.kind == "receipt" and job.cause_id == sale_id and job.status == "pending"
        )
        doc = Document.from_json(job.document)
        assert BarcodeBlock(f"R-{order.number}", "code128") in doc.blocks

        actions = s.scalars(select(AuditEntry.action).where(AuditEntry.record_id == sale_id)).all()
        assert "sale.completed" in actions
        assert audit.verify_chain(s) is None

    with pytest.raises(UserError, match="completed"), db.begin() as s:
        sales.add_scan(s, cashier, sale_id, code)


def test_case_code_adds_the_pack_to_the_unit_line(db: Factory, cashier: Actor) -> None:
    with db() as s:
        pid, case_code = s.execute(
            select(Barcode.product_id, Barcode.code).where(Barcode.pack_qty == 6).order_by(Barcode.code)
        ).first()  # type: ignore[misc]
        unit_code = s.scalar(select(Barcode.code).where(Barcode.product_id == pid, Barcode.pack_qty == 1))
        assert unit_code is not None
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, unit_code.lstrip("0").rjust(13, "0"))
    out = scan(db, cashier, sale_id, case_code)
    assert len(out.sale.lines) == 1 and out.sale.lines[0].qty == 7
    assert out.line_id == out.sale.lines[0].id


def test_scale_label_gets_its_own_line_at_the_label_price(db: Factory, cashier: Actor) -> None:
    with db() as s:
        label = demo_scale_label(s, "PRD-0001", Decimal("3.47"))
        other = demo_scale_label(s, "PRD-0001", Decimal("1.20"))
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, label)
    out = scan(db, cashier, sale_id, other)
    assert [ln.amount for ln in out.sale.lines] == [Decimal("3.47"), Decimal("1.20")]
    assert all(ln.sku == "PRD-0001" and ln.unit == "kg" for ln in out.sale.lines)
    assert out.sale.total == Decimal("4.67") and out.sale.tax_total == 0  # produce is zero rated
    with pytest.raises(UserError, match="label"), db.begin() as s:
        sales.set_qty(s, cashier, sale_id, out.sale.lines[0].id, Decimal("2"))


def test_unknown_code_and_quantities(db: Factory, cashier: Actor) -> None:
    ((pid, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    with pytest.raises(UserError, match="not in the catalog"), db.begin() as s:
        sales.add_scan(s, cashier, sale_id, "5000000000005")  # a valid EAN-13 this store does not sell
    out = scan(db, cashier, sale_id, code)
    line = out.line_id
    assert line is not None
    for bad in ("0", "-1", "10000", "1.5"):
        with pytest.raises(UserError), db.begin() as s:
            sales.set_qty(s, cashier, sale_id, line, Decimal(bad))
    with db.begin() as s:
        view = sales.set_qty(s, cashier, sale_id, line, Decimal("3"))
    assert view.total == price * 3
    with db.begin() as s:
        view = sales.set_qty(s, cashier, sale_id, line, Decimal("1"))
    with db() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "sale.qty_lowered")) is not None


def test_discount_above_threshold_needs_a_manager_once(db: Factory, cashier: Actor) -> None:
    (_, code, price), (_, code2, _) = items(db, 2, price_below=Decimal("20"))
    sale_id = new_sale(db, cashier)
    line1 = scan(db, cashier, sale_id, code).line_id
    line2 = scan(db, cashier, sale_id, code2).line_id
    assert line1 and line2

    with db.begin() as s:  # 10 % is the cashier's own to give
        view = sales.discount_line(s, cashier, sale_id, line1, "percent", Decimal("10"), "damaged box")
    assert view.discount_total == (price / 10).quantize(Decimal("0.01"))

    with pytest.raises(PermissionDenied) as denied, db.begin() as s:
        sales.discount_line(s, cashier, sale_id, line1, "percent", Decimal("50"), "damaged box")
    assert denied.value.permission == Permission.DISCOUNT_ABOVE_THRESHOLD
    with pytest.raises(UserError, match="reason"), db.begin() as s:
        sales.discount_line(s, cashier, sale_id, line1, "percent", Decimal("50"), "  ")

    with db.begin() as s:
        approval = staff.approve(s, cashier.user_id, Permission.DISCOUNT_ABOVE_THRESHOLD, "manager", "6666")
    approved = cashier.with_approval(approval)
    with db.begin() as s:
        view = sales.discount_line(s, approved, sale_id, line1, "percent", Decimal("50"), "damaged box")
    assert view.lines[0].discount_text is not None and "50" in view.lines[0].discount_text
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None
        assert order.lines[0].discount["approval_id"] == approval
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "sale.line_discount")
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert entry is not None and entry.details["approval"] == approval
        used = s.get(Approval, approval)
        assert used is not None and used.used_at is not None

    # Single use: the same approval does not pass a second time.
    with pytest.raises(PermissionDenied), db.begin() as s:
        sales.discount_line(s, approved, sale_id, line2, "percent", Decimal("50"), "again")
    # An order discount above the threshold is refused the same way.
    with pytest.raises(PermissionDenied), db.begin() as s:
        sales.discount_order(s, cashier, sale_id, "amount", Decimal("25"), "loyal customer")


def test_price_override_and_voids_need_their_permissions(db: Factory, cashier: Actor) -> None:
    ((_, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    line = scan(db, cashier, sale_id, code).line_id
    assert line
    with pytest.raises(PermissionDenied), db.begin() as s:
        sales.override_price(s, cashier, sale_id, line, Decimal("0.50"), "price match")
    with db.begin() as s:
        appr = staff.approve(s, cashier.user_id, Permission.PRICE_OVERRIDE, "supervisor", "5555")
    with db.begin() as s:
        view = sales.override_price(
            s, cashier.with_approval(appr), sale_id, line, Decimal("0.50"), "price match"
        )
    assert view.total == Decimal("0.50") and view.lines[0].unit_price == price
    assert view.lines[0].override_text is not None

    with pytest.raises(PermissionDenied), db.begin() as s:
        sales.void_sale(s, cashier, sale_id, "customer left")
    with db.begin() as s:
        view = sales.void_line(s, cashier, sale_id, line)  # cashiers may void a line
    assert view.total == 0 and view.lines[0].voided
    with db() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "sale.line_voided")) is not None
    with db.begin() as s:  # nothing left on it: no sale-void permission needed
        assert sales.void_sale(s, cashier, sale_id, "").status == "voided"


def test_card_number_is_never_stored(db: Factory, cashier: Actor) -> None:
    ((_, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    for last4, appr in (
        ("4111111111111111", "AB12"),
        ("41111", "AB12"),
        ("12a4", "AB12"),
        ("1234", "X"),
        ("1234", "TOOLONGCODE123"),
    ):
        with pytest.raises(UserError), db.begin() as s:
            sales.add_tender(s, cashier, sale_id, "card", price, card_last4=last4, approval_code=appr)
    with pytest.raises(UserError, match="card number"), db.begin() as s:
        sales.add_tender(
            s,
            cashier,
            sale_id,
            "card",
            price,
            card_last4="1111",
            approval_code="AB12",
            reference="4111 1111 1111 1111",
        )
    with pytest.raises(UserError, match="no change"), db.begin() as s:  # card never over-tenders
        sales.add_tender(s, cashier, sale_id, "card", price + 1, card_last4="1111", approval_code="AB12")
    with db() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 0
    view = card(db, cashier, sale_id, price)
    assert view.payments[0].card_last4 == "4242" and view.fully_paid


def test_gift_card_store_credit_and_split_tender(db: Factory, cashier: Actor) -> None:
    picks = items(db, 3, price_below=Decimal("40"))
    with db() as s:
        customer = s.scalar(select(Customer).where(Customer.loyalty_card == "LC-100001"))
        assert customer is not None and customer.store_credit == Decimal("15.00")
        customer_id = customer.id
    sale_id = new_sale(db, cashier)
    total = Decimal(0)
    while total <= Decimal("15"):  # enough to need three tenders
        for _, code, _ in picks:
            total = scan(db, cashier, sale_id, code).sale.total

    with pytest.raises(UserError, match="Attach the customer"), db.begin() as s:
        sales.add_tender(s, cashier, sale_id, "store_credit", Decimal("5.00"))
    out = scan(db, cashier, sale_id, "LC-100001")  # a loyalty card scanned at the till attaches the customer
    assert out.sale.customer_id == customer_id and out.sale.customer_name == "Jordan Byrne"
    with pytest.raises(UserError, match="15.00"), db.begin() as s:
        sales.add_tender(s, cashier, sale_id, "store_credit", Decimal("15.01"))
    pay(db, cashier, sale_id, "store_credit", "10.00")

    with pytest.raises(UserError, match="not known"), db.begin() as s:
        sales.add_tender(s, cashier, sale_id, "gift_card", Decimal("1.00"), reference="GC-9999")
    with pytest.raises(UserError, match="10.00 left"), db.begin() as s:
        sales.add_tender(s, cashier, sale_id, "gift_card", Decimal("10.01"), reference="GC-1000-0002")
    view = pay(db, cashier, sale_id, "gift_card", "4.00", reference="gc-1000-0002")
    with db() as s:
        assert s.get(GiftCard, "GC-1000-0002").balance == Decimal("6.00")  # type: ignore[union-attr]
        assert s.get(Customer, customer_id).store_credit == Decimal("5.00")  # type: ignore[union-attr]

    # A mistaken tender comes off and its balance goes back.
    gift = next(p for p in view.payments if p.kind == "gift_card")
    with db.begin() as s:
        view = sales.remove_tender(s, cashier, sale_id, gift.id)
    with db() as s:
        assert s.get(GiftCard, "GC-1000-0002").balance == Decimal("10.00")  # type: ignore[union-attr]
    with pytest.raises(UserError, match="store credit"), db.begin() as s:
        sales.detach_customer(s, cashier, sale_id)

    view = pay(db, cashier, sale_id, "gift_card", "4.00", reference="GC-1000-0002")
    view = card(db, cashier, sale_id, view.remaining)
    assert view.fully_paid and view.remaining == 0
    with db.begin() as s:
        done = sales.complete_sale(s, cashier, sale_id)
    assert [p.kind for p in done.sale.payments] == ["store_credit", "gift_card", "card"]
    assert sum(p.amount for p in done.sale.payments) == done.sale.total
    assert not done.open_drawer


def test_cash_rounding_and_change(db: Factory, cashier: Actor) -> None:
    # Two items whose total ends in 4 or 9 cents, so 0.05 cash rounding moves it.
    ((_, code, price),) = [i for i in items(db, 40) if i[2] % Decimal("0.05") != 0][:1]
    sale_id = new_sale(db, cashier)
    view = scan(db, cashier, sale_id, code).sale
    assert view.total == price
    rounded = (price / Decimal("0.05")).quantize(Decimal("1")) * Decimal("0.05")
    assert view.remaining_in_cash == rounded
    with pytest.raises(UserError, match="steps of 0.05"), db.begin() as s:
        sales.add_tender(s, cashier, sale_id, "cash", Decimal("0.03"))
    with pytest.raises(UserError), db.begin() as s:
        sales.complete_sale(s, cashier, sale_id)  # nothing paid yet
    pay(db, cashier, sale_id, "cash", "50.00")
    with db.begin() as s:
        done = sales.complete_sale(s, cashier, sale_id)
    assert done.open_drawer
    assert done.sale.rounding == rounded - price
    assert done.change == Decimal("50.00") - rounded
    assert done.sale.payments[0].amount == rounded and done.sale.payments[0].tendered == Decimal("50.00")
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None and order.change_given == done.change and order.rounding == rounded - price
        doc = receipts.receipt_document(s, sale_id)
    shown = {b["left"]: b["right"] for b in doc["blocks"] if b["type"] == "columns"}
    assert shown["Cash rounding"] == f"€{rounded - price}"
    assert shown["Change"] == f"€{done.change}"


def test_complete_refuses_unpaid_or_empty(db: Factory, cashier: Actor) -> None:
    ((_, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    with pytest.raises(UserError, match="empty"), db.begin() as s:
        sales.complete_sale(s, cashier, sale_id)
    scan(db, cashier, sale_id, code)
    card(db, cashier, sale_id, price - Decimal("0.01"))
    with pytest.raises(UserError, match="0.01 is still due"), db.begin() as s:
        sales.complete_sale(s, cashier, sale_id)
    with db() as s:
        assert s.get(Order, sale_id).status == "open"  # type: ignore[union-attr]
        assert (
            s.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.cause_id == sale_id))
            == 0
        )


def test_failure_midway_in_complete_writes_nothing(
    db: Factory, cashier: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    ((pid, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    card(db, cashier, sale_id, price)
    with db() as s:
        floor = stock.sellable_location(s).id
        before = stock.on_hand(s, pid, floor)
        jobs = s.scalar(select(func.count()).select_from(PrintJob))

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(outbox, "emit", broken)
    with pytest.raises(RuntimeError), db.begin() as s:
        sales.complete_sale(s, cashier, sale_id)
    monkeypatch.undo()

    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None and order.status == "open" and order.completed_at is None
        assert (
            s.scalar(select(func.count()).select_from(StockMovement).where(StockMovement.cause_id == sale_id))
            == 0
        )
        assert stock.on_hand(s, pid, floor) == before
        assert s.scalar(select(func.count()).select_from(PrintJob)) == jobs
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.type == "sale.completed")) is None
    with db.begin() as s:  # and it completes once the fault is gone
        assert sales.complete_sale(s, cashier, sale_id).sale.status == "completed"


def test_park_on_one_session_recall_on_another(db: Factory, cashier: Actor) -> None:
    (_, code, _), (_, code2, _) = items(db, 2)
    supervisor = actor(db, "supervisor")
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    scan(db, cashier, sale_id, code2)
    with db.begin() as s:
        number = sales.park(s, cashier, sale_id)
    with db() as s:
        assert sales.current_sale(s, cashier) is None
        parked = sales.list_parked(s)
        assert [(p.number, p.barcode, p.items) for p in parked] == [(number, f"PS-{number}", 2)]
        event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "sale.parked"))
        assert event is not None
        assert protocol.ParkedSale.model_validate(event.payload).number == number
        assert len(event.payload["lines"]) == 2

    with db.begin() as s:  # another user, another session: scanned as a PS- barcode, any case
        view = sales.recall(s, supervisor, f"ps-{number}")
    assert view.status == "open" and view.owner_id == supervisor.user_id and len(view.lines) == 2
    with db() as s:
        assert sales.current_sale(s, supervisor) is not None
        assert s.scalar(select(OutboxEvent).where(OutboxEvent.type == "sale.recalled")) is not None
    with pytest.raises(UserError, match="already recalled"), db.begin() as s:
        sales.recall(s, cashier, number)
    with pytest.raises(UserError, match="another user"), db.begin() as s:
        sales.add_scan(s, cashier, sale_id, code)


def test_park_for_switch_keeps_the_owner(db: Factory, cashier: Actor) -> None:
    ((_, code, _),) = items(db, 1)
    empty = new_sale(db, cashier)
    with db.begin() as s:
        assert sales.park_for_switch(s, cashier, empty) is None  # nothing on it: voided, no number used
    sale_id = new_sale(db, cashier)
    assert sale_id != empty
    scan(db, cashier, sale_id, code)
    with db.begin() as s:
        number = sales.park_for_switch(s, cashier, sale_id)
    assert number is not None
    with db() as s:
        (parked,) = sales.list_parked(s)
        assert parked.owner_id == cashier.user_id
        assert s.get(Order, empty).status == "voided"  # type: ignore[union-attr]


def test_reprint_uses_stored_figures_and_says_copy(db: Factory, cashier: Actor) -> None:
    ((pid, code, price),) = items(db, 1)
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    card(db, cashier, sale_id, price)
    with db.begin() as s:
        number = sales.complete_sale(s, cashier, sale_id).sale.number
    with db.begin() as s:  # the shelf price changes after the sale
        product = s.get(Product, pid)
        assert product is not None
        product.price = price + Decimal("5.00")
    packer = actor(db, "packer")
    with db.begin() as s:
        job_id = receipts.reprint_receipt(s, packer, f"R-{number}")  # packers may reprint
    with db() as s:
        job = s.scalar(select(PrintJob).where(PrintJob.id == job_id))
        assert job is not None
        doc = Document.from_json(job.document)
        data = receipts.receipt_data(s, sale_id)
        assert sales.find_completed(s, f"r-{number}") is not None
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "receipt.reprinted")) is not None
    assert Text("COPY", align="center", bold=True, size=2) in doc.blocks
    assert data.total == price and data.lines[0].amount == price and data.lines[0].unit_price == price
    with pytest.raises(UserError), db.begin() as s:
        receipts.reprint_receipt(s, packer, "S001-01-999999")


def test_order_discount_is_shared_and_printed(db: Factory, cashier: Actor) -> None:
    (_, code, price), (_, code2, price2) = items(db, 2)
    sale_id = new_sale(db, cashier)
    scan(db, cashier, sale_id, code)
    scan(db, cashier, sale_id, code2)
    with db.begin() as s:
        view = sales.discount_order(s, cashier, sale_id, "percent", Decimal("5"), "staff discount")
    off = ((price + price2) * Decimal("0.05")).quantize(Decimal("0.01"))
    assert view.discount_total == off and view.total == price + price2 - off
    assert sum(ln.amount for ln in view.lines) == view.total  # the shares add up to the cent
    card(db, cashier, sale_id, view.total)
    with db.begin() as s:
        sales.complete_sale(s, cashier, sale_id)
    with db() as s:
        data = receipts.receipt_data(s, sale_id)
    assert data.order_discount == off and data.subtotal == price + price2 and data.total == view.total
    assert sum(r.tax for r in data.tax_rows) == data.tax_total == view.tax_total
