"""Shift reports (X: mid-shift reading, Z: end-of-shift close) laid out as device-neutral documents.

The shift service computes every figure (float, sales by tender, paid in/out, expected cash); this module only
prints them, plus the over/short which is the plain difference counted - expected.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from app.documents.model import Block, Columns, Cut, Document, Feed, Rule, Text, format_money
from app.documents.receipt import format_local_time

ReportKind = Literal["X", "Z"]


@dataclass(frozen=True)
class TenderTotal:
    """Sales taken with one tender kind during the shift."""

    kind: str
    count: int
    amount: Decimal


@dataclass(frozen=True)
class CashMovement:
    """A paid-in or paid-out entry (reason as typed by the cashier)."""

    reason: str
    amount: Decimal


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
    refunds_total: Decimal = Decimal("0")
    counted_cash: Decimal | None = None
    closed_at: datetime | None = None
    currency: str = "EUR"
    locale: str = "en_US"

    @property
    def over_short(self) -> Decimal | None:
        """Counted minus expected: positive is over, negative is short."""
        if self.counted_cash is None:
            return None
        return self.counted_cash - self.expected_cash


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
    blocks.append(Rule())
    blocks.append(Text("Sales by tender", bold=True))
    total_sales = Decimal("0")
    for tender in data.sales_by_tender:
        blocks.append(Columns(f"{tender.kind} ({tender.count})", money(tender.amount)))
        total_sales += tender.amount
    blocks.append(Columns("Total sales", money(total_sales), bold=True))
    if data.refunds_total:
        blocks.append(Columns("Refunds", money(-abs(data.refunds_total))))
    blocks.append(Rule())
    blocks.append(Text("Cash drawer", bold=True))
    blocks.append(Columns("Opening float", money(data.opening_float)))
    for entry in data.paid_in:
        blocks.append(Columns(f"Paid in: {entry.reason}", money(entry.amount)))
    for entry in data.paid_out:
        blocks.append(Columns(f"Paid out: {entry.reason}", money(-abs(entry.amount))))
    blocks.append(Columns("Expected cash", money(data.expected_cash), bold=True))
    over_short = data.over_short
    if data.counted_cash is not None and over_short is not None:
        blocks.append(Columns("Counted cash", money(data.counted_cash)))
        label = "Over" if over_short > 0 else "Short" if over_short < 0 else "Over/short"
        blocks.append(Columns(label, money(over_short), bold=True))
    blocks.append(Feed(2))
    blocks.append(Columns("Signature", "_" * max(8, width_chars // 2)))
    blocks.append(Cut())
    return Document(kind="shift_report", width_chars=width_chars, blocks=blocks)
