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

from sqlalchemy import func, select
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


def _hours(session: Session, store: Store, start: datetime, end: datetime) -> dict[int, list[Any]]:
    """Sales and net per local hour between two moments: the database sums them per UTC hour (a year is ~9k
    hours, not ~110k sales); a UTC hour that falls within one local hour counts there, any other (a zone at a half
    hour, a clock change) is read sale by sale (as the till does: app.services.report_days.hours_between)."""
    tz = ZoneInfo(store.timezone)
    out: dict[int, list[Any]] = {}

    def add(hour: int, n: int, net: Decimal) -> None:
        cell = out.setdefault(hour, [0, _ZERO])
        cell[0] += n
        cell[1] += net

    f = SaleFact
    window = (f.store_id == store.id, f.at >= start, f.at < end)
    bucket = _utc_hour(session)
    split = []
    for stamp, n, net in session.execute(
        select(bucket, func.count(), func.sum(f.total)).where(*window).group_by(bucket)
    ):
        hour = datetime.strptime(stamp, "%Y-%m-%d %H").replace(tzinfo=UTC)
        first, last = hour.astimezone(tz), (hour + timedelta(hours=1, microseconds=-1)).astimezone(tz)
        if first.hour == last.hour and first.date() == last.date() and first.utcoffset() == last.utcoffset():
            add(first.hour, n, net or _ZERO)
        else:
            split.append(hour)
    for hour in split:
        q = select(f.at, f.total).where(*window, f.at >= hour, f.at < hour + timedelta(hours=1))
        for at, total in session.execute(q):
            add(at.astimezone(tz).hour, 1, total)
    return out


def hour_sums(session: Session, store: Store, period: Window, week_before: Window) -> list[HourSum]:
    return [
        HourSum(before, hour, n, net)
        for before, (start, end) in ((False, period), (True, week_before))
        for hour, (n, net) in _hours(session, store, start, end).items()
    ]


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


def _items(session: Session, store: Store, window: Window) -> list[ItemSum]:
    f = SaleLineFact
    q = (
        select(f.sku, func.max(f.name), func.sum(f.qty), func.sum(f.amount))
        .where(f.store_id == store.id, f.at >= window[0], f.at < window[1])
        .group_by(f.sku)
    )
    return [ItemSum(sku, name, qty, amount) for sku, name, qty, amount in session.execute(q)]


def item_sums(session: Session, store: Store, period: Window, _week_before: Window) -> list[ItemSum]:
    return _items(session, store, period)


def department_sums(
    session: Session, store: Store, period: Window, week_before: Window
) -> list[DepartmentSum]:
    """Sold per department, each item in the department the catalog puts it in now (as the till counts it:
    app.services.reports_sales `sales_by_department`); an item the catalog does not know is in none."""
    sums = [(before, _items(session, store, w)) for before, w in ((False, period), (True, week_before))]
    skus = sorted({it.sku for _b, items in sums for it in items})
    department = dict(
        session.execute(select(Product.sku, Product.department).where(Product.sku.in_(skus))).all()
    )
    out: dict[tuple[bool, str], Decimal] = {}
    for before, items in sums:
        for it in items:
            code = department.get(it.sku) or ""
            name = protocol.department_name(code) if code else "No department"
            out[before, name] = out.get((before, name), _ZERO) + it.amount
    return [DepartmentSum(before, name, amount) for (before, name), amount in out.items()]


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
