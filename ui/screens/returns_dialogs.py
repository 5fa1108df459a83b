"""The Returns desk's dialogs: find a sale by customer, day or amount; and the refund, per tender, before it is made.

Both hold no rules: the search and the refund figures come from `app.services.returns`; the refund runs through the
op helper, which asks a manager to approve when the return needs it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from babel.dates import format_date, parse_date
from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.domain.money import parse_money
from app.services import returns
from app.services.base import Actor
from ui.context import AppContext
from ui.theme import ERROR_RED, WARN_AMBER
from ui.widgets import enter_presses


class FindSaleDialog(QDialog):
    """F2: completed sales by customer name, day and/or total; the one chosen is `order_id`."""

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.order_id: str | None = None
        self.setWindowTitle(self.tr("Find the sale"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.customer = QLineEdit()
        self.customer.setObjectName("findCustomer")
        self.day = QLineEdit()
        self.day.setObjectName("findDay")
        self.day.setPlaceholderText(
            self.tr("Day, e.g. {0}").format(format_date(date.today(), "short", locale=ctx.here.locale))
        )
        self.amount = QLineEdit()
        self.amount.setObjectName("findAmount")
        form.addRow(self.tr("Customer"), self.customer)
        form.addRow(self.tr("Day"), self.day)
        form.addRow(self.tr("Total"), self.amount)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_RED}; font-weight: 600;")
        lay.addWidget(self.error)
        self.results = QListWidget()
        self.results.setObjectName("findResults")
        self.results.itemActivated.connect(lambda _i: self.choose())
        lay.addWidget(self.results, 1)
        row = QHBoxLayout()
        self.search_button = QPushButton(self.tr("Search (Enter)"))
        self.search_button.setObjectName("primary")
        self.search_button.clicked.connect(self.search)
        self.choose_button = QPushButton(self.tr("Take this sale"))
        self.choose_button.clicked.connect(self.choose)
        cancel = QPushButton(self.tr("Cancel (Esc)"))
        cancel.clicked.connect(self.reject)
        for b in (self.search_button, self.choose_button, cancel):
            b.setMinimumHeight(48)
            row.addWidget(b)
        lay.addLayout(row)
        enter_presses(self, self.search_button)
        self.customer.setFocus(Qt.FocusReason.OtherFocusReason)

    def search(self) -> None:
        if self.results.currentItem() is not None and self.results.hasFocus():
            self.choose()
            return
        self.error.clear()
        try:
            day = (
                parse_date(self.day.text().strip(), locale=self.ctx.here.locale)
                if self.day.text().strip()
                else None
            )
            amount = parse_money(self.amount.text()) if self.amount.text().strip() else None
        except (ValueError, IndexError) as exc:
            self.error.setText(str(exc) or self.tr("That is not a day: type it as shown."))
            return
        customer = self.customer.text()
        self.ctx.ops.read(lambda s: returns.search_sales(s, customer, day, amount), self._show)

    def _show(self, hits: Any) -> None:
        self.results.clear()
        for h in hits:
            when = format_date(h.when, "short", locale=self.ctx.here.locale) if h.when else ""
            money = format_money(h.total, self.ctx.here.currency, self.ctx.here.locale)
            item = QListWidgetItem(f"{h.number}   {when}   {h.customer or '-'}   {money}")
            item.setData(Qt.ItemDataRole.UserRole, h.order_id)
            self.results.addItem(item)
        if hits:
            self.results.setCurrentRow(0)
        else:
            self.error.setText(self.tr("No sale found: try another name, day or total."))

    def choose(self) -> None:
        item = self.results.currentItem()
        if item is None:
            self.error.setText(self.tr("Search, then choose a sale from the list."))
            return
        self.order_id = str(item.data(Qt.ItemDataRole.UserRole))
        self.accept()


class RefundDialog(QDialog):
    """F10: what goes back to each tender, the fee kept and any approval needed; Enter makes the refund."""

    def __init__(
        self,
        ctx: AppContext,
        quote: returns.Quote,
        order_id: str,
        lines: list[returns.ReturnLineIn],
        parent: QWidget | None = None,
        take: Callable[[Any, Actor, str | None], returns.ReturnDone] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.quote = quote
        self.order_id = order_id
        self.lines = lines
        self.take = take
        self.result_value: returns.ReturnDone | None = None
        self.setWindowTitle(self.tr("Refund"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        money = self._money
        count = f"{sum((ln.qty for ln in quote.lines), Decimal(0)).normalize():f}"
        one = count == "1"
        head = QLabel(
            (
                self.tr("Refund for sale {0}: 1 item") if one else self.tr("Refund for sale {0}: {1} items")
            ).format(quote.original_number, count)
            if quote.original_number
            else (
                self.tr("Return without a receipt: 1 item, as store credit")
                if one
                else self.tr("Return without a receipt: {0} items, as store credit")
            ).format(count)
        )
        head.setStyleSheet("font-size: 18px; font-weight: 600;")
        head.setWordWrap(True)
        head.setMinimumWidth(520)  # the dialog's width: its layout sets the minimum size
        lay.addWidget(head)
        self.total = QLabel(money(quote.total))
        self.total.setObjectName("refundTotal")
        self.total.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.total.setStyleSheet("font-size: 48px; font-weight: 700;")
        lay.addWidget(self.total)
        self.tenders = QTableWidget(len(quote.tenders), 2)
        self.tenders.setObjectName("refundTenders")
        self.tenders.setHorizontalHeaderLabels([self.tr("Back to"), self.tr("Amount")])
        self.tenders.verticalHeader().hide()
        header = self.tenders.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.tenders.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tenders.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tenders.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tenders.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tenders.verticalHeader().setDefaultSectionSize(40)
        for r, t in enumerate(quote.tenders):
            self.tenders.setItem(r, 0, QTableWidgetItem(self.tr(t.words)))
            amount = QTableWidgetItem(money(t.amount))
            amount.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.tenders.setItem(r, 1, amount)
        self.tenders.setColumnWidth(1, 180)
        self.tenders.setFixedHeight(header.sizeHint().height() + 40 * max(len(quote.tenders), 1) + 4)
        lay.addWidget(self.tenders)
        notes: list[str] = []
        notes.append(self.tr("Items: {0}").format(money(quote.lines_total)))
        if quote.fee:
            notes.append(self.tr("Restocking fee kept: {0}").format(money(quote.fee)))
        if quote.unallocated:
            notes.append(
                self.tr("{0} was not paid by any tender (cash rounding): not refunded.").format(
                    money(quote.unallocated)
                )
            )
        if any(t.kind == returns.ONLINE for t in quote.tenders):
            notes.append(self.tr("A web payment is refunded by the web shop, which tells the customer."))
        info = QLabel("<br>".join(notes))
        info.setWordWrap(True)
        lay.addWidget(info)
        self.approval = QLabel()
        self.approval.setObjectName("refundApproval")
        self.approval.setWordWrap(True)
        if quote.exceptions:
            self.approval.setText(self.tr("A manager approves: {0}").format("; ".join(quote.exceptions)))
            self.approval.setStyleSheet(f"color: {WARN_AMBER}; font-weight: 600;")
        lay.addWidget(self.approval)
        self.gift_card: QLineEdit | None = None
        if any(t.kind == "gift_card" and not t.reference for t in quote.tenders):
            self.gift_card = QLineEdit()
            self.gift_card.setObjectName("refundGiftCard")
            self.gift_card.setPlaceholderText(self.tr("Scan or type the gift card the sale was paid with"))
            lay.addWidget(self.gift_card)
        self.error = QLabel()
        self.error.setObjectName("refundError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_RED}; font-weight: 600;")
        lay.addWidget(self.error)
        self.ok = QPushButton(self.tr("Refund {0} (Enter)").format(money(quote.total)))
        self.ok.setObjectName("primary")
        self.ok.setMinimumHeight(56)
        self.ok.clicked.connect(self.submit)
        cancel = QPushButton(self.tr("Cancel (Esc)"))
        cancel.setMinimumHeight(48)
        cancel.clicked.connect(self.reject)
        lay.addWidget(self.ok)
        lay.addWidget(cancel)
        enter_presses(self, self.ok)

    def _money(self, amount: Decimal) -> str:
        return format_money(amount, self.ctx.here.currency, self.ctx.here.locale)

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # Row heights are right only once the style sheet is applied: show every tender row, no scrolling.
        for w in self.findChildren(QWidget):
            w.ensurePolished()
        t = self.tenders
        rows = sum(t.rowHeight(r) for r in range(t.rowCount())) or t.verticalHeader().defaultSectionSize()
        t.setFixedHeight(t.horizontalHeader().sizeHint().height() + rows + 2 * t.frameWidth() + 2)
        self.adjustSize()
        super().showEvent(event)

    def submit(self) -> None:
        if not self.ok.isEnabled():
            return  # Enter again while the refund runs: it counts once
        self.ok.setEnabled(False)
        self.error.clear()
        order_id, lines = self.order_id, self.lines
        code = self.gift_card.text() if self.gift_card is not None else None

        def done(result: Any) -> None:
            self.result_value = result
            self.accept()

        def refused(message: str) -> None:
            self.ok.setEnabled(True)
            self.error.setText(message)

        take = self.take
        if take is not None:
            self.ctx.ops.run(lambda s, a: take(s, a, code), done, refused)
            return
        self.ctx.ops.run(lambda s, a: returns.take_return(s, a, order_id, lines, code), done, refused)
