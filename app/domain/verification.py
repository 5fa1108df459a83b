"""Item verification: every item of an order scanned before it is handed over (pickup, curbside) or labelled (pack).

Pure rules, no database: which line a scan counts against, how much it counts (a case code counts its pack), and
what is refused (an item not in the order, one more than ordered). The Pickup and Pack workstations share them
through `app.services.verification`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Verdict(StrEnum):
    COUNTED = "counted"  # the scan counted; the line still wants more
    LINE_DONE = "line_done"  # the scan completed its line
    ORDER_DONE = "order_done"  # the scan completed the whole order
    NOT_IN_ORDER = "not_in_order"  # refused: this product is not in the order
    TOO_MANY = "too_many"  # refused: every line of this product is already complete
    PACK_TOO_BIG = "pack_too_big"  # refused: a case code counts more than is still wanted


@dataclass(frozen=True)
class Line:
    line_id: str
    sku: str
    name: str
    qty: Decimal  # ordered
    weighed: bool = False  # a weighed line is done by one scan of the item, whatever it weighs


@dataclass(frozen=True)
class Outcome:
    verdict: Verdict
    line_id: str | None
    counted: Decimal  # what this scan added (0 when refused)
    scanned: dict[str, Decimal]  # every line's count after the scan
    message: str

    @property
    def accepted(self) -> bool:
        return self.verdict in (Verdict.COUNTED, Verdict.LINE_DONE, Verdict.ORDER_DONE)


def remaining(line: Line, scanned: Mapping[str, Decimal]) -> Decimal:
    done = scanned.get(line.line_id, Decimal(0))
    if line.weighed:
        return Decimal(0) if done > 0 else Decimal(1)
    return max(Decimal(0), line.qty - done)


def complete(lines: Sequence[Line], scanned: Mapping[str, Decimal]) -> bool:
    return all(remaining(line, scanned) == 0 for line in lines)


def _qty_text(q: Decimal) -> str:
    return str(q.normalize()) if q == q.to_integral_value() else str(q)


def apply_scan(lines: Sequence[Line], scanned: Mapping[str, Decimal], sku: str, units: Decimal) -> Outcome:
    """Count one scan of `units` of `sku` (a case code scans its pack quantity) against the first line of that
    product that still wants it. Nothing is counted when the scan is refused."""
    after = dict(scanned)
    mine = [line for line in lines if line.sku == sku]
    if not mine:
        return Outcome(
            Verdict.NOT_IN_ORDER, None, Decimal(0), after, f"{sku} is not in this order: put it aside."
        )
    open_lines = [line for line in mine if remaining(line, after) > 0]
    if not open_lines:
        wanted = sum((line.qty for line in mine), Decimal(0))
        return Outcome(
            Verdict.TOO_MANY,
            mine[0].line_id,
            Decimal(0),
            after,
            f"{mine[0].name}: all {_qty_text(wanted)} are already scanned. Put this one back.",
        )
    line = open_lines[0]
    if line.weighed:
        counted = line.qty
    else:
        want = sum((remaining(x, after) for x in open_lines), Decimal(0))
        if units > want:
            return Outcome(
                Verdict.PACK_TOO_BIG,
                line.line_id,
                Decimal(0),
                after,
                f"{line.name}: this code counts {_qty_text(units)} but only {_qty_text(want)} more are wanted. "
                "Scan the single items.",
            )
        counted = units
    # A case may fill several lines of the same product, in order.
    left = counted
    for target in open_lines:
        if left <= 0:
            break
        take = target.qty if target.weighed else min(left, remaining(target, after))
        after[target.line_id] = after.get(target.line_id, Decimal(0)) + take
        left -= take
    if complete(lines, after):
        verdict, message = Verdict.ORDER_DONE, "Every item is scanned: the order is complete."
    elif remaining(line, after) == 0:
        verdict, message = Verdict.LINE_DONE, f"{line.name}: done."
    else:
        done = after.get(line.line_id, Decimal(0))
        verdict, message = Verdict.COUNTED, f"{line.name}: {_qty_text(done)} of {_qty_text(line.qty)}."
    return Outcome(verdict, line.line_id, counted, after, message)
