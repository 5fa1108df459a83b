"""The Returns desk: find the sale, take back what was bought and no more, refund it to the right tenders.

- **Find the original** (`find_original`): a receipt number as typed or scanned (``R-<number>``, the receipt's
  Code 128 or QR), a web order number (``W-...``), or `search_sales` by customer name, day or amount. A sale rung up
  at another till of the store is found once sync copied it here (`sync.applier` keeps the store's sales and returns);
  one not here yet is refused plainly, naming its till.
- **What may be returned** per line: sold less every earlier return this till knows (its own and the other tills'
  as synced). The central store is the authority and refuses an over-return decided offline.
- **Refund** (`quote`, then `take_return`): the figures come from `app.domain.refunds` (cumulative per-unit share of
  what the line paid, tax as charged, last unit takes the remainder; back to card, then cash, then gift card, then
  store credit, no tender more than it paid) and the policy from `app.domain.return_policy` (settings
  ``returns.policy`` and ``returns.reasons``; the refund limit is ``refund.limit``). A return with any exception
  needs one manager's approval, which is recorded with every exception it covered.
- **One transaction** writes the return order (channel "return", ``original_order_id``), its lines (``line_no`` is
  the sold line's) with their reason, condition and disposition, its payments, store credit and gift card balances
  given back, the stock movements into the disposition's location (floor, quarantine, return to vendor; a missing
  location is made), the ``return.completed`` outbox event (the `sale.completed` shape, with
  ``original_order_id`` and, for a web order, ``web_order_id``), the return receipt print job, a label per item
  that does not go back on the floor, and the audit entry.
- **No receipt** (`quote_no_receipt`, `take_no_receipt_return`): refund as store credit only, at the lowest price
  of the last N days this till knows, else the current price; always a manager's approval.

A web order was paid online: its refund goes back to that payment ("online"), which the central store refunds and
notifies the customer of; nothing is paid out at the desk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
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
    StaffUser,
    Store,
    TaxClass,
)
from app.documents.model import Barcode, Block, Columns, Cut, Document, Qr, Text
from app.documents.receipt import ReceiptData, ReceiptLine, TenderLine, build_receipt
from app.domain import lifecycle, prefixes, pricing, refunds, tenders
from app.domain import return_policy as rp
from app.domain.money import ZERO
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, balances, numbers, outbox, printing, receipts, settings, staff, stock
from app.services.base import Actor, UserError, here, now

ONLINE = "online"  # a web order's payment, refunded by the central store
TENDER_WORDS: dict[str, str] = {**tenders.WORDS, ONLINE: "Web payment"}
HANDED_OVER = (str(lifecycle.OrderState.COLLECTED), str(lifecycle.OrderState.SHIPPED))
# Where each disposition puts the goods: the location's code, name and kind (made when missing).
VENDOR_LOCATION = ("rtv", "Return to vendor", "vendor")
QUARANTINE_LOCATION = ("quarantine", "Quarantine", "quarantine")


# -- plain views -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SoldLineView:
    line_no: int
    sku: str
    name: str
    qty: Decimal
    unit: str
    paid: Decimal  # what the whole line paid
    returned: Decimal
    returnable: Decimal


@dataclass(frozen=True)
class OriginalView:
    order_id: str
    number: str
    channel: str  # counter or web
    terminal: str
    completed_at: datetime | None
    customer_id: str | None
    customer_name: str | None
    total: Decimal
    lines: list[SoldLineView]
    payments: list[tuple[str, Decimal]]
    refunded: list[tuple[str, Decimal]]  # what earlier returns gave back, per tender


@dataclass(frozen=True)
class SaleHit:
    order_id: str
    number: str
    when: datetime | None
    customer: str
    total: Decimal
    terminal: str


@dataclass(frozen=True)
class ReturnLineIn:
    """A line to take back: the sold line's number, how many, why, and in what condition."""

    line_no: int
    qty: Decimal
    reason: str
    condition: str


@dataclass(frozen=True)
class NoReceiptLineIn:
    product_id: str
    qty: Decimal
    reason: str
    condition: str


@dataclass(frozen=True)
class QuoteLine:
    line_no: int
    name: str
    qty: Decimal
    amount: Decimal
    tax: Decimal
    total: Decimal
    reason: str
    condition: str
    disposition: str


@dataclass(frozen=True)
class TenderOut:
    kind: str
    amount: Decimal
    words: str
    reference: str | None = None


@dataclass(frozen=True)
class Quote:
    """What a return would give back, before it is taken: the screen's refund dialog shows it."""

    original_number: str | None
    lines: list[QuoteLine]
    lines_total: Decimal
    fee: Decimal
    total: Decimal
    tax: Decimal
    tenders: list[TenderOut]
    unallocated: Decimal
    exceptions: list[str]
    permission: str  # the one permission taking it needs (see app.domain.return_policy.approval_for)


@dataclass(frozen=True)
class ReturnDone:
    return_id: str
    number: str
    total: Decimal
    tenders: list[TenderOut]
    receipt_job_id: str
    label_job_ids: list[str]
    open_drawer: bool


# -- finding the original --------------------------------------------------------------------------------------
def _policy(session: Session) -> rp.Policy:
    return rp.Policy.from_setting(
        settings.get(session, "returns.policy"), settings.get_decimal(session, "refund.limit")
    )


