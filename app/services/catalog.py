"""The catalog: find a product by any barcode, SKU or name; the same answer for every screen.

Barcodes are stored as GTIN-14 (see `app.domain.barcodes.product_key`), so a UPC-A, its EAN-13 form and a GS1
element string with AI 01 all find the same row. Name search uses SQLite's FTS5 index (prefix match on every word);
other databases fall back to a LIKE on the lower-cased name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.db.models import Barcode, Product, TaxClass
from app.domain import barcode_rules, barcodes
from app.services import settings
from app.services.base import UserError


@dataclass(frozen=True)
class ProductView:
    id: str
    sku: str
    name: str
    price: Decimal
    tax_class: str
    tax_rate: Decimal
    unit: str
    weighed: bool
    department: str | None
    active: bool


@dataclass(frozen=True)
class Found:
    """A product and what one scan of this code stands for."""

    product: ProductView
    qty: Decimal  # pack quantity for case codes, the weight for a weight label
    fixed_amount: Decimal | None  # a price-embedded label's price
    code: str
    # A weighed item found by a code that carries no weight (its SKU, its plain GTIN): someone must weigh it,
    # `qty` is not a weight.
    needs_weight: bool = False


def _view(p: Product, rate: Decimal) -> ProductView:
    return ProductView(
        p.id, p.sku, p.name, p.price, p.tax_class, rate, p.unit, p.weighed, p.department, p.active
    )


def _rate(session: Session, tax_class: str) -> Decimal:
    return session.scalar(select(TaxClass.rate).where(TaxClass.code == tax_class)) or Decimal("0")


def get(session: Session, product_id: str) -> ProductView:
    p = session.get(Product, product_id)
    if p is None:
        raise UserError("That product is no longer in the catalog.")
    return _view(p, _rate(session, p.tax_class))


def by_sku(session: Session, sku: str) -> ProductView | None:
    p = session.scalar(select(Product).where(Product.sku == sku.strip().upper()))
    return _view(p, _rate(session, p.tax_class)) if p else None


def codes_of(session: Session, product_id: str) -> list[tuple[str, int]]:
    """A product's barcodes with the pack quantity each stands for (1, or a case's count)."""
    rows = session.execute(select(Barcode.code, Barcode.pack_qty).where(Barcode.product_id == product_id))
    return [(code, int(n)) for code, n in rows]


def barcode_config(session: Session) -> barcodes.BarcodeConfig:
    """The store's barcode rules (setting `barcodes`); the defaults while the setting cannot be used (the scan
    router says what is wrong with it at start)."""
    try:
        return barcode_rules.config_from_setting(settings.get(session, "barcodes"))
    except ValueError:
        return barcodes.BarcodeConfig()


def read_scan(session: Session, scan: barcodes.ScanResult | str) -> barcodes.ScanResult:
    """A scan as the router parsed it, passed on as is; typed text (a test, a script) is parsed here, once, with the
    store's barcode rules."""
    return barcodes.parse(scan, barcode_config(session)) if isinstance(scan, str) else scan


