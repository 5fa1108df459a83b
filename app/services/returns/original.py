"""Finding the original sale or web order, and what of it may still be returned (sold less every known return)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import (
    Order,
    OrderLine,
)
from app.domain import prefixes, refunds
from app.domain.money import ZERO
from app.services.base import UserError, here
from app.services.returns.views import (
    HANDED_OVER,
    ONLINE,
    Central,
    OriginalView,
    SaleHit,
    SoldLineView,
    _store,
)


def _earlier_orders(session: Session, order_id: str) -> list[Order]:
    return list(
        session.scalars(
            select(Order)
            .where(
                Order.channel == "return", Order.original_order_id == order_id, Order.status == "completed"
            )
            .order_by(Order.completed_at, Order.id)
        )
    )


def _exclusive(session: Session, order: Order, live: list[OrderLine]) -> bool:
    """Whether the sale's prices excluded tax, read from its own figures (the store's mode may have changed)."""
    amounts = sum((line.amount for line in live), ZERO)
    taxes = sum((line.tax for line in live), ZERO)
    if taxes and amounts + taxes == order.total and amounts != order.total:
        return True
    if amounts == order.total:
        return False
    return _store(session).tax_mode == "exclusive"


def central_answer(answer: Any) -> Central:
    """The central store's `GET /v1/returns/{id}` answer (sync.central.service.returns.Returnable.payload), checked:
    a malformed answer is refused (UserError) and the till decides on what it knows."""
    bad = UserError(
        "The central store's answer about this sale cannot be read: deciding on this till's records."
    )
    try:
        returned = {str(x["sku"]): Decimal(str(x["returned"])) for x in answer["lines"]}
        tenders = answer.get("tenders")
        refunded = None if tenders is None else {str(x["kind"]): Decimal(str(x["refunded"])) for x in tenders}
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
        raise bad from None
    values = list(returned.values()) + list((refunded or {}).values())
    if any(not v.is_finite() or v < 0 for v in values):
        raise bad
    return Central(returned, refunded)


def _from_central(
    sale: refunds.Sale, earlier: list[refunds.EarlierReturn], live: list[OrderLine], central: Central
) -> list[refunds.EarlierReturn]:
    """The returns the central store counted that this till has not heard of yet (another till's, not synced), as
    one more earlier return: the units per sku beyond what is known here, refunded by the same cumulative rule
    (line by line, in line order), and per tender what the central store says went back beyond what is known."""
    known: dict[str, Decimal] = {}
    sku_of = {line.line_no: line.sku for line in live}
    for r in earlier:
        for rl in r.lines:
            known[sku_of.get(rl.line_no, "")] = known.get(sku_of.get(rl.line_no, ""), Decimal(0)) + rl.qty
    seen = list(earlier)
    extra_lines: list[refunds.ReturnedLine] = []
    for sku, returned in central.returned.items():
        more = returned - known.get(sku, Decimal(0))
        for line in live:
            if more <= 0:
                break
            if line.sku != sku:
                continue
            left = refunds.returnable(sale, seen)[line.line_no]
            take = min(more, left)
            if take > 0:
                lr = refunds.line_refund(sale, seen, line.line_no, take)
                extra = refunds.ReturnedLine(line.line_no, take, lr.amount, lr.tax)
                extra_lines.append(extra)
                seen.append(refunds.EarlierReturn((extra,)))
                more -= take
    tenders: list[tuple[str, Decimal]] = []
    if central.refunded is not None:
        back: dict[str, Decimal] = {}
        for r in earlier:
            for kind, amount in r.tenders:
                back[kind] = back.get(kind, ZERO) + amount
        for kind, amount in sorted(central.refunded.items()):
            if amount > back.get(kind, ZERO):
                tenders.append((kind, amount - back.get(kind, ZERO)))
    if not extra_lines and not tenders:
        return earlier
    return [*earlier, refunds.EarlierReturn(tuple(extra_lines), tuple(tenders))]


def _facts(
    session: Session, order: Order, central: Central | None = None
) -> tuple[refunds.Sale, list[refunds.EarlierReturn], list[OrderLine]]:
    live = [line for line in order.lines if not line.voided]
    sale = refunds.Sale(
        tuple(refunds.SoldLine(line.line_no, line.qty, line.amount, line.tax, line.name) for line in live),
        tuple(
            (refunds.paid_as(p.kind), p.amount)
            for p in sorted(order.payments, key=lambda p: (p.created_at, p.id))
        )
        or ((ONLINE, order.total),),
        _exclusive(session, order, live),
    )
    earlier = [
        refunds.EarlierReturn(
            tuple(
                refunds.ReturnedLine(rl.line_no, rl.qty, rl.amount, rl.tax) for rl in r.lines if not rl.voided
            ),
            tuple((p.kind, p.amount) for p in r.payments),
        )
        for r in _earlier_orders(session, order.id)
    ]
    if central is not None:
        earlier = _from_central(sale, earlier, live, central)
    return sale, earlier, live


def _view(session: Session, order: Order, central: Central | None = None) -> OriginalView:
    sale, earlier, live = _facts(session, order, central)
    left = refunds.returnable(sale, earlier)
    refunded: dict[str, Decimal] = {}
    for r in earlier:
        for kind, amount in r.tenders:
            refunded[kind] = refunded.get(kind, ZERO) + amount
    return OriginalView(
        order_id=order.id,
        number=order.number,
        channel=order.channel,
        terminal=order.terminal_code or "",
        completed_at=order.completed_at,
        customer_id=order.customer_id,
        customer_name=order.customer_name,
        total=order.total,
        lines=[
            SoldLineView(
                line.line_no,
                line.sku,
                line.name,
                line.qty,
                line.unit,
                sale.line(line.line_no).paid(sale.exclusive),
                line.qty - left[line.line_no],
                left[line.line_no],
            )
            for line in live
        ],
        payments=list(sale.payments),
        refunded=sorted(refunded.items()),
    )


def _original(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.channel not in ("counter", "web"):
        raise UserError("That sale is not on this terminal: find it again by its receipt number.")
    if order.channel == "counter" and order.status != "completed":
        raise UserError(f"Sale {order.number} was never completed: there is nothing to return.")
    if order.channel == "web" and order.status not in HANDED_OVER:
        raise UserError(
            f"Web order {order.number} is {order.status}: only an order collected or shipped can be returned."
        )
    return order


def get_original(session: Session, order_id: str, central: Central | None = None) -> OriginalView:
    """The sale with what may still be returned: by this till's records, or with `central` (the central store's
    word, asked just before) by every till's returns."""
    return _view(session, _original(session, order_id), central)


