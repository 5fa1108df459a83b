"""Tenders of a counter sale: how payments settle the amount due, cash rounding, change, and drawer counts.

Pure rules on ``Decimal``. :func:`settle` takes the tenders in the order the cashier entered them:

* Card, store credit and gift card pay exact cents and may never pay more than is still due: an over-tender
  is refused with :class:`TenderError` (change is only ever given in cash).
* Cash rounding (``cash_rounding`` = 0.05 or 0.10, ``None`` for none) applies only to a remainder paid fully
  in cash: when a cash tender covers the still-due amount rounded to the step (half up), the sale is complete,
  the difference between the rounded and the exact remainder is the ``rounding_adjustment``, and the cash above
  the rounded remainder is the ``change``. A card that pays the remainder pays it to the cent, unrounded.
  With cash rounding on, cash tenders must be multiples of the step (no smaller coins exist to hand over).
* Once the sale is complete, any further tender is refused.
* ``complete`` when ``paid >= rounded_due``; ``remaining`` and ``change`` are never negative.
  While the sale is open, ``remaining_in_cash`` says what the rest costs if it is paid in cash.
* A cash tender of 0.00 is allowed to close a remainder that cash rounding takes to zero (e.g. 0.02 at 0.05).

:func:`denomination_total` and :func:`over_short` serve the drawer count at the end of a shift.

:func:`card_number_spans` finds what could be a card number in free text, however its digits are separated
(``4111 1111 1111 1111``, ``4111-1111-...``, ``4111.1111...``, ``4111/1111...``, ``4111_1111...``): the card
tender's reference field refuses such text and log redaction blanks it, through this one function.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, get_args

from app.domain.money import ZERO, quantize_money, round_cash

TenderKind = Literal["cash", "card", "store_credit", "gift_card"]
# TenderIn also takes EXCHANGE (below): an exchange's credit settles like a card, exact cents and no change.

# The tenders a till takes, in the order reports, counts and the Pay dialog list them: defined here once.
KINDS: tuple[str, ...] = get_args(TenderKind)
# The order in which a return's refund goes back to the sale's tenders (app.domain.refunds states the rule): the
# card first, up to what it paid, then cash, then gift card, then store credit.
REFUND_ORDER: tuple[str, ...] = ("card", "cash", "gift_card", "store_credit")
# An exchange's credit: the part of a return's refund that pays the exchange's new sale (app.domain.refunds states
# the rule). Not a tender the Pay dialog offers: the Returns desk puts it on the sale, and the return gives it out.
EXCHANGE = "exchange"
WORDS: dict[str, str] = {
    "cash": "Cash",
    "card": "Card",
    "store_credit": "Store credit",
    "gift_card": "Gift card",
    EXCHANGE: "Exchange credit",
}


class TenderError(ValueError):
    """A tender the sale cannot take; the message is written for the cashier and can be shown as is."""


@dataclass(frozen=True, slots=True)
class TenderIn:
    """One payment as entered: its kind and amount (cents; more than 0, except a closing 0.00 in cash)."""

    kind: TenderKind
    amount: Decimal

    def __post_init__(self) -> None:
        if self.kind not in KINDS and self.kind != EXCHANGE:
            raise ValueError(f"tender kind must be one of {', '.join(KINDS)}, got {self.kind!r}")
        if not isinstance(self.amount, Decimal) or not self.amount.is_finite():
            raise ValueError(f"tender amount must be a Decimal, got {self.amount!r}")
        if quantize_money(self.amount) != self.amount:
            raise ValueError(f"tender amount must be whole cents, got {self.amount}")
        if self.amount < 0 or (self.amount == 0 and self.kind != "cash"):
            raise ValueError(f"{WORDS[self.kind]} amount must be more than 0, got {self.amount}")


@dataclass(frozen=True, slots=True)
class Settlement:
    """Where payment of a sale stands after its tenders."""

    due: Decimal
    paid: Decimal
    remaining: Decimal
    change: Decimal
    rounded_due: Decimal
    rounding_adjustment: Decimal
    complete: bool
    remaining_in_cash: Decimal


def settle(total: Decimal, tenders: list[TenderIn], cash_rounding: Decimal | None) -> Settlement:
    """Apply ``tenders`` in order to a sale of ``total`` by the module rules; raise :class:`TenderError` on a refusal."""
    if not isinstance(total, Decimal) or not total.is_finite() or total < 0:
        raise ValueError(f"amount due must be a Decimal of 0 or more, got {total!r}")
    if cash_rounding is not None and (not cash_rounding.is_finite() or cash_rounding <= 0):
        raise ValueError(f"cash rounding step must be a positive amount, got {cash_rounding}")
    due = quantize_money(total)
    paid = ZERO
    adjustment = ZERO
    complete = due == 0
    for tender in tenders:
        word = WORDS[tender.kind]
        if complete:
            raise TenderError(
                f"The sale is already paid: remove the extra {word.lower()} payment of {tender.amount}."
            )
        remaining = due - paid
        if tender.kind != "cash":
            if tender.amount > remaining:
                raise TenderError(
                    f"{word} payment of {tender.amount} is more than the {remaining} still due: "
                    f"enter {remaining} or less ({word.lower()} gives no change)."
                )
            paid += tender.amount
            complete = paid >= due
            continue
        if cash_rounding is not None and round_cash(tender.amount, cash_rounding) != tender.amount:
            raise TenderError(
                f"Cash of {tender.amount} cannot be handed over: cash is counted in steps of {cash_rounding}."
            )
        target = round_cash(remaining, cash_rounding) if cash_rounding is not None else remaining
        if tender.amount == 0 and target > 0:
            raise TenderError(f"Cash of 0.00 pays nothing: {target} is still due in cash.")
        paid += tender.amount
        if tender.amount >= target:
            adjustment = target - remaining
            complete = True

    rounded_due = due + adjustment
    remaining_now = max(rounded_due - paid, ZERO)
    if complete:
        remaining_in_cash = ZERO
    elif cash_rounding is not None:
        remaining_in_cash = round_cash(remaining_now, cash_rounding)
    else:
        remaining_in_cash = remaining_now
    return Settlement(
        due=due,
        paid=paid,
        remaining=remaining_now,
        change=max(paid - rounded_due, ZERO),
        rounded_due=rounded_due,
        rounding_adjustment=adjustment,
        complete=complete,
        remaining_in_cash=remaining_in_cash,
    )


def denomination_total(counts: dict[Decimal, int]) -> Decimal:
    """The value of a drawer count: each denomination (e.g. ``Decimal("0.05")``) times how many were counted."""
    total = ZERO
    for denomination, count in counts.items():
        if not isinstance(denomination, Decimal) or not denomination.is_finite() or denomination <= 0:
            raise ValueError(f"denomination must be a positive Decimal, got {denomination!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count of {denomination} must be a whole number of 0 or more, got {count!r}")
        total += denomination * count
    return quantize_money(total)


def over_short(expected: Decimal, counted: Decimal) -> Decimal:
    """Counted minus expected: positive when the drawer is over, negative when it is short."""
    return quantize_money(counted - expected)


# A card number (PAN) has 13 to 19 digits and a valid Luhn check digit. People and systems write it with any
# separator between digit groups; up to this many non-alphanumeric characters between two digit groups keep them
# in one run ("4111 - 1111 - ..."). A letter or a line break ends a run.
PAN_MIN_DIGITS = 13
PAN_MAX_DIGITS = 19
_MAX_SEPARATOR = 3


def luhn_valid(digits: str) -> bool:
    """Whether a string of ASCII digits passes the Luhn check (the card number check digit)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _digit_groups(text: str) -> list[tuple[int, int, str]]:
    """Maximal runs of decimal digits (any script, read as ASCII) as (start, end, digits)."""
    groups: list[tuple[int, int, str]] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isdecimal():
            j = i
            while j < n and text[j].isdecimal():
                j += 1
            groups.append((i, j, "".join(str(int(c)) for c in text[i:j])))
            i = j
        else:
            i += 1
    return groups


