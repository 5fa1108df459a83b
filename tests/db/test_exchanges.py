"""Exchanges at the Returns desk (app.services.returns.exchange): the return and the new sale in one transaction,
only the difference paid or refunded; worked examples, the ledger, the shift's figures and the central store."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Order, OutboxEvent
from app.services import returns, sales, shifts, stock
from app.services.base import Actor, UserError
from app.services.returns import ReturnLineIn
from sync import protocol
from tests.db.test_returns import actor, items, sold

Factory = sessionmaker[Session]
D = Decimal
BACK = [ReturnLineIn(1, D(1), "changed_mind", "new")]


@pytest.fixture
def clerk(db: Factory) -> Actor:
    a = actor(db, "returns")
    with db.begin() as s:
        shifts.open_shift(s, a, D("100.00"))
    return a


def priced(db: Factory) -> tuple[tuple[str, str, Decimal], tuple[str, str, Decimal]]:
    """A cheaper and a dearer item of the demo store (one unit each by barcode)."""
    found = sorted(items(db, 40), key=lambda x: x[2])
    cheap = found[0]
    dear = next(x for x in reversed(found) if x[2] > cheap[2] + D("1.00"))
    return cheap, dear


def new_sale(db: Factory, who: Actor, codes: list[str]) -> str:
    with db.begin() as s:
        sale_id = returns.begin(s, who).id
    for code in codes:
        with db.begin() as s:
            sales.add_scan(s, who, sale_id, code)  # Sell's own cart and prices
    return sale_id


def figures(db: Factory) -> shifts.ShiftFigures:
    with db() as s:
        current = shifts.current_shift(s)
        assert current is not None
        return shifts.shift_figures(s, current.id)


def test_even_exchange_moves_no_money_and_the_ledger_nets_out(db: Factory, clerk: Actor) -> None:
    (pid, code, price), _ = priced(db)
    original = sold(db, clerk, [code], [("card", None)])
    before = figures(db)
    with db() as s:
        floor = stock.sellable_location(s).id
        on_hand = stock.on_hand(s, pid, floor)
    sale_id = new_sale(db, clerk, [code])  # the same item again (another size, say)
    with db() as s:
        q = returns.quote_exchange(s, clerk, original, BACK, sale_id)
    assert (q.credit, q.to_pay, q.to_refund) == (price, D(0), D(0))
    assert [(t.kind, t.amount) for t in q.refund.tenders] == [("exchange", price)]
    with db.begin() as s:
        done = returns.complete_exchange(s, clerk, original, BACK, sale_id)
    assert done.returned.total == price and done.sale.sale.total == price
    assert not done.returned.open_drawer and not done.sale.open_drawer
    with db() as s:
        assert stock.on_hand(s, pid, floor) == on_hand  # one back on the floor, one out
        ret, sale = s.get(Order, done.returned.return_id), s.get(Order, sale_id)
        assert ret is not None and sale is not None and sale.status == "completed"
        assert [(p.kind, p.amount, p.reference) for p in ret.payments] == [("exchange", price, sale_id)]
        assert [(p.kind, p.amount, p.reference) for p in sale.payments] == [("exchange", price, ret.id)]
        assert returns.get_original(s, original).lines[0].returnable == 0
    after = figures(db)
    assert after.sales_count == before.sales_count + 1 and after.refunds_total == before.refunds_total + price
    assert after.expected_cash == before.expected_cash and after.cash_refunds == before.cash_refunds


def test_customer_pays_the_difference_through_the_pay_steps(db: Factory, clerk: Actor) -> None:
    (_, cheap_code, cheap), (_, dear_code, dear) = priced(db)
    original = sold(db, clerk, [cheap_code], [("card", None)])
    sale_id = new_sale(db, clerk, [dear_code])
    before = figures(db)
    with db.begin() as s:
        view = returns.hold_credit(s, clerk, original, BACK, sale_id)
    assert view.remaining == dear - cheap and not view.fully_paid  # the Pay dialog asks only this
    with db.begin() as s:
        with pytest.raises(UserError, match="exchange"):
            sales.complete_sale(s, clerk, sale_id)  # Sell alone cannot close it: its return is not taken
    with db.begin() as s:
        paid = sales.add_tender(
            s, clerk, sale_id, "card", dear - cheap, card_last4="4242", approval_code="OK12"
        )
        assert paid.fully_paid
        done = returns.complete_exchange(s, clerk, original, BACK, sale_id)
    with db() as s:
        sale = s.get(Order, sale_id)
        assert sale is not None and sale.status == "completed"
        assert sorted((p.kind, p.amount) for p in sale.payments) == [
            ("card", dear - cheap),
            ("exchange", cheap),
        ]
        assert [(t.kind, t.amount) for t in done.returned.tenders] == [("exchange", cheap)]
    after = figures(db)
    by = {t.kind: t.amount for t in after.by_tender}
    was = {t.kind: t.amount for t in before.by_tender}
    assert by["card"] == was.get("card", D(0)) + dear - cheap and by["exchange"] == cheap
    assert after.expected_cash == before.expected_cash


def test_customer_gets_the_difference_back_by_the_refund_rule(db: Factory, clerk: Actor) -> None:
    (cheap_pid, cheap_code, cheap), (dear_pid, dear_code, dear) = priced(db)
    original = sold(db, clerk, [dear_code], [("card", None)])
    sale_id = new_sale(db, clerk, [cheap_code])
    with db() as s:
        floor = stock.sellable_location(s).id
        had = stock.on_hand(s, cheap_pid, floor), stock.on_hand(s, dear_pid, floor)
        q = returns.quote_exchange(s, clerk, original, BACK, sale_id)
    assert (q.credit, q.to_pay, q.to_refund) == (cheap, D(0), dear - cheap)
    with db.begin() as s:
        done = returns.complete_exchange(s, clerk, original, BACK, sale_id)
    # The difference goes back to the card first, up to what it paid (the rule of app.domain.refunds).
    assert [(t.kind, t.amount) for t in done.returned.tenders] == [
        ("card", dear - cheap),
        ("exchange", cheap),
    ]
    with db() as s:
        assert (stock.on_hand(s, cheap_pid, floor), stock.on_hand(s, dear_pid, floor)) == (
            had[0] - 1,
            had[1] + 1,
        )
        # A later return of the new sale refunds its exchange-paid part as cash, never more than it took.
        q2 = returns.quote(s, sale_id, BACK)
        assert [(t.kind, t.amount) for t in q2.tenders] == [("cash", cheap)]
        # The original can take nothing more back, and its card got back no more than it paid.
        view = returns.get_original(s, original)
        assert view.lines[0].returnable == 0 and dict(view.refunded)["card"] == dear - cheap
        events = {
            e.type: protocol.SaleCompleted.model_validate(e.payload)
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type.in_(("return.completed",))))
        }
        assert {(p.kind, p.amount) for p in events["return.completed"].payments} == {
            ("card", dear - cheap),
            ("exchange", cheap),
        }


def test_an_exchange_needs_the_new_items_and_no_sale_open_at_sell(db: Factory, clerk: Actor) -> None:
    (_, code, _), _ = priced(db)
    original = sold(db, clerk, [code], [("card", None)])
    with db.begin() as s:
        busy = sales.start_sale(s, clerk).id
        sales.add_scan(s, clerk, busy, code)
    with pytest.raises(UserError, match="open at Sell"), db.begin() as s:
        returns.begin(s, clerk)
    with db.begin() as s:
        sales.park(s, clerk, busy)
    with db.begin() as s:
        fresh = returns.begin(s, clerk).id
    with db.begin() as s:
        assert returns.begin(s, clerk).id == fresh != busy  # the empty open sale is the exchange's
    with pytest.raises(UserError, match="Scan the items"), db.begin() as s:
        returns.complete_exchange(s, clerk, original, BACK, fresh)


def test_leaving_an_exchange_voids_its_sale_in_one_step_and_writes_no_return(
    db: Factory, clerk: Actor
) -> None:
    """`abandon_exchange`: the held credit off and the sale voided together (the void's approval and audit entry);
    a payment still taken refuses it plainly and changes nothing; an untouched sale stays open; nothing of the
    return is ever written."""
    from app.db.models import AuditEntry
    from app.domain.permissions import Permission
    from app.services import staff
    from app.services.returns.exchange import ABANDONED, abandon_exchange

    (_, cheap_code, cheap), (_, dear_code, dear) = priced(db)
    original = sold(db, clerk, [cheap_code], [("card", None)])
    with db.begin() as s:
        empty = returns.begin(s, clerk).id
        assert abandon_exchange(s, clerk, empty) is None  # nothing on it: it stays the user's next sale
    sale_id = new_sale(db, clerk, [dear_code])
    assert sale_id == empty
    with db.begin() as s:
        returns.hold_credit(s, clerk, original, BACK, sale_id)
        sales.add_tender(s, clerk, sale_id, "card", D("0.50"), card_last4="4242", approval_code="OK12")
    with db.begin() as s:
        # Paying given up part way: settling again opens the Pay dialog on the sale as it is.
        again = returns.hold_credit(s, clerk, original, BACK, sale_id)
        assert sorted(p.kind for p in again.payments) == ["card", "exchange"]
    with pytest.raises(UserError, match="remove it"), db.begin() as s:
        abandon_exchange(s, clerk, sale_id)
    with db.begin() as s:
        card = next(p for p in sales.get_sale(s, sale_id).payments if p.kind == "card")
        sales.remove_tender(s, clerk, sale_id, card.id)
    with pytest.raises(staff.PermissionDenied), db.begin() as s:  # rolled back, as the op helper does
        abandon_exchange(s, clerk, sale_id)  # a returns clerk may not void a sale with items alone
    with db() as s:
        kept = s.get(Order, sale_id)
        assert kept is not None and kept.status == "open" and [p.kind for p in kept.payments] == ["exchange"]
    with db.begin() as s:
        approval = staff.approve(s, clerk.user_id, Permission.SALE_VOID, username="manager", pin="6666")
        voided = abandon_exchange(s, clerk.with_approval(approval), sale_id)
        assert voided is not None and voided.status == "voided"
    with db() as s:
        gone = s.get(Order, sale_id)
        assert gone is not None and gone.status == "voided" and gone.payments == []
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "sale.voided"))
        assert entry is not None and entry.record_id == sale_id
        assert entry.details["reason"] == ABANDONED and entry.details["approval"] == approval
        assert s.scalar(select(Order).where(Order.channel == "return")) is None
        assert sales.current_sale(s, clerk) is None
    with db.begin() as s:
        assert abandon_exchange(s, clerk, sale_id) is None  # already gone: nothing to do
    assert cheap < dear
