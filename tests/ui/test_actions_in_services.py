"""Each screen action is one service call that checks its permission, writes its audit entry and says what changed.

Through the screens, on a real copy of the demo store: a receipt reprinted from Office > Print queue and one from the
journal are both found by the Audit tab's search for `receipt.reprinted`; cancelling a print job checks a
permission and is audited; F11, Office > Devices "open drawer", paid in and paid out go through one drawer service,
each opening the drawer (real ESC/POS bytes in a print file) and counted on the Z by one definition.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from escpos.printer import Dummy
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, CashMovement, PrintJob, Product, StaffUser
from app.services import drawer, printing, sales, settings, shifts
from app.services.base import Actor, UserError, here
from tests.ui.contexts import context_for
from tests.ui.shots import shots_dir
from tests.waiting import wait_for
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.print_worker import PrintWorker
from ui.scan_router import ScanRouter
from ui.screens.journal import JournalScreen
from ui.screens.office import OfficeScreen
from ui.screens.sell import SellScreen
from ui.theme import STYLE

Factory = sessionmaker[Session]
D = Decimal
SHOTS = shots_dir()
PINS = {"manager": "6666", "cashier": "1111", "admin": "9999", "supervisor": "5555"}


@pytest.fixture
def make(db: Factory, qtbot: QtBot) -> Iterator[type]:
    made: list[AppContext] = []
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE)

    class Make:
        @staticmethod
        def context(username: str) -> AppContext:
            ctx = context_for(db, username, PINS[username])
            qtbot.addWidget(ctx.messages)
            made.append(ctx)
            return ctx

        @staticmethod
        def show(ctx: AppContext, screen: QWidget) -> None:
            ctx.ops.changed.connect(screen.on_changed)  # type: ignore[attr-defined]
            if screen.parent() is None:
                qtbot.addWidget(screen)
            screen.resize(1280, 800)
            screen.show()
            screen.activate()  # type: ignore[attr-defined]
            settle(qtbot, ctx)

    yield Make
    for ctx in made:
        ctx.ops.shutdown()
        worker = ctx.services.get("printer")
        if isinstance(worker, PrintWorker):
            worker.stop()


def settle(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(ctx.ops.is_idle)


def click(qtbot: QtBot, ctx: AppContext, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle(qtbot, ctx)


def ring_cash_sale(db: Factory, username: str) -> sales.Completed:
    with db.begin() as s:
        who = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == username)) or "")
        if shifts.current_shift(s) is None:
            shifts.open_shift(s, who, D("100.00"))
        product = s.scalars(select(Product).where(Product.weighed.is_(False)).order_by(Product.sku)).first()
        assert product is not None
        sale = sales.start_sale(s, who)
        sale = sales.add_product(s, who, sale.id, product.id, D(1)).sale
        sales.add_tender(s, who, sale.id, "cash", sale.remaining_in_cash)
        return sales.complete_sale(s, who, sale.id)


def test_an_audit_search_for_receipt_reprints_finds_the_reprints_made_at_this_till(
    make: type, db: Factory, qtbot: QtBot
) -> None:
    first = ring_cash_sale(db, "cashier")
    second = ring_cash_sale(db, "cashier")

    # A cashier reprints the first sale's receipt from Office > Print queue ...
    ctx = make.context("cashier")
    office = OfficeScreen(ctx)
    make.show(ctx, office)
    office.tabs.setCurrentWidget(office.queue_page)
    settle(qtbot, ctx)
    with db() as s:
        job_id = s.scalar(select(PrintJob.id).where(PrintJob.cause_id == first.sale.id))
    row = next(
        r
        for r in range(office.queue_table.rowCount())
        if first.sale.number in office.queue_table.item(r, 1).text()
    )  # type: ignore[union-attr]
    office.queue_table.selectRow(row)
    click(qtbot, ctx, office.reprint_btn)
    assert "copy is in the print queue" in ctx.messages.text()

    # ... and the second one's from the journal.
    journal = JournalScreen(ctx)
    make.show(ctx, journal)
    journal.find_code(second.sale.number)
    settle(qtbot, ctx)
    assert journal.shown is not None and journal.shown.row.number == second.sale.number
    click(qtbot, ctx, journal.reprint_btn)
    assert "marked COPY" in ctx.messages.text()

    # A manager searches the audit trail for receipt reprints: both are there, each on its sale.
    boss = make.context("manager")
    office2 = OfficeScreen(boss)
    make.show(boss, office2)
    office2.tabs.setCurrentWidget(office2.audit_gate)
    settle(qtbot, boss)
    office2.audit_action.setText("receipt.reprinted")
    office2.search_audit()
    settle(qtbot, boss)
    rows = office2.audit_rows
    assert {r.action for r in rows} == {"receipt.reprinted"}
    assert sorted(r.record_id for r in rows) == sorted([first.sale.id, second.sale.id])
    assert {r.details["number"] for r in rows} == {first.sale.number, second.sale.number}
    assert office2.audit_table.rowCount() == 2
    copies = {r.details["from"] for r in rows if "from" in r.details}
    assert copies == {"print_queue"}  # the journal's entry has no "from": the service is the same
    with db() as s:
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "print.reprinted")) is None
        copy = s.scalar(select(PrintJob).where(PrintJob.cause_id == first.sale.id, PrintJob.id != job_id))
        assert copy is not None and copy.document.get("copy") is True


def test_cancelling_a_print_job_checks_a_permission_and_is_audited(
    make: type, db: Factory, qtbot: QtBot
) -> None:
    with db.begin() as s:
        job_id = printing.enqueue(s, "receipt", {"blocks": []}, "Receipt S001-01-000042")
    ctx = make.context("cashier")
    office = OfficeScreen(ctx)
    make.show(ctx, office)
    office.tabs.setCurrentWidget(office.queue_page)
    settle(qtbot, ctx)
    office.queue_table.selectRow(0)

    # The cashier's account is disabled meanwhile: the service refuses; nothing is cancelled.
    with db.begin() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == "cashier"))
        assert user is not None
        user.active = False
    click(qtbot, ctx, office.cancel_btn)
    assert "sign in again" in ctx.messages.text()
    with db() as s:
        assert s.scalar(select(PrintJob.status).where(PrintJob.id == job_id)) == "pending"

    with db.begin() as s:
        user = s.scalar(select(StaffUser).where(StaffUser.username == "cashier"))
        assert user is not None
        user.active = True
    ctx.messages.clear()
    office.queue_table.selectRow(0)
    click(qtbot, ctx, office.cancel_btn)
    with db() as s:
        assert s.scalar(select(PrintJob.status).where(PrintJob.id == job_id)) == "cancelled"
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "print.cancelled"))
        assert entry is not None and entry.record_id == job_id
        assert entry.details["title"] == "Receipt S001-01-000042"
    # A printed job cannot be cancelled: said, not silently ignored.
    with db.begin() as s:
        who = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "cashier")) or "")
        with pytest.raises(UserError, match="only a waiting or failed job"):
            printing.cancel_job(s, who, job_id)


def kick_bytes(pin: int = 2) -> bytes:
    expected = Dummy()
    expected.cashdraw(pin)
    return bytes(expected.output)


def with_drawer(ctx: AppContext, db: Factory, tmp_path: Path) -> Path:
    out = tmp_path / "printer.bin"
    out.write_bytes(b"")
    with db.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "file", "path": str(out)})
        settings.put(s, "devices.drawer", {"via": "receipt_printer", "pin": 2})
    worker = PrintWorker(db)
    worker.start()
    ctx.services["printer"] = worker
    return out


def test_every_drawer_opening_goes_through_one_service_and_counts_once_on_the_z(
    make: type, db: Factory, qtbot: QtBot, tmp_path: Path
) -> None:
    ctx = make.context("admin")
    out = with_drawer(ctx, db, tmp_path)
    office = OfficeScreen(ctx)
    make.show(ctx, office)
    office.tabs.setCurrentWidget(office.shift_page)
    settle(qtbot, ctx)
    office.float_edit.setText("100")
    click(qtbot, ctx, office.open_btn)

    # Paid in and paid out open the drawer (they did not).
    office.cash_amount.setText("20")
    office.cash_reason.setText("change from the safe")
    click(qtbot, ctx, office.paid_in_btn)
    wait_for(lambda: out.read_bytes() == kick_bytes())
    office.cash_amount.setText("5")
    office.cash_reason.setText("milk")
    click(qtbot, ctx, office.paid_out_btn)
    wait_for(lambda: out.read_bytes() == kick_bytes() * 2)

    # Office > Devices "open drawer" (a test) and F11 on Sell: both no-sales on the Z (Office only audited).
    office.tabs.setCurrentWidget(office.devices_gate)
    settle(qtbot, ctx)
    click(qtbot, ctx, office.drawer_btn)
    wait_for(lambda: out.read_bytes() == kick_bytes() * 3)
    holder = QWidget()  # the Sell screen hands focus to its window; here a plain one
    qtbot.addWidget(holder)
    sell = SellScreen(ctx, holder)
    make.show(ctx, sell)
    sell.no_sale()
    settle(qtbot, ctx)
    wait_for(lambda: out.read_bytes() == kick_bytes() * 4)
    assert "no sale" in ctx.messages.text()

    with db() as s:
        kinds = sorted(m.kind for m in s.scalars(select(CashMovement)))
        assert kinds == ["no_sale", "no_sale", "paid_in", "paid_out"]
        figures = shifts.x_report(s)
        assert figures.no_sales == 2
        assert (figures.paid_in_total, figures.paid_out_total) == (D("20.00"), D("5.00"))
        reasons = [
            e.details["reason"]
            for e in s.scalars(select(AuditEntry).where(AuditEntry.action == "drawer.no_sale"))
        ]
        assert sorted(reasons) == ["no sale", "test"]


def test_a_drawer_test_with_no_shift_open_is_audited_only(db: Factory) -> None:
    with db.begin() as s:
        admin = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "admin")) or "")
        assert shifts.current_shift(s) is None
        opened = drawer.open_drawer(s, admin, "test")
        assert opened.open_drawer and not opened.counted and opened.movement is None
        assert s.scalar(select(CashMovement)) is None
        assert s.scalar(select(AuditEntry).where(AuditEntry.action == "drawer.no_sale")) is not None
        with pytest.raises(UserError, match="shift"):
            drawer.open_drawer(s, admin, "no_sale")  # F11 needs a shift: the opening must count somewhere


def test_a_screen_redraws_right_after_an_op_that_wrote_its_table_without_a_timer(
    make: type, db: Factory, qtbot: QtBot
) -> None:
    """No service says what it changed here: the op helper reads it from the transaction (ORM rows flushed, a bulk
    update run) and the screens showing those tables redraw once it has committed."""
    from sqlalchemy import update

    from app.db.models import Order
    from app.services import receipts
    from ui.screens.pickup import PickupScreen

    sale = ring_cash_sale(db, "cashier")
    ctx = make.context("cashier")
    office = OfficeScreen(ctx)
    make.show(ctx, office)
    office.tabs.setCurrentWidget(office.queue_page)
    settle(qtbot, ctx)
    before = office.queue_table.rowCount()
    seen: list[object] = []
    ctx.ops.changed.connect(seen.append)

    # receipts.reprint_receipt returns a job id only: the new print job row is what tells the queue to redraw.
    ctx.ops.run(lambda s, a: receipts.reprint_receipt(s, a, sale.sale.number))
    settle(qtbot, ctx)
    assert office.queue_table.rowCount() == before + 1
    assert seen and seen[-1].print_queue  # type: ignore[attr-defined]

    # A bulk update of an order (no ORM object flushed): the Pickup queue shows the order collected at once.
    holder = QWidget()
    qtbot.addWidget(holder)
    pickup = PickupScreen(ctx, holder)
    make.show(ctx, pickup)
    holder.show()
    numbers = [pickup.table.item(r, 0).text() for r in range(pickup.table.rowCount())]  # type: ignore[union-attr]
    assert "W-100201" in numbers
    SHOTS.mkdir(parents=True, exist_ok=True)
    pickup.grab().save(str(SHOTS / "pickup-waiting.png"))  # for a person to look at
    ctx.ops.run(
        lambda s, a: s.execute(update(Order).where(Order.number == "W-100201").values(status="collected"))
    )
    settle(qtbot, ctx)
    states = {
        pickup.table.item(r, 0).text(): pickup.table.item(r, 3).text()  # type: ignore[union-attr]
        for r in range(pickup.table.rowCount())
    }
    assert states["W-100201"].startswith("collected") and len(states) >= 2
    assert seen[-1].orders and not seen[-1].print_queue  # type: ignore[attr-defined]

    # A read-only call or one that writes nothing reports nothing.
    count = len(seen)
    ctx.ops.run(lambda s, a: printing.waiting(s))
    settle(qtbot, ctx)
    assert len(seen) == count


def test_the_status_bar_counts_a_new_print_job_at_once_not_at_its_timer(db: Factory, qtbot: QtBot) -> None:
    """A reprint returns only a job id; the status bar's queue count updates as soon as it has committed."""
    from app.services import receipts
    from ui.main_window import MainWindow

    sale = ring_cash_sale(db, "cashier")
    with db.begin() as s:
        printing.mark_printed(s, s.scalar(select(PrintJob.id).where(PrintJob.cause_id == sale.sale.id)) or "")
        where = here(s)
    ctx = AppContext(db, Ops(db), ScanRouter(), MessageBar(), Sounds(), where)
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.show()
    try:
        qtbot.waitUntil(ctx.ops.is_idle)
        win.signin.users.setCurrentRow(
            next(
                i
                for i in range(win.signin.users.count())
                if win.signin.users.item(i).data(Qt.ItemDataRole.UserRole) == "cashier"
            )
        )
        win.signin.pin.setText(PINS["cashier"])
        win.signin.submit()
        qtbot.waitUntil(lambda: ctx.user is not None)
        qtbot.waitUntil(ctx.ops.is_idle)
        win._status_timer.stop()  # only the op's own report may update it now
        assert "in queue" not in win.st_printer.text()
        ctx.ops.run(lambda s, a: receipts.reprint_receipt(s, a, sale.sale.number))
        qtbot.waitUntil(ctx.ops.is_idle)
        assert "1 in queue" in win.st_printer.text()
    finally:
        ctx.ops.shutdown()


