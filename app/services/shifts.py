"""Shifts of a terminal's cash drawer: open with a float, paid in / paid out / no sale, X reading, Z close.

One shift is open per terminal at a time; every counter sale completes into it. Expected cash is the float plus
cash taken for sales (net of change, after cash rounding) plus paid in minus paid out. The close is a blind count:
the cashier enters what is in the drawer by denomination (and the other tenders' totals) before seeing what was
expected; the over/short per tender is then computed, stored with the Z figures in `shift.report`, printed, and sent
to the central store.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from app.db.models import CashMovement, Order, OrderLine, Payment, Shift, StaffUser, Store
from app.documents.reports import CashMovement as ReportCashMovement
from app.documents.reports import CountLine, ShiftReportData, TenderTotal, build_shift_report
from app.domain import pricing, tenders
from app.domain.money import ZERO, quantize_money
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, numbers, outbox, printing, receipts, staff
from app.services.base import Actor, PermissionDenied, UserError, here, now
from app.services.shift_views import (
    CashMovementView,
    ShiftFigures,
    ShiftView,
    TenderCount,
    TenderFigure,
    ZReport,
)

TENDER_ORDER = tenders.KINDS  # the one list, app.domain.tenders
TENDER_WORDS = tenders.WORDS


def _view(session: Session, s: Shift) -> ShiftView:
    name = session.scalar(select(StaffUser.display_name).where(StaffUser.id == s.opened_by)) or ""
    return ShiftView(
        s.id, s.number, s.terminal_code, s.status, s.opened_by, name, s.opened_at, s.opening_float
    )


def _open_row(session: Session) -> Shift | None:
    h = here(session)
    return session.scalar(select(Shift).where(Shift.terminal_code == h.terminal_code, Shift.status == "open"))


def _require_open(session: Session) -> Shift:
    shift = _open_row(session)
    if shift is None:
        raise UserError("No shift is open on this terminal: open one first (Office > Shift).")
    return shift


def _money(value: Decimal, what: str, positive: bool = True) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise UserError(f"The {what} is not an amount.")
    if quantize_money(value) != value:
        raise UserError(f"The {what} must be in whole cents.")
    if value < 0 or (positive and value == 0):
        raise UserError(f"The {what} must be more than 0." if positive else f"The {what} cannot be negative.")
    return value


def _require_report(session: Session, actor: Actor, action: str) -> str | None:
    """Shift-close permission for an X reading or the Z close; the approval names the action itself, not the
    permission's "close a shift", which misnamed the X reading ("close a shift (print an X report)")."""
    try:
        return staff.require(session, actor, Permission.SHIFT_CLOSE, action)
    except PermissionDenied as denied:
        raise PermissionDenied(denied.permission, f"A manager must approve: {action}.") from None


def current_shift(session: Session) -> ShiftView | None:
    """The open shift of this terminal, if any."""
    s = _open_row(session)
    return _view(session, s) if s else None


def open_shift(session: Session, actor: Actor, opening_float: Decimal) -> ShiftView:
    """Open the drawer's shift with the float counted into it."""
    approval = staff.require(session, actor, Permission.SHIFT_OPEN, "open a shift")
    value = _money(opening_float, "opening float", positive=False)
    if _open_row(session) is not None:
        raise UserError("A shift is already open on this terminal: close it first, or keep selling in it.")
    h = here(session)
    shift = Shift(
        id=new_id(),
        number=numbers.next_number(session, "shift"),
        terminal_code=h.terminal_code,
        status="open",
        opened_by=actor.user_id,
        opened_at=now(),
        opening_float=value,
    )
    session.add(shift)
    session.flush()
    outbox.emit(
        session,
        "shift.opened",
        {
            "shift_id": shift.id,
            "number": shift.number,
            "store": h.store_code,
            "terminal": h.terminal_code,
            "opened_by": actor.user_id,
            "opened_at": shift.opened_at.isoformat(),
            "opening_float": str(value),
        },
    )
    audit.record(
        session,
        actor.user_id,
        "shift.opened",
        "shift",
        shift.id,
        {"number": shift.number, "float": str(value), "approval": approval},
    )
    return _view(session, shift)


