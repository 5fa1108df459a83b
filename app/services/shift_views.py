"""The plain views of a shift that the shift service returns: the shift itself, a cash movement, the figures of an
X reading or a Z report (each tender's part), and the Z close's counts. Re-exported by app.services.shifts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from app.documents.receipt import TaxSummaryRow
from app.domain.money import ZERO


@dataclass(frozen=True)
class ShiftView:
    id: str
    number: str
    terminal: str
    status: str
    opened_by: str
    opened_by_name: str
    opened_at: datetime
    opening_float: Decimal


@dataclass(frozen=True)
class CashMovementView:
    id: str
    kind: str  # paid_in, paid_out, no_sale
    amount: Decimal
    reason: str
    open_drawer: bool = True


@dataclass(frozen=True)
class TenderFigure:
    """One tender over the shift: the sales it paid (in part or whole), its payments, and the amount kept
    (cash: net of change)."""

    kind: str
    sales: int
    payments: int
    amount: Decimal

    @property
    def count(self) -> int:
        """Payments taken with this tender (kept for readers of the older field)."""
        return self.payments


@dataclass(frozen=True)
class ShiftFigures:
    """What an X reading shows, and what a Z report is built from. Each figure is computed once, here, from the
    shift's orders, lines, payments and cash movements; screens and reports only show them."""

    shift_id: str
    number: str
    terminal: str
    opened_by_name: str
    opened_at: datetime
    opening_float: Decimal
    sales_count: int
    sales_total: Decimal  # net sales: what the completed sales came to (order totals)
    by_tender: list[TenderFigure]
    paid_in: list[tuple[str, Decimal]]
    paid_out: list[tuple[str, Decimal]]
    paid_in_total: Decimal
    paid_out_total: Decimal
    no_sales: int
    voided_sales: int
    cash_sales: Decimal  # cash kept for sales: tendered minus change
    expected_cash: Decimal
    gross_sales: Decimal = ZERO  # before discounts
    discount_total: Decimal = ZERO
    discounted_sales: int = 0
    tax_rows: list[TaxSummaryRow] = field(default_factory=list)  # by class and rate
    tax_total: Decimal = ZERO
    tax_mode: str = "inclusive"
    cash_rounding: Decimal = ZERO  # sum of the sales' cash rounding (+ taken above the total, - below)
    cash_tendered: Decimal = ZERO  # cash handed over by customers
    change_given: Decimal = ZERO
    voided_sales_total: Decimal = ZERO
    voided_lines: int = 0
    voided_lines_total: Decimal = ZERO
    refunds_total: Decimal = ZERO  # what the shift's returns gave back, every tender
    cash_refunds: Decimal = ZERO  # of which in cash, out of the drawer

    @property
    def tenders_total(self) -> Decimal:
        """Everything taken: net sales plus cash rounding."""
        return sum((t.amount for t in self.by_tender), ZERO)

    def tender_amount(self, kind: str) -> Decimal:
        return next((t.amount for t in self.by_tender if t.kind == kind), ZERO)


@dataclass(frozen=True)
class TenderCount:
    kind: str
    expected: Decimal
    counted: Decimal | None  # None: not counted at the close
    over_short: Decimal | None  # counted - expected: positive over, negative short


@dataclass(frozen=True)
class ZReport:
    shift_id: str
    number: str
    figures: ShiftFigures
    counted_cash: Decimal
    counts: list[TenderCount]
    cash_over_short: Decimal
    closed_at: datetime
    job_id: str
    denominations: dict[str, int] = field(default_factory=dict)
