"""What every figure of app.domain.figures is made of (re-exported there): a row's cells, how a figure is shown,
and how a quantity is written.

Pure standard library.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

Cell = str | int | Decimal
Row = tuple[Cell, ...]
ZERO = Decimal(0)
TENTH = Decimal("0.1")
DEFAULT_PROMISE_MINUTES = (
    120  # a pickup order is promised this long after it was placed, unless the store says
)


def plain_qty(value: Decimal | int | str) -> Decimal:
    """A quantity without trailing zeros and never in exponent form (200, not 2E+2; 1.25, not 1.250): as every
    export writes it (str)."""
    d = Decimal(value).normalize()
    return d.quantize(Decimal(1)) if d.as_tuple().exponent > 0 else d  # type: ignore[operator]


@dataclass(frozen=True)
class Figure:
    """How a figure is shown: its columns (title, kind: text, count, money, qty, percent, minutes) and which of
    them the chart draws (the label column, then the value columns)."""

    key: str
    title: str
    columns: tuple[tuple[str, str], ...]
    chart_label: int
    chart_values: tuple[int, ...]
    note: str
    chart_sums: bool = False  # the chart draws one bar per label, its rows summed (rows share labels)


def summed_by_label(rows: list[Row], label: int, values: tuple[int, ...]) -> list[tuple[str, list[Decimal]]]:
    """A chart's bars when its rows share labels (`Figure.chart_sums`): one per label, in the order first seen,
    each value column summed over the label's rows."""
    bars: dict[str, list[Decimal]] = {}
    for row in rows:
        key = str(row[label])
        summed = bars.get(key)
        if summed is None:
            bars[key] = [Decimal(str(row[i] or 0)) for i in values]
        else:
            for k, i in enumerate(values):
                summed[k] += Decimal(str(row[i] or 0))
    return list(bars.items())