def test_a_test_label_needs_the_device_settings_permission(db: Factory) -> None:
    from app.services.base import PermissionDenied

    with db.begin() as s:
        cashier = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "cashier")) or "")
        with pytest.raises(PermissionDenied):
            printing.test_label(s, cashier)
        admin = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "admin")) or "")
        done = printing.test_label(s, admin)
        job = s.scalar(select(PrintJob).where(PrintJob.id == done.job_id))
        assert job is not None and job.role == "label" and done.changes.print_queue


def test_send_refused_again_is_one_audited_call_and_the_sync_tab_redraws(
    make: type, db: Factory, qtbot: QtBot
) -> None:
    from app.db.models import OutboxEvent

    with db.begin() as s:
        s.add(OutboxEvent(type="sale.completed", payload={}, status="rejected", error="unknown product"))
    ctx = make.context("manager")
    office = OfficeScreen(ctx)
    make.show(ctx, office)
    office.tabs.setCurrentWidget(office.sync_page)
    settle(qtbot, ctx)
    assert office.rejected_table.rowCount() == 1
    assert office.rejected_table.item(0, 2).text() == "unknown product"  # type: ignore[union-attr]
    click(qtbot, ctx, office.resend_btn)
    assert "1 refused events will be sent again" in ctx.messages.text()
    assert office.rejected_table.rowCount() == 0
    with db() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "sync.resend_refused"))
        assert entry is not None and entry.details == {"events": 1}


def test_an_op_that_is_refused_reports_no_change(make: type, db: Factory, qtbot: QtBot) -> None:
    """Its writes were rolled back: nothing changed, so no screen is told otherwise."""
    ctx = make.context("cashier")
    seen: list[object] = []
    ctx.ops.changed.connect(seen.append)

    def work(s: Session, _a: Actor) -> None:
        printing.enqueue(s, "test", {"blocks": []}, "never printed")
        s.flush()
        raise UserError("Refused: nothing was changed.")

    ctx.ops.run(work)
    settle(qtbot, ctx)
    assert seen == [] and "Refused" in ctx.messages.text()
    with db() as s:
        assert s.scalar(select(PrintJob).where(PrintJob.title == "never printed")) is None
