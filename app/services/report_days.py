"""The sales reports' sums over a period: the closed days' from their roll-ups, the open days' from the orders.

A year of a busy store holds ~900k sale lines, and the reports of sales by hour, by department and the top items
summed them all each time one opened. A local day that has ended is summed once, by the same queries that sum an
open day (`items_between`, `hours_between`), and kept (app.db.models_reports); triggers forget a kept day whenever
an order completed within it is written, or one of its lines, and the next report sums it again. So a report adds
up at most a few hundred rows per day of its period, and the figures are those the orders give: a kept day holds
what summing its orders gave, and nothing else writes it.

Days are kept by the report that first needs them, within its transaction: on SQLite the op helper's transaction
holds the write lock (BEGIN IMMEDIATE), and on PostgreSQL the orders are locked against writers while their days
are summed, so no sale lands in a day between its summing and its keeping unseen by the triggers. A read-only
session (SQLite's DEFERRED reads) keeps nothing: it sums what is not kept from the orders.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, String, and_, bindparam, delete, func, insert, select, text
from sqlalchemy.orm import Session

from app.db.engine import reads_only
from app.db.models import Order, OrderLine, ReportDay, ReportDayDiscount, ReportDayHour, ReportDayItem
from app.db.types import UTCDateTime
from app.domain import figures
from app.domain.money import ZERO
from app.services import discount_lines
from app.services.base import here
from app.services.reports_base import MAX_RANGE_DAYS, Period, sold_between

ItemKey = tuple[str, str]  # product id ('' for a line without one), SKU
Items = dict[ItemKey, list[Any]]  # name (the greatest), lines, quantity, amount
Hours = dict[int, tuple[int, Decimal]]  # local hour: sales, net
DiscountKey = tuple[str, str, str, bool]  # kind, reason, approver (a staff id), the cashier's own authority
Discounts = dict[DiscountKey, list[Any]]  # given, amount off


# -- the sums, from the orders ---------------------------------------------------------------------------------
def _items(*by: Any) -> Any:
    """Per product and SKU (and whatever else `by` groups on, first), the lines sold (voided lines left out), their
    quantity and amount, and the greatest name: what the reports by department and of the top items add up."""
    return (
        select(
            *by,
            func.coalesce(OrderLine.product_id, ""),  # '' for a line without a product
            OrderLine.sku,
            func.max(OrderLine.name),
            func.count(),
            func.sum(OrderLine.qty),
            func.sum(OrderLine.amount),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .where(OrderLine.voided.is_(False))
        .group_by(*by, OrderLine.product_id, OrderLine.sku)
    )


_ITEM_COLUMNS = ("zone", "day", "product_id", "sku", "name", "lines", "qty", "amount")


_KEEP_ITEMS = insert(ReportDayItem).from_select(  # run on the connection: a Core statement
    _ITEM_COLUMNS,
    _items(bindparam("zone", type_=String), bindparam("day", type_=Date)).where(
        sold_between(bindparam("start_at", type_=UTCDateTime()), bindparam("end_at", type_=UTCDateTime()))
    ),
)


def items_between(session: Session, start: datetime, end: datetime) -> Items:
    """`_items` of the sales completed between two moments."""
    q = _items().where(sold_between(start, end))
    return {
        (product_id, sku): [name, n, qty or ZERO, amount or ZERO]
        for product_id, sku, name, n, qty, amount in session.execute(q)
    }


def _utc_hour(session: Session) -> Any:
    """The UTC hour a sale was completed in, as text 'YYYY-MM-DD HH', computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", Order.completed_at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", Order.completed_at)  # SQLite keeps UTC moments as naive text


def hours_between(
    session: Session, start: datetime, end: datetime, zone: str
) -> dict[tuple[date, int], list[Any]]:
    """Sales and net sales per local day and hour between two moments. The database sums them per UTC hour (a year
    is ~9k hours, not ~110k sales); a UTC hour that falls in one local hour (a zone whole hours from UTC) counts
    there, any other (a zone at a half or quarter hour) is read sale by sale."""
    tz = ZoneInfo(zone)
    out: dict[tuple[date, int], list[Any]] = {}

    def add(at: datetime, n: int, amount: Decimal) -> None:
        cell = out.setdefault((at.date(), at.hour), [0, ZERO])
        cell[0] += n
        cell[1] += amount

    bucket = _utc_hour(session)
    split = []
    in_window = sold_between(start, end)
    for stamp, n, amount in session.execute(
        select(bucket, func.count(), func.sum(Order.total)).where(in_window).group_by(bucket)
    ):
        hour = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)
        local = figures.whole_local_hour(hour, tz)
        if local is not None:
            add(local, n, amount or ZERO)
        else:
            split.append(hour)
    for hour in split:
        q = select(Order.completed_at, Order.total).where(
            in_window, Order.completed_at >= hour, Order.completed_at < hour + timedelta(hours=1)
        )
        for completed_at, total in session.execute(q):
            if completed_at is not None:  # a sale has its moment
                add(completed_at.astimezone(tz), 1, total)
    return out


