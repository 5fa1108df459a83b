"""Counter sales: ring up, discount, park and recall, take tenders and complete, each step one transaction.

A sale in progress is an `Order(channel="counter", status="open")` written line by line, so a crash or a power cut
loses nothing: the next start finds it again with `current_sale`. Every change re-prices the whole cart with
`app.domain.pricing.price_cart` under the store's tax mode and tax rounding and stores each line's amount and tax
back, so the receipt, the ledger and the central store all read the same figures. Tenders are checked with
`app.domain.tenders.settle` (over-tender only in cash, cash rounding per store). `complete_sale` writes the status,
the stock ledger rows, the outbox event, the receipt print job and the audit entry together or not at all.
Card tenders keep the last four digits and the approval code only: anything that could be a card number is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Customer, GiftCard, Order, OrderLine, Payment, Shift, StaffUser, Store
from app.domain import barcodes, prefixes, pricing, tenders
from app.domain.money import ZERO, quantize_money, quantize_qty
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import (
    audit,
    catalog,
    customers,
    numbers,
    outbox,
    printing,
    receipts,
    settings,
    staff,
    stock,
)
from app.services.base import Actor, UserError, here, now

MAX_QTY = Decimal("9999")
_LAST4 = re.compile(r"[0-9]{4}", re.ASCII)
_APPROVAL = re.compile(r"[A-Za-z0-9]{2,12}", re.ASCII)


# ----------------------------------------------------------------------------------------------- views


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


# ----------------------------------------------------------------------------------------------- helpers


def _store(session: Session) -> Store:
    store = session.get(Store, here(session).store_id)
    assert store is not None  # here() found it
    return store


def _cash_step(store: Store) -> Decimal | None:
    return store.cash_rounding if store.cash_rounding and store.cash_rounding > 0 else None


def pricing_rule(session: Session) -> str:
    """The store's tax mode, tax rounding and cash rounding step in words, as its receipts and Z reports print
    them (set at the central store for an enrolled till)."""
    store = _store(session)
    return pricing.rule_text(store.tax_mode, store.tax_rounding, _cash_step(store))


def _open_shift(session: Session) -> Shift | None:
    h = here(session)
    return session.scalar(select(Shift).where(Shift.terminal_code == h.terminal_code, Shift.status == "open"))


def _order(session: Session, sale_id: str) -> Order:
    order = session.get(Order, sale_id)
    if order is None or order.channel != "counter":
        raise UserError("That sale is not on this terminal.")
    return order


def _editable(session: Session, actor: Actor, sale_id: str) -> Order:
    """An open sale this user owns; every change to a sale goes through here."""
    order = _order(session, sale_id)
    if order.status != "open":
        raise UserError(f"Sale {order.number} is {order.status}: it can no longer be changed.")
    if order.owner_id not in (None, actor.user_id):
        raise UserError(f"Sale {order.number} belongs to another user: they can park it for you to recall.")
    return order


def _line(order: Order, line_id: str) -> OrderLine:
    for line in order.lines:
        if line.id == line_id:
            return line
    raise UserError("That line is not in this sale.")


def _reason(reason: str, what: str) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise UserError(f"Give a reason for the {what}.")
    return text[:200]


def _decimal(value: Decimal | str | int, what: str) -> Decimal:
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        raise UserError(f"The {what} is not a number.") from None
    if not d.is_finite():
        raise UserError(f"The {what} is not a number.")
    return d


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


def _reprice(session: Session, order: Order) -> pricing.CartTotals:
    """Price the cart and store every figure back: the stored figures are what the receipt and sync use."""
    totals = _price(_store(session), order)
    by_id = {p.line_id: p for p in totals.lines}
    for line in order.lines:
        p = by_id[line.id]
        line.amount = p.net
        line.tax = p.tax
        if line.discount:
            # The computed amount is kept so a reprint shows the discount as it was given.
            line.discount = {**line.discount, "amount": str(p.line_discount)}
    if order.order_discount:
        order.order_discount = {**order.order_discount, "amount": str(totals.order_discount)}
    order.subtotal = totals.subtotal
    order.discount_total = totals.discount_total
    order.tax_total = totals.tax_total
    order.total = totals.total
    return totals


def _tender_ins(order: Order) -> list[tenders.TenderIn]:
    ordered = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    return [tenders.TenderIn(p.kind, p.tendered) for p in ordered]  # type: ignore[arg-type]


def _settle(store: Store, order: Order, extra: list[tenders.TenderIn] | None = None) -> tenders.Settlement:
    try:
        return tenders.settle(order.total, _tender_ins(order) + (extra or []), _cash_step(store))
    except tenders.TenderError as exc:
        raise UserError(str(exc)) from None


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
            settlement = tenders.settle(order.total, _tender_ins(order), _cash_step(store))
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


def _refuse_after_tender(order: Order, what: str) -> None:
    # Prices must not move under a tender already taken (a card approved for the old total, say).
    if order.payments:
        raise UserError(f"Payments are already taken: remove them before you {what}.")


def _check_qty(qty: Decimal, weighed: bool) -> Decimal:
    if qty <= 0:
        raise UserError("The quantity must be more than 0.")
    if qty > MAX_QTY:
        raise UserError(f"The quantity must be {MAX_QTY} or less.")
    if weighed:
        return quantize_qty(qty)
    if qty != qty.to_integral_value():
        raise UserError("This item is sold by the piece: enter a whole number.")
    return qty.quantize(Decimal("1"))


# ----------------------------------------------------------------------------------------------- ringing up


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


def start_sale(session: Session, actor: Actor) -> SaleView:
    """A new sale with its receipt number, or the user's sale already open (never two at once)."""
    staff.require(session, actor, Permission.SELL, "start a sale")
    existing = current_sale(session, actor)
    if existing is not None:
        return existing
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift)")
    h = here(session)
    order = Order(
        id=new_id(),
        number=numbers.next_number(session, "receipt"),
        channel="counter",
        fulfilment="carry_out",
        status="open",
        terminal_code=h.terminal_code,
        owner_id=actor.user_id,
        shift_id=shift.id,
        created_at=now(),
    )
    session.add(order)
    session.flush()
    return _view(session, order)