def reasons(session: Session) -> dict[str, str]:
    """The reason codes a cashier chooses from (setting ``returns.reasons``), code -> words."""
    return rp.reasons(settings.get(session, "returns.reasons"))


def _store(session: Session) -> Store:
    store = session.get(Store, here(session).store_id)
    assert store is not None
    return store


def _local_day(session: Session, moment: datetime) -> date:
    return moment.astimezone(ZoneInfo(here(session).timezone)).date()


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


def _facts(
    session: Session, order: Order
) -> tuple[refunds.Sale, list[refunds.EarlierReturn], list[OrderLine]]:
    live = [line for line in order.lines if not line.voided]
    sale = refunds.Sale(
        tuple(refunds.SoldLine(line.line_no, line.qty, line.amount, line.tax, line.name) for line in live),
        tuple((p.kind, p.amount) for p in sorted(order.payments, key=lambda p: (p.created_at, p.id)))
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
    return sale, earlier, live


def _view(session: Session, order: Order) -> OriginalView:
    sale, earlier, live = _facts(session, order)
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


def get_original(session: Session, order_id: str) -> OriginalView:
    return _view(session, _original(session, order_id))


def find_original(session: Session, typed: str) -> OriginalView:
    """The sale or web order a receipt or order number (typed or scanned) names, with what may still be returned."""
    text = typed.strip().upper()
    if not text:
        raise UserError("Scan the receipt's barcode, or type the receipt or web order number.")
    if text.startswith(prefixes.RETURN):
        raise UserError("That is a return receipt: scan the receipt of the sale instead.")
    value = prefixes.without(prefixes.RECEIPT, text)
    candidates = {value, text, prefixes.without(prefixes.ORDER, text), f"{prefixes.ORDER}{value}"}
    orders = list(
        session.scalars(
            select(Order).where(Order.number.in_(candidates), Order.channel.in_(("counter", "web")))
        )
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


# -- the refund ------------------------------------------------------------------------------------------------
@dataclass
class _Planned:
    order: Order | None
    quote: Quote
    lines: list[tuple[QuoteLine, OrderLine | None, Product | None]]
    references: dict[str, str | None]
    card_last4: str | None
    customer_id: str | None


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
    session: Session, order_id: str, wanted: list[ReturnLineIn], gift_card_code: str | None
) -> _Planned:
    order = _original(session, order_id)
    sale, earlier, live = _facts(session, order)
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
        first = refunds.plan(sale, earlier, qty)
        fee = policy.restocking_fee((lr.total, chosen[lr.line_no].condition) for lr in first.lines)
        plan = refunds.plan(sale, earlier, qty, fee) if fee else first
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
    return _Planned(order, quote, lines, references, card, customer_id)


def quote(
    session: Session, order_id: str, lines: list[ReturnLineIn], gift_card_code: str | None = None
) -> Quote:
    """What taking these lines back would refund, to which tenders, and the approval it needs; nothing written."""
    return _plan(session, order_id, lines, gift_card_code).quote


def take_return(
    session: Session,
    actor: Actor,
    order_id: str,
    lines: list[ReturnLineIn],
    gift_card_code: str | None = None,
) -> ReturnDone:
    """Take the lines back and refund them, in one transaction (see the module)."""
    planned = _plan(session, order_id, lines, gift_card_code)
    return _write(session, actor, planned, no_receipt=False)


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


def take_no_receipt_return(
    session: Session, actor: Actor, customer_id: str | None, lines: list[NoReceiptLineIn]
) -> ReturnDone:
    """Take items back without a receipt: store credit only, a manager's approval always (see the module)."""
    return _write(session, actor, _plan_no_receipt(session, customer_id, lines), no_receipt=True)


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
            unit_price=sold.unit_price if sold else ql.amount / ql.qty if ql.qty else ZERO,
            tax_class=sold.tax_class if sold else product.tax_class if product else "",
            tax_rate=sold.tax_rate if sold else _rate(session, product),
            amount=ql.amount,
            tax=ql.tax,
        )
        if sold is None:
            line.unit_price = (ql.total / ql.qty).quantize(Decimal("0.01")) if ql.qty else ZERO
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
            _give_store_credit(session, payment.reference, t.amount)
        elif t.kind == "gift_card":
            payment.reference = t.reference
            balances.give_back(session, "gift_card", t.reference, t.amount)
        ret.payments.append(payment)
    session.flush()
    rows = stock.record_movements(session, moves, "order", ret.id, actor.user_id)
    outbox.emit(
        session, "return.completed", _payload(session, ret, original, stock.movement_payload(session, rows))
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


def _give_store_credit(session: Session, customer_id: str | None, amount: Decimal) -> None:
    """Store credit goes back to the customer through `app.services.balances`."""
    balances.give_back(session, "store_credit", customer_id, amount)


def _rate(session: Session, product: Product | None) -> Decimal:
    if product is None:
        return ZERO
    tax = session.get(TaxClass, product.tax_class)
    return tax.rate if tax else ZERO


def _payload(
    session: Session, ret: Order, original: Order | None, movements: list[dict[str, str]]
) -> dict[str, Any]:
    """`return.completed` in the `sale.completed` shape (sync.protocol.SaleCompleted): movements positive."""
    h = here(session)
    assert ret.completed_at is not None
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
