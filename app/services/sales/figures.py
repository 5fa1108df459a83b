"""The sale's figures: the store's pricing rules applied to the cart and to its tenders.

Every change re-prices the whole cart with `app.domain.pricing.price_cart` under the store's tax mode and tax rounding
and stores each line's amount and tax back (`_reprice`), so the receipt, the ledger and the central store all read the
same figures. Tenders are checked with `app.domain.tenders.settle` (over-tender only in cash, cash rounding per store).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, Store
from app.domain import pricing, tenders
from app.services.base import UserError, here


def _store(session: Session) -> Store:
    store = session.get(Store, here(session).store_id)
    assert store is not None  # here() found it
    return store


def cash_step(store: Store) -> Decimal | None:
    return store.cash_rounding if store.cash_rounding and store.cash_rounding > 0 else None


def pricing_rule(session: Session) -> str:
    """The store's tax mode, tax rounding and cash rounding step in words, as its receipts and Z reports print
    them (set at the central store for an enrolled till)."""
    store = _store(session)
    return pricing.rule_text(store.tax_mode, store.tax_rounding, cash_step(store))


def _discount(data: Any) -> pricing.Discount | None:
    if not data:
        return None
    return pricing.Discount(data["kind"], Decimal(data["value"]), data.get("reason", ""))


def _override(data: Any) -> Decimal | None:
    return Decimal(data["price"]) if data else None


def _cart_line(line: OrderLine) -> pricing.CartLineIn:
    return pricing.CartLineIn(
        line_id=line.id,
        sku=line.sku,
        name=line.name,
        qty=line.qty,
        unit_price=line.unit_price,
        tax_rate=line.tax_rate,
        tax_class=line.tax_class,
        price_override=_override(line.price_override),
        discount=_discount(line.discount),
        voided=line.voided,
        fixed_amount=line.fixed_amount,
    )


def _price(store: Store, order: Order) -> pricing.CartTotals:
    return pricing.price_cart(
        [_cart_line(line) for line in order.lines],
        _discount(order.order_discount),
        "exclusive" if store.tax_mode == "exclusive" else "inclusive",
        pricing.rounding_of(store.tax_rounding),
    )


def _set(row: object, name: str, value: object) -> None:
    # Only a figure that moved is set: setting an equal value still marks the row changed, and every read after it
    # would flush the whole cart again (a repeat scan reprices every line; only one of them changes).
    if getattr(row, name) != value:
        setattr(row, name, value)


def _reprice(session: Session, order: Order) -> pricing.CartTotals:
    """Price the cart and store every figure back: the stored figures are what the receipt and sync use."""
    with session.no_autoflush:  # reading the store must not write a line half-priced (INSERT, then UPDATE)
        store = _store(session)
    totals = _price(store, order)
    by_id = {p.line_id: p for p in totals.lines}
    for line in order.lines:
        p = by_id[line.id]
        _set(line, "amount", p.net)
        _set(line, "tax", p.tax)
        if line.discount:
            # The computed amount is kept so a reprint shows the discount as it was given.
            _set(line, "discount", {**line.discount, "amount": str(p.line_discount)})
    if order.order_discount:
        _set(order, "order_discount", {**order.order_discount, "amount": str(totals.order_discount)})
    _set(order, "subtotal", totals.subtotal)
    _set(order, "discount_total", totals.discount_total)
    _set(order, "tax_total", totals.tax_total)
    _set(order, "total", totals.total)
    return totals


def _tender_ins(order: Order) -> list[tenders.TenderIn]:
    ordered = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    return [tenders.TenderIn(p.kind, p.tendered) for p in ordered]  # type: ignore[arg-type]


def _settle(store: Store, order: Order, extra: list[tenders.TenderIn] | None = None) -> tenders.Settlement:
    try:
        return tenders.settle(order.total, _tender_ins(order) + (extra or []), cash_step(store))
    except tenders.TenderError as exc:
        raise UserError(str(exc)) from None
