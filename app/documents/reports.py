"""Shift reports (X: mid-shift reading, Z: end-of-shift close) laid out as device-neutral documents.

The shift service computes every figure (sales, discounts, tax by rate, cash rounding, tenders, change, voids,
no-sales, float, paid in/out, expected cash, the counts); this module only prints them, plus the over/short
which is the plain difference counted - expected. Each tender says what its numbers count: the sales it paid
and, where they differ, the payments taken (a sale paid with two cash tenders is one sale, two payments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from babel.numbers import format_percent

from app.documents.model import Block, Columns, Cut, Document, Feed, Rule, Text, format_money
from app.documents.receipt import TaxSummaryRow, format_local_time

ReportKind = Literal["X", "Z"]
ZERO = Decimal("0")


@dataclass(frozen=True)
class TenderTotal:
    """One tender kind over the shift: `count` sales paid with it (in part or whole), `payments` taken
    (None: the same as the sales), and the amount kept (cash net of change)."""

    kind: str
    count: int
    amount: Decimal
    payments: int | None = None


@dataclass(frozen=True)
class CashMovement:
    """A paid-in or paid-out entry (reason as typed by the cashier)."""

    reason: str
    amount: Decimal


@dataclass(frozen=True)
class CountLine:
    """A tender counted at the close: expected, counted (None: not counted) and the difference."""

    kind: str
    expected: Decimal
    counted: Decimal | None
    over_short: Decimal | None


@dataclass
class ShiftReportData:
    """Figures of one shift. counted_cash is None until the drawer has been counted (always set for Z)."""

    store_name: str
    terminal: str
    shift_number: str
    cashier: str
    opened_at: datetime
    printed_at: datetime
    tz_name: str
    opening_float: Decimal
    sales_by_tender: list[TenderTotal]
    expected_cash: Decimal
    paid_in: list[CashMovement] = field(default_factory=list)
    paid_out: list[CashMovement] = field(default_factory=list)
    refunds_total: Decimal = ZERO
    cash_refunds: Decimal = ZERO  # the part of the refunds paid out of the drawer
    counted_cash: Decimal | None = None
    closed_at: datetime | None = None
    currency: str = "EUR"
    locale: str = "en_US"
    # The sales section; every figure as the shift service computed it.
    sales_count: int = 0
    gross_sales: Decimal = ZERO
    discount_total: Decimal = ZERO
    discounted_sales: int = 0
    net_sales: Decimal = ZERO
    tax_rows: list[TaxSummaryRow] = field(default_factory=list)
    tax_total: Decimal = ZERO
    tax_included: bool = True
    cash_rounding: Decimal = ZERO
    tenders_total: Decimal = ZERO
    cash_tendered: Decimal = ZERO
    change_given: Decimal = ZERO
    cash_sales: Decimal = ZERO
    voided_sales: int = 0
    voided_sales_total: Decimal = ZERO
    voided_lines: int = 0
    voided_lines_total: Decimal = ZERO
    no_sales: int = 0
    counts: list[CountLine] = field(default_factory=list)
    # The store's tax and rounding rule in words (app.domain.pricing.rule_text), as its receipts print it.
    pricing_rule: str = ""
    # The audit trail's head when printed: a paper copy of where the chain stood, so entries removed later
    # (even with their unsent outbox rows) show against it.
    audit_seq: int | None = None
    audit_hash: str = ""

    @property
    def over_short(self) -> Decimal | None:
        """Counted minus expected: positive is over, negative is short."""
        if self.counted_cash is None:
            return None
        return self.counted_cash - self.expected_cash


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def tender_label(tender: TenderTotal) -> str:
    """ "Cash: 12 sales, 13 payments" — what the numbers of a tender row count."""
    label = f"{tender.kind}: {_plural(tender.count, 'sale', 'sales')}"
    if tender.payments is not None and tender.payments != tender.count:
        label += f", {_plural(tender.payments, 'payment', 'payments')}"
    return label


def build_shift_report(data: ShiftReportData, width_chars: int = 48, kind: ReportKind = "X") -> Document:
    """Lay out an X (reading, shift stays open) or Z (close) report."""
    if kind not in ("X", "Z"):
        raise ValueError("kind must be 'X' or 'Z'")
    if kind == "Z" and data.counted_cash is None:
        raise ValueError("a Z report needs the counted cash")

    def money(amount: Decimal) -> str:
        return format_money(amount, data.currency, data.locale)

    def when(moment: datetime) -> str:
        return format_local_time(moment, data.tz_name, data.locale)

    title = "X REPORT" if kind == "X" else "Z REPORT"
    blocks: list[Block] = [
        Text(data.store_name, align="center", bold=True),
        Text(title, align="center", bold=True, size=2),
        Text("Shift reading - shift stays open" if kind == "X" else "End of shift", align="center"),
        Rule(),
        Columns("Shift", data.shift_number),
        Columns("Terminal", data.terminal),
        Columns("Cashier", data.cashier),
        Columns("Opened", when(data.opened_at)),
    ]
    if data.closed_at is not None:
        blocks.append(Columns("Closed", when(data.closed_at)))
    blocks.append(Columns("Printed", when(data.printed_at)))

    blocks += [Rule(), Text("Sales", bold=True)]
    blocks.append(Columns("Completed sales", str(data.sales_count)))
    blocks.append(Columns("Gross sales", money(data.gross_sales)))
    discounts = f"Discounts ({_plural(data.discounted_sales, 'sale', 'sales')})"
    blocks.append(Columns(discounts, money(-data.discount_total)))
    if not data.tax_included:
        blocks.append(Columns("Tax added", money(data.tax_total)))
    blocks.append(Columns("Net sales", money(data.net_sales), bold=True))
    blocks.append(Columns("Cash rounding", money(data.cash_rounding)))
    if data.pricing_rule:
        blocks.append(Text(data.pricing_rule))
    if data.refunds_total:
        blocks.append(Columns("Refunds", money(-abs(data.refunds_total))))

    blocks += [
        Rule(),
        Text("Tax by rate" + (" (included in prices)" if data.tax_included else ""), bold=True),
    ]
    for row in data.tax_rows:
        rate = format_percent(row.rate, "#,##0.####%", locale=data.locale)
        blocks.append(Columns(f"{row.tax_class} {rate} on {money(row.taxable)}", money(row.tax)))
    blocks.append(Columns("Tax total", money(data.tax_total), bold=True))

    blocks += [Rule(), Text("Tenders", bold=True)]
    for tender in data.sales_by_tender:
        blocks.append(Columns(tender_label(tender), money(tender.amount)))
    blocks.append(Columns("Total taken", money(data.tenders_total), bold=True))
    blocks.append(Columns("Cash handed over", money(data.cash_tendered)))
    blocks.append(Columns("Change given", money(-data.change_given)))
    blocks.append(Columns("Cash kept for sales", money(data.cash_sales)))

    blocks += [Rule(), Text("Voids and drawer", bold=True)]
    blocks.append(Columns(f"Voided sales ({data.voided_sales})", money(data.voided_sales_total)))
    blocks.append(Columns(f"Voided lines ({data.voided_lines})", money(data.voided_lines_total)))
    blocks.append(Columns("No sales (drawer opened)", str(data.no_sales)))

    blocks += [Rule(), Text("Cash drawer", bold=True)]
    blocks.append(Columns("Opening float", money(data.opening_float)))
    blocks.append(Columns("Cash kept for sales", money(data.cash_sales)))
    for entry in data.paid_in:
        blocks.append(Columns(f"Paid in: {entry.reason}", money(entry.amount)))
    for entry in data.paid_out:
        blocks.append(Columns(f"Paid out: {entry.reason}", money(-abs(entry.amount))))
    if data.cash_refunds:
        blocks.append(Columns("Cash refunds (returns)", money(-abs(data.cash_refunds))))
    blocks.append(Columns("Expected cash", money(data.expected_cash), bold=True))
    over_short = data.over_short
    if data.counted_cash is not None and over_short is not None:
        blocks.append(Columns("Counted cash", money(data.counted_cash)))
        label = "Over" if over_short > 0 else "Short" if over_short < 0 else "Over/short"
        blocks.append(Columns(label, money(over_short), bold=True))
    others = [c for c in data.counts if c.kind.lower() != "cash"]
    if others:
        blocks += [Rule(), Text("Other tenders counted", bold=True)]
        for c in others:
            blocks.append(Columns(f"{c.kind} expected", money(c.expected)))
            if c.counted is None or c.over_short is None:
                blocks.append(Columns(f"{c.kind} counted", "not counted"))
            else:
                blocks.append(Columns(f"{c.kind} counted", money(c.counted)))
                blocks.append(Columns(f"{c.kind} over/short", money(c.over_short)))
    if kind == "Z" and data.audit_seq is not None:
        blocks += [
            Rule(),
            Columns("Audit trail to entry", str(data.audit_seq)),
            Text(f"hash {data.audit_hash[:32]}"),
        ]
    blocks.append(Feed(2))
    blocks.append(Columns("Signature", "_" * max(8, width_chars // 2)))
    blocks.append(Cut())
    return Document(kind="shift_report", width_chars=width_chars, blocks=blocks)
