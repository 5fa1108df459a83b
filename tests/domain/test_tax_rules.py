"""Tax rates kept exactly, the three tax rounding rules, and the rule as receipts print it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.money import RATE_PLACES, check_rate, parse_rate
from app.domain.pricing import CartLineIn, price_cart, rule_text

D = Decimal


def line(line_id: str, price: str, rate: str, tax_class: str) -> CartLineIn:
    return CartLineIn(line_id, f"S{line_id}", f"Item {line_id}", D(1), D(price), D(rate), tax_class)


def test_rates_are_kept_exactly_or_refused() -> None:
    assert RATE_PLACES == 6
    assert parse_rate("0.08875") == D("0.08875")
    assert parse_rate(" 0.0725 ") == D("0.0725")
    assert check_rate(D("0.123456")) == D("0.123456")
    with pytest.raises(ValueError, match="more than 6 decimals"):
        parse_rate("0.0887512345")
    with pytest.raises(ValueError, match="from 0 to below 1"):
        parse_rate("8.875")
    with pytest.raises(ValueError, match="not a number"):
        parse_rate("abc")


def test_a_sale_at_8_875_percent_is_taxed_at_8_875_percent() -> None:
    # 100.00 at 8.875 % on top: 8.875 exactly -> 8.88 (at the old rounded 8.9 % it was 8.90).
    totals = price_cart([line("1", "100.00", "0.08875", "NY")], None, "exclusive", "line")
    assert totals.tax_total == D("8.88") and totals.total == D("108.88")


def test_per_line_per_rate_and_per_order_rounding() -> None:
    # Two lines at 10 % and two at 20 %, exclusive. Exact taxes 0.105, 0.105 (class L) and 0.21, 0.21 (class H):
    # per line 0.11 + 0.11 + 0.21 + 0.21 = 0.64; per rate round(0.21) + round(0.42) = 0.63;
    # per order round(0.63) = 0.63 as well, but split over the lines by their exact tax.
    cart = [
        line("1", "1.05", "0.10", "L"),
        line("2", "1.05", "0.10", "L"),
        line("3", "1.05", "0.20", "H"),
        line("4", "1.05", "0.20", "H"),
    ]
    per_line = price_cart(cart, None, "exclusive", "line")
    per_rate = price_cart(cart, None, "exclusive", "rate")
    per_order = price_cart(cart, None, "exclusive", "order")
    assert per_line.tax_total == D("0.64")
    assert per_rate.tax_total == D("0.63")
    assert per_order.tax_total == D("0.63")
    for totals in (per_line, per_rate, per_order):
        assert sum((r.tax for r in totals.tax_summary), D(0)) == totals.tax_total
        assert sum((lp.total for lp in totals.lines), D(0)) == totals.total


def test_per_order_rounding_rounds_once_over_every_rate() -> None:
    # Exact taxes 0.0044 (class L, 1 %), 0.0044 (class M, 2 % of 0.22) and 0.0044 (class H, 4 % of 0.11):
    # per line and per rate each rounds to 0.00; per order 0.0132 -> 0.01 once.
    cart = [line("1", "0.44", "0.01", "L"), line("2", "0.22", "0.02", "M"), line("3", "0.11", "0.04", "H")]
    assert price_cart(cart, None, "exclusive", "line").tax_total == D("0.00")
    assert price_cart(cart, None, "exclusive", "rate").tax_total == D("0.00")
    per_order = price_cart(cart, None, "exclusive", "order")
    assert per_order.tax_total == D("0.01")
    assert sorted(lp.tax for lp in per_order.lines) == [D("0.00"), D("0.00"), D("0.01")]


def test_rule_text() -> None:
    assert rule_text("inclusive", "line", None) == "Prices include tax; tax rounded per line"
    assert (
        rule_text("exclusive", "order", D("0.05"))
        == "Tax added to prices; tax rounded per order; cash rounded to 0.05"
    )
