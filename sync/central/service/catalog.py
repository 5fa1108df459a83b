"""The catalog: tax classes, products and their current prices, the catalog import from CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from sync import protocol
from sync.central import ledger
from sync.central.models import (
    Barcode,
    Price,
    Product,
    Store,
    TaxClass,
    table_of,
    utcnow,
)
from sync.central.service.base import CentralError

# ---------------------------------------------------------------- catalog


def tax_class_payload(tax: TaxClass) -> dict[str, Any]:
    return {"code": tax.code, "name": tax.name, "rate": str(tax.rate)}


def current_price(session: Session, product: Product, at: datetime | None = None) -> Price | None:
    return session.scalar(
        select(Price)
        .where(Price.product_id == product.id, Price.effective_from <= (at or utcnow()))
        .order_by(Price.effective_from.desc(), Price.id.desc())
        .limit(1)
    )


# What a product's `product` change carries besides its price and barcodes, in this order (`_payload`).
_PAYLOAD_COLUMNS = (
    Product.sku,
    Product.name,
    Product.tax_class,
    Product.department,
    Product.weighed,
    Product.scale_code,
    Product.active,
)


def _payload(
    columns: Sequence[Any], price: Decimal | None, barcodes: Iterable[tuple[str, int]]
) -> dict[str, Any]:
    """A product's `product` change: `columns` are the values of _PAYLOAD_COLUMNS, `barcodes` (code, pack quantity)
    in code order."""
    payload = {c.key: value for c, value in zip(_PAYLOAD_COLUMNS, columns, strict=True)}
    payload["price"] = ledger.money_text(price) if price is not None else None
    payload["barcodes"] = [{"code": code, "pack_qty": pack} for code, pack in barcodes]
    return payload


def product_payload(session: Session, product: Product) -> dict[str, Any]:
    price = current_price(session, product)
    return _payload(
        [getattr(product, c.key) for c in _PAYLOAD_COLUMNS],
        price.price if price else None,
        [(b.code, b.pack_qty) for b in product.barcodes],
    )


def catalog_payloads(session: Session) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every product's sku and `product_payload`, in id order, read in two queries (the products with their prices
    in effect now, and every barcode), not two per product: a new store's feed starts with all of them."""
    barcodes: dict[int, list[tuple[str, int]]] = {}
    for code, pid, pack in session.execute(
        select(Barcode.code, Barcode.product_id, Barcode.pack_qty).order_by(Barcode.code)
    ):
        barcodes.setdefault(pid, []).append((code, pack))
    rows = session.execute(
        _CURRENT_PRICES.add_columns(*_PAYLOAD_COLUMNS).order_by(Product.id), {"now": utcnow()}
    )
    for pid, price, *columns in rows:
        yield columns[0], _payload(columns, price, barcodes.get(pid, []))


RATE_PLACES = 6  # decimals a tax rate is kept to, exactly (models.Rate); more are refused, never rounded


def set_tax_class(session: Session, code: str, rate: str, name: str = "") -> TaxClass:
    code = code.strip()
    if not code:
        raise CentralError("tax class code is empty")
    value = _decimal(rate, "rate")
    if not Decimal(0) <= value < Decimal(1):
        raise CentralError(f"rate {rate!r} must be a fraction from 0 to below 1 (0.20 is 20 %)")
    if value != value.quantize(Decimal(1).scaleb(-RATE_PLACES)):
        raise CentralError(
            f"rate {rate.strip()} has more than {RATE_PLACES} decimals: rates are kept exactly to {RATE_PLACES} "
            f"(for example 0.08875 for 8.875 %); nothing was changed"
        )
    tax = session.get(TaxClass, code)
    if tax is None:
        tax = TaxClass(code=code, name=name or code, rate=value)
        session.add(tax)
    else:
        tax.rate = value
        tax.name = name or tax.name
    session.flush()
    ledger.emit_to_all_stores(session, protocol.CHANGE_TAX_CLASS, code, tax_class_payload(tax))
    return tax


