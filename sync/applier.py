"""Applying the change feed's changes, one handler per kind (catalog, prices, tax classes, store stock, web orders
and their cancellations, parked sales, customers, staff, and the documents of the store's other tills), with the
set-wise reads that keep a first pull of 100,000 rows quick. `sync.replica.apply_page` drives it in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from app.db.models import (
    Barcode,
    CentralStock,
    Customer,
    Delivery,
    DeliveryLine,
    Department,
    Order,
    OrderLine,
    OutboxEvent,
    ParkedChange,
    Payment,
    Product,
    ReturnLine,
    StaffUser,
    Store,
    TaxClass,
    Terminal,
)
from app.db.types import utcnow
from app.domain import barcodes, money, pricing
from app.domain.permissions import Role
from app.ids import new_id
from app.services import balances, counts, pickup_lines, settings
from sync import protocol

log = logging.getLogger(__name__)


class ApplyError(Exception):
    """A change this terminal cannot take; the page is not applied as a whole (see `apply_page`'s `park`)."""


# What applying a change can raise when the change is at fault (a value this till cannot take).
_CANNOT_APPLY = (KeyError, ValueError, ArithmeticError, TypeError, AttributeError, SQLAlchemyError)


class _Applier:
    """Applies a page with a few set-wise reads instead of one query per change (a first pull is 100,000 rows)."""

    def __init__(self, session: Session, park: bool = False) -> None:
        self.s = session
        self.park = park
        self.parked = 0
        self._handlers: dict[str, Callable[[protocol.Change], None]] = {
            protocol.CHANGE_TAX_CLASS: self.tax_class,
            protocol.CHANGE_PRODUCT: self.product,
            protocol.CHANGE_PRICE: self.price,
            protocol.CHANGE_STOCK: self.stock,
            protocol.CHANGE_ORDER: self.order,
            protocol.CHANGE_ORDER_CANCELLED: self.order,
            protocol.CHANGE_PARKED_SALE: self.parked_sale,
            protocol.CHANGE_SALE: self.document,
            protocol.CHANGE_RETURN: self.document,
            protocol.CHANGE_CUSTOMER: self.customer,
            protocol.CHANGE_STAFF: self.staff,
            protocol.CHANGE_STORE: self.store,
            protocol.CHANGE_BALANCE: self.balance,
            protocol.CHANGE_DELIVERY: self.delivery,
            protocol.CHANGE_COUNT: self.count,
        }
        self.products: dict[str, Product] = {}
        self.barcodes: dict[str, Barcode] = {}
        self.departments: set[str] = set()
        self.tax_classes: set[str] = set()
        self.terminal_code: str | None = None
        self.keep_since: datetime | None = None
        self.unsent_staff: set[str] | None = None

    def apply(self, changes: Iterable[protocol.Change]) -> None:
        changes = list(changes)
        self._load(changes)
        for change in changes:
            handler = self._handlers.get(change.type)
            if handler is None:
                continue  # a newer central store's change type: this version has nothing to do with it
            if self.park:
                try:
                    with self.s.begin_nested():
                        handler(change)
                        self.s.flush()
                except (*_CANNOT_APPLY, ValidationError) as exc:
                    self._park(change, exc)
                    self._load(changes)  # the caches may hold rows the savepoint took back
                continue
            try:
                handler(change)
            except (*_CANNOT_APPLY, ValidationError) as exc:
                raise ApplyError(
                    f"change {change.seq} ({change.type} {change.key}) cannot be applied: {exc}"
                ) from exc
        try:
            self.s.flush()
        except SQLAlchemyError as exc:
            raise ApplyError(f"a change of this page cannot be stored: {exc}") from exc

    def _park(self, change: protocol.Change, exc: Exception) -> None:
        missing = isinstance(exc, KeyError)
        reason = (f"field {exc} is missing" if missing else f"{type(exc).__name__}: {exc}")[:1000]
        log.warning(
            "change %s (%s %s) cannot be applied, parked for review: %s",
            change.seq,
            change.type,
            change.key,
            reason,
        )
        self.s.merge(
            ParkedChange(
                seq=change.seq,
                type=change.type[:50],
                key=change.key[:200],
                payload=change.payload,
                reason=reason,
                parked_at=utcnow(),
            )
        )
        self.s.flush()
        self.parked += 1

    def _load(self, changes: list[protocol.Change]) -> None:
        """Read the products, barcodes, departments and tax classes a page names, in a few queries."""
        self.products = {}
        self.barcodes = {}
        skus = {c.key for c in changes if c.type in (protocol.CHANGE_PRODUCT, protocol.CHANGE_PRICE)}
        skus |= {str(c.payload.get("sku")) for c in changes if c.type == protocol.CHANGE_STOCK}
        for chunk in _chunks(sorted(skus), 500):
            for p in self.s.scalars(
                select(Product).where(Product.sku.in_(chunk)).options(selectinload(Product.barcodes))
            ):
                self.products[p.sku] = p
        codes: set[str] = set()
        for c in changes:
            if c.type == protocol.CHANGE_PRODUCT:
                for item in c.payload.get("barcodes") or []:
                    code = str(item.get("code", ""))
                    codes.add(barcodes.product_key(barcodes.parse(code)) or code)
        for chunk in _chunks(sorted(codes), 500):
            for b in self.s.scalars(select(Barcode).where(Barcode.code.in_(chunk))):
                self.barcodes[b.code] = b
        self.departments = set(self.s.scalars(select(Department.code)))
        self.tax_classes = set(self.s.scalars(select(TaxClass.code)))

    def ignore(self, change: protocol.Change) -> None:
        return None

    def _terminal_code(self) -> str:
        if self.terminal_code is None:  # read once per page, and only when a parked sale is in it
            self.terminal_code = self.s.scalar(select(Terminal.code).limit(1)) or ""
        return self.terminal_code

    def parked_sale(self, change: protocol.Change) -> None:
        """Another till's parked sale becomes recallable here; one recalled elsewhere leaves this till's list."""
        p = change.payload
        number = str(p["number"])
        me = self._terminal_code()
        local = self.s.scalar(select(Order).where(Order.parked_number == number))
        if p.get("status") == "recalled":
            if local is not None and local.status == "parked" and p.get("recalled_by") != me:
                local.status = "recalled_elsewhere"
            return
        if p.get("status") != "parked" or p.get("terminal") == me or local is not None:
            return  # our own, or already here
        order_id, receipt = p.get("order_id"), p.get("receipt_number")
        if not order_id or not receipt:
            return  # parked by a terminal that did not send the sale itself: it cannot be rebuilt here
        order = self.s.get(Order, str(order_id))
        if order is not None and order.status not in ("parked", "recalled_elsewhere"):
            return  # being rung up or finished at this till: this till's copy is the one that counts
        if order is None:
            order = Order(id=str(order_id), number=str(receipt), channel="counter", lines=[])
            self.s.add(order)
        customer_id = p.get("customer_id")
        if customer_id and self.s.get(Customer, customer_id) is None:
            customer_id = None  # a customer made at the other till and not known here yet: keep the name
        order.status = "parked"
        order.parked_number = number
        order.terminal_code = str(p.get("terminal") or "")
        order.owner_id = None
        order.customer_id = customer_id
        order.customer_name = p.get("customer_name")
        order.order_discount = p.get("order_discount")
        order.total = Decimal(str(p.get("total") or "0"))
        order.lines = self._lines(p.get("lines") or [])

    def document(self, change: protocol.Change) -> None:
        """A sale or return completed at another till of the store, kept here as it was completed there: the
        returns desk of any till finds it by its receipt number, and sees what was already taken back.

        It is a record, not work for this till: no stock movement (the store's stock comes as stock changes), no
        outbox event, no print job. Records older than `sync.keep_documents_days` are read past."""
        p = change.payload
        if p.get("terminal") == self._terminal_code() or self.s.get(Order, str(change.key)) is not None:
            return  # our own, or already here
        when = datetime.fromisoformat(str(p.get("completed_at") or p.get("occurred_at")))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when < self._keep_since():
            return
        is_return = change.type == protocol.CHANGE_RETURN
        totals = p.get("totals") or {}
        customer_id = p.get("customer_id")
        if customer_id and self.s.get(Customer, customer_id) is None:
            customer_id = None  # not known here (yet): the name is kept
        order = Order(
            id=str(change.key),
            number=str(p["number"]),
            channel="return" if is_return else "counter",
            status="completed",
            terminal_code=str(p.get("terminal") or ""),
            customer_id=customer_id,
            customer_name=p.get("customer_name"),
            original_order_id=str(p["original_order_id"]) if p.get("original_order_id") else None,
            subtotal=_money(totals.get("subtotal")),
            discount_total=_money(totals.get("discount_total")),
            tax_total=_money(totals.get("tax_total")),
            total=_money(totals.get("total")),
            rounding=_money(totals.get("rounding")),
            change_given=_money(totals.get("change")),
            created_at=when,
            completed_at=when,
            lines=self._lines(p.get("lines") or []),
            payments=[
                Payment(
                    id=new_id(),
                    kind=str(pay["kind"]),
                    amount=Decimal(str(pay["amount"])),
                    tendered=Decimal(str(pay["amount"])),
                    created_at=when,
                )
                for pay in p.get("payments") or []
            ],
        )
        self.s.add(order)
        if is_return:  # what the other till's desk decided per line: this till's returns figures count it too
            self.s.flush()
            for line, sent in zip(order.lines, p.get("lines") or [], strict=False):
                if sent.get("reason") and sent.get("condition") and sent.get("disposition"):
                    self.s.add(
                        ReturnLine(
                            order_line_id=line.id,
                            reason=str(sent["reason"]),
                            condition=str(sent["condition"]),
                            disposition=str(sent["disposition"]),
                        )
                    )

    def balance(self, change: protocol.Change) -> None:
        """A store credit or gift card balance as the central store keeps it: this till's view becomes that plus its
        own changes not yet sent (app.services.balances)."""
        p = change.payload
        balances.note_central(self.s, str(p["kind"]), str(p["account"]), Decimal(str(p["balance"])))

    def customer(self, change: protocol.Change) -> None:
        """A customer made at another till of the store (or this one's own, coming back: the same values)."""
        p = change.payload
        row = self.s.get(Customer, str(change.key))
        if row is None:
            row = Customer(id=str(change.key), name=str(p["name"]), store_credit=Decimal(0))
            self.s.add(row)
        row.name = str(p["name"])
        row.phone = p.get("phone") or None
        row.email = p.get("email") or None
        card = p.get("loyalty_card") or None
        if card and card != row.loyalty_card:
            holder = self.s.scalar(select(Customer.id).where(Customer.loyalty_card == card))
            if holder is None:  # a card given to two customers offline stays with the first one seen here
                row.loyalty_card = card
        self.s.flush()  # a sale of this customer may follow in the same page

    def staff(self, change: protocol.Change) -> None:
        """A staff user saved at a till of the store: they sign in here too, with the same PIN and badge.

        Lockout counters stay this till's own. A change of the user made here and not yet sent wins until it has
        gone through the central store and comes back. Two tills that gave the same sign-in name to two people
        while offline end up alike: the older user (the smaller time-ordered id) keeps the name, the other gets
        the name with the end of their id ("admin-3f9c"), at every till."""
        p = protocol.StaffSaved.model_validate(change.payload)
        user_id = str(p.id)
        if user_id in self._unsent_staff():
            return
        if p.role not in _ROLES:
            log.warning("staff user %s has role %r, unknown to this version: not added here", user_id, p.role)
            return
        username = p.username
        holder = self.s.scalar(
            select(StaffUser).where(StaffUser.username == username, StaffUser.id != user_id)
        )
        if holder is not None:
            if holder.id < user_id:
                username = _renamed(username, user_id)
            else:
                holder.username = _renamed(username, holder.id)
                self.s.flush()
        badge = p.badge_code
        if badge and self.s.scalar(
            select(StaffUser.id).where(StaffUser.badge_code == badge, StaffUser.id != user_id)
        ):
            # One badge given to two people offline: it stays with the first; the PIN still works.
            badge = None
        row = self.s.get(StaffUser, user_id)
        if row is None:
            row = StaffUser(id=user_id, failed_attempts=0)
            self.s.add(row)
        row.username = username
        row.display_name = p.display_name
        row.role = p.role
        row.pin_hash = p.pin_hash
        row.badge_code = badge
        row.active = p.active
        self.s.flush()

    def _unsent_staff(self) -> set[str]:
        if self.unsent_staff is None:
            self.unsent_staff = {
                str(payload.get("id"))
                for payload in self.s.scalars(
                    select(OutboxEvent.payload).where(
                        OutboxEvent.type == protocol.STAFF_SAVED, OutboxEvent.status == "pending"
                    )
                )
            }
        return self.unsent_staff

    def _lines(self, lines: list[dict[str, Any]]) -> list[OrderLine]:
        """Order lines as another till sent them (a parked or completed sale, a return)."""
        skus = {str(line["sku"]) for line in lines}
        ids = (
            dict(self.s.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
            if skus
            else {}
        )
        return [
            OrderLine(
                id=new_id(),
                line_no=int(line.get("line_no") or n),
                product_id=ids.get(str(line["sku"])),
                sku=str(line["sku"]),
                name=str(line.get("name") or line["sku"]),
                qty=Decimal(str(line["qty"])),
                unit=str(line.get("unit") or "ea"),
                unit_price=Decimal(str(line["unit_price"])),
                fixed_amount=None if line.get("fixed_amount") is None else Decimal(str(line["fixed_amount"])),
                price_override=line.get("price_override"),
                discount=line.get("discount"),
                tax_class=str(line.get("tax_class") or ""),
                tax_rate=Decimal(str(line.get("tax_rate") or "0")),
                amount=Decimal(str(line.get("amount") or "0")),
                tax=Decimal(str(line.get("tax") or "0")),
            )
            for n, line in enumerate(lines, start=1)
        ]

    def count(self, change: protocol.Change) -> None:
        """A cycle count the central store set up for this store: added to its open counts (once)."""
        p = protocol.CountSetup.model_validate(change.payload)
        counts.from_central(self.s, str(p.id), p.location, list(p.departments), list(p.skus), p.title)

    def _keep_since(self) -> datetime:
        if self.keep_since is None:
            days = settings.get(self.s, "sync.keep_documents_days")
            self.keep_since = utcnow() - timedelta(days=float(days or 0))
        return self.keep_since

    def delivery(self, change: protocol.Change) -> None:
        """A delivery the store expects, kept here to receive against; once the central store has it received
        (by another till of the store), it leaves this till's list. Receiving done here is never undone."""
        p = change.payload
        row = self.s.get(Delivery, str(change.key))
        if row is not None:
            if p.get("status") == "received" and row.status == "expected":
                row.status = "received_elsewhere"
            return
        if p.get("status") != "expected":
            return  # received before this till knew of it
        skus = {str(line["sku"]) for line in p.get("lines") or []}
        known = dict(self.s.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
        names = dict(self.s.execute(select(Product.sku, Product.name).where(Product.sku.in_(skus))).all())
        row = Delivery(
            id=str(change.key),
            number=str(p["number"]),
            kind=str(p.get("kind") or "purchase"),
            source=str(p.get("source") or ""),
            status="expected",
            created_at=utcnow(),
        )
        for n, line in enumerate(p.get("lines") or [], start=1):
            sku = str(line["sku"])
            row.lines.append(
                DeliveryLine(
                    id=new_id(),
                    line_no=int(line.get("line_no") or n),
                    sku=sku,
                    product_id=known.get(sku),
                    name=names.get(sku, sku),
                    qty=Decimal(str(line["qty"])),
                    sscc=line.get("sscc") or None,
                    received=Decimal(0),
                )
            )
        self.s.add(row)

    def store(self, change: protocol.Change) -> None:
        """The store's tax mode, tax rounding and cash rounding step, as set at the central store."""
        store = self.s.scalar(select(Store).where(Store.code == change.key))
        if store is not None:
            _store_tax(store, change.payload)

    def tax_class(self, change: protocol.Change) -> None:
        p = change.payload
        rate = money.check_rate(Decimal(str(p["rate"])))  # exact, or the page waits: never a rounded rate
        row = self.s.get(TaxClass, p["code"])
        if row is None:
            row = TaxClass(code=p["code"], name=p.get("name") or p["code"], rate=rate)
            self.s.add(row)
        else:
            row.name = p.get("name") or row.name
            row.rate = rate
        self.s.flush()  # products that name it may follow in this page
        self.tax_classes.add(row.code)

    def product(self, change: protocol.Change) -> None:
        p = change.payload
        sku = str(p["sku"])
        tax = p.get("tax_class")
        if tax not in self.tax_classes:
            if tax is None or self.s.get(TaxClass, tax) is None:
                raise ValueError(f"tax class {tax!r} is not known here")
            self.tax_classes.add(tax)
        dept = p.get("department") or None
        if dept and dept not in self.departments:
            self.s.add(Department(code=dept, name=dept.replace("_", " ").capitalize()))
            self.s.flush()
            self.departments.add(dept)
        product = self.products.get(sku)
        if product is None:
            product = Product(id=new_id(), sku=sku, barcodes=[])
            self.s.add(product)
            self.products[sku] = product
        price = p.get("price")
        product.name = str(p["name"])
        product.name_lower = product.name.lower()
        product.tax_class = tax
        product.department = dept
        product.weighed = bool(p.get("weighed"))
        product.unit = "kg" if product.weighed else "ea"
        # The scale's item code: its price-embedded labels find the product (catalog.find_scan).
        scale_code = p.get("scale_code") or None
        product.item_ref = str(scale_code) if scale_code else None
        product.priced_by_barcode = product.item_ref is not None
        product.price = Decimal(price) if price is not None else Decimal(0)
        # A product without a price cannot be sold, whatever the central store's active flag says.
        product.active = bool(p.get("active", True)) and price is not None
        product.updated_at = utcnow()
        self._barcodes(product, p.get("barcodes") or [])

    def _barcodes(self, product: Product, wanted_raw: list[dict[str, Any]]) -> None:
        wanted: dict[str, int] = {}
        for item in wanted_raw:
            code = str(item["code"])
            key = barcodes.product_key(barcodes.parse(code)) or code
            wanted[key] = int(item.get("pack_qty") or 1)
        for b in list(product.barcodes):
            if b.code not in wanted:
                product.barcodes.remove(b)
                self.barcodes.pop(b.code, None)
        for code, pack in wanted.items():
            row = self.barcodes.get(code)
            if row is None:
                row = Barcode(code=code, pack_qty=pack)
                self.barcodes[code] = row
                product.barcodes.append(row)
            else:
                row.pack_qty = pack
                if row.product is not product:  # the central store moved this code to this product
                    row.product = product

    def price(self, change: protocol.Change) -> None:
        product = self.products.get(change.key)
        if product is None:
            return  # its product change follows in the feed and carries the price
        product.price = Decimal(change.payload["price"])
        product.updated_at = utcnow()

    def stock(self, change: protocol.Change) -> None:
        p = change.payload
        row = self.s.get(CentralStock, (p["sku"], p["location"]))
        if row is None:
            row = CentralStock(sku=p["sku"], location=p["location"])
            self.s.add(row)
        row.on_hand = Decimal(p["on_hand"])
        row.reserved = Decimal(p.get("reserved") or 0)
        row.available = Decimal(p.get("available") or row.on_hand - row.reserved)
        row.seq = change.seq
        row.updated_at = utcnow()

    def order(self, change: protocol.Change) -> None:
        p = change.payload
        central_status = "cancelled" if change.type == protocol.CHANGE_ORDER_CANCELLED else str(p["status"])
        order = self.s.get(Order, str(p["id"]))
        if order is None:
            order = self._new_order(p, central_status)
        elif order.status not in protocol.ORDER_FINAL_STATES:
            # Work done here and not yet acknowledged is not undone by an older central view of the order,
            # but a cancellation or a later state from the central store always lands.
            if central_status in protocol.ORDER_FINAL_STATES or protocol.may_move_order(
                order.status, central_status, order.fulfilment
            ):
                order.status = central_status
        order.external = p
        # A pickup being prepared takes the central's lines for this store (a short pick routed again).
        pickup_lines.follow_central(self.s, order, p)

    def _new_order(self, p: dict[str, Any], status: str) -> Order:
        customer = p.get("customer") or {}
        order = Order(
            id=str(p["id"]),
            number=str(p["number"]),
            channel="web",
            fulfilment=str(p.get("fulfilment") or "pickup"),
            status=status,
            customer_name=customer.get("name") if isinstance(customer, dict) else None,
        )
        total = Decimal(0)
        skus = [str(line["sku"]) for line in p.get("lines") or []]
        known = (
            {pr.sku: pr for pr in self.s.scalars(select(Product).where(Product.sku.in_(skus)))}
            if skus
            else {}
        )
        for n, line in enumerate(p.get("lines") or [], start=1):
            sku = str(line["sku"])
            product = known.get(sku)
            qty = Decimal(line["qty"])
            unit_price = Decimal(line.get("unit_price") or 0)
            tax_rate = Decimal(0)
            if product is not None:
                tax = self.s.get(TaxClass, product.tax_class)
                tax_rate = tax.rate if tax is not None else Decimal(0)
            order.lines.append(
                OrderLine(
                    id=new_id(),
                    line_no=n,
                    product_id=product.id if product else None,
                    sku=sku,
                    name=product.name if product else sku,
                    qty=qty,
                    unit=product.unit if product else "ea",
                    unit_price=unit_price,
                    tax_class=product.tax_class if product else "",
                    tax_rate=tax_rate,
                    amount=(unit_price * qty).quantize(Decimal("0.01")),
                )
            )
            total += unit_price * qty
        order.subtotal = order.total = total.quantize(Decimal("0.01"))
        self.s.add(order)
        return order


_ROLES = frozenset(r.value for r in Role)


def _renamed(username: str, user_id: str) -> str:
    return f"{username[:45]}-{user_id.replace('-', '')[-4:]}"


def _store_tax(store: Store, info: dict[str, Any]) -> None:
    """Apply the tax settings of a store payload (enrolment or a `store` change); a value this version does not
    know is refused, so the page waits instead of selling under a rule nobody chose."""
    mode, rounding, step = info.get("tax_mode"), info.get("tax_rounding"), info.get("cash_rounding")
    if mode is not None:
        if mode not in pricing.TAX_MODES:
            raise ValueError(f"tax mode {mode!r} is not known here")
        store.tax_mode = str(mode)
    if rounding is not None:
        if rounding not in pricing.ROUNDINGS:
            raise ValueError(f"tax rounding {rounding!r} is not known here")
        store.tax_rounding = str(rounding)
    if step is not None:
        value = Decimal(str(step))
        if not value.is_finite() or value < 0 or value != money.quantize_money(value):
            raise ValueError(f"cash rounding step {step!r} is not an amount in cents")
        store.cash_rounding = value


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