def _merge_target(order: Order, product: catalog.ProductView) -> OrderLine | None:
    if product.weighed:
        return None  # each weighing is its own item
    for line in reversed(order.lines):
        if (
            line.product_id == product.id
            and not line.voided
            and line.fixed_amount is None
            and line.price_override is None
            and line.discount is None
            and line.unit_price == product.price
        ):
            return line
    return None


def _add(
    session: Session,
    order: Order,
    product: catalog.ProductView,
    qty: Decimal,
    fixed_amount: Decimal | None,
) -> tuple[OrderLine, str]:
    if not product.active:
        raise UserError(f"{product.name} is no longer sold: set it aside and tell a manager.")
    _refuse_after_tender(order, "add items")
    target = _merge_target(order, product) if fixed_amount is None else None
    if target is not None:
        target.qty = _check_qty(target.qty + qty, product.weighed)
        return target, f"{product.name}: quantity {target.qty.normalize():f}"
    line = OrderLine(
        id=new_id(),
        line_no=max((line.line_no for line in order.lines), default=0) + 1,
        product_id=product.id,
        sku=product.sku,
        name=product.name,
        qty=_check_qty(qty, product.weighed or fixed_amount is not None),
        unit=product.unit,
        unit_price=product.price,
        fixed_amount=fixed_amount,
        tax_class=product.tax_class,
        tax_rate=product.tax_rate,
    )
    order.lines.append(line)
    return line, f"Added {product.name}"


