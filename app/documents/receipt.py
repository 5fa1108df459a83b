"""The sales receipt: the data a receipt shows and the builder that lays it out as a `Document`.

Services hand over a `ReceiptData` with every figure already computed (the domain owns pricing, tax and
tender rules); this module only decides what goes on paper and in which order: header, lines, discounts, tax
summary, tenders and change, who/where/when, and a Code 128 + QR of `R-<number>` so the receipt can be
scanned back at the returns desk. A reprint is marked "COPY".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

from app.documents.model import (
    Barcode,
    Block,
    Columns,
    Cut,
    Document,
    Feed,
    Image,
    Qr,
    Rule,
    Text,
    format_money,
)
from app.domain import prefixes

RECEIPT_WIDTH_80MM = 48
RECEIPT_WIDTH_58MM = 32


@dataclass(frozen=True)
class ReceiptLine:
    """One sold (or voided) line as printed. amount is the line total after its own discount."""

    name: str
    qty: Decimal
    unit: str
    unit_price: Decimal
    amount: Decimal
    discount_text: str | None = None
    voided: bool = False


@dataclass(frozen=True)
class TaxSummaryRow:
    """One tax class on the receipt; rate is a fraction (Decimal("0.19") for 19 %)."""

    tax_class: str
    rate: Decimal
    taxable: Decimal
    tax: Decimal


@dataclass(frozen=True)
class TenderLine:
    """One payment; kind is the printed name ("Cash", "Card", "Gift card")."""

    kind: str
    amount: Decimal
    card_last4: str | None = None
    approval_code: str | None = None


@dataclass
class ReceiptData:
    """Everything a receipt prints. timestamp must be timezone-aware; it is shown in tz_name."""

    store_name: str
    address_lines: list[str]
    receipt_number: str
    timestamp: datetime
    tz_name: str
    cashier: str
    terminal: str
    lines: list[ReceiptLine]
    subtotal: Decimal
    tax_rows: list[TaxSummaryRow]
    tax_total: Decimal
    total: Decimal
    tenders: list[TenderLine]
    change: Decimal = Decimal("0")
    order_discount: Decimal = Decimal("0")
    order_discount_text: str | None = None
    cash_rounding: Decimal = Decimal("0")
    customer: str | None = None
    footer: list[str] = field(default_factory=list)
    copy: bool = False
    currency: str = "EUR"
    locale: str = "en_US"
    logo_key: str | None = None
    # The store's tax and rounding rule in words (app.domain.pricing.rule_text), printed under the totals.
    pricing_rule: str | None = None


def receipt_barcode_value(receipt_number: str) -> str:
    """What the receipt's barcode and QR hold, so the returns desk can recognise a scanned receipt."""
    return f"{prefixes.RECEIPT}{receipt_number}"


def format_local_time(moment: datetime, tz_name: str, locale: str) -> str:
    """A timestamp in the store's time zone and locale; naive datetimes are refused (no guessing zones)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("timestamps on documents must be timezone-aware")
    return format_datetime(moment, "short", tzinfo=ZoneInfo(tz_name), locale=locale)


def _qty_text(qty: Decimal, unit: str, locale: str) -> str:
    return f"{format_decimal(qty, locale=locale)} {unit}".strip()


def _tax_rows(data: ReceiptData, width: int) -> list[Block]:
    money = _money(data)
    # Four columns that still fit on a 32-character roll: class, rate, taxable, tax.
    amount_w = (width - 13) // 2
    blocks: list[Block] = [Text(f"{'Tax':<5}{'Rate':>8}{'Taxable':>{amount_w}}{'Tax':>{amount_w}}")]
    for row in data.tax_rows:
        # Up to four decimals of a percent: a rate is kept to 6 decimals of a fraction, and 8.875 % prints whole.
        rate = format_percent(row.rate, "#,##0.####%", locale=data.locale)
        blocks.append(
            Text(
                f"{row.tax_class[:5]:<5}{rate:>8}{money(row.taxable):>{amount_w}}{money(row.tax):>{amount_w}}"
            )
        )
    blocks.append(Columns("Tax total", money(data.tax_total)))
    return blocks


def _money(data: ReceiptData) -> Callable[[Decimal], str]:
    return lambda amount: format_money(amount, data.currency, data.locale)


def build_receipt(data: ReceiptData, width_chars: int = RECEIPT_WIDTH_80MM) -> Document:
    """Lay out a receipt for a roll of width_chars characters (48 for 80 mm, 32 for 58 mm)."""
    money = _money(data)
    blocks: list[Block] = []
    if data.logo_key:
        blocks.append(Image(data.logo_key))
    blocks.append(Text(data.store_name, align="center", bold=True, size=2))
    blocks.extend(Text(line, align="center") for line in data.address_lines)
    if data.copy:
        # Marked at the top so a copy can never be mistaken for the original at a glance.
        blocks.append(Text("COPY", align="center", bold=True, size=2))
    blocks.append(Feed(1))
    blocks.append(Columns(f"Receipt {data.receipt_number}", ""))
    blocks.append(Rule())

    for line in data.lines:
        amount = money(line.amount)
        if line.voided:
            blocks.append(Columns(f"VOID {line.name}", amount))
        else:
            blocks.append(Columns(line.name, amount))
        if line.qty != 1 or line.unit not in ("", "pcs", "ea"):
            blocks.append(Text(f"  {_qty_text(line.qty, line.unit, data.locale)} x {money(line.unit_price)}"))
        if line.discount_text:
            blocks.append(Text(f"  {line.discount_text}"))

    blocks.append(Rule())
    blocks.append(Columns("Subtotal", money(data.subtotal)))
    if data.order_discount:
        blocks.append(Columns(data.order_discount_text or "Discount", money(-abs(data.order_discount))))
    if data.tax_rows:
        blocks.extend(_tax_rows(data, width_chars))
    blocks.append(Rule("="))
    blocks.append(Columns("TOTAL", money(data.total), bold=True))
    if data.cash_rounding:
        blocks.append(Columns("Cash rounding", money(data.cash_rounding)))
    if data.pricing_rule:
        blocks.append(Text(data.pricing_rule))
    blocks.append(Rule())

    for tender in data.tenders:
        blocks.append(Columns(tender.kind, money(tender.amount)))
        details = []
        if tender.card_last4:
            details.append(f"**** {tender.card_last4}")
        if tender.approval_code:
            details.append(f"Auth {tender.approval_code}")
        if details:
            blocks.append(Text("  " + "  ".join(details)))
    if data.change:
        blocks.append(Columns("Change", money(data.change), bold=True))

    if data.customer:
        blocks.append(Text(f"Customer: {data.customer}"))
    blocks.append(Rule())
    blocks.append(Columns(f"Cashier: {data.cashier}", f"Terminal: {data.terminal}"))
    blocks.append(Text(format_local_time(data.timestamp, data.tz_name, data.locale)))
    blocks.append(Feed(1))
    code = receipt_barcode_value(data.receipt_number)
    blocks.append(Barcode(code, "code128"))
    blocks.append(Qr(code))
    if data.footer:
        blocks.append(Feed(1))
        blocks.extend(Text(line, align="center") for line in data.footer)
    if data.copy:
        blocks.append(Text("COPY", align="center", bold=True))
    blocks.append(Cut())
    return Document(kind="receipt", width_chars=width_chars, blocks=blocks)
