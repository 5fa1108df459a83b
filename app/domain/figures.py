"""Store figures, each defined once over plain rows: the till's Reports screen and the central store's chain
reports feed the same function the same facts, so a store's figure is the same number on both.

- Returns, pickups and the pack bench (app.domain.figures_fulfilment, re-exported here).
- Sales by hour and by department (beside the same days a week before), the top items, and the cash over and
  short per shift and per cashier: their rows from sums each side reads its own way (the till from its orders and
  shifts, the central from the facts and events the tills sent).
- The discounts and price overrides one by one, and summed by kind, reason and who approved them.
- Stock below its minimum and negative (the minimum: the store's safety stock, set at the central store).

Pure standard library (the central store imports it); a figure's rows are tuples of str, int and Decimal.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.domain import tenders
from app.domain.figure_base import (  # noqa: F401 - re-exported
    DEFAULT_PROMISE_MINUTES,
    TENTH,
    ZERO,
    Cell,
    Figure,
    Row,
    plain_qty,
    summed_by_label,
)
from app.domain.money import quantize_money

# ---------------------------------------------------------------- sales and cash

MONEY_ZERO = Decimal("0.00")  # a money figure with nothing in it, as the reports show one
TOP_ITEMS_SHOWN = 20


def whole_local_hour(utc_hour: datetime, zone: ZoneInfo) -> datetime | None:
    """Where a UTC hour (aware, on the hour) falls in a zone: its local start when the whole hour lies in one local
    hour (a zone whole hours from UTC, away from a clock change), else None: its sales are placed one by one. A
    period's bounds are local midnights, so a whole hour is either inside a period or outside it."""
    first = utc_hour.astimezone(zone)
    last = (utc_hour + timedelta(hours=1, microseconds=-1)).astimezone(zone)
    if first.hour == last.hour and first.date() == last.date() and first.utcoffset() == last.utcoffset():
        return first
    return None


def hour_rows(now: dict[int, tuple[int, Decimal]], before: dict[int, tuple[int, Decimal]]) -> list[Row]:
    """Per local hour: the sales and their net, beside the same days a week before."""
    return [
        (f"{hour:02d}:00", *now.get(hour, (0, MONEY_ZERO)), *before.get(hour, (0, MONEY_ZERO)))
        for hour in sorted(set(now) | set(before))
    ]


def department_rows(now: dict[str, Decimal], before: dict[str, Decimal]) -> list[Row]:
    """Per department: sold in the period and a week before, the most sold first."""
    names = sorted(set(now) | set(before), key=lambda n: (-now.get(n, MONEY_ZERO), n))
    return [(n, now.get(n, MONEY_ZERO), before.get(n, MONEY_ZERO)) for n in names]


def top_item_rows(items: Iterable[tuple[str, str, Decimal, Decimal]]) -> list[Row]:
    """The items that sold for most, from (sku, name, quantity, amount) sums in any grouping: per SKU, the greatest
    name and the sums, ranked by amount (then SKU)."""
    per: dict[str, tuple[str, Decimal, Decimal]] = {}
    for sku, name, qty, amount in items:
        had = per.get(sku)
        per[sku] = (name, qty, amount) if had is None else (max(had[0], name), had[1] + qty, had[2] + amount)
    best = sorted(per.items(), key=lambda kv: (-kv[1][2], kv[0]))[:TOP_ITEMS_SHOWN]
    cent = Decimal("0.01")
    return [
        (sku, name, plain_qty(qty), Decimal(amount).quantize(cent, ROUND_HALF_UP))
        for sku, (name, qty, amount) in best
    ]


@dataclass(frozen=True)
class ShiftCash:
    """A shift closed: its Z's expected cash, the blind count, and counted minus expected."""

    number: str
    cashier: str  # who opened it
    closed_at: datetime
    expected: Decimal
    counted: Decimal

    @property
    def over_short(self) -> Decimal:
        return tenders.over_short(self.expected, self.counted)


def shift_rows(shifts: Iterable[ShiftCash], timezone: str) -> list[Row]:
    """Per shift, in the order they closed, its closing in the store's local minute."""
    zone = ZoneInfo(timezone)
    return [
        (
            c.number,
            c.cashier,
            c.closed_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            c.expected,
            c.counted,
            c.over_short,
        )
        for c in sorted(shifts, key=lambda c: c.closed_at)
    ]


def cashier_rows(shifts: Iterable[ShiftCash]) -> list[Row]:
    """Per cashier, by name: their shifts, and the cash expected, counted and over or short."""
    by: dict[str, list[ShiftCash]] = {}
    for c in shifts:
        by.setdefault(c.cashier, []).append(c)
    return [
        (
            name,
            len(cs),
            sum((c.expected for c in cs), MONEY_ZERO),
            sum((c.counted for c in cs), MONEY_ZERO),
            sum((c.over_short for c in cs), MONEY_ZERO),
        )
        for name, cs in sorted(by.items())
    ]


