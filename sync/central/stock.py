"""Stock at the central store: on-hand imports (counts), goods receipts, transfers between stores, safety stock and
what is available to promise to web orders.

Every change is a movement in the ledger (`ledger.record_movement`), so it reaches the store's feed and its tills'
Lookup like a till's own movements; each names the `StockDocument` that caused it. The stores whose stock changes
are locked first, in the order of their ids, so an import or a transfer never deadlocks with another.

Available to promise at a location = on hand - reserved - safety stock, from the level rows the ledger keeps. The
safety stock of a product at a store is the most specific setting: that product in that store, else that product
in every store, else every product in that store, else 0.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Protocol

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from uuid6 import uuid7

from sync import protocol
from sync.central import ledger
from sync.central.models import (
    Location,
    Product,
    SafetyStock,
    StockDocument,
    StockLevel,
    Store,
    utcnow,
)
from sync.central.service.base import CentralError

IMPORT_COLUMNS = ("sku", "location", "quantity")
RECEIPT_SOURCES = ("purchase", "transfer")
MAX_QTY = Decimal("1000000")


class StockError(CentralError):
    """Bad input to a stock operation, said in a sentence for the operator (nothing was changed)."""


@dataclass(frozen=True)
class StockLine:
    sku: str
    qty: Decimal


def parse_qty(text: str, what: str, *, allow_zero: bool = False) -> Decimal:
    """A quantity typed by a person: a plain number with at most 3 decimals, above 0 (or 0 where allowed)."""
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise StockError(f"{what}: {text!r} is not a number") from None
    if not value.is_finite() or "e" in text.lower():
        raise StockError(f"{what}: {text!r} is not a plain number")
    if value < 0 or (value == 0 and not allow_zero):
        raise StockError(f"{what}: {text!r} must be {'0 or more' if allow_zero else 'more than 0'}")
    if value != value.quantize(Decimal("0.001")):
        raise StockError(f"{what}: {text!r} has more than 3 decimal places")
    if value > MAX_QTY:
        raise StockError(f"{what}: {text!r} is more than {MAX_QTY}")
    return value


def _store(session: Session, code: str) -> Store:
    store = session.scalar(select(Store).where(Store.code == code.strip().upper()))
    if store is None:
        raise StockError(f"no store {code!r}")
    return store


def _location(session: Session, store: Store, code: str) -> Location:
    loc = session.scalar(select(Location).where(Location.store_id == store.id, Location.code == code.strip()))
    if loc is None:
        names = ", ".join(location.code for location in store.locations)
        raise StockError(f"store {store.code} has no location {code!r} (it has {names})")
    return loc


def _products(session: Session, skus: Iterable[str]) -> dict[str, Product]:
    wanted = sorted(set(skus))
    found = {
        p.sku: p
        for chunk in ledger.chunks(session, wanted)
        for p in session.scalars(select(Product).where(ledger.among(session, Product.sku, chunk)))
    }
    missing = [sku for sku in wanted if sku not in found]
    if missing:
        raise StockError(f"unknown sku {', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}")
    return found


def _lock_stores(session: Session, stores: Sequence[Store], products: Iterable[Product] = ()) -> None:
    """Store locks in id order: two operations over the same stores wait for each other, never deadlock. The
    stores' levels of `products` are then read ahead, in a few queries (`ledger.prefetch_levels`)."""
    ledger.lock_stores(session, (s.id for s in stores))
    ids = [p.id for p in products]
    if ids:
        for store in stores:
            ledger.prefetch_levels(session, store.id, ids)


def leaving(session: Session, store: Store, location: Location, product: Product, qty: Decimal) -> None:
    """Refuse `qty` of the product leaving the location unless it is on hand and not reserved for web orders."""
    level = ledger.get_level(session, location, product)
    if level.available < qty:
        raise StockError(
            f"only {ledger.qty_text(level.available)} of {product.sku} can leave {store.code} {location.code} "
            f"({ledger.qty_text(level.on_hand)} on hand, {ledger.qty_text(level.reserved)} reserved)"
        )


def _document(
    session: Session,
    kind: str,
    store: Store,
    reference: str,
    reason: str,
    lines: int,
    to: Store | None = None,
) -> StockDocument:
    if len(reference) > 100 or len(reason) > 200:
        raise StockError("the reference is limited to 100 characters and the reason to 200")
    doc = StockDocument(
        id=uuid7(),
        kind=kind,
        store_id=store.id,
        to_store_id=to.id if to else None,
        reference=reference,
        reason=reason,
        lines=lines,
        created_at=utcnow(),
    )
    session.add(doc)
    return doc


