"""The shared part of the Office tabs: the base every tab builds on, and the gate that shows a tab's content only to
a role allowed to use it.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QStackedWidget, QWidget

from app.documents.model import format_money
from app.documents.receipt import format_local_time
from app.domain.money import parse_money
from app.domain.permissions import Permission, Role, allowed
from app.services import drawer
from ui.context import AppContext


class OfficeTab(QWidget):
    """What every Office tab uses: the context, money and times in the store's words, a red message, an amount
    read from a field, and the drawer pulse. Each tab is a mixin over it; OfficeScreen (this package's
    __init__) is the one widget that combines them, so a tab's widgets and methods are the screen's."""

    ctx: AppContext

    def money(self, amount: Decimal) -> str:
        return format_money(Decimal(amount), self.ctx.here.currency, self.ctx.here.locale)

    def when(self, moment: datetime | None) -> str:
        if moment is None:
            return ""
        return format_local_time(moment, self.ctx.here.timezone, self.ctx.here.locale)

    def _error(self, message: str) -> None:
        self.ctx.messages.show_error(message)  # red, with the low tone

    def _parse(self, field: QLineEdit) -> Decimal | None:
        """An amount from a field, or None after telling the person what is wrong with it."""
        try:
            return parse_money(field.text())
        except ValueError as exc:
            self._error(str(exc))
            field.setFocus()
            field.selectAll()
            return None

    def _kick(self, opened: drawer.DrawerOpened) -> None:
        """The service has recorded why the drawer opens; the print worker sends the pulse."""
        worker = self.ctx.services.get("printer")
        if opened.open_drawer and worker is not None:
            worker.open_drawer()


class _Gate(QStackedWidget):
    """A tab's content, or a plain sentence saying who may use it when the signed-in role may not."""

    def __init__(self, permission: Permission, what: str, content: QWidget) -> None:
        super().__init__()
        self.permission = permission
        self.what = what
        self.denied = QLabel()
        self.denied.setObjectName("bigCaption")
        self.denied.setWordWrap(True)
        self.denied.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.addWidget(self.denied)
        self.content = content
        self.addWidget(content)

    def update_for(self, role: str | None) -> bool:
        """Show the content when `role` may use it; returns whether it does."""
        if role is not None and allowed(role, self.permission):
            self.setCurrentWidget(self.content)
            return True
        roles = ", ".join(r.value.replace("_", " ") for r in Role if allowed(r, self.permission))
        self.denied.setText(
            self.tr("Only these roles may {0}: {1}. Ask one of them to sign in.").format(self.what, roles)
        )
        self.setCurrentWidget(self.denied)
        return False

    @property
    def open(self) -> bool:
        return self.currentWidget() is self.content