def _cash_movement(
    session: Session, actor: Actor, kind: str, amount: Decimal, reason: str
) -> CashMovementView:
    shift = _require_open(session)
    why = " ".join(reason.split())
    if not why:
        raise UserError("Give a reason: it goes on the shift report.")
    row = CashMovement(
        id=new_id(),
        shift_id=shift.id,
        kind=kind,
        amount=amount,
        reason=why[:200],
        user_id=actor.user_id,
        created_at=now(),
    )
    session.add(row)
    session.flush()
    return CashMovementView(row.id, kind, amount, row.reason)


def _paid(session: Session, actor: Actor, kind: str, amount: Decimal, reason: str) -> CashMovementView:
    permission = Permission.PAID_IN if kind == "paid_in" else Permission.PAID_OUT
    value = _money(amount, "amount")
    approval = staff.require(session, actor, permission, f"{kind.replace('_', ' ')} {value}")
    view = _cash_movement(session, actor, kind, value, reason)
    h = here(session)
    shift = _require_open(session)
    outbox.emit(
        session,
        f"cash.{kind}",
        {
            "id": view.id,
            "shift_id": shift.id,
            "shift_number": shift.number,
            "store": h.store_code,
            "terminal": h.terminal_code,
            "amount": str(value),
            "reason": view.reason,
            "user_id": actor.user_id,
        },
    )
    audit.record(
        session,
        actor.user_id,
        f"cash.{kind}",
        "shift",
        shift.id,
        {"amount": str(value), "reason": view.reason, "approval": approval},
    )
    return view


def paid_in(session: Session, actor: Actor, amount: Decimal, reason: str) -> CashMovementView:
    """Cash put into the drawer that is not a sale (more change from the safe, say)."""
    return _paid(session, actor, "paid_in", amount, reason)


def paid_out(session: Session, actor: Actor, amount: Decimal, reason: str) -> CashMovementView:
    """Cash taken out of the drawer that is not a refund (a delivery paid in cash, say)."""
    return _paid(session, actor, "paid_out", amount, reason)


def no_sale(session: Session, actor: Actor, reason: str) -> CashMovementView:
    """Open the drawer without a sale; recorded so a pattern of openings shows on the report and the audit trail."""
    approval = staff.require(session, actor, Permission.NO_SALE, "open the drawer")
    view = _cash_movement(session, actor, "no_sale", ZERO, reason)
    shift = _require_open(session)
    audit.record(
        session,
        actor.user_id,
        "drawer.no_sale",
        "shift",
        shift.id,
        {"reason": view.reason, "approval": approval},
    )
    return view


def tender_figures(
    payments: Iterable[tuple[str, str, Decimal, Decimal]],
) -> tuple[list[TenderFigure], Decimal]:
    """The tenders of completed sales from their payments (order id, kind, amount, tendered): the sales each paid,
    its payments and the amount kept, in the tender list's order; and the cash customers handed over. The one
    definition the Z report and the reports screen (app.services.reports) both use."""
    sale_ids: dict[str, set[str]] = {}
    count: dict[str, int] = {}
    amounts: dict[str, Decimal] = {}
    cash_tendered = ZERO
    for order_id, kind, amount, tendered in payments:
        sale_ids.setdefault(kind, set()).add(order_id)
        count[kind] = count.get(kind, 0) + 1
        amounts[kind] = amounts.get(kind, ZERO) + amount
        if kind == "cash":
            cash_tendered += tendered
    by_tender = [
        TenderFigure(k, len(sale_ids[k]), count[k], amounts[k])
        for k in sorted(count, key=lambda k: TENDER_ORDER.index(k) if k in TENDER_ORDER else 99)
    ]
    return by_tender, cash_tendered


