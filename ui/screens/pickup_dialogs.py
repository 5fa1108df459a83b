"""The Pickup screen's dialogs: hand over (pickup code or ID, lines refused, signature), short pick or damaged item,
and the small signature pad drawn with QPainter."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from app.domain.money import parse_qty
from app.services import catalog, pickup
from app.services.base import UserError
from ui.context import AppContext
from ui.widgets import FormDialog, enter_presses

GRID = 1000  # strokes are kept on a 0..GRID square, whatever the pad's size on screen


class SignaturePad(QWidget):
    """A white pad the customer signs on with a finger or the mouse; `strokes()` as points on a 0..1000 grid."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("signaturePad")
        self.setMinimumSize(420, 120)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self._strokes: list[list[QPoint]] = []

    def clear(self) -> None:
        self._strokes = []
        self.update()

    def is_empty(self) -> bool:
        return not any(len(s) > 1 for s in self._strokes)

    def strokes(self) -> list[list[list[int]]]:
        w, h = max(1, self.width()), max(1, self.height())
        return [
            [[round(p.x() * GRID / w), round(p.y() * GRID / h)] for p in stroke]
            for stroke in self._strokes
            if len(stroke) > 1
        ]

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        self._strokes.append([event.position().toPoint()])
        self.update()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if self._strokes:
            self._strokes[-1].append(event.position().toPoint())
            self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.fillRect(self.rect(), QColor("white"))
        p.setPen(QPen(QColor("#9ca3af"), 1, Qt.PenStyle.DashLine))
        base = self.height() - 24
        p.drawLine(12, base, self.width() - 12, base)
        p.setPen(QPen(QColor("#111827"), 2.5))
        for stroke in self._strokes:
            for a, b in zip(stroke, stroke[1:], strict=False):
                p.drawLine(a, b)
        p.end()


