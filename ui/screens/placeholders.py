"""Pickup, Pack and Returns: the next batch builds these workstations; for now each says plainly what it will do
and shows the web orders waiting for it, read-only, so a store trying this build sees what has arrived.

They stand on what exists: the scan router (order, pickup and receipt codes), the op helper, the print queue, the
outbox and the order status fields of the local database.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from app.domain import barcodes, lifecycle
from app.services import web_orders
from app.services.base import Changes
from ui.context import AppContext

PLANS = {
    "pickup": (
        "Pickup",
        ["pickup", "curbside"],
        "Hand over buy-online-pickup-in-store and curbside orders: find the order by its number or the "
        "customer's pickup code, check who is collecting, scan every item, hand over and keep the record. "
        "Coming in the next release.",
    ),
    "pack": (
        "Pack",
        ["ship"],
        "Scan every item of an order before it is labelled, then print the packing slip and the shipping "
        "label. Coming in the next release.",
    ),
    "returns": (
        "Returns",
        None,
        "Take returns in: find the sale by its receipt barcode or the web order, pick the lines, give the "
        "reason and condition, refund, and restock or quarantine. Coming in the next release.",
    ),
}


class PlaceholderScreen(QWidget):
    def __init__(self, ctx: AppContext, key: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.title, self.fulfilments, text = PLANS[key]
        lay = QVBoxLayout(self)
        msg = QLabel(text)
        msg.setWordWrap(True)
        msg.setStyleSheet("font-size: 20px;")
        lay.addWidget(msg)
        self.table = QTableWidget(0, 5)
        self.table.setHorizontalHeaderLabels(
            [self.tr("Order"), self.tr("Fulfilment"), self.tr("Customer"), self.tr("Status"), self.tr("Next")]
        )
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(40)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        if self.fulfilments:
            lay.addWidget(QLabel(self.tr("Web orders waiting (read-only):")))
            lay.addWidget(self.table, 1)
        else:
            self.table.hide()
            lay.addStretch(1)
        ctx.router.register(self, {"*": self._scan})

    def _scan(self, result: barcodes.ScanResult) -> None:
        self.ctx.messages.show_error(
            self.tr("{0} is not open yet in this release: nothing was changed.").format(self.title)
        )

    def activate(self) -> None:
        if not self.fulfilments:
            return
        kinds = self.fulfilments

        self.ctx.ops.read(lambda s: web_orders.waiting(s, kinds), self._fill)

    def on_changed(self, changes: Changes) -> None:
        """An op that wrote orders (a hand-over, a sale) redraws the list at once, without a timer."""
        if changes.orders and self.isVisible():
            self.activate()

    def _fill(self, rows: list[web_orders.WaitingOrder]) -> None:
        self.table.setRowCount(len(rows))
        for r, o in enumerate(rows):
            # What may happen next is the lifecycle's answer, never a list of this screen's own.
            cells: list[Any] = [o.number, o.fulfilment, o.customer, o.status, o.next_step or ""]
            for c, v in enumerate(cells):
                self.table.setItem(r, c, QTableWidgetItem(lifecycle.words(v) if v else ""))
