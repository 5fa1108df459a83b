"""Exchanges under the refund rules (app.domain.refunds): worked figures, and a property over random split-tender
sales with random partial returns, some of them exchanges carrying part of the refund into a new sale. Whatever mix
of refunds and exchange credits a sale's returns give, no tender gets back more than it paid, and refunds and
credits together never pass what the sale took."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.domain import refunds
from app.domain.refunds import EXCHANGE, EarlierReturn, RefundError, Sale, SoldLine
from tests.domain.test_refunds import sales_and_returns

D = Decimal


def test_worked_exchange_figures() -> None:
    # One line of 3 at 10.00 each, paid 20.00 by card and 10.00 in cash.
    sale = Sale((SoldLine(1, D(3), D("30.00"), D(0), "Shirt"),), (("card", D("20.00")), ("cash", D("10.00"))))
    even = refunds.plan(sale, [], {1: D(1)}, exchange=D("10.00"))
    assert [(t.kind, t.amount) for t in even.tenders] == [(EXCHANGE, D("10.00"))] and even.total == D("10.00")
    dearer = refunds.plan(sale, [], {1: D(1)}, exchange=D("25.00"))  # the customer pays 15.00 on top
    assert [(t.kind, t.amount) for t in dearer.tenders] == [(EXCHANGE, D("10.00"))]
    cheaper = refunds.plan(sale, [], {1: D(2)}, exchange=D("4.00"))  # 16.00 back, by the rule: card first
    assert [(t.kind, t.amount) for t in cheaper.tenders] == [("card", D("16.00")), (EXCHANGE, D("4.00"))]
    # The credit counted against the tenders after the real refunds: card 4.00 and cash 10.00 left, less 4.00.
    assert refunds.tender_room(sale, [refunds.as_earlier(cheaper)]) == {"card": D(0), "cash": D("10.00")}
    last = refunds.plan(sale, [refunds.as_earlier(cheaper)], {1: D(1)})
    assert [(t.kind, t.amount) for t in last.tenders] == [("cash", D("10.00"))]
    assert refunds.over_return(sale, [refunds.as_earlier(cheaper), refunds.as_earlier(last)]) is None
    # A sale paid in part by an exchange credit refunds that part as cash.
    assert refunds.paid_as(EXCHANGE) == "cash" and refunds.paid_as("card") == "card"


def check_exchanges(sale: Sale, attempts: list[tuple[int, dict[int, Decimal]]], credits: list[int]) -> None:
    accepted: list[EarlierReturn] = []
    for n, (_till, wanted) in enumerate(attempts):
        asked = D(credits[n % len(credits)]) / 100 if credits else D(0)
        try:
            p = refunds.plan(sale, accepted, wanted, exchange=asked)
        except RefundError:
            continue
        carried = sum((t.amount for t in p.tenders if t.kind == EXCHANGE), D(0))
        assert carried <= asked and sum((t.amount for t in p.tenders), D(0)) == p.total <= p.lines_total
        accepted.append(refunds.as_earlier(p))
        assert refunds.over_return(sale, accepted) is None
    paid: dict[str, Decimal] = {}
    for kind, amount in sale.payments:
        paid[kind] = paid.get(kind, D(0)) + amount
    back: dict[str, Decimal] = {}
    for r in accepted:
        for kind, amount in r.tenders:
            back[kind] = back.get(kind, D(0)) + amount
    assert all(amount <= paid.get(kind, D(0)) for kind, amount in back.items() if kind != EXCHANGE)
    assert sum(back.values(), D(0)) <= sum(paid.values(), D(0))
    assert all(v >= 0 for v in refunds.tender_room(sale, accepted).values())
    for sold in sale.lines:
        assert refunds.returned_qty(sold.line_no, accepted) <= sold.qty


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sales_and_returns(), st.lists(st.integers(0, 20000), max_size=4))
def test_exchanges_never_give_back_more_than_was_paid(case: tuple[Sale, list], credits: list[int]) -> None:  # type: ignore[type-arg]
    check_exchanges(case[0], case[1], credits)