def add_scan(session: Session, actor: Actor, sale_id: str, scan: barcodes.ScanResult | str) -> ScanOutcome:
    """A scanned or typed code: a product (repeat scans add to the line), a case, a scale label or a loyalty card.
    The screen passes the scan as the router parsed it; it is not parsed again."""
    staff.require(session, actor, Permission.SELL, "scan an item")
    order = _editable(session, actor, sale_id)
    result = catalog.read_scan(session, scan)
    if isinstance(result, barcodes.InternalCode):
        if result.internal_kind == "loyalty":
            view = attach_customer(session, actor, sale_id, _customer_by_card(session, result.raw).id)
            return ScanOutcome(view, None, f"Customer {view.customer_name} attached")
        if result.internal_kind == "parked":
            raise UserError("That is a parked sale: finish or park this sale first, then recall it (F9).")
        raise UserError(f"That is a {result.internal_kind} code, not an item: scan the item's barcode.")
    found = catalog.find_scan(session, result)
    if found.needs_weight:
        return _ask_weight(session, order, found.product)
    line, message = _add(session, order, found.product, found.qty, found.fixed_amount)
    session.flush()
    _reprice(session, order)
    warnings = tuple(_line_warnings(session, order, line, line.qty))
    return ScanOutcome(_view(session, order), line.id, message, warnings=warnings)


def _ask_weight(session: Session, order: Order, product: catalog.ProductView) -> ScanOutcome:
    if not product.active:
        raise UserError(f"{product.name} is no longer sold: set it aside and tell a manager.")
    message = f"{product.name} is sold by weight: weigh it and enter the weight in kg."
    return ScanOutcome(_view(session, order), None, message, weigh=product)


def _customer_by_card(session: Session, code: str) -> Customer:
    view = customers.by_loyalty_card(session, code)
    if view is None:
        raise UserError(f"Loyalty card {code} is not known here: search the customer by phone (F6).")
    c = session.get(Customer, view.id)
    assert c is not None
    return c


def add_product(
    session: Session, actor: Actor, sale_id: str, product_id: str, qty: Decimal | None = Decimal("1")
) -> ScanOutcome:
    """A product picked by search (F2) with a quantity, or a weighed item with its weight. With `qty` None a
    piece item is added once and a weighed item is not added: the outcome asks for its weight (`weigh`)."""
    staff.require(session, actor, Permission.SELL, "add an item")
    order = _editable(session, actor, sale_id)
    product = catalog.get(session, product_id)
    if qty is None:
        if product.weighed:
            return _ask_weight(session, order, product)
        qty = Decimal("1")
    line, message = _add(session, order, product, _decimal(qty, "quantity"), None)
    session.flush()
    _reprice(session, order)
    warnings = tuple(_line_warnings(session, order, line, line.qty))
    return ScanOutcome(_view(session, order), line.id, message, warnings=warnings)


def set_qty(session: Session, actor: Actor, sale_id: str, line_id: str, qty: Decimal) -> SaleView:
    staff.require(session, actor, Permission.SELL, "change a quantity")
    order = _editable(session, actor, sale_id)
    line = _line(order, line_id)
    if line.voided:
        raise UserError("That line is voided.")
    if line.fixed_amount is not None:
        raise UserError("This line is priced by its label: void it and scan the label again.")
    _refuse_after_tender(order, "change quantities")
    old = line.qty
    line.qty = _check_qty(_decimal(qty, "quantity"), line.unit == "kg")
    if line.qty < old:
        # Lowering a quantity takes an item off the sale much like a void; it is worth a trace.
        audit.record(
            session,
            actor.user_id,
            "sale.qty_lowered",
            "order",
            order.id,
            {"line": line.line_no, "sku": line.sku, "from": str(old), "to": str(line.qty)},
        )
    _reprice(session, order)
    return _view(session, order)


def qty_warnings(session: Session, sale_id: str, line_id: str, qty: Decimal) -> list[str]:
    """What the cashier should confirm before a line's quantity becomes `qty`: more than the store's
    `sale.confirm_qty_above`, or more of the item on the sale than the store is known to have (a typo such as 60 for
    6 is caught here; a real bulk sale goes on after one confirmation)."""
    order = _order(session, sale_id)
    return _line_warnings(session, order, _line(order, line_id), qty)


