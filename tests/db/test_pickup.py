"""The Pickup service on the demo store's web orders: the queue, prepare through the shared verification engine,
ready (goods to staging), hand over by pickup code or ID (goods out as a sale, once), partial hand-over, no-shows
put back (staging to the floor), and every move the till allows or refuses, against the one lifecycle."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import (
    Barcode,
    GiftCard,
    Location,
    Order,
    OutboxEvent,
    PickupRecord,
    PrintJob,
    StockMovement,
)
from app.domain import lifecycle
from app.domain import pickup as codes
from app.services import pickup, pickup_lines, settings, shifts
from app.services import pickup_payment as payment
from app.services.base import Actor, UserError, here, now
from tests.db.test_sales import actor

Factory = sessionmaker[Session]
S = lifecycle.OrderState
CODE = "ABCD2345"


def _order(db: Factory, fulfilment: str = "pickup", k: int = 0) -> tuple[str, list[tuple[str, Decimal]]]:
    """The k-th waiting web order of that kind, with (EAN-13 as scanned, qty) per line."""
    with db() as s:
        orders = s.scalars(
            select(Order).where(Order.channel == "web", Order.fulfilment == fulfilment).order_by(Order.number)
        ).all()
        order = orders[k]
        lines = []
        for ln in order.lines:
            code = s.scalars(
                select(Barcode.code).where(Barcode.product_id == ln.product_id, Barcode.pack_qty == 1)
            ).first()
            assert code is not None
            lines.append((code[1:], ln.qty))
        return order.id, lines


def _external(db: Factory, order_id: str, **extra: Any) -> None:
    """What the central's feed would have put in the order (the applier replaces `external` whole)."""
    with db.begin() as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.external = {**(order.external or {}), **extra}


def _scan_all(db: Factory, order_id: str, lines: list[tuple[str, Decimal]]) -> pickup.PrepView:
    who = actor(db, "associate")
    view = None
    for code, qty in lines:
        for _ in range(int(qty)):
            with db.begin() as s:
                view = pickup.scan(s, who, order_id, code)
    assert view is not None
    return view


def _ready(db: Factory, order_id: str, lines: list[tuple[str, Decimal]], code: str = CODE) -> None:
    _scan_all(db, order_id, lines)
    with db.begin() as s:
        pickup.ready(s, actor(db, "associate"), order_id)
    # The central makes the code when it hears "ready"; its verifier comes back in the order's feed payload.
    _external(db, order_id, pickup=codes.make_verifier(code, iterations=1000))


def _at(db: Factory, order_id: str, code: str) -> dict[str, Decimal]:
    """The order's own movements at a location, per product id."""
    with db() as s:
        loc = s.scalar(select(Location.id).where(Location.code == code))
        rows = s.execute(
            select(StockMovement.product_id, func.sum(StockMovement.qty))
            .where(StockMovement.cause_id == order_id, StockMovement.location_id == loc)
            .group_by(StockMovement.product_id)
        ).all()
    return {p: Decimal(q) for p, q in rows if Decimal(q) != 0}


def _events(db: Factory, type_: str = "order.status") -> list[dict[str, Any]]:
    with db() as s:
        return [e.payload for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == type_))]


def _qty(db: Factory, order_id: str) -> Decimal:
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        return sum((ln.qty for ln in order.lines if not ln.voided), Decimal(0))


def test_the_queue_shows_pickup_and_curbside_late_and_at_the_curb_first(db: Factory) -> None:
    late_id, _ = _order(db, "pickup", 1)
    curb_id, _ = _order(db, "curbside")
    with db.begin() as s:
        late = s.get(Order, late_id)
        assert late is not None
        late.created_at = now() - timedelta(hours=5)  # promised 2 h after it was placed (the default)
    _external(db, curb_id, arrived_at=(now() - timedelta(seconds=90)).isoformat())
    with db() as s:
        rows = pickup.queue(s)
    assert {r.fulfilment for r in rows} == {"pickup", "curbside"}
    assert rows[0].id == curb_id and rows[0].shown == "at_curb" and 85 <= (rows[0].waiting_s or 0) <= 200
    assert rows[1].id == late_id and rows[1].late and rows[1].minutes >= 179
    assert not any(r.late for r in rows[2:])
    # A store setting moves the promise.
    with db.begin() as s:
        settings.put(s, "pickup.promise_minutes", 600)
    with db() as s:
        assert not any(r.late for r in pickup.queue(s))


