"""Pricing rules: worked examples with their cents written out, then properties over random carts."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.pricing import (
    CartLineIn,
    CartTotals,
    Discount,
    allocate_cents,
    discount_exceeds,
    price_cart,
)

D = Decimal
VAT20 = D("0.20")


def line(
    line_id: str,
    unit_price: str,
    qty: str = "1",
    rate: Decimal = VAT20,
    tax_class: str = "A",
    **kwargs: object,
) -> CartLineIn:
    return CartLineIn(
        line_id=line_id,
        sku=f"SKU-{line_id}",
        name=f"Item {line_id}",
        qty=D(qty),
        unit_price=D(unit_price),
        tax_rate=rate,
        tax_class=tax_class,
        **kwargs,  # type: ignore[arg-type]
    )


def assert_consistent(totals: CartTotals) -> None:
    """The agreements every priced cart must keep, to the cent."""
    assert totals.total == sum((lp.total for lp in totals.lines), D(0))
    assert totals.tax_total == sum((lp.tax for lp in totals.lines), D(0))
    assert totals.tax_total == sum((row.tax for row in totals.tax_summary), D(0))
    assert totals.total == sum((row.taxable + row.tax for row in totals.tax_summary), D(0))
    assert totals.order_discount == sum((lp.order_discount_share for lp in totals.lines), D(0))
    assert totals.discount_total == totals.line_discount_total + totals.order_discount
    extra_tax = totals.tax_total if totals.tax_mode == "exclusive" else D(0)
    assert totals.total == totals.subtotal - totals.discount_total + extra_tax
    for lp in totals.lines:
        for figure in (
            lp.gross,
            lp.line_discount,
            lp.order_discount_share,
            lp.net,
            lp.taxable,
            lp.tax,
            lp.total,
        ):
            assert figure >= 0, lp
            assert figure.as_tuple().exponent == -2, lp  # whole cents, written with 2 decimals
        assert lp.net == lp.gross - lp.line_discount - lp.order_discount_share
        if lp.voided:
            assert (lp.gross, lp.net, lp.tax, lp.total) == (0, 0, 0, 0)


# --- worked examples -------------------------------------------------------------------------------------


def test_three_lines_at_1_99_exclusive_line_vs_order_rounding() -> None:
    # Three lines of 1.99 at 20 % tax on top.
    # Per line: 1.99 x 0.20 = 0.398 -> 0.40 each; tax 1.20; total 5.97 + 1.20 = 7.17.
    # Per order: 5.97 x 0.20 = 1.194 -> 1.19 once; shared by largest remainder 0.40/0.40/0.39; total 7.16.
    cart = [line("1", "1.99"), line("2", "1.99"), line("3", "1.99")]

    per_line = price_cart(cart, None, "exclusive", "line")
    assert per_line.subtotal == D("5.97")
    assert [lp.tax for lp in per_line.lines] == [D("0.40")] * 3
    assert per_line.tax_total == D("1.20")
    assert per_line.total == D("7.17")

    per_order = price_cart(cart, None, "exclusive", "rate")
    assert per_order.tax_total == D("1.19")
    assert [lp.tax for lp in per_order.lines] == [D("0.40"), D("0.40"), D("0.39")]
    assert [lp.total for lp in per_order.lines] == [D("2.39"), D("2.39"), D("2.38")]
    assert per_order.total == D("7.16")
    assert [(r.tax_class, r.rate, r.taxable, r.tax) for r in per_order.tax_summary] == [
        ("A", VAT20, D("5.97"), D("1.19"))
    ]
    assert_consistent(per_line)
    assert_consistent(per_order)


def test_inclusive_single_line() -> None:
    # 10.00 including 20 % tax: tax = 10.00 x 0.20 / 1.20 = 1.6667 -> 1.67; taxable 8.33; total stays 10.00.
    totals = price_cart([line("1", "10.00")], None, "inclusive", "line")
    lp = totals.lines[0]
    assert (lp.net, lp.tax, lp.taxable, lp.total) == (D("10.00"), D("1.67"), D("8.33"), D("10.00"))
    assert totals.total == D("10.00")
    assert totals.tax_summary[0].taxable == D("8.33")
    assert_consistent(totals)


def test_inclusive_line_vs_order_rounding() -> None:
    # Three lines of 1.00 including 20 %: per line 1.00 / 6 = 0.1667 -> 0.17 each, tax 0.51;
    # per order 3.00 / 6 = 0.50 once (0.17/0.17/0.16). The total is 3.00 either way: only the tax split moves.
    cart = [line("1", "1.00"), line("2", "1.00"), line("3", "1.00")]
    per_line = price_cart(cart, None, "inclusive", "line")
    per_order = price_cart(cart, None, "inclusive", "rate")
    assert per_line.tax_total == D("0.51")
    assert per_order.tax_total == D("0.50")
    assert [lp.tax for lp in per_order.lines] == [D("0.17"), D("0.17"), D("0.16")]
    assert per_line.total == per_order.total == D("3.00")
    assert per_line.tax_summary[0].taxable == D("2.49")
    assert per_order.tax_summary[0].taxable == D("2.50")
    assert_consistent(per_line)
    assert_consistent(per_order)


def test_order_discount_split_over_three_equal_lines() -> None:
    # 10.00 off three lines of 20.00: 10.00 / 3 = 3.333... -> 3.33 each floored, 0.01 left over goes to the
    # first line (equal remainders, earlier line first): 3.34 / 3.33 / 3.33. Nets 16.66 / 16.67 / 16.67.
    # Exclusive 20 % per line: 3.332 -> 3.33, 3.334 -> 3.33, 3.334 -> 3.33; tax 9.99; total 50.00 + 9.99 = 59.99.
    cart = [line("1", "20.00"), line("2", "20.00"), line("3", "20.00")]
    totals = price_cart(cart, Discount("amount", D("10.00"), "loyalty"), "exclusive", "line")
    assert [lp.order_discount_share for lp in totals.lines] == [D("3.34"), D("3.33"), D("3.33")]
    assert [lp.net for lp in totals.lines] == [D("16.66"), D("16.67"), D("16.67")]
    assert totals.order_discount == D("10.00")
    assert totals.tax_total == D("9.99")
    assert totals.total == D("59.99")
    assert_consistent(totals)


def test_order_discount_is_pro_rata_by_net_after_line_discount() -> None:
    # Lines 30.00 (with 10.00 off) and 10.00: post-line-discount subtotal 30.00.
    # 10 % order discount = 3.00, shared 20:10 -> 2.00 / 1.00.
    cart = [line("1", "30.00", discount=Discount("amount", D("10.00"), "damaged")), line("2", "10.00")]
    totals = price_cart(cart, Discount("percent", D("10"), "staff"), "inclusive", "line")
    assert totals.order_discount == D("3.00")
    assert [lp.order_discount_share for lp in totals.lines] == [D("2.00"), D("1.00")]
    assert [lp.net for lp in totals.lines] == [D("18.00"), D("9.00")]
    assert totals.total == D("27.00")
    assert_consistent(totals)


def test_line_amount_rounding_override_and_fixed_amount() -> None:
    # 1.5 x 0.99 = 1.485 -> 1.49 (tie half up); 0.333 kg x 4.99 = 1.66167 -> 1.66;
    # override 2.50 replaces 3.00: 2 x 2.50 = 5.00; a price-embedded label of 3.47 is taken as is.
    cart = [
        line("1", "0.99", qty="1.5"),
        line("2", "4.99", qty="0.333"),
        line("3", "3.00", qty="2", price_override=D("2.50")),
        line("4", "12.90", qty="0.269", fixed_amount=D("3.47")),
    ]
    totals = price_cart(cart, None, "inclusive", "line")
    assert [lp.gross for lp in totals.lines] == [D("1.49"), D("1.66"), D("5.00"), D("3.47")]
    assert totals.subtotal == D("11.62")
    assert_consistent(totals)


def test_line_discounts_percent_rounded_and_amount_capped() -> None:
    # 15 % of 9.99 = 1.4985 -> 1.50. An amount of 50.00 off a 5.00 line is capped at 5.00: the line is 0.00.
    cart = [
        line("1", "9.99", discount=Discount("percent", D("15"), "promo")),
        line("2", "5.00", discount=Discount("amount", D("50.00"), "goodwill")),
    ]
    totals = price_cart(cart, None, "exclusive", "line")
    assert [lp.line_discount for lp in totals.lines] == [D("1.50"), D("5.00")]
    assert [lp.net for lp in totals.lines] == [D("8.49"), D("0.00")]
    # 8.49 x 0.20 = 1.698 -> 1.70
    assert totals.total == D("10.19")
    assert_consistent(totals)


def test_order_discount_capped_at_subtotal() -> None:
    cart = [line("1", "4.00"), line("2", "2.00")]
    totals = price_cart(cart, Discount("amount", D("100.00"), "voucher"), "exclusive", "rate")
    assert totals.order_discount == D("6.00")
    assert totals.total == D("0.00")
    assert [lp.order_discount_share for lp in totals.lines] == [D("4.00"), D("2.00")]
    assert_consistent(totals)


def test_half_up_tax_tie() -> None:
    # 0.25 x 0.10 = 0.025 -> 0.03 (half up; banker's rounding would give 0.02).
    totals = price_cart([line("1", "0.25", rate=D("0.10"))], None, "exclusive", "line")
    assert totals.tax_total == D("0.03")


def test_voided_lines_shown_but_count_zero() -> None:
    # The voided 99.00 line keeps its display amount, takes no order-discount share and no tax.
    cart = [line("1", "10.00"), line("2", "99.00", voided=True)]
    totals = price_cart(cart, Discount("amount", D("1.00"), "promo"), "exclusive", "rate")
    voided = totals.lines[1]
    assert voided.voided and voided.display_amount == D("99.00")
    assert (voided.gross, voided.order_discount_share, voided.tax, voided.total) == (0, 0, 0, 0)
    assert totals.subtotal == D("10.00")
    # 9.00 x 0.20 = 1.80; total 10.80
    assert totals.total == D("10.80")
    assert_consistent(totals)


def test_tax_summary_groups_by_class_and_rate() -> None:
    # A at 20 %: 10.00 -> 2.00; B at 5.5 %: 3.99 x 0.055 = 0.21945 -> 0.22; Z at 0 %: 1.00 -> 0.00.
    cart = [
        line("1", "10.00"),
        line("2", "3.99", rate=D("0.055"), tax_class="B"),
        line("3", "1.00", rate=D("0"), tax_class="Z"),
    ]
    totals = price_cart(cart, None, "exclusive", "rate")
    rows = [(r.tax_class, r.rate, r.taxable, r.tax) for r in totals.tax_summary]
    assert rows == [
        ("A", VAT20, D("10.00"), D("2.00")),
        ("B", D("0.055"), D("3.99"), D("0.22")),
        ("Z", D("0"), D("1.00"), D("0.00")),
    ]
    assert totals.total == D("17.21")
    assert_consistent(totals)


def test_empty_cart() -> None:
    totals = price_cart([], Discount("percent", D("10"), "x"), "exclusive", "rate")
    assert (totals.total, totals.tax_total, totals.lines, totals.tax_summary) == (0, 0, [], [])


def test_bad_inputs_refused() -> None:
    with pytest.raises(ValueError, match="percent"):
        Discount("percent", D("120"), "too much")
    with pytest.raises(ValueError):
        Discount("amount", D("-1"), "negative")
    with pytest.raises(ValueError):
        Discount("bogus", D("1"), "x")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="quantity"):
        line("1", "1.00", qty="-1")
    with pytest.raises(ValueError, match="unit price"):
        line("1", "NaN")
    with pytest.raises(ValueError):
        price_cart([], None, "sideways", "line")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("discount", "base", "expected"),
    [
        (Discount("percent", D("10"), "x"), "50.00", False),  # exactly at 10 %: no approval
        (Discount("percent", D("10.5"), "x"), "50.00", True),  # above 10 %
        (Discount("percent", D("10"), "x"), "300.00", True),  # 30.00 is above 20.00
        (Discount("amount", D("5.00"), "x"), "50.00", False),  # 10 % and 5.00
        (Discount("amount", D("5.01"), "x"), "50.00", True),  # 10.02 %
        (Discount("amount", D("20.01"), "x"), "1000.00", True),  # 2 % but above 20.00
        (Discount("amount", D("50.00"), "x"), "0.00", False),  # nothing to take off
    ],
)
def test_discount_exceeds(discount: Discount, base: str, expected: bool) -> None:
    assert discount_exceeds(discount, D(base), D("10"), D("20.00")) is expected


def test_allocate_cents_examples() -> None:
    assert allocate_cents(1000, [1, 1, 1]) == [334, 333, 333]
    assert allocate_cents(100, [0, 5, 0]) == [0, 100, 0]
    assert allocate_cents(0, [0, 0]) == [0, 0]
    # Exact shares 0.4 / 0.8 / 0.8 cent: all floor to 0, and the 2 cents left go to the two larger remainders.
    assert allocate_cents(2, [1, 2, 2]) == [0, 1, 1]
    with pytest.raises(ValueError):
        allocate_cents(5, [0, 0])


# --- properties -----------------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=500, places=2, allow_nan=False, allow_infinity=False)
discounts = st.one_of(
    st.none(),
    st.builds(
        Discount,
        kind=st.just("percent"),
        value=st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False),
        reason=st.just("p"),
    ),
    st.builds(Discount, kind=st.just("amount"), value=money, reason=st.just("a")),
)
rates = st.sampled_from([D("0"), D("0.055"), D("0.07"), D("0.10"), D("0.19"), D("0.20"), D("0.21")])


@st.composite
def cart_lines(draw: st.DrawFn) -> CartLineIn:
    n = draw(st.integers(min_value=0, max_value=10**6))
    return CartLineIn(
        line_id=str(n),
        sku="S",
        name="N",
        qty=draw(st.decimals(min_value=0, max_value=50, places=3, allow_nan=False, allow_infinity=False)),
        unit_price=draw(
            st.decimals(min_value=0, max_value=200, places=3, allow_nan=False, allow_infinity=False)
        ),
        tax_rate=draw(rates),
        tax_class=draw(st.sampled_from(["A", "B", "C"])),
        price_override=draw(st.one_of(st.none(), money)),
        discount=draw(discounts),
        voided=draw(st.booleans()),
        fixed_amount=draw(st.one_of(st.none(), money)),
    )


carts = st.lists(cart_lines(), max_size=25)
modes = st.sampled_from(["exclusive", "inclusive"])
roundings = st.sampled_from(["line", "rate", "order"])


@settings(max_examples=300, deadline=None)
@given(carts, discounts, modes, roundings)
def test_cart_figures_always_agree(
    lines: list[CartLineIn], order: Discount | None, mode: str, rnd: str
) -> None:
    # total == sum of line totals; summary tax == tax_total; order shares sum exactly; nothing negative.
    totals = price_cart(lines, order, mode, rnd)  # type: ignore[arg-type]
    assert_consistent(totals)
    assert len(totals.lines) == len(lines)


@settings(max_examples=200, deadline=None)
@given(carts, discounts, modes)
def test_line_and_order_rounding_differ_by_rounding_only(
    lines: list[CartLineIn], order: Discount | None, mode: str
) -> None:
    # Same nets either way; per tax group the two taxes differ by at most half a cent per line.
    per_line = price_cart(lines, order, mode, "line")  # type: ignore[arg-type]
    per_order = price_cart(lines, order, mode, "rate")  # type: ignore[arg-type]
    assert [lp.net for lp in per_line.lines] == [lp.net for lp in per_order.lines]
    for a, b in zip(per_line.tax_summary, per_order.tax_summary, strict=True):
        members = sum(
            1 for ln in lines if not ln.voided and (ln.tax_class, ln.tax_rate) == (a.tax_class, a.rate)
        )
        assert abs(a.tax - b.tax) <= D("0.005") * members


@given(
    st.integers(min_value=0, max_value=10**7),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=50),
)
def test_allocate_cents_sums_exactly_and_stays_within_a_cent(total: int, weights: list[int]) -> None:
    if sum(weights) == 0:
        weights = [*weights[:-1], 1]
    shares = allocate_cents(total, weights)
    assert sum(shares) == total
    for share, w in zip(shares, weights, strict=True):
        exact_floor, rem = divmod(total * w, sum(weights))
        assert share in (exact_floor, exact_floor + (1 if rem else 0))


def test_a_200_line_cart_prices_consistently() -> None:
    # How fast is `benchmarks/sell.py`'s cart recalculation figure, not a timed test (a loaded runner fails those).
    # Mixed cart: weights, discounts, two tax classes, a few voids, an order discount, order rounding.
    cart = [
        line(
            str(i),
            f"{1 + i % 37}.{i % 100:02d}",
            qty=f"{1 + i % 3}.{i % 7}",
            rate=VAT20 if i % 2 else D("0.055"),
            tax_class="A" if i % 2 else "B",
            discount=Discount("percent", D("5"), "promo") if i % 5 == 0 else None,
            voided=i % 50 == 0,
        )
        for i in range(200)
    ]
    order = Discount("amount", D("25.00"), "voucher")
    totals = price_cart(cart, order, "exclusive", "rate")
    assert_consistent(totals)
    assert len(totals.lines) == 200
