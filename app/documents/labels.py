"""Labels and slips for the shelf and the packing bench: shelf labels, packing slips and shipping labels.

Each builder turns plain data into a device-neutral `Document` meant for a label printer (ZPL) or a PDF.
The shipping label carries the SSCC of the parcel as a GS1-128 "(00)..." barcode (check digit verified with
biip, so a wrong SSCC never reaches a parcel) and the carrier's tracking number as Code 128.

What the pack bench calls (render the result with `devices.printers.render(document, "pdf" | "zpl")`):

- `make_sscc(company_prefix, serial, extension="0") -> str`: a box's 18-digit SSCC with its GS1 check digit.
- `build_packing_slip(PackingSlipData) -> Document`: ship-to, lines with quantities, the order's Code 128.
- `build_shipping_label(ShippingLabelData) -> Document`: 4x6 in; ship-from, ship-to, carrier and service,
  weight (`weight_text(kg)`), the SSCC as GS1-128 with AI (00), the tracking number as Code 128.
- `address_from_text(name, text, country="")`: an `Address` from the one free-text address a web order has;
  `address_from_lines(lines)`: from printed lines, name first (the central's `ShipmentInfo.ship_to`/`ship_from`).
  A shipment's carrier, service, tracking and `label_lines` go into `ShippingLabelData` (label_lines as
  `extra_lines`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal
from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.sscc import Sscc

from app.documents.model import Barcode, Block, Columns, Document, Feed, Rule, Text, format_money

SHELF_LABEL_WIDTH = 24  # 2.25 in label
SHIPPING_LABEL_WIDTH = 40  # 4 in label
PACKING_SLIP_WIDTH = 48
SSCC_LENGTH = 18


@dataclass(frozen=True)
class Address:
    """A postal address as printed: name, then street lines, then the postcode/city line and country."""

    name: str
    lines: tuple[str, ...]
    country: str = ""

    def printed_lines(self) -> list[str]:
        return [self.name, *self.lines, *([self.country] if self.country else [])]


def address_from_text(name: str, text: str, country: str = "") -> Address:
    """An address from free text as a web order holds it: one line per newline or comma, blanks dropped."""
    parts = [part.strip() for line in text.splitlines() for part in line.split(",")]
    return Address(name.strip(), tuple(part for part in parts if part), country)


def address_from_lines(lines: Sequence[str]) -> Address:
    """An address from its printed lines, name first (as the central store answers a shipment)."""
    if not lines or not lines[0].strip():
        raise ValueError("an address needs at least a name")
    return Address(lines[0].strip(), tuple(line.strip() for line in lines[1:] if line.strip()))


def make_sscc(company_prefix: str, serial: int, extension: str = "0") -> str:
    """The 18-digit SSCC of a logistic unit: extension digit, GS1 company prefix, serial reference (zero-padded
    to fill 17 digits) and the GS1 mod-10 check digit. Raises ValueError for anything that would not make one."""
    if not (len(extension) == 1 and extension.isascii() and extension.isdigit()):
        raise ValueError(f"the SSCC extension digit must be one digit 0-9, not {extension!r}")
    if not (6 <= len(company_prefix) <= 12 and company_prefix.isascii() and company_prefix.isdigit()):
        raise ValueError(f"a GS1 company prefix is 6 to 12 digits, not {company_prefix!r}")
    room = SSCC_LENGTH - 2 - len(company_prefix)
    if isinstance(serial, bool) or not isinstance(serial, int) or not 0 <= serial < 10**room:
        raise ValueError(f"the serial reference must be 0 to {10**room - 1} with prefix {company_prefix}")
    body = extension + company_prefix + f"{serial:0{room}d}"
    sscc = body + str(gs1_standard_check_digit(body))
    sscc_element_string(sscc)  # biip agrees, or this raises
    return sscc


def weight_text(kg: Decimal, locale: str = "en_US") -> str:
    """A parcel's weight as printed on its label: "1.25 kg" (up to 3 places, trailing zeros dropped)."""
    if not isinstance(kg, Decimal) or not kg.is_finite() or kg <= 0:
        raise ValueError(f"a parcel weighs a positive number of kilograms, not {kg!r}")
    return (
        f"{format_decimal(kg.quantize(Decimal('0.001')).normalize(), format='#,##0.###', locale=locale)} kg"
    )


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