def import_on_hand(
    session: Session, store_code: str, text: str, reason: str, reference: str = ""
) -> StockDocument:
    """Set on-hand per location from a CSV `sku,location,quantity` (a stock count): each row is a `count`
    movement of the difference between the counted figure and the on-hand the ledger has."""
    reason = reason.strip()
    if not reason:
        raise StockError("give the reason of the count (e.g. 'opening stock', 'annual count')")
    store = _store(session, store_code)
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if columns[:3] != list(IMPORT_COLUMNS):
        raise StockError(
            f"the first line must be the columns {','.join(IMPORT_COLUMNS)} (it is {','.join(columns)})"
        )
    rows: list[tuple[int, str, str, Decimal]] = []
    seen: dict[tuple[str, str], int] = {}
    for number, row in enumerate(reader, start=2):
        sku = (row.get("sku") or "").strip()
        loc = (row.get("location") or "").strip()
        if not sku or not loc:
            raise StockError(f"line {number}: sku and location are required")
        qty = parse_qty(row.get("quantity") or "", f"line {number} ({sku})", allow_zero=True)
        if (sku, loc) in seen:
            raise StockError(f"line {number}: {sku} at {loc} is already on line {seen[(sku, loc)]}")
        seen[(sku, loc)] = number
        rows.append((number, sku, loc, qty))
    if not rows:
        raise StockError("the file has no rows")
    products = _products(session, (sku for _, sku, _, _ in rows))
    locations = {code: _location(session, store, code) for code in sorted({loc for _, _, loc, _ in rows})}
    _lock_stores(session, [store], products.values())
    doc = _document(session, "import", store, reference, reason, len(rows))
    with ledger.set_wise(session):
        for _, sku, loc, counted in rows:
            location, product = locations[loc], products[sku]
            level = ledger.get_level(session, location, product)
            ledger.record_movement(
                session,
                movement_id=uuid7(),
                location=location,
                product=product,
                qty=counted - level.on_hand,
                kind="count",
                cause_type="stock_import",
                cause_id=str(doc.id),
            )
    return doc


def receive(
    session: Session,
    store_code: str,
    lines: Sequence[StockLine],
    *,
    location: str = "floor",
    source: str = "purchase",
    reference: str = "",
) -> StockDocument:
    """A goods receipt at a store's location: a `receipt` movement per line (bought in, or a transfer in from
    outside the chain's stores)."""
    if source not in RECEIPT_SOURCES:
        raise StockError(f"the source of a receipt is one of {', '.join(RECEIPT_SOURCES)}")
    if not lines:
        raise StockError("a receipt needs at least one line")
    store = _store(session, store_code)
    to = _location(session, store, location)
    products = _products(session, (ln.sku for ln in lines))
    _lock_stores(session, [store], products.values())
    doc = _document(session, "receipt", store, reference, source, len(lines))
    with ledger.set_wise(session):
        for ln in lines:
            ledger.record_movement(
                session,
                movement_id=uuid7(),
                location=to,
                product=products[ln.sku],
                qty=ln.qty,
                kind="receipt",
                cause_type="receipt",
                cause_id=str(doc.id),
            )
    return doc


def transfer(
    session: Session,
    from_store: str,
    to_store: str,
    lines: Sequence[StockLine],
    *,
    from_location: str = "floor",
    to_location: str = "floor",
    reference: str = "",
) -> StockDocument:
    """Move stock from one store to another: a `transfer` movement out of the one and into the other. Only what
    is on hand and not reserved for web orders can leave."""
    if not lines:
        raise StockError("a transfer needs at least one line")
    source, target = _store(session, from_store), _store(session, to_store)
    if source.id == target.id:
        raise StockError("a transfer goes from one store to another")
    out_of, into = _location(session, source, from_location), _location(session, target, to_location)
    products = _products(session, (ln.sku for ln in lines))
    _lock_stores(session, [source, target], products.values())
    doc = _document(session, "transfer", source, reference, "", len(lines), to=target)
    with ledger.set_wise(session):
        for ln in lines:
            product = products[ln.sku]
            leaving(session, source, out_of, product, ln.qty)
            for loc, qty in ((out_of, -ln.qty), (into, ln.qty)):
                ledger.record_movement(
                    session,
                    movement_id=uuid7(),
                    location=loc,
                    product=product,
                    qty=qty,
                    kind="transfer",
                    cause_type="transfer",
                    cause_id=str(doc.id),
                )
    return doc


# ---------------------------------------------------------------- safety stock and availability