HOUR = Figure(
    "hour",
    "Sales by hour",
    (
        ("Hour", "text"),
        ("Sales", "count"),
        ("Net sales", "money"),
        ("Sales a week before", "count"),
        ("Net a week before", "money"),
    ),
    0,
    (2, 4),
    "Net sales: the sales the Z report counts (completed at the till, and web orders paid at the pickup counter), "
    "at their totals.",
)
DEPARTMENT = Figure(
    "department",
    "Sales by department",
    (("Department", "text"), ("Sold", "money"), ("A week before", "money")),
    0,
    (1, 2),
    "Sold: the lines' amounts after discounts, voided lines left out.",
)
TOP_ITEMS = Figure(
    "top_items",
    "Top items",
    (("SKU", "text"), ("Item", "text"), ("Quantity", "qty"), ("Sold", "money")),
    1,
    (3,),
    f"The {TOP_ITEMS_SHOWN} items that sold for most, after discounts.",
)
CASH_SHIFT = Figure(
    "cash_shift",
    "Cash over/short by shift",
    (
        ("Shift", "text"),
        ("Cashier", "text"),
        ("Closed", "text"),
        ("Expected cash", "money"),
        ("Counted", "money"),
        ("Over/short", "money"),
    ),
    0,
    (5,),
    "Shifts closed in the period (at a till, its own; at the central store, every till's of the store); over is "
    "positive, short negative.",
)
CASH_CASHIER = Figure(
    "cash_cashier",
    "Cash over/short by cashier",
    (
        ("Cashier", "text"),
        ("Shifts", "count"),
        ("Expected cash", "money"),
        ("Counted", "money"),
        ("Over/short", "money"),
    ),
    0,
    (4,),
    "The cashier who opened each shift closed in the period (at a till, its own shifts; at the central store, every "
    "till's of the store).",
)


# ---------------------------------------------------------------- discounts

OVERRIDE, LINE_DISCOUNT, SALE_DISCOUNT = "Price override", "Line discount", "Sale discount"
DISCOUNT_KINDS = (OVERRIDE, LINE_DISCOUNT, SALE_DISCOUNT)  # in the order the reports list them
# How a till's document and the central's facts name each kind (sync.central.report_discounts).
DISCOUNT_KIND_CODES = {"override": OVERRIDE, "line": LINE_DISCOUNT, "sale": SALE_DISCOUNT}


def override_off(unit_price: Decimal, price: Decimal, qty: Decimal) -> Decimal:
    """A price override's amount off: the price it replaced less the new price, times the quantity, in cents."""
    return quantize_money((unit_price - price) * qty)


def approved_by(names: dict[str, str], who: str, own_authority: bool) -> str:
    """Who approved a discount, as the reports show it: the manager whose approval it used, or the cashier who gave
    it on their own authority (their role allowed it); '?' for someone the store does not know (any more)."""
    if not own_authority:
        return names.get(who, "?")
    name = names.get(who)
    return f"{name} (own authority)" if name else "? (own authority)"


@dataclass(frozen=True)
class DiscountSum:
    """Discounts of one kind and reason approved by one person (as shown: figures.approved_by), counted and summed.
    Sums of days or stores apart add up."""

    kind: str  # one of DISCOUNT_KINDS
    reason: str
    approver: str
    given: int
    amount: Decimal


def discount_rows(sums: Iterable[DiscountSum]) -> list[Row]:
    """Per kind, reason and approver: how many were given and the amount off; by kind, then the most off first."""
    per: dict[tuple[str, str, str], list[Any]] = {}
    for s in sums:
        cell = per.setdefault((s.kind, s.reason, s.approver), [0, MONEY_ZERO])
        cell[0] += s.given
        cell[1] += s.amount
    rank = {kind: i for i, kind in enumerate(DISCOUNT_KINDS)}
    ordered = sorted(per.items(), key=lambda kv: (rank.get(kv[0][0], 9), -kv[1][1], kv[0][1], kv[0][2]))
    return [(kind, reason, who, n, amount) for (kind, reason, who), (n, amount) in ordered]


@dataclass(frozen=True)
class DiscountEntry:
    """One discount or price override given: its sale's completion, number, the line's place in it (a whole-sale
    discount after every line) and item, the kind (DISCOUNT_KINDS), amount off, reason and approver as shown."""

    at: datetime
    number: str
    line_no: int
    kind: str
    item: str
    amount: Decimal
    reason: str
    approver: str


