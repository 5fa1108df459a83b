"""The Stock workstation: one screen with a mode bar over its panels (Receive, Transfer, Count, Adjust, Labels), one
panel showing at a time.

Each panel is a workstation of its own (ui/workstation.py) and registers its scan routes itself; the scan router
sends a scan to a visible owner only, and the panels not showing are hidden pages of a stacked widget, so a scan
always lands in the panel in front (their action keys, window-wide shortcuts, are off while hidden the same way).
Alt+1..5 switch modes; the mode buttons never take the focus.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from app.services.base import Changes
from ui.context import AppContext
from ui.screens.stock_count import AdjustPanel, CountPanel, LabelsPanel
from ui.screens.stock_receive import ReceivePanel, TransferPanel


class StockScreen(QWidget):
    title = "Stock"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.stack = QStackedWidget()
        self.panels: dict[str, QWidget] = {}
        self.mode_buttons: dict[str, QPushButton] = {}
        modes: list[tuple[str, str, QWidget]] = [
            ("receive", self.tr("Receive"), ReceivePanel(ctx)),
            ("transfer", self.tr("Transfer"), TransferPanel(ctx)),
            ("count", self.tr("Count"), CountPanel(ctx)),
            ("adjust", self.tr("Adjust"), AdjustPanel(ctx)),
            ("labels", self.tr("Labels"), LabelsPanel(ctx)),
        ]
        for i, (key, label, panel) in enumerate(modes):
            b = QPushButton(f"{label}  Alt+{i + 1}")
            b.setObjectName(f"mode_{key}")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(44)
            b.clicked.connect(lambda _c=False, k=key: self.show_mode(k))
            bar.addWidget(b)
            self.mode_buttons[key] = b
            self.panels[key] = panel
            self.stack.addWidget(panel)
            sc = QShortcut(QKeySequence(f"Alt+{i + 1}"), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda k=key: self.show_mode(k))
        bar.addStretch(1)
        lay.addLayout(bar)
        lay.addWidget(self.stack, 1)
        self.mode = modes[0][0]
        self._mark()

    def show_mode(self, key: str) -> None:
        self.mode = key
        self.stack.setCurrentWidget(self.panels[key])
        self._mark()
        self.activate()

    def _mark(self) -> None:
        for k, b in self.mode_buttons.items():
            b.setStyleSheet("background: #bfdbfe; font-weight: 600;" if k == self.mode else "")

    def panel(self) -> Any:
        return self.panels[self.mode]

    def activate(self) -> None:
        panel = self.panel()
        if hasattr(panel, "activate"):
            panel.activate()
        if hasattr(panel, "focus_scan"):
            panel.focus_scan()

    def on_changed(self, changes: Changes) -> None:
        for panel in self.panels.values():
            if hasattr(panel, "on_changed"):
                panel.on_changed(changes)
