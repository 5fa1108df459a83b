"""Store reports: each figure defined once, computed from the orders, lines, payments, shifts and the stock ledger.

A report is plain data (columns and rows) over a period of local days in the store's time zone: today, yesterday,
this week (from the locale's first day of the week) or a range (app.services.reports_base, with what a sale is:
what the Z report counts). This module is the list of reports the Reports screen opens and the one door to them
(`run`, `open_report`); the reports themselves live by what they are about:

- app.services.reports_sales: sales by hour and by department, top items, discounts and price overrides (each,
  and summed by reason and approver);
- app.services.reports_cash: tenders (the Z's figures), cash over and short per shift and per cashier;
- here: returns, pickups and the pack bench (figures of app.domain.figures, fed from the till's rows by
  app.services.reports_fulfilment, and at the central store from its own: one definition for both), and stock
  below its minimum or negative (the sum of the ledger's movements, not the balance table).

Nothing here reads a counter kept on the side. Every name the reports had before the split is still importable
from here.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from app.domain import figures
from app.domain.permissions import Permission
from app.services import reports_fulfilment as fulfilment
from app.services import staff, stock
from app.services.base import Actor, UserError
from app.services.reports_base import (
    MAX_RANGE_DAYS,
    PERIOD_KINDS,
    PERIOD_WORDS,
    Cell,
    Column,
    Period,
    Report,
    figure_report,
    period,
    sales,
    sold_between,
)
from app.services.reports_cash import (
    ShiftCash,
    cash_by_cashier,
    cash_by_shift,
    shift_cash,
    tender_report,
    tender_totals,
)
from app.services.reports_sales import (
    TOP_ITEMS,
    discount_reasons,
    discounts,
    sales_by_department,
    sales_by_hour,
    top_items,
)

__all__ = [
    "MAX_RANGE_DAYS",
    "PERIOD_KINDS",
    "PERIOD_WORDS",
    "REPORTS",
    "TOP_ITEMS",
    "Cell",
    "Column",
    "Period",
    "Report",
    "ShiftCash",
    "UserError",
    "cash_by_cashier",
    "cash_by_shift",
    "discount_reasons",
    "discounts",
    "open_report",
    "pack_report",
    "period",
    "pickup_report",
    "returns_by_disposition",
    "returns_by_reason",
    "run",
    "sales",
    "sales_by_department",
    "sales_by_hour",
    "shift_cash",
    "sold_between",
    "stock_watch",
    "tender_report",
    "tender_totals",
    "top_items",
]


def returns_by_reason(session: Session, p: Period) -> Report:
    items = fulfilment.return_items(session, *p.bounds())
    return figure_report(figures.RETURNS_REASON, p, figures.returns_by_reason(items))


def returns_by_disposition(session: Session, p: Period) -> Report:
    items = fulfilment.return_items(session, *p.bounds())
    return figure_report(figures.RETURNS_DISPOSITION, p, figures.returns_by_disposition(items))


def pickup_report(session: Session, p: Period) -> Report:
    return figure_report(figures.PICKUPS, p, figures.pickups(fulfilment.pickup_items(session, *p.bounds())))


def pack_report(session: Session, p: Period) -> Report:
    items = fulfilment.pack_items(session, *p.bounds())
    return figure_report(figures.PACK, p, figures.pack_bench(items, p.timezone))


def stock_watch(session: Session, p: Period) -> Report:
    """Products whose stock at the store is negative or below their minimum (app.services.stock.below_minimum).
    Stock is as of now, whatever the period."""
    items = (figures.StockItem(*row) for row in stock.below_minimum(session))
    return figure_report(figures.STOCK, p, figures.stock_rows(items))


REPORTS: dict[str, tuple[str, Callable[[Session, Period], Report]]] = {
    "hour": ("Sales by hour", sales_by_hour),
    "department": ("Sales by department", sales_by_department),
    "tenders": ("Tenders", tender_report),
    "cash_shift": ("Cash over/short by shift", cash_by_shift),
    "cash_cashier": ("Cash over/short by cashier", cash_by_cashier),
    "top_items": ("Top items", top_items),
    "discounts": ("Discounts and price overrides", discounts),
    "discount_reasons": ("Discounts by reason and approver", discount_reasons),
    "returns": ("Returns by reason", returns_by_reason),
    "returns_disposition": ("Returns by disposition", returns_by_disposition),
    "pickups": ("Pickups", pickup_report),
    "pack": ("Pack bench", pack_report),
    "stock": ("Stock below minimum and negative", stock_watch),
}


def open_report(
    session: Session, actor: Actor, key: str, kind: str, first: date | None = None, last: date | None = None
) -> Report:
    """What the Reports screen asks for: the figures of a store (cash over and short per cashier among them) are
    for those allowed to view reports, or shown with a supervisor's approval."""
    staff.require(session, actor, Permission.REPORTS_VIEW, "view the store's reports")
    return run(session, key, kind, first, last)


def run(session: Session, key: str, kind: str, first: date | None = None, last: date | None = None) -> Report:
    """One report over one period: what the Reports screen asks for."""
    if key not in REPORTS:
        raise UserError(f"There is no report called {key}.")
    return REPORTS[key][1](session, period(session, kind, first, last))
