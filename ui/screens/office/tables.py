"""The table and button helpers of the Office tabs: a read-only table of large rows whose column 0 carries each
row's record id, filling it, reading the picked row's id back, and a 48 px button wired to a slot.

They know nothing of Office, so a workstation base in ui/ can take them as they are.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QPushButton, QTableWidget, QTableWidgetItem

ROW_HEIGHT = 44


def make_table(headers: list[str]) -> QTableWidget:
    t = QTableWidget(0, len(headers))
    t.setHorizontalHeaderLabels(headers)
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    t.verticalHeader().setVisible(False)
    t.verticalHeader().setDefaultSectionSize(ROW_HEIGHT)
    t.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    t.horizontalHeader().setStretchLastSection(True)
    return t


def fill_rows(table: QTableWidget, rows: list[list[str]], keys: list[str] | None = None) -> None:
    """Replace the rows; `keys` (a record id per row) ride on column 0 so a button knows what it acts on."""
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            item = QTableWidgetItem(text)
            if c == 0 and keys is not None:
                item.setData(Qt.ItemDataRole.UserRole, keys[r])
            table.setItem(r, c, item)


def selected_key(table: QTableWidget) -> str | None:
    row = table.currentRow()
    item = table.item(row, 0) if row >= 0 else None
    return None if item is None else item.data(Qt.ItemDataRole.UserRole)


def button(text: str, slot: Callable[[], None], name: str = "") -> QPushButton:
    b = QPushButton(text)
    b.setMinimumHeight(48)
    if name:
        b.setObjectName(name)
    b.clicked.connect(lambda _checked=False: slot())
    return b
