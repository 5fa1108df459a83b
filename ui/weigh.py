"""The weight dialog: a weighed item that came without a weight (keyed by SKU, scanned by its plain GTIN, picked by
search) is weighed before it is sold, never sold as 1 kg by default.

The dialog names the item and its price per kg, takes the weight as the scale shows it, and keeps the input with
the reason beside the field when a weight is refused (UI.md). No scale device is wired to the till in this version:
the cashier reads the scale's display.
"""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLayout,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.domain.money import parse_weight


class WeightDialog(QDialog):
    """Ask the weight of one weighed item; `weight` holds it (kg, 3 decimals) once accepted."""

    def __init__(self, name: str, price_text: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightDialog")
        self.setWindowTitle(self.tr("Weigh {0}").format(name))
        self.weight: Decimal | None = None
        lay = QVBoxLayout(self)
        # The dialog grows with the message under the field instead of cutting it off.
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        self.setMinimumWidth(520)
        title = QLabel(name)
        title.setObjectName("dialogHeading")
        title.setStyleSheet("font-size: 20px; font-weight: 600;")
        lay.addWidget(title)
        lay.addWidget(QLabel(self.tr("Sold by weight: {0} per kg.").format(price_text)))
        lay.addWidget(QLabel(self.tr("Put it on the scale and enter the weight in kg:")))
        self.field = QLineEdit()
        self.field.setObjectName("weight")
        self.field.setPlaceholderText("0.000")
        self.field.setMinimumHeight(48)
        self.field.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.field.setStyleSheet("font-size: 28px;")
        lay.addWidget(self.field)
        self.error = QLabel()
        self.error.setObjectName("weightError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b91c1c; font-weight: 600;")
        self.error.hide()
        lay.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        for button in buttons.buttons():
            button.setMinimumHeight(48)
        lay.addWidget(buttons)
        self.field.setFocus()

    def accept(self) -> None:
        try:
            self.weight = parse_weight(self.field.text())
        except ValueError as exc:
            self.error.setText(str(exc))  # the dialog stays open with what was typed
            self.error.show()
            self.adjustSize()
            self.field.setFocus()
            self.field.selectAll()
            return
        super().accept()
