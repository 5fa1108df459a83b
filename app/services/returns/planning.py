"""The refund of a return, before it is taken: lines, policy, fee, tenders and the approval it needs; and the same for a
return without a receipt (store credit at the lowest known price)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import (
    Customer,
    Order,
    OrderLine,
    Product,
    TaxClass,
)
from app.domain import pricing, refunds
from app.domain import return_policy as rp
from app.domain.money import ZERO
from app.services.base import UserError, now
from app.services.returns.original import (
    _facts,
    _original,
)
from app.services.returns.views import (
    TENDER_WORDS,
    Central,
    NoReceiptLineIn,
    Quote,
    QuoteLine,
    ReturnLineIn,
    TenderOut,
    _local_day,
    _Planned,
    _policy,
    _store,
    reasons,
)


def _check_line_input(
    reason_words: dict[str, str], policy: rp.Policy, reason: str, condition: str, name: str
) -> str:
    if reason not in reason_words:
        raise UserError(f"Choose a reason for returning {name}.")
    try:
        return policy.disposition(condition)
    except rp.PolicyError:
        raise UserError(
            f"Choose the condition {name} came back in: new, opened, damaged or defective."
        ) from None


def _plan(
    session: Session,
    order_id: str,
    wanted: list[ReturnLineIn],
    gift_card_code: str | None,
    exchange: Decimal = ZERO,
    central: Central | None = None,
) -> _Planned:
    """The return's figures; ``exchange`` is an exchange's new sale total (see app.services.returns.exchange);
    ``central`` the central store's word on what every till took back (the return is then decided online)."""
    order = _original(session, order_id)
    sale, earlier, live = _facts(session, order, central)
    by_no = {line.line_no: line for line in live}
    policy = _policy(session)
    reason_words = reasons(session)
    qty: dict[int, Decimal] = {}
    chosen: dict[int, ReturnLineIn] = {}
    for w in wanted:
        if w.line_no not in by_no:
            raise UserError(f"Line {w.line_no} is not part of sale {order.number}.")
        if w.line_no in chosen:
            raise UserError(f"{by_no[w.line_no].name} is chosen twice: give one quantity for it.")
        if w.qty:
            chosen[w.line_no] = w
            qty[w.line_no] = w.qty
    dispositions = {
        n: _check_line_input(reason_words, policy, w.reason, w.condition, by_no[n].name)
        for n, w in chosen.items()
    }
    try:
        first = refunds.plan(sale, earlier, qty, exchange=exchange)
        fee = policy.restocking_fee((lr.total, chosen[lr.line_no].condition) for lr in first.lines)
        plan = refunds.plan(sale, earlier, qty, fee, exchange) if fee else first
    except refunds.RefundError as exc:
        raise UserError(str(exc)) from None

    products = {
        p.id: p
        for p in session.scalars(
            select(Product).where(
                Product.id.in_({by_no[n].product_id for n in chosen if by_no[n].product_id})
            )
        )
    }
    today = _local_day(session, now())
    sold_on = _local_day(session, order.completed_at or order.created_at)
    exceptions: list[rp.Exception_] = []
    lines: list[tuple[QuoteLine, OrderLine | None, Product | None]] = []
    for lr in plan.lines:
        sold = by_no[lr.line_no]
        product = products.get(sold.product_id or "")
        exceptions += policy.line_exceptions(
            sold.name, sold.sku, product.department if product else None, sold_on, today
        )
        w = chosen[lr.line_no]
        lines.append(
            (
                QuoteLine(
                    lr.line_no,
                    sold.name,
                    lr.qty,
                    lr.amount,
                    lr.tax,
                    lr.total,
                    w.reason,
                    w.condition,
                    dispositions[lr.line_no],
                ),
                sold,
                product,
            )
        )
    exceptions += policy.total_exceptions(plan.total, no_receipt=False)

    payments = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    references: dict[str, str | None] = {}
    for p in payments:
        references.setdefault(p.kind, p.reference)
    if gift_card_code and gift_card_code.strip():
        references["gift_card"] = gift_card_code.strip().upper()
    card = next((p.card_last4 for p in payments if p.kind == "card" and p.card_last4), None)
    customer_id = references.get("store_credit") or order.customer_id
    outs = [
        TenderOut(t.kind, t.amount, TENDER_WORDS.get(t.kind, t.kind), references.get(t.kind))
        for t in plan.tenders
    ]
    quote = Quote(
        original_number=order.number,
        lines=[ql for ql, _, _ in lines],
        lines_total=plan.lines_total,
        fee=plan.fee,
        total=plan.total,
        tax=plan.tax,
        tenders=outs,
        unallocated=plan.unallocated,
        exceptions=[e.text for e in exceptions],
        permission=str(rp.approval_for(exceptions)),
    )
    return _Planned(order, quote, lines, references, card, customer_id, online=central is not None)


