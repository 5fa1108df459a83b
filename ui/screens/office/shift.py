"""Office > Shift: open a shift with its float, paid in and paid out, the X report (a reading) and the blind close.

The close is blind: the person counts the drawer before the expected amounts are shown, so the count is not
steered by the figure it should reach.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from itertools import zip_longest
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.services import drawer, shifts
from app.services.base import Actor, Changes
from ui.screens.office.base import OfficeTab
from ui.screens.office.tables import button

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the op helper's session, handed to services only


# Euro notes and coins, largest first, as the drawer is counted.
DENOMINATIONS = [
    "500",
    "200",
    "100",
    "50",
    "20",
    "10",
    "5",
    "2",
    "1",
    "0.50",
    "0.20",
    "0.10",
    "0.05",
    "0.02",
    "0.01",
]


@dataclass
class _Done:
    """A service's result with what it changed, so the op helper tells every screen (services here return data)."""

    value: Any
    changes: Changes


class ShiftTab(OfficeTab):
    """The Shift tab; see the module docstring."""

    shift: shifts.ShiftView | None
    _focus_next: QWidget | None
    _closed_text: str

    def _build_shift(self) -> QWidget:
        page = QWidget()
        self.shift_page = page
        outer = QHBoxLayout(page)

        left = QVBoxLayout()
        self.shift_status = QLabel(self.tr("No shift open."))
        self.shift_status.setObjectName("screenTitle")
        self.shift_status.setWordWrap(True)
        left.addWidget(self.shift_status)
        self.shift_figures = QLabel()
        self.shift_figures.setWordWrap(False)  # columns of figures: a wrapped line would break them
        self.shift_figures.setTextFormat(Qt.TextFormat.PlainText)
        self.shift_figures.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.shift_figures.setStyleSheet("font-family: monospace; font-size: 16px;")
        left.addWidget(self.shift_figures, 1)
        self.close_result = QLabel()
        self.close_result.setTextFormat(Qt.TextFormat.PlainText)
        self.close_result.setStyleSheet("font-family: monospace; font-size: 18px;")
        left.addWidget(self.close_result)

        open_box = QGroupBox(self.tr("Open shift"))
        ol = QHBoxLayout(open_box)
        self.float_edit = QLineEdit()
        self.float_edit.setPlaceholderText(self.tr("Float in the drawer, e.g. 150.00"))
        self.float_edit.setMinimumHeight(48)
        self.float_edit.returnPressed.connect(self.open_shift)
        self.open_btn = button(self.tr("Open shift"), self.open_shift, "primary")
        ol.addWidget(self.float_edit, 1)
        ol.addWidget(self.open_btn)
        left.addWidget(open_box)
        self.open_box = open_box

        cash_box = QGroupBox(self.tr("Paid in / paid out"))
        # The amount and the reason on one row, the buttons under them: on 1024x768 a single row left the reason
        # too narrow for its own hint.
        cv = QVBoxLayout(cash_box)
        cl = QHBoxLayout()
        buttons = QHBoxLayout()
        cv.addLayout(cl)
        cv.addLayout(buttons)
        self.cash_amount = QLineEdit()
        self.cash_amount.setPlaceholderText(self.tr("Amount"))
        self.cash_amount.setMinimumHeight(48)
        self.cash_amount.setMaximumWidth(140)
        self.cash_reason = QLineEdit()
        self.cash_reason.setPlaceholderText(self.tr("Reason (e.g. window cleaner)"))
        self.cash_reason.setMinimumHeight(48)
        self.paid_in_btn = button(self.tr("Paid in"), lambda: self.cash_movement("in"))
        self.paid_out_btn = button(self.tr("Paid out"), lambda: self.cash_movement("out"))
        for w in (self.cash_amount, self.cash_reason):
            cl.addWidget(w, 1 if w is self.cash_reason else 0)
        buttons.addWidget(self.paid_in_btn)
        buttons.addWidget(self.paid_out_btn)
        left.addWidget(cash_box)
        self.cash_box = cash_box

        self.x_btn = button(self.tr("X report (reading, shift stays open)"), self.x_report)
        left.addWidget(self.x_btn)
        outer.addLayout(left, 3)

        close_box = QGroupBox(self.tr("Close shift: count the drawer"))
        self.close_box = close_box
        rl = QVBoxLayout(close_box)
        hint = QLabel(
            self.tr(
                "Count every note and coin, then the card total; the expected amounts are shown "
                "after you submit."
            )
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        rl.addWidget(hint)
        grid = QGridLayout()
        self.denoms: dict[str, QSpinBox] = {}
        for i, d in enumerate(DENOMINATIONS):
            label = QLabel(self.money(Decimal(d)))
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            spin = QSpinBox()
            spin.setRange(0, 9999)
            spin.setMinimumHeight(44)
            spin.setMinimumWidth(80)
            spin.setObjectName(f"denom_{d}")
            spin.valueChanged.connect(lambda _v: self._counting())
            self.denoms[d] = spin
            row, col = i % 5, (i // 5) * 2
            grid.addWidget(label, row, col)
            grid.addWidget(spin, row, col + 1)
        rl.addLayout(grid)
        card = QFormLayout()
        self.card_total = QLineEdit()
        self.card_total.setPlaceholderText(self.tr("Card total from the terminal"))
        self.card_total.setMinimumHeight(48)
        self.card_total.textEdited.connect(lambda _t: self._counting())
        card.addRow(self.tr("Card total"), self.card_total)
        rl.addLayout(card)
        self.close_btn = button(self.tr("Close shift"), self.close_shift, "danger")
        rl.addWidget(self.close_btn)
        rl.addStretch(1)
        outer.addWidget(close_box, 2)
        return page

    def refresh_shift(self) -> None:
        def read(s: Session) -> tuple[shifts.ShiftView | None, shifts.ShiftFigures | None]:
            shift = shifts.current_shift(s)
            return shift, (shifts.x_report(s) if shift is not None else None)

        self.ctx.ops.read(read, self._show_shift)

    def _show_shift(self, res: tuple[shifts.ShiftView | None, shifts.ShiftFigures | None]) -> None:
        shift, figures = res
        self.shift = shift
        is_open = shift is not None
        self.open_box.setEnabled(not is_open)
        self.cash_box.setEnabled(is_open)
        self.x_btn.setEnabled(is_open)
        self.close_btn.setEnabled(is_open)
        if self._focus_next is not None:
            self._focus_next.setFocus()
            self._focus_next = None
        if shift is None or figures is None:
            self.shift_status.setText(self.tr("No shift open: count the float and open a shift."))
            self.shift_figures.setText(self._closed_text)  # the last close's figures, until a shift opens
            return
        self.shift_status.setText(
            self.tr("Shift {0} open since {1} ({2})").format(
                shift.number, self.when(shift.opened_at), shift.opened_by_name
            )
        )
        # Expected cash stays hidden here so the close remains a blind count.
        self.shift_figures.setText(self._figures_text(figures, with_expected=False))

    def _line(self, label: str, value: Decimal | str) -> str:
        text = self.money(value) if isinstance(value, Decimal) else value
        return f"{label:<24}{text:>16}"

    def _figures_text(self, f: shifts.ShiftFigures, with_expected: bool) -> str:
        """The shift's figures; without `with_expected` (the blind view) no amount taken is shown, since the
        float plus the cash taken is the expected cash the count must not be steered by."""
        if not with_expected:
            return "\n".join(
                [
                    self._line(self.tr("Opening float"), f.opening_float),
                    self._line(self.tr("Completed sales"), str(f.sales_count)),
                    self._line(self.tr("Paid in"), f.paid_in_total),
                    self._line(self.tr("Paid out"), f.paid_out_total),
                    self._line(self.tr("No sales"), str(f.no_sales)),
                    self._line(self.tr("Voided sales"), str(f.voided_sales)),
                    "",
                    self.tr("Amounts taken and the expected cash are shown\nafter the count is submitted."),
                ]
            )

        def cell(label: str, value: Decimal | str) -> str:
            text = self.money(value) if isinstance(value, Decimal) else value
            return f"{label[:18]:<18}{text:>11}"

        def tender(t: shifts.TenderFigure) -> list[str]:
            sold = self.tr("1 sale") if t.sales == 1 else self.tr("{0} sales").format(t.sales)
            counts = self.tr("{0}, {1} paid").format(sold, t.payments)
            return [cell(shifts.TENDER_WORDS.get(t.kind, t.kind), t.amount), "  " + counts]

        # Two columns (sales | drawer), so a busy day's figures fit above the count on a small screen.
        sales_side = [
            cell(self.tr("Completed sales"), str(f.sales_count)),
            cell(self.tr("Gross sales"), f.gross_sales),
            cell(self.tr("Discounts"), -f.discount_total),
            cell(self.tr("Net sales"), f.sales_total),
            cell(self.tr("Tax in it") if f.tax_mode != "exclusive" else self.tr("Tax"), f.tax_total),
            cell(self.tr("Cash rounding"), f.cash_rounding),
            *(line for t in f.by_tender for line in tender(t)),
        ]
        drawer_side = [
            cell(self.tr("Opening float"), f.opening_float),
            cell(self.tr("Change given"), -f.change_given),
            cell(self.tr("Paid in"), f.paid_in_total),
            cell(self.tr("Paid out"), f.paid_out_total),
            cell(self.tr("Cash refunds"), -f.cash_refunds),
            cell(self.tr("No sales"), str(f.no_sales)),
            cell(self.tr("Voided sales"), str(f.voided_sales)),
            cell(self.tr("Voided lines"), str(f.voided_lines)),
            cell(self.tr("Expected cash"), f.expected_cash),
        ]
        return "\n".join(
            f"{left:<29}  {right}".rstrip()
            for left, right in zip_longest(sales_side, drawer_side, fillvalue="")
        )

    def _counting(self) -> None:
        """The count has started: whatever a reading put on screen goes, so the count stays blind."""
        if self.shift_page.property("reading"):
            self.shift_page.setProperty("reading", False)
            self.refresh_shift()

    def open_shift(self) -> None:
        amount = self._parse(self.float_edit)
        if amount is None:
            return

        def done(_r: Any) -> None:
            self.float_edit.clear()
            self.close_result.clear()
            self._closed_text = ""
            self._focus_next = self.cash_amount  # enabled only once the refreshed shift arrives
            self.ctx.messages.show_notice(
                self.tr("Shift opened with a float of {0}.").format(self.money(amount))
            )

        self.ctx.ops.run(lambda s, a: _Done(shifts.open_shift(s, a, amount), Changes(shift=True)), done)

    def cash_movement(self, direction: str) -> None:
        amount = self._parse(self.cash_amount)
        if amount is None:
            return
        reason = self.cash_reason.text().strip()
        if not reason:
            self._error(self.tr("Say what the money is for, then press the button again."))
            self.cash_reason.setFocus()
            return
        why: drawer.Reason = "paid_in" if direction == "in" else "paid_out"

        def done(opened: drawer.DrawerOpened) -> None:
            self._kick(opened)
            self.cash_amount.clear()
            self.cash_reason.clear()
            self.cash_amount.setFocus()
            text = self.tr("Paid in {0}: {1}.") if direction == "in" else self.tr("Paid out {0}: {1}.")
            self.ctx.messages.show_notice(text.format(self.money(amount), reason))

        self.ctx.ops.run(lambda s, a: drawer.open_drawer(s, a, why, amount, reason), done)

    def x_report(self) -> None:
        def call(s: Session, a: Actor) -> _Done:
            shifts.print_x_report(s, a)
            # Not `shift`: the reading changes nothing of the shift, and a shift refresh would hide these figures.
            return _Done(shifts.x_report(s), Changes(print_queue=True))

        def done(result: _Done) -> None:
            self.shift_figures.setText(
                self.tr("X report (printing):") + "\n" + self._figures_text(result.value, with_expected=True)
            )
            # Shown until the count starts (see _counting): a reading is not a count.
            self.shift_page.setProperty("reading", True)
            self.ctx.messages.show_notice(self.tr("X report sent to the printer; the shift stays open."))
            self.x_btn.setFocus()

        self.ctx.ops.run(call, done)

    def counted_cash(self) -> Decimal:
        return sum((Decimal(d) * spin.value() for d, spin in self.denoms.items()), Decimal("0.00"))

    def close_shift(self) -> None:
        other: dict[str, Decimal] = {}
        if self.card_total.text().strip():
            card = self._parse(self.card_total)
            if card is None:
                return
            other["card"] = card
        counts = {Decimal(d): spin.value() for d, spin in self.denoms.items() if spin.value()}

        def done(result: _Done) -> None:
            z: shifts.ZReport = result.value
            lines = [self.tr("Shift {0} closed; Z report sent to the printer.").format(z.number), ""]
            lines.append(
                f"{'':<14}{self.tr('Expected'):>14}{self.tr('Counted'):>14}{self.tr('Over/short'):>14}"
            )
            for c in z.counts:
                counted = self.money(c.counted) if c.counted is not None else self.tr("not counted")
                diff = self.money(c.over_short) if c.over_short is not None else ""
                lines.append(
                    f"{shifts.TENDER_WORDS.get(c.kind, c.kind):<14}{self.money(c.expected):>14}"
                    f"{counted:>14}{diff:>14}"
                )
            self.close_result.setText("\n".join(lines))
            self._closed_text = self.tr("Z report of shift {0}:").format(z.number) + "\n"
            self._closed_text += self._figures_text(z.figures, with_expected=True)
            self.shift_figures.setText(self._closed_text)
            for spin in self.denoms.values():
                spin.setValue(0)
            self.card_total.clear()
            self._focus_next = self.float_edit

        self.ctx.ops.run(
            lambda s, a: _Done(
                shifts.close_shift(s, a, counts, other), Changes(shift=True, print_queue=True, outbox=True)
            ),
            done,
        )