def test_find_by_number_name_phone_email_and_pickup_code(db: Factory) -> None:
    order_id, lines = _order(db, "pickup")
    _external(
        db, order_id, customer={"name": "Jordan Byrne", "phone": "+353 86 123 4567", "email": "jb@ex.ie"}
    )
    with db() as s:
        number = s.get(Order, order_id).number  # type: ignore[union-attr]
        assert [r.id for r in pickup.find(s, number)] == [order_id]
        assert [r.id for r in pickup.find(s, number.removeprefix("W-"))] == [order_id]
        assert order_id in [r.id for r in pickup.find(s, "jordan")]
        assert [r.id for r in pickup.find(s, "086 123 4567".replace("0", "", 1))] == [order_id]
        assert [r.id for r in pickup.find(s, "JB@EX")] == [order_id]
        assert pickup.find(s, "nobody at all") == []
    _ready(db, order_id, lines)
    with db() as s:
        assert [r.id for r in pickup.find(s, "PU-" + CODE)] == [order_id]
        assert [r.id for r in pickup.find(s, "abcd-2345")] == [order_id]
        with pytest.raises(UserError, match="No ready order here has this pickup code"):
            pickup.find(s, "PU-ZZZZ2345")


def test_prepare_refuses_a_wrong_item_and_ready_moves_the_goods_to_staging(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    other = _order(db, "ship")[1][0][0]
    assert other not in {c for c, _ in lines}
    with db.begin() as s:
        view = pickup.scan(s, who, order_id, other)
    assert view.verdict == "not_in_order" and all(ln.scanned == 0 for ln in view.lines)
    with pytest.raises(UserError, match="still to scan"), db.begin() as s:
        pickup.ready(s, who, order_id)
    view = _scan_all(db, order_id, lines)
    assert view.complete and view.left == 0 and view.status == "picking"
    with db.begin() as s:
        done = pickup.ready(s, who, order_id)
    assert done.status == "ready"
    staged = _at(db, order_id, "staging")
    assert sum(staged.values()) == _qty(db, order_id)
    assert {p: -q for p, q in _at(db, order_id, "floor").items()} == staged
    ready = [e for e in _events(db) if e["to"] == "ready"]
    assert len(ready) == 1 and len(ready[0]["movements"]) == 2 * len(lines)
    with db() as s:
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "bag_label")).all()
        assert len(jobs) == 1 and any(b.get("data") == done.number for b in jobs[0].document["blocks"])
        assert s.get(PickupRecord, order_id).ready_at is not None  # type: ignore[union-attr]
    with pytest.raises(UserError, match="is ready"), db.begin() as s:
        pickup.scan(s, who, order_id, lines[0][0])


