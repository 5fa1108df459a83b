"""Tender rules: cash rounding only for a remainder paid in cash, change only from cash, drawer counts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from app.domain.money import round_cash
from app.domain.tenders import (
    Settlement,
    TenderError,
    TenderIn,
    denomination_total,
    over_short,
    settle,
)

D = Decimal
NICKEL = D("0.05")


def cash(amount: str) -> TenderIn:
    return TenderIn("cash", D(amount))


def card(amount: str) -> TenderIn:
    return TenderIn("card", D(amount))


def test_exact_card_payment() -> None:
    s = settle(D("12.34"), [card("12.34")], NICKEL)
    assert s == Settlement(
        due=D("12.34"),
        paid=D("12.34"),
        remaining=D("0.00"),
        change=D("0.00"),
        rounded_due=D("12.34"),  # card pays to the cent: no cash rounding
        rounding_adjustment=D("0.00"),
        complete=True,
        remaining_in_cash=D("0.00"),
    )


def test_cash_rounds_up_and_gives_change() -> None:
    # Due 10.03 in cash at 0.05: rounded to 10.05 (+0.02); 20.00 given, change 20.00 - 10.05 = 9.95.
    s = settle(D("10.03"), [cash("20.00")], NICKEL)
    assert (s.rounded_due, s.rounding_adjustment, s.change, s.remaining, s.complete) == (
        D("10.05"),
        D("0.02"),
        D("9.95"),
        D("0.00"),
        True,
    )


def test_cash_rounds_down() -> None:
    # Due 10.02 at 0.05 -> 10.00 (-0.02); exactly 10.00 in cash completes the sale with no change.
    s = settle(D("10.02"), [cash("10.00")], NICKEL)
    assert (s.rounded_due, s.rounding_adjustment, s.change, s.complete) == (
        D("10.00"),
        D("-0.02"),
        D("0.00"),
        True,
    )


def test_open_sale_shows_what_is_due_in_cash() -> None:
    # Nothing paid yet on 7.12: 7.12 still due, 7.10 if it is paid in cash at 0.05; nothing rounded yet.
    s = settle(D("7.12"), [], NICKEL)
    assert (s.remaining, s.remaining_in_cash, s.rounded_due, s.complete) == (
        D("7.12"),
        D("7.10"),
        D("7.12"),
        False,
    )


def test_card_then_cash_rounds_only_the_cash_remainder() -> None:
    # Due 25.03: card 20.00 leaves 5.03; paid fully in cash at 0.10 it is 5.00 (-0.03); 10.00 given, change 5.00.
    s = settle(D("25.03"), [card("20.00"), cash("10.00")], D("0.10"))
    assert (s.paid, s.rounded_due, s.rounding_adjustment, s.change) == (
        D("30.00"),
        D("25.00"),
        D("-0.03"),
        D("5.00"),
    )


def test_cash_then_card_is_not_rounded() -> None:
    # Due 25.03: 5.00 cash leaves 20.03 and the card pays exactly that: no rounding, no change.
    s = settle(D("25.03"), [cash("5.00"), card("20.03")], NICKEL)
    assert (s.rounded_due, s.rounding_adjustment, s.change, s.complete) == (
        D("25.03"),
        D("0.00"),
        D("0.00"),
        True,
    )


def test_remainder_rounded_away_closes_with_zero_cash() -> None:
    # Card 10.00 on 10.02 leaves 0.02, which is 0.00 in cash at 0.05: a 0.00 cash tender closes the sale.
    open_sale = settle(D("10.02"), [card("10.00")], NICKEL)
    assert (open_sale.remaining, open_sale.remaining_in_cash, open_sale.complete) == (
        D("0.02"),
        D("0.00"),
        False,
    )
    closed = settle(D("10.02"), [card("10.00"), cash("0.00")], NICKEL)
    assert (closed.complete, closed.rounding_adjustment, closed.remaining) == (True, D("-0.02"), D("0.00"))


def test_no_cash_rounding_configured() -> None:
    s = settle(D("10.03"), [cash("10.00")], None)
    assert (s.remaining, s.remaining_in_cash, s.complete) == (D("0.03"), D("0.03"), False)
    s = settle(D("10.03"), [cash("10.00"), cash("1.00")], None)
    assert (s.change, s.complete, s.rounding_adjustment) == (D("0.97"), True, D("0.00"))


def test_split_cash_tenders() -> None:
    # 5.00 then 5.05 on 10.03: the second covers the 5.03 left, rounded to 5.05 (+0.02).
    s = settle(D("10.03"), [cash("5.00"), cash("5.05")], NICKEL)
    assert (s.rounded_due, s.change, s.complete) == (D("10.05"), D("0.00"), True)


@pytest.mark.parametrize("kind", ["card", "store_credit", "gift_card"])
def test_non_cash_over_tender_refused(kind: str) -> None:
    with pytest.raises(TenderError, match=r"more than the 9\.99 still due: enter 9\.99 or less"):
        settle(D("9.99"), [TenderIn(kind, D("10.00"))], NICKEL)  # type: ignore[arg-type]


def test_card_after_partial_cash_limited_to_what_is_left() -> None:
    with pytest.raises(TenderError, match=r"more than the 5\.00 still due"):
        settle(D("10.00"), [cash("5.00"), card("10.00")], None)


def test_tender_after_completion_refused() -> None:
    with pytest.raises(TenderError, match="already paid"):
        settle(D("5.00"), [cash("10.00"), card("1.00")], None)


def test_cash_not_in_coin_steps_refused() -> None:
    with pytest.raises(TenderError, match="steps of 0.05"):
        settle(D("5.00"), [cash("5.02")], NICKEL)


def test_zero_cash_that_pays_nothing_refused() -> None:
    with pytest.raises(TenderError, match="pays nothing"):
        settle(D("5.00"), [cash("0.00")], NICKEL)


def test_zero_total_is_complete_and_takes_no_tender() -> None:
    assert settle(D("0.00"), [], NICKEL).complete
    with pytest.raises(TenderError):
        settle(D("0.00"), [card("1.00")], NICKEL)


def test_bad_tenders_refused() -> None:
    with pytest.raises(ValueError):
        TenderIn("cheque", D("1.00"))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TenderIn("card", D("0.00"))
    with pytest.raises(ValueError):
        TenderIn("cash", D("-1.00"))
    with pytest.raises(ValueError):
        TenderIn("card", D("1.001"))
    with pytest.raises(ValueError):
        settle(D("-1.00"), [], None)


def test_denomination_total_and_over_short() -> None:
    # 3 x 20.00 + 1 x 5.00 + 7 x 0.05 + 0 x 0.01 = 65.35; expected 65.50 -> short 0.15.
    counted = denomination_total({D("20.00"): 3, D("5.00"): 1, D("0.05"): 7, D("0.01"): 0})
    assert counted == D("65.35")
    assert over_short(D("65.50"), counted) == D("-0.15")
    assert over_short(D("65.00"), counted) == D("0.35")
    assert denomination_total({}) == D("0.00")
    with pytest.raises(ValueError):
        denomination_total({D("1.00"): -1})
    with pytest.raises(ValueError):
        denomination_total({D("0"): 1})


# --- properties -----------------------------------------------------------------------------------------

amounts = st.decimals(min_value=D("0.01"), max_value=500, places=2, allow_nan=False, allow_infinity=False)
steps = st.sampled_from([None, D("0.05"), D("0.10")])


# Tenders in multiples of 0.10 so most drawn lists are acceptable with every step; totals keep odd cents.
tender_amounts = st.integers(min_value=1, max_value=3000).map(lambda n: D(n).scaleb(-1).quantize(D("0.01")))


@st.composite
def tender_lists(draw: st.DrawFn) -> list[TenderIn]:
    kinds = st.sampled_from(["cash", "card", "store_credit", "gift_card"])
    return draw(st.lists(st.builds(TenderIn, kind=kinds, amount=tender_amounts), max_size=5))


@settings(max_examples=400, deadline=None)
@given(amounts, tender_lists(), steps)
def test_settlement_invariants(total: Decimal, tenders: list[TenderIn], step: Decimal | None) -> None:
    # Change never negative, and only cash makes change; complete exactly when paid covers the rounded due.
    try:
        s = settle(total, tenders, step)
    except TenderError:
        return
    assert s.change >= 0 and s.remaining >= 0 and s.remaining_in_cash >= 0
    assert s.paid == sum((t.amount for t in tenders), D(0))
    assert s.complete == (s.paid >= s.rounded_due)
    assert s.rounded_due == s.due + s.rounding_adjustment
    if step is None:
        assert s.rounding_adjustment == 0
    else:
        assert abs(s.rounding_adjustment) <= step / 2
    if s.change > 0:
        assert tenders[-1].kind == "cash" and s.change <= tenders[-1].amount
    if s.complete:
        assert s.remaining == 0 and s.paid - s.change == s.rounded_due
    else:
        assert s.change == 0 and s.remaining == s.due - s.paid


@settings(max_examples=200, deadline=None)
@given(amounts, steps, st.integers(min_value=0, max_value=2000))
def test_all_cash_rounds_the_whole_total(total: Decimal, step: Decimal | None, extra_steps: int) -> None:
    # Paid fully in cash, the rounded due is the total rounded to the step and the change is what was over.
    due_in_cash = round_cash(total, step) if step is not None else total
    assume(due_in_cash > 0)
    given_cash = due_in_cash + (step or D("0.01")) * extra_steps
    s = settle(total, [TenderIn("cash", given_cash)], step)
    assert s.complete and s.rounded_due == due_in_cash and s.change == given_cash - due_in_cash


@settings(max_examples=200, deadline=None)
@given(amounts, amounts)
def test_non_cash_never_makes_change(total: Decimal, card_amount: Decimal) -> None:
    if card_amount > total:
        with pytest.raises(TenderError):
            settle(total, [TenderIn("card", card_amount)], NICKEL)
    else:
        s = settle(total, [TenderIn("card", card_amount)], NICKEL)
        assert s.change == 0 and s.remaining == total - card_amount


@settings(max_examples=300, deadline=None)
@given(
    amounts,
    st.lists(
        st.tuples(st.sampled_from(["card", "store_credit", "gift_card"]), st.integers(1, 99)), max_size=3
    ),
    steps,
    st.integers(min_value=0, max_value=400),
)
def test_partial_non_cash_then_cash_completes(
    total: Decimal, partials: list[tuple[str, int]], step: Decimal | None, extra_steps: int
) -> None:
    # Non-cash tenders each take a share of what is left, then cash closes the sale: only that cash remainder
    # is rounded, and the change is exactly the cash given above it.
    tenders: list[TenderIn] = []
    left = total
    for kind, percent in partials:
        amount = (left * percent / 100).quantize(D("0.01"))
        if amount <= 0 or amount >= left:
            continue
        tenders.append(TenderIn(kind, amount))  # type: ignore[arg-type]
        left -= amount
    cash_due = round_cash(left, step) if step is not None else left
    given_cash = cash_due + (step or D("0.01")) * extra_steps
    assume(given_cash > 0 or cash_due == 0)
    s = settle(total, [*tenders, TenderIn("cash", given_cash)], step)
    assert s.complete and s.remaining == 0 and s.change >= 0
    assert s.rounding_adjustment == cash_due - left
    assert s.change == given_cash - cash_due
    assert s.paid - s.change == s.rounded_due
