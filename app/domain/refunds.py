"""Refunds of a return: what each returned unit gives back, and to which tenders. Pure rules on ``Decimal``.

The returns desk of every till decides a refund by these rules from what it knows of the sale (its stored lines
and payments) and of every earlier return of it (its own and the other tills' as sync brought them). The same
figures in give the same refund at every till.

* **What a line paid**: the line's stored ``amount`` (net of its own discount and of its share of the order
  discount, as pricing stored it at the sale) plus, when prices exclude tax, its stored ``tax``; when prices
  include tax the tax is part of the amount. The tax is the line's tax as the sale rounded it (per line, per rate
  or per order): a return never taxes again, it gives back a share of the tax that was charged.
* **A line's refund for k units** is cumulative, so partial returns add up: with Q sold, r returned before and
  N, T the line's amount and tax, the units returned so far are worth ``round(N x (r + k) / Q)`` (cents, half up),
  and this return gives that less what earlier returns of the line already gave back; the same for the tax.
  **The last unit takes the remainder**: when r + k = Q the return gives back exactly N and T less everything
  given back before, so a line's refunds always add up to what was paid for it, to the cent.
* **Never more than was bought**: k may not exceed Q - r (:class:`RefundError`, in the cashier's words).
* **To which tenders** (one rule, the same at every till): the refund goes back to the **card** up to what cards
  paid, then to **cash** up to what cash paid (net of change), then to the **gift card** up to what gift cards
  paid, then to **store credit** up to what store credit paid; any other tender kind last, in the order the sale
  took them. What each tender can still take back is what it paid less what every earlier return of the sale
  already gave back to it, so **no tender ever gets back more than it paid over all the sale's returns**.
* A refund the tenders cannot take (only possible when cash rounding took cents off the cash the customer paid)
  is left ``unallocated``: the customer never gets back more than the sale took.
* **An exchange** (the return and a new sale in one transaction) carries up to the new sale's total of the refund
  into that sale as one ``exchange`` credit (:data:`EXCHANGE`); only the rest is refunded, by the rule above. For
  what the tenders can still take back, an exchange credit counts as refunded to the sale's tenders in the rule's
  order, after every tender's real refunds: it took the refund, it never adds to it, so the bounds above hold over
  exchanges too. A sale paid in part by an exchange credit refunds that part as **cash** (:func:`paid_as`).
* A **restocking fee** (see :mod:`app.domain.return_policy`) comes off the refund's total before the tenders are
  chosen; the lines keep their full share, so a later return of the same line still adds up to what it paid.

Worked figures are in ``tests/domain/test_refunds.py``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.domain.money import CENT, ZERO
from app.domain.tenders import EXCHANGE, REFUND_ORDER

# The order in which a refund goes back to the sale's tenders (see the module rules): the tender list's owner's.
TENDER_ORDER: tuple[str, ...] = REFUND_ORDER


class RefundError(ValueError):
    """A return the rules refuse; the message is written for the cashier and can be shown as is."""


def _cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class SoldLine:
    """A line of the sale as stored: ``amount`` net of all discounts, ``tax`` as the sale rounded it."""

    line_no: int
    qty: Decimal
    amount: Decimal
    tax: Decimal
    name: str = ""

    def paid(self, exclusive: bool) -> Decimal:
        """What the customer paid for the whole line."""
        return self.amount + self.tax if exclusive else self.amount


@dataclass(frozen=True, slots=True)
class ReturnedLine:
    """A line of a return: the sale's line it takes back (``line_no``), how many, and what it gave back."""

    line_no: int
    qty: Decimal
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True, slots=True)
class EarlierReturn:
    """A return of the sale already made (here or at another till): its lines and what each tender got back."""

    lines: tuple[ReturnedLine, ...]
    tenders: tuple[tuple[str, Decimal], ...] = ()


@dataclass(frozen=True, slots=True)
class Sale:
    """What the refund rules need of the original sale: its lines, its payments (kind, amount net of change) and
    whether its prices excluded tax."""

    lines: tuple[SoldLine, ...]
    payments: tuple[tuple[str, Decimal], ...]
    exclusive: bool = False

    def line(self, line_no: int) -> SoldLine:
        for line in self.lines:
            if line.line_no == line_no:
                return line
        raise RefundError(f"Line {line_no} is not part of this sale.")


