"""The Reports screen's chart: horizontal bars, one group per row of the report, one bar per value column, drawn
on screen and again at a print size for the report's PDF."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

SERIES_COLOURS = ("#2563eb", "#9ca3af")


class BarChart(QWidget):
    """Horizontal bars, one group per row of the report, one bar per value column (this period, a week before)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.labels: list[str] = []
        self.series: list[tuple[str, list[Decimal]]] = []
        self.value_text: Any = str
        self.setMinimumWidth(280)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def set_data(self, labels: list[str], series: list[tuple[str, list[Decimal]]], value_text: Any) -> None:
        self.labels, self.series, self.value_text = labels, series, value_text
        self.update()

    def _font(self) -> QFont:
        font = QFont(self.font())
        font.setPixelSize(12)
        return font

    VALUE_W = 80.0  # room for a bar's value beside it

    def label_texts(self, negative: bool = False) -> tuple[float, list[str]]:
        """The width the row labels get and each label as drawn. They take what the widest needs, up to 45% of
        the chart, leaving the bars at least 30% of it beside the values' room (on both sides of the axis when a
        value is negative); a label still too long loses its middle, so an item keeps both its brand and its size
        ("Northstar Batt…AA Small")."""
        metrics = QFontMetrics(self._font())
        widest = max((metrics.horizontalAdvance(label) for label in self.labels), default=0)
        w = float(self.width())
        values_room = self.VALUE_W * (2 if negative else 1) + 16
        limit = max(60.0, min(w * 0.45, w * 0.7 - values_room))
        label_w = float(min(widest + 2, limit))
        shown = [
            metrics.elidedText(label, Qt.TextElideMode.ElideMiddle, int(label_w)) for label in self.labels
        ]
        return label_w, shown

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        p.setFont(self._font())
        w, h = self.width(), self.height()
        if not self.labels:
            p.setPen(QColor("#6b7280"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.tr("Nothing in this period."))
            p.end()
            return
        legend_h = 22
        x = 8.0
        for i, (name, _values) in enumerate(self.series):
            p.fillRect(QRectF(x, 6, 12, 12), QColor(SERIES_COLOURS[i % 2]))
            p.setPen(QColor("#111827"))
            p.drawText(QRectF(x + 16, 2, 200, 20), Qt.AlignmentFlag.AlignVCenter, name)
            x += 24 + p.fontMetrics().horizontalAdvance(name)
        values = [v for _n, vs in self.series for v in vs]
        high = max([*values, Decimal(0)])
        low = min([*values, Decimal(0)])
        span = float(high - low) or 1.0
        label_w, texts = self.label_texts(negative=low < 0)
        value_w = self.VALUE_W
        left = label_w + 8 + (value_w if low < 0 else 0)  # room for a negative bar's value
        right = w - value_w - 8
        zero_x = left + (right - left) * float(-low) / span
        row_h = min(48.0, (h - legend_h - 4) / len(self.labels))  # few rows stay together at the top
        bar_h = max(3.0, min(22.0, (row_h - 4) / max(1, len(self.series))))
        metrics = p.fontMetrics()
        for r, shown in enumerate(texts):
            top = legend_h + r * row_h
            p.setPen(QColor("#111827"))
            p.drawText(
                QRectF(4, top, label_w, row_h),
                Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight,
                shown,
            )
            for i, (_name, vs) in enumerate(self.series):
                value = vs[r]
                x1 = left + (right - left) * float(value - low) / span
                y = top + (row_h - bar_h * len(self.series)) / 2 + i * bar_h
                p.fillRect(
                    QRectF(min(zero_x, x1), y, abs(x1 - zero_x), bar_h - 1), QColor(SERIES_COLOURS[i % 2])
                )
                if i == 0 and row_h >= 14:  # the value at the end of its bar, outside it
                    p.setPen(QColor("#374151"))
                    text = self.value_text(value)
                    tw = metrics.horizontalAdvance(text) + 4
                    tx = x1 + 4 if value >= 0 else x1 - tw
                    p.drawText(QRectF(tx, y - 3, tw, bar_h + 6), Qt.AlignmentFlag.AlignVCenter, text)
        p.setPen(QColor("#9ca3af"))
        p.drawLine(int(zero_x), legend_h, int(zero_x), h - 2)
        p.end()

    def png(self, width: int = 900, height: int = 420) -> bytes:
        """The chart as shown, drawn afresh at a print size (the screen's widget may be only 300 px wide)."""
        copy = BarChart()
        copy.setFont(self.font())
        copy.set_data(self.labels, self.series, self.value_text)
        copy.resize(width, height)
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        copy.grab().save(buffer, "PNG")
        copy.deleteLater()
        return bytes(data.data())
