"""Receipts of counter sales: the receipt's data from what was stored at the sale, its document, and reprints.

Everything printed comes from the stored order (line amounts, taxes, discounts as given, tenders, change and
cash rounding), never from today's catalog prices, so a reprint next month shows exactly what the customer paid.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, StaffUser, Store
from app.documents.receipt import (
    RECEIPT_WIDTH_80MM,
    ReceiptData,
    ReceiptLine,
    TaxSummaryRow,
    TenderLine,
    build_receipt,
)
from app.domain import prefixes, pricing, tenders
from app.domain.money import ZERO, quantize_money
from app.domain.permissions import Permission
from app.services import printing, settings, staff
from app.services.base import Actor, UserError, here

DEFAULT_FOOTER = ["Thank you for shopping with us", "Keep this receipt for returns"]

TENDER_WORDS = tenders.WORDS  # the one list of tenders is app.domain.tenders


def line_gross(line: OrderLine) -> Decimal:
    """A line's amount before any discount: its label's fixed amount, or the price charged times the quantity."""
    if line.fixed_amount is not None:
        return line.fixed_amount
    price = Decimal(line.price_override["price"]) if line.price_override else line.unit_price
    return quantize_money(price * line.qty)


def _discount_text(data: Any) -> str | None:
    if not data:
        return None
    amount = Decimal(data.get("amount", "0"))
    what = f"{Decimal(data['value']).normalize():f}% off" if data["kind"] == "percent" else "off"
    reason = data.get("reason", "")
    return f"{what} -{amount}" + (f" ({reason})" if reason else "")


def tax_summary(order_lines: Iterable[OrderLine], exclusive: bool) -> list[TaxSummaryRow]:
    """Tax per class and rate over sold lines (voided lines left out): what a receipt's tax rows and a shift
    report's tax by rate both show. Taxable is net of tax: the line amount when prices exclude tax, the amount
    less its tax when they include it."""
    groups: dict[tuple[str, Decimal], list[OrderLine]] = {}
    for line in order_lines:
        if not line.voided:
            groups.setdefault((line.tax_class, line.tax_rate), []).append(line)
    return [
        TaxSummaryRow(
            tax_class=tax_class,
            rate=rate,
            taxable=sum((m.amount if exclusive else m.amount - m.tax for m in members), ZERO),
            tax=sum((m.tax for m in members), ZERO),
        )
        for (tax_class, rate), members in sorted(groups.items(), key=lambda kv: kv[0])
    ]


def receipt_data(session: Session, order_id: str, copy: bool = False) -> ReceiptData:
    """The figures of a receipt, read from the stored sale."""
    order = session.get(Order, order_id)
    if order is None or order.channel != "counter":
        raise UserError("That sale is not on this terminal.")
    store = session.get(Store, here(session).store_id)
    assert store is not None  # here() found it
    owner = session.get(StaffUser, order.owner_id) if order.owner_id else None
    cashier = (owner.display_name if owner is not None else "") or ""

    lines: list[ReceiptLine] = []
    for line in order.lines:
        if line.voided:
            continue  # a voided line never reached the customer's total; the audit trail keeps it
        own_discount = Decimal(line.discount.get("amount", "0")) if line.discount else ZERO
        shown_price = Decimal(line.price_override["price"]) if line.price_override else line.unit_price
        lines.append(
            ReceiptLine(
                name=line.name,
                qty=line.qty,
                unit=line.unit,
                unit_price=shown_price,
                amount=line_gross(line) - own_discount,
                discount_text=_discount_text(line.discount),
            )
        )
    tax_rows = tax_summary(order.lines, store.tax_mode == "exclusive")
    order_discount = Decimal(order.order_discount.get("amount", "0")) if order.order_discount else ZERO
    tender_lines = [
        TenderLine(
            TENDER_WORDS.get(p.kind, p.kind),
            p.tendered if p.kind == "cash" else p.amount,  # cash shows what was handed over; change follows
            p.card_last4,
            p.approval_code,
        )
        for p in sorted(order.payments, key=lambda p: (p.created_at, p.id))
    ]
    footer = settings.get(session, "receipt.footer")
    return ReceiptData(
        store_name=store.name,
        address_lines=[a for a in store.address.splitlines() if a.strip()],
        receipt_number=order.number,
        timestamp=order.completed_at or order.created_at,
        tz_name=store.timezone,
        cashier=cashier,
        terminal=order.terminal_code or "",
        lines=lines,
        subtotal=sum((rl.amount for rl in lines), ZERO),
        tax_rows=tax_rows,
        tax_total=order.tax_total,
        total=order.total,
        tenders=tender_lines,
        change=order.change_given,
        order_discount=order_discount,
        order_discount_text=(
            f"Discount ({order.order_discount.get('reason', '')})" if order.order_discount else None
        ),
        cash_rounding=order.rounding,
        customer=order.customer_name,
        footer=list(footer) if isinstance(footer, list) else DEFAULT_FOOTER,
        copy=copy,
        currency=store.currency,
        locale=here(session).locale,  # the store's, completed when it names a language only
        pricing_rule=pricing.rule_text(store.tax_mode, store.tax_rounding, store.cash_rounding or None),
    )


def receipt_document(
    session: Session, order_id: str, copy: bool = False, width_chars: int = RECEIPT_WIDTH_80MM
) -> dict[str, Any]:
    """The receipt as Document JSON, ready for a print job."""
    return build_receipt(receipt_data(session, order_id, copy), width_chars).to_json()


def receipt_width(session: Session) -> int:
    """Characters per line of the configured receipt roll."""
    # 58 mm rolls print 32 characters a line, 80 mm rolls 48.
    return 32 if int(settings.get(session, "devices.receipt_width_mm") or 80) <= 58 else RECEIPT_WIDTH_80MM


def reprint_receipt(session: Session, actor: Actor, number: str) -> str:
    """A copy of a completed sale's receipt, marked COPY; returns the print job id."""
    value = prefixes.without(prefixes.RECEIPT, number)
    order = session.scalar(
        select(Order).where(Order.number == value, Order.channel == "counter", Order.status == "completed")
    )
    if order is None:
        raise UserError(f"No completed sale {value} on this terminal: check the number on the receipt.")
    approval = staff.require(session, actor, Permission.REPRINT, f"reprint {value}")
    job_id = printing.enqueue(
        session,
        "receipt",
        receipt_document(session, order.id, copy=True, width_chars=receipt_width(session)),
        f"Receipt {order.number} (copy)",
        order.id,
    )
    printing.record_reprint(
        session, actor, "receipt", order.id, job_id, {"number": order.number, "approval": approval}
    )
    return job_id
