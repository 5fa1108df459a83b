"""Lookup: scan or search any product to see its price, tax class, barcodes and stock per location.

A scanned receipt finds its sale (what it came to, when, how it was paid) with a button to open it in the Journal;
a parked sale's code, or a receipt this terminal has not got, says where to look instead of "not a product".
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.documents.receipt import format_local_time
from app.domain import barcodes
from app.services import catalog, journal, stock
from app.services.catalog import ProductView
from ui.context import AppContext
from ui.widgets import ProductPicker

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the op helper's session, handed to services only


class LookupScreen(QWidget):
    title = "Lookup"
    open_sale = Signal(str)  # an order id to show in the Journal

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        lay = QHBoxLayout(self)
        self.picker = ProductPicker(ctx)
        self.picker.picked.connect(self._picked)
        lay.addWidget(self.picker, 1)
        self.detail = QLabel(self.tr("Scan a product, or search by name."))
        self.detail.setObjectName("lookupDetail")
        self.detail.setWordWrap(True)
        self.detail.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.detail.setStyleSheet("font-size: 20px; background: white; padding: 16px;")
        self.journal_btn = QPushButton(self.tr("Open in the Journal (Ctrl+7)"))
        self.journal_btn.setMinimumHeight(48)
        self.journal_btn.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.journal_btn.clicked.connect(lambda _c=False: self._open_journal())
        self.journal_btn.hide()
        right = QVBoxLayout()
        right.addWidget(self.detail, 1)
        right.addWidget(self.journal_btn)
        lay.addLayout(right, 1)
        self._sale: str | None = None
        ctx.router.register(
            self, {"product": self._scan, "receipt": self._receipt, "parked": self._receipt, "*": self._scan}
        )

    def _receipt(self, result: barcodes.ScanResult) -> None:
        # The router's parsed scan travels to the service: parsed once.
        self.ctx.ops.read(lambda s: journal.find_code(s, result), self._show_sale)

    def _show_sale(self, answer: journal.CodeAnswer) -> None:
        row = answer.row
        if row is None:
            self._sale = None
            self.journal_btn.hide()
            self.detail.setText(answer.message)
            return
        self._sale = row.order_id
        here = self.ctx.here
        paid = ", ".join(self.tr(journal.TENDER_WORDS.get(k, k)) for k in row.tenders)
        lines = [
            f"<b style='font-size:26px'>{self.tr('Sale {0}').format(row.number)}</b>",
            format_local_time(row.at, here.timezone, here.locale)
            + (f" · {row.cashier}" if row.cashier else "")
            + f" · {self.tr('terminal')} {row.terminal}",
            f"<span style='font-size:40px;font-weight:700'>{format_money(row.total, here.currency, here.locale)}"
            "</span>",
            self.tr("VOIDED: nothing was paid")
            if row.status == "voided"
            else self.tr("Paid by {0}").format(paid),
            (self.tr("1 item") if row.items == 1 else self.tr("{0} items").format(row.items)),
            "",
            self.tr(
                "This is a receipt, not a product: open it in the Journal to see every line or reprint it."
            ),
        ]
        self.detail.setText("<br>".join(lines))
        self.journal_btn.show()

    def _open_journal(self) -> None:
        if self._sale is not None:
            self.open_sale.emit(self._sale)

    def _scan(self, result: barcodes.ScanResult) -> None:
        self._sale = None
        self.journal_btn.hide()
        self.ctx.ops.read(lambda s: self._details(s, catalog.find_scan(s, result).product), self._show)

    def _picked(self, pid: str) -> None:
        self._sale = None
        self.journal_btn.hide()
        self.ctx.ops.read(lambda s: self._details(s, catalog.get(s, pid)), self._show)

    def _details(self, s: Session, p: ProductView) -> str:
        codes = catalog.codes_of(s, p.id)
        where = stock.on_hand_by_location(s, p.id)
        store = stock.store_view(s, p.id)  # None on a terminal not enrolled with a central store
        money = format_money(p.price, self.ctx.here.currency, self.ctx.here.locale)
        unit = self.tr("per kg") if p.unit == "kg" else self.tr("each")
        lines = [
            f"<b style='font-size:26px'>{p.name}</b>",
            f"SKU {p.sku}",
            f"<span style='font-size:40px;font-weight:700'>{money}</span> {unit}",
            self.tr("Tax class {0} ({1}%)").format(p.tax_class, _qty(p.tax_rate * 100)),
            "",
            "<b>" + self.tr("Barcodes") + "</b>",
        ]
        lines += [f"{c}" + (f"  (case of {n})" if n > 1 else "") for c, n in codes] or [self.tr("none")]
        if store is None:
            lines += ["", "<b>" + self.tr("Stock") + "</b>"]
            lines += [f"{name}: {_qty(q)}" for _c, name, q in where]
        else:
            lines += [
                "",
                "<b>" + self.tr("Stock in the store (as of the last sync, with this till's sales)") + "</b>",
            ]
            lines += [
                f"{name}: {_qty(q)}" + (self.tr(" ({0} held for web orders)").format(_qty(r)) if r else "")
                for _c, name, q, r in store
            ]
        return "<br>".join(lines)

    def _show(self, html: str) -> None:
        self.detail.setText(html)

    def activate(self) -> None:
        pass


def _qty(q: Decimal) -> str:
    """12, 0.75, 20: never "2E+1", which is how Decimal('20.000').normalize() prints."""
    return f"{q.normalize():f}" if q != Decimal(0) else "0"
