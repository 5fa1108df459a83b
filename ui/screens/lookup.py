"""Lookup: scan or search any product to see its price, tax class, barcodes and stock per location."""

from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QWidget,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Barcode
from app.documents.model import format_money
from app.domain import barcodes
from app.services import catalog, stock
from app.services.catalog import ProductView
from ui.context import AppContext
from ui.widgets import ProductPicker


class LookupScreen(QWidget):
    title = "Lookup"

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
        lay.addWidget(self.detail, 1)
        ctx.router.register(self, {"product": self._scan, "*": self._scan})

    def _scan(self, result: barcodes.ScanResult) -> None:
        self.ctx.ops.read(lambda s: self._details(s, catalog.find_scan(s, result).product), self._show)

    def _picked(self, pid: str) -> None:
        self.ctx.ops.read(lambda s: self._details(s, catalog.get(s, pid)), self._show)

    def _details(self, s: Session, p: ProductView) -> str:
        codes = s.execute(select(Barcode.code, Barcode.pack_qty).where(Barcode.product_id == p.id)).all()
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
