"""Cash and tenders: the tenders of the period's sales (the Z's own figures) and each closed shift's cash over or
short, per shift and per cashier.

Tenders come from `shifts.tender_figures`'s definition, the Z's, summed by the database; a shift's expected cash is
the Z's (`shifts.shift_figures`), and its over/short is the counted cash (the blind count kept on the shift) minus
it.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Order, Payment, Shift, StaffUser
from app.domain import figures, tenders
from app.domain.money import ZERO
from app.services import shifts
from app.services.reports_base import Cell, Column, Period, Report, figure_report, sales


def tender_totals(session: Session, p: Period) -> tuple[list[shifts.TenderFigure], Decimal]:
    """The Z's tenders over the period's sales: per tender the sales it paid, its payments and the amount kept, in
    the tender list's order, and the cash customers handed over (`shifts.tender_figures`, the Z's function, which
    the reports' tests hold these to). Summed by the database: a year is ~130k payments, read from the payments'
    covering index."""
    q = (
        select(
            Payment.kind,
            func.count(func.distinct(Payment.order_id)),
            func.count(),
            func.sum(Payment.amount),
            func.sum(Payment.tendered),
        )
        .join(Order, Order.id == Payment.order_id)
        .where(sales(p))
        .group_by(Payment.kind)
    )
    order = shifts.TENDER_ORDER
    rows = sorted(session.execute(q).all(), key=lambda r: order.index(r.kind) if r.kind in order else 99)
    by_tender = [shifts.TenderFigure(kind, sales, n, amount) for kind, sales, n, amount, _ in rows]
    return by_tender, sum((t for kind, *_, t in rows if kind == "cash"), ZERO)


def tender_report(session: Session, p: Period) -> Report:
    by_tender, _cash_tendered = tender_totals(session, p)
    rows: list[tuple[Cell, ...]] = [
        (tenders.WORDS.get(t.kind, t.kind), t.sales, t.payments, t.amount) for t in by_tender
    ]
    return Report(
        "tenders",
        "Tenders",
        p,
        (
            Column("Tender", "text"),
            Column("Sales", "count"),
            Column("Payments", "count"),
            Column("Amount", "money"),
        ),
        rows,
        0,
        (3,),
        "Amount kept: cash net of change, as on the Z report.",
    )


ShiftCash = figures.ShiftCash


def shift_cash(session: Session, p: Period) -> list[ShiftCash]:
    """Closed shifts closed within the period: the Z's expected cash, the blind count (over/short: counted minus
    expected)."""
    start, end = p.bounds()
    closed = list(
        session.execute(
            select(Shift.id, Shift.number, Shift.closed_at, Shift.counted, StaffUser.display_name)
            .join(StaffUser, StaffUser.id == Shift.opened_by)
            .where(Shift.status == "closed", Shift.closed_at >= start, Shift.closed_at < end)
            .order_by(Shift.closed_at)
        )
    )
    expected = shifts.expected_cash_of(session, [row.id for row in closed])
    out = []
    for shift_id, number, closed_at, counted_json, cashier in closed:
        cash = (counted_json or {}).get("cash") or {}
        counted = tenders.denomination_total({Decimal(d): int(n) for d, n in cash.items()})
        out.append(ShiftCash(number, cashier, closed_at, expected[shift_id], counted))
    return out


def cash_by_shift(session: Session, p: Period) -> Report:
    return figure_report(figures.CASH_SHIFT, p, figures.shift_rows(shift_cash(session, p), p.timezone))


def cash_by_cashier(session: Session, p: Period) -> Report:
    return figure_report(figures.CASH_CASHIER, p, figures.cashier_rows(shift_cash(session, p)))
