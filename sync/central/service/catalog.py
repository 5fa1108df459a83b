"""The catalog: tax classes, products and their current prices, the catalog import from CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger
from sync.central.models import (
    Barcode,
    Price,
    Product,
    TaxClass,
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


def product_payload(session: Session, product: Product) -> dict[str, Any]:
    price = current_price(session, product)
    return {
        "sku": product.sku,
        "name": product.name,
        "price": ledger.money_text(price.price) if price else None,
        "tax_class": product.tax_class,
        "department": product.department,
        "barcodes": [{"code": b.code, "pack_qty": b.pack_qty} for b in product.barcodes],
        "weighed": product.weighed,
        "scale_code": product.scale_code,
        "active": product.active,
    }


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
    """
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CATALOG_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CentralError(f"catalog header lacks column(s): {', '.join(missing)}")
    now = utcnow()
    seen: dict[str, str] = {}  # "sku:X" and "barcode:Y" already met in this file
    count = 0
    for row in reader:
        line = reader.line_num
        try:
            _import_row(session, row, now, seen)
        except CentralError as exc:
            raise CentralError(f"line {line}: {exc}") from exc
        count += 1
    return count


def _import_row(session: Session, row: dict[str, str], now: datetime, seen: dict[str, str]) -> None:
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
    if session.get(TaxClass, tax_code) is None:
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
    scale_code = _scale_code(session, row, sku, seen)
    for code, _ in codes:
        if f"barcode:{code}" in seen:
            raise CentralError(f"barcode {code} is given twice in this file")
        seen[f"barcode:{code}"] = sku
        owner = session.scalar(select(Product.sku).join(Barcode).where(Barcode.code == code))
        if owner is not None and owner != sku:
            raise CentralError(f"barcode {code} already belongs to {owner}")
    seen[f"sku:{sku}"] = sku

    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        product = Product(sku=sku, name=name, tax_class=tax_code, active=True)
        session.add(product)
    product.name = name
    product.tax_class = tax_code
    product.department = (row.get("department") or "").strip()
    product.weighed = _BOOL[weighed_text]
    if "scale_code" in row:
        product.scale_code = scale_code
    product.active = True
    product.updated_at = now
    session.flush()
    wanted = dict(codes)
    for barcode in list(product.barcodes):
        if barcode.code not in wanted:
            product.barcodes.remove(barcode)
    existing = {b.code: b for b in product.barcodes}
    for barcode_code, pack_qty in codes:
        if barcode_code in existing:
            existing[barcode_code].pack_qty = pack_qty
        else:
            product.barcodes.append(Barcode(code=barcode_code, pack_qty=pack_qty))
    old = current_price(session, product, now)
    if old is None or old.price != price:
        session.add(Price(product_id=product.id, price=price, effective_from=now))
        session.flush()
        payload = {"sku": sku, "price": ledger.money_text(price), "effective_from": now.isoformat()}
        ledger.emit_to_all_stores(session, protocol.CHANGE_PRICE, sku, payload)
    session.flush()
    session.refresh(product, ["barcodes"])
    ledger.emit_to_all_stores(session, protocol.CHANGE_PRODUCT, sku, product_payload(session, product))


def _scale_code(session: Session, row: dict[str, str], sku: str, seen: dict[str, str]) -> str | None:
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
    owner = session.scalar(select(Product.sku).where(Product.scale_code == code))
    if owner is not None and owner != sku:
        raise CentralError(f"scale code {code} already belongs to {owner}")
    return code