def discounts_between(session: Session, start: datetime, end: datetime) -> Discounts:
    """The discounts and price overrides given between two moments, counted and summed per kind, reason and
    approver (app.services.discount_lines: what the list of discounts shows one by one)."""
    by_approval = discount_lines.approvers(session)
    out: Discounts = {}
    for e in discount_lines.entries(session, start, end):
        cell = out.setdefault((e.kind, e.reason, *discount_lines.approver(e, by_approval)), [0, ZERO])
        cell[0] += 1
        cell[1] += e.amount
    return out


def _discounts_by_day(session: Session, marks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows to keep of a run of consecutive days' discounts: read over the run at once (the discounted lines'
    index is walked once, not once per day) and parted by the days' bounds."""
    by_approval = discount_lines.approvers(session)
    starts = [discount_lines.utc_text(m["start_at"]) for m in marks]
    days: list[Discounts] = [{} for _ in marks]
    for e in discount_lines.entries(session, marks[0]["start_at"], marks[-1]["end_at"]):
        sums = days[bisect_right(starts, discount_lines.utc_text(e.completed_at)) - 1]
        cell = sums.setdefault((e.kind, e.reason, *discount_lines.approver(e, by_approval)), [0, ZERO])
        cell[0] += 1
        cell[1] += e.amount
    return [
        {
            "zone": mark["zone"],
            "day": mark["day"],
            "n": n,
            "kind": kind,
            "reason": reason,
            "approver_id": who,
            "own": own,
            "given": given,
            "amount": amount,
        }
        for mark, sums in zip(marks, days, strict=True)
        for n, ((kind, reason, who, own), (given, amount)) in enumerate(sums.items())
    ]


# -- the period: kept days and open stretches ------------------------------------------------------------------
def _bounds(zone: str, day: date) -> tuple[datetime, datetime]:
    return Period("range", day, day, zone).bounds()


def _runs(days: Iterable[date]) -> Iterator[tuple[date, date]]:
    """Consecutive days as (first, last) stretches."""
    first = last = None
    for day in sorted(days):
        if last is not None and day == last + timedelta(days=1):
            last = day
            continue
        if first is not None and last is not None:
            yield first, last
        first = last = day
    if first is not None and last is not None:
        yield first, last


def _kept(session: Session, zone: str, first: date, last: date) -> set[date]:
    q = select(ReportDay.day).where(ReportDay.zone == zone, ReportDay.day >= first, ReportDay.day <= last)
    return set(session.scalars(q))


def keep(session: Session, zone: str, days: Iterable[date]) -> set[date]:
    """Sum and keep the given ended days not kept yet; the days kept afterwards. Within the caller's transaction."""
    wanted = sorted(set(days))
    if not wanted:
        return set()
    kept = _kept(session, zone, wanted[0], wanted[-1])
    missing = [d for d in wanted if d not in kept]
    if not missing:
        return kept
    if session.get_bind().dialect.name == "postgresql":
        # No sale may land in a day between its summing and its keeping; one filler at a time.
        session.execute(text("LOCK TABLE orders, order_lines IN SHARE ROW EXCLUSIVE MODE"))
        kept = _kept(session, zone, wanted[0], wanted[-1])
        missing = [d for d in wanted if d not in kept]
        if not missing:
            return kept
    now = datetime.now(UTC)
    for first, last in _runs(missing):
        marks: list[dict[str, Any]] = [
            {"zone": zone, "day": day, "start_at": start, "end_at": end}
            for day in (first + timedelta(days=n) for n in range((last - first).days + 1))
            for start, end in (_bounds(zone, day),)
            if end <= now  # an open day is never kept
        ]
        if not marks:
            continue
        run = [m["day"] for m in marks]
        for table in (ReportDayItem, ReportDayHour, ReportDayDiscount):  # what an earlier keeping left
            session.execute(
                delete(table).where(table.zone == zone, table.day >= run[0], table.day <= run[-1])
            )
        hours = hours_between(session, marks[0]["start_at"], marks[-1]["end_at"], zone)
        if hours:
            session.execute(
                insert(ReportDayHour),
                [
                    {"zone": zone, "day": day, "hour": hour, "sales": n, "net": net}
                    for (day, hour), (n, net) in hours.items()
                ],
            )
        # Each day by the open day's query, its rows written by the database as they come (nothing goes through
        # Python): one statement, run once per day.
        session.connection().execute(_KEEP_ITEMS, marks)
        discounts = _discounts_by_day(session, marks)
        if discounts:
            session.execute(insert(ReportDayDiscount), discounts)
        session.execute(insert(ReportDay), marks)
        kept.update(run)
    return kept


