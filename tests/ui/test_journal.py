"""The electronic journal, through the screens, on a real copy of the demo store: find a past sale by number,
scanned receipt, day and time, total and tender; show it; reprint a COPY; Lookup finds a scanned receipt; a
receipt that did not print is told in the message bar, and the status bar stops counting it once its copy printed.
Screenshots go to $SHOTS (default: counterline-shots in the temp folder) for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Order, PrintJob, Product
from app.documents.model import Document, Text
from app.services import printing, sales, shifts
from app.services.base import Actor
from tests.ui.contexts import signed_in
from tests.ui.shots import shots_dir
from ui.context import AppContext
from ui.main_window import MainWindow
from ui.screens.journal import JournalScreen
from ui.screens.lookup import LookupScreen

Factory = sessionmaker[Session]
D = Decimal
SHOTS = shots_dir()


def shoot(widget: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))  # type: ignore[attr-defined]


def ring(db: Factory, who: Actor, qty: int, tender: str, amount: D | None = None) -> sales.Completed:
    with db.begin() as s:
        if shifts.current_shift(s) is None:
            shifts.open_shift(s, who, D("100.00"))
        product = s.scalars(select(Product).where(Product.weighed.is_(False)).order_by(Product.sku)).first()
        assert product is not None
        sale = sales.start_sale(s, who)
        sale = sales.add_product(s, who, sale.id, product.id, D(qty)).sale
        if tender == "card":
            sales.add_tender(s, who, sale.id, "card", sale.total, card_last4="4242", approval_code="OK12")
        else:
            sales.add_tender(s, who, sale.id, "cash", amount or sale.remaining_in_cash)
        return sales.complete_sale(s, who, sale.id)


@pytest.fixture
def context(db: Factory, qtbot: QtBot) -> Iterator[AppContext]:
    with signed_in(db, qtbot, "cashier", "1111") as ctx:
        yield ctx


def settle(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(ctx.ops.is_idle)


def journal_screen(ctx: AppContext, qtbot: QtBot) -> JournalScreen:
    screen = JournalScreen(ctx)
    ctx.ops.changed.connect(screen.on_changed)
    qtbot.addWidget(screen)
    screen.resize(1280, 700)
    screen.show()
    screen.activate()
    settle(qtbot, ctx)
    return screen


def numbers_shown(screen: JournalScreen) -> list[str]:
    return [screen.table.item(r, 1).text() for r in range(screen.table.rowCount())]


def search(qtbot: QtBot, screen: JournalScreen, **fields: str) -> list[str]:
    for name in ("number", "day", "start", "end", "amount"):
        getattr(screen, name).setText(fields.get(name, ""))
    screen.tender.setCurrentIndex(max(0, screen.tender.findData(fields.get("tender"))))
    qtbot.mouseClick(screen.search_btn, Qt.MouseButton.LeftButton)
    settle(qtbot, screen.ctx)
    return numbers_shown(screen)


def test_journal_finds_shows_and_reprints_a_sale(db: Factory, context: AppContext, qtbot: QtBot) -> None:
    who = Actor(context.user.id)  # type: ignore[union-attr]
    cash = ring(db, who, 2, "cash", D("50.00"))
    card = ring(db, who, 1, "card")
    third = ring(db, who, 3, "cash")
    # The card sale was rung up yesterday afternoon (store time), so a day and a time window find it alone.
    tz = ZoneInfo(context.here.timezone)
    with db.begin() as s:
        order = s.get(Order, card.sale.id)
        assert order is not None and order.completed_at is not None
        yesterday = (order.completed_at.astimezone(tz) - timedelta(days=1)).replace(hour=15, minute=20)
        order.completed_at = yesterday
    screen = journal_screen(context, qtbot)
    assert numbers_shown(screen) == [third.sale.number, cash.sale.number, card.sale.number]  # newest first

    # By number: whole, as the receipt's barcode reads, or only its sequence.
    assert search(qtbot, screen, number=cash.sale.number) == [cash.sale.number]
    assert search(qtbot, screen, number=f"r-{cash.sale.number.lower()}") == [cash.sale.number]
    assert search(qtbot, screen, number=str(int(third.sale.number.rsplit("-", 1)[1]))) == [third.sale.number]
    # By day and time, typed the store's way (en_IE: day first).
    day = yesterday.strftime("%d/%m/%Y")
    assert search(qtbot, screen, day=day) == [card.sale.number]
    assert search(qtbot, screen, day=day, start="15:00", end="15:30") == [card.sale.number]
    assert search(qtbot, screen, day=day, start="16:00") == []
    assert "No sale matches" in screen.heading.text()
    # By total and by tender.
    assert search(qtbot, screen, amount=str(card.sale.total)) == [card.sale.number]
    assert search(qtbot, screen, tender="card") == [card.sale.number]
    assert set(search(qtbot, screen, tender="cash")) == {cash.sale.number, third.sale.number}
    # A mistyped field says what is wrong instead of searching.
    search(qtbot, screen, day="31/31/2026")
    assert "not a day" in context.messages.text()
    context.messages.clear()

    # A scanned receipt shows that sale: its lines, tenders and change as printed.
    search(qtbot, screen)
    context.router.dispatch(f"R-{cash.sale.number}")
    settle(qtbot, context)
    assert screen.shown is not None and screen.shown.row.number == cash.sale.number
    receipt = screen.receipt.toPlainText()
    assert cash.sale.number in receipt and "Change" in receipt and "€50.00" in receipt
    assert "COPY" not in receipt
    shoot(screen, "journal-screen")

    # Reprint: a copy marked COPY goes to the print queue through the one reprint service, and is audited.
    qtbot.mouseClick(screen.reprint_btn, Qt.MouseButton.LeftButton)
    settle(qtbot, context)
    assert "marked COPY" in context.messages.text()
    with db() as s:
        jobs = s.scalars(
            select(PrintJob).where(PrintJob.cause_id == cash.sale.id).order_by(PrintJob.seq)
        ).all()
        assert [j.title for j in jobs] == [
            f"Receipt {cash.sale.number}",
            f"Receipt {cash.sale.number} (copy)",
        ]
        texts = [b.text for b in Document.from_json(jobs[1].document).blocks if isinstance(b, Text)]
        assert "COPY" in texts
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "receipt.reprinted")) is not None


def test_a_parked_code_or_a_product_in_the_journal_says_where_to_look(
    db: Factory, context: AppContext, qtbot: QtBot
) -> None:
    journal_screen(context, qtbot)
    context.router.dispatch("PS-S001-01-P000004")
    settle(qtbot, context)
    assert "recall it on Sell (F9)" in context.messages.text()
    context.messages.clear()
    context.router.dispatch("R-S001-02-000031")
    settle(qtbot, context)
    assert "terminal 02" in context.messages.text() and "not reached this one" in context.messages.text()


def test_lookup_finds_a_scanned_receipt(db: Factory, context: AppContext, qtbot: QtBot) -> None:
    who = Actor(context.user.id)  # type: ignore[union-attr]
    done = ring(db, who, 2, "cash", D("50.00"))
    screen = LookupScreen(context)
    qtbot.addWidget(screen)
    screen.resize(1280, 700)
    screen.show()
    opened: list[str] = []
    screen.open_sale.connect(opened.append)
    context.router.dispatch(f"R-{done.sale.number}")
    settle(qtbot, context)
    text = screen.detail.text()
    assert f"Sale {done.sale.number}" in text and "Paid by Cash" in text and "not a product" in text
    assert context.messages.text() == ""  # not refused as an unknown product
    assert screen.journal_btn.isVisible()
    shoot(screen, "journal-lookup-receipt")
    qtbot.mouseClick(screen.journal_btn, Qt.MouseButton.LeftButton)
    assert opened == [done.sale.id]

    context.router.dispatch("PS-S001-01-P000009")
    settle(qtbot, context)
    assert "parked sale S001-01-P000009" in screen.detail.text() and not screen.journal_btn.isVisible()


def test_a_receipt_that_did_not_print_is_told_and_stops_counting_once_its_copy_printed(
    db: Factory, context: AppContext, qtbot: QtBot
) -> None:
    who = Actor(context.user.id)  # type: ignore[union-attr]
    done = ring(db, who, 1, "cash")
    # The app stopped while the receipt was being sent (a crash): at the next start the job is "may have printed".
    with db.begin() as s:
        job = printing.claim_next(s)
        assert job is not None and job.id == done.receipt_job_id
    with db.begin() as s:
        assert printing.recover_interrupted(s) == 1

    window = MainWindow(context)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    assert context.user is not None
    window.on_signed_in(context.user)
    settle(qtbot, context)
    window.refresh_status()
    settle(qtbot, context)
    told = context.messages.text()
    assert f"Receipt {done.sale.number} may not have printed" in told and "Journal (Ctrl+7)" in told
    assert "1 in queue" in window.st_printer.text()
    shoot(window, "journal-print-failed-notice")
    context.messages.clear()
    window.refresh_status()
    settle(qtbot, context)
    assert context.messages.text() == ""  # told once, not every five seconds

    # The cashier reprints it from the Journal (Ctrl+7); the copy prints; nothing is left to count.
    qtbot.keyClick(window, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    settle(qtbot, context)
    journal = window.screens["journal"]
    assert window.current == "journal" and journal.isVisible()
    context.router.dispatch(f"R-{done.sale.number}")
    settle(qtbot, context)
    assert "may not have printed" in journal.heading.text()
    qtbot.mouseClick(journal.reprint_btn, Qt.MouseButton.LeftButton)
    settle(qtbot, context)
    window.refresh_status()
    settle(qtbot, context)
    # Until the copy has printed, both wait: the copy to print, the original for someone to be sure of it.
    assert "2 in queue" in window.st_printer.text()
    with db.begin() as s:
        copy = printing.claim_next(s)
        assert copy is not None and copy.title.endswith("(copy)")
        printing.mark_printed(s, copy.id)
    window.refresh_status()
    settle(qtbot, context)
    assert "in queue" not in window.st_printer.text()
    with db() as s:
        assert printing.waiting(s) == 0 and printing.problems(s) == []
        original = next(j for j in printing.queue(s) if j.id == done.receipt_job_id)
        assert original.status == "failed" and original.copy_printed  # Office > Print queue says so
    journal.search()
    settle(qtbot, context)
    shoot(window, "journal")
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() <= 1024)
    shoot(window, "journal-1024")


def test_paper_out_is_told_as_waiting(db: Factory, context: AppContext, qtbot: QtBot) -> None:
    who = Actor(context.user.id)  # type: ignore[union-attr]
    done = ring(db, who, 1, "cash")
    with db.begin() as s:
        job = printing.claim_next(s)
        assert job is not None
        printing.mark_not_sent(s, job.id, "the printer is out of paper")
    window = MainWindow(context)
    qtbot.addWidget(window)
    window.show()
    assert context.user is not None
    window.on_signed_in(context.user)
    window.refresh_status()
    settle(qtbot, context)
    told = context.messages.text()
    assert f"Receipt {done.sale.number} has not printed yet (the printer is out of paper)" in told


def test_the_day_field_shows_today_as_its_example(context: AppContext, qtbot: QtBot) -> None:
    """The day field's hint is today in the store's short format, not a far-off made-up day."""
    screen = journal_screen(context, qtbot)
    today = datetime.now(ZoneInfo(context.here.timezone)).date()
    example = format_date(today, "short", locale=context.here.locale)
    assert screen.day.placeholderText() == f"Day, e.g. {example}"
    screen.day.setText("not a day")
    assert screen.query() is None


def test_the_day_hint_fits_its_field_at_1024(context: AppContext, qtbot: QtBot) -> None:
    screen = journal_screen(context, qtbot)
    screen.resize(1004, 700)  # the screen's share of a 1024-wide window
    qtbot.waitUntil(lambda: screen.width() == 1004)
    need = screen.day.fontMetrics().horizontalAdvance(screen.day.placeholderText())
    assert screen.day.width() >= need + 24  # the field's padding either side
