"""Money conventions: half-up rounding, minor units, parsing what cashiers type, cash rounding, quantities."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.money import (
    from_minor,
    parse_money,
    quantize_money,
    quantize_qty,
    round_cash,
    to_minor,
)

D = Decimal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),  # a tie goes up (banker's rounding would give 0.00)
        ("0.015", "0.02"),
        ("0.025", "0.03"),  # banker's rounding would give 0.02
        ("0.0049", "0.00"),
        ("-0.005", "-0.01"),  # ties go away from zero, symmetric for refunds
        ("12.344", "12.34"),
        ("12", "12.00"),
    ],
)
def test_quantize_money_is_half_up(value: str, expected: str) -> None:
    result = quantize_money(D(value))
    assert result == D(expected)
    assert str(result) == expected


def test_quantize_money_other_places() -> None:
    assert quantize_money(D("1.2345"), places=3) == D("1.235")
    assert quantize_money(D("1.5"), places=0) == D("2")


def test_quantize_money_refuses_float_and_nan() -> None:
    with pytest.raises(TypeError):
        quantize_money(1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        quantize_money(D("NaN"))
    with pytest.raises(ValueError):
        quantize_money(D("Infinity"))


def test_minor_units() -> None:
    assert to_minor(D("12.34")) == 1234
    assert to_minor(D("12.3")) == 1230
    assert to_minor(D("-0.05")) == -5
    assert to_minor(D("0")) == 0
    assert from_minor(1234) == D("12.34")
    assert str(from_minor(5)) == "0.05"
    assert str(from_minor(0)) == "0.00"
    assert from_minor(-250) == D("-2.50")


def test_to_minor_refuses_fractions_of_a_cent() -> None:
    with pytest.raises(ValueError, match="whole number of cents"):
        to_minor(D("1.005"))
    with pytest.raises(TypeError):
        from_minor(1.5)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**12), max_value=10**12))
def test_minor_round_trip(cents: int) -> None:
    assert to_minor(from_minor(cents)) == cents


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", "12.00"),
        ("12.5", "12.50"),
        ("12,50", "12.50"),
        ("  7.05 ", "7.05"),
        (",50", "0.50"),
        ("0", "0.00"),
        ("+3", "3.00"),
        ("12.", "12.00"),
    ],
)
def test_parse_money_accepts(text: str, expected: str) -> None:
    assert str(parse_money(text)) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Enter an amount"),
        ("   ", "Enter an amount"),
        ("abc", "not an amount"),
        ("12.345", "more than 2 decimals"),
        ("12,345", "more than 2 decimals"),
        ("1,234.50", "not an amount"),  # thousands separators are ambiguous: refused
        ("1 234", "not an amount"),
        ("-5", "negative"),
        ("NaN", "not a number"),
        ("inf", "not a number"),
        ("-Infinity", "not a number"),
        ("1e3", "not an amount"),
        ("\uff11\uff12", "not an amount"),  # full-width digits
        (".", "not an amount"),
        ("-", "not an amount"),
    ],
)
def test_parse_money_refuses(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_money(text)


def test_parse_money_negative_when_allowed() -> None:
    assert parse_money("-5,5", allow_negative=True) == D("-5.50")


@given(st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False))
def test_parse_money_round_trip(value: Decimal) -> None:
    text = f"{value:f}"
    assert parse_money(text) == value
    assert parse_money(text.replace(".", ",")) == value


@pytest.mark.parametrize(
    ("amount", "step", "expected"),
    [
        ("10.02", "0.05", "10.00"),
        ("10.025", "0.05", "10.05"),  # a tie (half a step) goes up
        ("10.03", "0.05", "10.05"),
        ("10.07", "0.05", "10.05"),
        ("10.08", "0.05", "10.10"),
        ("10.04", "0.10", "10.00"),
        ("10.05", "0.10", "10.10"),  # a tie goes up
        ("0.02", "0.05", "0.00"),
        ("3.00", "0.05", "3.00"),
    ],
)
def test_round_cash(amount: str, step: str, expected: str) -> None:
    assert round_cash(D(amount), D(step)) == D(expected)


def test_round_cash_refuses_bad_step() -> None:
    with pytest.raises(ValueError):
        round_cash(D("1.00"), D("0"))


@given(
    st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False),
    st.sampled_from([D("0.05"), D("0.10")]),
)
def test_round_cash_is_nearest_multiple(amount: Decimal, step: Decimal) -> None:
    rounded = round_cash(amount, step)
    assert rounded % step == 0
    assert abs(rounded - amount) <= step / 2


def test_quantize_qty() -> None:
    assert quantize_qty(D("1.2345")) == D("1.235")
    assert quantize_qty(D("0.0004")) == D("0.000")
    assert str(quantize_qty(D("2"))) == "2.000"