def set_safety_stock(session: Session, store_code: str | None, sku: str | None, qty: Decimal) -> SafetyStock:
    """Keep `qty` back from web orders at each sellable location: of every product in a store (no sku), of a
    product in every store (no store) or of a product in one store."""
    if store_code is None and sku is None:
        raise StockError("give a store, a sku or both")
    store_id = _store(session, store_code).id if store_code else None
    product_id = _products(session, [sku])[sku].id if sku else None
    row = session.scalar(
        select(SafetyStock).where(
            SafetyStock.store_id.is_(None) if store_id is None else SafetyStock.store_id == store_id,
            SafetyStock.product_id.is_(None) if product_id is None else SafetyStock.product_id == product_id,
        )
    )
    if row is None:
        row = SafetyStock(store_id=store_id, product_id=product_id, qty=qty)
        session.add(row)
    row.qty = qty
    row.updated_at = utcnow()
    session.flush()
    _send_minimum(session, row)
    return row


def minimum_payload(sku: str, qty: Decimal) -> dict[str, str]:
    return {"sku": sku, "qty": ledger.qty_text(qty)}


def _send_minimum(session: Session, row: SafetyStock) -> None:
    """Tell the tills of the stores a setting applies to their minimum stock (the stock report's minimum): a
    store's own for every product ("*"), or a product's in one store, or in every store without one of its own
    for it (the most specific setting applies, as for the web orders)."""
    if row.product_id is None:
        assert row.store_id is not None
        ledger.emit(session, row.store_id, protocol.CHANGE_MINIMUM, "*", minimum_payload("*", row.qty))
        return
    product = session.get(Product, row.product_id)
    assert product is not None
    if row.store_id is not None:
        stores = [row.store_id]
    else:
        own = select(SafetyStock.store_id).where(
            SafetyStock.product_id == row.product_id, SafetyStock.store_id.is_not(None)
        )
        stores = list(session.scalars(select(Store.id).where(Store.id.not_in(own)).order_by(Store.id)))
    for store_id in stores:
        ledger.emit(
            session, store_id, protocol.CHANGE_MINIMUM, product.sku, minimum_payload(product.sku, row.qty)
        )


def safety_stock(
    session: Session, store_ids: Iterable[int], product_ids: Iterable[int]
) -> dict[tuple[int, int], Decimal]:
    """The safety stock of each (store, product) pair asked for (0 where nothing is set)."""
    stores, products = sorted(set(store_ids)), sorted(set(product_ids))
    rows = session.scalars(
        select(SafetyStock).where(
            or_(SafetyStock.store_id.is_(None), SafetyStock.store_id.in_(stores)),
            or_(SafetyStock.product_id.is_(None), SafetyStock.product_id.in_(products)),
        )
    ).all()
    exact = {(r.store_id, r.product_id): r.qty for r in rows}
    out: dict[tuple[int, int], Decimal] = {}
    for s in stores:
        for p in products:
            for key in ((s, p), (None, p), (s, None)):
                if key in exact:
                    out[(s, p)] = exact[key]
                    break
            else:
                out[(s, p)] = Decimal(0)
    return out


class Quantities(Protocol):
    """A stock level's quantities: the row itself, or as routing read them (`routing_rule.Level`)."""

    @property
    def on_hand(self) -> Decimal: ...

    @property
    def reserved(self) -> Decimal: ...


def available_to_promise(level: Quantities, safety: Decimal) -> Decimal:
    """What a web order may still take from this level: on hand - reserved - safety stock, never below 0."""
    return max(level.on_hand - level.reserved - safety, Decimal(0))


def availability(session: Session, sku: str) -> list[dict[str, str]]:
    """Per store and sellable location holding the product: on hand, reserved, safety stock and available to
    promise, from the ledger's levels (for the operator's `availability` command)."""
    product = _products(session, [sku])[sku]
    rows = session.execute(
        select(StockLevel, Location, Store)
        .join(Location, Location.id == StockLevel.location_id)
        .join(Store, Store.id == StockLevel.store_id)
        .where(StockLevel.product_id == product.id)
        .order_by(Store.code, Location.id)
    ).all()
    safety = safety_stock(session, (store.id for _, _, store in rows), [product.id])
    out = []
    for level, loc, store in rows:
        keep = safety[(store.id, product.id)]
        out.append(
            {
                "store": store.code,
                "location": loc.code,
                "on_hand": ledger.qty_text(level.on_hand),
                "reserved": ledger.qty_text(level.reserved),
                "safety": ledger.qty_text(keep),
                "available": ledger.qty_text(
                    available_to_promise(level, keep) if loc.sellable else Decimal(0)
                ),
            }
        )
    return out
