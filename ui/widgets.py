"""Small widgets more than one screen uses: the product search list (Lookup, Sell's F2), list filling, and what
Enter does in a dialog."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtWidgets import (
    QDialog,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.services import catalog
from app.services.catalog import ProductView
from ui.context import AppContext


def fill_choices(widget: QListWidget, rows: Iterable[tuple[str, str]]) -> None:
    """Replace a list's items with (label, id) rows and select the first."""
    widget.clear()
    for label, key in rows:
        item = QListWidgetItem(label)
        item.setData(Qt.ItemDataRole.UserRole, key)
        widget.addItem(item)
    if widget.count():
        widget.setCurrentRow(0)


def enter_presses(dialog: QDialog, button: QPushButton) -> None:
    """Enter anywhere in `dialog` presses `button`, and nothing else does.

    Every push button in a QDialog is "auto-default": Enter that a line edit does not take pressed the dialog's
    first button as well. In the tender dialog, Enter in the amount field took the typed cash and then a second
    cash payment by the first quick-amount button. Call this once every button of the dialog exists, and let the
    button, not the fields' returnPressed, do the work."""
    for b in dialog.findChildren(QPushButton):
        b.setAutoDefault(False)
        b.setDefault(False)
    button.setDefault(True)


def current_key(widget: QListWidget) -> str | None:
    item = widget.currentItem()
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)


class ProductPicker(QWidget):
    """A search field over the catalog (name or SKU, from two letters) with its result list."""

    picked = Signal(str)  # the highlighted product changed
    chosen = Signal(str)  # Enter or a double tap on a product

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.query = QLineEdit()
        self.query.setObjectName("productSearch")
        self.query.setPlaceholderText(self.tr("Search by name or SKU"))
        self.query.textChanged.connect(self._search)
        self.query.returnPressed.connect(self._choose)
        lay.addWidget(self.query)
        self.results = QListWidget()
        self.results.setStyleSheet("QListWidget::item { min-height: 40px; }")
        self.results.currentItemChanged.connect(lambda *_: self._emit(self.picked))
        self.results.itemActivated.connect(lambda _i: self._choose())
        lay.addWidget(self.results, 1)

    def _search(self, text: str) -> None:
        if len(text.strip()) < 2:
            self.results.clear()
            return
        self.ctx.ops.read(lambda s: catalog.search(s, text, 40), self._fill)

    def _fill(self, products: list[ProductView]) -> None:
        here = self.ctx.here
        fill_choices(
            self.results,
            (
                (f"{p.name}   ·   {p.sku}   ·   {format_money(p.price, here.currency, here.locale)}", p.id)
                for p in products
            ),
        )

    def _emit(self, signal: SignalInstance) -> None:
        key = current_key(self.results)
        if key is not None:
            signal.emit(key)

    def _choose(self) -> None:
        self._emit(self.chosen)
