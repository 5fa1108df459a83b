"""Labels and slips for the shelf and the packing bench: shelf labels, packing slips and shipping labels.

Each builder turns plain data into a device-neutral `Document` meant for a label printer (ZPL) or a PDF.
The shipping label carries the SSCC of the parcel as a GS1-128 "(00)..." barcode (check digit verified with
biip, so a wrong SSCC never reaches a parcel) and the carrier's tracking number as Code 128.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from biip import ParseError
from biip.sscc import Sscc

from app.documents.model import Barcode, Block, Columns, Document, Feed, Rule, Text, format_money

SHELF_LABEL_WIDTH = 24  # 2.25 in label
SHIPPING_LABEL_WIDTH = 40  # 4 in label
PACKING_SLIP_WIDTH = 48


@dataclass(frozen=True)
class Address:
    """A postal address as printed: name, then street lines, then the postcode/city line and country."""

    name: str
    lines: tuple[str, ...]
    country: str = ""

    def printed_lines(self) -> list[str]:
        return [self.name, *self.lines, *([self.country] if self.country else [])]


@dataclass
class ShelfLabelData:
    """What a shelf-edge label shows. unit_price_text is the legal unit price ("€4.98/kg") when required."""

    name: str
    price: Decimal
    gtin: str
    currency: str = "EUR"
    locale: str = "en_US"
    unit_price_text: str | None = None
    sku: str | None = None
    promo_text: str | None = None


def build_shelf_label(data: ShelfLabelData, width_chars: int = SHELF_LABEL_WIDTH) -> Document:
    """Product name, big price, unit price and an EAN-13 (or Code 128 for non-EAN codes) of the GTIN."""
    blocks: list[Block] = [Text(data.name, bold=True)]
    if data.promo_text:
        blocks.append(Text(data.promo_text, bold=True, underline=True))
    blocks.append(
        Text(format_money(data.price, data.currency, data.locale), align="right", bold=True, size=2)
    )
    if data.unit_price_text or data.sku:
        # One line for both: a 1.25 in label has no room for another.
        blocks.append(Columns(f"SKU {data.sku}" if data.sku else "", data.unit_price_text or ""))
    gtin = data.gtin
    if gtin.isascii() and gtin.isdigit() and len(gtin) == 13:
        blocks.append(Barcode(gtin, "ean13"))
    else:
        blocks.append(Barcode(gtin, "code128"))
    return Document(kind="shelf_label", width_chars=width_chars, blocks=blocks)


@dataclass(frozen=True)
class PackingLine:
    """One line of a packing slip."""

    sku: str
    name: str
    qty: Decimal
    unit: str = "pcs"


@dataclass
class PackingSlipData:
    """The slip that goes in the box: order, who it is for, what is in this parcel."""

    order_number: str
    order_date: date
    ship_to: Address
    lines: list[PackingLine]
    store_name: str
    parcel_text: str | None = None  # "Parcel 1 of 2"
    packer: str | None = None
    note: str | None = None
    locale: str = "en_US"


def build_packing_slip(data: PackingSlipData, width_chars: int = PACKING_SLIP_WIDTH) -> Document:
    """Header, ship-to, the lines with quantities, and the order number as Code 128 for scanning at returns."""
    blocks: list[Block] = [
        Text(data.store_name, align="center", bold=True),
        Text("PACKING SLIP", align="center", bold=True, size=2),
        Columns(f"Order {data.order_number}", format_date(data.order_date, "medium", locale=data.locale)),
    ]
    if data.parcel_text:
        blocks.append(Text(data.parcel_text, align="right", bold=True))
    blocks.append(Rule())
    blocks.append(Text("Ship to:", bold=True))
    blocks.extend(Text(line) for line in data.ship_to.printed_lines())
    blocks.append(Rule())
    blocks.append(Columns("Item", "Qty", bold=True))
    for line in data.lines:
        qty = f"{line.qty.normalize():f} {line.unit}".strip()
        blocks.append(Columns(f"{line.sku} {line.name}", qty))
    blocks.append(Rule())
    blocks.append(Columns("Items", f"{sum((line.qty for line in data.lines), Decimal('0')).normalize():f}"))
    if data.note:
        blocks.append(Text(data.note))
    if data.packer:
        blocks.append(Text(f"Packed by {data.packer}"))
    blocks.append(Feed(1))
    blocks.append(Barcode(data.order_number, "code128"))
    return Document(kind="packing_slip", width_chars=width_chars, blocks=blocks)


@dataclass
class ShippingLabelData:
    """A parcel label. sscc is the 18-digit Serial Shipping Container Code with its check digit."""

    ship_to: Address
    ship_from: Address
    order_number: str
    sscc: str
    tracking_number: str
    carrier: str = ""
    service: str = ""
    weight_text: str | None = None
    extra_lines: list[str] = field(default_factory=list)


def sscc_element_string(sscc: str) -> str:
    """The GS1 human-readable element string for an SSCC, after checking its check digit."""
    try:
        Sscc.parse(sscc)
    except ParseError as err:
        raise ValueError(f"invalid SSCC {sscc!r}: {err}") from err
    return f"(00){sscc}"


def build_shipping_label(data: ShippingLabelData, width_chars: int = SHIPPING_LABEL_WIDTH) -> Document:
    """Ship-from (small), ship-to (large), carrier/service, order number, SSCC (GS1-128) and tracking (Code 128)."""
    sscc_hri = sscc_element_string(data.sscc)
    blocks: list[Block] = [Text("FROM:", bold=True)]
    blocks.extend(Text(line) for line in data.ship_from.printed_lines())
    blocks.append(Rule())
    blocks.append(Text("TO:", bold=True))
    to_lines = data.ship_to.printed_lines()
    blocks.extend(Text(line, bold=True, size=2) for line in to_lines)
    blocks.append(Rule())
    if data.carrier or data.service:
        blocks.append(Columns(data.carrier, data.service, bold=True))
    blocks.append(Columns(f"Order {data.order_number}", data.weight_text or ""))
    blocks.extend(Text(line) for line in data.extra_lines)
    blocks.append(Text("SSCC", bold=True))
    blocks.append(Barcode(sscc_hri, "gs1_128"))
    blocks.append(Text("Tracking", bold=True))
    blocks.append(Barcode(data.tracking_number, "code128"))
    return Document(kind="shipping_label", width_chars=width_chars, blocks=blocks)