def shift_sales(shift_ids: list[str]) -> ColumnElement[bool]:
    """The sales a shift's report counts: its completed counter sales, and the web orders paid at its pickup
    counter when handed over (only those get a shift: app.services.pickup_payment)."""
    return and_(
        or_(
            and_(Order.channel == "counter", Order.status == "completed"),
            and_(Order.channel == "web", Order.status == "collected"),
        ),
        Order.shift_id.in_(shift_ids),
    )


def shift_returns(shift_ids: list[str]) -> ColumnElement[bool]:
    """The returns a shift's report counts: those taken at the desk in the shift (their refunds left the drawer
    when paid in cash)."""
    return and_(Order.channel == "return", Order.status == "completed", Order.shift_id.in_(shift_ids))


def expected_cash(
    opening_float: Decimal,
    cash_sales: Decimal,
    paid_in: Decimal,
    paid_out: Decimal,
    cash_refunds: Decimal = ZERO,
) -> Decimal:
    """What the drawer should hold: the float, the cash kept for sales (net of change), paid in less paid out,
    less the cash refunded for returns."""
    return opening_float + cash_sales + paid_in - paid_out - cash_refunds


def expected_cash_of(session: Session, shift_ids: list[str]) -> dict[str, Decimal]:
    """Each shift's expected cash, as its X and Z reports compute it, summed by the database: for reports over
    many shifts, where building each shift's full figures would read every line of every sale."""
    cash = dict(
        session.execute(
            select(Order.shift_id, func.sum(Payment.amount))
            .join(Payment, Payment.order_id == Order.id)
            .where(shift_sales(shift_ids), Payment.kind == "cash")
            .group_by(Order.shift_id)
        ).all()
    )
    refunded = dict(
        session.execute(
            select(Order.shift_id, func.sum(Payment.amount))
            .join(Payment, Payment.order_id == Order.id)
            .where(shift_returns(shift_ids), Payment.kind == "cash")
            .group_by(Order.shift_id)
        ).all()
    )
    moved: dict[tuple[str, str], Decimal] = {
        (sid, kind): Decimal(total or 0)
        for sid, kind, total in session.execute(
            select(CashMovement.shift_id, CashMovement.kind, func.sum(CashMovement.amount))
            .where(CashMovement.shift_id.in_(shift_ids))
            .group_by(CashMovement.shift_id, CashMovement.kind)
        )
    }
    return {
        sid: expected_cash(
            float_,
            quantize_money(Decimal(cash.get(sid) or 0)),
            quantize_money(moved.get((sid, "paid_in"), ZERO)),
            quantize_money(moved.get((sid, "paid_out"), ZERO)),
            quantize_money(Decimal(refunded.get(sid) or 0)),
        )
        for sid, float_ in session.execute(
            select(Shift.id, Shift.opening_float).where(Shift.id.in_(shift_ids))
        )
    }


def shift_figures(session: Session, shift_id: str) -> ShiftFigures:
    """The figures of any shift, open or closed, computed afresh from its records (what its Z report showed)."""
    shift = session.get(Shift, shift_id)
    if shift is None:
        raise UserError("That shift is not on this terminal.")
    return _figures(session, shift)


