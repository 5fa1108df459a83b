"""The catalog: tax classes, products, their barcodes and effective-dated prices."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from sync.central.models.columns import Base, Money, Rate, UTCDateTime, utcnow


class TaxClass(Base):
    __tablename__ = "tax_classes"
    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    rate: Mapped[Decimal] = mapped_column(Rate)


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    tax_class: Mapped[str] = mapped_column(ForeignKey("tax_classes.code"))
    department: Mapped[str] = mapped_column(String(100), default="")
    weighed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The item code a scale prints on its price- or weight-embedded labels (the IIIII of 2x IIIII VVVVV C).
    scale_code: Mapped[str | None] = mapped_column(String(10), index=True, unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    barcodes: Mapped[list[Barcode]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="Barcode.code"
    )


class Barcode(Base):
    __tablename__ = "barcodes"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    pack_qty: Mapped[int] = mapped_column(Integer, default=1)
    product: Mapped[Product] = relationship(back_populates="barcodes")


class Price(Base):
    """A product's price from `effective_from` on; the latest one already in effect applies."""

    __tablename__ = "prices"
    __table_args__ = (Index("ix_prices_product_effective", "product_id", "effective_from"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    price: Mapped[Decimal] = mapped_column(Money)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
