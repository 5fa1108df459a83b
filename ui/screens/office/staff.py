"""Office > Staff: the people who may sign in, adding one, disabling, a new PIN and a change of role."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import QComboBox, QGroupBox, QHBoxLayout, QLineEdit, QVBoxLayout, QWidget

from app.domain.permissions import Role
from app.services import staff
from ui.screens.office.base import OfficeTab
from ui.screens.office.tables import button, fill_rows, make_table, selected_key


class StaffTab(OfficeTab):
    """The Staff tab; see the module docstring."""

    def _build_staff(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.staff_table = make_table(
            [self.tr("Name"), self.tr("Sign-in name"), self.tr("Role"), self.tr("Badge"), self.tr("State")]
        )
        lay.addWidget(self.staff_table, 1)

        edit = QHBoxLayout()
        self.toggle_btn = button(self.tr("Disable / enable"), self.toggle_user)
        self.reset_pin = QLineEdit()
        self.reset_pin.setPlaceholderText(self.tr("New PIN"))
        self.reset_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.reset_pin.setMaxLength(8)
        self.reset_pin.setMinimumHeight(48)
        self.reset_pin.setMaximumWidth(140)
        self.reset_btn = button(self.tr("Reset PIN"), self.reset_user_pin)
        self.change_role = self._role_combo()
        self.role_btn = button(self.tr("Change role"), self.change_user_role)
        for w in (self.toggle_btn, self.reset_pin, self.reset_btn, self.change_role, self.role_btn):
            edit.addWidget(w)
        edit.addStretch(1)
        lay.addLayout(edit)

        add = QGroupBox(self.tr("Add user"))
        al = QHBoxLayout(add)
        self.new_username = QLineEdit()
        self.new_username.setPlaceholderText(self.tr("Sign-in name"))
        self.new_display = QLineEdit()
        self.new_display.setPlaceholderText(self.tr("Display name"))
        self.new_role = self._role_combo()
        self.new_pin = QLineEdit()
        self.new_pin.setPlaceholderText(self.tr("PIN"))
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pin.setMaxLength(8)
        self.new_badge = QLineEdit()
        self.new_badge.setPlaceholderText(self.tr("Badge (optional)"))
        self.add_btn = button(self.tr("Add user"), self.add_user, "primary")
        for w in (self.new_username, self.new_display, self.new_role, self.new_pin, self.new_badge):
            w.setMinimumHeight(48)
            al.addWidget(w, 1)
        al.addWidget(self.add_btn)
        lay.addWidget(add)
        return page

    def _role_combo(self) -> QComboBox:
        c = QComboBox()
        c.setMinimumHeight(48)
        for r in Role:
            c.addItem(r.value.replace("_", " "), r.value)
        return c

    def refresh_staff(self) -> None:
        self.ctx.ops.run(staff.users_to_manage, self._show_staff)

    def _show_staff(self, users: list[staff.StaffView]) -> None:
        keep = selected_key(self.staff_table)
        keys = [u.id for u in users]
        self._users = {u.id: u for u in users}
        fill_rows(
            self.staff_table,
            [
                [
                    u.display_name,
                    u.username,
                    u.role.replace("_", " "),
                    u.badge_code or "",
                    (self.tr("active") if u.active else self.tr("disabled"))
                    + (self.tr(" · PIN too short: reset it") if u.pin_too_short else ""),
                ]
                for u in users
            ],
            keys,
        )
        if keep in keys:
            self.staff_table.selectRow(keys.index(keep))

    def _picked_user(self) -> staff.StaffView | None:
        key = selected_key(self.staff_table)
        if key is None:
            self._error(self.tr("Pick a person in the list first."))
            self.staff_table.setFocus()
            return None
        return self._users[key]

    def _update_user(
        self,
        user_id: str,
        notice: str,
        focus: QWidget,
        then: Callable[[], None] | None = None,
        **changes: Any,
    ) -> None:
        def done(_r: Any) -> None:
            if then is not None:
                then()
            self.ctx.messages.show_notice(notice)
            focus.setFocus()

        self.ctx.ops.run(lambda s, a: staff.update_user(s, a, user_id, **changes), done)

    def add_user(self) -> None:
        username, display = self.new_username.text().strip(), self.new_display.text().strip()
        role, pin, badge = (
            self.new_role.currentData(),
            self.new_pin.text(),
            self.new_badge.text().strip() or None,
        )

        def done(_r: Any) -> None:
            for w in (self.new_username, self.new_display, self.new_pin, self.new_badge):
                w.clear()
            self.ctx.messages.show_notice(self.tr("{0} can now sign in as {1}.").format(display, username))
            self.new_username.setFocus()

        self.ctx.ops.run(lambda s, a: staff.create_user(s, a, username, display, role, pin, badge), done)

    def toggle_user(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        notice = (
            self.tr("{0} is disabled and cannot sign in.")
            if u.active
            else self.tr("{0} is enabled and can sign in.")
        ).format(u.display_name)
        self._update_user(u.id, notice, self.staff_table, active=not u.active)

    def reset_user_pin(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        pin = self.reset_pin.text()
        # Cleared once the PIN is set: a refused PIN (too short) stays to be corrected, like every form's input.
        self._update_user(
            u.id,
            self.tr("New PIN set for {0}.").format(u.display_name),
            self.staff_table,
            self.reset_pin.clear,
            pin=pin,
        )

    def change_user_role(self) -> None:
        u = self._picked_user()
        if u is None:
            return
        role = self.change_role.currentData()
        self._update_user(
            u.id,
            self.tr("{0} is now {1}.").format(u.display_name, role.replace("_", " ")),
            self.staff_table,
            role=role,
        )
