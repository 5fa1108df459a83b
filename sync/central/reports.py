"""The chain's reports at the central store: the sales by hour and by department and the top items
(sync.central.report_sales), the discounts by reason and approver (sync.central.report_discounts), the stock
below its minimum and negative (sync.central.report_stock), the tenders (sync.central.report_tenders), the cash over and short per shift and per
cashier (sync.central.report_cash) and the fulfilment figures of app.domain.figures, by store and for the chain, fed
from the central's own tables with the facts the tills sent (their sales' totals and lines, their return lines, the
moments and promises their order changes carry, the pack bench's figures, the payments of their sales and
hand-overs: sync.central.report_facts; their shifts as they sent them).

Each store's period is its local days (the store's time zone), as on its tills. The chain's rows are the same
function over every chosen store's facts together (the pack bench's days in the first store's zone).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, String, and_, cast, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from sync import protocol
from sync.central import report_cash, report_discounts, report_sales, report_stock, report_tenders
from sync.central.models import OrderStatusHistory, Return, Store, WebOrder
from sync.central.report_facts import OrderEventFact
from sync.central.service.base import CentralError, NotFound

OrderState = protocol.lifecycle.OrderState
figures = protocol.figures  # the one definition of each figure, shared with the tills (app.domain.figures)
MAX_DAYS = 366
# The sales (sync.central.report_sales), the discounts (sync.central.report_discounts), the cash over and short
# per shift and per cashier (sync.central.report_cash), the fulfilment figures of app.domain.figures, and the
# tenders (sync.central.report_tenders).
FIGURES: dict[str, figures.Figure] = {
    report_sales.HOUR.key: report_sales.HOUR,
    report_sales.DEPARTMENT.key: report_sales.DEPARTMENT,
    report_sales.TOP_ITEMS.key: report_sales.TOP_ITEMS,
    report_discounts.DISCOUNT_REASONS.key: report_discounts.DISCOUNT_REASONS,
    report_discounts.DISCOUNTS.key: report_discounts.DISCOUNTS,
    **figures.FIGURES,
    report_tenders.TENDERS.key: report_tenders.TENDERS,
    report_cash.CASH_SHIFT.key: report_cash.CASH_SHIFT,
    report_cash.CASH_CASHIER.key: report_cash.CASH_CASHIER,
    report_stock.STOCK.key: report_stock.STOCK,
}
NAMES = tuple(FIGURES)
_SLACK = timedelta(days=2)  # an event's arrival time and the moment it carries differ by less than this


@dataclass(frozen=True)
class StoreRows:
    code: str
    name: str
    rows: list[figures.Row]


@dataclass(frozen=True)
class ChainReport:
    figure: figures.Figure
    first: date
    last: date
    stores: list[StoreRows]
    chain: list[figures.Row]


# A moment a till sent: ISO 8601, UTC without an offset; None when it does not read.
_when = report_cash.moment


def _moment(column: Any) -> Any:
    """A UTC column read as the driver gives it (aware on PostgreSQL, naive UTC on SQLite; see `_aware`): a year's
    rows through the column type's own conversion to UTC cost more than the query."""
    return type_coerce(column, DateTime(timezone=True))


_aware = report_cash.aware


def _dec(value: Any) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0))
    except InvalidOperation:
        return Decimal(0)