def weight_warnings(session: Session, sale_id: str | None, product_id: str, qty: Decimal) -> list[str]:
    """What the cashier should confirm before a weighed item joins the sale with weight `qty` (the weight dialog
    asks before adding): the same checks as `qty_warnings`, for a line not yet on the sale."""
    product = catalog.get(session, product_id)
    order = _order(session, sale_id) if sale_id else None
    return _qty_checks(session, order, product.id, product.name, product.unit, qty, None)


def _line_warnings(session: Session, order: Order, line: OrderLine, qty: Decimal) -> list[str]:
    return _qty_checks(session, order, line.product_id, line.name, line.unit, qty, line)


def _qty_checks(
    session: Session,
    order: Order | None,
    product_id: str | None,
    name: str,
    unit_code: str,
    qty: Decimal,
    line: OrderLine | None,
) -> list[str]:
    unit = " kg" if unit_code == "kg" else ""
    out = []
    limit = settings.get_decimal(session, "sale.confirm_qty_above")
    if limit and qty > limit:
        out.append(
            f"{qty.normalize():f}{unit} is more than {limit.normalize():f}{unit}, the most sold without a check."
        )
    if product_id:
        lines = order.lines if order is not None else []
        on_sale = sum(
            (ln.qty for ln in lines if ln.product_id == product_id and not ln.voided and ln is not line),
            Decimal(0),
        )
        places = stock.on_hand_by_location(session, product_id)
        known = sum((q for _c, _n, q in places), Decimal(0))
        if qty + on_sale > known:
            where = ", ".join(f"{loc} {q.normalize():f}" for _c, loc, q in places if q) or "none anywhere"
            out.append(
                f"Only {known.normalize():f}{unit} of {name} in stock here ({where}); "
                f"this sale has {(qty + on_sale).normalize():f}{unit}."
            )
    return out


def void_line(session: Session, actor: Actor, sale_id: str, line_id: str) -> SaleView:
    order = _editable(session, actor, sale_id)
    line = _line(order, line_id)
    if line.voided:
        raise UserError("That line is already voided.")
    approval = staff.require(session, actor, Permission.LINE_VOID, f"void {line.name} on {order.number}")
    _refuse_after_tender(order, "void a line")
    line.voided = True
    _reprice(session, order)
    audit.record(
        session,
        actor.user_id,
        "sale.line_voided",
        "order",
        order.id,
        {
            "number": order.number,
            "line": line.line_no,
            "sku": line.sku,
            "qty": str(line.qty),
            "amount": str(_cart_line(line).line_amount()),
            "approval": approval,
        },
    )
    return _view(session, order)


def override_price(
    session: Session, actor: Actor, sale_id: str, line_id: str, new_price: Decimal, reason: str
) -> SaleView:
    order = _editable(session, actor, sale_id)
    line = _line(order, line_id)
    price = _decimal(new_price, "price")
    why = _reason(reason, "price change")
    if line.voided:
        raise UserError("That line is voided.")
    if line.fixed_amount is not None:
        raise UserError("This line is priced by its label: void it and key the item in to change its price.")
    if price < 0 or quantize_money(price) != price:
        raise UserError("Enter a price of 0 or more in whole cents.")
    approval = staff.require(session, actor, Permission.PRICE_OVERRIDE, f"{line.name} to {price}")
    _refuse_after_tender(order, "change a price")
    old = _override(line.price_override) or line.unit_price
    line.price_override = {"price": str(price), "reason": why, "approval_id": approval}
    _reprice(session, order)
    audit.record(
        session,
        actor.user_id,
        "sale.price_overridden",
        "order",
        order.id,
        {
            "line": line.line_no,
            "sku": line.sku,
            "from": str(old),
            "to": str(price),
            "reason": why,
            "approval": approval,
        },
    )
    return _view(session, order)


