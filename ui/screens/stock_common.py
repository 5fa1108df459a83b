"""What the Stock panels (Count, Adjust, Labels in stock_count; Receive, Transfer in stock_receive) build alike."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox


def picker() -> QComboBox:
    """A panel's chooser (which count, which delivery): touch-sized, and it never takes the scan field's keyboard."""
    box = QComboBox()
    box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the scan field keeps the keyboard
    box.setMinimumHeight(44)
    return box
