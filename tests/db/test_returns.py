"""The Returns desk service (app.services.returns) on a real SQLite copy of the demo store."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    AuditEntry,
    Barcode,
    Customer,
    Location,
    Order,
    OrderLine,
    OutboxEvent,
    Payment,
    PrintJob,
    Product,
    ReturnLine,
    StaffUser,
    StockMovement,
)
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import returns, sales, shifts, staff, stock
from app.services.base import Actor, PermissionDenied, UserError, now
from app.services.returns import ReturnLineIn
from sync import protocol

Factory = sessionmaker[Session]
D = Decimal


def actor(db: Factory, username: str) -> Actor:
    with db() as s:
        uid = s.scalar(select(StaffUser.id).where(StaffUser.username == username))
        assert uid is not None
        return Actor(uid)


def items(db: Factory, n: int) -> list[tuple[str, str, Decimal]]:
    with db() as s:
        rows = s.execute(
            select(Product.id, Barcode.code, Product.price)
            .join(Barcode, Barcode.product_id == Product.id)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False), Product.tax_class == "STD")
            .order_by(Product.sku)
        ).all()
    return [(pid, code[1:], price) for pid, code, price in rows[:n]]


@pytest.fixture
def clerk(db: Factory) -> Actor:
    a = actor(db, "returns")
    with db.begin() as s:
        shifts.open_shift(s, a, D("100.00"))
    return a


def sold(db: Factory, who: Actor, scans: list[str], pay: list[tuple[str, Decimal | None]]) -> str:
    """A completed sale of `scans`, paid by `pay` in order (None: the rest)."""
    with db.begin() as s:
        sale_id = sales.start_sale(s, who).id
    for code in scans:
        with db.begin() as s:
            sales.add_scan(s, who, sale_id, code)
    for kind, amount in pay:
        with db.begin() as s:
            view = sales.get_sale(s, sale_id)
            due = amount if amount is not None else view.total - sum((p.amount for p in view.payments), D(0))
            if kind == "cash" and amount is None:
                due = D("100.00")  # cash is counted in steps of 0.05 here: hand over a note, get change
            extra = {"card_last4": "4242", "approval_code": "A1B2C3"} if kind == "card" else {}
            sales.add_tender(s, who, sale_id, kind, due, **extra)
    with db.begin() as s:
        sales.complete_sale(s, who, sale_id)
    return sale_id


def test_one_unit_at_a_time_adds_up_and_a_fourth_is_refused(db: Factory, clerk: Actor) -> None:
    (pid, code, price), (_, code2, price2) = items(db, 2)
    sale_id = sold(db, clerk, [code, code, code, code2], [("cash", D("10.00")), ("card", None)])
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None
        floor = stock.sellable_location(s).id
        before = stock.on_hand(s, pid, floor)
        found = returns.find_original(s, f"R-{order.number}")  # the receipt's barcode
    assert found.order_id == sale_id and found.lines[0].returnable == 3
    line_paid = found.lines[0].paid
    got = []
    for _ in range(3):
        with db.begin() as s:
            done = returns.take_return(s, clerk, sale_id, [ReturnLineIn(1, D(1), "changed_mind", "new")])
        got.append(done)
    assert sum((d.total for d in got), D(0)) == line_paid == price * 3
    # Back to the card first, up to what it paid; then cash.
    card_paid = price * 3 + price2 - D("10.00")
    assert sum((t.amount for d in got for t in d.tenders if t.kind == "card"), D(0)) == min(
        card_paid, line_paid
    )
    with pytest.raises(UserError, match="already returned"), db.begin() as s:
        returns.take_return(s, clerk, sale_id, [ReturnLineIn(1, D(1), "changed_mind", "new")])
    with db() as s:
        view = returns.get_original(s, sale_id)
        assert [ln.returnable for ln in view.lines] == [0, 1]
        assert stock.on_hand(s, pid, floor) == before + 3
        ret = s.get(Order, got[0].return_id)
        assert ret is not None and ret.channel == "return" and ret.original_order_id == sale_id
        assert ret.number.split("-")[-1].startswith("R")
        info = s.scalars(select(ReturnLine)).all()
        assert {(r.reason, r.condition, r.disposition) for r in info} == {("changed_mind", "new", "floor")}
        events = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "return.completed")).all()
        assert len(events) == 3
        p = protocol.SaleCompleted.model_validate(events[0].payload)  # what the central's handler reads
        assert str(p.original_order_id) == sale_id and p.web_order_id is None
        assert [(ln.line_no, ln.qty) for ln in p.lines] == [(1, 1)] and all(m.qty > 0 for m in p.movements)
        job = s.scalar(select(PrintJob).where(PrintJob.cause_id == got[0].return_id))
        assert job is not None and job.kind == "receipt"
        texts = [b.get("text") or b.get("left") or b.get("data") for b in job.document["blocks"]]
        assert "RETURN / REFUND" in texts and f"RT-{ret.number}" in texts


def test_exclusive_tax_refund_includes_the_tax_and_over_quantity_is_refused(
    db: Factory, clerk: Actor
) -> None:
    ((_, code, _price),) = items(db, 1)
    with db.begin() as s:
        from app.db.models import Store

        store = s.scalars(select(Store)).one()
        store.tax_mode = "exclusive"
    sale_id = sold(db, clerk, [code, code], [("card", None)])
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None
        line = order.lines[0]
        q = returns.quote(s, sale_id, [ReturnLineIn(1, D(2), "faulty", "new")])
        assert q.total == line.amount + line.tax == order.total
        with pytest.raises(UserError, match="Only 2"):
            returns.quote(s, sale_id, [ReturnLineIn(1, D(3), "faulty", "new")])


def test_another_tills_return_counts_and_an_unsynced_sale_is_named(db: Factory, clerk: Actor) -> None:
    ((_, code, price),) = items(db, 1)
    sale_id = sold(db, clerk, [code, code], [("card", None)])
    with db.begin() as s:  # till 02's return of one unit, as sync.applier copies it here
        s.add(
            Order(
                id=new_id(),
                number="S001-02-R000001",
                channel="return",
                status="completed",
                terminal_code="02",
                original_order_id=sale_id,
                total=price,
                completed_at=now(),
                lines=[
                    OrderLine(
                        id=new_id(),
                        line_no=1,
                        sku="X",
                        name="X",
                        qty=D(1),
                        unit_price=price,
                        tax_class="STD",
                        tax_rate=D("0.23"),
                        amount=price,
                        tax=D(0),
                    )
                ],
                payments=[Payment(id=new_id(), kind="card", amount=price, tendered=price, created_at=now())],
            )
        )
    with db() as s:
        assert returns.get_original(s, sale_id).lines[0].returnable == 1
        with pytest.raises(UserError, match="terminal 02 is not on this till yet"):
            returns.find_original(s, "R-S001-02-000042")
        with pytest.raises(UserError, match="No sale or web order"):
            returns.find_original(s, "S001-01-999999")


def test_damaged_to_quarantine_defective_to_vendor_with_labels(db: Factory, clerk: Actor) -> None:
    (pid, code, _), (pid2, code2, _) = items(db, 2)
    sale_id = sold(db, clerk, [code, code2], [("card", None)])
    with db.begin() as s:
        done = returns.take_return(
            s,
            clerk,
            sale_id,
            [ReturnLineIn(1, D(1), "faulty", "damaged"), ReturnLineIn(2, D(1), "faulty", "defective")],
        )
    assert len(done.label_job_ids) == 2
    with db() as s:
        moves = s.scalars(select(StockMovement).where(StockMovement.cause_id == done.return_id)).all()
        where = {m.product_id: s.get(Location, m.location_id) for m in moves}
        quarantine, vendor = where[pid], where[pid2]
        assert quarantine is not None and quarantine.code == "quarantine"
        assert vendor is not None and vendor.code == "rtv" and not vendor.sellable
        label = s.scalar(select(PrintJob).where(PrintJob.id == done.label_job_ids[0]))
        assert label is not None and label.role == "label"


def test_cashier_needs_approval_and_exceptions_need_a_manager_recorded(db: Factory) -> None:
    cashier = actor(db, "cashier")
    with db.begin() as s:
        shifts.open_shift(s, cashier, D("100.00"))
    ((_, code, _),) = items(db, 1)
    sale_id = sold(db, cashier, [code], [("cash", None)])
    wanted = [ReturnLineIn(1, D(1), "changed_mind", "opened")]
    with pytest.raises(PermissionDenied) as denied, db.begin() as s:
        returns.take_return(s, cashier, sale_id, wanted)
    assert denied.value.permission == Permission.RETURN
    with db.begin() as s:  # the sale was 45 days ago: past the 30-day window
        order = s.get(Order, sale_id)
        assert order is not None and order.completed_at is not None
        order.completed_at -= timedelta(days=45)
    clerk = actor(db, "returns")
    with db() as s:
        q = returns.quote(s, sale_id, wanted)
    assert q.permission == Permission.RETURN_EXCEPTION and "window is 30 days" in q.exceptions[0]
    with pytest.raises(PermissionDenied), db.begin() as s:
        returns.take_return(s, clerk, sale_id, wanted)
    with db.begin() as s:
        approval = staff.approve(
            s, clerk.user_id, Permission.RETURN_EXCEPTION, username="manager", pin="6666"
        )
    with db.begin() as s:
        done = returns.take_return(s, clerk.with_approval(approval), sale_id, wanted)
    with db() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "return.completed"))
        assert entry is not None and entry.details["approval"] == approval
        assert "window is 30 days" in entry.details["exceptions"][0]
    assert [t.kind for t in done.tenders] == ["cash"] and done.open_drawer


def test_no_receipt_return_is_store_credit_at_the_lowest_known_price(db: Factory, clerk: Actor) -> None:
    ((pid, code, price),) = items(db, 1)
    sold(db, clerk, [code], [("cash", None)])
    with db.begin() as s:
        product = s.get(Product, pid)
        assert product is not None
        product.price = price + D("5.00")  # the price went up since: the lower price sold at is refunded
        customer = Customer(id=new_id(), name="Dana Doe", store_credit=D(0))
        s.add(customer)
        cid = customer.id
    wanted = [returns.NoReceiptLineIn(pid, D(1), "gift", "new")]
    with db() as s:
        q = returns.quote_no_receipt(s, cid, wanted)
    assert q.total == price and q.permission == Permission.NO_RECEIPT_RETURN
    assert [(t.kind, t.amount) for t in q.tenders] == [("store_credit", price)]
    with pytest.raises(PermissionDenied), db.begin() as s:
        returns.take_no_receipt_return(s, clerk, cid, wanted)
    with db.begin() as s:
        approval = staff.approve(
            s, clerk.user_id, Permission.NO_RECEIPT_RETURN, username="manager", pin="6666"
        )
    with db.begin() as s:
        returns.take_no_receipt_return(s, clerk.with_approval(approval), cid, wanted)
    with db() as s:
        c = s.get(Customer, cid)
        assert c is not None and c.store_credit == price
        # Through app.services.balances: the central store learns the credit, so any till can spend it.
        issued = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "balance.issued"))
        assert issued is not None and issued.payload["account"] == cid
        assert Decimal(issued.payload["amount"]) == price and issued.payload["reason"] == "refund"


def test_web_order_return_goes_back_online_with_its_id(db: Factory, clerk: Actor) -> None:
    ((pid, _, price),) = items(db, 1)
    with db.begin() as s:
        web = Order(
            id=new_id(),
            number="W-000123",
            channel="web",
            fulfilment="pickup",
            status="collected",
            total=price * 2,
            subtotal=price * 2,
            completed_at=now(),
            lines=[
                OrderLine(
                    id=new_id(),
                    line_no=1,
                    product_id=pid,
                    sku="X",
                    name="Web item",
                    qty=D(2),
                    unit_price=price,
                    tax_class="STD",
                    tax_rate=D(0),
                    amount=price * 2,
                    tax=D(0),
                )
            ],
        )
        s.add(web)
        web_id = web.id
    with db() as s:
        assert returns.find_original(s, "W-000123").order_id == web_id
    with db.begin() as s:
        done = returns.take_return(s, clerk, web_id, [ReturnLineIn(1, D(1), "wrong_size", "new")])
    assert [(t.kind, t.amount) for t in done.tenders] == [("online", price)] and not done.open_drawer
    with db() as s:
        event = s.scalar(select(OutboxEvent).where(OutboxEvent.type == "return.completed"))
        assert event is not None
        p = protocol.SaleCompleted.model_validate(event.payload)
        assert str(p.web_order_id) == web_id == str(p.original_order_id)


def test_no_module_of_the_returns_desk_passes_600_lines() -> None:
    from tests.layout import assert_no_file_passes_600_lines

    assert_no_file_passes_600_lines(returns)


def test_two_tills_return_one_sale_through_the_central_store(tmp_path: Path) -> None:
    """A 3-unit sale at till T1, returned one unit at T2 (once synced: before, T2 says so plainly) and two at T1:
    the central store takes every return, the refunds add up to what was paid and a further return is refused."""
    from tests.sync.fleet import Hub, Till, central_ledger

    hub = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    try:
        t1 = Till.enrol(hub, tmp_path / "t1", "S1", "T1")
        t2 = Till.enrol(hub, tmp_path / "t2", "S1", "T2")
        t1.sync()
        before = central_ledger(hub, "S1")
        number = t1.sell("A1", 3)
        with t2.factory() as s, pytest.raises(UserError, match="terminal T1 is not on this till yet"):
            returns.find_original(s, number)
        t1.sync()
        t2.sync()
        t2.open_shift()
        with t2.factory.begin() as s:
            found = returns.find_original(s, number)
            assert [ln.returnable for ln in found.lines] == [3]
            first = returns.take_return(
                s, t2.actor, found.order_id, [ReturnLineIn(1, D(1), "changed_mind", "new")]
            )
        t2.sync()
        t1.sync()
        with t1.factory.begin() as s:
            assert [ln.returnable for ln in returns.get_original(s, found.order_id).lines] == [2]
            rest = returns.take_return(
                s, t1.actor, found.order_id, [ReturnLineIn(1, D(2), "changed_mind", "new")]
            )
        with pytest.raises(UserError, match="already returned"), t1.factory.begin() as s:
            returns.take_return(s, t1.actor, found.order_id, [ReturnLineIn(1, D(1), "changed_mind", "new")])
        t1.sync()
        assert t1.refused() == [] and t2.refused() == []
        with t1.factory() as s:
            sale = s.get(Order, found.order_id)
            assert sale is not None and first.total + rest.total == sale.total
        after = central_ledger(hub, "S1")
        assert after == before  # three sold, three back on the floor: nothing counted twice
    finally:
        hub.close()


def test_a_cash_refund_leaves_the_drawer_and_the_shift_expects_that_much_less(
    db: Factory, clerk: Actor
) -> None:
    (_, code, price), *_ = items(db, 1)
    sale_id = sold(db, clerk, [code, code], [("cash", None)])
    with db() as s:
        current = shifts.current_shift(s)
        assert current is not None
        shift_id = current.id
        before = shifts.shift_figures(s, shift_id)
    assert before.expected_cash == D("100.00") + before.cash_sales and before.cash_refunds == 0
    assert abs(before.cash_sales - price * 2) <= D("0.02")  # cash in steps of 0.05 here
    with db.begin() as s:
        done = returns.take_return(s, clerk, sale_id, [ReturnLineIn(1, D(1), "changed_mind", "new")])
    assert [t.kind for t in done.tenders] == ["cash"]
    refund = done.tenders[0].amount
    assert abs(refund - price) <= D("0.02")
    with db() as s:
        after = shifts.shift_figures(s, shift_id)
        summed = shifts.expected_cash_of(s, [shift_id])[shift_id]
    assert after.cash_refunds == after.refunds_total == refund
    # What the X/Z reading and the reports over many shifts expect in the drawer: the refund went out of it.
    assert after.expected_cash == summed == before.expected_cash - refund
    assert after.cash_sales == before.cash_sales  # the sale's own figure is unchanged
