"""Refund rules (app.domain.refunds): worked examples and a property over random split-tender sales and returns."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import pricing, refunds
from app.domain.refunds import EarlierReturn, RefundError, Sale, SoldLine

D = Decimal


def sale_from_cart(
    lines: list[pricing.CartLineIn],
    order_discount: pricing.Discount | None,
    tax_mode: pricing.TaxMode,
    rounding: pricing.Rounding,
    payments: list[tuple[str, Decimal]] | None = None,
) -> tuple[Sale, pricing.CartTotals]:
    """A sale as the till stores it: pricing's net and tax per line, paid as given (or all by card)."""
    totals = pricing.price_cart(lines, order_discount, tax_mode, rounding)
    sold = tuple(
        SoldLine(n, line.qty, p.net, p.tax, line.name)
        for n, (line, p) in enumerate(zip(lines, totals.lines, strict=True), start=1)
    )
    return Sale(sold, tuple(payments or [("card", totals.total)]), tax_mode == "exclusive"), totals


def line(n: int, qty: str, price: str, rate: str = "0.20") -> pricing.CartLineIn:
    return pricing.CartLineIn(f"l{n}", f"SKU{n}", f"Item {n}", D(qty), D(price), D(rate), "STD")


def test_order_discount_share_comes_off_the_refund() -> None:
    # 10 % off the order of 30.00 + 10.00 (inclusive tax): the 30.00 line carries 3.00 of it, so it gives back 27.00.
    sale, totals = sale_from_cart(
        [line(1, "1", "30.00"), line(2, "1", "10.00")],
        pricing.Discount("percent", D("10"), "staff"),
        "inclusive",
        "line",
    )
    assert totals.total == D("36.00")
    p = refunds.plan(sale, [], {1: D(1)})
    assert p.lines[0].amount == D("27.00") and p.lines[0].tax == D("4.50")
    assert p.total == D("27.00")
    rest = refunds.plan(sale, [refunds.as_earlier(p)], {2: D(1)})
    assert p.total + rest.total == totals.total


def test_tax_inclusive_refund_includes_its_tax_in_the_amount() -> None:
    sale, _ = sale_from_cart([line(1, "2", "9.99")], None, "inclusive", "line")  # 19.98 of which 3.33 tax
    p = refunds.plan(sale, [], {1: D(1)})
    assert (p.lines[0].amount, p.lines[0].tax, p.total) == (D("9.99"), D("1.67"), D("9.99"))
    last = refunds.plan(sale, [refunds.as_earlier(p)], {1: D(1)})
    assert (last.lines[0].amount, last.lines[0].tax) == (D("9.99"), D("1.66"))  # the remainder of 3.33


def test_tax_exclusive_refund_adds_the_tax_charged() -> None:
    # 3 x 3.33 = 9.99 net, 20 % tax rounded per line = 2.00; one unit gives back 3.33 + 0.67 = 4.00.
    sale, totals = sale_from_cart([line(1, "3", "3.33")], None, "exclusive", "line")
    assert totals.total == D("11.99")
    p = refunds.plan(sale, [], {1: D(1)})
    assert (p.lines[0].amount, p.lines[0].tax, p.total) == (D("3.33"), D("0.67"), D("4.00"))


def test_tax_rounded_per_order_gives_back_the_line_share_the_sale_charged() -> None:
    sale, totals = sale_from_cart(
        [line(1, "1", "0.05"), line(2, "1", "0.05"), line(3, "1", "0.05")], None, "exclusive", "order"
    )
    # 0.15 x 20 % = 0.03 once over the order: each line carries 0.01, and that is what each gives back.
    p = refunds.plan(sale, [], {1: D(1), 2: D(1), 3: D(1)})
    assert [x.tax for x in p.lines] == [D("0.01")] * 3
    assert p.total == totals.total == D("0.18")


def test_split_tender_goes_back_to_card_then_cash_then_gift_card() -> None:
    sale, totals = sale_from_cart(
        [line(1, "1", "50.00"), line(2, "1", "30.00"), line(3, "1", "20.00")],
        None,
        "inclusive",
        "line",
        [("cash", D("30.00")), ("gift_card", D("20.00")), ("card", D("50.00"))],
    )
    assert totals.total == D("100.00")
    first = refunds.plan(sale, [], {2: D(1), 3: D(1)})  # 50.00: all to the card
    assert [(t.kind, t.amount) for t in first.tenders] == [("card", D("50.00"))]
    second = refunds.plan(sale, [refunds.as_earlier(first)], {1: D(1)})  # 50.00: cash 30.00, gift card 20.00
    assert [(t.kind, t.amount) for t in second.tenders] == [("cash", D("30.00")), ("gift_card", D("20.00"))]


