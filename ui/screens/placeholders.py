"""Pickup, Pack and Returns: the next batch builds these workstations; for now each says plainly what it will do
and shows the web orders waiting for it, read-only, so a store trying this build sees what has arrived.

They stand on what exists: the scan router (order, pickup and receipt codes), the op helper, the print queue, the
outbox and the order status fields of the local database.
"""

from __future__ import annotations

from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Order
from app.domain import barcodes, lifecycle
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

        def load(s: Session) -> list[tuple[str, ...]]:
            rows = s.execute(
                select(Order.number, Order.fulfilment, Order.customer_name, Order.status)
                .where(
                    Order.channel == "web",
                    Order.fulfilment.in_(kinds),
                    Order.status.in_([str(state) for state in lifecycle.OPEN_STATES]),
                )
                .order_by(Order.created_at)
            ).all()
            # What may happen next is the lifecycle's answer, never a list of this screen's own.
            return [(a, b, c or "", d, _next(d, b)) for a, b, c, d in rows]

        self.ctx.ops.read(load, self._fill)

    def _fill(self, rows: list[tuple[str, ...]]) -> None:
        self.table.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, v in enumerate(row):
                self.table.setItem(r, c, QTableWidgetItem(lifecycle.words(v)))


def _next(status: str, fulfilment: str) -> str:
    step = lifecycle.next_step(status, fulfilment)
    return lifecycle.words(step) if step is not None else ""
