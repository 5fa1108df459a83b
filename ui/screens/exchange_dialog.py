"""The Returns desk's exchange (F9): the lines chosen come back, the clerk scans what the customer takes instead, and
only the difference is paid (Sell's Pay dialog) or refunded (the refund rule), the return and the new sale in one
transaction. The new items go on an ordinary counter sale (Sell's cart and prices); every figure comes from
`app.services.returns` (`quote_exchange`), nothing is worked out here.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from app.domain import barcodes, tenders
from app.services import returns, sales
from app.services.returns import Central, ExchangeDone, ExchangeQuote, ReturnLineIn
from app.services.sales import SaleView
from ui.context import AppContext
from ui.screens.sell_dialogs import TenderDialog
from ui.theme import ERROR_RED, GOOD_GREEN

if TYPE_CHECKING:
    from ui.screens.returns import ReturnsScreen


class ExchangeDialog(QDialog):
    """The new items of an exchange, the credit the return gives and the difference; Enter settles it. The
    exchange made is `result_value` (an `ExchangeDone`)."""

    def __init__(
        self,
        ctx: AppContext,
        parent: ReturnsScreen,
        order_id: str,
        lines: list[ReturnLineIn],
        sale: SaleView,
        original_number: str,
        central: Central | None = None,
    ) -> None:
        super().__init__(parent)
        self.central = central
        self.ctx = ctx
        self.screen_ = parent
        self.order_id = order_id
        self.lines = lines
        self.sale = sale
        self.quote: ExchangeQuote | None = None
        self.result_value: ExchangeDone | None = None
        self._leaving = False
        self.voided: SaleView | None = None  # the exchange's sale, voided when it was left with items on it
        self.setWindowTitle(self.tr("Exchange"))
        self.setMinimumWidth(640)
        lay = QVBoxLayout(self)
        count = f"{sum((ln.qty for ln in lines), Decimal(0)).normalize():f}"
        head = QLabel(
            (
                self.tr("Exchange for sale {0}: 1 item comes back. Scan what the customer takes instead.")
                if count == "1"
                else self.tr(
                    "Exchange for sale {0}: {1} items come back. Scan what the customer takes instead."
                )
            ).format(original_number, count)
        )
        head.setWordWrap(True)
        head.setStyleSheet("font-size: 18px; font-weight: 600;")
        lay.addWidget(head)
        self.scan = QLineEdit()
        self.scan.setObjectName("exchangeScan")
        self.scan.setPlaceholderText(self.tr("Scan or type the new item's barcode + Enter"))
        self.scan.setMinimumHeight(44)
        self.scan.returnPressed.connect(self._typed)
        lay.addWidget(self.scan)
        self.items = QTableWidget(0, 3)
        self.items.setObjectName("exchangeItems")
        self.items.setHorizontalHeaderLabels([self.tr("New item"), self.tr("Qty"), self.tr("Amount")])
        self.items.verticalHeader().hide()
        header = self.items.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.items.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.items.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.items.verticalHeader().setDefaultSectionSize(40)
        self.items.setMinimumHeight(200)
        lay.addWidget(self.items, 1)
        self.remove = QPushButton(self.tr("Take one off"))
        self.remove.setObjectName("danger")
        self.remove.clicked.connect(self._take_off)
        row = QHBoxLayout()
        self.sums = QLabel()
        self.sums.setObjectName("exchangeSums")
        self.sums.setWordWrap(True)
        self.sums.setStyleSheet("font-size: 16px;")
        row.addWidget(self.sums, 1)
        row.addWidget(self.remove, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(row)
        self.figure = QLabel()
        self.figure.setObjectName("exchangeFigure")
        self.figure.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.figure.setStyleSheet("font-size: 40px; font-weight: 700;")
        lay.addWidget(self.figure)
        self.error = QLabel()
        self.error.setObjectName("exchangeError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet(f"color: {ERROR_RED}; font-weight: 600;")
        lay.addWidget(self.error)
        buttons = QHBoxLayout()
        self.settle = QPushButton()
        self.settle.setObjectName("primary")
        self.settle.setMinimumHeight(52)
        self.settle.clicked.connect(self.settle_it)
        back = QPushButton(self.tr("Back to the return (Esc)"))
        back.setMinimumHeight(52)
        back.clicked.connect(self.reject)
        buttons.addWidget(back)
        buttons.addWidget(self.settle, 1)
        lay.addLayout(buttons)
        for b in (self.settle, back, self.remove):  # Enter belongs to the scan field: empty, it settles
            b.setAutoDefault(False)
            b.setDefault(False)
        self._unregister = ctx.router.register(self, {"product": self.on_item, "*": self.on_other})
        self.finished.connect(lambda _r: self._unregister())
        self._shown(sale)
        self.scan.setFocus()

    def money(self, amount: Decimal) -> str:
        return self.screen_.money(amount)

    # -- the new items ---------------------------------------------------------------------------------------
    def on_item(self, result: barcodes.ScanResult) -> None:
        sid = self.sale.id
        self.error.clear()
        self.ctx.ops.run(lambda s, a: sales.add_scan(s, a, sid, result).sale, self._shown, self.error.setText)

    def on_other(self, result: barcodes.ScanResult) -> None:
        self.error.setText(self.tr("Scan the new item's barcode ({0} is not an item).").format(result.kind))

    def _typed(self) -> None:
        text = self.scan.text().strip()
        self.scan.clear()
        if not text:
            self.settle_it()
        else:
            sid = self.sale.id
            self.error.clear()
            self.ctx.ops.run(
                lambda s, a: sales.add_scan(s, a, sid, text).sale, self._shown, self.error.setText
            )

    def _take_off(self) -> None:
        live = [ln for ln in self.sale.lines if not ln.voided]
        row = self.items.currentRow()
        if not live:
            return
        line = live[row] if 0 <= row < len(live) else live[-1]
        sid, lid, qty = self.sale.id, line.id, line.qty
        self.error.clear()
        if qty > 1 and qty == qty.to_integral_value():
            self.ctx.ops.run(
                lambda s, a: sales.set_qty(s, a, sid, lid, qty - 1), self._shown, self.error.setText
            )
        else:
            self.ctx.ops.run(lambda s, a: sales.void_line(s, a, sid, lid), self._shown, self.error.setText)

    def _shown(self, sale: Any) -> None:
        self.sale = sale
        live = [ln for ln in sale.lines if not ln.voided]
        self.items.setRowCount(len(live))
        for r, ln in enumerate(live):
            cells = (ln.name, f"{ln.qty.normalize():f}", self.money(ln.amount))  # as Sell shows it
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.items.setItem(r, c, item)
        if live:
            self.items.selectRow(len(live) - 1)
        self.remove.setEnabled(bool(live))
        if not live:
            self.quote = None
            self._figures()
            return
        oid, lines, sid, word = self.order_id, self.lines, sale.id, self.central
        self.ctx.ops.run(
            lambda s, a: returns.quote_exchange(s, a, oid, lines, sid, central=word),
            self._quoted,
            self.error.setText,
        )

    def _quoted(self, q: Any) -> None:
        self.quote = q
        self._figures()

    def _figures(self) -> None:
        q = self.quote
        if q is None:
            self.sums.setText(self.tr("No new item yet: scan what the customer takes instead."))
            self.figure.setText("")
            self.settle.setText(self.tr("Scan the new items"))
            self.settle.setEnabled(False)
            return
        parts = [
            f"{self.tr('Coming back')}: {self.money(q.refund.total)}",
            f"{self.tr('New items')}: {self.money(q.sale_total)}",
        ]
        if q.refund.fee:
            parts.append(f"{self.tr('Restocking fee')}: -{self.money(q.refund.fee)}")
        back = [t for t in q.refund.tenders if t.kind != tenders.EXCHANGE]
        if back:
            parts.append(
                self.tr("Refund to")
                + ": "
                + ", ".join(f"{self.tr(t.words)} {self.money(t.amount)}" for t in back)
            )
        if q.refund.exceptions:
            parts.append(f"<b>{self.tr('Manager approves')}</b>")
        self.sums.setText("<br>".join(parts))
        self.settle.setEnabled(True)
        if q.to_pay > 0:
            self.figure.setText(self.tr("Customer pays {0}").format(self.money(q.to_pay)))
            self.figure.setStyleSheet("font-size: 40px; font-weight: 700;")
            self.settle.setText(self.tr("Take the difference (Enter)"))
        elif q.to_refund > 0:
            self.figure.setText(self.tr("Refund {0}").format(self.money(q.to_refund)))
            self.figure.setStyleSheet(f"font-size: 40px; font-weight: 700; color: {GOOD_GREEN};")
            self.settle.setText(self.tr("Refund the difference (Enter)"))
        else:
            self.figure.setText(self.tr("Even exchange"))
            self.figure.setStyleSheet(f"font-size: 40px; font-weight: 700; color: {GOOD_GREEN};")
            self.settle.setText(self.tr("Make the exchange (Enter)"))

    # -- settling --------------------------------------------------------------------------------------------
    def settle_it(self) -> None:
        q = self.quote
        if q is None:
            return
        oid, lines, sid, word = self.order_id, self.lines, self.sale.id, self.central
        self.error.clear()
        if q.to_pay <= 0:
            self.ctx.ops.run(
                lambda s, a: returns.complete_exchange(s, a, oid, lines, sid, central=word),
                self._done,
                self.error.setText,
            )
            return
        self.ctx.ops.run(
            lambda s, a: returns.hold_credit(s, a, oid, lines, sid, word),
            lambda sale: QTimer.singleShot(0, lambda: self._pay(sale)),  # once delivered: not busy meanwhile
            self.error.setText,
        )

    def _pay(self, sale: Any) -> None:
        oid, lines, word = self.order_id, self.lines, self.central
        dlg = TenderDialog(
            self.ctx,
            sale,
            self.screen_,
            complete=lambda s, a, sid: returns.complete_exchange(s, a, oid, lines, sid, central=word),
        )
        paid = dlg.exec() and isinstance(dlg.result_value, ExchangeDone)
        result = dlg.result_value
        dlg.deleteLater()
        if paid:
            self._done(result)
            return
        # Paying was given up: the credit comes off so the items can change (payments taken stay on the sale).
        sid = self.sale.id
        self.ctx.ops.run(lambda s, a: returns.release_credit(s, a, sid), self._shown, self.error.setText)

    def _done(self, result: Any) -> None:
        self.result_value = result
        self.accept()

    # -- leaving without the exchange ------------------------------------------------------------------------
    def reject(self) -> None:
        """Back, Esc or closing the window: the exchange's sale is voided first (`abandon_exchange`: its items
        never stay on an open sale for Sell), then the dialog closes. Refused (a payment still taken, the void not
        approved), the dialog stays with the reason."""
        if self._leaving:
            return
        if self.result_value is not None:
            super().reject()
            return
        self._leaving = True
        sid = self.sale.id
        self.error.clear()

        def left(voided: SaleView | None) -> None:
            self._leaving = False
            self.voided = voided
            super(ExchangeDialog, self).reject()

        def kept(message: str) -> None:
            self._leaving = False
            self.error.setText(message)

        self.ctx.ops.run(lambda s, a: returns.abandon_exchange(s, a, sid), left, kept)


def start_exchange(screen: ReturnsScreen, wanted: list[ReturnLineIn]) -> None:
    """F9 at the Returns desk: the new sale, then the dialog; an exchange made clears the desk, one left is voided
    (`ExchangeDialog.reject`), so F9 again starts afresh."""
    original, resume, central = screen.original, screen.exchange_sale, screen.central
    assert original is not None
    ctx = screen.ctx

    def opened(sale: Any) -> None:
        screen.exchange_sale = sale.id
        dlg = ExchangeDialog(ctx, screen, original.order_id, wanted, sale, original.number, central)
        if dlg.exec() and dlg.result_value is not None:
            done = dlg.result_value
            printer = ctx.services.get("printer")
            if printer is not None:
                if done.returned.open_drawer or done.sale.open_drawer:
                    printer.open_drawer()
                printer.wake()
            screen.original, screen.choices, screen.quoted, screen.exchange_sale = None, {}, None, None
            screen.central, screen.current, screen.chosen = None, None, False
            screen._show()
            ctx.messages.show_notice(
                screen.tr("Exchange done: return {0}, sale {1}.").format(
                    done.returned.number, done.sale.sale.number
                )
            )
        else:
            screen.exchange_sale = None  # left without the exchange: its sale was voided
            if dlg.voided is not None:  # say so: the clerk scanned items and may wonder where they went
                ctx.messages.show_notice(
                    screen.tr(
                        "No exchange made: sale {0} with its new items was voided. The return is as it was."
                    ).format(dlg.voided.number),
                    tone=False,
                )
        dlg.deleteLater()
        screen.focus_scan()

    # Opened once the call has delivered, so the till is not shown busy while the dialog is up.
    ctx.ops.run(
        lambda s, a: returns.begin(s, a, resume), lambda sale: QTimer.singleShot(0, lambda: opened(sale))
    )