def bounds(store: Store, first: date, last: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(store.timezone)
    start = datetime.combine(first, time(), zone).astimezone(UTC)
    return start, datetime.combine(last + timedelta(days=1), time(), zone).astimezone(UTC)


# ---------------------------------------------------------------- what the central feeds the figures


def return_items(session: Session, store: Store, start: datetime, end: datetime) -> list[figures.ReturnItem]:
    """The lines of the store's returns completed (at the till, as it says) in [start, end). Only the moment and
    the lines are read out of each return's document (not the whole document decoded here), as plain rows."""
    doc = Return.document
    q = select(
        cast(Return.id, String), doc["completed_at"].as_string(), _moment(Return.occurred_at), doc["lines"]
    ).where(
        Return.store_id == store.id,
        Return.occurred_at >= start - _SLACK,
        Return.occurred_at < end + _SLACK,
    )
    out = []
    for rid, completed_at, occurred, lines in session.connection().execute(q).all():
        when = _when(completed_at) or _aware(occurred)
        if not start <= when < end or not isinstance(lines, list):
            continue
        for line in lines:
            if not isinstance(line, dict):
                continue
            out.append(
                figures.ReturnItem(
                    rid,
                    str(line.get("reason") or ""),
                    str(line.get("condition") or ""),
                    str(line.get("disposition") or ""),
                    _dec(line.get("qty")),
                    _dec(line.get("amount")),
                )
            )
    return out


def pickup_items(session: Session, store: Store, start: datetime, end: datetime) -> list[figures.PickupItem]:
    """The store's pickup and curbside orders made ready in [start, end), with the moments their tills sent: the
    orders' history names the change that made each ready (and the one that handed it over), whose moments the
    facts of that change hold (sync.central.report_facts), so one query reads each order once."""
    ready_h, ready_f = aliased(OrderStatusHistory), aliased(OrderEventFact)
    done_h, done_f = aliased(OrderStatusHistory), aliased(OrderEventFact)
    q = (
        select(
            WebOrder.fulfilment,
            _moment(WebOrder.created_at),
            _moment(WebOrder.arrived_at),
            WebOrder.status,
            _moment(func.coalesce(ready_f.ready_at, ready_f.occurred_at)),
            _moment(ready_f.promised_at),
            _moment(func.coalesce(done_f.handed_at, done_f.occurred_at)),
        )
        .join(ready_h, and_(ready_h.order_id == WebOrder.id, ready_h.to_status == OrderState.READY))
        .join(ready_f, ready_f.event_id == ready_h.event_id)
        .outerjoin(done_h, and_(done_h.order_id == WebOrder.id, done_h.to_status == OrderState.COLLECTED))
        .outerjoin(done_f, done_f.event_id == done_h.event_id)
        .where(
            WebOrder.store_id == store.id,
            WebOrder.fulfilment.in_(("pickup", "curbside")),
            ready_h.at >= start - _SLACK,  # applied after it happened
            ready_h.at < end + _SLACK,
        )
    )
    out = []
    # Plain rows through the connection, fetched at once: a year of a busy store is tens of thousands of them.
    for fulfilment, created_at, arrived_at, status, ready_at, promised_at, handed_at in (
        session.connection().execute(q).all()
    ):
        at = _aware(ready_at)
        if not start <= at < end:
            continue
        promise = figures.promised(_aware(created_at), _aware(promised_at), figures.DEFAULT_PROMISE_MINUTES)
        out.append(figures.PickupItem(fulfilment, promise, at, _aware(arrived_at), _aware(handed_at), status))
    return out


def pack_items(session: Session, store: Store, start: datetime, end: datetime) -> list[figures.PackItem]:
    """The store's orders packed in [start, end), with the bench's figures their `packed` change carried (its
    facts: sync.central.report_facts)."""
    f = OrderEventFact
    q = (
        select(_moment(f.started_at), _moment(f.packed_at), f.scans, f.errors, f.approvals)
        .join(OrderStatusHistory, OrderStatusHistory.event_id == f.event_id)
        .where(
            f.store_id == store.id,
            OrderStatusHistory.to_status == OrderState.PACKED,
            OrderStatusHistory.at >= start - _SLACK,
            OrderStatusHistory.at < end + _SLACK,
        )
    )
    out = []
    for started_at, packed_at, scans, errors, approvals in session.connection().execute(q).all():
        started, packed = _aware(started_at), _aware(packed_at)
        if started is None or packed is None or not start <= packed < end:
            continue
        out.append(figures.PackItem(started, packed, scans, errors, approvals))
    return out


# ---------------------------------------------------------------- one report


_FEED: dict[str, Callable[[Session, Store, datetime, datetime], list[Any]]] = {
    "returns": return_items,
    "returns_disposition": return_items,
    "pickups": pickup_items,
    "pack": pack_items,
    "tenders": report_tenders.tender_sums,
    "cash_shift": report_cash.shift_items,
    "cash_cashier": report_cash.shift_items,
    "discount_reasons": report_discounts.discount_sums,
    "discounts": report_discounts.discount_entries,
    "stock": report_stock.stock_items,
}


# The sales reports read the period and the same days a week before (each store's local days).
_SALES_FEED: dict[
    str, Callable[[Session, Store, tuple[datetime, datetime], tuple[datetime, datetime]], list[Any]]
] = {
    "hour": report_sales.hour_sums,
    "department": report_sales.department_sums,
    "top_items": report_sales.item_sums,
}


def _rows(name: str, items: Iterable[Any], timezone: str) -> list[figures.Row]:
    if name == "hour":
        return report_sales.hour_rows(items)
    if name == "department":
        return report_sales.department_rows(items)
    if name == "top_items":
        return report_sales.top_rows(items)
    if name == "returns":
        return figures.returns_by_reason(items)
    if name == "returns_disposition":
        return figures.returns_by_disposition(items)
    if name == "pickups":
        return figures.pickups(items)
    if name == "tenders":
        return report_tenders.tender_rows(items)
    if name == "cash_shift":
        return figures.shift_rows(items, timezone)
    if name == "cash_cashier":
        return figures.cashier_rows(items)
    if name == "discount_reasons":
        return figures.discount_rows(items)
    if name == "discounts":
        return figures.discount_list_rows(items, timezone)
    if name == "stock":
        return figures.stock_rows(items)
    return figures.pack_bench(items, timezone)


def parse_day(text: str | None, what: str) -> date:
    if not text:
        raise CentralError(f"give the {what} day as YYYY-MM-DD")
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CentralError(f"{what} day {text!r} is not a date: write it as YYYY-MM-DD") from exc


def run(
    session: Session, name: str, first: date, last: date, stores: Iterable[str] | None = None
) -> ChainReport:
    """Report `name` over the local days first..last for the chosen stores (all when None), and for them together."""
    if name not in FIGURES:
        raise NotFound(f"there is no report {name!r}: choose one of {', '.join(NAMES)}")
    if last < first:
        raise CentralError("the last day is before the first: swap them")
    if (last - first).days >= MAX_DAYS:
        raise CentralError(f"a report covers at most {MAX_DAYS} days: choose a shorter range")
    if name == "discounts" and (last - first).days >= report_discounts.MAX_LIST_DAYS:
        raise CentralError(
            f"the list of discounts covers at most {report_discounts.MAX_LIST_DAYS} days (one row each): "
            "choose a shorter range, or the discounts by reason and approver"
        )
    q = select(Store).order_by(Store.code)
    wanted = None if stores is None else sorted({c.strip().upper() for c in stores})
    if wanted is not None:
        q = q.where(Store.code.in_(wanted))
    chosen = list(session.scalars(q))
    if wanted is not None and len(chosen) != len(wanted):
        missing = sorted(set(wanted) - {s.code for s in chosen})
        raise NotFound(f"no store {', '.join(missing)}")
    per: list[StoreRows] = []
    every: list[Any] = []
    for store in chosen:
        if name in _SALES_FEED:
            week = timedelta(days=7)
            items = _SALES_FEED[name](
                session, store, bounds(store, first, last), bounds(store, first - week, last - week)
            )
        else:
            items = _FEED[name](session, store, *bounds(store, first, last))
        every.extend(items)
        per.append(StoreRows(store.code, store.name, _rows(name, items, store.timezone)))
    zone = chosen[0].timezone if chosen else "UTC"
    return ChainReport(FIGURES[name], first, last, per, _rows(name, every, zone))


def as_json(report: ChainReport) -> dict[str, Any]:
    """The report on the wire: numbers as strings (exact decimals), one table per store and the chain's."""
    f = report.figure

    def table(rows: list[figures.Row]) -> list[list[str | int]]:
        return [[c if isinstance(c, int) else str(c) for c in r] for r in rows]

    return {
        "report": f.key,
        "title": f.title,
        "from": report.first.isoformat(),
        "to": report.last.isoformat(),
        "columns": [{"title": t, "kind": k} for t, k in f.columns],
        "note": f.note,
        "stores": [{"store": s.code, "name": s.name, "rows": table(s.rows)} for s in report.stores],
        "chain": table(report.chain),
    }