def find_original(session: Session, typed: str) -> OriginalView:
    """The sale or web order a receipt or order number (typed or scanned), or a web order's return label, names,
    with what may still be returned."""
    text = typed.strip().upper()
    if not text:
        raise UserError("Scan the receipt's barcode, or type the receipt or web order number.")
    if text.startswith(prefixes.RETURN):
        raise UserError("That is a return receipt: scan the receipt of the sale instead.")
    channels: tuple[str, ...] = ("counter", "web")
    if text.startswith(
        prefixes.RETURN_LABEL
    ):  # a web order's return label (app.domain.prefixes.return_label)
        text, channels = f"{prefixes.ORDER}{prefixes.without(prefixes.RETURN_LABEL, text)}", ("web",)
    value = prefixes.without(prefixes.RECEIPT, text)
    candidates = {value, text, prefixes.without(prefixes.ORDER, text), f"{prefixes.ORDER}{value}"}
    orders = list(
        session.scalars(select(Order).where(Order.number.in_(candidates), Order.channel.in_(channels)))
    )
    if orders:
        return _view(session, _original(session, orders[0].id))
    parts = value.split("-")
    h = here(session)
    if len(parts) == 3 and parts[0] == h.store_code and parts[1] != h.terminal_code and parts[2].isdigit():
        raise UserError(
            f"Sale {value} from terminal {parts[1]} is not on this till yet (not synced): wait for sync, "
            "or take it back by the no-receipt policy."
        )
    raise UserError(f"No sale or web order {value} at this store: check the number on the receipt.")


def search_sales(
    session: Session,
    customer: str = "",
    day: date | None = None,
    amount: Decimal | None = None,
    limit: int = 50,
) -> list[SaleHit]:
    """Completed sales (and handed-over web orders) by customer name, local day and/or total, newest first."""
    q = select(Order).where(
        ((Order.channel == "counter") & (Order.status == "completed"))
        | ((Order.channel == "web") & Order.status.in_(HANDED_OVER))
    )
    if customer.strip():
        q = q.where(func.lower(Order.customer_name).contains(customer.strip().lower(), autoescape=True))
    if day is not None:
        h = here(session)
        q = q.where(
            Order.completed_at >= h.instant(day), Order.completed_at < h.instant(day + timedelta(days=1))
        )
    if amount is not None:
        q = q.where(Order.total == amount)
    if not customer.strip() and day is None and amount is None:
        raise UserError("Give a customer name, a day or an amount to search by.")
    rows = session.scalars(q.order_by(Order.completed_at.desc(), Order.created_at.desc()).limit(limit))
    return [
        SaleHit(
            o.id,
            o.number,
            o.completed_at or o.created_at,
            o.customer_name or "",
            o.total,
            o.terminal_code or "",
        )
        for o in rows
    ]
