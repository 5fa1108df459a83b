"""Money and quantity conventions for Counterline: every amount is a ``Decimal`` in the store currency.

This module owns how amounts are rounded (half up, to cents), converted to and from integer minor units,
parsed from what a cashier types, and rounded for cash where the smallest coin is 0.05 or 0.10. It also
owns the quantity scale (3 decimals, enough for grams and millilitres) and the tax rate scale: a rate is a fraction
kept exactly to 6 decimals (0.08875 is 8.875 %), and a rate with more decimals is refused, never rounded. Floats
never enter: a float
cannot hold 0.10 exactly, and one stray float makes totals drift by a cent.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TypeAlias

Money: TypeAlias = Decimal
"""An amount in the store currency. Always a ``Decimal``; amounts that leave pricing are whole cents."""

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
QTY_PLACES = 3
RATE_PLACES = 6
"""Decimals a tax rate (a fraction) is kept to: 0.088750 is 8.875 %; every rate in use fits exactly."""

# One optional sign, whole units, then "." or "," and at most 2 decimals; ASCII digits only, so full-width
# or other script digits never become money by accident. A leading separator (",50") is accepted because
# cashiers type it for cents.
_MONEY_RE = re.compile(r"([+-]?)(\d*)(?:[.,](\d*))?", re.ASCII)
# A weight or a quantity as typed or read off a scale display: digits, then "." or "," and at most 3 decimals
# (grams). Python's Decimal would also read "1e3" (a thousand), "NaN" and "1_000"; none of them is typed on purpose.
_WEIGHT_RE = re.compile(r"(\d*)(?:[.,](\d*))?", re.ASCII)


def quantize_money(x: Decimal, places: int = 2) -> Decimal:
    """Round ``x`` to ``places`` decimals, half up.

    Rule: ties go away from zero (``ROUND_HALF_UP``): 0.005 -> 0.01, 0.0049 -> 0.00, -0.005 -> -0.01.
    This is the rounding every rule in pricing, tax and tenders uses, so the receipt and the ledger agree.
    """
    if not isinstance(x, Decimal):
        raise TypeError(f"money must be a Decimal, got {type(x).__name__}")
    if not x.is_finite():
        raise ValueError(f"money must be a finite number, got {x}")
    return x.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def to_minor(x: Decimal) -> int:
    """Whole cents of ``x``. Refuses amounts with fractions of a cent instead of rounding them silently.

    Round first with :func:`quantize_money` when the amount comes from a computation.
    """
    rounded = quantize_money(x)
    if rounded != x:
        raise ValueError(f"{x} is not a whole number of cents; round it with quantize_money first")
    return int(rounded.scaleb(2))


def from_minor(n: int) -> Decimal:
    """The amount for ``n`` cents, with 2 decimals (``1234 -> Decimal("12.34")``)."""
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"minor units must be an int, got {type(n).__name__}")
    return Decimal(n).scaleb(-2).quantize(CENT)


def parse_money(text: str, *, allow_negative: bool = False) -> Decimal:
    """Read an amount a person typed: ``"12"``, ``"12.5"``, ``"12,50"``, ``",50"``; returns it with 2 decimals.

    Refused with a ``ValueError`` whose message can be shown as is: empty text, letters, NaN or infinity,
    thousands separators, more than 2 decimals, and negative amounts unless ``allow_negative``.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("Enter an amount, for example 12.50")
    if cleaned.lstrip("+-").lower() in {"nan", "snan", "inf", "infinity"}:
        raise ValueError(f"'{cleaned}' is not a number: enter an amount, for example 12.50")
    match = _MONEY_RE.fullmatch(cleaned)
    if match is None:
        raise ValueError(
            f"'{text.strip()}' is not an amount: use digits and one '.' or ',', for example 12.50"
        )
    sign, units, decimals = match.groups()
    if not units and not decimals:
        raise ValueError(f"'{cleaned}' is not an amount: use digits, for example 12.50")
    if decimals is not None and len(decimals) > 2:
        raise ValueError(f"'{cleaned}' has more than 2 decimals: amounts are in whole cents")
    try:
        value = Decimal(f"{sign}{units or '0'}.{decimals or '0'}")
    except InvalidOperation as exc:  # the pattern should make this unreachable; keep the message friendly
        raise ValueError(f"'{cleaned}' is not an amount") from exc
    if value < 0 and not allow_negative:
        raise ValueError(f"'{cleaned}' is negative: enter an amount of 0 or more")
    return quantize_money(value)


