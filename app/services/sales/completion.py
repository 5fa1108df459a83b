"""The end of a sale: `complete_sale` closes a fully paid sale, writing the status, the stock ledger rows, the outbox
event, the receipt print job and the audit entry together or not at all; `void_sale` abandons an open sale (with a
manager's approval once it has lines, and only after its payments are removed).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Approval, Order, OrderLine, StaffUser
from app.domain import figures, tenders
from app.domain.permissions import Permission
from app.services import audit, outbox, printing, receipts, staff, stock
from app.services.base import Actor, UserError, here, now
from app.services.sales.checks import _editable, _open_shift, _reason
from app.services.sales.figures import _reprice, _settle, _store
from app.services.sales.views import Completed, SaleView, _view


def _given(discount: Any, approvers: dict[str, str], **more: str) -> dict[str, Any] | None:
    """A discount or price override as the event carries it: as kept on the sale, with who approved it (the
    manager of its approval: the other tills and the central store do not hold this till's approvals)."""
    if not isinstance(discount, dict) or not discount:
        return None
    sent = {**discount, **more}
    if approvers.get(discount.get("approval_id") or ""):
        sent["approved_by"] = approvers[discount["approval_id"]]
    return sent


def _discounts(
    session: Session, order: Order, live: list[OrderLine]
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Each live line's price override and discount (None where it has none), and the whole-sale discount, as
    sent: the chain's discount figures count them (sync.central.report_discounts), another till keeps them."""
    held = [line.price_override for line in live] + [line.discount for line in live] + [order.order_discount]
    ids = {d["approval_id"] for d in held if isinstance(d, dict) and d.get("approval_id")}
    approvers: dict[str, str] = {}
    if ids:  # most sales have none: nothing read
        q = select(Approval.id, Approval.approved_by).where(Approval.id.in_(ids))
        approvers = dict(session.execute(q).all())
    lines = []
    for line in live:
        o = line.price_override
        price = o.get("price") if isinstance(o, dict) else None
        override = None
        if price is not None:  # with its amount off, as the till's reports count it
            off = figures.override_off(line.unit_price, Decimal(str(price)), line.qty)
            override = _given(o, approvers, amount=str(off))
        lines.append(
            {
                "price_override": override,
                "discount": _given(line.discount, approvers),
            }
        )
    return lines, _given(order.order_discount, approvers)


def _sale_payload(session: Session, order: Order, movements: list[dict[str, str]]) -> dict[str, Any]:
    h = here(session)
    assert order.completed_at is not None
    live = [line for line in order.lines if not line.voided]
    discounts, order_discount = _discounts(session, order, live)
    return {
        "order_id": order.id,
        "number": order.number,
        "store": h.store_code,
        "terminal": h.terminal_code,
        "shift_id": order.shift_id,
        "completed_at": order.completed_at.isoformat(),
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
        "owner_id": order.owner_id,
        "order_discount": order_discount,
        "lines": [
            {
                "line_no": line.line_no,
                "sku": line.sku,
                "name": line.name,
                "qty": str(line.qty),
                "unit": line.unit,
                "unit_price": str(line.unit_price),
                "amount": str(line.amount),
                "tax": str(line.tax),
                "tax_class": line.tax_class,
                "tax_rate": str(line.tax_rate),
                **{k: v for k, v in given.items() if v is not None},
            }
            for line, given in zip(live, discounts, strict=True)
        ],
        "payments": [
            {"kind": p.kind, "amount": str(p.amount)}
            for p in sorted(order.payments, key=lambda p: (p.created_at, p.id))
        ],
        "totals": {
            "subtotal": str(order.subtotal),
            "discount_total": str(order.discount_total),
            "tax_total": str(order.tax_total),
            "total": str(order.total),
            "rounding": str(order.rounding),
            "change": str(order.change_given),
        },
        "movements": movements,
    }


def complete_sale(session: Session, actor: Actor, sale_id: str) -> Completed:
    """Close a fully paid sale: status, stock, outbox event, receipt print job and audit entry in one transaction."""
    # Held for the whole call: the session keeps loaded rows weakly, and the receipt (cashier's name) and the audit
    # entry (user's name) would each read the user again.
    me = session.get(StaffUser, actor.user_id)
    staff.require(session, actor, Permission.SELL, "complete a sale")
    order = _editable(session, actor, sale_id)
    live = [line for line in order.lines if not line.voided]
    if not live:
        raise UserError("The sale is empty: scan an item first.")
    if any(p.kind == tenders.EXCHANGE and not p.reference for p in order.payments):
        # Its return is not taken yet (app.services.returns.exchange writes both in one transaction).
        raise UserError(
            "This sale is an exchange: finish it at the Returns desk, or remove its exchange credit."
        )
    store = _store(session)
    _reprice(session, order)
    settlement = _settle(store, order)
    if not settlement.complete:
        raise UserError(f"{settlement.remaining} is still due: take another payment first.")
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift)")
    floor = stock.sellable_location(session)  # read before the writes below: no flush ahead of it

    # Change comes out of the last tender: only cash can over-tender, and nothing is taken after completion.
    payments = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    for i, p in enumerate(payments):
        applied = p.tendered - (settlement.change if i == len(payments) - 1 else 0)
        if p.amount != applied:  # an equal value set would still mark the payment changed
            p.amount = applied
    order.change_given = settlement.change
    order.rounding = settlement.rounding_adjustment
    order.status = "completed"
    order.completed_at = now()
    order.shift_id = shift.id
    order.owner_id = actor.user_id

    rows = stock.record_movements(
        session,
        [stock.MovementIn(line.product_id, floor.id, -line.qty, "sale") for line in live if line.product_id],
        "order",
        order.id,
        actor.user_id,
    )
    # The SKUs are the lines' own and the location is the floor: nothing to read back for the event.
    moved = stock.movement_payload(
        session,
        rows,
        skus={line.product_id: line.sku for line in live if line.product_id},
        locations={floor.id: floor.code},
    )
    outbox.emit(session, "sale.completed", _sale_payload(session, order, moved))
    job_id = printing.enqueue(
        session,
        "receipt",
        receipts.receipt_document(session, order.id, width_chars=receipts.receipt_width(session)),
        f"Receipt {order.number}",
        order.id,
    )
    audit.record(
        session,
        actor.user_id,
        "sale.completed",
        "order",
        order.id,
        {
            "number": order.number,
            "total": str(order.total),
            "payments": [[p.kind, str(p.amount)] for p in payments],
            "change": str(order.change_given),
        },
    )
    del me
    return Completed(
        sale=_view(session, order),
        receipt_job_id=job_id,
        open_drawer=any(p.kind == "cash" for p in payments),
        change=settlement.change,
    )


def void_sale(session: Session, actor: Actor, sale_id: str, reason: str) -> SaleView:
    """Abandon an open sale. Needs sale-void permission once a line is on it; payments must be removed first."""
    order = _editable(session, actor, sale_id)
    has_lines = any(not line.voided for line in order.lines)
    approval = None
    why = reason.strip() or "no items"
    if order.payments:
        # Before asking for an approval: a manager called over for a void that is then refused has wasted a trip.
        raise UserError("Payments are taken: give them back and remove them before voiding the sale.")
    if has_lines:
        why = _reason(reason, "void")
        # The manager called over reads why (an exchange given up at the Returns desk is a void too).
        approval = staff.require(session, actor, Permission.SALE_VOID, f"void sale {order.number}: {why}")
    order.status = "voided"
    audit.record(
        session,
        actor.user_id,
        "sale.voided",
        "order",
        order.id,
        {"number": order.number, "total": str(order.total), "reason": why, "approval": approval},
    )
    return _view(session, order)
