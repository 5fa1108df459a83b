"""Shelf-edge labels (name, price, unit price, barcode) through the label printer's print queue.

For one product, for every product whose price or details changed since a date (the catalog's `updated_at`, which
the central store's product and price changes set when the feed brings them), or for what a count counted. Each
label is one print job of kind `shelf_label` for the label printer, which renders it as ZPL or PDF.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Barcode, Product, StaffUser
from app.documents.labels import ShelfLabelData, build_shelf_label
from app.documents.model import Document, format_money
from app.services import counts, printing
from app.services.base import Actor, Changes, UserError, here

MAX_LABELS = 500  # one request; a bigger list is printed in parts


@dataclass(frozen=True)
class LabelItem:
    product_id: str
    sku: str
    name: str
    price_text: str
    updated_at: datetime


@dataclass(frozen=True)
class Printed:
    jobs: list[str]
    skus: list[str]
    changes: Changes


def _code(session: Session, product: Product) -> str:
    """The code printed: the item's unit EAN-13 (its GTIN-14 without the leading 0), else its SKU."""
    codes = session.scalars(
        select(Barcode.code)
        .where(Barcode.product_id == product.id, Barcode.pack_qty == 1)
        .order_by(Barcode.code)
    ).all()
    for code in codes:
        if len(code) == 14 and code.isdigit() and code.startswith("0"):
            return code[1:]
    return codes[0] if codes else product.sku


def label_data(session: Session, product: Product) -> ShelfLabelData:
    h = here(session)
    unit_price = None
    if product.weighed or product.unit == "kg":
        unit_price = f"{format_money(product.price, h.currency, h.locale)}/kg"
    return ShelfLabelData(
        name=product.name,
        price=product.price,
        gtin=_code(session, product),
        currency=h.currency,
        locale=h.locale,
        unit_price_text=unit_price,
        sku=product.sku,
    )


def document(session: Session, product_id: str) -> Document:
    product = session.get(Product, product_id)
    if product is None:
        raise UserError("That product is no longer in the catalog.")
    return build_shelf_label(label_data(session, product))


def changed_since(session: Session, since: datetime, limit: int = MAX_LABELS) -> list[LabelItem]:
    """Active products whose price or details changed at or after `since` (newest first)."""
    h = here(session)
    rows = session.scalars(
        select(Product)
        .where(Product.active.is_(True), Product.updated_at >= since)
        .order_by(Product.updated_at.desc(), Product.sku)
        .limit(limit)
    )
    return [
        LabelItem(p.id, p.sku, p.name, format_money(p.price, h.currency, h.locale), p.updated_at)
        for p in rows
    ]


def print_labels(session: Session, actor: Actor, product_ids: list[str], copies: int = 1) -> Printed:
    """Queue one shelf label per product (and copy) for the label printer."""
    user = session.get(StaffUser, actor.user_id)
    if user is None or not user.active:
        raise UserError("You are signed out: sign in again.")
    if not product_ids:
        raise UserError("No items to print labels for.")
    if not 1 <= copies <= 20:
        raise UserError("Print from 1 to 20 copies of each label.")
    if len(product_ids) * copies > MAX_LABELS:
        raise UserError(f"At most {MAX_LABELS} labels at once: print the list in parts.")
    jobs, skus = [], []
    for product_id in product_ids:
        product = session.get(Product, product_id)
        if product is None:
            raise UserError("That product is no longer in the catalog.")
        doc = build_shelf_label(label_data(session, product)).to_json()
        for _ in range(copies):
            jobs.append(
                printing.enqueue(
                    session,
                    "shelf_label",
                    doc,
                    f"Shelf label {product.sku}",
                    cause_id=product.id,
                    role="label",
                )
            )
        skus.append(product.sku)
    return Printed(jobs, skus, Changes(print_queue=True))


def print_changed_since(session: Session, actor: Actor, since: datetime) -> Printed:
    items = changed_since(session, since)
    if not items:
        raise UserError("No prices changed since then: nothing to print.")
    return print_labels(session, actor, [i.product_id for i in items])


def print_for_count(session: Session, actor: Actor, count_id: str) -> Printed:
    ids = counts.counted_location_products(session, count_id)
    if not ids:
        raise UserError("Nothing is counted in that count yet: no labels to print.")
    return print_labels(session, actor, ids)