def keep_recent(session: Session, most: int = 31) -> int:
    """Keep up to `most` of the ended days a report may ask for (the longest range and the week before it), the
    newest first; how many are left. The Reports screen runs it in steps while it is shown, so a year's first
    opening finds its days kept and no step holds the database for long."""
    zone = here(session).timezone
    today = datetime.now(ZoneInfo(zone)).date()
    days = [today - timedelta(days=n) for n in range(1, MAX_RANGE_DAYS + 8)]
    kept = _kept(session, zone, days[-1], days[0])
    missing = [d for d in days if d not in kept]
    keep(session, zone, missing[:most])
    return max(0, len(missing) - most)


def _split(session: Session, p: Period) -> tuple[set[date], list[tuple[datetime, datetime]]]:
    """The period's days that are kept (keeping the ended ones when this session may), and the stretches of the
    others as UTC windows, summed from the orders."""
    days = [p.first + timedelta(days=n) for n in range((p.last - p.first).days + 1)]
    now = datetime.now(UTC)
    ended = [d for d in days if _bounds(p.timezone, d)[1] <= now]
    kept = (
        _kept(session, p.timezone, p.first, p.last)
        if reads_only(session)
        else keep(session, p.timezone, ended)
    )
    kept &= set(days)
    windows = [
        (_bounds(p.timezone, first)[0], _bounds(p.timezone, last)[1])
        for first, last in _runs(d for d in days if d not in kept)
    ]
    return kept, windows


def _kept_rows(session: Session, table: Any, columns: tuple[Any, ...], zone: str, kept: set[date]) -> Any:
    """A select of a table of kept days over the kept days of a period (its rows of days not kept left out)."""
    first, last = min(kept), max(kept)
    q = select(*columns).where(table.zone == zone, table.day >= first, table.day <= last)
    if len(kept) < (last - first).days + 1:  # a gap: only the days still kept count
        q = q.join(ReportDay, and_(ReportDay.zone == table.zone, ReportDay.day == table.day))
    return q


def item_sums(session: Session, p: Period) -> Items:
    """Per product and SKU over the period: the lines sold, their quantity and amount, and the greatest name."""
    kept, windows = _split(session, p)
    out: Items = {}

    def add(key: ItemKey, name: str, n: int, qty: Decimal, amount: Decimal) -> None:
        cell = out.get(key)
        if cell is None:
            out[key] = [name, n, qty, amount]
            return
        cell[0] = max(cell[0], name)
        cell[1] += n
        cell[2] += qty
        cell[3] += amount

    if kept:
        t = ReportDayItem
        columns = (
            t.product_id,
            t.sku,
            func.max(t.name),
            func.sum(t.lines),
            func.sum(t.qty),
            func.sum(t.amount),
        )
        q = _kept_rows(session, t, columns, p.timezone, kept).group_by(t.product_id, t.sku)
        for product_id, sku, name, n, qty, amount in session.execute(q):
            add((product_id, sku), name, n, qty, amount)
    for start, end in windows:
        for key, (name, n, qty, amount) in items_between(session, start, end).items():
            add(key, name, n, qty, amount)
    return out


def hour_sums(session: Session, p: Period) -> Hours:
    """Sales and net sales per local hour over the period."""
    kept, windows = _split(session, p)
    out: dict[int, list[Any]] = {}

    def add(hour: int, n: int, net: Decimal) -> None:
        cell = out.setdefault(hour, [0, ZERO])
        cell[0] += n
        cell[1] += net

    if kept:
        t = ReportDayHour
        columns = (t.hour, func.sum(t.sales), func.sum(t.net))
        q = _kept_rows(session, t, columns, p.timezone, kept).group_by(t.hour)
        for hour, n, net in session.execute(q):
            add(hour, n, net)
    for start, end in windows:
        for (_, hour), (n, net) in hours_between(session, start, end, p.timezone).items():
            add(hour, n, net)
    return {hour: (n, net) for hour, (n, net) in out.items()}


def discount_sums(session: Session, p: Period) -> Discounts:
    """The discounts and price overrides given over the period, per kind, reason and approver."""
    kept, windows = _split(session, p)
    out: Discounts = {}

    def add(key: DiscountKey, given: int, amount: Decimal) -> None:
        cell = out.setdefault(key, [0, ZERO])
        cell[0] += given
        cell[1] += amount

    if kept:
        t = ReportDayDiscount
        columns = (t.kind, t.reason, t.approver_id, t.own, func.sum(t.given), func.sum(t.amount))
        q = _kept_rows(session, t, columns, p.timezone, kept).group_by(t.kind, t.reason, t.approver_id, t.own)
        for kind, reason, who, own, given, amount in session.execute(q):
            add((kind, reason, who, bool(own)), given, amount)
    for start, end in windows:
        for key, (given, amount) in discounts_between(session, start, end).items():
            add(key, given, amount)
    return out
