"""A pickup order's lines follow the central's, so the till and the central agree on what this store hands over.

The central owns where each line of a web order is held (its routing). When a till hands back part of a line (a
short pick or a damaged item, `pickup.hand_back`), the central keeps the rest of the line where it was, takes the
missing quantity out of that location's stock and routes only that quantity again, never to the location that
just came up short (sync.central.routing.hand_back): to another location of the store (a new line of the order),
or nowhere (a new line "unavailable", which no till picks).

Each time the order comes in the feed, :func:`follow_central` makes this till's lines say what the central's say
for this store: line n of the payload is the till's line n (`line_no`, as `order.handback` names it); its
quantity here is the payload's when this store holds it ("reserved" at one of its locations), else 0 (voided). A
line routed to this store that the till does not have yet is added, to be picked. Only while the order is being
prepared (new, picking): once ready its goods are in staging and the lines are what was staged. And not while a
hand-back of the order is still waiting in the outbox: the central's view is then older than the till's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, OutboxEvent, Product, TaxClass
from app.domain import lifecycle
from app.ids import new_id
from app.services.base import here

HANDBACK_EVENT = "order.handback"
_FOLLOWS = (lifecycle.OrderState.NEW, lifecycle.OrderState.PICKING)


def _qty(value: Any) -> Decimal | None:
    try:
        q = Decimal(str(value))
    except ArithmeticError:
        return None
    return q if q.is_finite() and q >= 0 else None


def _handback_waiting(session: Session, order_id: str) -> bool:
    return any(
        isinstance(p, dict) and p.get("order_id") == order_id
        for p in session.scalars(
            select(OutboxEvent.payload).where(
                OutboxEvent.type == HANDBACK_EVENT, OutboxEvent.status == "pending"
            )
        )
    )


def _set(line: OrderLine, qty: Decimal) -> None:
    line.qty = qty
    line.scanned_qty = min(line.scanned_qty, qty)
    line.amount = (line.unit_price * qty).quantize(Decimal("0.01"))
    line.voided = qty == 0


def _new_line(session: Session, line_no: int, sku: str, qty: Decimal, unit_price: Decimal) -> OrderLine:
    product = session.scalar(select(Product).where(Product.sku == sku))
    tax = session.get(TaxClass, product.tax_class) if product is not None else None
    return OrderLine(
        id=new_id(),
        line_no=line_no,
        product_id=product.id if product else None,
        sku=sku,
        name=product.name if product else sku,
        qty=qty,
        unit=product.unit if product else "ea",
        unit_price=unit_price,
        tax_class=product.tax_class if product else "",
        tax_rate=tax.rate if tax is not None else Decimal(0),
        amount=(unit_price * qty).quantize(Decimal("0.01")),
    )


def follow_central(session: Session, order: Order, payload: dict[str, Any]) -> bool:
    """Make a pickup or curbside order's lines this store's part of the central's `payload` (see the module);
    returns whether anything changed. A payload line that does not read is left as the till has it."""
    if (
        order.channel != "web"
        or order.fulfilment not in ("pickup", "curbside")
        or order.status not in _FOLLOWS
    ):
        return False
    lines = payload.get("lines")
    if not isinstance(lines, list) or _handback_waiting(session, order.id):
        return False
    store = here(session).store_code
    by_no = {ln.line_no: ln for ln in order.lines}
    changed = False
    for n, pl in enumerate(lines, start=1):
        if not isinstance(pl, dict) or not isinstance(pl.get("sku"), str):
            continue
        qty = _qty(pl.get("qty"))
        if qty is None:
            continue
        ours = pl.get("store") in (None, store) and (pl.get("state") or "reserved") == "reserved"
        want = qty if ours else Decimal(0)
        line = by_no.get(n)
        if line is None:
            if want > 0:
                price = _qty(pl.get("unit_price")) or Decimal(0)
                order.lines.append(_new_line(session, n, pl["sku"], want, price))
                changed = True
            continue
        if line.sku != pl["sku"]:
            continue  # not the same line: leave it to a person rather than guess
        if line.qty != want or line.voided != (want == 0):
            _set(line, want)
            changed = True
    if changed:
        total = sum((ln.amount for ln in order.lines if not ln.voided), Decimal(0))
        order.subtotal = order.total = total.quantize(Decimal("0.01"))
    return changed
