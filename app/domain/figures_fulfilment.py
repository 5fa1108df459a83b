"""The fulfilment figures of app.domain.figures (which re-exports each name here):

- Returns by reason and by disposition: the returned lines (their reason code, condition and where they went).
- Pickups: the pickup and curbside orders made ready in the period, ready on time against the promised time, the
  curb wait (from the customer saying they arrived to the hand-over) as a median and a 90th percentile, and the
  no-shows (orders that expired uncollected).
- The pack bench: orders packed, errors caught (wrong scans refused), approvals used and the time per order, by
  the local day they were packed.

Pure standard library, as app.domain.figures.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.domain.figure_base import TENTH, ZERO, Cell, Figure, Row, plain_qty
from app.domain.lifecycle import OrderState

# ---------------------------------------------------------------- returns


@dataclass(frozen=True)
class ReturnItem:
    """One returned line: the return it belongs to, its reason code, condition, disposition, quantity and amount."""

    return_id: str
    reason: str
    condition: str
    disposition: str
    qty: Decimal
    amount: Decimal


def _returns_by(items: Iterable[ReturnItem], key: Callable[[ReturnItem], str]) -> list[Row]:
    per: dict[str, tuple[set[str], Decimal, Decimal]] = {}
    for it in items:
        label = key(it) or "not recorded"
        ids, qty, amount = per.get(label, (set(), ZERO, ZERO))
        ids.add(it.return_id)
        per[label] = (ids, qty + it.qty, amount + it.amount)
    return [(label, len(ids), plain_qty(qty), amount) for label, (ids, qty, amount) in sorted(per.items())]


def returns_by_reason(items: Iterable[ReturnItem]) -> list[Row]:
    """Per reason code: the returns that had a line for it, the units and the amount of those lines."""
    return _returns_by(items, lambda it: it.reason)


def returns_by_disposition(items: Iterable[ReturnItem]) -> list[Row]:
    """Per disposition (floor, quarantine, vendor): returns, units and amount, as by reason."""
    return _returns_by(items, lambda it: it.disposition)


_RETURN_COLUMNS = (("Returns", "count"), ("Units", "qty"), ("Amount", "money"))
RETURNS_REASON = Figure(
    "returns",
    "Returns by reason",
    (("Reason", "text"), *_RETURN_COLUMNS),
    0,
    (3,),
    "Returned lines completed in the period, by the reason the desk recorded; a return of several reasons "
    "counts once under each.",
)
RETURNS_DISPOSITION = Figure(
    "returns_disposition",
    "Returns by disposition",
    (("Disposition", "text"), *_RETURN_COLUMNS),
    0,
    (2,),
    "Where the returned goods went: back to the floor, to quarantine or back to the vendor.",
)


# ---------------------------------------------------------------- pickups


@dataclass(frozen=True)
class PickupItem:
    """A pickup or curbside order made ready: when it was promised and made ready, when the customer said they
    were at the curb and when it was handed over (None if not), and its state now."""

    fulfilment: str
    promised_at: datetime
    ready_at: datetime
    arrived_at: datetime | None
    handed_at: datetime | None
    status: str


def promised(placed_at: datetime, promised_at: datetime | None, minutes: int) -> datetime:
    """The promised time: the one the storefront gave, or `minutes` after the order was placed."""
    return promised_at or placed_at + timedelta(minutes=minutes)


def curb_wait_s(item: PickupItem) -> int | None:
    """Seconds from the customer's arrival at the curb to the hand-over (curbside orders handed over only)."""
    if item.fulfilment != "curbside" or item.arrived_at is None or item.handed_at is None:
        return None
    return max(0, int((item.handed_at - item.arrived_at).total_seconds()))


def median(values: Sequence[int]) -> Decimal | None:
    if not values:
        return None
    s = sorted(values)
    mid = len(s) // 2
    return Decimal(s[mid]) if len(s) % 2 else Decimal(s[mid - 1] + s[mid]) / 2


