"""Small widgets more than one screen uses: the product search list (Lookup, Sell's F2), list filling, what Enter
does in a dialog, a form dialog that keeps its input until its action succeeds, and a one-time confirmation."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import Qt, Signal, SignalInstance
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.services import catalog
from app.services.catalog import ProductView
from ui.context import AppContext
from ui.theme import ERROR_RED


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


def confirm(parent: QWidget, title: str, text: str, yes: str, no: str) -> bool:
    """Ask once before something that cannot be taken back (void a line, remove a payment); Enter says yes,
    Esc says no. The buttons say what happens, not "OK"."""
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle(title)
    box.setText(text)
    yes_button = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    no_button = box.addButton(no, QMessageBox.ButtonRole.RejectRole)
    for b in (yes_button, no_button):
        b.setMinimumHeight(48)
    box.setDefaultButton(yes_button)
    box.setEscapeButton(no_button)
    box.exec()
    return box.clickedButton() is yes_button


Parse = Callable[[str], Any]


class FormDialog(QDialog):
    """A dialog of fields whose input stays until its action succeeds.

    A field that is empty when required, or that its parser refuses, gets its message in red right under it and the
    dialog stays open with everything typed. The action (`on_ok(values)`) usually runs a service call through
    `run`: a refusal from the service shows in the dialog too, beside the field it names or under the fields,
    and only a success closes the dialog (`result_value` holds what the call returned). A manager's approval, when
    the call needs one, opens over the dialog; a refusal to approve leaves the dialog open to change the input.
    """

    def __init__(
        self,
        ctx: AppContext,
        title: str,
        heading: str,
        on_ok: Callable[[dict[str, Any]], None] | None = None,
        ok_text: str | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.on_ok = on_ok
        self.result_value: Any = None
        self.busy = False
        self.setWindowTitle(title)
        lay = QVBoxLayout(self)
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.heading = QLabel(heading)
        self.heading.setObjectName("dialogHeading")
        self.heading.setWordWrap(True)
        self.heading.setMinimumWidth(500)  # the dialog's width: its layout sets the minimum size
        self.heading.setStyleSheet("font-size: 20px; font-weight: 600;")
        lay.addWidget(self.heading)
        self.form = QFormLayout()
        lay.addLayout(self.form)
        self.error = self._error_label()
        lay.addWidget(self.error)
        self.ok = QPushButton(ok_text or self.tr("OK (Enter)"))
        self.ok.setObjectName("primary")
        self.ok.clicked.connect(self.submit)
        self.cancel = QPushButton(self.tr("Cancel (Esc)"))
        self.cancel.clicked.connect(self.reject)
        lay.addWidget(self.ok)
        lay.addWidget(self.cancel)
        self._fields: dict[str, tuple[QWidget, Parse | None, bool | str, QLabel]] = {}

    @staticmethod
    def _error_label() -> QLabel:
        label = QLabel()
        label.setWordWrap(True)
        label.setStyleSheet(f"color: {ERROR_RED}; font-weight: 600;")
        label.hide()
        return label

    def add_field(
        self, key: str, label: str, widget: QWidget, parse: Parse | None = None, required: bool | str = False
    ) -> QWidget:
        """A row: `label`, `widget` (a line edit or a combo box), and under it the place for its message. A line
        edit's text goes through `parse` (a ValueError's message is shown as is); a combo box gives its data.
        `required` (True, or the message to show) refuses an empty field."""
        holder = QWidget()
        col = QVBoxLayout(holder)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        col.addWidget(widget)
        message = self._error_label()
        message.setObjectName(f"{key}Error")
        col.addWidget(message)
        self.form.addRow(label, holder)
        self._fields[key] = (widget, parse, required, message)
        enter_presses(self, self.ok)
        if len(self._fields) == 1:
            widget.setFocus()
        return widget

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # A wrapped heading gets the height its text needs only once the style sheet is applied (as the approval
        # dialog does): without this a three-line heading was cut at the top and bottom.
        for w in self.findChildren(QWidget):
            w.ensurePolished()
        self.heading.ensurePolished()
        self.heading.setMinimumHeight(self.heading.heightForWidth(self.heading.minimumWidth()))
        self.adjustSize()
        super().showEvent(event)

    def field_error(self, key: str) -> str:
        """The message under a field ("" when there is none)."""
        return self._fields[key][3].text()

    def show_error(self, text: str, key: str | None = None) -> None:
        target = self._fields[key][3] if key in self._fields else self.error
        target.setText(text)
        target.show()
        # A message that wraps to a second line overlapped the buttons under it until the dialog was resized:
        # the layout takes the label's new height only when asked again.
        layout = self.layout()
        if layout is not None:
            layout.invalidate()
        self.adjustSize()
        if key in self._fields:
            widget = self._fields[key][0]
            widget.setFocus()
            if isinstance(widget, QLineEdit):
                widget.selectAll()

    def values(self) -> dict[str, Any] | None:
        """Every field's value, or None after showing under each field what is wrong with it."""
        out: dict[str, Any] = {}
        first: str | None = None
        for key, (widget, parse, required, message) in self._fields.items():
            message.hide()
            message.clear()
            if isinstance(widget, QComboBox):
                out[key] = widget.currentData()
                continue
            text = widget.text() if isinstance(widget, QLineEdit) else ""
            try:
                if required and not text.strip():
                    raise ValueError(required if isinstance(required, str) else self.tr("Fill this in."))
                out[key] = parse(text) if parse is not None else text.strip()
            except ValueError as e:
                message.setText(str(e))
                message.show()
                first = first or key
        if first is not None:
            self.show_error(self.field_error(first), first)
            return None
        return out

    def submit(self) -> None:
        if self.busy:
            return  # Enter pressed again while the call runs: it counts once
        self.error.hide()
        values = self.values()
        if values is None:
            return
        if self.on_ok is None:
            self.result_value = values
            self.accept()
            return
        self.on_ok(values)

    def run(
        self,
        work: Callable[[Any, Any], Any],
        done: Callable[[Any], None] | None = None,
        field: str | None = None,
    ) -> None:
        """Run `work(session, actor)` through the op helper; a refusal shows in the dialog (under `field` when
        given) and keeps it open; a success calls `done(result)`, or closes the dialog with the result."""
        self.busy = True
        self.ok.setEnabled(False)

        def finished(result: Any) -> None:
            self._idle()
            if done is not None:
                done(result)
            else:
                self.result_value = result
                self.accept()

        def refused(message: str) -> None:
            self._idle()
            self.show_error(message, field)

        self.ctx.ops.run(work, finished, refused)

    def _idle(self) -> None:
        self.busy = False
        self.ok.setEnabled(True)

    def reject(self) -> None:
        if self.busy:
            return  # the change is being made: the dialog closes with its result (Esc cannot half-cancel it)
        super().reject()