WHOLE_SALE_LINE = 1 << 30  # a whole-sale discount's place: after every line of its sale


def discount_list_rows(entries: Iterable[DiscountEntry], timezone: str) -> list[Row]:
    """Each discount in the order given: by time, receipt and line (a price override before a discount of the same
    line), at the local minute."""
    zone = ZoneInfo(timezone)
    rank = {kind: i for i, kind in enumerate(DISCOUNT_KINDS)}
    ordered = sorted(entries, key=lambda e: (e.at, e.number, e.line_no, rank.get(e.kind, 9)))
    return [
        (
            e.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            e.number,
            e.item,
            e.kind,
            e.amount,
            e.reason,
            e.approver,
        )
        for e in ordered
    ]


DISCOUNTS = Figure(
    "discounts",
    "Discounts and price overrides",
    (
        ("Time", "text"),
        ("Receipt", "text"),
        ("Item", "text"),
        ("What", "text"),
        ("Amount off", "money"),
        ("Reason", "text"),
        ("Approved by", "text"),
    ),
    3,
    (4,),
    "A price override's amount off is the price it replaced less the new price, times the quantity.",
    chart_sums=True,  # a bar per kind (override, line or sale discount), not one per row
)
DISCOUNT_REASONS = Figure(
    "discount_reasons",
    "Discounts by reason and approver",
    (
        ("What", "text"),
        ("Reason", "text"),
        ("Approved by", "text"),
        ("Given", "count"),
        ("Amount off", "money"),
    ),
    1,
    (4,),
    "Each discount and price override of the period's sales, counted and added up by kind, reason and who "
    "approved it (a manager's approval, or the cashier's own authority where the role allowed it). A price "
    "override's amount off is the price it replaced less the new price, times the quantity.",
    chart_sums=True,  # a bar per reason, whoever approved it
)


# ---------------------------------------------------------------- stock


@dataclass(frozen=True)
class StockItem:
    """A product's stock at a store now (the store's every location) and its minimum there."""

    sku: str
    name: str
    on_hand: Decimal
    minimum: Decimal


NEGATIVE, BELOW_MINIMUM = "Negative", "Below minimum"


def stock_rows(items: Iterable[StockItem]) -> list[Row]:
    """The products whose stock is negative or below their minimum (sums of stores add up: a chain's on hand and
    minimum are its stores'), the negative first, then the least in stock."""
    per: dict[str, tuple[str, Decimal, Decimal]] = {}
    for it in items:
        had = per.get(it.sku)
        per[it.sku] = (
            (it.name, it.on_hand, it.minimum)
            if had is None
            else (max(had[0], it.name), had[1] + it.on_hand, had[2] + it.minimum)
        )
    rows: list[Row] = []
    for sku, (name, have, minimum) in per.items():
        if have < 0:
            state = NEGATIVE
        elif have < minimum:
            state = BELOW_MINIMUM
        else:
            continue
        rows.append((sku, name, plain_qty(have), plain_qty(minimum), state))
    rows.sort(key=lambda r: (r[4] != NEGATIVE, Decimal(r[2]), str(r[0])))
    return rows


STOCK = Figure(
    "stock",
    "Stock below minimum and negative",
    (("SKU", "text"), ("Item", "text"), ("On hand", "qty"), ("Minimum", "qty"), ("State", "text")),
    1,
    (2,),
    "On hand now at every location of the store (at a till: as the central store last said, with the till's "
    "movements not sent yet); the minimum is the stock the store keeps back from web orders (its safety stock, "
    "set at the central store). The period does not apply. For the chain: each product short at some store, its "
    "stock and minimum summed over those stores.",
)


# The fulfilment figures (returns, pickups, the pack bench) live in their own module (app.domain.figure_base holds
# what every figure is made of); imported last and re-exported here, so each figure is found in one place.
from app.domain.figures_fulfilment import (  # noqa: E402, I001 - one block, each name re-exported
    ReturnItem as ReturnItem,
    returns_by_reason as returns_by_reason,
    returns_by_disposition as returns_by_disposition,
    RETURNS_REASON as RETURNS_REASON,
    RETURNS_DISPOSITION as RETURNS_DISPOSITION,
    PickupItem as PickupItem,
    promised as promised,
    curb_wait_s as curb_wait_s,
    median as median,
    percentile as percentile,
    pickups as pickups,
    PICKUPS as PICKUPS,
    PackItem as PackItem,
    pack_seconds as pack_seconds,
    pack_bench as pack_bench,
    PACK as PACK,
)

FIGURES: dict[str, Figure] = {f.key: f for f in (RETURNS_REASON, RETURNS_DISPOSITION, PICKUPS, PACK)}
