"""A web order paid at the pickup counter is a sale of the shift that took its payment (the Z counts it:
app.services.shifts.shift_sales): the reports over the day count it the same, in the sales by hour and in the
tenders, so the reports screen and the Z agree; and what the customer refused at the counter was not sold."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from app.db.engine import alembic_config, make_engine, migrate
from app.db.models import Order, OrderLine
from app.services import pickup, reports, returns, shifts
from app.services import pickup_payment as payment
from app.services.base import UserError
from app.services.returns import ReturnLineIn
from tests.db.test_pickup import CODE, _unpaid_ready

Factory = sessionmaker[Session]


def _figures(db: Factory) -> tuple[list[tuple[object, ...]], int, Decimal, list[tuple[object, ...]]]:
    with db() as s:
        x = shifts.x_report(s)
        hour = reports.run(s, "hour", "today")
        tend = reports.run(s, "tenders", "today")
    z_tenders = [(t.sales, t.payments, t.amount) for t in x.by_tender]
    return (
        [tuple(r[1:]) for r in tend.rows],
        sum(int(r[1]) for r in hour.rows) - x.sales_count,
        sum((Decimal(r[2]) for r in hour.rows), Decimal(0)) - x.sales_total,
        z_tenders,
    )


def test_a_web_order_paid_at_pickup_counts_in_the_reports_as_in_the_z(db: Factory) -> None:
    order_id, total, who = _unpaid_ready(db)
    card = payment.TenderTaken("card", Decimal("1.00"), card_last4="4242", approval_code="ok12")
    cash = payment.TenderTaken("cash", (total - 1 + 20).quantize(Decimal("1")))
    with db.begin() as s:
        pickup.hand_over(s, who, order_id, code=CODE, tenders=[card, cash])
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "collected" and order.shift_id is not None
        kept = {p.kind: p.amount for p in order.payments}
    ours, extra_sales, extra_net, z = _figures(db)
    # The shift took only this payment: its Z tenders are this order's, and the reports' tenders are the same.
    assert z == [(1, 1, kept["cash"]), (1, 1, Decimal("1.00"))]
    assert ours == z
    assert extra_sales == 0 and extra_net == 0


def _refused_at_pickup(db: Factory) -> tuple[str, OrderLine, OrderLine]:
    """A two-line order paid at the counter, its first line refused by the customer: the order, and that line and
    the one taken (detached)."""
    order_id, _total, who = _unpaid_ready(db, 1)  # two lines
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None
        refused, kept = order.lines[0], order.lines[1]
        name = order.customer_name or ""
        s.expunge_all()
    with db.begin() as s:
        pickup.hand_over(
            s,
            who,
            order_id,
            id_name=name,
            refused=[refused.id],
            tenders=[payment.TenderTaken("card", kept.amount, "4242", "OK12")],
        )
    return order_id, refused, kept


def _sold_figures(db: Factory) -> tuple[Decimal, Decimal, Decimal, set[object]]:
    with db() as s:
        hour = reports.run(s, "hour", "today").rows
        department = reports.run(s, "department", "today").rows
        top = reports.run(s, "top_items", "today").rows
    return (
        sum((Decimal(r[2]) for r in hour), Decimal(0)),
        sum((Decimal(r[1]) for r in department), Decimal(0)),
        sum((Decimal(r[3]) for r in top), Decimal(0)),
        {r[0] for r in top},
    )


def test_a_line_refused_at_the_pickup_counter_was_not_sold(db: Factory) -> None:
    """The customer refused a line and paid for the rest: the reports count what was taken, by hour, by department
    and in the top items alike (the refused line counted in the last two, the order's total did not), and the
    returns desk does not refund what the customer never had."""
    order_id, refused, kept = _refused_at_pickup(db)
    net, by_department, by_item, skus = _sold_figures(db)
    assert net == by_department == by_item == kept.amount
    assert skus == {kept.sku}
    with db() as s, pytest.raises(UserError, match=f"Line {refused.line_no} is not part of sale"):
        returns.quote(s, order_id, [ReturnLineIn(refused.line_no, Decimal(1), "changed_mind", "new")])
    with db() as s:
        quote = returns.quote(s, order_id, [ReturnLineIn(kept.line_no, kept.qty, "changed_mind", "new")])
    assert quote.total == kept.amount


def test_lines_refused_before_the_hand_over_voided_them_are_put_right_by_the_migration(
    db: Factory, db_path: Path
) -> None:
    """Till migration 0021: an order handed over before, its refused line left as sold, is put right."""
    _order_id, refused, kept = _refused_at_pickup(db)
    with db.begin() as s:  # as the hand-over left it before
        s.execute(update(OrderLine).where(OrderLine.id == refused.id).values(voided=False))
    assert _sold_figures(db)[1] == kept.amount + refused.amount
    url = f"sqlite:///{db_path}"
    engine = make_engine(url)
    cfg = alembic_config(url)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0020")
    migrate(engine)
    engine.dispose()
    with db() as s:
        assert s.get(OrderLine, refused.id).voided  # type: ignore[union-attr]
        assert not s.get(OrderLine, kept.id).voided  # type: ignore[union-attr]
    net, by_department, by_item, _ = _sold_figures(db)
    assert net == by_department == by_item == kept.amount
