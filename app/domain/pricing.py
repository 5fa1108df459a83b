"""Pricing of a counter sale: line amounts, line and order discounts, tax, and the totals of a cart.

Pure rules on ``Decimal`` (no I/O, no database): the sales service passes the cart lines in and gets back
every figure the screen, the receipt and the ledger show. Each rule is applied in exactly one way:

* **Line amount** = unit price (or the price override, when set) x quantity, rounded to cents half up.
  A line with ``fixed_amount`` (a price-embedded label) uses that amount as is; its quantity is for display.
* **Line discount**: ``percent`` takes that percent of the line amount, rounded to cents half up;
  ``amount`` takes that amount, capped at the line amount. Percent values are percents (``10`` = 10 %).
* **Order discount**: ``percent`` or ``amount`` of the subtotal after line discounts (capped at it), then
  shared out to the lines pro rata by their amount after line discount, using the largest-remainder method:
  each line gets its share floored to the cent, and the cents left over go one each to the lines with the
  largest remainders (earlier line first on a tie). The shares therefore sum exactly to the order discount.
* **Net amount** of a line = line amount - line discount - order-discount share. Discounts never make a
  line negative (both caps above guarantee it).
* **Tax mode** ``exclusive``: prices exclude tax and tax = net x rate is added on top.
  ``inclusive``: prices include tax and tax = net x rate / (1 + rate) is the part of the net that is tax.
  Either way ``taxable`` is the tax base excluding tax, and a line's total is what the customer pays for it.
* **Rounding** ``line``: each line's tax is rounded to cents half up, and the totals are the sums.
  ``rate``: per tax group (tax class and rate) the tax is computed once on the summed net amounts and
  rounded to cents half up; that group tax is then shared to its lines pro rata by net amount with the same
  largest-remainder method, so line totals still sum to the cart total.
  ``order``: the exact tax of every line is summed over the whole order and rounded once to cents half up;
  that order tax is shared to the lines pro rata by their exact tax (largest remainder). In every mode the tax
  summary, the line taxes and ``tax_total`` agree to the cent.
* The rule a store sells under is printed on its receipts and Z reports as :func:`rule_text` words it.
* **Voided lines** stay in the result (for display, with ``display_amount``) but every counted figure is zero.
* ``total`` is the amount due: sum of line totals = subtotal - discount_total (+ tax_total when exclusive).

Worked figures are in ``tests/domain/test_pricing.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from app.domain.money import CENT, ZERO

DiscountKind = Literal["percent", "amount"]
TaxMode = Literal["exclusive", "inclusive"]
Rounding = Literal["line", "rate", "order"]
TAX_MODES: tuple[TaxMode, ...] = ("inclusive", "exclusive")
ROUNDINGS: tuple[Rounding, ...] = ("line", "rate", "order")

_HUNDRED = Decimal(100)
_TAX_WEIGHT_PLACES = 8


def _cents(x: Decimal) -> Decimal:
    # Local and unchecked: pricing inputs are validated once in __post_init__, and this runs per figure.
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def _check_amount(name: str, value: Decimal) -> None:
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise ValueError(f"{name} must be a Decimal of 0 or more, got {value!r}")


@dataclass(frozen=True, slots=True)
class Discount:
    """A discount on a line or on the whole order; ``value`` is a percent (10 = 10 %) or an amount."""

    kind: DiscountKind
    value: Decimal
    reason: str

    def __post_init__(self) -> None:
        if self.kind not in ("percent", "amount"):
            raise ValueError(f"discount kind must be 'percent' or 'amount', got {self.kind!r}")
        _check_amount("discount value", self.value)
        if self.kind == "percent" and self.value > _HUNDRED:
            raise ValueError(f"a percent discount cannot exceed 100, got {self.value}")

    def amount_on(self, base: Decimal) -> Decimal:
        """The discount in cents on ``base``: percent rounded half up, or the amount capped at ``base``."""
        if self.kind == "percent":
            return _cents(base * self.value / _HUNDRED)
        return min(_cents(self.value), base)


@dataclass(frozen=True, slots=True)
class CartLineIn:
    """One cart line as the sales service knows it. ``tax_rate`` is a fraction (``Decimal("0.20")``)."""

    line_id: str
    sku: str
    name: str
    qty: Decimal
    unit_price: Decimal
    tax_rate: Decimal
    tax_class: str
    price_override: Decimal | None = None
    discount: Discount | None = None
    voided: bool = False
    fixed_amount: Decimal | None = None

    def __post_init__(self) -> None:
        # Returns are their own workflow; a negative line here would let a discount push totals the wrong way.
        _check_amount(f"quantity of line {self.line_id}", self.qty)
        _check_amount(f"unit price of line {self.line_id}", self.unit_price)
        _check_amount(f"tax rate of line {self.line_id}", self.tax_rate)
        if self.price_override is not None:
            _check_amount(f"price override of line {self.line_id}", self.price_override)
        if self.fixed_amount is not None:
            _check_amount(f"fixed amount of line {self.line_id}", self.fixed_amount)

    def line_amount(self) -> Decimal:
        """The line amount before discounts (see the module rules)."""
        if self.fixed_amount is not None:
            return _cents(self.fixed_amount)
        price = self.unit_price if self.price_override is None else self.price_override
        return _cents(price * self.qty)


@dataclass(frozen=True, slots=True)
class LinePrice:
    """The priced line. For a voided line every counted figure is zero; ``display_amount`` keeps its amount."""

    line_id: str
    tax_class: str
    tax_rate: Decimal
    voided: bool
    display_amount: Decimal
    gross: Decimal
    line_discount: Decimal
    order_discount_share: Decimal
    net: Decimal
    taxable: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class TaxSummaryRow:
    """Tax of one tax group for the receipt: ``taxable`` excludes tax in both tax modes."""

    tax_class: str
    rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class CartTotals:
    """Everything a cart adds up to; ``total`` is the amount due."""

    lines: list[LinePrice]
    subtotal: Decimal
    line_discount_total: Decimal
    order_discount: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    tax_summary: list[TaxSummaryRow] = field(default_factory=list)
    tax_mode: TaxMode = "exclusive"
    rounding: Rounding = "line"


def allocate_cents(total: int, weights: Sequence[int]) -> list[int]:
    """Share ``total`` cents pro rata to ``weights`` by the largest-remainder method; the result sums to ``total``.

    Each share is floored; the cents left over go to the largest remainders, the earlier index first on a tie.
    Integer arithmetic only, so there is no rounding error to chase.
    """
    if total < 0 or any(w < 0 for w in weights):
        raise ValueError("allocate_cents needs a total and weights of 0 or more")
    weight_sum = sum(weights)
    if weight_sum == 0:
        if total:
            raise ValueError(f"cannot share {total} cents over weights that sum to zero")
        return [0] * len(weights)
    shares: list[int] = []
    remainders: list[int] = []
    for w in weights:
        q, r = divmod(total * w, weight_sum)
        shares.append(q)
        remainders.append(r)
    left = total - sum(shares)
    if left:
        # left < number of weights with a non-zero remainder, so each gets at most one extra cent.
        for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i))[:left]:
            shares[i] += 1
    return shares


def _to_cents_int(x: Decimal) -> int:
    return int(x.scaleb(2))


def _from_cents_int(n: int) -> Decimal:
    return Decimal(n).scaleb(-2)


def _exact_tax(net: Decimal, rate: Decimal, tax_mode: TaxMode) -> Decimal:
    if tax_mode == "exclusive":
        return net * rate
    return net * rate / (1 + rate)


def price_cart(
    lines: Iterable[CartLineIn],
    order_discount: Discount | None,
    tax_mode: TaxMode,
    rounding: Rounding,
) -> CartTotals:
    """Price a cart by the module rules and return per-line figures, totals and the tax summary."""
    if tax_mode not in ("exclusive", "inclusive"):
        raise ValueError(f"tax mode must be 'exclusive' or 'inclusive', got {tax_mode!r}")
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be 'line', 'rate' or 'order', got {rounding!r}")
    items = list(lines)

    display: list[Decimal] = []
    gross: list[Decimal] = []
    line_disc: list[Decimal] = []
    after_line: list[Decimal] = []
    for line in items:
        amount = line.line_amount()
        display.append(amount)
        if line.voided:
            gross.append(ZERO)
            line_disc.append(ZERO)
            after_line.append(ZERO)
            continue
        disc = line.discount.amount_on(amount) if line.discount is not None else ZERO
        gross.append(amount)
        line_disc.append(disc)
        after_line.append(amount - disc)

    base = sum(after_line, ZERO)
    order_disc = order_discount.amount_on(base) if order_discount is not None else ZERO
    after_cents = [_to_cents_int(a) for a in after_line]
    share_cents = allocate_cents(_to_cents_int(order_disc), after_cents)
    net_cents = [a - s for a, s in zip(after_cents, share_cents, strict=True)]
    nets = [_from_cents_int(n) for n in net_cents]

    # Tax groups keyed by (class, rate): two rates under one class name must never be summed together.
    groups: dict[tuple[str, Decimal], list[int]] = {}
    for i, line in enumerate(items):
        if not line.voided:
            groups.setdefault((line.tax_class, line.tax_rate), []).append(i)

    taxes = [ZERO] * len(items)
    if rounding == "order":
        counted = [i for i, line in enumerate(items) if not line.voided]
        exact = {i: _exact_tax(nets[i], items[i].tax_rate, tax_mode) for i in counted}
        order_tax = _cents(sum(exact.values(), ZERO))
        # Weights in units far below a cent, so the shares follow the exact taxes closely.
        weights = [int(exact[i].scaleb(_TAX_WEIGHT_PLACES)) for i in counted]
        if sum(weights) == 0:
            weights = [net_cents[i] for i in counted]
        for i, t in zip(counted, allocate_cents(_to_cents_int(order_tax), weights), strict=True):
            taxes[i] = _from_cents_int(t)
    for (_, rate), members in groups.items() if rounding != "order" else ():
        if rounding == "line":
            for i in members:
                taxes[i] = _cents(_exact_tax(nets[i], rate, tax_mode))
        else:
            group_net = sum((nets[i] for i in members), ZERO)
            group_tax = _cents(_exact_tax(group_net, rate, tax_mode))
            tax_cents = allocate_cents(_to_cents_int(group_tax), [net_cents[i] for i in members])
            for i, t in zip(members, tax_cents, strict=True):
                taxes[i] = _from_cents_int(t)

    exclusive = tax_mode == "exclusive"
    priced: list[LinePrice] = []
    for i, line in enumerate(items):
        net, tax = nets[i], taxes[i]
        priced.append(
            LinePrice(
                line_id=line.line_id,
                tax_class=line.tax_class,
                tax_rate=line.tax_rate,
                voided=line.voided,
                display_amount=display[i],
                gross=gross[i],
                line_discount=line_disc[i],
                order_discount_share=_from_cents_int(share_cents[i]),
                net=net,
                taxable=net if exclusive else net - tax,
                tax=tax,
                total=net + tax if exclusive else net,
            )
        )

    summary = [
        TaxSummaryRow(
            tax_class=tax_class,
            rate=rate,
            taxable=sum((priced[i].taxable for i in members), ZERO),
            tax=sum((priced[i].tax for i in members), ZERO),
        )
        for (tax_class, rate), members in sorted(groups.items(), key=lambda kv: kv[0])
    ]

    line_discount_total = sum(line_disc, ZERO)
    return CartTotals(
        lines=priced,
        subtotal=sum(gross, ZERO),
        line_discount_total=line_discount_total,
        order_discount=order_disc,
        discount_total=line_discount_total + order_disc,
        tax_total=sum(taxes, ZERO),
        total=sum((p.total for p in priced), ZERO),
        tax_summary=summary,
        tax_mode=tax_mode,
        rounding=rounding,
    )


def discount_exceeds(
    discount: Discount,
    line_amount: Decimal,
    threshold_percent: Decimal,
    threshold_amount: Decimal,
) -> bool:
    """Whether ``discount`` on ``line_amount`` needs a manager: its percent or its amount is above a threshold.

    ``line_amount`` is what the discount applies to (a line amount, or the subtotal for an order discount).
    The discount is measured as pricing applies it (percent rounded to cents, amount capped at the base),
    and only strictly above a threshold needs approval: exactly at the threshold is the cashier's to give.
    """
    _check_amount("line amount", line_amount)
    amount = discount.amount_on(_cents(line_amount))
    if discount.kind == "percent":
        percent = discount.value
    elif line_amount > 0:
        percent = amount * _HUNDRED / line_amount
    else:
        percent = ZERO
    return percent > threshold_percent or amount > threshold_amount


_MODE_WORDS = {"inclusive": "Prices include tax", "exclusive": "Tax added to prices"}
_ROUNDING_WORDS = {
    "line": "tax rounded per line",
    "rate": "tax rounded per rate",
    "order": "tax rounded per order",
}


def rounding_of(text: str) -> Rounding:
    """A stored tax rounding setting as a rule; an unknown value (a newer version's) is taken per line."""
    for rounding in ROUNDINGS:
        if text == rounding:
            return rounding
    return "line"


def rule_text(tax_mode: str, rounding: str, cash_step: Decimal | None) -> str:
    """The store's pricing rule in a cashier's and a customer's words, as receipts and Z reports print it:
    "Prices include tax; tax rounded per line; cash rounded to 0.05"."""
    parts = [_MODE_WORDS.get(tax_mode, tax_mode), _ROUNDING_WORDS.get(rounding, rounding)]
    if cash_step:
        parts.append(f"cash rounded to {cash_step}")
    return "; ".join(parts)