def find_scan(session: Session, result: barcodes.ScanResult) -> Found:
    """The product a parsed scan stands for, or a UserError that says why none is."""
    if isinstance(result, barcodes.VariableMeasure):
        p = session.scalar(select(Product).where(Product.item_ref == result.item_ref))
        if p is None:
            raise UserError(
                f"Scale label for item {result.item_ref} is not in the catalog: key the item in by SKU."
            )
        view = _view(p, _rate(session, p.tax_class))
        if result.weight_kg is not None:
            return Found(view, result.weight_kg, None, result.raw)
        assert result.price is not None
        weight = (
            (result.price / p.price).quantize(Decimal("0.001")) if p.weighed and p.price else Decimal("1")
        )
        return Found(view, weight, result.price, result.raw)
    key = barcodes.product_key(result)
    if key is None:
        if isinstance(result, barcodes.Unknown):
            # A typed SKU comes through the scan field as well.
            by = by_sku(session, result.raw)
            if by is not None:
                return Found(by, Decimal("1"), None, result.raw, needs_weight=by.weighed)
            if result.reason.startswith("bad check digit"):
                raise UserError(f"Misread: {result.reason}.")
            raise UserError(
                f"Not found: {result.raw} is no barcode or SKU of this store. Search by name (F2)."
            )
        raise UserError(f"This code is not a product ({result.kind}).")
    row = session.execute(
        select(Product, Barcode.pack_qty)
        .join(Barcode, Barcode.product_id == Product.id)
        .where(Barcode.code == key)
    ).first()
    if row is None:
        by = by_sku(session, result.raw)
        if by is not None:
            return Found(by, Decimal("1"), None, result.raw, needs_weight=by.weighed)
        raise UserError(
            f"Barcode {result.raw} is not in the catalog: search by name (F2) or set the item aside."
        )
    p, pack = row
    qty = Decimal(pack)
    # A net weight (AI 310n) is the quantity of a weighed item only; on an item sold by the piece it is the
    # weight of that piece (a 2 kg bag is one bag), so the pack quantity stands.
    net_weight = result.net_weight_kg if isinstance(result, barcodes.Gs1) else None
    if net_weight is not None and p.weighed:
        qty = net_weight
    fixed = result.price if isinstance(result, barcodes.Gs1) and result.price is not None else None
    needs_weight = p.weighed and net_weight is None and fixed is None
    return Found(_view(p, _rate(session, p.tax_class)), qty, fixed, result.raw, needs_weight=needs_weight)


# Letters and digits, as the index's tokenizer splits words (an underscore separates, as in the index).
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


RANKED = 200  # matches ranked per search: the first ones the index finds

_P = Product.__table__.c
# One statement from the match to the views' fields, tax rate included: no ORM objects, no second query for the
# rows or the rates (on 1,000,000 products those took most of a search's time, not the match). The columns keep
# their types, so the price and the rate come back as Decimals as they would through the ORM.
_SEARCH = text(
    "SELECT p.id, p.sku, p.name, p.price, p.tax_class, t.rate, p.unit, p.weighed, p.department, p.active "
    "FROM (SELECT rowid FROM product_search WHERE product_search MATCH :m "
    f"LIMIT {RANKED}) s JOIN products p ON p.rowid = s.rowid LEFT JOIN tax_classes t ON t.code = p.tax_class "
    "WHERE p.active ORDER BY length(p.name) + length(p.sku), p.name LIMIT :n"
).columns(
    _P.id,
    _P.sku,
    _P.name,
    _P.price,
    _P.tax_class,
    TaxClass.__table__.c.rate,
    _P.unit,
    _P.weighed,
    _P.department,
    _P.active,
)


def search(session: Session, query: str, limit: int = 50) -> list[ProductView]:
    """Products whose name or SKU starts words with every word of the query, best matches first."""
    words = _WORD.findall(query.lower())
    if not words:
        return []
    if session.get_bind().dialect.name == "sqlite":
        match = " ".join(f'"{w}"*' for w in words)
        # Rank only the first candidates: a short query matches thousands of names in a big catalog. The index
        # answers the match from its prefix entries (migration 0016). Every candidate holds every word once (the
        # index keeps no positions), so FTS5's bm25 would order them by length alone, after first counting every
        # name each word starts (20 ms a query on 1,000,000 products): the shortest name is ranked first here.
        rows = session.execute(_SEARCH, {"m": match, "n": limit})
        return [
            ProductView(pid, sku, name, price, tax, rate if rate is not None else Decimal("0"), *rest)
            for pid, sku, name, price, tax, rate, *rest in rows
        ]
    q = select(Product).where(Product.active.is_(True))
    for w in words:
        q = q.where(Product.name_lower.contains(w) | Product.sku.ilike(f"{w}%"))
    ordered = list(session.scalars(q.order_by(Product.name).limit(limit)))
    rates = dict(session.execute(select(TaxClass.code, TaxClass.rate)).all())
    return [_view(p, rates.get(p.tax_class, Decimal("0"))) for p in ordered]