def test_hand_over_by_code_sells_out_of_staging_once(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    _ready(db, order_id, lines)
    with pytest.raises(UserError, match="Check the pickup code"), db.begin() as s:
        pickup.hand_over(s, who, order_id)
    with pytest.raises(UserError, match="not the pickup code"), db.begin() as s:
        pickup.hand_over(s, who, order_id, code="ZZZZ2345")
    with db.begin() as s:
        done = pickup.hand_over(s, who, order_id, code="pu-abcd 2345", signature=[[[1, 2], [3, 4]]])
    assert done.status == "collected"
    assert _at(db, order_id, "staging") == {}
    total = _qty(db, order_id)
    with db() as s:
        sales = s.scalars(
            select(StockMovement).where(StockMovement.cause_id == order_id, StockMovement.kind == "sale")
        )
        assert sum((m.qty for m in sales), Decimal(0)) == -total
        rec = s.get(PickupRecord, order_id)
        assert rec is not None and rec.method == "code" and rec.signature == [[[1, 2], [3, 4]]]
        assert s.scalar(select(func.count()).select_from(PrintJob).where(PrintJob.kind == "handover")) == 1
    collected = [e for e in _events(db) if e["to"] == "collected"]
    assert len(collected) == 1 and {m["kind"] for m in collected[0]["movements"]} == {"sale"}
    # The code is used: a second hand-over (same code, or by ID) is refused and moves nothing.
    for code, name in ((CODE, None), (None, "Jordan Byrne")):
        with pytest.raises(UserError, match="already collected"), db.begin() as s:
            pickup.hand_over(s, who, order_id, code=code, id_name=name)
    assert len([e for e in _events(db) if e["to"] == "collected"]) == 1


def test_hand_over_by_id_takes_the_customer_or_the_collector_and_a_refused_line_goes_back(
    db: Factory,
) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup", 1)  # two lines
    assert len(lines) == 2
    _ready(db, order_id, lines)
    _external(db, order_id, collector="Sam Byrne")
    with pytest.raises(UserError, match="name on the ID"), db.begin() as s:
        pickup.hand_over(s, who, order_id, id_name="Someone Else")
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        refused, kept = order.lines[0], order.lines[1]
        refused_id, kept_id = refused.id, kept.id
        refused_product, kept_product = refused.product_id, kept.product_id
        refused_qty, kept_qty = refused.qty, kept.qty
    with pytest.raises(UserError, match="refuses every line"), db.begin() as s:
        pickup.hand_over(s, who, order_id, id_name="sam  byrne", refused=[refused_id, kept_id])
    with db.begin() as s:
        done = pickup.hand_over(s, who, order_id, id_name="sam  byrne", refused=[refused_id])
    assert "1 refused" in done.message
    assert _at(db, order_id, "staging") == {}
    floor = _at(db, order_id, "floor")
    assert refused_product not in floor  # out at ready, back at the hand-over
    assert kept_product is not None and floor.get(kept_product, Decimal(0)) == -kept_qty
    with db() as s:
        sold = s.scalar(
            select(func.sum(StockMovement.qty)).where(
                StockMovement.cause_id == order_id, StockMovement.kind == "sale"
            )
        )
        assert sold is not None and Decimal(sold) == -kept_qty
        rec = s.get(PickupRecord, order_id)
        assert (
            rec is not None
            and rec.method == "id"
            and rec.collector == "sam  byrne"
            and rec.refused == [refused_id]
        )
    assert refused_qty > 0


def _unpaid_ready(db: Factory, k: int = 0) -> tuple[str, Decimal, Actor]:
    """An unpaid pickup order made ready, a shift open on the till; returns the order, its total and the
    associate."""
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup", k)
    _ready(db, order_id, lines)
    _external(db, order_id, paid=False)
    with db.begin() as s:
        shifts.open_shift(s, who, Decimal("100.00"))
        order = s.get(Order, order_id)
        assert order is not None
        total = sum((ln.amount for ln in order.lines if not ln.voided), Decimal(0))
    assert total > 0
    return order_id, total, who


def test_an_unpaid_order_is_paid_with_sells_tenders_at_the_hand_over_and_counts_in_the_shift(
    db: Factory,
) -> None:
    order_id, total, who = _unpaid_ready(db)
    with db() as s:
        before = shifts.x_report(s)
    with pytest.raises(UserError, match="not paid yet"), db.begin() as s:
        pickup.hand_over(s, who, order_id, code=CODE)
    card = payment.TenderTaken("card", Decimal("1.00"), card_last4="4242", approval_code="ok12")
    short = [card]
    with pytest.raises(UserError, match="still due"), db.begin() as s:
        pickup.hand_over(s, who, order_id, code=CODE, tenders=short)
    # The Pay dialog's check: Sell's rules (a card gives no change), nothing written, the code checked first.
    with db() as s, pytest.raises(UserError, match="not the pickup code"):
        pickup.check_payment(s, who, order_id, code="ZZZZ2345", tenders=short)
    with db() as s, pytest.raises(UserError, match="gives no change"):
        pickup.check_payment(
            s, who, order_id, code=CODE, tenders=[payment.TenderTaken("card", total + 1, "4242", "OK12")]
        )
    with db() as s:
        view = pickup.check_payment(s, who, order_id, code=CODE, tenders=short)
    assert view.total == total and view.remaining == total - 1 and not view.fully_paid
    cash = payment.TenderTaken("cash", (total - 1 + 20).quantize(Decimal("1")))
    with db.begin() as s:
        done = pickup.hand_over(s, who, order_id, code=CODE, tenders=[card, cash])
    assert done.status == "collected" and done.open_drawer and "paid" in done.message
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.shift_id is not None
        kept = {p.kind: p.amount for p in order.payments}
        in_cash = total - 1 + order.rounding  # the store's cash rounding, as Sell rounds
        assert kept["card"] == Decimal("1.00") and kept["cash"] == in_cash and abs(order.rounding) < 1
        assert order.change_given == cash.amount - in_cash
        after = shifts.x_report(s)
    # The shift's figures count it: one more sale, its card and its cash (net of change) in the drawer.
    assert after.sales_count == before.sales_count + 1
    assert after.sales_total == before.sales_total + total
    assert after.cash_sales == before.cash_sales + in_cash
    assert after.expected_cash == before.expected_cash + in_cash
    by_kind = {t.kind: t.amount for t in after.by_tender}
    assert by_kind.get("card") == Decimal("1.00")
    with db() as s:
        assert shifts.expected_cash_of(s, [after.shift_id])[after.shift_id] == after.expected_cash
        receipt = s.scalars(select(PrintJob.document).where(PrintJob.kind == "handover")).one()
    assert "Paid at pickup" in str(receipt)
    (collected,) = [e for e in _events(db) if e["to"] == "collected"]
    assert collected["receipt"]["paid"] == str(1 + in_cash) and collected["receipt"]["refused"] == []
    # Exactly once: collected is final, so neither the hand-over nor its payment can happen again.
    with pytest.raises(UserError, match="already collected"), db.begin() as s:
        pickup.hand_over(s, who, order_id, code=CODE, tenders=[cash])
    with db() as s:
        assert len(s.get(Order, order_id).payments) == 2  # type: ignore[union-attr]


def test_a_refused_line_is_not_paid_and_a_paid_order_takes_no_payment(db: Factory) -> None:
    order_id, total, who = _unpaid_ready(db, 1)  # two lines
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        refused, kept = order.lines[0], order.lines[1]
        refused_id, kept_amount, name = refused.id, kept.amount, order.customer_name or ""
    with db() as s:
        view = pickup.check_payment(s, who, order_id, id_name=name, refused=[refused_id])
    assert view.total == kept_amount < total
    with db.begin() as s:
        pickup.hand_over(
            s,
            who,
            order_id,
            id_name=name,
            refused=[refused_id],
            tenders=[payment.TenderTaken("card", kept_amount, "4242", "OK12")],
        )
    with db() as s:
        assert shifts.x_report(s).by_tender[0].amount == kept_amount
    paid_id, lines = _order(db, "pickup", 2)
    _ready(db, paid_id, lines)
    with pytest.raises(UserError, match="paid already"), db.begin() as s:
        pickup.hand_over(s, who, paid_id, code=CODE, tenders=[payment.TenderTaken("cash", Decimal(5))])


def test_a_gift_card_short_of_the_amount_is_refused_before_anything_is_written(db: Factory) -> None:
    order_id, total, who = _unpaid_ready(db)
    with db.begin() as s:
        s.add(GiftCard(code="GC-PICKUP-1", balance=Decimal("1.00"), active=True))
    gift = [payment.TenderTaken("gift_card", Decimal("2.00"), reference="gc-pickup-1")]
    with db() as s, pytest.raises(UserError, match="has 1.00 left"):
        pickup.check_payment(s, who, order_id, code=CODE, tenders=gift)
    with pytest.raises(UserError, match="has 1.00 left"), db.begin() as s:
        pickup.hand_over(
            s, who, order_id, code=CODE, tenders=[*gift, payment.TenderTaken("cash", Decimal(20))]
        )
    with db() as s:
        assert s.get(GiftCard, "GC-PICKUP-1").balance == Decimal("1.00")  # type: ignore[union-attr]
        assert s.get(Order, order_id).status == "ready"  # type: ignore[union-attr]
    # Within its balance, the check tries the card and gives it back at once: nothing written, nothing sent.
    gift = [payment.TenderTaken("gift_card", Decimal("1.00"), reference="gc-pickup-1")]
    with db.begin() as s:
        view = pickup.check_payment(s, who, order_id, code=CODE, tenders=gift)
    assert view.remaining == total - 1 and [p.kind for p in view.payments] == ["gift_card"]
    with db() as s:
        assert s.get(GiftCard, "GC-PICKUP-1").balance == Decimal("1.00")  # type: ignore[union-attr]
    assert _events(db, "balance.spent") == []
    with db.begin() as s:
        pickup.hand_over(
            s, who, order_id, code=CODE, tenders=[*gift, payment.TenderTaken("cash", Decimal(20))]
        )
    with db() as s:
        assert s.get(GiftCard, "GC-PICKUP-1").balance == 0  # type: ignore[union-attr]
    assert len(_events(db, "balance.spent")) == 1  # the central hears of it once, with the hand-over


def test_a_no_show_is_put_back_and_expires_and_one_expired_at_the_central_is_put_back_too(
    db: Factory,
) -> None:
    who = actor(db, "associate")
    first, lines1 = _order(db, "pickup", 0)
    second, lines2 = _order(db, "pickup", 1)
    _ready(db, first, lines1)
    _ready(db, second, lines2)
    with pytest.raises(UserError, match="within its hold window"), db.begin() as s:
        pickup.put_back(s, who, first)
    later = now() + timedelta(days=8)
    with db() as s:
        assert {r.id for r in pickup.no_shows(s, later)} == {first, second}
        assert pickup.no_shows(s) == []
    with db.begin() as s:
        done = pickup.put_back(s, who, first, at=later)
    assert done.status == "expired"
    assert _at(db, first, "staging") == {} and _at(db, first, "floor") == {}
    expired = [e for e in _events(db) if e["to"] == "expired"]
    assert len(expired) == 1 and len(expired[0]["movements"]) == 2 * len(lines1)
    # The central's hold job expired the second first: the feed says so; the till puts the goods back.
    with db.begin() as s:
        order = s.get(Order, second)
        assert order is not None
        order.status = "expired"
    with db() as s:
        assert [r.id for r in pickup.no_shows(s)] == [second]
    with db.begin() as s:
        pickup.put_back(s, who, second)
    assert _at(db, second, "staging") == {}
    assert len(_events(db, "stock.movement")) == 2 * len(lines2)
    with pytest.raises(UserError, match="nothing to put back"), db.begin() as s:
        pickup.put_back(s, who, second)
    with db() as s:
        assert pickup.no_shows(s, later) == []


def test_a_short_pick_is_handed_back_to_the_central(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup", 1)
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        line_id, line_no, qty = order.lines[1].id, order.lines[1].line_no, order.lines[1].qty
    with pytest.raises(UserError, match="short.*or damaged"), db.begin() as s:
        pickup.hand_back(s, who, order_id, line_id, Decimal(1), "lost")
    with db.begin() as s:
        view = pickup.hand_back(s, who, order_id, line_id, qty, "damaged")
    assert view.status == "picking" and line_id not in [ln.line_id for ln in view.lines]
    assert _events(db, "order.handback") == [
        {"order_id": order_id, "line_no": line_no, "missing": str(qty), "reason": "damaged"}
    ]
    with db() as s:
        other = s.get(Order, order_id).lines[0]  # type: ignore[union-attr]
    with pytest.raises(UserError, match="Nothing of order"), db.begin() as s:
        pickup.hand_back(s, who, order_id, other.id, other.qty, "short")
    _scan_all(db, order_id, lines[:1])
    with db.begin() as s:
        assert pickup.ready(s, who, order_id).status == "ready"


def test_the_lines_follow_the_centrals_after_a_hand_back_but_not_before_it_is_sent(db: Factory) -> None:
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup", 1)  # two lines
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        first = order.lines[0]
        sku, qty, price, line_id = first.sku, first.qty, first.unit_price, first.id
        store = here(s).store_code
    assert qty >= 1
    with db.begin() as s:
        pickup.hand_back(s, who, order_id, line_id, Decimal(1), "short")

    def payload(*rows: tuple[str, Decimal, str]) -> dict[str, Any]:
        with db() as s:
            second = s.get(Order, order_id).lines[1]  # type: ignore[union-attr]
            two = {"sku": second.sku, "qty": str(second.qty), "unit_price": "1.00", "store": store}
        return {
            "lines": [
                {"sku": sku, "qty": str(q), "unit_price": str(price), "store": store, "state": state}
                for _sku, q, state in rows[:1]
            ]
            + [two]
            + [
                {"sku": sku_, "qty": str(q), "unit_price": str(price), "store": store, "state": state}
                for sku_, q, state in rows[1:]
            ]
        }

    # The central has not heard of the hand-back yet: its older view (the whole line) changes nothing here.
    older = payload((sku, qty, "reserved"))
    with db.begin() as s:
        assert not pickup_lines.follow_central(s, s.get(Order, order_id), older)  # type: ignore[arg-type]
    with db.begin() as s:
        for ev in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.handback")):
            ev.status = "sent"
    # Its answer: the line keeps the rest, the missing one went to another place of this store (line 3).
    newer = payload((sku, qty - 1, "reserved"), (sku, Decimal(1), "reserved"))
    with db.begin() as s:
        assert pickup_lines.follow_central(s, s.get(Order, order_id), newer)  # type: ignore[arg-type]
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        got = sorted((ln.line_no, ln.sku, ln.qty, ln.voided) for ln in order.lines)
    assert got[0][2] == qty - 1 and got[2] == (3, sku, Decimal(1), False)
    assert order.total == sum((ln.amount for ln in order.lines if not ln.voided), Decimal(0))
    # Held nowhere ("unavailable"), or by another store: not this till's to hand over.
    gone = payload((sku, qty - 1, "reserved"), (sku, Decimal(1), "unavailable"))
    with db.begin() as s:
        assert pickup_lines.follow_central(s, s.get(Order, order_id), gone)  # type: ignore[arg-type]
    with db() as s:
        third = next(ln for ln in s.get(Order, order_id).lines if ln.line_no == 3)  # type: ignore[union-attr]
        assert third.voided and third.qty == 0
    _scan_all(db, order_id, lines)  # what is left of each line
    with db.begin() as s:
        pickup.ready(s, who, order_id)
    with db.begin() as s:  # made ready: the lines are what was staged, whatever comes later
        assert not pickup_lines.follow_central(s, s.get(Order, order_id), newer)  # type: ignore[arg-type]


@pytest.mark.parametrize("status", [str(x) for x in S])
def test_every_move_from_the_till_follows_the_lifecycle(db: Factory, status: str) -> None:
    """From each state: ready, hand over and put back are allowed exactly where the lifecycle allows the move."""
    who = actor(db, "associate")
    order_id, lines = _order(db, "pickup")
    _scan_all(db, order_id, lines)  # everything scanned: only the state decides
    _external(db, order_id, pickup=codes.make_verifier(CODE, iterations=1000))
    with db.begin() as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.status = status
    later = now() + timedelta(days=30)
    cases = {
        "ready": (lambda s: pickup.ready(s, who, order_id), S.READY),
        "hand_over": (lambda s: pickup.hand_over(s, who, order_id, code=CODE), S.COLLECTED),
        "put_back": (lambda s: pickup.put_back(s, who, order_id, at=later), S.EXPIRED),
    }
    for name, (call, to) in cases.items():
        allowed = lifecycle.may_move(status, to, "pickup")
        if name == "put_back":
            allowed = allowed and status == S.READY  # only a ready order is a no-show
        if allowed:
            with db() as s:  # tried and rolled back: each case from the same state
                assert call(s).status == to, name
                s.rollback()
        else:
            with db() as s, pytest.raises(UserError):
                call(s)
