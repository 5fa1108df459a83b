"""Office > Print queue: the print jobs with their state, and reprint, cancel or retry of the one picked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QHBoxLayout, QVBoxLayout, QWidget

from app.services import printing
from app.services.base import Actor
from ui.screens.office.base import OfficeTab
from ui.screens.office.tables import button, fill_rows, make_table, selected_key

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the op helper's session, handed to services only


class PrintQueueTab(OfficeTab):
    """The Print queue tab; see the module docstring."""

    def _build_queue(self) -> QWidget:
        page = QWidget()
        self.queue_page = page
        lay = QVBoxLayout(page)
        self.queue_table = make_table(
            [self.tr("Time"), self.tr("Title"), self.tr("Status"), self.tr("Attempts"), self.tr("Last error")]
        )
        lay.addWidget(self.queue_table, 1)
        row = QHBoxLayout()
        self.reprint_btn = button(self.tr("Reprint"), self.reprint_job, "primary")
        self.cancel_btn = button(self.tr("Cancel job"), self.cancel_job, "danger")
        self.retry_btn = button(self.tr("Retry now"), self.retry_job)
        for b in (self.reprint_btn, self.cancel_btn, self.retry_btn):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(button(self.tr("Refresh"), self.refresh_queue))
        lay.addLayout(row)
        return page

    def refresh_queue(self) -> None:
        self.ctx.ops.read(printing.queue, self._show_queue)

    def _show_queue(self, jobs: list[printing.JobView]) -> None:
        keep = selected_key(self.queue_table)
        rows = [
            [
                self.when(j.created_at),
                j.title,
                j.status.replace("_", " ") + (self.tr(" (copy printed)") if j.copy_printed else ""),
                str(j.attempts),
                j.last_error or "",
            ]
            for j in jobs
        ]
        keys = [j.id for j in jobs]
        fill_rows(self.queue_table, rows, keys)
        if keep in keys:
            self.queue_table.selectRow(keys.index(keep))

    def _job_action(self, service: Callable[[Session, Actor, str], printing.JobDone], notice: str) -> None:
        """One service call per button: it checks the permission, writes the audit entry and says what changed."""
        job_id = selected_key(self.queue_table)
        if job_id is None:
            self._error(self.tr("Pick a job in the list first."))
            self.queue_table.setFocus()
            return

        def done(_r: Any) -> None:
            self.ctx.messages.show_notice(notice)
            self.queue_table.setFocus()

        self.ctx.ops.run(lambda s, a: service(s, a, job_id), done)

    def reprint_job(self) -> None:
        self._job_action(printing.reprint_job, self.tr("A copy is in the print queue."))

    def cancel_job(self) -> None:
        self._job_action(printing.cancel_job, self.tr("Job cancelled: it will not print."))

    def retry_job(self) -> None:
        self._job_action(printing.retry_job, self.tr("The job will be sent to the printer now."))