@dataclass(frozen=True, slots=True)
class LineRefund:
    line_no: int
    qty: Decimal
    amount: Decimal
    tax: Decimal
    total: Decimal


@dataclass(frozen=True, slots=True)
class TenderRefund:
    kind: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class RefundPlan:
    """A return's figures: each line's refund, the sum of the lines, the fee kept, what goes back to each tender,
    and any cents no tender can take."""

    lines: tuple[LineRefund, ...]
    lines_total: Decimal
    fee: Decimal
    total: Decimal
    tenders: tuple[TenderRefund, ...] = field(default=())
    unallocated: Decimal = ZERO

    @property
    def tax(self) -> Decimal:
        return sum((line.tax for line in self.lines), ZERO)


def paid_as(kind: str) -> str:
    """The tender a sale's payment counts as for its refunds: an exchange credit as cash, the rest as themselves."""
    return "cash" if kind == EXCHANGE else kind


def returned_qty(line_no: int, earlier: Iterable[EarlierReturn]) -> Decimal:
    """How much of a line every earlier return took back."""
    return sum((rl.qty for r in earlier for rl in r.lines if rl.line_no == line_no), Decimal(0))


def returnable(sale: Sale, earlier: Sequence[EarlierReturn]) -> dict[int, Decimal]:
    """Per line of the sale, what may still be returned: sold less every earlier return (never below 0)."""
    return {
        line.line_no: max(line.qty - returned_qty(line.line_no, earlier), Decimal(0)) for line in sale.lines
    }


def line_refund(sale: Sale, earlier: Sequence[EarlierReturn], line_no: int, qty: Decimal) -> LineRefund:
    """The refund for ``qty`` more units of a line by the cumulative rule (the last unit takes the remainder)."""
    line = sale.line(line_no)
    name = line.name or f"line {line_no}"
    if not isinstance(qty, Decimal) or not qty.is_finite() or qty <= 0:
        raise RefundError(f"Enter a quantity of more than 0 to return of {name}.")
    before = [rl for r in earlier for rl in r.lines if rl.line_no == line_no]
    r = sum((rl.qty for rl in before), Decimal(0))
    given_amount = sum((rl.amount for rl in before), ZERO)
    given_tax = sum((rl.tax for rl in before), ZERO)
    left = line.qty - r
    if qty > left:
        if left <= 0:
            raise RefundError(f"All of {name} was already returned: nothing more can be taken back.")
        raise RefundError(
            f"Only {left.normalize():f} of {name} can still be returned "
            f"({line.qty.normalize():f} bought, {r.normalize():f} already returned)."
        )
    if r + qty == line.qty:
        amount, tax = line.amount - given_amount, line.tax - given_tax
    else:
        amount = _cents(line.amount * (r + qty) / line.qty) - given_amount
        tax = _cents(line.tax * (r + qty) / line.qty) - given_tax
    amount = min(max(amount, ZERO), line.amount - given_amount)
    tax = min(max(tax, ZERO), line.tax - given_tax)
    total = amount + tax if sale.exclusive else amount
    return LineRefund(line_no, qty, amount, tax, total)


def tender_room(sale: Sale, earlier: Sequence[EarlierReturn]) -> dict[str, Decimal]:
    """Per tender kind, what it can still take back: paid less what earlier returns gave back to it; then the
    earlier exchange credits, taken off in the rule's order."""
    room: dict[str, Decimal] = {}
    for kind, amount in sale.payments:
        room[kind] = room.get(kind, ZERO) + amount
    carried = ZERO
    for r in earlier:
        for kind, amount in r.tenders:
            if kind == EXCHANGE:
                carried += amount
            else:
                room[kind] = room.get(kind, ZERO) - amount
    room = {kind: max(value, ZERO) for kind, value in room.items()}
    for kind in tender_order(room):
        take = min(carried, room[kind])
        room[kind] -= take
        carried -= take
    return room


