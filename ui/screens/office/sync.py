"""Office > Sync: the link with the central store (events waiting, sent and refused, changes this till set aside,
the store's pricing rule), Sync now with its progress, and sending refused events again.
"""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QGroupBox, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from app.services import sales, sync_review
from ui.screens.office.base import OfficeTab
from ui.screens.office.tables import button, fill_rows, make_table


class SyncTab(OfficeTab):
    """The Sync tab; see the module docstring."""

    def _build_sync(self) -> QWidget:
        page = QWidget()
        self.sync_page = page
        lay = QVBoxLayout(page)
        self.sync_state = QLabel()
        self.sync_state.setObjectName("bigCaption")
        self.sync_state.setWordWrap(True)
        lay.addWidget(self.sync_state)
        self.sync_counts = QLabel()
        self.sync_counts.setStyleSheet("font-size: 22px; font-weight: 600;")
        lay.addWidget(self.sync_counts)
        # Read only: a store's tax mode, tax rounding and cash rounding are set at the central store.
        pricing_box = QGroupBox(self.tr("Pricing rule (set at the central store)"))
        self.pricing_rule = QLabel()
        self.pricing_rule.setObjectName("pricingRule")
        QVBoxLayout(pricing_box).addWidget(self.pricing_rule)
        lay.addWidget(pricing_box)
        # A first sync of a large catalog takes a while: show how far it is, off the agent's own figures.
        self.sync_progress = QProgressBar()
        self.sync_progress.setFormat(self.tr("Receiving from the central store: %v of %m"))
        self.sync_progress.hide()
        lay.addWidget(self.sync_progress)
        self._sync_timer = QTimer(self)
        self._sync_timer.setInterval(250)
        self._sync_timer.timeout.connect(self._poll_sync)
        lay.addWidget(
            QLabel(self.tr("Events the central store refused (they need a person to look at them):"))
        )
        self.rejected_table = make_table([self.tr("Time"), self.tr("Event"), self.tr("Why it was refused")])
        lay.addWidget(self.rejected_table, 1)
        # The other way round: changes from the central store this till could not take. They are set aside so
        # the rest of the feed (prices, orders, cancellations) keeps coming; a person looks at them.
        lay.addWidget(
            QLabel(
                self.tr("Changes from the central store this till could not apply (set aside, sync goes on):")
            )
        )
        self.parked_changes_table = make_table(
            [self.tr("Time"), self.tr("Change"), self.tr("Of"), self.tr("Why it could not be applied")]
        )
        lay.addWidget(self.parked_changes_table, 1)
        row = QHBoxLayout()
        self.sync_btn = button(self.tr("Sync now"), self.sync_now, "primary")
        row.addWidget(self.sync_btn)
        self.resend_btn = button(self.tr("Send refused again"), self.resend_refused)
        row.addWidget(self.resend_btn)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    def _poll_sync(self) -> None:
        agent = self.ctx.services.get("sync")
        st = agent.status() if agent is not None and hasattr(agent, "status") else None
        progress = st.progress if st is not None and st.busy else None
        if progress is None:
            if self.sync_progress.isVisible():
                self.sync_progress.hide()
                self.refresh_sync()
            if st is None or not st.busy:
                self._sync_timer.stop()
            return
        done, total = progress
        self.sync_progress.setRange(0, max(total or 0, done, 1))
        self.sync_progress.setValue(done)
        self.sync_progress.show()
        if agent is not None:
            self.sync_state.setText(agent.status_text())

    def refresh_sync(self) -> None:
        agent = self.ctx.services.get("sync")
        self.sync_btn.setEnabled(agent is not None)
        if agent is not None and hasattr(agent, "status") and agent.status().busy:
            self._sync_timer.start()
        if agent is None:
            self.sync_state.setText(
                self.tr(
                    "This terminal is not enrolled with a central store: run `counterline enrol URL CODE`."
                )
            )
        else:
            status = getattr(agent, "status_text", None)
            self.sync_state.setText(
                status() if callable(status) else self.tr("Enrolled with a central store.")
            )

        self.ctx.ops.read(sync_review.review, self._show_sync)
        self.ctx.ops.read(sales.pricing_rule, self.pricing_rule.setText)

    def _show_sync(self, res: sync_review.SyncReview) -> None:
        counts = res.counts
        fill_rows(self.parked_changes_table, [[self.when(p.at), p.type, p.key, p.reason] for p in res.parked])
        self.sync_counts.setText(
            self.tr("Waiting to send: {0} · Sent: {1} · Refused: {2}").format(
                counts.get("pending", 0), counts.get("sent", 0), counts.get("rejected", 0)
            )
        )
        fill_rows(self.rejected_table, [[self.when(r.at), r.type, r.error] for r in res.refused])

    def sync_now(self) -> None:
        agent = self.ctx.services.get("sync")
        if agent is None:
            self._error(
                self.tr(
                    "This terminal is not enrolled with a central store: run `counterline enrol URL CODE`."
                )
            )
            return
        agent.sync_now()
        self._sync_timer.start()
        self.ctx.messages.show_notice(self.tr("Sync started; the counts update when it is done."))
        self.refresh_sync()
        self.sync_btn.setFocus()

    def resend_refused(self) -> None:
        """After the central store's data was put right: queue the refused events for the next round."""

        def done(resent: sync_review.Resent) -> None:
            n = resent.events
            agent = self.ctx.services.get("sync")
            if agent is not None:
                agent.sync_now()
            self.ctx.messages.show_notice(self.tr("{0} refused events will be sent again.").format(n))
            self.refresh_sync()

        self.ctx.ops.run(sync_review.resend_refused, done)