class HandoverDialog(FormDialog):
    """Check the customer (pickup code, or the name on their ID), untick what they refuse, let them sign (optional),
    then hand over. The pickup code may be scanned from their phone: it lands in the code field."""

    def __init__(
        self,
        ctx: AppContext,
        view: pickup.PrepView,
        code: str = "",
        parent: QWidget | None = None,
    ) -> None:
        named = view.customer + (self.tr(" (or {0})").format(view.collector) if view.collector else "")
        super().__init__(
            ctx,
            self.tr("Hand over"),
            self.tr("Hand over order {0} to {1}").format(view.number, named),
            ok_text=self.tr("Hand over (Enter)"),
            parent=parent,
        )
        self.view = view
        self.bags = 0
        self.code = QLineEdit(code)
        self.code.setObjectName("pickupCode")
        self.code.setPlaceholderText(self.tr("Scan or type the code from the customer's phone or e-mail"))
        self.add_field("code", self.tr("Pickup code"), self.code)
        self.id_name = QLineEdit()
        self.id_name.setObjectName("idName")
        self.id_name.setPlaceholderText(self.tr("Or: the name on the customer's ID"))
        self.add_field("id_name", self.tr("Name on ID"), self.id_name)
        self.lines = QListWidget()
        self.lines.setObjectName("handoverLines")
        for ln in view.lines:
            item = QListWidgetItem(f"{ln.qty.normalize():f} × {ln.name}")
            item.setData(Qt.ItemDataRole.UserRole, ln.line_id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked)
            self.lines.addItem(item)
        self.lines.setMaximumHeight(40 * min(4, max(1, len(view.lines))) + 8)
        self.add_field("lines", self.tr("Taken (untick refused)"), self.lines)
        self.pad = SignaturePad()
        clear = QPushButton(self.tr("Clear signature"))
        clear.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        clear.clicked.connect(self.pad.clear)
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.pad, 1)
        row.addWidget(clear)
        self.add_field("signature", self.tr("Signature (optional)"), holder)
        self.bag_label = QLabel(self.tr("Scan the bag labels (or the items) as they are handed over."))
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        lay.insertWidget(2, self.bag_label)
        enter_presses(self, self.ok)
        (self.id_name if not code else self.code).setFocus()
        self.on_ok = self._go
        self.items = 0
        self.pay_dialog: Any = None  # Sell's Pay dialog while an unpaid order is paid
        if not view.paid:
            self.ok.setText(self.tr("Take payment and hand over (Enter)"))
        ctx.router.register(
            self,
            {
                "pickup": self._scanned_code,
                "order": self._scanned_bag,
                "product": self._scanned_item,
                "*": self._other,
            },
        )

    def refused(self) -> list[str]:
        out = []
        for i in range(self.lines.count()):
            item = self.lines.item(i)
            if item.checkState() != Qt.CheckState.Checked:
                out.append(str(item.data(Qt.ItemDataRole.UserRole)))
        return out

    def _scanned_code(self, result: barcodes.ScanResult) -> None:
        assert isinstance(result, barcodes.InternalCode)
        self.code.setText(result.value)
        self.submit()

    def _scanned_bag(self, result: barcodes.ScanResult) -> None:
        assert isinstance(result, barcodes.InternalCode)
        if result.raw.upper() != self.view.number.upper():
            self.show_error(
                self.tr("That bag is order {0}, not {1}: put it back.").format(result.raw, self.view.number)
            )
            self.ctx.sounds.bad()
            return
        self.bags += 1
        self._checked()

    def _scanned_item(self, result: barcodes.ScanResult) -> None:
        """An item handed over scanned at the counter: it must be one of the order's (checked, nothing written)."""

        def sku(s: Any) -> str:
            try:
                return catalog.find_scan(s, result).product.sku
            except UserError:
                return ""

        def seen(found: str) -> None:
            if found not in {ln.sku for ln in self.view.lines}:
                self.show_error(
                    self.tr("That item is not in order {0}: keep it back.").format(self.view.number)
                )
                self.ctx.sounds.bad()
                return
            self.items += 1
            self._checked()

        self.ctx.ops.read(sku, seen)

    def _checked(self) -> None:
        self.bag_label.setText(
            self.tr("Bags scanned: {0} · items scanned: {1}").format(self.bags, self.items)
        )

    def _other(self, result: barcodes.ScanResult) -> None:
        self.show_error(self.tr("Scan the pickup code, the bag labels or the items here."))
        self.ctx.sounds.bad()

    def _go(self, values: dict[str, Any]) -> None:
        code = str(values.get("code") or "").strip()
        name = str(values.get("id_name") or "").strip()
        if not code and not name:
            self.show_error(
                self.tr("Type or scan the pickup code, or check the ID and type the name on it."), "code"
            )
            return
        order_id, refused = self.view.order_id, self.refused()
        signature = None if self.pad.is_empty() else self.pad.strokes()

        checked = {"code": code or None, "id_name": None if code else name, "refused": refused}
        field = "code" if code else "id_name"
        if not self.view.paid:
            self._pay(checked, signature, field)
            return

        def work(s: Any, a: Any) -> pickup.Done:
            return pickup.hand_over(s, a, order_id, signature=signature, **checked)  # type: ignore[arg-type]

        self.run(work, field=field)

    def _pay(self, checked: dict[str, Any], signature: list[list[list[int]]] | None, field: str) -> None:
        """An unpaid order: the customer is checked first (nothing written), then Sell's Pay dialog takes the
        payment for the lines taken and its last tender hands the order over (ui.screens.pickup_pay)."""
        from ui.screens.pickup_pay import PickupPayDialog

        order_id = self.view.order_id

        def check(s: Any, a: Any, tenders: Any = ()) -> Any:
            return pickup.check_payment(s, a, order_id, tenders=tenders, **checked)

        def finish(s: Any, a: Any, tenders: Any) -> pickup.Done:
            return pickup.hand_over(s, a, order_id, signature=signature, tenders=tenders, **checked)

        def due(view: Any) -> None:
            parent = self.parentWidget()
            dlg = PickupPayDialog(self.ctx, view, parent, check, finish)  # type: ignore[arg-type]
            self.pay_dialog = dlg
            if dlg.exec() and isinstance(dlg.result_value, pickup.Done):
                self.result_value = dlg.result_value
                self.accept()
            else:
                self.show_error(self.tr("Not handed over: the order is not paid."), field)
            self.pay_dialog = None
            dlg.deleteLater()

        self.run(check, due, field=field)


class ShortDialog(FormDialog):
    """A line is short or an item is damaged: how many are missing, and which."""

    def __init__(
        self,
        ctx: AppContext,
        order_id: str,
        line: pickup.PickLine,
        done: Callable[[Any], None] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            self.tr("Short or damaged"),
            self.tr("{0}: {1} ordered, {2} scanned").format(
                line.name, f"{line.qty.normalize():f}", f"{line.scanned.normalize():f}"
            ),
            ok_text=self.tr("Hand back to the central (Enter)"),
            parent=parent,
        )
        missing = QLineEdit(f"{max(Decimal(0), line.qty - line.scanned).normalize():f}")
        missing.setObjectName("missing")
        self.add_field("missing", self.tr("Missing here"), missing, parse_qty, required=True)
        reason = QComboBox()
        reason.setObjectName("reason")
        reason.addItem(self.tr("Not on the shelf (short)"), "short")
        reason.addItem(self.tr("Damaged"), "damaged")
        self.add_field("reason", self.tr("Why"), reason)
        missing.setFocus()
        missing.selectAll()

        def ok(values: dict[str, Any]) -> None:
            qty: Decimal = values["missing"]
            why = str(values["reason"])
            self.run(lambda s, a: pickup.hand_back(s, a, order_id, line.line_id, qty, why), field="missing")

        self.on_ok = ok