def _make_discount(kind: str, value: Decimal | str, why: str) -> pricing.Discount:
    try:
        return pricing.Discount(kind, _decimal(value, "discount"), why)  # type: ignore[arg-type]
    except ValueError as exc:
        raise UserError(f"That discount cannot be given: {exc}.") from None


def _require_discount(
    session: Session, actor: Actor, discount: pricing.Discount, base: Decimal, what: str
) -> str | None:
    above = pricing.discount_exceeds(
        discount,
        base,
        settings.get_decimal(session, "discount.threshold_percent"),
        settings.get_decimal(session, "discount.threshold_amount"),
    )
    permission = Permission.DISCOUNT_ABOVE_THRESHOLD if above else Permission.DISCOUNT
    return staff.require(session, actor, permission, what)


def discount_line(
    session: Session, actor: Actor, sale_id: str, line_id: str, kind: str, value: Decimal, reason: str
) -> SaleView:
    """A percent or amount off one line; a value of 0 removes the line's discount."""
    order = _editable(session, actor, sale_id)
    line = _line(order, line_id)
    if line.voided:
        raise UserError("That line is voided.")
    _refuse_after_tender(order, "give a discount")
    if _decimal(value, "discount") == 0:
        staff.require(session, actor, Permission.DISCOUNT, "remove a discount")
        line.discount = None
        _reprice(session, order)
        return _view(session, order)
    why = _reason(reason, "discount")
    discount = _make_discount(kind, value, why)
    base = _cart_line(line).line_amount()
    approval = _require_discount(
        session, actor, discount, base, f"{discount.kind} {discount.value} off {line.name}"
    )
    line.discount = {
        "kind": discount.kind,
        "value": str(discount.value),
        "reason": why,
        "approval_id": approval,
    }
    totals = _reprice(session, order)
    given = next(p.line_discount for p in totals.lines if p.line_id == line.id)
    audit.record(
        session,
        actor.user_id,
        "sale.line_discount",
        "order",
        order.id,
        {
            "number": order.number,
            "line": line.line_no,
            "kind": discount.kind,
            "value": str(discount.value),
            "amount": str(given),
            "reason": why,
            "approval": approval,
        },
    )
    return _view(session, order)


def discount_order(
    session: Session, actor: Actor, sale_id: str, kind: str, value: Decimal, reason: str
) -> SaleView:
    """A percent or amount off the whole sale (after line discounts); a value of 0 removes it."""
    order = _editable(session, actor, sale_id)
    _refuse_after_tender(order, "give a discount")
    if _decimal(value, "discount") == 0:
        staff.require(session, actor, Permission.DISCOUNT, "remove a discount")
        order.order_discount = None
        _reprice(session, order)
        return _view(session, order)
    why = _reason(reason, "discount")
    discount = _make_discount(kind, value, why)
    current = _price(_store(session), order)
    base = current.subtotal - current.line_discount_total
    approval = _require_discount(
        session, actor, discount, base, f"{discount.kind} {discount.value} off {order.number}"
    )
    order.order_discount = {
        "kind": discount.kind,
        "value": str(discount.value),
        "reason": why,
        "approval_id": approval,
    }
    totals = _reprice(session, order)
    audit.record(
        session,
        actor.user_id,
        "sale.order_discount",
        "order",
        order.id,
        {
            "number": order.number,
            "kind": discount.kind,
            "value": str(discount.value),
            "amount": str(totals.order_discount),
            "reason": why,
            "approval": approval,
        },
    )
    return _view(session, order)


def attach_customer(session: Session, actor: Actor, sale_id: str, customer_id: str) -> SaleView:
    staff.require(session, actor, Permission.SELL, "attach a customer")
    order = _editable(session, actor, sale_id)
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise UserError("That customer is not on this terminal: search again.")
    if order.customer_id and order.customer_id != customer_id and _has_store_credit(order):
        raise UserError("Store credit of another customer is taken: remove that payment first.")
    order.customer_id = customer.id
    order.customer_name = customer.name
    return _view(session, order)