def _figures(session: Session, shift: Shift) -> ShiftFigures:
    counter = (Order.channel == "counter", Order.shift_id == shift.id)
    # Each sale's lines and payments in one query per kind for the whole shift, not one per sale.
    completed = list(
        session.scalars(
            select(Order)
            .where(shift_sales([shift.id]))
            .order_by(Order.completed_at)
            .options(selectinload(Order.lines), selectinload(Order.payments))
        )
    )
    voided = [
        o
        for o in session.scalars(
            select(Order).where(*counter, Order.status == "voided").options(selectinload(Order.lines))
        )
        # An empty sale put aside at a user switch or a shift close was never a sale: only sales with an item
        # still on them when voided count.
        if any(not line.voided for line in o.lines)
    ]
    by_tender, cash_tendered = tender_figures(
        (order.id, p.kind, p.amount, p.tendered) for order in completed for p in order.payments
    )
    amounts = {t.kind: t.amount for t in by_tender}
    store = session.get(Store, here(session).store_id)
    assert store is not None
    exclusive = store.tax_mode == "exclusive"
    tax_rows = receipts.tax_summary((line for o in completed for line in o.lines), exclusive)
    void_lines = [line for o in completed for line in o.lines if line.voided]
    moves = session.scalars(
        select(CashMovement).where(CashMovement.shift_id == shift.id).order_by(CashMovement.created_at)
    ).all()
    paid_in = [(m.reason, m.amount) for m in moves if m.kind == "paid_in"]
    paid_out = [(m.reason, m.amount) for m in moves if m.kind == "paid_out"]
    in_total = sum((a for _, a in paid_in), ZERO)
    out_total = sum((a for _, a in paid_out), ZERO)
    cash_sales = amounts.get("cash", ZERO)
    refunds = session.execute(
        select(Payment.kind, func.sum(Payment.amount))
        .join(Order, Order.id == Payment.order_id)
        .where(shift_returns([shift.id]))
        .group_by(Payment.kind)
    ).all()
    refunds_total = quantize_money(sum((Decimal(a or 0) for _, a in refunds), ZERO))
    cash_refunds = quantize_money(sum((Decimal(a or 0) for k, a in refunds if k == "cash"), ZERO))
    name = session.scalar(select(StaffUser.display_name).where(StaffUser.id == shift.opened_by)) or ""
    return ShiftFigures(
        shift_id=shift.id,
        number=shift.number,
        terminal=shift.terminal_code,
        opened_by_name=name,
        opened_at=shift.opened_at,
        opening_float=shift.opening_float,
        sales_count=len(completed),
        sales_total=sum((o.total for o in completed), ZERO),
        by_tender=by_tender,
        paid_in=paid_in,
        paid_out=paid_out,
        paid_in_total=in_total,
        paid_out_total=out_total,
        no_sales=sum(1 for m in moves if m.kind == "no_sale"),
        voided_sales=len(voided),
        cash_sales=cash_sales,
        expected_cash=expected_cash(shift.opening_float, cash_sales, in_total, out_total, cash_refunds),
        refunds_total=refunds_total,
        cash_refunds=cash_refunds,
        gross_sales=sum((o.subtotal for o in completed), ZERO),
        discount_total=sum((o.discount_total for o in completed), ZERO),
        discounted_sales=sum(1 for o in completed if o.discount_total),
        tax_rows=tax_rows,
        tax_total=sum((o.tax_total for o in completed), ZERO),
        tax_mode=store.tax_mode,
        cash_rounding=sum((o.rounding for o in completed), ZERO),
        cash_tendered=cash_tendered,
        change_given=sum((o.change_given for o in completed), ZERO),
        voided_sales_total=sum((o.total for o in voided), ZERO),
        voided_lines=len(void_lines),
        voided_lines_total=sum((receipts.line_gross(line) for line in void_lines), ZERO),
    )


def x_report(session: Session) -> ShiftFigures:
    """The figures of the open shift so far (the shift stays open)."""
    return _figures(session, _require_open(session))


