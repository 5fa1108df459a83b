"""The Qt binding must not leak or drop references to Python's singletons: PySide6 6.12.0 on Python 3.11 drops one
reference to None per Qt call returning nothing, and the till aborts ("none_dealloc") a few thousand calls later,
mid-shift. This test fails on such a binding before a store does."""

from __future__ import annotations

import sys

from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QTableWidget
from pytestqt.qtbot import QtBot


def test_qt_calls_keep_the_reference_counts_of_none_true_and_false(qtbot: QtBot) -> None:
    label, table, button = QLabel(), QTableWidget(3, 3), QPushButton()
    for w in (label, table, button):
        qtbot.addWidget(w)
    app = QApplication.instance()
    assert app is not None
    counts = [sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)]
    for _ in range(500):
        label.setText("x")
        label.show()
        app.processEvents()
        QApplication.activeModalWidget()
        table.item(0, 0)
        button.clicked.emit()
        button.toggled.emit(True)
    after = [sys.getrefcount(None), sys.getrefcount(True), sys.getrefcount(False)]
    lost = [b - a for b, a in zip(counts, after, strict=True)]
    assert all(n < 100 for n in lost), f"references dropped over 500 rounds (None, True, False): {lost}"
