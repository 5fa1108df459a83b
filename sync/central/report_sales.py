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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central.models import Product, Store
from sync.central.report_facts import SaleFact, SaleLineFact

figures = protocol.figures
TOP = 20
_ZERO = Decimal("0.00")  # as the till shows an hour without sales
Window = tuple[datetime, datetime]

HOUR = figures.Figure(
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
DEPARTMENT = figures.Figure(
    "department",
    "Sales by department",
    (("Department", "text"), ("Sold", "money"), ("A week before", "money")),
    0,
    (1, 2),
    "Sold: the lines' amounts after discounts, voided lines left out.",
)
TOP_ITEMS = figures.Figure(
    "top_items",
    "Top items",
    (("SKU", "text"), ("Item", "text"), ("Quantity", "qty"), ("Sold", "money")),
    1,
    (3,),
    f"The {TOP} items that sold for most, after discounts.",
)


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
    one_hour = timedelta(hours=1)
    for stamp, n, net in session.execute(
        select(bucket, func.count(), func.sum(f.total)).where(*span).group_by(bucket)
    ):
        hour = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)
        first, last = hour.astimezone(tz), (hour + one_hour - timedelta(microseconds=1)).astimezone(tz)
        whole = (
            first.hour == last.hour and first.date() == last.date() and first.utcoffset() == last.utcoffset()
        )
        # Each window holds the hour whole, or none of it; an hour at a window's edge is read sale by sale.
        spans = [
            (b, start <= hour and hour + one_hour <= end, start < hour + one_hour and hour < end)
            for b, (start, end) in windows
        ]
        edge = any(touches and not whole_in for _b, whole_in, touches in spans)
        inside = [b for b, whole_in, _touches in spans if whole_in]
        if whole and not edge:
            add(first, n, net or _ZERO, inside)
        else:
            split.append(hour)
    for hour in split:
        q = select(f.at, f.total).where(*span, f.at >= hour, f.at < hour + one_hour)
        for at, total in session.execute(q):
            add(at.astimezone(tz), 1, total, [b for b, (start, end) in windows if start <= at < end])
    return [HourSum(before, hour, n, net) for (before, hour), (n, net) in out.items()]


def hour_rows(sums: Iterable[HourSum]) -> list[figures.Row]:
    """Per local hour: the sales and their net, beside the same days a week before (app.services.reports_sales
    `sales_by_hour`)."""
    per: dict[int, list[Any]] = {}
    for s in sums:
        cell = per.setdefault(s.hour, [0, _ZERO, 0, _ZERO])
        k = 2 if s.before else 0
        cell[k] += s.sales
        cell[k + 1] += s.net
    return [(f"{hour:02d}:00", *per[hour]) for hour in sorted(per)]


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
    """Per department: sold in the period and in the same days a week before, the most sold first."""
    now: dict[str, Decimal] = {}
    before: dict[str, Decimal] = {}
    for s in sums:
        into = before if s.before else now
        into[s.department] = into.get(s.department, _ZERO) + s.amount
    names = sorted(set(now) | set(before), key=lambda n: (-now.get(n, _ZERO), n))
    return [(n, now.get(n, _ZERO), before.get(n, _ZERO)) for n in names]


def top_rows(sums: Iterable[ItemSum]) -> list[figures.Row]:
    """The items that sold for most, after discounts (app.services.reports_sales `top_items`)."""
    per: dict[str, list[Any]] = {}
    for s in sums:
        cell = per.get(s.sku)
        if cell is None:
            per[s.sku] = [s.name, s.qty, s.amount]
        else:
            cell[0], cell[1], cell[2] = max(cell[0], s.name), cell[1] + s.qty, cell[2] + s.amount
    best = sorted(per.items(), key=lambda kv: (-kv[1][2], kv[0]))[:TOP]
    cent = Decimal("0.01")
    return [
        (sku, name, Decimal(qty).normalize(), Decimal(amount).quantize(cent, rounding=ROUND_HALF_UP))
        for sku, (name, qty, amount) in best
    ]
