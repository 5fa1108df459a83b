"""The Office workstation: shift (open, paid in/out, X report, blind close), print queue, audit trail, staff,
sync state and device settings, one tab each.

Every change goes through the op helper (`ctx.ops.run`), and every check of who may do it is made by the service
inside that call (`staff.require`), never by this screen: the screen only hides tabs a role cannot use so nobody
is shown buttons that will be refused. The close of a shift is blind: the person counts the drawer before the
expected amounts are shown, so the count is not steered by the figure it should reach.

One module per tab (shift, queue, audit, staff, sync, devices with its form in devices_form, support), each a
mixin over base.OfficeTab; this class combines them and keeps the tab list, the role gates and the redraws.
The table helpers are in tables.py.
"""

from __future__ import annotations

from PySide6.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from app.domain.permissions import Permission
from app.services import shifts
from app.services.base import Changes
from ui.context import AppContext
from ui.screens.office.audit import AuditTab
from ui.screens.office.base import _Gate
from ui.screens.office.devices import DevicesTab
from ui.screens.office.queue import PrintQueueTab
from ui.screens.office.shift import ShiftTab
from ui.screens.office.staff import StaffTab
from ui.screens.office.support import SupportPanel
from ui.screens.office.sync import SyncTab


class OfficeScreen(ShiftTab, PrintQueueTab, AuditTab, StaffTab, SyncTab, DevicesTab):
    """Back-office work at the counter, one tab per job; see the module docstring."""

    title = "Office"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.shift: shifts.ShiftView | None = None
        self._focus_next: QWidget | None = None  # where focus goes once the shift tab has redrawn
        self._closed_text = ""  # the figures of the shift just closed (shown once its count is submitted)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.tabs = QTabWidget()
        lay.addWidget(self.tabs)
        self.tabs.addTab(self._build_shift(), self.tr("Shift"))
        self.tabs.addTab(self._build_queue(), self.tr("Print queue"))
        self.audit_gate = _Gate(Permission.AUDIT_VIEW, self.tr("view the audit trail"), self._build_audit())
        self.tabs.addTab(self.audit_gate, self.tr("Audit"))
        self.staff_gate = _Gate(Permission.USER_MANAGEMENT, self.tr("manage staff"), self._build_staff())
        self.tabs.addTab(self.staff_gate, self.tr("Staff"))
        self.tabs.addTab(self._build_sync(), self.tr("Sync"))
        self.devices_gate = _Gate(
            Permission.DEVICE_SETTINGS, self.tr("change device settings"), self._build_devices()
        )
        self.tabs.addTab(self.devices_gate, self.tr("Devices"))
        self.support = SupportPanel(ctx)  # copy diagnostics for the store's support (support.py)
        self.tabs.addTab(self.support, self.tr("Support"))
        self.tabs.currentChanged.connect(lambda _i: self._refresh_tab())

    def activate(self) -> None:
        role = self.ctx.user.role if self.ctx.user is not None else None
        for gate in (self.audit_gate, self.staff_gate, self.devices_gate):
            gate.update_for(role)
        self._refresh_tab()

    def _refresh_tab(self) -> None:
        w = self.tabs.currentWidget()
        if w is self.shift_page:
            self.refresh_shift()
        elif w is self.queue_page:
            self.refresh_queue()
        elif w is self.audit_gate and self.audit_gate.open:
            self.search_audit()
        elif w is self.staff_gate and self.staff_gate.open:
            self.refresh_staff()
        elif w is self.sync_page:
            self.refresh_sync()
        elif w is self.devices_gate and self.devices_gate.open:
            self.load_devices()

    def on_changed(self, changes: Changes) -> None:
        # Every op that writes reports what it wrote (ui/ops.py): a hidden Office redraws when it is shown.
        if not self.isVisible():
            return
        if changes.shift:
            self.refresh_shift()
        if changes.print_queue:
            self.refresh_queue()
        if changes.staff and self.staff_gate.open:
            self.refresh_staff()
        if changes.outbox and self.tabs.currentWidget() is self.sync_page:
            self.refresh_sync()
        if changes.settings and self.devices_gate.open:
            self.load_devices()
