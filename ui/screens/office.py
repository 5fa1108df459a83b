"""The Office workstation: shift (open, paid in/out, X report, blind close), print queue, audit trail, staff,
sync state and device settings, one tab each.

Every change goes through the op helper (`ctx.ops.run`), and every check of who may do it is made by the service
inside that call (`staff.require`), never by this screen: the screen only hides tabs a role cannot use so nobody
is shown buttons that will be refused. The close of a shift is blind: the person counts the drawer before the
expected amounts are shown, so the count is not steered by the figure it should reach.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.documents.receipt import format_local_time
from app.domain import barcodes
from app.domain.money import parse_money
from app.domain.permissions import Permission, Role, allowed
from app.services import (
    audit,
    catalog,
    device_settings,
    drawer,
    printing,
    sales,
    settings,
    shifts,
    staff,
    sync_review,
)
from app.services.base import Actor, Changes, UserError
from devices.scanners.wedge import AZERTY_DIGIT_ROW, azerty_to_digits
from ui.camera_preview import RED, CameraPreview, breakable, camera_settings, describe_scan
from ui.context import AppContext
from ui.scan_router import wedge_config
from ui.screens.office_devices import DevicesForm
from ui.screens.office_support import SupportPanel

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
DEVICE_KEYS = ["devices.receipt_printer", "devices.label_printer", "devices.drawer", "devices.scanner"]
ROW_HEIGHT = 44


def _table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def _fill(table: QTableWidget, rows: list[list[str]], keys: list[str] | None = None) -> None:
    """Replace the rows; `keys` (a record id per row) ride on column 0 so a button knows what it acts on."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c == 0 and keys is not None:
                item.setData(Qt.ItemDataRole.UserRole, keys[r])
            table.setItem(r, c, item)


def _selected_key(table: QTableWidget) -> str | None:
    row = table.currentRow()
    item = table.item(row, 0) if row >= 0 else None
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)


def _button(text: str, slot: Callable[[], None], name: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(48)
    if name:
        b.setObjectName(name)
    b.clicked.connect(lambda _checked=False: slot())
    return b


@dataclass
class _Done:
    """A service's result with what it changed, so the op helper tells every screen (services here return data)."""

    value: Any
    changes: Changes


class _Gate(QStackedWidget):
    """A tab's content, or a plain sentence saying who may use it when the signed-in role may not."""

    def __init__(self, permission: Permission, what: str, content: QWidget) -> None:
        super().__init__()
        self.permission = permission
        self.what = what
        self.denied = QLabel()
        self.denied.setObjectName("bigCaption")
        self.denied.setWordWrap(True)
        self.denied.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.denied)
        self.content = content
        self.addWidget(content)

    def update_for(self, role: str | None) -> bool:
        """Show the content when `role` may use it; returns whether it does."""
        if role is not None and allowed(role, self.permission):
            self.setCurrentWidget(self.content)
            return True
        roles = ", ".join(r.value.replace("_", " ") for r in Role if allowed(r, self.permission))
        self.denied.setText(
            self.tr("Only these roles may {0}: {1}. Ask one of them to sign in.").format(self.what, roles)
        )
        self.setCurrentWidget(self.denied)
        return False

    @property
    def open(self) -> bool:
        return self.currentWidget() is self.content