def percentile(values: Sequence[int], pct: int) -> Decimal | None:
    """The nearest-rank percentile: the smallest value with at least `pct` % of the values at or below it."""
    if not values:
        return None
    s = sorted(values)
    return Decimal(s[max(0, math.ceil(pct * len(s) / 100) - 1)])


def _minutes(seconds: Decimal | None) -> Cell:
    return "" if seconds is None else (seconds / 60).quantize(TENTH)


def _pickup_row(label: str, items: list[PickupItem]) -> Row:
    # One pass over the items (a year of a chain is ~100k of them): each figure as its own definition says.
    on_time = collected = expired = 0
    waits: list[int] = []
    for it in items:
        if it.ready_at <= it.promised_at:
            on_time += 1
        if it.status == OrderState.COLLECTED:
            collected += 1
        elif it.status == OrderState.EXPIRED:
            expired += 1
        if (wait := curb_wait_s(it)) is not None:
            waits.append(wait)
    pct = (Decimal(100 * on_time) / len(items)).quantize(TENTH) if items else ZERO
    return (
        label,
        len(items),
        on_time,
        len(items) - on_time,
        pct,
        collected,
        expired,
        len(waits),
        _minutes(median(waits)),
        _minutes(percentile(waits, 90)),
    )


def pickups(items: Iterable[PickupItem]) -> list[Row]:
    """One row for pickup, one for curbside (when there were any), and one for both."""
    every = list(items)
    by_kind: dict[str, list[PickupItem]] = {"pickup": [], "curbside": []}
    for it in every:
        if it.fulfilment in by_kind:
            by_kind[it.fulfilment].append(it)
    rows = [_pickup_row(kind.capitalize(), kept) for kind, kept in by_kind.items() if kept]
    if every:
        rows.append(_pickup_row("All", every))
    return rows


PICKUPS = Figure(
    "pickups",
    "Pickups",
    (
        ("Fulfilment", "text"),
        ("Ready", "count"),
        ("On time", "count"),
        ("Late", "count"),
        ("On time %", "percent"),
        ("Collected", "count"),
        ("No-shows", "count"),
        ("Curb waits", "count"),
        ("Wait median (min)", "minutes"),
        ("Wait p90 (min)", "minutes"),
    ),
    0,
    (2, 3),
    "Orders made ready in the period: on time when ready by the promised time; the curb wait runs from the "
    "customer's arrival to the hand-over; a no-show expired uncollected.",
)


# ---------------------------------------------------------------- the pack bench


@dataclass(frozen=True)
class PackItem:
    """An order packed at the bench: from its first box to packed, the scans, the wrong scans refused (errors
    caught) and the approvals used (a unit confirmed by hand with a supervisor's approval)."""

    started_at: datetime
    packed_at: datetime
    scans: int
    errors: int
    approvals: int


def pack_seconds(item: PackItem) -> Decimal:
    return Decimal(str(max(0.0, (item.packed_at - item.started_at).total_seconds())))


def pack_bench(items: Iterable[PackItem], timezone: str) -> list[Row]:
    """Per local day packed: orders, scans, errors caught, approvals used and the minutes per order."""
    zone = ZoneInfo(timezone)
    per: dict[str, list[PackItem]] = {}
    for it in items:
        per.setdefault(it.packed_at.astimezone(zone).date().isoformat(), []).append(it)
    rows: list[Row] = []
    for day, its in sorted(per.items()):
        seconds = sum((pack_seconds(it) for it in its), ZERO)
        rows.append(
            (
                day,
                len(its),
                sum(it.scans for it in its),
                sum(it.errors for it in its),
                sum(it.approvals for it in its),
                _minutes(seconds / len(its)),
            )
        )
    return rows


PACK = Figure(
    "pack",
    "Pack bench",
    (
        ("Day", "text"),
        ("Orders packed", "count"),
        ("Scans", "count"),
        ("Errors caught", "count"),
        ("Approvals used", "count"),
        ("Minutes per order", "minutes"),
    ),
    0,
    (1, 3),
    "Orders packed in the period, by the day packed; errors caught are wrong scans the bench refused; the time "
    "runs from the first box to packed.",
)
