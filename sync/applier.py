"""Applying the change feed's changes, one handler per kind (catalog, prices, tax classes, store stock, web orders
and their cancellations, parked sales, customers, staff, and the documents of the store's other tills), with the
set-wise reads that keep a first pull of 100,000 rows quick. `sync.replica.apply_page` drives it in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
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
    Product,
    StaffUser,
    StockMinimum,
    Store,
    TaxClass,
)
from app.db.types import utcnow
from app.domain import barcodes, money, pricing
from app.domain.permissions import Role
from app.ids import new_id
from app.services import balances, counts, pickup_lines
from sync import protocol
from sync.applier_documents import DocumentChanges

log = logging.getLogger(__name__)


class ApplyError(Exception):
    """A change this terminal cannot take; the page is not applied as a whole (see `apply_page`'s `park`)."""


# What applying a change can raise when the change is at fault (a value this till cannot take).
_CANNOT_APPLY = (KeyError, ValueError, ArithmeticError, TypeError, AttributeError, SQLAlchemyError)


class _Applier(DocumentChanges):
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
            protocol.CHANGE_MINIMUM: self.minimum,
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

    def minimum(self, change: protocol.Change) -> None:
        """The store's minimum stock of a product ("*": of every product without one of its own)."""
        qty = Decimal(str(change.payload.get("qty") or "0"))
        row = self.s.get(StockMinimum, change.key)
        if row is None:
            self.s.add(StockMinimum(sku=change.key, qty=qty))
        else:
            row.qty = qty

    def count(self, change: protocol.Change) -> None:
        """A cycle count the central store set up for this store: added to its open counts (once)."""
        p = protocol.CountSetup.model_validate(change.payload)
        counts.from_central(self.s, str(p.id), p.location, list(p.departments), list(p.skus), p.title)

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
            self.s.add(Department(code=dept, name=protocol.department_name(dept)))
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


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