def test_three_units_returned_one_at_a_time_at_two_tills_add_up_exactly() -> None:
    # 3 x 3.33 with 10 % off the order: the line paid 8.99; a third of it is not a whole number of cents. Units
    # returned so far are worth round(8.99 x r / 3): 3.00, then 5.99, then all 8.99.
    sale, totals = sale_from_cart(
        [line(1, "3", "3.33")], pricing.Discount("percent", D("10"), "promo"), "inclusive", "line"
    )
    paid = sale.lines[0].paid(False)
    assert paid == D("8.99") == totals.total
    till_1 = refunds.plan(sale, [], {1: D(1)})
    till_2 = refunds.plan(
        sale, [refunds.as_earlier(till_1)], {1: D(1)}
    )  # another till, once it knows till 1's
    last = refunds.plan(sale, [refunds.as_earlier(till_1), refunds.as_earlier(till_2)], {1: D(1)})
    assert [till_1.total, till_2.total, last.total] == [D("3.00"), D("2.99"), D("3.00")]
    assert till_1.total + till_2.total + last.total == paid
    assert sum((p.lines[0].tax for p in (till_1, till_2, last)), D(0)) == sale.lines[0].tax
    everything = [refunds.as_earlier(p) for p in (till_1, till_2, last)]
    with pytest.raises(RefundError, match="already returned"):
        refunds.plan(sale, everything, {1: D(1)})  # a fourth unit of three: refused
    assert refunds.over_return(sale, everything) is None
    assert refunds.over_return(sale, [*everything, refunds.as_earlier(till_1)]) is not None


def test_more_than_bought_is_refused_in_words() -> None:
    sale, _ = sale_from_cart([line(1, "2", "5.00")], None, "inclusive", "line")
    with pytest.raises(RefundError, match=r"Only 2 of Item 1 can still be returned"):
        refunds.plan(sale, [], {1: D(3)})
    with pytest.raises(RefundError, match="Choose at least one"):
        refunds.plan(sale, [], {1: D(0)})


def test_fee_comes_off_the_total_not_the_lines() -> None:
    sale, _ = sale_from_cart([line(1, "2", "10.00")], None, "inclusive", "line")
    p = refunds.plan(sale, [], {1: D(1)}, fee=D("1.50"))
    assert (p.lines_total, p.fee, p.total) == (D("10.00"), D("1.50"), D("8.50"))
    last = refunds.plan(sale, [refunds.as_earlier(p)], {1: D(1)})
    assert last.lines[0].amount == D("10.00")  # the fee kept never comes back with the last unit


def test_cash_rounded_down_leaves_cents_no_tender_can_take() -> None:
    sale = Sale((SoldLine(1, D(1), D("10.02"), D("1.67")),), (("cash", D("10.00")),))
    p = refunds.plan(sale, [], {1: D(1)})
    assert (p.total, p.unallocated) == (D("10.00"), D("0.02"))


# -- the property ---------------------------------------------------------------------------------------------
KINDS = ("cash", "card", "gift_card", "store_credit")


@st.composite
def sales_and_returns(draw: Any) -> tuple[Sale, list[tuple[int, dict[int, Decimal]]]]:
    """A random split-tender sale and a random list of (till, wanted) returns at up to three tills."""
    n = draw(st.integers(1, 4))
    cart = [
        line(
            i,
            str(draw(st.integers(1, 5))),
            str(D(draw(st.integers(1, 5000))) / 100),
            draw(st.sampled_from(["0", "0.07", "0.20"])),
        )
        for i in range(1, n + 1)
    ]
    discount = draw(
        st.none() | st.builds(lambda v: pricing.Discount("percent", D(v), "p"), st.integers(1, 50))
    )
    mode = draw(st.sampled_from(pricing.TAX_MODES))
    rounding = draw(st.sampled_from(pricing.ROUNDINGS))
    totals = pricing.price_cart(cart, discount, mode, rounding)
    cents = int(totals.total * 100)
    cuts = sorted(draw(st.lists(st.integers(0, cents), max_size=3)))
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, cents], strict=True)]
    payments = [(draw(st.sampled_from(KINDS)), D(p) / 100) for p in parts if p]
    sale, _ = sale_from_cart(cart, discount, mode, rounding, payments)
    wanted = draw(
        st.lists(
            st.tuples(
                st.integers(0, 2), st.dictionaries(st.integers(1, n), st.integers(1, 3).map(D), min_size=1)
            ),
            max_size=8,
        )
    )
    return sale, wanted


