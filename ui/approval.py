"""The approval dialog: a permitted person approves one action for the signed-in user, by badge scan or PIN.

The approval names both people and the action; it is valid once, for that permission only (see app.services.staff).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from app.domain.permissions import Permission
from app.services import staff
from ui.context import AppContext
from ui.widgets import enter_presses


class ApprovalDialog(QDialog):
    def __init__(self, ctx: AppContext, permission: str, reason: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.permission = Permission(permission)
        self.approval_id: str | None = None
        self.setWindowTitle(self.tr("Manager approval"))
        self.setModal(True)
        self.setMinimumWidth(520)
        lay = QVBoxLayout(self)
        # Grow to fit the wrapped title: a QDialog does not follow its labels' height-for-width by itself.
        lay.setSizeConstraint(QLayout.SizeConstraint.SetMinimumSize)
        title = QLabel(reason)
        title.setWordWrap(True)
        title.setObjectName("screenTitle")
        lay.addWidget(title)
        hint = QLabel(self.tr("A manager scans their badge, or enters their sign-in name and PIN."))
        hint.setWordWrap(True)
        lay.addWidget(hint)
        form = QFormLayout()
        self.username = QLineEdit()
        self.username.setObjectName("approverName")
        self.pin = QLineEdit()
        self.pin.setObjectName("approverPin")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(self.tr("Name"), self.username)
        form.addRow(self.tr("PIN"), self.pin)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b91c1c; font-weight: 600;")
        self.error.setWordWrap(True)
        lay.addWidget(self.error)
        approve = QPushButton(self.tr("Approve (Enter)"))
        approve.setObjectName("primary")
        approve.clicked.connect(self._approve_pin)
        cancel = QPushButton(self.tr("Cancel (Esc)"))
        cancel.clicked.connect(self.reject)
        lay.addWidget(approve)
        lay.addWidget(cancel)
        enter_presses(self, approve)
        self._unregister = ctx.router.register(self, {"badge": self._badge, "*": self._other})
        self.finished.connect(lambda _r: self._unregister())
        self.username.setFocus(Qt.FocusReason.OtherFocusReason)
        self._title = title

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 - Qt's name
        # Sizes are right only once the style sheet is applied: give the wrapped title the height it needs.
        for w in self.findChildren(QWidget):
            w.ensurePolished()
        layout = self.layout()
        margins = layout.contentsMargins() if layout is not None else None
        side = margins.left() + margins.right() if margins is not None else 0
        width = max(self.width(), self.minimumWidth()) - side
        self._title.setMinimumHeight(self._title.heightForWidth(width))
        self.adjustSize()
        super().showEvent(event)

    def _badge(self, result: barcodes.ScanResult) -> None:
        assert isinstance(result, barcodes.InternalCode)
        self._try(
            lambda s: staff.approve(
                s, self._requester(), self.permission, badge=barcodes.internal_code("badge", result.value)
            )
        )

    def _other(self, result: barcodes.ScanResult) -> None:
        self.error.setText(self.tr("That is not a staff badge."))

    def _approve_pin(self) -> None:
        name, pin = self.username.text(), self.pin.text()
        self.pin.clear()
        self._try(lambda s: staff.approve(s, self._requester(), self.permission, username=name, pin=pin))

    def _requester(self) -> str:
        assert self.ctx.user is not None
        return self.ctx.user.id

    def _try(self, fn: Callable[..., str]) -> None:
        def done(approval_id: str) -> None:
            self.approval_id = approval_id
            self.accept()

        self.ctx.ops.run(lambda s, _a: fn(s), done, self.error.setText)


def ask_approval(
    ctx: AppContext, parent: QWidget
) -> Callable[[str, str, Callable[[str | None], None]], None]:
    """The op helper's hook: show the dialog, then hand the approval id (or None) back."""

    def ask(permission: str, reason: str, then: Callable[[str | None], None]) -> None:
        dlg = ApprovalDialog(ctx, permission, reason, parent)

        def finished(_result: int) -> None:
            # The keyboard goes back to the window's scan field (the next scan must land somewhere) before the
            # approved action runs again.
            focus = getattr(parent.window(), "focus_scan", None)
            if focus is not None:
                focus()
            then(dlg.approval_id)

        dlg.finished.connect(finished)
        dlg.open()

    return ask
