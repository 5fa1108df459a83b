"""The reports' common ground: a period of local days in the store's zone, a report as plain data (columns and rows),
and what a sale is (the Z report's definition), which the sales and the tender reports both count.

What counts as a sale is what the Z report counts: a completed counter sale, or a web order paid at the pickup
counter when handed over, worth its order total (`Order.total`, the Z's net sales).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from sqlalchemy import BindParameter, and_, or_
from sqlalchemy.orm import Session

from app.db.models import Order
from app.domain import figures
from app.services.base import UserError, here

Cell = str | int | Decimal
PERIOD_KINDS = ("today", "yesterday", "week", "range")
PERIOD_WORDS = {"today": "Today", "yesterday": "Yesterday", "week": "This week", "range": "Range"}
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Local days from `first` to `last`, both included, in the store's zone."""

    kind: str
    first: date
    last: date
    timezone: str

    def bounds(self) -> tuple[datetime, datetime]:
        """The period as UTC instants: from the first day's local midnight to the midnight after the last."""
        zone = ZoneInfo(self.timezone)
        start = datetime.combine(self.first, time(), zone).astimezone(UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone).astimezone(UTC)
        return start, end

    def week_before(self) -> Period:
        """The same weekdays one week earlier: what each day is set beside."""
        return replace(
            self, kind="range", first=self.first - timedelta(days=7), last=self.last - timedelta(days=7)
        )

    def local(self, moment: datetime | None) -> datetime:
        assert moment is not None  # completed sales and closed shifts have their time
        return moment.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class Column:
    title: str
    kind: str  # text, count, money, qty


@dataclass(frozen=True)
class Report:
    """One report as shown: its columns, its rows, and which columns the chart draws (labels, then values)."""

    key: str
    title: str
    period: Period
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    chart_label: int = 0
    chart_values: tuple[int, ...] = ()
    note: str = ""
    chart_sums: bool = False  # a list: the chart draws a bar per label, its rows' values summed


def figure_report(
    fig: figures.Figure, p: Period, rows: list[figures.Row], chart_sums: bool = False
) -> Report:
    """A report of a figure defined in app.domain.figures (the central store shows the same rows)."""
    return Report(
        fig.key,
        fig.title,
        p,
        tuple(Column(title, kind) for title, kind in fig.columns),
        list(rows),
        fig.chart_label,
        fig.chart_values,
        fig.note,
        chart_sums or fig.chart_sums,
    )


def period(session: Session, kind: str, first: date | None = None, last: date | None = None) -> Period:
    """Today, yesterday, this week (so far) or a range of local days, in the store's time zone."""
    h = here(session)
    today = datetime.now(ZoneInfo(h.timezone)).date()
    if kind == "today":
        return Period(kind, today, today, h.timezone)
    if kind == "yesterday":
        day = today - timedelta(days=1)
        return Period(kind, day, day, h.timezone)
    if kind == "week":
        try:
            first_weekday = Locale.parse(h.locale).first_week_day
        except (ValueError, UnknownLocaleError):
            first_weekday = 0
        start = today - timedelta(days=(today.weekday() - first_weekday) % 7)
        return Period(kind, start, today, h.timezone)
    if kind == "range":
        if first is None or last is None:
            raise UserError("Give the first and the last day of the range.")
        if last < first:
            raise UserError("The last day of the range is before the first: swap them.")
        if (last - first).days >= MAX_RANGE_DAYS:
            raise UserError(f"A range is at most {MAX_RANGE_DAYS} days: choose a shorter one.")
        return Period(kind, first, last, h.timezone)
    raise UserError(f"{kind} is not a period: choose today, yesterday, this week or a range.")


# -- what a sale is: the Z report's definition ----------------------------------------------------------------
def sales(p: Period, of: Any = Order) -> Any:
    """The sales the Z counts (`shifts.shift_sales`: completed counter sales, and web orders paid at the pickup
    counter when handed over, the only web orders with a shift) completed within the period, by time instead of
    by shift. `of` is the orders' entity the condition is on (`Order`, or an alias of it over a subquery)."""
    return sold_between(*p.bounds(), of=of)


def sold_between(
    start: datetime | BindParameter[datetime], end: datetime | BindParameter[datetime], of: Any = Order
) -> Any:
    """`sales` between two moments (or parameters that will give them)."""
    return and_(
        or_(
            and_(of.channel == "counter", of.status == "completed"),
            and_(of.channel == "web", of.status == "collected", of.shift_id.is_not(None)),
        ),
        of.completed_at >= start,
        of.completed_at < end,
    )
