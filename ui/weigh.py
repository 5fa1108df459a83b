"""The weight dialog: a weighed item that came without a weight (keyed by SKU, scanned by its plain GTIN, picked by
search) is weighed before it is sold, never sold as 1 kg by default.

It is a `FormDialog` like every dialog of the counter: it names the item and its price per kg, takes the weight as the
scale shows it, and keeps the input with the reason under the field when a weight is refused (UI.md). A weight above
the store's `sale.confirm_qty_above`, or more than the stock this till knows of, asks once before the item is added
(as F3 does); "no" keeps the dialog open to correct the weight. The item is added by the dialog itself, so a
refusal from the sale shows in it too. No scale device is wired to the till in this version: the cashier reads the
scale's display.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from app.domain.money import parse_weight
from app.services import sales
from ui.context import AppContext
from ui.widgets import FormDialog, confirm


class WeightDialog(FormDialog):
    """Ask the weight of one weighed item and add it to sale `sale_id`; `weight` holds the weight (kg, 3 decimals)
    and `result_value` the sale's `ScanOutcome` once accepted."""

    def __init__(
        self,
        ctx: AppContext,
        product_id: str,
        name: str,
        price_text: str,
        sale_id: str,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, "", name, parent=parent)
        self.setWindowTitle(self.tr("Weigh {0}").format(name))
        self.setObjectName("weightDialog")
        self.product_id, self.name, self.sale_id = product_id, name, sale_id
        self.weight: Decimal | None = None
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        hint = QLabel(
            self.tr("Sold by weight: {0} per kg. Put it on the scale and enter the weight in kg:").format(
                price_text
            )
        )
        hint.setWordWrap(True)
        lay.insertWidget(1, hint)
        self.field = QLineEdit()
        self.field.setObjectName("weight")
        self.field.setPlaceholderText("0.000")
        self.field.setMinimumHeight(48)
        self.field.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.field.setStyleSheet("font-size: 28px;")
        self.add_field("weight", self.tr("Weight (kg)"), self.field, parse_weight, required=True)
        self.on_ok = self._check

    def _check(self, values: dict[str, Any]) -> None:
        kg: Decimal = values["weight"]
        sid, pid = self.sale_id, self.product_id
        self.run(lambda s, _a: sales.weight_warnings(s, sid, pid, kg), lambda w: self._add(kg, w), "weight")

    def _add(self, kg: Decimal, warnings: list[str]) -> None:
        if warnings and not confirm(
            self,
            self.tr("Check the weight"),
            "\n".join(warnings) + "\n\n" + self.tr("Sell {0} kg of {1}?").format(f"{kg:f}", self.name),
            self.tr("Yes, {0} kg (Enter)").format(f"{kg:f}"),
            self.tr("No, change it (Esc)"),
        ):
            self.show_error(self.tr("Not added: correct the weight, or Esc to leave the item off."), "weight")
            return
        self.weight = kg
        sid, pid = self.sale_id, self.product_id
        self.run(lambda s, a: sales.add_product(s, a, sid, pid, kg), field="weight")
