"""Office > Audit: search the audit trail by person, action, record and dates, verify its chain, export it as CSV."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QComboBox, QFileDialog, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from app.services import audit
from app.services.base import Actor
from ui.screens.office.base import OfficeTab
from ui.screens.office.tables import button, fill_rows, make_table

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the op helper's session, handed to services only


class AuditTab(OfficeTab):
    """The Audit tab; see the module docstring."""

    def _build_audit(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        filters = QHBoxLayout()
        self.audit_person = QComboBox()
        self.audit_person.setMinimumHeight(48)
        self.audit_person.addItem(self.tr("Everyone"), None)
        self.audit_action = QLineEdit()
        self.audit_action.setPlaceholderText(self.tr("Action starts with, e.g. staff."))
        self.audit_record = QLineEdit()
        self.audit_record.setPlaceholderText(self.tr("Record id"))
        self.audit_from = QLineEdit()
        self.audit_from.setPlaceholderText(self.tr("From YYYY-MM-DD"))
        self.audit_to = QLineEdit()
        self.audit_to.setPlaceholderText(self.tr("To YYYY-MM-DD"))
        filters.addWidget(self.audit_person, 2)
        for w in (self.audit_from, self.audit_to):
            w.setMinimumWidth(190)  # room for the whole YYYY-MM-DD hint
        for w in (self.audit_action, self.audit_record, self.audit_from, self.audit_to):
            w.setMinimumHeight(48)
            w.returnPressed.connect(self.search_audit)
            filters.addWidget(w, 2 if w in (self.audit_action, self.audit_record) else 1)
        filters.addWidget(button(self.tr("Search"), self.search_audit, "primary"))
        lay.addLayout(filters)
        self.audit_table = make_table(
            [
                self.tr("#"),
                self.tr("Time"),
                self.tr("Who"),
                self.tr("Terminal"),
                self.tr("Action"),
                self.tr("Record"),
                self.tr("Details"),
            ]
        )
        lay.addWidget(self.audit_table, 1)
        row = QHBoxLayout()
        self.verify_btn = button(self.tr("Verify chain"), self.verify_chain)
        self.export_btn = button(self.tr("Export CSV…"), self.export_csv)
        self.audit_result = QLabel()
        self.audit_result.setWordWrap(True)
        row.addWidget(self.verify_btn)
        row.addWidget(self.export_btn)
        row.addWidget(self.audit_result, 1)
        lay.addLayout(row)
        self.audit_rows: list[audit.AuditRow] = []
        return page

    def _day(self, field: QLineEdit, end: bool) -> datetime | None | bool:
        """A typed store-local date as a UTC bound (the start of the next day for `to`); False when unreadable."""
        text = field.text().strip()
        if not text:
            return None
        try:
            d = date.fromisoformat(text)
        except ValueError:
            self._error(self.tr("'{0}' is not a date: write it as 2025-03-31.").format(text))
            field.setFocus()
            return False
        if end:
            d = date.fromordinal(d.toordinal() + 1)
        return self.ctx.here.instant(d)

    def search_audit(self, then: Callable[[list[audit.AuditRow]], None] | None = None) -> None:
        since, until = self._day(self.audit_from, False), self._day(self.audit_to, True)
        if since is False or until is False:
            return
        user_id = self.audit_person.currentData()
        action = self.audit_action.text().strip() or None
        record_id = self.audit_record.text().strip() or None
        assert not isinstance(since, bool) and not isinstance(until, bool)

        def call(s: Session, a: Actor) -> audit.Trail:
            return audit.view_trail(
                s, a, user_id=user_id, action=action, record_id=record_id, since=since, until=until
            )

        def done(res: audit.Trail) -> None:
            rows = res.rows
            self._fill_people(res.people)
            self.audit_rows = rows
            fill_rows(
                self.audit_table,
                [
                    [
                        str(r.seq),
                        self.when(r.at),
                        r.user_name,
                        r.terminal,
                        r.action,
                        f"{r.record_type} {r.record_id}".strip(),
                        json.dumps(r.details, default=str) if r.details else "",
                    ]
                    for r in rows
                ],
            )
            self.audit_result.setStyleSheet("")
            self.audit_result.setText(self.tr("{0} entries.").format(len(rows)))
            if then is not None:
                then(rows)

        self.ctx.ops.run(call, done)

    def _fill_people(self, users: list[tuple[str, str]]) -> None:
        current = self.audit_person.currentData()
        if self.audit_person.count() == len(users) + 1:
            return  # the list is there already; rebuilding it would drop what the person picked
        self.audit_person.blockSignals(True)
        self.audit_person.clear()
        self.audit_person.addItem(self.tr("Everyone"), None)
        for user_id, name in users:
            self.audit_person.addItem(name, user_id)
        i = self.audit_person.findData(current)
        self.audit_person.setCurrentIndex(max(0, i))
        self.audit_person.blockSignals(False)

    def verify_chain(self) -> None:
        def done(brk: Any) -> None:
            if brk is None:
                self.audit_result.setText(
                    self.tr("Audit chain intact: no entry was changed, moved or removed.")
                )
                self.audit_result.setStyleSheet("color: #166534; font-weight: 600;")
            else:
                self.audit_result.setText(
                    self.tr("Audit chain broken at entry {0}: {1}. Tell the head office.").format(
                        brk.seq, brk.reason
                    )
                )
                self.audit_result.setStyleSheet("color: #b91c1c; font-weight: 600;")
            self.verify_btn.setFocus()

        self.ctx.ops.run(audit.check_chain, done)

    def export_csv(self) -> None:
        name, _filter = QFileDialog.getSaveFileName(
            self, self.tr("Export the audit trail"), "audit.csv", self.tr("CSV files (*.csv)")
        )
        if name:
            self.export_csv_to(Path(name))

    def export_csv_to(self, path: Path) -> None:
        """Search with the filters shown (permission checked again) and write the rows as CSV to `path`."""

        def write(rows: list[audit.AuditRow]) -> None:
            try:
                path.write_text(audit.to_csv(rows), encoding="utf-8", newline="")
            except OSError as exc:
                self._error(
                    self.tr("Could not write {0}: {1}. Pick another folder.").format(path, exc.strerror)
                )
                return
            self.ctx.messages.show_notice(self.tr("{0} entries written to {1}.").format(len(rows), path))
            self.export_btn.setFocus()

        self.search_audit(then=write)
