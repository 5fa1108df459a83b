"""Shelf labels through the label printer's queue: a product's label rendered to PNG (PDF at 203 dpi) with its
barcode decoded by pyzbar, the same label as ZPL checked field by field, and the lists they are printed for (price
changes since a date, what a count counted)."""

from __future__ import annotations

import os
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from pyzbar import pyzbar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, PrintJob, Product
from app.db.types import utcnow
from app.documents.model import Document
from app.services import counts, shelf_labels
from app.services.base import Actor
from devices.printers import render
from tests.conftest import user_id
from tests.devices.test_pdf import rasterise
from tests.devices.test_zpl import fields, labels

Factory = sessionmaker[Session]


def _ean_product(db: Factory) -> tuple[str, str, str]:
    with db() as s:
        code, product_id = s.execute(
            select(Barcode.code, Barcode.product_id)
            .where(Barcode.pack_qty == 1, Barcode.code.like("05399%"))
            .order_by(Barcode.code)
            .limit(1)
        ).one()
        sku = s.get(Product, product_id).sku  # type: ignore[union-attr]
        return product_id, sku, code[1:]


def test_a_shelf_label_prints_through_the_queue_and_its_barcode_reads_back(
    db: Factory, tmp_path: Path
) -> None:
    associate = Actor(user_id(db, "associate"))
    product_id, sku, ean = _ean_product(db)
    with db.begin() as s:
        s.get(Product, product_id).price = Decimal("3.49")  # type: ignore[union-attr]
        done = shelf_labels.print_labels(s, associate, [product_id], copies=2)
    assert done.skus == [sku] and len(done.jobs) == 2
    with db() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.id == done.jobs[0])).one()
        assert (job.kind, job.role, job.status) == ("shelf_label", "label", "pending")
        doc = Document.from_json(job.document)

    # PDF for a label printer, rasterised at 203 dpi: the EAN-13 decodes to the item's code.
    (page,) = rasterise(render(doc, "pdf"), tmp_path)
    assert page.size == (457, 254)
    assert {(f.type, f.data.decode()) for f in pyzbar.decode(page)} == {("EAN13", ean)}
    page.save(Path(os.environ.get("SHOTS", tmp_path)) / "shelf-label.png")

    # ZPL: the price in words of the store, SKU, and the EAN-13 field (the printer adds the check digit).
    (label,) = labels(render(doc, "zpl"))
    assert "^PW457^LL254" in label
    parsed = fields(label)
    data = [d for *_, d in parsed]
    assert any("3.49" in d for d in data) and any(f"SKU {sku}" in d for d in data)
    (ean_field,) = [c for _, _, c, d in parsed if d == ean[:12]]
    assert "^BEN," in ean_field


def test_a_weighed_item_shows_its_price_per_kg_and_its_sku_as_code_128(db: Factory, tmp_path: Path) -> None:
    with db.begin() as s:
        apples = s.scalars(select(Product).where(Product.weighed.is_(True)).limit(1)).one()
        doc = shelf_labels.document(s, apples.id)
        data = shelf_labels.label_data(s, apples)
    assert data.unit_price_text is not None and data.unit_price_text.endswith("/kg")
    (page,) = rasterise(render(doc, "pdf"), tmp_path)
    assert {(f.type, f.data.decode()) for f in pyzbar.decode(page)} == {("CODE128", apples.sku)}


def test_labels_for_the_price_changes_since_a_date_and_for_a_count(db: Factory) -> None:
    manager = Actor(user_id(db, "manager"))
    since = utcnow() + timedelta(seconds=1)
    with db.begin() as s:
        changed = s.scalars(
            select(Product).where(Product.weighed.is_(False)).order_by(Product.sku).limit(3)
        ).all()
        for p in changed:
            p.price += Decimal("0.10")
            p.updated_at = since + timedelta(minutes=5)  # as the feed's price change sets it
        skus = sorted(p.sku for p in changed)
    with db.begin() as s:
        assert sorted(i.sku for i in shelf_labels.changed_since(s, since)) == skus
        assert sorted(shelf_labels.print_changed_since(s, manager, since).skus) == skus
    with db.begin() as s:
        count = counts.setup(s, manager, "floor", skus=skus[:2])
        counts.scan(s, manager, count.id, skus[0])
        assert shelf_labels.print_for_count(s, manager, count.id).skus == [skus[0]]
