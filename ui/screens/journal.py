"""Journal: find a past sale (number, scanned receipt, day and time, total, tender), see its receipt, reprint a COPY.

Its own workstation (Ctrl+7) rather than an Office tab: the cashier needs it at the counter, with the scan field
live (a customer hands over a receipt: scan it, the sale is on screen), and Office's tabs are back-office work
some roles cannot open. The search and the receipt come from `app.services.journal`; a reprint goes through
`receipts.reprint_receipt`, the one reprint there is (it asks a manager where the role may not reprint).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time, parse_date
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import (
    Barcode,
    Columns,
    Cut,
    Document,
    Feed,
    Rule,
    Text,
    format_money,
    layout_columns,
    wrap,
)
from app.documents.receipt import format_local_time
from app.domain import barcodes
from app.domain.money import parse_money
from app.services import journal, receipts
from app.services.base import Changes
from ui.context import AppContext

_TIME = re.compile(r"([01]?\d|2[0-3])[:.h]?([0-5]\d)?")
RECEIPT_STATE_WORDS = {
    "printed": "printed",
    "waiting": "waiting to print",
    "failed": "NOT PRINTED?",
    "cancelled": "cancelled",
    "none": "",
}


def document_text(doc: Document) -> str:
    """A document as the lines it prints on its roll (text, columns, rules); barcodes named, not drawn."""
    width = doc.width_chars
    lines: list[str] = []
    for block in doc.blocks:
        if isinstance(block, Text):
            chunk = wrap(block.text, width // block.size)
            if block.align == "center":
                chunk = [c.center(width) for c in chunk]
            elif block.align == "right":
                chunk = [c.rjust(width) for c in chunk]
            lines += chunk
        elif isinstance(block, Columns):
            lines += layout_columns(block.left, block.right, width)
        elif isinstance(block, Rule):
            lines.append(block.char * width)
        elif isinstance(block, Feed):
            lines += [""] * block.lines
        elif isinstance(block, Barcode):
            lines.append(f"[{block.data}]".center(width))
        elif isinstance(block, Cut):
            lines.append("")
    return "\n".join(lines)


def parse_time(text: str) -> time | None:
    """ "14:05", "14.05", "1405", "9" → a time; empty → None; anything else raises ValueError."""
    value = text.strip()
    if not value:
        return None
    m = _TIME.fullmatch(value)
    if m is None:
        raise ValueError(f"{value} is not a time: type it as 14:05.")
    return time(int(m.group(1)), int(m.group(2) or 0))


class JournalScreen(QWidget):
    title = "Journal"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[journal.JournalRow] = []
        self.shown: journal.JournalSale | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

        form = QGridLayout()
        self.number = self._field(self.tr("Receipt number, or scan the receipt"))
        self.day = self._field(self.tr("Day, e.g. {0}").format(self.day_example()))
        self.start = self._field(self.tr("From 09:00"))
        self.end = self._field(self.tr("To 17:30"))
        self.amount = self._field(self.tr("Total, e.g. 12.50"))
        self.tender = QComboBox()
        self.tender.setMinimumHeight(48)
        self.tender.addItem(self.tr("Any tender"), None)
        for kind, word in journal.TENDER_WORDS.items():
            self.tender.addItem(self.tr(word), kind)
        self.search_btn = QPushButton(self.tr("Search (Enter)"))
        self.search_btn.setObjectName("primary")
        self.search_btn.setMinimumHeight(48)
        self.search_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.search_btn.clicked.connect(lambda _c=False: self.search())
        form.addWidget(self.number, 0, 0, 1, 2)
        form.addWidget(self.day, 0, 2)
        form.addWidget(self.start, 0, 3)
        form.addWidget(self.end, 0, 4)
        form.addWidget(self.amount, 1, 0)
        form.addWidget(self.tender, 1, 1)
        form.addWidget(self.search_btn, 1, 2, 1, 3)
        for col, stretch in enumerate((3, 2, 3, 2, 2)):  # the day field holds "Day, e.g. 02/12/2026" at 1024
            form.setColumnStretch(col, stretch)
        lay.addLayout(form)

        body = QHBoxLayout()
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Time"), self.tr("Number"), self.tr("Total"), self.tr("Paid by"), self.tr("Receipt")]
        )
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(40)
        header = self.table.horizontalHeader()
        # Time, number and total whole; the words share what is left, so nothing scrolls sideways at 1024 px.
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 2):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.currentCellChanged.connect(lambda row, _c, _pr, _pc: self._row_chosen(row))
        body.addWidget(self.table, 3)

        right = QVBoxLayout()
        self.heading = QLabel(self.tr("Scan a receipt, or search."))
        self.heading.setObjectName("journalHeading")
        self.heading.setWordWrap(True)
        self.heading.setStyleSheet("font-size: 18px; font-weight: 600;")
        right.addWidget(self.heading)
        self.receipt = QPlainTextEdit()
        self.receipt.setReadOnly(True)
        self.receipt.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.receipt.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.NoWrap
        )  # a receipt's lines are its roll's width
        self.receipt.setStyleSheet("font-family: monospace; font-size: 13px; background: white;")
        right.addWidget(self.receipt, 1)
        self.reprint_btn = QPushButton(self.tr("Reprint copy (Ctrl+P)"))
        self.reprint_btn.setMinimumHeight(48)
        self.reprint_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.reprint_btn.setEnabled(False)
        self.reprint_btn.clicked.connect(lambda _c=False: self.reprint())
        right.addWidget(self.reprint_btn)
        body.addLayout(right, 2)
        lay.addLayout(body, 1)

        shortcut = QShortcut(QKeySequence("Ctrl+P"), self)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.reprint)
        ctx.router.register(
            self, {"receipt": self._scanned, "parked": self._scanned, "*": self._scanned_other}
        )

    def day_example(self) -> str:
        """Today in the store's short date format: how to type a day, shown as a day the cashier knows."""
        today = datetime.now(ZoneInfo(self.ctx.here.timezone)).date()
        return format_date(today, "short", locale=self.ctx.here.locale)

    def _field(self, placeholder: str) -> QLineEdit:
        field = QLineEdit()
        field.setPlaceholderText(placeholder)
        field.setMinimumHeight(48)
        field.returnPressed.connect(self.search)
        return field

    # -- words ----------------------------------------------------------------------------------------------
    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.ctx.here.currency, self.ctx.here.locale)

    def when(self, moment: datetime) -> str:
        """Today's sales by their time; older ones with their day, the store's way."""
        here = self.ctx.here
        tz = ZoneInfo(here.timezone)
        if moment.astimezone(tz).date() == datetime.now(tz).date():
            return format_time(moment, "short", tzinfo=tz, locale=here.locale)
        return format_local_time(moment, here.timezone, here.locale)

    def _error(self, message: str, field: QWidget | None = None) -> None:
        self.ctx.messages.show_error(message)  # red, with its low tone
        if field is not None:
            field.setFocus()

    # -- searching ------------------------------------------------------------------------------------------
    def activate(self) -> None:
        if not self.rows:
            self.search()

    def query(self) -> journal.JournalQuery | None:
        """The query the fields describe, or None after saying what is wrong with one of them."""
        day: date | None = None
        if self.day.text().strip():
            try:
                day = parse_date(self.day.text().strip(), locale=self.ctx.here.locale)
            except (ValueError, IndexError):
                self._error(
                    self.tr("That is not a day: type it as {0}.").format(self.day_example()), self.day
                )
                return None
        try:
            start, end = parse_time(self.start.text()), parse_time(self.end.text())
        except ValueError as e:
            self._error(str(e), self.start)
            return None
        amount: Decimal | None = None
        if self.amount.text().strip():
            try:
                amount = parse_money(self.amount.text())
            except ValueError as e:
                self._error(str(e), self.amount)
                return None
        return journal.JournalQuery(
            number=self.number.text(),
            day=day,
            start=start,
            end=end,
            amount=amount,
            tender=self.tender.currentData(),
        )

    def search(self) -> None:
        query = self.query()
        if query is not None:
            self.ctx.ops.read(lambda s: journal.search(s, query), self._show_rows)

    def _show_rows(self, rows: list[journal.JournalRow], choose: str | None = None) -> None:
        """Fill the list; the row chosen is `choose`, else the sale on show, else the newest."""
        keep = choose or (self.shown.row.order_id if self.shown is not None else None)
        self.rows = rows
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            cells = [
                self.when(row.at),
                row.number,
                self.money(row.total),
                ", ".join(self.tr(journal.TENDER_WORDS.get(k, k)) for k in row.tenders),
                self.tr("VOIDED")
                if row.status == "voided"
                else self.tr(RECEIPT_STATE_WORDS.get(row.receipt, row.receipt)),
            ]
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 2:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        ids = [r.order_id for r in rows]
        if not rows:
            self.shown = None
            self.heading.setText(self.tr("No sale matches: change or clear a field, then search again."))
            self.receipt.clear()
            self.reprint_btn.setEnabled(False)
            return
        chosen = ids.index(keep) if keep in ids else 0
        # Chosen without the row signal, then shown once: the sale on show is read again (its receipt may have
        # printed since), and a refill that keeps the same row would not signal at all.
        self.table.blockSignals(True)
        self.table.selectRow(chosen)
        self.table.blockSignals(False)
        self.show_sale(ids[chosen])

    def _row_chosen(self, row: int) -> None:
        if 0 <= row < len(self.rows):
            self.show_sale(self.rows[row].order_id)

    def show_sale(self, order_id: str) -> None:
        """Show one sale's receipt (also how another screen opens a sale here)."""
        self.ctx.ops.read(lambda s: journal.sale(s, order_id), self._show_sale)

    def _show_sale(self, found: journal.JournalSale) -> None:
        self.shown = found
        row = found.row
        state = RECEIPT_STATE_WORDS.get(row.receipt, row.receipt)
        heading = self.tr("Sale {0} · {1} · {2}").format(
            row.number, format_local_time(row.at, self.ctx.here.timezone, self.ctx.here.locale), row.cashier
        )
        if row.status == "voided":
            heading += " · " + self.tr("VOIDED: nothing was paid")
        elif row.receipt == "failed":
            heading += " · " + self.tr("the receipt may not have printed: reprint a copy")
        elif state:
            heading += " · " + self.tr("receipt {0}").format(self.tr(state))
        self.heading.setText(heading)
        text = document_text(Document.from_json(found.receipt))
        if found.voided_lines:
            text += "\n\n" + self.tr("Voided before payment:") + "\n"
            text += "\n".join(
                "  " + layout_columns(f"{name} x {qty.normalize():f}", self.money(amount), 44)[0]
                for name, qty, amount in found.voided_lines
            )
        self.receipt.setPlainText(text)
        self.reprint_btn.setEnabled(row.status == "completed")
        if row.order_id not in [r.order_id for r in self.rows]:
            self.rows = [row, *self.rows]
            self._show_rows(self.rows, row.order_id)

    # -- scans ----------------------------------------------------------------------------------------------
    def _scanned(self, result: barcodes.ScanResult) -> None:
        self.find_code(result)  # the router's parsed scan travels as it is: parsed once

    def _scanned_other(self, result: barcodes.ScanResult) -> None:
        if isinstance(result, barcodes.Unknown):
            # A number typed in the scan field (no R- in front): search for it.
            self.number.setText(result.raw)
            self.find_code(result)
        else:
            self._error(self.tr("That is not a receipt: look products up in Lookup (Ctrl+5)."))

    def find_code(self, code: barcodes.ScanResult | str) -> None:
        """A scan as the router parsed it (not parsed again), or a typed code."""
        raw = code if isinstance(code, str) else code.raw

        def found(answer: journal.CodeAnswer) -> None:
            if answer.row is None:
                if raw.strip().isdigit():
                    self.search()  # just a sequence number: every terminal's sale of it
                    return
                self._error(answer.message)
                return
            row = answer.row
            self._show_rows([row, *[r for r in self.rows if r.order_id != row.order_id]], row.order_id)

        self.ctx.ops.read(lambda s: journal.find_code(s, code), found)

    # -- reprint --------------------------------------------------------------------------------------------
    def reprint(self) -> None:
        sale = self.shown
        if sale is None or sale.row.status != "completed":
            self._error(self.tr("Choose a paid sale in the list first."), self.table)
            return
        number = sale.row.number

        def done(_r: Any) -> None:
            self.ctx.messages.show_notice(
                self.tr("A copy of receipt {0} is printing, marked COPY.").format(number)
            )
            self.show_sale(sale.row.order_id)

        # One service call; the new print job is what tells the screens the queue changed (ui/ops.py).
        self.ctx.ops.run(lambda s, a: receipts.reprint_receipt(s, a, number), done)

    def on_changed(self, changes: Changes) -> None:
        if changes.print_queue and self.isVisible() and self.rows:
            self.search()