_BOOL = {
    "": False,
    "0": False,
    "no": False,
    "false": False,
    "n": False,
    "1": True,
    "yes": True,
    "true": True,
    "y": True,
}
CATALOG_COLUMNS = ("sku", "name", "price", "tax_class", "department", "barcodes", "weighed")
# Optional columns: a file without them leaves those fields of its products as they were.
CATALOG_OPTIONAL_COLUMNS = ("scale_code",)
_SCALE_CODE_RE = re.compile(r"^[0-9]{1,10}$")


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError) as exc:
        raise CentralError(f"{what} {text!r} is not a number") from exc
    if not value.is_finite():
        raise CentralError(f"{what} {text!r} is not a number")
    return value


def import_catalog(session: Session, text: str) -> int:
    """Create or update products from CSV text with the CATALOG_COLUMNS header; all rows or none.

    Barcodes are space separated, each `CODE` or `CODE:PACK_QTY`. The optional `scale_code` column gives a weighed
    item the item code its scale prints on price-embedded labels (digits, e.g. 00003); empty clears it.
    A changed price takes effect now and is
    published as a `price` change; every product touched goes to every store's feed as a `product` change.

    Written set-wise: the file is read and checked whole, what it touches is read in a few queries, and each table
    is written with a statement per kind of change (the feed as one COPY on PostgreSQL). A barcode or scale code
    may move between two products of the same file, in either order. The first error by line is reported.
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CentralError(f"catalog header lacks column(s): {', '.join(missing)}")
    now = utcnow()
    taxes = set(session.scalars(select(TaxClass.code)))
    seen: dict[str, str] = {}  # "sku:X", "barcode:Y" and "scale:Z" already met in this file
    rows: list[_Row] = []
    failed: tuple[int, str] | None = None
    for row in reader:
        try:
            rows.append(_parse_row(row, reader.line_num, taxes, seen))
        except CentralError as exc:
            failed = (reader.line_num, str(exc))
            break
    # What the database holds against the rows read so far (a later line's fault cannot come before them).
    clash = _clashes(session, rows)
    if clash is not None and (failed is None or clash[0] < failed[0]):
        failed = clash
    if failed is not None:
        raise CentralError(f"line {failed[0]}: {failed[1]}")
    if rows:
        _write_catalog(session, rows, now)
    return len(rows)


@dataclass(frozen=True, slots=True)
class _Row:
    """One checked line of a catalog file."""

    line: int
    sku: str
    name: str
    price: Decimal
    tax_class: str
    department: str
    weighed: bool
    codes: dict[str, int]  # barcode: pack quantity (a code listed twice on one line keeps its last)
    scale_code: str | None
    sets_scale: bool  # the file has the scale_code column (without it, a product's code is left as it is)


def _parse_row(row: dict[str, str], line: int, taxes: set[str], seen: dict[str, str]) -> _Row:
    """A line checked on its own and against the lines before it (nothing read from the database)."""
    sku = (row.get("sku") or "").strip()
    name = (row.get("name") or "").strip()
    if not sku or not name:
        raise CentralError("sku and name are required")
    if f"sku:{sku}" in seen:
        raise CentralError(f"sku {sku} appears twice")
    price = _decimal(row.get("price") or "", "price")
    if price < 0 or price != price.quantize(Decimal("0.01")):
        raise CentralError(f"price {price} must be positive with at most 2 decimals")
    tax_code = (row.get("tax_class") or "").strip()
    if tax_code not in taxes:
        raise CentralError(f"unknown tax class {tax_code!r} (create it with set-tax-class)")
    weighed_text = (row.get("weighed") or "").strip().lower()
    if weighed_text not in _BOOL:
        raise CentralError(f"weighed {weighed_text!r} must be yes or no")
    codes: list[tuple[str, int]] = []
    for token in (row.get("barcodes") or "").split():
        code, _, pack = token.partition(":")
        if not pack:
            codes.append((code, 1))
        elif pack.isdigit() and int(pack) > 0:
            codes.append((code, int(pack)))
        else:
            raise CentralError(f"barcode {token!r}: pack quantity must be a positive whole number")
    scale_code = _scale_code(row, sku, seen)
    for code, _ in codes:
        if f"barcode:{code}" in seen:
            raise CentralError(f"barcode {code} is given twice in this file")
        seen[f"barcode:{code}"] = sku
    seen[f"sku:{sku}"] = sku
    return _Row(
        line=line,
        sku=sku,
        name=name,
        price=price,
        tax_class=tax_code,
        department=(row.get("department") or "").strip(),
        weighed=_BOOL[weighed_text],
        codes=dict(codes),
        scale_code=scale_code,
        sets_scale="scale_code" in row,
    )


def _clashes(session: Session, rows: list[_Row]) -> tuple[int, str] | None:
    """The first line giving a barcode or scale code that a product outside the file holds (a product of the file
    gives up what its own line no longer lists)."""
    in_file = {r.sku for r in rows}
    found: list[tuple[int, str]] = []
    codes = {code: r for r in rows for code in r.codes}
    for chunk in ledger.chunks(session, sorted(codes)):
        for code, owner in session.execute(
            select(Barcode.code, Product.sku).join(Product).where(ledger.among(session, Barcode.code, chunk))
        ):
            r = codes[code]
            if owner != r.sku and owner not in in_file:
                found.append((r.line, f"barcode {code} already belongs to {owner}"))
    scales = {r.scale_code: r for r in rows if r.scale_code is not None}
    for chunk in ledger.chunks(session, sorted(scales)):
        for scale, owner in session.execute(
            select(Product.scale_code, Product.sku).where(ledger.among(session, Product.scale_code, chunk))
        ):
            r = scales[str(scale)]
            if owner != r.sku and owner not in in_file:
                found.append((r.line, f"scale code {scale} already belongs to {owner}"))
    return min(found) if found else None


class _Held(NamedTuple):
    """What the database holds of the products a catalog file names, read in a few queries."""

    ids: dict[str, int]  # sku: product id, for the products that exist
    scale: dict[str, str | None]  # sku: scale code now
    prices: dict[int, Decimal | None]  # product id: price in effect now
    codes: dict[int, dict[str, int]]  # product id: its barcodes now, with their pack quantities


def _held(session: Session, rows: list[_Row], now: datetime) -> _Held:
    products, barcodes = table_of(Product), table_of(Barcode)
    ids: dict[str, int] = {}
    old_scale: dict[str, str | None] = {}
    for chunk in ledger.chunks(session, [r.sku for r in rows]):
        for pid, sku, scale in session.execute(
            select(products.c.id, products.c.sku, products.c.scale_code).where(
                ledger.among(session, products.c.sku, chunk)
            )
        ):
            ids[sku], old_scale[sku] = pid, scale
    prices: dict[int, Decimal | None] = {}
    for chunk in ledger.chunks(session, sorted(ids.values())):
        for pid, price in session.execute(
            _CURRENT_PRICES.where(ledger.among(session, Product.id, chunk)), {"now": now}
        ):
            prices[pid] = price
    held: dict[int, dict[str, int]] = {}  # the barcodes each product of the file has now
    for chunk in ledger.chunks(session, sorted(ids.values())):
        for code, pid, pack in session.execute(
            select(barcodes.c.code, barcodes.c.product_id, barcodes.c.pack_qty).where(
                ledger.among(session, barcodes.c.product_id, chunk)
            )
        ):
            held.setdefault(pid, {})[code] = pack
    return _Held(ids, old_scale, prices, held)


def _write_catalog(session: Session, rows: list[_Row], now: datetime) -> None:
    products, barcodes = table_of(Product), table_of(Barcode)
    session.flush()  # what the caller has pending goes first: the statements below go around the ORM
    ids, old_scale, prices, held = _held(session, rows, now)

    def values(r: _Row) -> dict[str, Any]:
        row: dict[str, Any] = {
            "name": r.name,
            "tax_class": r.tax_class,
            "department": r.department,
            "weighed": r.weighed,
            "active": True,
            "updated_at": now,
        }
        if r.sets_scale:
            row["scale_code"] = r.scale_code
        return row

    # Codes given up first, so a code moving from one product of the file to another is free when it is taken.
    dropped = [code for r in rows if r.sku in ids for code in held.get(ids[r.sku], {}) if code not in r.codes]
    for chunk in ledger.chunks(session, dropped):
        session.execute(delete(barcodes).where(ledger.among(session, barcodes.c.code, chunk)))
    moving = [ids[r.sku] for r in rows if r.sku in ids and r.sets_scale and old_scale[r.sku] != r.scale_code]
    for chunk in ledger.chunks(session, moving):
        session.execute(
            update(products).where(ledger.among(session, products.c.id, chunk)).values(scale_code=None)
        )
    new = [r for r in rows if r.sku not in ids]
    if new:
        created = session.execute(
            insert(products).returning(products.c.id, products.c.sku),
            [{"sku": r.sku, "scale_code": None, **values(r)} for r in new],
        )
        ids.update({sku: pid for pid, sku in created})
    # One UPDATE per shape of row (with or without the scale code), each an executemany.
    for shaped in ([r for r in rows if r.sets_scale], [r for r in rows if not r.sets_scale]):
        if shaped:
            session.execute(
                update(products).where(products.c.id == bindparam("pid")),
                [{"pid": ids[r.sku], **values(r)} for r in shaped],
            )
    repack = [
        {"c": code, "pack": pack}
        for r in rows
        for code, pack in r.codes.items()
        if code in held.get(ids[r.sku], {}) and held[ids[r.sku]][code] != pack
    ]
    if repack:
        session.execute(
            update(barcodes).where(barcodes.c.code == bindparam("c")).values(pack_qty=bindparam("pack")),
            repack,
        )
    added = [
        {"code": code, "product_id": ids[r.sku], "pack_qty": pack}
        for r in rows
        for code, pack in r.codes.items()
        if code not in held.get(ids[r.sku], {})
    ]
    if added:
        session.execute(insert(barcodes), added)
    repriced = [r for r in rows if prices.get(ids[r.sku]) != r.price]
    if repriced:
        session.execute(
            insert(table_of(Price)),
            [
                {"product_id": ids[r.sku], "price": r.price, "effective_from": now, "created_at": now}
                for r in repriced
            ],
        )
    # Objects of these products the session holds were read before: read again when next used.
    for r in rows:
        held_product = session.identity_map.get(identity_key(Product, ids[r.sku]))
        if held_product is not None:
            session.expire(held_product)
    changed_price = {r.sku for r in repriced}
    stores = list(ledger.lock_stores(session, session.scalars(select(Store.id))))
    with ledger.set_wise(session):
        for r in rows:
            if r.sku in changed_price:
                payload = {
                    "sku": r.sku,
                    "price": ledger.money_text(r.price),
                    "effective_from": now.isoformat(),
                }
                for store_id in stores:
                    ledger.emit(session, store_id, protocol.CHANGE_PRICE, r.sku, payload)
            scale = r.scale_code if r.sets_scale else old_scale.get(r.sku)
            now_is = {**values(r), "sku": r.sku, "scale_code": scale}
            product = _payload([now_is[c.key] for c in _PAYLOAD_COLUMNS], r.price, sorted(r.codes.items()))
            for store_id in stores:
                ledger.emit(session, store_id, protocol.CHANGE_PRODUCT, r.sku, product)


# The price in effect at `now` of the product of the enclosing query (the latest effective one; NULL: none yet),
# looked up through the product's index. Joining prices on the id of this price instead made PostgreSQL hash every
# price of the catalog at each web order.
CURRENT_PRICE = (
    select(Price.price)
    .where(Price.product_id == Product.id, Price.effective_from <= bindparam("now"))
    .order_by(Price.effective_from.desc(), Price.id.desc())
    .limit(1)
    .correlate(Product)
    .scalar_subquery()
)
_CURRENT_PRICES = select(Product.id, CURRENT_PRICE)


def _scale_code(row: dict[str, str], sku: str, seen: dict[str, str]) -> str | None:
    code = (row.get("scale_code") or "").strip()
    if not code:
        return None
    if not _SCALE_CODE_RE.match(code):
        raise CentralError(
            f"scale code {code!r} must be digits only (the item code the scale prints, e.g. 00003)"
        )
    if f"scale:{code}" in seen:
        raise CentralError(f"scale code {code} is given twice in this file")
    seen[f"scale:{code}"] = sku
    return code