def _report_data(
    session: Session,
    figures: ShiftFigures,
    counted: Decimal | None,
    closed_at: datetime | None,
    counts: list[TenderCount] | None = None,
) -> ShiftReportData:
    h = here(session)
    store = session.get(Store, h.store_id)
    assert store is not None
    audit_seq, audit_hash = audit.head(session)
    return ShiftReportData(
        audit_seq=audit_seq,
        audit_hash=audit_hash,
        store_name=store.name,
        terminal=figures.terminal,
        shift_number=figures.number,
        cashier=figures.opened_by_name,
        opened_at=figures.opened_at,
        printed_at=now(),
        tz_name=store.timezone,
        opening_float=figures.opening_float,
        sales_by_tender=[
            TenderTotal(TENDER_WORDS.get(t.kind, t.kind), t.sales, t.amount, t.payments)
            for t in figures.by_tender
        ],
        expected_cash=figures.expected_cash,
        refunds_total=figures.refunds_total,
        cash_refunds=figures.cash_refunds,
        paid_in=[ReportCashMovement(r, a) for r, a in figures.paid_in],
        paid_out=[ReportCashMovement(r, a) for r, a in figures.paid_out],
        counted_cash=counted,
        closed_at=closed_at,
        currency=store.currency,
        locale=h.locale,
        sales_count=figures.sales_count,
        gross_sales=figures.gross_sales,
        discount_total=figures.discount_total,
        discounted_sales=figures.discounted_sales,
        net_sales=figures.sales_total,
        tax_rows=figures.tax_rows,
        tax_total=figures.tax_total,
        tax_included=figures.tax_mode != "exclusive",
        pricing_rule=pricing.rule_text(store.tax_mode, store.tax_rounding, store.cash_rounding or None),
        cash_rounding=figures.cash_rounding,
        tenders_total=figures.tenders_total,
        cash_tendered=figures.cash_tendered,
        change_given=figures.change_given,
        cash_sales=figures.cash_sales,
        voided_sales=figures.voided_sales,
        voided_sales_total=figures.voided_sales_total,
        voided_lines=figures.voided_lines,
        voided_lines_total=figures.voided_lines_total,
        no_sales=figures.no_sales,
        counts=[
            CountLine(TENDER_WORDS.get(c.kind, c.kind), c.expected, c.counted, c.over_short)
            for c in counts or []
        ],
    )


def print_x_report(session: Session, actor: Actor) -> str:
    """Print an X reading of the open shift; returns the print job id."""
    approval = _require_report(session, actor, "print an X report")
    shift = _require_open(session)
    figures = _figures(session, shift)
    doc = build_shift_report(_report_data(session, figures, None, None), kind="X").to_json()
    job = printing.enqueue(session, "x_report", doc, f"X report {shift.number}", shift.id)
    audit.record(session, actor.user_id, "shift.x_report", "shift", shift.id, {"approval": approval})
    return job


def _open_sales(session: Session, terminal: str) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(Order.channel == "counter", Order.status == "open", Order.terminal_code == terminal)
            .order_by(Order.created_at)
        )
    )


