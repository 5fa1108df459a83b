"""Ringing up: start a sale, add items (scanned, picked by search, weighed), change quantities, void lines, override
prices, give discounts, attach or remove the customer.

A sale in progress is an `Order(channel="counter", status="open")` written line by line, so a crash or a power cut
loses nothing: the next start finds it again with `current_sale`. Prices must not move under a tender already taken,
so changes to lines and prices are refused once a payment is on the sale. A quantity beyond the stock this till knows
of, or above the store's `sale.confirm_qty_above`, is said (`warnings`), not asked: the next scan must never wait.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from app.db.models import Customer, Order, OrderLine
from app.domain import barcodes, pricing
from app.domain.money import quantize_money, quantize_qty
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, catalog, customers, numbers, settings, staff, stock
from app.services.base import Actor, UserError, here, now
from app.services.sales.checks import _decimal, _editable, _line, _open_shift, _order, _reason
from app.services.sales.figures import _cart_line, _override, _price, _reprice, _store
from app.services.sales.views import SaleView, ScanOutcome, _view, current_sale

MAX_QTY = Decimal("9999")


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
    # Priced before it is written: the new line goes in with its amount and tax (no INSERT then UPDATE).
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
    _reprice(session, order)
    warnings = tuple(_line_warnings(session, order, line, line.qty))
    return ScanOutcome(_view(session, order), line.id, message, warnings=warnings)


# ----------------------------------------------------------------------------------------------- changing lines


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


# ----------------------------------------------------------------------------------------------- the customer


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
