"""What a return leaves on paper and on the wire: the `return.completed` payload, the return receipt and the label for
goods that do not go back on the floor."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Order,
    OrderLine,
    Product,
    ReturnLine,
    StaffUser,
)
from app.documents.model import Barcode, Block, Columns, Cut, Document, Qr, Text
from app.documents.receipt import ReceiptData, ReceiptLine, TenderLine, build_receipt
from app.domain import prefixes
from app.domain import return_policy as rp
from app.domain.money import ZERO
from app.services import receipts
from app.services.base import here
from app.services.returns.views import (
    Quote,
    QuoteLine,
    _store,
    reasons,
)


def _payload(
    session: Session,
    ret: Order,
    original: Order | None,
    movements: list[dict[str, str]],
    offline: bool = True,
) -> dict[str, Any]:
    """`return.completed` in the `sale.completed` shape (sync.protocol.SaleCompleted): movements positive."""
    h = here(session)
    assert ret.completed_at is not None
    # What the desk decided about each line goes with it: the chain's returns figures are the till's own.
    decided = {
        r.order_line_id: r
        for r in session.scalars(
            select(ReturnLine).where(ReturnLine.order_line_id.in_([line.id for line in ret.lines]))
        )
    }
    payload: dict[str, Any] = {
        "order_id": ret.id,
        "number": ret.number,
        "store": h.store_code,
        "terminal": h.terminal_code,
        "shift_id": ret.shift_id,
        "completed_at": ret.completed_at.isoformat(),
        "customer_id": ret.customer_id,
        "customer_name": ret.customer_name,
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
                **(
                    {"reason": d.reason, "condition": d.condition, "disposition": d.disposition}
                    if (d := decided.get(line.id))
                    else {}
                ),
            }
            for line in ret.lines
        ],
        "payments": [{"kind": p.kind, "amount": str(p.amount)} for p in ret.payments],
        "totals": {
            "subtotal": str(ret.subtotal),
            "discount_total": str(ret.discount_total),
            "tax_total": str(ret.tax_total),
            "total": str(ret.total),
            "rounding": str(ret.rounding),
            "change": "0.00",
        },
        "movements": movements,
        "original_order_id": original.id if original is not None else None,
        # Decided on what this till knows, without asking the central store first: its goods moved and its money
        # went back, so the central store records it and parks anything it went over for review (never refuses it).
        # Decided on the central store's word (asked just before): one that goes over is refused (a race of seconds).
        "offline": offline,
    }
    if original is not None and original.channel == "web":
        payload["web_order_id"] = original.id
    return payload


def _receipt(session: Session, ret: Order, original: Order | None, q: Quote) -> dict[str, Any]:
    """The return receipt through the sales receipt's builder, titled RETURN, its codes the return's (RT-)."""
    store = _store(session)
    cashier = session.scalar(select(StaffUser.display_name).where(StaffUser.id == ret.owner_id)) or ""
    reason_words = reasons(session)
    data = ReceiptData(
        store_name=store.name,
        address_lines=[a for a in store.address.splitlines() if a.strip()],
        receipt_number=ret.number,
        timestamp=ret.completed_at or ret.created_at,
        tz_name=store.timezone,
        cashier=cashier,
        terminal=ret.terminal_code or "",
        lines=[
            ReceiptLine(
                name=ql.name,
                qty=ql.qty,
                unit="ea",
                unit_price=(ql.total / ql.qty).quantize(Decimal("0.01")) if ql.qty else ZERO,
                amount=ql.total,
                discount_text=f"{reason_words.get(ql.reason, ql.reason)}; {rp.CONDITION_WORDS[ql.condition]}",
            )
            for ql in q.lines
        ],
        subtotal=q.lines_total,
        tax_rows=receipts.tax_summary(ret.lines, _store(session).tax_mode == "exclusive"),
        tax_total=q.tax,
        total=q.total,
        tenders=[TenderLine(t.words, t.amount, ret.payments[i].card_last4) for i, t in enumerate(q.tenders)],
        order_discount=q.fee,
        order_discount_text="Restocking fee" if q.fee else None,
        cash_rounding=ret.rounding,
        customer=ret.customer_name,
        footer=[
            f"Refund for receipt {original.number}" if original is not None else "Return without a receipt"
        ],
        currency=store.currency,
        locale=here(session).locale,
    )
    doc = build_receipt(data, receipts.receipt_width(session))
    code = f"{prefixes.RETURN}{ret.number}"
    blocks: list[Block] = [Text("RETURN / REFUND", align="center", bold=True, size=2)]
    for b in doc.blocks:
        if isinstance(b, Columns) and b.left == f"Receipt {ret.number}":
            b = Columns(f"Return {ret.number}", "")
        elif isinstance(b, Barcode):
            b = Barcode(code, b.symbology, b.hri)
        elif isinstance(b, Qr):
            b = Qr(code)
        blocks.append(b)
    doc.blocks = blocks
    return doc.to_json()


def _label(
    session: Session, ret: Order, ql: QuoteLine, sold: OrderLine | None, product: Product | None
) -> dict[str, Any]:
    """A small label for goods that do not go back on the floor: where they go, what, why, and the return."""
    sku = sold.sku if sold else product.sku if product else ""
    reason_words = reasons(session)
    blocks: list[Block] = [
        Text(rp.DISPOSITION_WORDS[ql.disposition].upper(), bold=True, size=2),
        Text(ql.name[:32]),
        Columns(sku, f"x {ql.qty.normalize():f}"),
        Text(f"{rp.CONDITION_WORDS[ql.condition]}: {reason_words.get(ql.reason, ql.reason)}"[:32]),
        Text(f"Return {ret.number}"),
        Barcode(f"{prefixes.RETURN}{ret.number}", "code128"),
        Cut(),
    ]
    return Document("label", 32, blocks).to_json()