def _joins(gap: str) -> bool:
    return 0 < len(gap) <= _MAX_SEPARATOR and not any(c.isalnum() or c in "\r\n" for c in gap)


def card_number_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` holds a card number: (start, end) spans of every 13-19 digit Luhn-valid sequence, whatever
    separates its digits (spaces, hyphens, dots, slashes, underscores, ...). Overlapping finds are merged.

    Digit groups joined by at most three separator characters form one run; inside a run every sequence of whole
    groups is checked, so a card number next to another number ("qty 2 4111.1111.1111.1111") is still found.
    """
    groups = _digit_groups(text)
    runs: list[list[tuple[int, int, str]]] = []
    for g in groups:
        if runs and _joins(text[runs[-1][-1][1] : g[0]]):
            runs[-1].append(g)
        else:
            runs.append([g])
    spans: list[tuple[int, int]] = []
    for run in runs:
        if sum(len(g[2]) for g in run) < PAN_MIN_DIGITS:
            continue
        for i in range(len(run)):
            digits = ""
            for j in range(i, len(run)):
                digits += run[j][2]
                if len(digits) > PAN_MAX_DIGITS:
                    break
                if len(digits) >= PAN_MIN_DIGITS and luhn_valid(digits):
                    spans.append((run[i][0], run[j][1]))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def looks_like_card_number(text: str) -> bool:
    """Whether ``text`` holds anything that could be a card number (see :func:`card_number_spans`)."""
    return bool(card_number_spans(text))
