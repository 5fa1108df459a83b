"""Parked sales are numbered in their own series (S001-01-P000001), never like a receipt (S001-01-000001); their
barcode scans as a parked code and recalls the sale."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product, StaffUser
from app.domain import barcodes
from app.services import journal, numbers, sales, shifts
from app.services.base import Actor

Factory = sessionmaker[Session]


def test_parked_numbers_have_their_own_series_and_scan_back(db: Factory) -> None:
    with db() as s:
        who = Actor(s.scalars(select(StaffUser.id).where(StaffUser.username == "cashier")).one())
        product = s.scalars(
            select(Product.id).where(Product.weighed.is_(False)).order_by(Product.sku)
        ).first()
        assert product is not None
    with db.begin() as s:
        shifts.open_shift(s, who, Decimal("50.00"))
        sale = sales.start_sale(s, who)
        sales.add_product(s, who, sale.id, product)
        parked = sales.park(s, who, sale.id)
        listed = sales.list_parked(s)
    assert sale.number == "S001-01-000001"
    assert parked == "S001-01-P000001" and parked != sale.number
    assert numbers.is_kind(parked, "parked") and not numbers.is_kind(sale.number, "parked")
    assert listed[0].barcode == "PS-S001-01-P000001"

    # The barcode on the parked slip scans as a parked code (not a receipt), whatever case the scanner sends.
    scanned = barcodes.parse("ps-s001-01-p000001")
    assert isinstance(scanned, barcodes.InternalCode)
    assert (scanned.internal_kind, scanned.value) == ("parked", parked)
    assert barcodes.internal_code("parked", parked) == listed[0].barcode

    # Lookup and the journal send it to Sell; a receipt of the same sequence is another thing entirely.
    with db() as s:
        answer = journal.find_code(s, listed[0].barcode)
        assert answer.row is None and "recall it on Sell (F9)" in answer.message
        assert "recall" in journal.find_code(s, parked).message

    with db.begin() as s:
        back = sales.recall(s, who, listed[0].barcode)
    assert back.id == sale.id and back.number == sale.number