def tender_order(kinds: Iterable[str]) -> list[str]:
    """The sale's tender kinds in refund order: card, cash, gift card, store credit, then any other."""
    seen = list(dict.fromkeys(kinds))
    return [k for k in TENDER_ORDER if k in seen] + [k for k in seen if k not in TENDER_ORDER]


def allocate(amount: Decimal, room: Mapping[str, Decimal]) -> tuple[list[TenderRefund], Decimal]:
    """Share ``amount`` over the tenders by the module's one rule; returns the refunds and what none could take."""
    left = amount
    out: list[TenderRefund] = []
    for kind in tender_order(room):
        take = min(left, room[kind])
        if take > 0:
            out.append(TenderRefund(kind, take))
            left -= take
    return out, left


def plan(
    sale: Sale,
    earlier: Sequence[EarlierReturn],
    wanted: Mapping[int, Decimal],
    fee: Decimal = ZERO,
    exchange: Decimal = ZERO,
) -> RefundPlan:
    """The refund of a return of ``wanted`` (line number -> quantity) after ``earlier`` returns, less ``fee``.
    ``exchange``: the new sale's total of an exchange; up to it of the refund is carried into that sale as an
    :data:`EXCHANGE` credit (the tenders' last entry) and only the rest goes back to the tenders."""
    chosen = {n: q for n, q in wanted.items() if q}
    if not chosen:
        raise RefundError("Choose at least one item to return.")
    lines = tuple(line_refund(sale, earlier, n, q) for n, q in sorted(chosen.items()))
    lines_total = sum((line.total for line in lines), ZERO)
    fee = min(max(_cents(fee), ZERO), lines_total)
    due = lines_total - fee
    room = tender_room(sale, earlier)
    can = sum(room.values(), ZERO)
    carried = min(max(exchange, ZERO), due, can)
    tenders, _ = allocate(min(due - carried, can - carried), room)
    unallocated = due - carried - sum((t.amount for t in tenders), ZERO)
    if carried > 0:
        tenders.append(TenderRefund(EXCHANGE, carried))
    return RefundPlan(
        lines=lines,
        lines_total=lines_total,
        fee=fee,
        total=due - unallocated,
        tenders=tuple(tenders),
        unallocated=unallocated,
    )


def as_earlier(plan_: RefundPlan) -> EarlierReturn:
    """A planned return as it counts for the next one."""
    return EarlierReturn(
        tuple(ReturnedLine(line.line_no, line.qty, line.amount, line.tax) for line in plan_.lines),
        tuple((t.kind, t.amount) for t in plan_.tenders),
    )


def over_return(sale: Sale, returns: Sequence[EarlierReturn]) -> str | None:
    """Why a set of returns of a sale takes back more than it may, or None: a line returned beyond what was sold,
    a line given back more than it paid, a tender given back more than it paid, or more given back than the sale
    took. What a central check (or a test) asks of all the returns of a sale, wherever they were decided."""
    for line in sale.lines:
        mine = [rl for r in returns for rl in r.lines if rl.line_no == line.line_no]
        if sum((rl.qty for rl in mine), Decimal(0)) > line.qty:
            return f"line {line.line_no} returned beyond the {line.qty} sold"
        if (
            sum((rl.amount for rl in mine), ZERO) > line.amount
            or sum((rl.tax for rl in mine), ZERO) > line.tax
        ):
            return f"line {line.line_no} refunded beyond what it paid"
    known = {line.line_no for line in sale.lines}
    if any(rl.line_no not in known for r in returns for rl in r.lines):
        return "a return names a line the sale does not have"
    paid: dict[str, Decimal] = {}
    for kind, amount in sale.payments:
        paid[kind] = paid.get(kind, ZERO) + amount
    back: dict[str, Decimal] = {}
    for r in returns:
        for kind, amount in r.tenders:
            back[kind] = back.get(kind, ZERO) + amount
    for kind, amount in back.items():
        # An exchange credit is bounded with the total below (it went to no one tender).
        if kind != EXCHANGE and amount > paid.get(kind, ZERO):
            return f"{kind} given back {amount}, more than the {paid.get(kind, ZERO)} it paid"
    if sum(back.values(), ZERO) > sum(paid.values(), ZERO):
        return "more given back than the sale took"
    return None
