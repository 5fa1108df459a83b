"""Sales reports: sales by hour and by department (each beside the same days a week before), the top items, and
the discounts and price overrides with who approved them; all over the sales the Z counts
(app.services.reports_base.sales).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Department, Product, StaffUser
from app.domain import figures
from app.domain.money import ZERO, quantize_money
from app.services import discount_lines, report_days
from app.services.reports_base import Cell, Period, Report, figure_report

TOP_ITEMS = figures.TOP_ITEMS_SHOWN


def sales_by_hour(session: Session, p: Period) -> Report:
    rows = figures.hour_rows(
        report_days.hour_sums(session, p), report_days.hour_sums(session, p.week_before())
    )
    return figure_report(figures.HOUR, p, rows)


def _department_totals(session: Session, p: Period) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Sold per department in the period and in the same days a week before, from the sums per product
    (app.services.report_days: the closed days' kept, the open days' from the orders), each product in the
    department it is in now."""
    names = dict(session.execute(select(Department.code, Department.name)).all())
    department = dict(session.execute(select(Product.id, Product.department)).all())
    totals: tuple[dict[str, Decimal], dict[str, Decimal]] = ({}, {})
    for by_name, window in zip(totals, (p, p.week_before()), strict=True):
        per_product: dict[str, Decimal] = {}
        for (product_id, _sku), (_name, _n, _qty, amount) in report_days.item_sums(session, window).items():
            per_product[product_id] = per_product.get(product_id, ZERO) + amount
        for product_id, value in per_product.items():
            code = department.get(product_id) if product_id else None
            name = names.get(code, code) if code else "No department"
            by_name[name] = by_name.get(name, ZERO) + quantize_money(value)
    return totals


def sales_by_department(session: Session, p: Period) -> Report:
    return figure_report(figures.DEPARTMENT, p, figures.department_rows(*_department_totals(session, p)))


def top_items(session: Session, p: Period) -> Report:
    sums = report_days.item_sums(session, p)
    rows = figures.top_item_rows(
        (sku, name, qty, amount) for (_id, sku), (name, _n, qty, amount) in sums.items()
    )
    return figure_report(figures.TOP_ITEMS, p, rows)


def _minute_text(p: Period) -> Callable[[Any], str]:
    """A completion moment as the local minute it shows ("YYYY-MM-DD HH:MM"), from the raw value the database
    gives (SQLite's naive UTC text, PostgreSQL's aware datetime). Worked out once per UTC hour: in an hour whose
    offset is whole hours throughout (every hour of a zone whole hours from UTC: clocks change on the hour), the
    local minute is the UTC one after the local hour; any other hour is worked out minute by minute."""
    zone = ZoneInfo(p.timezone)
    hours: dict[str, str | None] = {}
    minutes: dict[str, str] = {}

    def local(text: str) -> str:
        at = datetime.fromisoformat(text).replace(tzinfo=UTC).astimezone(zone)
        return at.strftime("%Y-%m-%d %H:%M")

    def text(raw: Any) -> str:
        if not isinstance(raw, str):
            raw = raw.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        hour = raw[:13]
        if hour not in hours:
            start = datetime.fromisoformat(hour + ":00").replace(tzinfo=UTC)
            first, last = start.astimezone(zone), (start + timedelta(minutes=59)).astimezone(zone)
            whole = first.utcoffset() == last.utcoffset() and first.minute == 0
            hours[hour] = first.strftime("%Y-%m-%d %H") if whole else None
        prefix = hours[hour]
        if prefix is not None:
            return prefix + raw[13:16]
        minute = raw[:16]
        shown = minutes.get(minute)
        if shown is None:
            shown = minutes[minute] = local(minute)
        return shown

    return text


def _staff_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())


def discounts(session: Session, p: Period) -> Report:
    """Every discount and price override on the period's sales, with its reason and who approved it: the manager
    of the approval it used (app.db Approval), or the cashier's own authority when the role allowed it
    (app.services.discount_lines, which the summary by reason sums too)."""
    found = discount_lines.entries(session, *p.bounds())
    by_approval = discount_lines.approvers(session)
    names = _staff_names(session)
    when = _minute_text(p)
    rows: list[tuple[Cell, ...]] = []
    for e in found:
        approved = figures.approved_by(names, *discount_lines.approver(e, by_approval))
        rows.append((when(e.completed_at), e.number, e.item, e.kind, e.amount, e.reason, approved))
    return figure_report(figures.DISCOUNTS, p, rows)


def discount_reasons(session: Session, p: Period) -> Report:
    """The discounts and price overrides of the period summed by kind, reason and who approved them: the list's
    entries (`discounts`) counted and added up, the closed days' from what was kept of them
    (app.services.report_days), so a year opens at once where its list is tens of thousands of rows."""
    names = _staff_names(session)
    sums = [
        figures.DiscountSum(kind, reason, figures.approved_by(names, who, own), n, amount)
        for (kind, reason, who, own), (n, amount) in report_days.discount_sums(session, p).items()
    ]
    return figure_report(figures.DISCOUNT_REASONS, p, figures.discount_rows(sums))
