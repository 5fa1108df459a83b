"""What screens read of a sale: the plain views (sale, line, payment, scan outcome, completion, parked sale) built from
the stored figures, and the look-ups that return them: by id, the user's open sale (after a restart too), a completed
sale by its receipt number, and the count of open sales on this terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Order
from app.domain import prefixes, tenders
from app.domain.money import ZERO, quantize_money
from app.services import catalog
from app.services.base import Actor, here
from app.services.sales.checks import _order
from app.services.sales.figures import _override, _store, _tender_ins, cash_step


@dataclass(frozen=True)
class LineView:
    id: str
    line_no: int
    sku: str
    name: str
    qty: Decimal
    unit: str
    unit_price: Decimal  # the catalog's price when the line was added
    amount: Decimal  # as charged: net of line and order discounts
    tax: Decimal
    discount_text: str | None
    override_text: str | None
    voided: bool
    price: Decimal  # the unit price charged: an override's price where there is one, else unit_price


@dataclass(frozen=True)
class PaymentView:
    id: str
    kind: str
    amount: Decimal  # applied to the sale (cash: net of change once completed)
    tendered: Decimal
    card_last4: str | None
    approval_code: str | None
    reference: str | None


@dataclass(frozen=True)
class SaleView:
    id: str
    number: str
    status: str
    lines: list[LineView]
    subtotal: Decimal
    discount_total: Decimal
    tax_total: Decimal
    total: Decimal
    paid: Decimal
    remaining: Decimal
    change: Decimal
    rounding: Decimal
    customer_name: str | None
    customer_id: str | None
    payments: list[PaymentView]
    order_discount: str | None
    owner_id: str | None
    parked_number: str | None = None
    remaining_in_cash: Decimal = ZERO
    fully_paid: bool = False


@dataclass(frozen=True)
class ScanOutcome:
    sale: SaleView
    line_id: str | None
    message: str
    # A weighed item that came without a weight (keyed by SKU, its plain GTIN, picked by search): nothing was
    # added; ask for its weight and add it with `add_product(..., qty=weight)`.
    weigh: catalog.ProductView | None = None
    # What the cashier should know about the line this scan made: beyond the stock this till knows of, or above the
    # store's `sale.confirm_qty_above` (the scan is taken: the next scan must never wait on a question).
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Completed:
    sale: SaleView
    receipt_job_id: str
    open_drawer: bool
    change: Decimal


@dataclass(frozen=True)
class ParkedView:
    number: str
    barcode: str
    order_id: str
    owner_id: str | None
    owner_name: str
    terminal: str
    items: int
    total: Decimal
    started_at: datetime


def _discount_text(data: Any) -> str | None:
    if not data:
        return None
    value = Decimal(data["value"])
    shown = f"{value.normalize():f}%" if data["kind"] == "percent" else f"{quantize_money(value)}"
    return f"Discount {shown}: {data.get('reason', '')}".strip()


def _override_text(data: Any) -> str | None:
    if not data:
        return None
    return f"Price {data['price']}: {data.get('reason', '')}"


def _view(session: Session, order: Order) -> SaleView:
    store = _store(session)
    payments = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    if order.status == "completed":
        paid = sum((p.amount for p in payments), ZERO)
        settlement = None
    else:
        try:
            settlement = tenders.settle(order.total, _tender_ins(order), cash_step(store))
        except tenders.TenderError:
            # Lines changed after a tender (a void, say) can leave a card over the new total: show what is due.
            settlement = None
        paid = settlement.paid if settlement else sum((p.tendered for p in payments), ZERO)
    if order.status == "completed":
        remaining, change, rounding, in_cash, full = ZERO, order.change_given, order.rounding, ZERO, True
    elif settlement is not None:
        remaining = settlement.remaining
        change = settlement.change
        rounding = settlement.rounding_adjustment
        in_cash = settlement.remaining_in_cash
        full = settlement.complete and any(not line.voided for line in order.lines)
    else:
        remaining, change, rounding, in_cash, full = max(order.total - paid, ZERO), ZERO, ZERO, ZERO, False
    lines = [
        LineView(
            line.id,
            line.line_no,
            line.sku,
            line.name,
            line.qty,
            line.unit,
            line.unit_price,
            line.amount,
            line.tax,
            _discount_text(line.discount),
            _override_text(line.price_override),
            line.voided,
            _override(line.price_override) or line.unit_price,
        )
        for line in order.lines
    ]
    return SaleView(
        id=order.id,
        number=order.number,
        status=order.status,
        lines=lines,
        subtotal=order.subtotal,
        discount_total=order.discount_total,
        tax_total=order.tax_total,
        total=order.total,
        paid=paid,
        remaining=remaining,
        change=change,
        rounding=rounding,
        customer_name=order.customer_name,
        customer_id=order.customer_id,
        payments=[
            PaymentView(p.id, p.kind, p.amount, p.tendered, p.card_last4, p.approval_code, p.reference)
            for p in payments
        ],
        order_discount=_discount_text(order.order_discount),
        owner_id=order.owner_id,
        parked_number=order.parked_number,
        remaining_in_cash=in_cash,
        fully_paid=full,
    )


def get_sale(session: Session, sale_id: str) -> SaleView:
    return _view(session, _order(session, sale_id))


def current_sale(session: Session, actor: Actor) -> SaleView | None:
    """This user's open sale on this terminal (after a restart too), newest first."""
    h = here(session)
    order = session.scalar(
        select(Order)
        .where(
            Order.channel == "counter",
            Order.status == "open",
            Order.terminal_code == h.terminal_code,
            Order.owner_id == actor.user_id,
        )
        .order_by(Order.created_at.desc())
        .limit(1)
    )
    return _view(session, order) if order else None


def find_completed(session: Session, number: str) -> SaleView | None:
    """A completed sale by its receipt number, typed or scanned (R-<number>)."""
    value = prefixes.without(prefixes.RECEIPT, number)
    order = session.scalar(
        select(Order).where(Order.number == value, Order.channel == "counter", Order.status == "completed")
    )
    return _view(session, order) if order else None


def open_sales_count(session: Session) -> int:
    """Open sales on this terminal (for the status bar and the shift close)."""
    h = here(session)
    return int(
        session.scalar(
            select(func.count())
            .select_from(Order)
            .where(Order.channel == "counter", Order.status == "open", Order.terminal_code == h.terminal_code)
        )
        or 0
    )