def _has_store_credit(order: Order) -> bool:
    return any(p.kind == "store_credit" for p in order.payments)


def detach_customer(session: Session, actor: Actor, sale_id: str) -> SaleView:
    staff.require(session, actor, Permission.SELL, "remove the customer")
    order = _editable(session, actor, sale_id)
    if _has_store_credit(order):
        raise UserError("The customer's store credit pays part of this sale: remove that payment first.")
    order.customer_id = None
    order.customer_name = None
    return _view(session, order)


# ----------------------------------------------------------------------------------------------- park and recall


def _line_payload(line: OrderLine) -> dict[str, Any]:
    return {
        "line_no": line.line_no,
        "sku": line.sku,
        "name": line.name,
        "qty": str(line.qty),
        "unit": line.unit,
        "unit_price": str(line.unit_price),
        "fixed_amount": None if line.fixed_amount is None else str(line.fixed_amount),
        "price_override": line.price_override,
        "discount": line.discount,
        "tax_class": line.tax_class,
        "tax_rate": str(line.tax_rate),
        "amount": str(line.amount),
        "tax": str(line.tax),
    }


def _park(session: Session, actor: Actor, sale_id: str, keep_owner: bool) -> str:
    staff.require(session, actor, Permission.SELL, "park a sale")
    order = _editable(session, actor, sale_id)
    live = [line for line in order.lines if not line.voided]
    if not live:
        raise UserError("There is nothing to park: scan an item first.")
    if order.payments:
        raise UserError("Payments are already taken: finish the sale, or remove the payments to park it.")
    h = here(session)
    number = numbers.next_number(session, "parked")
    order.parked_number = number
    order.status = "parked"
    if not keep_owner:
        order.owner_id = None
    outbox.emit(
        session,
        "sale.parked",
        {
            "number": number,
            "terminal": h.terminal_code,
            "store": h.store_code,
            "order_id": order.id,
            "receipt_number": order.number,
            "customer_id": order.customer_id,
            "customer_name": order.customer_name,
            "order_discount": order.order_discount,
            "owner_id": order.owner_id,
            "total": str(order.total),
            "lines": [_line_payload(line) for line in live],
        },
    )
    audit.record(
        session,
        actor.user_id,
        "sale.parked",
        "order",
        order.id,
        {"number": order.number, "parked": number, "total": str(order.total), "for_switch": keep_owner},
    )
    return number


def park(session: Session, actor: Actor, sale_id: str) -> str:
    """Suspend the sale for anyone to recall (barcode PS-<number>); returns the parked number."""
    return _park(session, actor, sale_id, keep_owner=False)


def park_for_switch(session: Session, actor: Actor, sale_id: str) -> str | None:
    """Put the user's sale aside when another user signs in, keeping its owner; an empty sale is simply voided."""
    order = _editable(session, actor, sale_id)
    if not any(not line.voided for line in order.lines) and not order.payments:
        order.status = "voided"
        audit.record(
            session,
            actor.user_id,
            "sale.voided",
            "order",
            order.id,
            {"number": order.number, "reason": "empty at user switch"},
        )
        return None
    return _park(session, actor, sale_id, keep_owner=True)


def _parked_value(number: str) -> str:
    return prefixes.without(prefixes.PARKED, number)