def close_shift(
    session: Session,
    actor: Actor,
    counted: dict[Decimal, int],
    other_counts: dict[str, Decimal] | None = None,
) -> ZReport:
    """Close the shift from a blind count: cash by denomination, other tenders by their totals (e.g. the card
    terminal's batch total). Refused while a sale with items is open on this terminal."""
    approval = _require_report(session, actor, "close the shift and print the Z report")
    shift = _require_open(session)
    h = here(session)
    blocking = []
    for order in _open_sales(session, h.terminal_code):
        has_lines = session.scalar(
            select(OrderLine.id).where(OrderLine.order_id == order.id, OrderLine.voided.is_(False)).limit(1)
        )
        if has_lines or order.payments:
            blocking.append(order.number)
        else:
            # An empty sale holds nothing; it must not outlive the shift it was started in.
            order.status = "voided"
    if blocking:
        raise UserError(
            "Finish, park or void these open sales before closing the shift: " + ", ".join(blocking) + "."
        )
    try:
        counted_cash = tenders.denomination_total(counted)
    except ValueError as exc:
        raise UserError(f"The cash count is not right: {exc}.") from None
    other = {}
    for kind, amount in (other_counts or {}).items():
        if kind not in TENDER_ORDER or kind == "cash":
            raise UserError(f"Count cash by denomination; {kind} is not a tender of this store.")
        other[kind] = _money(amount, f"{TENDER_WORDS[kind].lower()} total", positive=False)

    figures = _figures(session, shift)
    counts = [
        TenderCount(
            "cash",
            figures.expected_cash,
            counted_cash,
            tenders.over_short(figures.expected_cash, counted_cash),
        )
    ]
    for kind in TENDER_ORDER[1:]:
        expected = figures.tender_amount(kind)
        if kind in other:
            counts.append(TenderCount(kind, expected, other[kind], tenders.over_short(expected, other[kind])))
        elif expected:
            counts.append(TenderCount(kind, expected, None, None))

    closed_at = now()
    denominations = {str(d): n for d, n in sorted(counted.items())}
    report = _report_json(figures, counts, counted_cash, closed_at)
    shift.status = "closed"
    shift.closed_by = actor.user_id
    shift.closed_at = closed_at
    shift.counted = {"cash": denominations, "other": {k: str(v) for k, v in other.items()}}
    shift.report = report
    doc = build_shift_report(
        _report_data(session, figures, counted_cash, closed_at, counts), kind="Z"
    ).to_json()
    job = printing.enqueue(session, "z_report", doc, f"Z report {shift.number}", shift.id)
    outbox.emit(
        session,
        "shift.closed",
        {
            "shift_id": shift.id,
            "store": h.store_code,
            "terminal": h.terminal_code,
            "closed_by": actor.user_id,
            **report,
        },
    )
    audit.record(
        session,
        actor.user_id,
        "shift.closed",
        "shift",
        shift.id,
        {
            "number": shift.number,
            "expected_cash": str(figures.expected_cash),
            "counted_cash": str(counted_cash),
            "over_short": report["over_short"],
            "approval": approval,
        },
    )
    return ZReport(
        shift_id=shift.id,
        number=shift.number,
        figures=figures,
        counted_cash=counted_cash,
        counts=counts,
        cash_over_short=counts[0].over_short or ZERO,
        closed_at=closed_at,
        job_id=job,
        denominations=denominations,
    )


def _report_json(
    figures: ShiftFigures, counts: list[TenderCount], counted_cash: Decimal, closed_at: datetime
) -> dict[str, Any]:
    def s(d: Decimal | None) -> str | None:
        return None if d is None else str(d)

    return {
        "number": figures.number,
        "opened_at": figures.opened_at.isoformat(),
        "closed_at": closed_at.isoformat(),
        "opening_float": str(figures.opening_float),
        "sales_count": figures.sales_count,
        "sales_total": str(figures.sales_total),
        "by_tender": [
            {"kind": t.kind, "count": t.payments, "sales": t.sales, "amount": str(t.amount)}
            for t in figures.by_tender
        ],
        "gross_sales": str(figures.gross_sales),
        "discount_total": str(figures.discount_total),
        "tax": [
            {"class": r.tax_class, "rate": str(r.rate), "taxable": str(r.taxable), "tax": str(r.tax)}
            for r in figures.tax_rows
        ],
        "tax_total": str(figures.tax_total),
        "cash_rounding": str(figures.cash_rounding),
        "cash_tendered": str(figures.cash_tendered),
        "change_given": str(figures.change_given),
        "voided_sales_total": str(figures.voided_sales_total),
        "voided_lines": figures.voided_lines,
        "voided_lines_total": str(figures.voided_lines_total),
        "paid_in": str(figures.paid_in_total),
        "paid_out": str(figures.paid_out_total),
        "no_sales": figures.no_sales,
        "voided_sales": figures.voided_sales,
        "cash_sales": str(figures.cash_sales),
        "expected_cash": str(figures.expected_cash),
        "counted_cash": str(counted_cash),
        "over_short": {c.kind: s(c.over_short) for c in counts},
        "counts": [
            {
                "kind": c.kind,
                "expected": str(c.expected),
                "counted": s(c.counted),
                "over_short": s(c.over_short),
            }
            for c in counts
        ],
    }
