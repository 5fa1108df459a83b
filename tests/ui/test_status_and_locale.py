"""The status bar's sync part fits and says how many events wait (full text in its tooltip), and a store the
central created in euros (locale "en", the central's default) writes dates the European way on screens, receipts
and reports, not as US month-first dates."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Order, PrintJob, Store
from app.documents.model import Columns, Document, Text
from app.services import outbox, receipts, shifts
from app.services.base import here, store_locale
from sync.agent import Agent
from sync.client import SyncError
from tests.sync.fleet import Hub, Till
from tests.ui.contexts import context_for
from tests.ui.test_journal import SHOTS, journal_screen, settle
from ui.main_window import MainWindow

Factory = sessionmaker[Session]
US_DATE = re.compile(r"\b12/31/\d{2}\b")  # what locale "en" writes for 31 December
DAY_FIRST = re.compile(r"\b31/12/2026\b")


def unreachable() -> object:
    raise SyncError(
        "the central store at https://central.example-retail.eu:8443/api did not answer (connection refused); "
        "sales are kept here and sent when it is back"
    )


@pytest.mark.parametrize("width,height", [(1280, 800), (1024, 768)])
def test_offline_sync_status_fits_and_shows_the_events_waiting(
    db: Factory, qtbot: QtBot, width: int, height: int
) -> None:
    with db.begin() as s:
        for i in range(12):
            outbox.emit(s, "test.event", {"n": i})
    ctx = context_for(db, "cashier", "1111")
    agent = Agent(db, unreachable, interval_s=3600, max_backoff_s=3600)  # type: ignore[arg-type]
    ctx.services["sync"] = agent
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(width, height)
    window.show()
    try:
        agent.start()
        qtbot.waitUntil(lambda: agent.status().failures >= 1, timeout=10_000)
        assert ctx.user is not None
        window.on_signed_in(ctx.user)
        window.refresh_status()
        settle(qtbot, ctx)
        with db() as s:
            waiting = outbox.counts(s)["pending"]  # the twelve, and what signing in wrote
        assert waiting >= 12
        label = window.st_sync
        text = label.text()
        assert text.startswith("sync: offline since ") and f"· {waiting} waiting" in text
        # It fits: the whole text is drawn within the label, so the count of events waiting is seen.
        assert label.fontMetrics().horizontalAdvance(text) <= label.contentsRect().width()
        assert label.geometry().right() <= window.statusBar().width()
        # The whole story is one hover away.
        assert "did not answer (connection refused)" in label.toolTip()
        assert f"{waiting} events waiting to be sent" in label.toolTip()
        SHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SHOTS / f"status-offline-{width}.png"))
    finally:
        agent.stop()
        ctx.ops.shutdown()


def test_store_locale_completes_a_language_only_locale() -> None:
    assert store_locale("en", "EUR") == "en_IE"
    assert store_locale("en", "EUR", "Europe/Malta") == "en_MT"
    assert store_locale("en", "USD", "UTC") == "en_US"
    assert store_locale("de", "EUR", "UTC") == "de_DE"
    assert store_locale("fr_BE", "EUR") == "fr_BE"  # a full locale is the store's choice


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    h = Hub.start(f"sqlite:///{tmp_path / 'central.db'}")
    yield h
    h.close()


def test_a_central_store_in_euros_writes_european_dates(hub: Hub, tmp_path: Path, qtbot: QtBot) -> None:
    till = Till.enrol(hub, tmp_path / "till", "S1", "T1")
    till.sync()
    with till.factory() as s:
        store = s.scalars(select(Store)).one()
        assert (store.currency, store.locale) == ("EUR", "en")  # as the central store made it
        assert here(s).locale == "en_IE"
    number = till.sell("A1")
    last_day = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    with till.factory.begin() as s:
        order = s.scalars(select(Order).where(Order.number == number)).one()
        order.completed_at = last_day
        order_id = order.id
        shift = s.scalars(select(shifts.Shift).where(shifts.Shift.status == "open")).one()
        shift.opened_at = last_day

    # The receipt (and so its reprint) dates the sale day first.
    with till.factory() as s:
        doc = Document.from_json(receipts.receipt_document(s, order_id))
    texts = [b.text for b in doc.blocks if isinstance(b, Text)]
    assert any(DAY_FIRST.search(t) for t in texts) and not any(US_DATE.search(t) for t in texts), texts

    # The Z report too.
    with till.factory.begin() as s:
        z = shifts.close_shift(s, till.actor, {Decimal("100"): 1})
    with till.factory() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.id == z.job_id)).one()
        opened = next(
            b.right
            for b in Document.from_json(job.document).blocks
            if isinstance(b, Columns) and b.left == "Opened"
        )
    assert DAY_FIRST.search(opened) and not US_DATE.search(opened), opened

    # And the screens: the Journal lists the sale with its European date.
    ctx = context_for(till.factory, "admin", "123456")
    try:
        screen = journal_screen(ctx, qtbot)
        assert screen.table.rowCount() == 1
        shown = screen.table.item(0, 0).text()
        assert DAY_FIRST.search(shown) and not US_DATE.search(shown), shown
        settle(qtbot, ctx)
    finally:
        ctx.ops.shutdown()


def test_a_busy_managers_status_bar_fits_at_1024(db: Factory, qtbot: QtBot) -> None:
    """A manager's name, a long sync count and a printer queue all stay readable at 1024 wide."""
    ctx = context_for(db, "manager", "6666")
    window = MainWindow(ctx)
    qtbot.addWidget(window)
    window.resize(1024, 768)
    window.show()
    try:
        assert ctx.user is not None
        window.on_signed_in(ctx.user)
        window.st_shift.setText("shift S001-01-000002")
        window.st_sync.setText("sync: not enrolled · 135 waiting")
        window.st_printer.setText("printer: not started · 46 in queue")
        qtbot.waitUntil(lambda: window.st_printer.width() > 0)
        window.statusBar().layout().activate()  # type: ignore[union-attr]
        label = window.st_printer
        assert label.fontMetrics().horizontalAdvance(label.text()) <= label.contentsRect().width()
        assert label.geometry().right() <= window.statusBar().width()
        SHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SHOTS / "status-busy-manager-1024.png"))
    finally:
        ctx.ops.shutdown()