def quote(
    session: Session,
    order_id: str,
    lines: list[ReturnLineIn],
    gift_card_code: str | None = None,
    central: Central | None = None,
) -> Quote:
    """What taking these lines back would refund, to which tenders, and the approval it needs; nothing written."""
    return _plan(session, order_id, lines, gift_card_code, central=central).quote


# -- no receipt ------------------------------------------------------------------------------------------------
def _known_prices(session: Session, product_id: str, days: int) -> list[Decimal]:
    since = now() - timedelta(days=days)
    rows = session.scalars(
        select(OrderLine.unit_price)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            OrderLine.product_id == product_id,
            OrderLine.voided.is_(False),
            Order.channel == "counter",
            Order.status == "completed",
            Order.completed_at >= since,
        )
    )
    return [Decimal(p) for p in rows]


def _plan_no_receipt(session: Session, customer_id: str | None, wanted: list[NoReceiptLineIn]) -> _Planned:
    if not customer_id or session.get(Customer, customer_id) is None:
        raise UserError(
            "Attach the customer first (F6): a return without a receipt is refunded as store credit."
        )
    if not wanted or not any(w.qty for w in wanted):
        raise UserError("Scan the items the customer brings back.")
    policy = _policy(session)
    reason_words = reasons(session)
    store = _store(session)
    cart: list[pricing.CartLineIn] = []
    products: list[Product] = []
    for n, w in enumerate(wanted, start=1):
        product = session.get(Product, w.product_id)
        if product is None:
            raise UserError("That item is not in the catalog: it cannot be taken back without a receipt.")
        if w.qty <= 0:
            raise UserError(f"Enter a quantity of more than 0 for {product.name}.")
        tax = session.get(TaxClass, product.tax_class)
        price = rp.no_receipt_price(
            product.price, _known_prices(session, product.id, policy.no_receipt_price_days)
        )
        cart.append(
            pricing.CartLineIn(
                str(n), product.sku, product.name, w.qty, price, tax.rate if tax else ZERO, product.tax_class
            )
        )
        products.append(product)
    totals = pricing.price_cart(
        cart,
        None,
        "exclusive" if store.tax_mode == "exclusive" else "inclusive",
        pricing.rounding_of(store.tax_rounding),
    )
    lines: list[tuple[QuoteLine, OrderLine | None, Product | None]] = []
    exceptions: list[rp.Exception_] = []
    today = _local_day(session, now())
    for n, (w, product, priced) in enumerate(zip(wanted, products, totals.lines, strict=True), start=1):
        disposition = _check_line_input(reason_words, policy, w.reason, w.condition, product.name)
        exceptions += [
            e
            for e in policy.line_exceptions(product.name, product.sku, product.department, today, today)
            if e.code == rp.FINAL_SALE
        ]
        lines.append(
            (
                QuoteLine(
                    n,
                    product.name,
                    w.qty,
                    priced.net,
                    priced.tax,
                    priced.total,
                    w.reason,
                    w.condition,
                    disposition,
                ),
                None,
                product,
            )
        )
    lines_total = totals.total
    fee = policy.restocking_fee((ql.total, ql.condition) for ql, _, _ in lines)
    total = lines_total - fee
    exceptions = policy.total_exceptions(total, no_receipt=True) + exceptions
    quote_ = Quote(
        original_number=None,
        lines=[ql for ql, _, _ in lines],
        lines_total=lines_total,
        fee=fee,
        total=total,
        tax=totals.tax_total,
        tenders=[TenderOut("store_credit", total, TENDER_WORDS["store_credit"], customer_id)]
        if total
        else [],
        unallocated=ZERO,
        exceptions=[e.text for e in exceptions],
        permission=str(rp.approval_for(exceptions)),
    )
    return _Planned(None, quote_, lines, {"store_credit": customer_id}, None, customer_id)


def quote_no_receipt(session: Session, customer_id: str | None, lines: list[NoReceiptLineIn]) -> Quote:
    return _plan_no_receipt(session, customer_id, lines).quote
