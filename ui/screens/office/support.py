"""Office > Support: what a store sends its support when something goes wrong.

"Copy diagnostics" writes a zip (the log files, the settings without secrets, the versions: app.diagnostics) into
`diagnostics/` of the data dir, puts its path on the clipboard and says where it is, so it can be attached to a
message. It reads no staff, customer or token data.
"""

from __future__ import annotations

from pathlib import Path

import PySide6
from PySide6 import QtCore
from PySide6.QtWidgets import QApplication, QLabel, QPushButton, QVBoxLayout, QWidget

from app.config import resolve
from app.diagnostics import diagnostics_name, write_diagnostics
from ui.context import AppContext


class SupportPanel(QWidget):
    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.last: Path | None = None
        lay = QVBoxLayout(self)
        intro = QLabel(
            self.tr(
                "Diagnostics: the log files, this terminal's settings without secrets, and the versions of the app, "
                "Python, Qt, SQLite and the database. No staff, customer or sales data, no PINs or tokens."
            )
        )
        intro.setWordWrap(True)
        lay.addWidget(intro)
        self.copy_button = QPushButton(self.tr("Copy diagnostics"))
        self.copy_button.setObjectName("copyDiagnostics")
        self.copy_button.setMinimumHeight(48)
        self.copy_button.clicked.connect(lambda _checked=False: self.copy_diagnostics())
        lay.addWidget(self.copy_button)
        self.where = QLabel()
        self.where.setWordWrap(True)
        self.where.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.where)
        lay.addStretch(1)

    def copy_diagnostics(self) -> Path | None:
        paths = self.ctx.paths or resolve()
        target = paths.data_dir / "diagnostics" / diagnostics_name()
        qt = {"qt_runtime": QtCore.qVersion(), "pyside6_runtime": PySide6.__version__}
        try:
            with self.ctx.factory() as s:
                write_diagnostics(target, paths.log_dir, s, qt)
        except OSError as e:
            self.ctx.messages.show_error(self.tr("Diagnostics could not be written: {0}").format(e))
            return None
        self.last = target
        QApplication.clipboard().setText(str(target))
        self.where.setText(self.tr("Saved as {0} (the path is on the clipboard).").format(target))
        self.ctx.messages.show_notice(self.tr("Diagnostics saved: {0}").format(target.name))
        return target