class OfficeScreen(QWidget):
    """Back-office work at the counter, one tab per job; see the module docstring."""

    title = "Office"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.shift: shifts.ShiftView | None = None
        self._focus_next: QWidget | None = None  # where focus goes once the shift tab has redrawn
        self._closed_text = ""  # the figures of the shift just closed (shown once its count is submitted)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs)
        self.tabs.addTab(self._build_shift(), self.tr("Shift"))
        self.tabs.addTab(self._build_queue(), self.tr("Print queue"))
        self.audit_gate = _Gate(Permission.AUDIT_VIEW, self.tr("view the audit trail"), self._build_audit())
        self.tabs.addTab(self.audit_gate, self.tr("Audit"))
        self.staff_gate = _Gate(Permission.USER_MANAGEMENT, self.tr("manage staff"), self._build_staff())
        self.tabs.addTab(self.staff_gate, self.tr("Staff"))
        self.tabs.addTab(self._build_sync(), self.tr("Sync"))
        self.devices_gate = _Gate(
            Permission.DEVICE_SETTINGS, self.tr("change device settings"), self._build_devices()
        )
        self.tabs.addTab(self.devices_gate, self.tr("Devices"))
        self.support = SupportPanel(ctx)  # copy diagnostics for the store's support (ui/screens/office_support.py)
        self.tabs.addTab(self.support, self.tr("Support"))
        self.tabs.currentChanged.connect(lambda _i: self._refresh_tab())

    # -- shared ----------------------------------------------------------------------------------------------
    def money(self, amount: Decimal) -> str:
        return format_money(Decimal(amount), self.ctx.here.currency, self.ctx.here.locale)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_local_time(moment, self.ctx.here.timezone, self.ctx.here.locale)

    def _error(self, message: str) -> None:
        self.ctx.messages.show_error(message)  # red, with the low tone

    def _parse(self, field: QLineEdit) -> Decimal | None:
        """An amount from a field, or None after telling the person what is wrong with it."""
        try:
            return parse_money(field.text())
        except ValueError as exc:
            self._error(str(exc))
            field.setFocus()
            field.selectAll()
            return None

    def activate(self) -> None:
        role = self.ctx.user.role if self.ctx.user is not None else None
        for gate in (self.audit_gate, self.staff_gate, self.devices_gate):
            gate.update_for(role)
        self._refresh_tab()

    def _refresh_tab(self) -> None:
        w = self.tabs.currentWidget()
        if w is self.shift_page:
            self.refresh_shift()
        elif w is self.queue_page:
            self.refresh_queue()
        elif w is self.audit_gate and self.audit_gate.open:
            self.search_audit()
        elif w is self.staff_gate and self.staff_gate.open:
            self.refresh_staff()
        elif w is self.sync_page:
            self.refresh_sync()
        elif w is self.devices_gate and self.devices_gate.open:
            self.load_devices()

    def on_changed(self, changes: Changes) -> None:
        # Every op that writes reports what it wrote (ui/ops.py): a hidden Office redraws when it is shown.
        if not self.isVisible():
            return
        if changes.shift:
            self.refresh_shift()
        if changes.print_queue:
            self.refresh_queue()
        if changes.staff and self.staff_gate.open:
            self.refresh_staff()
        if changes.outbox and self.tabs.currentWidget() is self.sync_page:
            self.refresh_sync()
        if changes.settings and self.devices_gate.open:
            self.load_devices()

    # -- 1. shift --------------------------------------------------------------------------------------------
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
        self.open_btn = _button(self.tr("Open shift"), self.open_shift, "primary")
        ol.addWidget(self.float_edit, 1)
        ol.addWidget(self.open_btn)
        left.addWidget(open_box)
        self.open_box = open_box

        cash_box = QGroupBox(self.tr("Paid in / paid out"))
        cl = QHBoxLayout(cash_box)
        self.cash_amount = QLineEdit()
        self.cash_amount.setPlaceholderText(self.tr("Amount"))
        self.cash_amount.setMinimumHeight(48)
        self.cash_amount.setMaximumWidth(140)
        self.cash_reason = QLineEdit()
        self.cash_reason.setPlaceholderText(self.tr("Reason (e.g. window cleaner)"))
        self.cash_reason.setMinimumHeight(48)
        self.paid_in_btn = _button(self.tr("Paid in"), lambda: self.cash_movement("in"))
        self.paid_out_btn = _button(self.tr("Paid out"), lambda: self.cash_movement("out"))
        for w in (self.cash_amount, self.cash_reason):
            cl.addWidget(w, 1 if w is self.cash_reason else 0)
        cl.addWidget(self.paid_in_btn)
        cl.addWidget(self.paid_out_btn)
        left.addWidget(cash_box)
        self.cash_box = cash_box

        self.x_btn = _button(self.tr("X report (reading, shift stays open)"), self.x_report)
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
        self.close_btn = _button(self.tr("Close shift"), self.close_shift, "danger")
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

    def _kick(self, opened: drawer.DrawerOpened) -> None:
        """The service has recorded why the drawer opens; the print worker sends the pulse."""
        worker = self.ctx.services.get("printer")
        if opened.open_drawer and worker is not None:
            worker.open_drawer()

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

    # -- 2. print queue --------------------------------------------------------------------------------------
    def _build_queue(self) -> QWidget:
        page = QWidget()
        self.queue_page = page
        lay = QVBoxLayout(page)
        self.queue_table = _table(
            [self.tr("Time"), self.tr("Title"), self.tr("Status"), self.tr("Attempts"), self.tr("Last error")]
        )
        lay.addWidget(self.queue_table, 1)
        row = QHBoxLayout()
        self.reprint_btn = _button(self.tr("Reprint"), self.reprint_job, "primary")
        self.cancel_btn = _button(self.tr("Cancel job"), self.cancel_job, "danger")
        self.retry_btn = _button(self.tr("Retry now"), self.retry_job)
        for b in (self.reprint_btn, self.cancel_btn, self.retry_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(_button(self.tr("Refresh"), self.refresh_queue))
        lay.addLayout(row)
        return page

    def refresh_queue(self) -> None:
        self.ctx.ops.read(printing.queue, self._show_queue)

    def _show_queue(self, jobs: list[printing.JobView]) -> None:
        keep = _selected_key(self.queue_table)
        rows = [
            [
                self.when(j.created_at),
                j.title,
                j.status.replace("_", " ") + (self.tr(" (copy printed)") if j.copy_printed else ""),
                str(j.attempts),
                j.last_error or "",
            ]
            for j in jobs
        ]
        keys = [j.id for j in jobs]
        _fill(self.queue_table, rows, keys)
        if keep in keys:
            self.queue_table.selectRow(keys.index(keep))

    def _job_action(self, service: Callable[[Session, Actor, str], printing.JobDone], notice: str) -> None:
        """One service call per button: it checks the permission, writes the audit entry and says what changed."""
        job_id = _selected_key(self.queue_table)
        if job_id is None:
            self._error(self.tr("Pick a job in the list first."))
            self.queue_table.setFocus()
            return

        def done(_r: Any) -> None:
            self.ctx.messages.show_notice(notice)
            self.queue_table.setFocus()

        self.ctx.ops.run(lambda s, a: service(s, a, job_id), done)

    def reprint_job(self) -> None:
        self._job_action(printing.reprint_job, self.tr("A copy is in the print queue."))

    def cancel_job(self) -> None:
        self._job_action(printing.cancel_job, self.tr("Job cancelled: it will not print."))

    def retry_job(self) -> None:
        self._job_action(printing.retry_job, self.tr("The job will be sent to the printer now."))

    # -- 3. audit --------------------------------------------------------------------------------------------
    def _build_audit(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        filters = QHBoxLayout()
        self.audit_person = QComboBox()
        self.audit_person.setMinimumHeight(48)
        self.audit_person.addItem(self.tr("Everyone"), None)
        self.audit_action = QLineEdit()
        self.audit_action.setPlaceholderText(self.tr("Action starts with, e.g. staff."))
        self.audit_record = QLineEdit()
        self.audit_record.setPlaceholderText(self.tr("Record id"))
        self.audit_from = QLineEdit()
        self.audit_from.setPlaceholderText(self.tr("From YYYY-MM-DD"))
        self.audit_to = QLineEdit()
        self.audit_to.setPlaceholderText(self.tr("To YYYY-MM-DD"))
        filters.addWidget(self.audit_person, 2)
        for w in (self.audit_from, self.audit_to):
            w.setMinimumWidth(190)  # room for the whole YYYY-MM-DD hint
        for w in (self.audit_action, self.audit_record, self.audit_from, self.audit_to):
            w.setMinimumHeight(48)
            w.returnPressed.connect(self.search_audit)
            filters.addWidget(w, 2 if w in (self.audit_action, self.audit_record) else 1)
        filters.addWidget(_button(self.tr("Search"), self.search_audit, "primary"))
        lay.addLayout(filters)
        self.audit_table = _table(
            [
                self.tr("#"),
                self.tr("Time"),
                self.tr("Who"),
                self.tr("Terminal"),
                self.tr("Action"),
                self.tr("Record"),
                self.tr("Details"),
            ]
        )
        lay.addWidget(self.audit_table, 1)
        row = QHBoxLayout()
        self.verify_btn = _button(self.tr("Verify chain"), self.verify_chain)
        self.export_btn = _button(self.tr("Export CSV…"), self.export_csv)
        self.audit_result = QLabel()
        self.audit_result.setWordWrap(True)
        row.addWidget(self.verify_btn)
        row.addWidget(self.export_btn)
        row.addWidget(self.audit_result, 1)
        lay.addLayout(row)
        self.audit_rows: list[audit.AuditRow] = []
        return page

    def _day(self, field: QLineEdit, end: bool) -> datetime | None | bool:
        """A typed store-local date as a UTC bound (the start of the next day for `to`); False when unreadable."""
        text = field.text().strip()
        if not text:
            return None
        try:
            d = date.fromisoformat(text)
        except ValueError:
            self._error(self.tr("'{0}' is not a date: write it as 2025-03-31.").format(text))
            field.setFocus()
            return False
        if end:
            d = date.fromordinal(d.toordinal() + 1)
        return datetime.combine(d, time(0), ZoneInfo(self.ctx.here.timezone)).astimezone(UTC)

    def search_audit(self, then: Callable[[list[audit.AuditRow]], None] | None = None) -> None:
        since, until = self._day(self.audit_from, False), self._day(self.audit_to, True)
        if since is False or until is False:
            return
        user_id = self.audit_person.currentData()
        action = self.audit_action.text().strip() or None
        record_id = self.audit_record.text().strip() or None
        assert not isinstance(since, bool) and not isinstance(until, bool)

        def call(s: Session, a: Actor) -> audit.Trail:
            return audit.view_trail(
                s, a, user_id=user_id, action=action, record_id=record_id, since=since, until=until
            )

        def done(res: audit.Trail) -> None:
            rows = res.rows
            self._fill_people(res.people)
            self.audit_rows = rows
            _fill(
                self.audit_table,
                [
                    [
                        str(r.seq),
                        self.when(r.at),
                        r.user_name,
                        r.terminal,
                        r.action,
                        f"{r.record_type} {r.record_id}".strip(),
                        json.dumps(r.details, default=str) if r.details else "",
                    ]
                    for r in rows
                ],
            )
            self.audit_result.setStyleSheet("")
            self.audit_result.setText(self.tr("{0} entries.").format(len(rows)))
            if then is not None:
                then(rows)

        self.ctx.ops.run(call, done)

    def _fill_people(self, users: list[tuple[str, str]]) -> None:
        current = self.audit_person.currentData()
        if self.audit_person.count() == len(users) + 1:
            return  # the list is there already; rebuilding it would drop what the person picked
        self.audit_person.blockSignals(True)
        self.audit_person.clear()
        self.audit_person.addItem(self.tr("Everyone"), None)
        for user_id, name in users:
            self.audit_person.addItem(name, user_id)
        i = self.audit_person.findData(current)
        self.audit_person.setCurrentIndex(max(0, i))
        self.audit_person.blockSignals(False)

    def verify_chain(self) -> None:
        def done(brk: Any) -> None:
            if brk is None:
                self.audit_result.setText(
                    self.tr("Audit chain intact: no entry was changed, moved or removed.")
                )
                self.audit_result.setStyleSheet("color: #166534; font-weight: 600;")
            else:
                self.audit_result.setText(
                    self.tr("Audit chain broken at entry {0}: {1}. Tell the head office.").format(
                        brk.seq, brk.reason
                    )
                )
                self.audit_result.setStyleSheet("color: #b91c1c; font-weight: 600;")
            self.verify_btn.setFocus()

        self.ctx.ops.run(audit.check_chain, done)

    def export_csv(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export the audit trail"), "audit.csv", self.tr("CSV files (*.csv)")
        )
        if name:
            self.export_csv_to(Path(name))

    def export_csv_to(self, path: Path) -> None:
        """Search with the filters shown (permission checked again) and write the rows as CSV to `path`."""

        def write(rows: list[audit.AuditRow]) -> None:
            try:
                path.write_text(audit.to_csv(rows), encoding="utf-8", newline="")
            except OSError as exc:
                self._error(
                    self.tr("Could not write {0}: {1}. Pick another folder.").format(path, exc.strerror)
                )
                return
            self.ctx.messages.show_notice(self.tr("{0} entries written to {1}.").format(len(rows), path))
            self.export_btn.setFocus()

        self.search_audit(then=write)

    # -- 4. staff --------------------------------------------------------------------------------------------
    def _build_staff(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.staff_table = _table(
            [self.tr("Name"), self.tr("Sign-in name"), self.tr("Role"), self.tr("Badge"), self.tr("State")]
        )
        lay.addWidget(self.staff_table, 1)

        edit = QHBoxLayout()
        self.toggle_btn = _button(self.tr("Disable / enable"), self.toggle_user)
        self.reset_pin = QLineEdit()
        self.reset_pin.setPlaceholderText(self.tr("New PIN"))
        self.reset_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset_pin.setMaxLength(8)
        self.reset_pin.setMinimumHeight(48)
        self.reset_pin.setMaximumWidth(140)
        self.reset_btn = _button(self.tr("Reset PIN"), self.reset_user_pin)
        self.change_role = self._role_combo()
        self.role_btn = _button(self.tr("Change role"), self.change_user_role)
        for w in (self.toggle_btn, self.reset_pin, self.reset_btn, self.change_role, self.role_btn):
            edit.addWidget(w)
        edit.addStretch(1)
        lay.addLayout(edit)

        add = QGroupBox(self.tr("Add user"))
        al = QHBoxLayout(add)
        self.new_username = QLineEdit()
        self.new_username.setPlaceholderText(self.tr("Sign-in name"))
        self.new_display = QLineEdit()
        self.new_display.setPlaceholderText(self.tr("Display name"))
        self.new_role = self._role_combo()
        self.new_pin = QLineEdit()
        self.new_pin.setPlaceholderText(self.tr("PIN"))
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pin.setMaxLength(8)
        self.new_badge = QLineEdit()
        self.new_badge.setPlaceholderText(self.tr("Badge (optional)"))
        self.add_btn = _button(self.tr("Add user"), self.add_user, "primary")
        for w in (self.new_username, self.new_display, self.new_role, self.new_pin, self.new_badge):
            w.setMinimumHeight(48)
            al.addWidget(w, 1)
        al.addWidget(self.add_btn)
        lay.addWidget(add)
        return page

    def _role_combo(self) -> QComboBox:
        c = QComboBox()
        c.setMinimumHeight(48)
        for r in Role:
            c.addItem(r.value.replace("_", " "), r.value)
        return c

    def refresh_staff(self) -> None:
        self.ctx.ops.run(staff.users_to_manage, self._show_staff)

    def _show_staff(self, users: list[staff.StaffView]) -> None:
        keep = _selected_key(self.staff_table)
        keys = [u.id for u in users]
        self._users = {u.id: u for u in users}
        _fill(
            self.staff_table,
            [
                [
                    u.display_name,
                    u.username,
                    u.role.replace("_", " "),
                    u.badge_code or "",
                    (self.tr("active") if u.active else self.tr("disabled"))
                    + (self.tr(" · PIN too short: reset it") if u.pin_too_short else ""),
                ]
                for u in users
            ],
            keys,
        )
        if keep in keys:
            self.staff_table.selectRow(keys.index(keep))

    def _picked_user(self) -> staff.StaffView | None:
        key = _selected_key(self.staff_table)
        if key is None:
            self._error(self.tr("Pick a person in the list first."))
            self.staff_table.setFocus()
            return None
        return self._users[key]

    def _update_user(
        self,
        user_id: str,
        notice: str,
        focus: QWidget,
        then: Callable[[], None] | None = None,
        **changes: Any,
    ) -> None:
        def done(_r: Any) -> None:
            if then is not None:
                then()
            self.ctx.messages.show_notice(notice)
            focus.setFocus()

        self.ctx.ops.run(lambda s, a: staff.update_user(s, a, user_id, **changes), done)

    def add_user(self) -> None:
        username, display = self.new_username.text().strip(), self.new_display.text().strip()
        role, pin, badge = (
            self.new_role.currentData(),
            self.new_pin.text(),
            self.new_badge.text().strip() or None,
        )

        def done(_r: Any) -> None:
            for w in (self.new_username, self.new_display, self.new_pin, self.new_badge):
                w.clear()
            self.ctx.messages.show_notice(self.tr("{0} can now sign in as {1}.").format(display, username))
            self.new_username.setFocus()

        self.ctx.ops.run(lambda s, a: staff.create_user(s, a, username, display, role, pin, badge), done)

    def toggle_user(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        notice = (
            self.tr("{0} is disabled and cannot sign in.")
            if u.active
            else self.tr("{0} is enabled and can sign in.")
        ).format(u.display_name)
        self._update_user(u.id, notice, self.staff_table, active=not u.active)

    def reset_user_pin(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        pin = self.reset_pin.text()
        # Cleared once the PIN is set: a refused PIN (too short) stays to be corrected, like every form's input.
        self._update_user(
            u.id,
            self.tr("New PIN set for {0}.").format(u.display_name),
            self.staff_table,
            self.reset_pin.clear,
            pin=pin,
        )

    def change_user_role(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        role = self.change_role.currentData()
        self._update_user(
            u.id,
            self.tr("{0} is now {1}.").format(u.display_name, role.replace("_", " ")),
            self.staff_table,
            role=role,
        )

    # -- 5. sync ---------------------------------------------------------------------------------------------
    def _build_sync(self) -> QWidget:
        page = QWidget()
        self.sync_page = page
        lay = QVBoxLayout(page)
        self.sync_state = QLabel()
        self.sync_state.setObjectName("bigCaption")
        self.sync_state.setWordWrap(True)
        lay.addWidget(self.sync_state)
        self.sync_counts = QLabel()
        self.sync_counts.setStyleSheet("font-size: 22px; font-weight: 600;")
        lay.addWidget(self.sync_counts)
        # Read only: a store's tax mode, tax rounding and cash rounding are set at the central store.
        pricing_box = QGroupBox(self.tr("Pricing rule (set at the central store)"))
        self.pricing_rule = QLabel()
        self.pricing_rule.setObjectName("pricingRule")
        QVBoxLayout(pricing_box).addWidget(self.pricing_rule)
        lay.addWidget(pricing_box)
        # A first sync of a large catalog takes a while: show how far it is, off the agent's own figures.
        self.sync_progress = QProgressBar()
        self.sync_progress.setFormat(self.tr("Receiving from the central store: %v of %m"))
        self.sync_progress.hide()
        lay.addWidget(self.sync_progress)
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(250)
        self._sync_timer.timeout.connect(self._poll_sync)
        lay.addWidget(
            QLabel(self.tr("Events the central store refused (they need a person to look at them):"))
        )
        self.rejected_table = _table([self.tr("Time"), self.tr("Event"), self.tr("Why it was refused")])
        lay.addWidget(self.rejected_table, 1)
        # The other way round: changes from the central store this till could not take. They are set aside so
        # the rest of the feed (prices, orders, cancellations) keeps coming; a person looks at them.
        lay.addWidget(
            QLabel(
                self.tr("Changes from the central store this till could not apply (set aside, sync goes on):")
            )
        )
        self.parked_changes_table = _table(
            [self.tr("Time"), self.tr("Change"), self.tr("Of"), self.tr("Why it could not be applied")]
        )
        lay.addWidget(self.parked_changes_table, 1)
        row = QHBoxLayout()
        self.sync_btn = _button(self.tr("Sync now"), self.sync_now, "primary")
        row.addWidget(self.sync_btn)
        self.resend_btn = _button(self.tr("Send refused again"), self.resend_refused)
        row.addWidget(self.resend_btn)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    def _poll_sync(self) -> None:
        agent = self.ctx.services.get("sync")
        st = agent.status() if agent is not None and hasattr(agent, "status") else None
        progress = st.progress if st is not None and st.busy else None
        if progress is None:
            if self.sync_progress.isVisible():
                self.sync_progress.hide()
                self.refresh_sync()
            if st is None or not st.busy:
                self._sync_timer.stop()
            return
        done, total = progress
        self.sync_progress.setRange(0, max(total or 0, done, 1))
        self.sync_progress.setValue(done)
        self.sync_progress.show()
        if agent is not None:
            self.sync_state.setText(agent.status_text())

    def refresh_sync(self) -> None:
        agent = self.ctx.services.get("sync")
        self.sync_btn.setEnabled(agent is not None)
        if agent is not None and hasattr(agent, "status") and agent.status().busy:
            self._sync_timer.start()
        if agent is None:
            self.sync_state.setText(
                self.tr(
                    "This terminal is not enrolled with a central store: run `counterline enrol URL CODE`."
                )
            )
        else:
            status = getattr(agent, "status_text", None)
            self.sync_state.setText(
                status() if callable(status) else self.tr("Enrolled with a central store.")
            )

        self.ctx.ops.read(sync_review.review, self._show_sync)
        self.ctx.ops.read(sales.pricing_rule, self.pricing_rule.setText)

    def _show_sync(self, res: sync_review.SyncReview) -> None:
        counts = res.counts
        _fill(self.parked_changes_table, [[self.when(p.at), p.type, p.key, p.reason] for p in res.parked])
        self.sync_counts.setText(
            self.tr("Waiting to send: {0} · Sent: {1} · Refused: {2}").format(
                counts.get("pending", 0), counts.get("sent", 0), counts.get("rejected", 0)
            )
        )
        _fill(self.rejected_table, [[self.when(r.at), r.type, r.error] for r in res.refused])

    def sync_now(self) -> None:
        agent = self.ctx.services.get("sync")
        if agent is None:
            self._error(
                self.tr(
                    "This terminal is not enrolled with a central store: run `counterline enrol URL CODE`."
                )
            )
            return
        agent.sync_now()
        self._sync_timer.start()
        self.ctx.messages.show_notice(self.tr("Sync started; the counts update when it is done."))
        self.refresh_sync()
        self.sync_btn.setFocus()

    def resend_refused(self) -> None:
        """After the central store's data was put right: queue the refused events for the next round."""

        def done(resent: sync_review.Resent) -> None:
            n = resent.events
            agent = self.ctx.services.get("sync")
            if agent is not None:
                agent.sync_now()
            self.ctx.messages.show_notice(self.tr("{0} refused events will be sent again.").format(n))
            self.refresh_sync()

        self.ctx.ops.run(sync_review.resend_refused, done)

    # -- 6. devices ------------------------------------------------------------------------------------------
    def _build_devices(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        top = QHBoxLayout()
        # The fields of each device with its Test button, over the raw JSON (ui/screens/office_devices.py).
        self.devices_form = DevicesForm(DEVICE_KEYS)
        self.device_edits: dict[str, QPlainTextEdit] = self.devices_form.editors
        self.camera_dialog: CameraPreview | None = None
        top.addWidget(self.devices_form, 3)
        top.addWidget(self._build_scan_test(), 2)
        lay.addLayout(top, 1)
        row = QHBoxLayout()
        self.save_devices_btn = _button(self.tr("Save"), self.save_devices, "primary")
        self.test_page_btn = self.devices_form.test_buttons["devices.receipt_printer"]
        self.drawer_btn = self.devices_form.test_buttons["devices.drawer"]
        self.camera_btn = _button(self.tr("Camera preview"), self.open_camera_preview)
        tests: dict[str, Callable[[], None]] = {
            "devices.receipt_printer": self.print_test_page,
            "devices.label_printer": self.print_test_label,
            "devices.drawer": self.open_drawer,
            "devices.scanner": self.test_scanner,
        }
        self.devices_form.test_requested.connect(lambda key: tests[key]())
        for b in (self.save_devices_btn, self.camera_btn):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    def _build_scan_test(self) -> QGroupBox:
        """The box that shows what the scanner sends; it takes every scan while it is on screen."""
        box = QGroupBox(self.tr("Scan test"))
        box.setObjectName("scanTest")
        box.setMinimumWidth(340)
        self.scan_test_box = box
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 0, 0, 0)
        # On a small counter screen a long GS1 scan and a warning need more height than there is: scroll.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("scanTestInner")
        inner.setStyleSheet("QWidget#scanTestInner { background: transparent; }")
        scroll.viewport().setStyleSheet("background: transparent;")
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        bl = QVBoxLayout(inner)
        hint = QLabel(
            self.tr(
                "Scan any code: what the scanner sent, what it reads as and the product it finds show here. "
                "Nothing is sold."
            )
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        bl.addWidget(hint)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)

        def value(name: str, style: str) -> QLabel:
            label = QLabel("—")
            label.setObjectName(name)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setMinimumWidth(60)  # a long code wraps or clips; it never widens the tab
            label.setStyleSheet(style)
            return label

        self.scan_test_raw = value("scanTestRaw", "font-family: monospace; font-size: 19px;")
        self.scan_test_kind = value("scanTestKind", "font-size: 18px;")
        self.scan_test_product = value("scanTestProduct", "font-size: 18px;")
        for caption, label in (
            (self.tr("Sent by the scanner"), self.scan_test_raw),
            (self.tr("Reads as"), self.scan_test_kind),
            (self.tr("Product"), self.scan_test_product),
        ):
            cap = QLabel(caption)
            cap.setStyleSheet("color: #4b5563; font-size: 15px; margin-top: 6px;")
            form.addRow(cap, label)
        # The layout warning comes first: when it shows, it is what the person must act on.
        self.scan_test_warning = value("scanTestWarning", f"color: {RED}; font-weight: 600; font-size: 17px;")
        self.scan_test_warning.hide()
        bl.addWidget(self.scan_test_warning)
        bl.addLayout(form)
        bl.addStretch(1)
        # Routed scans reach the box only while it is visible: Devices tab open, the role allowed, no dialog.
        self.ctx.router.register(box, {"*": self.scan_test})
        self.ctx.router.refused.connect(self._scan_test_refused)
        return box

    def scan_test(self, result: barcodes.ScanResult) -> None:
        """Show one routed scan: the raw text, how it parses and (off the GUI thread) the product it finds."""
        raw = result.raw
        self.scan_test_raw.setText(breakable(raw) + "\n" + self.tr("({0} characters)").format(len(raw)))
        title, details = describe_scan(result, self.money)
        self.scan_test_kind.setText("\n".join(breakable(line) for line in [title, *details]))
        self.scan_test_kind.setStyleSheet(
            "font-size: 18px;" + (f" color: {RED};" if isinstance(result, barcodes.Unknown) else "")
        )
        self.scan_test_product.setText(self.tr("Looking it up…"))
        self.scan_test_product.setStyleSheet("font-size: 18px; color: #4b5563;")
        warning = self._layout_warning(raw)
        self.scan_test_warning.setText(warning or "")
        self.scan_test_warning.setVisible(warning is not None)

        def find(s: Session) -> catalog.Found | str:
            try:
                return catalog.find_scan(s, result)
            except UserError as exc:  # not found is an answer here, not a failure
                return str(exc)

        self.ctx.ops.read(find, self._show_scan_test_product)

    def _show_scan_test_product(self, found: catalog.Found | str) -> None:
        if isinstance(found, str):
            self.scan_test_product.setText(breakable(found))  # the message quotes the scan, GS and all
            self.scan_test_product.setStyleSheet(f"font-size: 18px; color: {RED}; font-weight: 600;")
            return
        p = found.product
        unit = self.tr("per kg") if p.unit == "kg" else self.tr("each")
        lines = [p.name, f"SKU {p.sku} · {self.money(p.price)} {unit}"]
        if found.fixed_amount is not None:
            lines.append(self.tr("Label price {0}").format(self.money(found.fixed_amount)))
        elif p.unit == "kg" and found.qty != 1:
            lines.append(self.tr("Weight {0} kg").format(found.qty))
        elif found.qty != 1:
            lines.append(self.tr("Case of {0}").format(f"{found.qty.normalize():f}"))
        self.scan_test_product.setText("\n".join(lines))
        self.scan_test_product.setStyleSheet("font-size: 18px; color: #166534; font-weight: 600;")

    def _layout_warning(self, raw: str) -> str | None:
        """A keyboard-layout problem the scan shows, in words that say how to fix it, else None."""
        meant = azerty_to_digits(raw)
        if meant is not None:
            return self.tr(
                "This reads like {0} typed through a French (AZERTY) keyboard layout: set the scanner's keyboard "
                "country to the terminal's layout (or the terminal to US), then scan again."
            ).format(meant)
        if any(c in AZERTY_DIGIT_ROW and not c.isascii() for c in raw):
            return self.tr(
                "Accented letters (é è ç à) came in: the scanner types through a French keyboard layout. Set the "
                "scanner's keyboard country to the terminal's layout, then scan again."
            )
        return None

    def _scan_test_refused(self, message: str) -> None:
        """The router holds back a scan it sees was typed through the wrong keyboard layout: say so here too."""
        if not self.scan_test_box.isVisible() or QApplication.activeModalWidget() is not None:
            return
        self.scan_test_raw.setText(self.tr("(held back: the scan did not arrive as the scanner meant it)"))
        self.scan_test_kind.setText("—")
        self.scan_test_kind.setStyleSheet("font-size: 18px;")
        self.scan_test_product.setText("—")
        self.scan_test_product.setStyleSheet("font-size: 18px;")
        self.scan_test_warning.setText(message)
        self.scan_test_warning.show()

    def open_camera_preview(self) -> None:
        """Open the camera preview on the camera the saved Scanner settings name."""
        self.ctx.ops.read(lambda s: settings.get(s, "devices.scanner"), self._show_camera_preview)

    def _show_camera_preview(self, scanner: Any) -> None:
        source, decoder = camera_settings(scanner)
        if self.camera_dialog is not None:
            self.camera_dialog.close()
        sources = self.ctx.services.get("scanners")
        if sources is not None:
            sources.pause()  # one camera, one reader: the preview's, until it closes
        dialog = CameraPreview(source, decoder, money=self.money, parent=self, sounds=self.ctx.sounds)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self._camera_closed(dialog))
        self.camera_dialog = dialog
        dialog.open()
        dialog.start()

    def _camera_closed(self, dialog: CameraPreview) -> None:
        if self.camera_dialog is dialog:
            self.camera_dialog = None
            sources = self.ctx.services.get("scanners")
            if sources is not None:
                sources.resume()
        self.camera_btn.setFocus()

    def load_devices(self) -> None:
        def read(s: Session) -> dict[str, Any]:
            return {k: settings.get(s, k) for k in DEVICE_KEYS}

        def show(values: dict[str, Any]) -> None:
            for k, v in values.items():
                self.device_edits[k].setPlainText(json.dumps(v, indent=2, ensure_ascii=False))

        self.ctx.ops.read(read, show)

    def save_devices(self) -> None:
        values: dict[str, Any] = {}
        for key, edit in self.device_edits.items():
            try:
                values[key] = json.loads(edit.toPlainText())
            except json.JSONDecodeError as exc:
                self._error(
                    self.tr("{0}: not valid JSON at line {1}, column {2} ({3}). Nothing was saved.").format(
                        key, exc.lineno, exc.colno, exc.msg
                    )
                )
                edit.setFocus()
                return

        try:
            # A key gap of "fast" is refused here, not at the counter.
            wedge_config(values.get("devices.scanner"))
        except ValueError as exc:
            self._error(self.tr("{0} Nothing was saved.").format(exc))
            return

        def done(_r: Any) -> None:
            # Printers and the drawer read their settings per job; the scanners take theirs now.
            self.ctx.ops.read(lambda s: settings.get(s, "barcodes"), apply_scanners)
            self.save_devices_btn.setFocus()

        def apply_scanners(rules: Any) -> None:
            sources = self.ctx.services.get("scanners")
            try:
                if sources is not None:
                    sources.apply(values.get("devices.scanner"), rules)
                else:
                    self.ctx.router.configure(values.get("devices.scanner"), rules)
            except ValueError as exc:
                self._error(
                    self.tr("Device settings saved, but the scanner keeps its old ones: {0}").format(exc)
                )
                return
            self.ctx.messages.show_notice(self.tr("Device settings saved and in use."))

        self.ctx.ops.run(lambda s, a: device_settings.save(s, a, values), done)

    def _printer(self) -> Any:
        worker = self.ctx.services.get("printer")
        if worker is None:
            self._error(self.tr("The printer service is not running: restart the app, then try again."))
        return worker

    def print_test_page(self) -> None:
        worker = self._printer()
        if worker is None:
            return
        worker.test_page()
        self.ctx.messages.show_notice(self.tr("Test page sent to the receipt printer."))
        self.test_page_btn.setFocus()

    def print_test_label(self) -> None:
        worker = self._printer()
        if worker is None:
            return

        def done(_r: Any) -> None:
            worker.wake()
            self.ctx.messages.show_notice(self.tr("Test label sent to the label printer."))

        self.ctx.ops.run(printing.test_label, done)

    def test_scanner(self) -> None:
        """A camera opens its preview; a keyboard or serial scanner is tested by scanning into the Scan test box."""
        if self.devices_form.device_type("devices.scanner") == "camera":
            self.open_camera_preview()
            return
        self.ctx.messages.show_notice(
            self.tr("Scan any code now: the Scan test box shows what the scanner sent and what it reads as.")
        )

    def open_drawer(self) -> None:
        if self._printer() is None:
            return

        def done(opened: drawer.DrawerOpened) -> None:
            self._kick(opened)  # counted as a no-sale on the open shift's Z, like F11
            self.drawer_btn.setFocus()

        self.ctx.ops.run(lambda s, a: drawer.open_drawer(s, a, "test"), done)