def recall(session: Session, actor: Actor, number: str) -> SaleView:
    """Take a parked sale back (typed number or scanned PS- barcode); the user recalling it becomes its owner."""
    staff.require(session, actor, Permission.SELL, "recall a sale")
    value = _parked_value(number)
    order = session.scalar(select(Order).where(Order.parked_number == value, Order.channel == "counter"))
    if order is None:
        raise UserError(
            f"Parked sale {value} is not on this terminal: if it was parked at another till, wait for sync "
            "and try again."
        )
    if order.status != "parked":
        raise UserError(f"Parked sale {value} was already recalled (it is {order.status} now).")
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift)")
    mine = current_sale(session, actor)
    if mine is not None:
        mine_order = _order(session, mine.id)
        if any(not line.voided for line in mine_order.lines) or mine_order.payments:
            raise UserError(f"Finish or park sale {mine.number} first, then recall {value}.")
        mine_order.status = "voided"  # an empty sale holds nothing worth keeping
    h = here(session)
    order.status = "open"
    order.owner_id = actor.user_id
    order.terminal_code = h.terminal_code
    order.shift_id = shift.id
    _reprice(
        session, order
    )  # a sale parked at another till arrives with its lines; the figures are made here
    outbox.emit(
        session,
        "sale.recalled",
        {"number": value, "terminal": h.terminal_code, "store": h.store_code, "order_id": order.id},
    )
    audit.record(
        session, actor.user_id, "sale.recalled", "order", order.id, {"parked": value, "number": order.number}
    )
    return _view(session, order)


def list_parked(session: Session) -> list[ParkedView]:
    """Parked sales on this terminal's database, oldest first."""
    rows = session.scalars(
        select(Order).where(Order.channel == "counter", Order.status == "parked").order_by(Order.created_at)
    ).all()
    names = dict(session.execute(select(StaffUser.id, StaffUser.display_name)).all())
    out = []
    for o in rows:
        assert o.parked_number is not None
        out.append(
            ParkedView(
                number=o.parked_number,
                barcode=prefixes.PARKED + o.parked_number,
                order_id=o.id,
                owner_id=o.owner_id,
                owner_name=names.get(o.owner_id, "") if o.owner_id else "",
                terminal=o.terminal_code or "",
                items=sum(1 for line in o.lines if not line.voided),
                total=o.total,
                started_at=o.created_at,
            )
        )
    return out


# ----------------------------------------------------------------------------------------------- tenders


def _check_card(card_last4: str | None, approval_code: str | None, reference: str | None) -> None:
    last4 = (card_last4 or "").strip()
    if len(last4) > 4:
        # Never let a full card number reach the database, not even by mistake.
        raise UserError("Enter only the last 4 digits of the card, never the whole card number.")
    if not _LAST4.fullmatch(last4):
        raise UserError("Enter the last 4 digits of the card, as printed on the terminal slip.")
    if approval_code is None or not _APPROVAL.fullmatch(approval_code.strip()):
        raise UserError("Enter the approval code from the card terminal slip (2 to 12 letters or digits).")
    # No free-text field of a card tender may hold a card number, however its digits are separated.
    if reference and tenders.looks_like_card_number(reference):
        raise UserError("The reference looks like a card number: enter the terminal's reference only.")


def add_tender(
    session: Session,
    actor: Actor,
    sale_id: str,
    kind: str,
    amount: Decimal,
    card_last4: str | None = None,
    approval_code: str | None = None,
    reference: str | None = None,
) -> SaleView:
    """One payment: cash (as handed over; change at completion), card, store credit, or a gift card by its code."""
    staff.require(session, actor, Permission.SELL, "take a payment")
    order = _editable(session, actor, sale_id)
    if kind not in tenders.KINDS:
        raise UserError(f"Unknown payment kind {kind}.")
    if not any(not line.voided for line in order.lines):
        raise UserError("The sale is empty: scan an item first.")
    value = _decimal(amount, "amount")
    if quantize_money(value) != value or value < 0 or (value == 0 and kind != "cash"):
        raise UserError("Enter an amount of more than 0 in whole cents.")
    store = _store(session)
    _settle(store, order, [tenders.TenderIn(kind, value)])  # type: ignore[arg-type]
    payment = Payment(
        id=new_id(), order_id=order.id, kind=kind, amount=value, tendered=value, created_at=now()
    )
    if kind == "card":
        _check_card(card_last4, approval_code, reference)
        assert card_last4 is not None and approval_code is not None
        payment.card_last4 = card_last4.strip()
        payment.approval_code = approval_code.strip().upper()
        payment.reference = (reference or "").strip()[:40] or None
    elif kind == "store_credit":
        if order.customer_id is None:
            raise UserError("Attach the customer first (F6): store credit belongs to a customer.")
        customer = session.get(Customer, order.customer_id)
        assert customer is not None
        if customer.store_credit < value:
            raise UserError(
                f"{customer.name} has {customer.store_credit} of store credit: enter that or less."
            )
        customer.store_credit -= value
        payment.reference = customer.id
    elif kind == "gift_card":
        code = (reference or "").strip().upper()
        card = session.get(GiftCard, code) if code else None
        if card is None or not card.active:
            raise UserError(
                "That gift card is not known or not active: check the code, or use another payment."
            )
        if card.balance < value:
            raise UserError(f"Gift card {code} has {card.balance} left: enter that or less.")
        card.balance -= value
        payment.reference = code
    order.payments.append(payment)
    session.flush()
    return _view(session, order)


