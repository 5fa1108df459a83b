"""The chain's sales at the central store: sales by hour and by department (each beside the same days a week
before) and the top items, by store and for the chain, as each till's Reports screen counts them (app.services.reports_sales).

What a till counts as a sale is what its Z counts: a sale completed at the till, at its total, with its lines
(voided lines left out: a till does not send them), and a web order paid at its pickup counter when handed over,
at the total and with the lines the till counted (the hand-over's receipt says them: what the customer refused is
not among them). Read from `sale_facts` and `sale_line_facts` (sync.central.report_facts), written by the database
in the transaction that stored the sale or the hand-over. A sale counts on the local day and hour (the store's
zone) the till completed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import Product, Store
from sync.central.report_facts import SaleFact, SaleLineFact

figures = protocol.figures
_ZERO = figures.MONEY_ZERO
Window = tuple[datetime, datetime]
HOUR, DEPARTMENT, TOP_ITEMS = figures.HOUR, figures.DEPARTMENT, figures.TOP_ITEMS


@dataclass(frozen=True)
class HourSum:
    """Sales and their net in one local hour, of the period or of the same days a week before. Sums of stores
    apart add up."""

    before: bool
    hour: int
    sales: int
    net: Decimal


@dataclass(frozen=True)
class DepartmentSum:
    before: bool
    department: str
    amount: Decimal


@dataclass(frozen=True)
class ItemSum:
    sku: str
    name: str  # the greatest of its lines' names, as the till shows
    qty: Decimal
    amount: Decimal


def _utc_hour(session: Session) -> Any:
    """The UTC hour of a fact, as text 'YYYY-MM-DD HH', computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", SaleFact.at), "YYYY-MM-DD HH24")
    return func.strftime("%Y-%m-%d %H", SaleFact.at)  # SQLite keeps UTC moments as naive text


def hour_sums(session: Session, store: Store, period: Window, week_before: Window) -> list[HourSum]:
    """Sales and net per local hour, of the period and of the same days a week before, read in one pass: the
    database sums them per UTC hour (a year is ~9k hours, not ~110k sales); a UTC hour that lies within one local
    hour and within its windows counts there, any other (a zone at a half hour, a clock change, a window's edge in
    such a zone) is read sale by sale (as the till does: app.services.report_days.hours_between)."""
    tz = ZoneInfo(store.timezone)
    windows = ((False, period), (True, week_before))
    out: dict[tuple[bool, int], list[Any]] = {}

    def add(at: datetime, n: int, net: Decimal, wanted: Iterable[bool]) -> None:
        for before in wanted:
            cell = out.setdefault((before, at.hour), [0, _ZERO])
            cell[0] += n
            cell[1] += net

    f = SaleFact
    span = (
        f.store_id == store.id,
        f.at >= min(period[0], week_before[0]),
        f.at < max(period[1], week_before[1]),
    )
    bucket = _utc_hour(session)
    split = []
    for stamp, n, net in session.execute(
        select(bucket, func.count(), func.sum(f.total)).where(*span).group_by(bucket)
    ):
        hour = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)
        local = figures.whole_local_hour(hour, tz)
        if local is not None:  # inside a window whole, or outside it
            add(local, n, net or _ZERO, [b for b, (start, end) in windows if start <= hour < end])
        else:
            split.append(hour)
    for hour in split:
        q = select(f.at, f.total).where(*span, f.at >= hour, f.at < hour + timedelta(hours=1))
        for at, total in session.execute(q):
            add(at.astimezone(tz), 1, total, [b for b, (start, end) in windows if start <= at < end])
    return [HourSum(before, hour, n, net) for (before, hour), (n, net) in out.items()]


def hour_rows(sums: Iterable[HourSum]) -> list[figures.Row]:
    """Per local hour, beside the same days a week before (figures.hour_rows, as the till shows them)."""
    windows: tuple[dict[int, tuple[int, Decimal]], dict[int, tuple[int, Decimal]]] = ({}, {})
    for s in sums:
        into = windows[s.before]
        n, net = into.get(s.hour, (0, _ZERO))
        into[s.hour] = (n + s.sales, net + s.net)
    return figures.hour_rows(*windows)


def _items(session: Session, store: Store, *windows: Window) -> list[list[ItemSum]]:
    """Per item, its lines' quantity and amount in each window, read in one pass over them all."""
    f = SaleLineFact
    sums = []
    for start, end in windows:
        inside = and_(f.at >= start, f.at < end)
        sums += [
            func.sum(case((inside, f.qty))),
            func.sum(case((inside, f.amount))),
            func.count(case((inside, 1))),
        ]
    q = (
        select(f.sku, func.max(f.name), *sums)
        .where(
            f.store_id == store.id,
            f.at >= min(w[0] for w in windows),
            f.at < max(w[1] for w in windows),
        )
        .group_by(f.sku)
    )
    out: list[list[ItemSum]] = [[] for _ in windows]
    for sku, name, *values in session.execute(
        q
    ):  # the sums come as the columns' types: Decimal quantities, money
        for k in range(len(windows)):
            qty, amount, n = values[3 * k : 3 * k + 3]
            if n:
                out[k].append(ItemSum(sku, name, qty, amount))
    return out


def item_sums(session: Session, store: Store, period: Window, _week_before: Window) -> list[ItemSum]:
    return _items(session, store, period)[0]


def department_sums(
    session: Session, store: Store, period: Window, week_before: Window
) -> list[DepartmentSum]:
    """Sold per department, each item in the department the catalog puts it in now (as the till counts it:
    app.services.reports_sales `sales_by_department`); an item the catalog does not know is in none."""
    now, before = _items(session, store, period, week_before)
    sums = [(False, now), (True, before)]
    skus = sorted({it.sku for _b, items in sums for it in items})
    department = dict(
        session.execute(select(Product.sku, Product.department).where(Product.sku.in_(skus))).all()
    )
    out: dict[tuple[bool, str], Decimal] = {}
    for was, items in sums:
        for it in items:
            code = department.get(it.sku) or ""
            name = protocol.department_name(code) if code else "No department"
            out[was, name] = out.get((was, name), _ZERO) + it.amount
    return [DepartmentSum(was, name, amount) for (was, name), amount in out.items()]


def department_rows(sums: Iterable[DepartmentSum]) -> list[figures.Row]:
    """Per department, beside the same days a week before (figures.department_rows, as the till shows them)."""
    windows: tuple[dict[str, Decimal], dict[str, Decimal]] = ({}, {})
    for s in sums:
        into = windows[s.before]
        into[s.department] = into.get(s.department, _ZERO) + s.amount
    return figures.department_rows(*windows)


def top_rows(sums: Iterable[ItemSum]) -> list[figures.Row]:
    """The items that sold for most (figures.top_item_rows, as the till shows them)."""
    return figures.top_item_rows((s.sku, s.name, s.qty, s.amount) for s in sums)