def round_cash(amount: Decimal, step: Decimal) -> Decimal:
    """Round ``amount`` to the nearest multiple of ``step`` (e.g. 0.05 or 0.10), ties half up.

    With step 0.05: 10.02 -> 10.00, 10.025 -> 10.05 (tie goes up), 10.03 -> 10.05, 10.07 -> 10.05, 10.08 -> 10.10.
    """
    if not step.is_finite() or step <= 0:
        raise ValueError(f"cash rounding step must be a positive amount, got {step}")
    multiples = (amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return quantize_money(multiples * step)


def quantize_qty(x: Decimal) -> Decimal:
    """Round a quantity to 3 decimals, half up (grams of a kilo, millilitres of a litre)."""
    if not isinstance(x, Decimal):
        raise TypeError(f"quantity must be a Decimal, got {type(x).__name__}")
    if not x.is_finite():
        raise ValueError(f"quantity must be a finite number, got {x}")
    return x.quantize(Decimal(1).scaleb(-QTY_PLACES), rounding=ROUND_HALF_UP)


def check_rate(rate: Decimal) -> Decimal:
    """A tax rate as a fraction from 0 to below 1 with at most :data:`RATE_PLACES` decimals, returned unchanged.

    Refused with a ``ValueError`` that can be shown as is: anything else, and more decimals than are kept, since a
    rate stored rounded taxes every sale at it wrongly.
    """
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise ValueError(
            f"tax rate {rate!r} is not a number: give a fraction, for example 0.08875 for 8.875 %"
        )
    if not Decimal(0) <= rate < Decimal(1):
        raise ValueError(f"tax rate {rate} must be a fraction from 0 to below 1 (0.20 is 20 %)")
    if rate != rate.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise ValueError(
            f"tax rate {rate} has more than {RATE_PLACES} decimals: rates are kept exactly to {RATE_PLACES} "
            f"(for example 0.08875 for 8.875 %); give it with {RATE_PLACES} decimals or fewer"
        )
    return rate


def parse_rate(text: str) -> Decimal:
    """Read a tax rate typed as a fraction (``"0.08875"``) and check it with :func:`check_rate`."""
    try:
        rate = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise ValueError(
            f"tax rate {text!r} is not a number: give a fraction, for example 0.08875 for 8.875 %"
        ) from None
    return check_rate(rate)


def parse_weight(text: str) -> Decimal:
    """Read a weight in kg a person typed: ``"1.25"``, ``"0,480"``, ``".5"``; returns it with 3 decimals.

    Refused with a ``ValueError`` whose message can be shown as is: empty text, letters, exponents (``1e3``),
    signs, more than 3 decimals (finer than a gram) and 0.
    """
    cleaned = text.strip()
    if cleaned.lower().endswith("kg"):
        cleaned = cleaned[:-2].strip()
    if not cleaned:
        raise ValueError("Enter the weight in kg, for example 0.480")
    match = _WEIGHT_RE.fullmatch(cleaned)
    if match is None or not (match.group(1) or match.group(2)):
        raise ValueError(
            f"'{text.strip()}' is not a weight: use digits and one '.' or ',', for example 0.480"
        )
    units, decimals = match.groups()
    if decimals is not None and len(decimals) > QTY_PLACES:
        raise ValueError(
            f"'{cleaned}' has more than {QTY_PLACES} decimals: weigh to the gram, for example 0.480"
        )
    value = Decimal(f"{units or '0'}.{decimals or '0'}")
    if value <= 0:
        raise ValueError("The weight must be more than 0: put the item on the scale.")
    return quantize_qty(value)


def parse_qty(text: str) -> Decimal:
    """Read a line's quantity a person typed (pieces, or kg for a weighed item): ``"3"``, ``"1.5"``, ``"0,250"``.

    Plain digits only, as :func:`parse_weight`: refused with a ``ValueError`` whose message can be shown as is are
    empty text, letters, exponents (``1e3`` is not a thousand), signs and more than 3 decimals. Whether the quantity
    suits the item (more than 0, whole pieces) is the sale's rule, checked where the quantity is set.
    """
    cleaned = text.strip()
    if not cleaned:
        raise ValueError("Enter a quantity, for example 3 or 1.5")
    match = _WEIGHT_RE.fullmatch(cleaned)
    if match is None or not (match.group(1) or match.group(2)):
        raise ValueError(f"'{cleaned}' is not a quantity: type digits only, for example 3 or 1.5")
    units, decimals = match.groups()
    if decimals is not None and len(decimals) > QTY_PLACES:
        raise ValueError(
            f"'{cleaned}' has more than {QTY_PLACES} decimals: type it to the gram, for example 1.255"
        )
    return Decimal((units or "0") + (f".{decimals}" if decimals else ""))