def remove_tender(session: Session, actor: Actor, sale_id: str, payment_id: str) -> SaleView:
    """Take back a mistaken payment; store credit and gift card balances are given back."""
    staff.require(session, actor, Permission.SELL, "remove a payment")
    order = _editable(session, actor, sale_id)
    payment = next((p for p in order.payments if p.id == payment_id), None)
    if payment is None:
        raise UserError("That payment is not part of this sale.")
    if payment.kind == "store_credit" and payment.reference:
        customer = session.get(Customer, payment.reference)
        if customer is not None:
            customer.store_credit += payment.amount
    elif payment.kind == "gift_card" and payment.reference:
        card = session.get(GiftCard, payment.reference)
        if card is not None:
            card.balance += payment.amount
    order.payments.remove(payment)
    session.flush()
    audit.record(
        session,
        actor.user_id,
        "sale.tender_removed",
        "order",
        order.id,
        {"number": order.number, "kind": payment.kind, "amount": str(payment.tendered)},
    )
    return _view(session, order)


# ----------------------------------------------------------------------------------------------- completion


def _sale_payload(session: Session, order: Order, movements: list[dict[str, str]]) -> dict[str, Any]:
    h = here(session)
    assert order.completed_at is not None
    return {
        "order_id": order.id,
        "number": order.number,
        "store": h.store_code,
        "terminal": h.terminal_code,
        "shift_id": order.shift_id,
        "completed_at": order.completed_at.isoformat(),
        "customer_id": order.customer_id,
        "customer_name": order.customer_name,
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
            for line in order.lines
            if not line.voided
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
    staff.require(session, actor, Permission.SELL, "complete a sale")
    order = _editable(session, actor, sale_id)
    live = [line for line in order.lines if not line.voided]
    if not live:
        raise UserError("The sale is empty: scan an item first.")
    store = _store(session)
    _reprice(session, order)
    settlement = _settle(store, order)
    if not settlement.complete:
        raise UserError(f"{settlement.remaining} is still due: take another payment first.")
    shift = _open_shift(session)
    if shift is None:
        raise UserError("Open a shift first (Office > Shift)")

    # Change comes out of the last tender: only cash can over-tender, and nothing is taken after completion.
    payments = sorted(order.payments, key=lambda p: (p.created_at, p.id))
    for p in payments:
        p.amount = p.tendered
    if settlement.change:
        payments[-1].amount = payments[-1].tendered - settlement.change
    order.change_given = settlement.change
    order.rounding = settlement.rounding_adjustment
    order.status = "completed"
    order.completed_at = now()
    order.shift_id = shift.id
    order.owner_id = actor.user_id

    floor = stock.sellable_location(session)
    rows = stock.record_movements(
        session,
        [stock.MovementIn(line.product_id, floor.id, -line.qty, "sale") for line in live if line.product_id],
        "order",
        order.id,
        actor.user_id,
    )
    outbox.emit(
        session, "sale.completed", _sale_payload(session, order, stock.movement_payload(session, rows))
    )
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
        approval = staff.require(session, actor, Permission.SALE_VOID, f"void sale {order.number}")
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