def check_returns(sale: Sale, attempts: list[tuple[int, dict[int, Decimal]]], offline: set[int]) -> None:
    """Each till decides on what it knows: an online till knows every accepted return; an offline till knows only
    its own. The central store (the authority) accepts a return only when all returns together stay within the
    sale (`over_return`); whatever it accepted must then hold: per tender, per line and in total."""
    accepted: list[EarlierReturn] = []
    own: dict[int, list[EarlierReturn]] = {}
    exact = True  # every accepted return was decided knowing all those before it
    for till, wanted in attempts:
        known = own.get(till, []) if till in offline else accepted
        try:
            p = refunds.plan(sale, known, wanted)
        except RefundError:
            continue
        r = refunds.as_earlier(p)
        assert sum((t.amount for t in p.tenders), D(0)) == p.total <= p.lines_total
        if refunds.over_return(sale, [*accepted, r]) is None:
            exact = exact and len(known) == len(accepted)
            accepted.append(r)
            own.setdefault(till, []).append(r)
        else:
            assert till in offline  # a till that knew everything never decides an over-return
    assert refunds.over_return(sale, accepted) is None
    paid: dict[str, Decimal] = {}
    for kind, amount in sale.payments:
        paid[kind] = paid.get(kind, D(0)) + amount
    back: dict[str, Decimal] = {}
    for r in accepted:
        for kind, amount in r.tenders:
            back[kind] = back.get(kind, D(0)) + amount
    assert all(back[k] <= paid.get(k, D(0)) for k in back)
    sale_total = sum((line.paid(sale.exclusive) for line in sale.lines), D(0))
    assert sum(back.values(), D(0)) <= sale_total
    for sold in sale.lines:
        assert refunds.returned_qty(sold.line_no, accepted) <= sold.qty
        if exact and refunds.returned_qty(sold.line_no, accepted) == sold.qty:
            # Fully returned, each return knowing the ones before: exactly what it paid. (A till that decided
            # offline shared out the line on less knowledge: within what was paid, not always to the cent.)
            got = sum(
                (
                    rl.amount + (rl.tax if sale.exclusive else 0)
                    for r in accepted
                    for rl in r.lines
                    if rl.line_no == sold.line_no
                ),
                D(0),
            )
            assert got == sold.paid(sale.exclusive)


@settings(max_examples=100, deadline=None)
@given(sales_and_returns(), st.sets(st.integers(0, 2), max_size=2))
def test_refunds_never_exceed_what_was_paid(
    case: tuple[Sale, list[tuple[int, dict[int, Decimal]]]], offline: set[int]
) -> None:
    check_returns(case[0], case[1], offline)


# -- the return policy (app.domain.return_policy) -------------------------------------------------------------
def test_policy_window_per_department_final_sale_fee_and_approval() -> None:
    from datetime import date

    from app.domain import return_policy as rp
    from app.domain.permissions import Permission

    policy = rp.Policy.from_setting(
        {
            "window_days": 30,
            "department_windows": {"ELEC": 14},
            "final_sale_skus": ["CLEAR1"],
            "restocking_fee_percent": "15",
        },
        refund_limit=D("100.00"),
    )
    today = date(2026, 12, 2)
    assert policy.line_exceptions("Tea", "T1", "FOOD", date(2026, 11, 2), today) == []  # 30 days: inside
    late = policy.line_exceptions("Radio", "R1", "ELEC", date(2026, 11, 17), today)  # 15 days > 14
    assert [e.code for e in late] == [rp.OUTSIDE_WINDOW]
    final = policy.line_exceptions("Sale coat", "CLEAR1", None, today, today)
    assert [e.code for e in final] == [rp.FINAL_SALE]
    assert policy.restocking_fee([(D("19.99"), "opened"), (D("10.00"), "new")]) == D("3.00")
    assert rp.approval_for([]) == Permission.RETURN
    assert rp.approval_for(late + policy.total_exceptions(D("150"), False)) == Permission.RETURN_EXCEPTION
    assert rp.approval_for(policy.total_exceptions(D("150"), False)) == Permission.REFUND_ABOVE_LIMIT
    assert rp.approval_for(policy.total_exceptions(D("5"), True)) == Permission.NO_RECEIPT_RETURN
    assert [policy.disposition(c) for c in rp.CONDITIONS] == ["floor", "floor", "quarantine", "vendor"]
    with pytest.raises(rp.PolicyError):
        policy.disposition("sparkly")


def test_no_receipt_refunds_the_lowest_known_price_else_the_current() -> None:
    from app.domain import return_policy as rp

    assert rp.no_receipt_price(D("12.00"), [D("10.00"), D("11.50")]) == D("10.00")
    assert rp.no_receipt_price(D("12.00"), []) == D("12.00")
    assert rp.reasons(["Too small"]) == {"too_small": "Too small"}
    assert "changed_mind" in rp.reasons(None)
