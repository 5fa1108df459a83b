"""Taking a return: one transaction writes the return order, its lines, payments, balances, movements, outbox event,
print jobs and audit entry."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Customer,
    GiftCard,
    Location,
    Order,
    OrderLine,
    Payment,
    Product,
    ReturnLine,
    Shift,
    TaxClass,
)
from app.domain.money import ZERO
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, balances, numbers, outbox, printing, staff, stock
from app.services.base import Actor, UserError, here, now
from app.services.returns.documents import (
    _label,
    _payload,
    _receipt,
)
from app.services.returns.planning import (
    _plan,
    _plan_no_receipt,
)
from app.services.returns.views import (
    QUARANTINE_LOCATION,
    VENDOR_LOCATION,
    Central,
    NoReceiptLineIn,
    ReturnDone,
    ReturnLineIn,
    _Planned,
)


# -- writing it ------------------------------------------------------------------------------------------------
def _location_for(session: Session, disposition: str) -> Location:
    if disposition == "floor":
        return stock.sellable_location(session)
    code, name, kind = QUARANTINE_LOCATION if disposition == "quarantine" else VENDOR_LOCATION
    h = here(session)
    loc = session.scalar(select(Location).where(Location.store_id == h.store_id, Location.code == code))
    if loc is None:
        loc = Location(id=new_id(), store_id=h.store_id, code=code, name=name, kind=kind, sellable=False)
        session.add(loc)
        session.flush()
    return loc


def _open_shift(session: Session) -> Shift | None:
    h = here(session)
    return session.scalar(select(Shift).where(Shift.terminal_code == h.terminal_code, Shift.status == "open"))


def _write(session: Session, actor: Actor, planned: _Planned, no_receipt: bool) -> ReturnDone:
    q = planned.quote
    original = planned.order
    what = f"return of {original.number}" if original is not None else "return without a receipt"
    if q.exceptions:
        what += ": " + "; ".join(q.exceptions)
    approval = staff.require(session, actor, Permission(q.permission), what)
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift): a refund comes out of this till's drawer.")
    for t in q.tenders:
        if t.kind == "store_credit" and not (t.reference or planned.customer_id):
            raise UserError(
                "The sale was paid with store credit but has no customer: attach the customer (F6)."
            )
        if t.kind == "gift_card" and not t.reference:
            raise UserError(f"Scan the gift card the sale was paid with: {t.amount} goes back onto it.")
        if t.kind == "gift_card" and session.get(GiftCard, t.reference) is None:
            raise UserError(
                f"Gift card {t.reference} is not known here: scan the card the sale was paid with."
            )

    h = here(session)
    customer_id = (original.customer_id if original is not None else None) or planned.customer_id
    customer = session.get(Customer, customer_id) if customer_id else None
    at = now()
    ret = Order(
        id=new_id(),
        number=numbers.next_number(session, "return"),
        channel="return",
        status="completed",
        terminal_code=h.terminal_code,
        customer_id=customer.id if customer else None,
        customer_name=customer.name if customer else (original.customer_name if original else None),
        owner_id=actor.user_id,
        shift_id=shift.id,
        original_order_id=original.id if original is not None else None,
        subtotal=q.lines_total,
        discount_total=q.fee,
        tax_total=q.tax,
        total=q.total,
        rounding=-q.unallocated,
        created_at=at,
        completed_at=at,
    )
    session.add(ret)
    moves: list[stock.MovementIn] = []
    for ql, sold, product in planned.lines:
        line = OrderLine(
            id=new_id(),
            line_no=ql.line_no,
            product_id=product.id if product else (sold.product_id if sold else None),
            sku=sold.sku if sold else product.sku if product else "",
            name=ql.name,
            qty=ql.qty,
            unit=sold.unit if sold else product.unit if product else "ea",
            # Without a receipt the unit price is the refund per unit (the price it was taken back at).
            unit_price=sold.unit_price if sold else (ql.total / ql.qty).quantize(Decimal("0.01")),
            tax_class=sold.tax_class if sold else product.tax_class if product else "",
            tax_rate=sold.tax_rate if sold else _rate(session, product),
            amount=ql.amount,
            tax=ql.tax,
        )
        ret.lines.append(line)
        session.flush()
        session.add(
            ReturnLine(
                order_line_id=line.id, reason=ql.reason, condition=ql.condition, disposition=ql.disposition
            )
        )
        if line.product_id:
            loc = _location_for(session, ql.disposition)
            moves.append(stock.MovementIn(line.product_id, loc.id, ql.qty, "return"))
    for t in q.tenders:
        payment = Payment(
            id=new_id(), order_id=ret.id, kind=t.kind, amount=t.amount, tendered=t.amount, created_at=at
        )
        if t.kind == "card":
            payment.card_last4 = planned.card_last4
        elif t.kind == "store_credit":
            payment.reference = t.reference or planned.customer_id
            if payment.reference is None:
                raise UserError("Attach the customer (F6): store credit belongs to a customer.")
            balances.issue_store_credit(session, payment.reference, t.amount, cause=ret.id)
        elif t.kind == "gift_card":
            payment.reference = t.reference
            balances.give_back(session, "gift_card", t.reference, t.amount, reason="refund")
        ret.payments.append(payment)
    session.flush()
    rows = stock.record_movements(session, moves, "order", ret.id, actor.user_id)
    outbox.emit(
        session,
        "return.completed",
        _payload(session, ret, original, stock.movement_payload(session, rows), offline=not planned.online),
    )
    job_id = printing.enqueue(
        session, "receipt", _receipt(session, ret, original, q), f"Return {ret.number}", ret.id
    )
    labels = [
        printing.enqueue(
            session,
            "label",
            _label(session, ret, ql, sold, product),
            f"Return label {ql.name}",
            ret.id,
            role="label",
        )
        for ql, sold, product in planned.lines
        if ql.disposition != "floor"
    ]
    audit.record(
        session,
        actor.user_id,
        "return.completed",
        "order",
        ret.id,
        {
            "number": ret.number,
            "original": original.number if original is not None else None,
            "no_receipt": no_receipt,
            "total": str(ret.total),
            "fee": str(q.fee),
            "tenders": [[t.kind, str(t.amount)] for t in q.tenders],
            "lines": [[ql.line_no, str(ql.qty), ql.reason, ql.condition, ql.disposition] for ql in q.lines],
            "exceptions": q.exceptions,
            "permission": q.permission,
            "approval": approval,
        },
    )
    return ReturnDone(
        return_id=ret.id,
        number=ret.number,
        total=ret.total,
        tenders=q.tenders,
        receipt_job_id=job_id,
        label_job_ids=labels,
        open_drawer=any(t.kind == "cash" for t in q.tenders),
    )


def _rate(session: Session, product: Product | None) -> Decimal:
    if product is None:
        return ZERO
    tax = session.get(TaxClass, product.tax_class)
    return tax.rate if tax else ZERO


def take_return(
    session: Session,
    actor: Actor,
    order_id: str,
    lines: list[ReturnLineIn],
    gift_card_code: str | None = None,
    central: Central | None = None,
) -> ReturnDone:
    """Take the lines back and refund them, in one transaction (see the module); with `central` (the central
    store's word, asked just before) the return is decided online: the central store refuses it if another till's
    return took the units meanwhile, instead of parking it."""
    planned = _plan(session, order_id, lines, gift_card_code, central=central)
    return _write(session, actor, planned, no_receipt=False)


def take_no_receipt_return(
    session: Session, actor: Actor, customer_id: str | None, lines: list[NoReceiptLineIn]
) -> ReturnDone:
    """Take items back without a receipt: store credit only, a manager's approval always (see the module)."""
    return _write(session, actor, _plan_no_receipt(session, customer_id, lines), no_receipt=True)
