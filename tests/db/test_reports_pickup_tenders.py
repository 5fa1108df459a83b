"""A web order paid at the pickup counter is a sale of the shift that took its payment (the Z counts it:
app.services.shifts.shift_sales): the reports over the day count it the same, in the sales by hour and in the
tenders, so the reports screen and the Z agree."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Order
from app.services import pickup, reports, shifts
from app.services import pickup_payment as payment
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
