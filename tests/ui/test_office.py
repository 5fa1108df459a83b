"""The Office workstation on a real copy of the demo store: shift, print queue, audit, staff, sync and devices tabs.

Each test drives the widgets (typing, clicking) and waits for the op helper's worker thread; assertions read the
database back or the text the screen shows. Screenshots of every tab go to the temp folder for a person to look at.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QTableWidget, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import CashMovement, PrintJob, Setting, Shift, StaffUser
from app.services import printing, staff
from tests.ui.contexts import context_for
from ui.context import AppContext
from ui.screens.office import OfficeScreen
from ui.theme import STYLE

PINS = {"manager": "6666", "cashier": "1111", "admin": "9999"}

Make = Callable[[str], tuple[OfficeScreen, AppContext]]


@pytest.fixture
def office(db: sessionmaker[Session], qtbot: QtBot) -> Iterator[Make]:
    """Build an Office screen signed in as the given demo user; shuts every op helper down afterwards."""
    made: list[AppContext] = []
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE)

    def make(username: str) -> tuple[OfficeScreen, AppContext]:
        ctx = context_for(db, username, PINS[username])  # failures shown in the message bar
        ops = ctx.ops
        made.append(ctx)
        screen = OfficeScreen(ctx)
        # What the main window does: redraw after every change.
        ops.changed.connect(screen.on_changed)
        qtbot.addWidget(screen)
        qtbot.addWidget(ctx.messages)
        screen.resize(1280, 800)
        screen.show()
        screen.activate()
        qtbot.waitUntil(ops.is_idle)
        return screen, ctx

    yield make
    for ctx in made:
        ctx.ops.shutdown()


def settle(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(ctx.ops.is_idle)


def click(qtbot: QtBot, ctx: AppContext, button: QWidget) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    settle(qtbot, ctx)


def type_into(qtbot: QtBot, field: QWidget, text: str) -> None:
    field.clear()  # type: ignore[attr-defined]
    qtbot.keyClicks(field, text)


def cell(table: QTableWidget, row: int, column: int) -> str:
    item = table.item(row, column)
    assert item is not None
    return item.text()


def shown_texts(widget: QWidget) -> str:
    """Every text a person can read on the widget now (visible labels and fields)."""
    from PySide6.QtWidgets import QLabel, QLineEdit

    texts = [w.text() for w in widget.findChildren(QLabel) if w.isVisible()]
    texts += [w.text() for w in widget.findChildren(QLineEdit) if w.isVisible()]
    return "\n".join(texts)


def shoot(widget: QWidget, name: str) -> None:
    """Save what the tab looks like, for a person to open (never committed)."""
    folder = Path(os.environ.get("OFFICE_SHOTS", tempfile.gettempdir()))
    widget.grab().save(str(folder / f"office-{name}.png"))


def test_open_shift_paid_out_and_blind_close(office: Make, qtbot: QtBot, db: sessionmaker[Session]) -> None:
    screen, ctx = office("manager")
    assert screen.tabs.tabText(screen.tabs.currentIndex()) == "Shift"
    assert not screen.cash_box.isEnabled()

    type_into(qtbot, screen.float_edit, "12,3x")
    click(qtbot, ctx, screen.open_btn)
    assert "not an amount" in ctx.messages.text()
    with db() as s:
        assert s.scalar(select(Shift)) is None
    ctx.messages.clear()  # a refusal stays until acknowledged

    type_into(qtbot, screen.float_edit, "150")
    click(qtbot, ctx, screen.open_btn)
    with db() as s:
        shift = s.scalar(select(Shift).where(Shift.status == "open"))
        assert shift is not None and shift.opening_float == Decimal("150.00")
    assert screen.cash_box.isEnabled() and screen.focusWidget() is screen.cash_amount
    assert shift.number in screen.shift_status.text()
    assert "150.00" in screen.shift_figures.text()
    assert "Expected" not in screen.shift_figures.text()  # blind until the count

    # On the smallest screen a till has, the reason's hint is whole (it was cut off beside the buttons).
    screen.resize(1024, 768)
    qtbot.wait(50)
    hint = screen.cash_reason.placeholderText()
    room = screen.cash_reason.contentsRect().width() - 2 * screen.cash_reason.textMargins().left()
    assert screen.cash_reason.fontMetrics().horizontalAdvance(hint) < room - 8, (hint, room)
    screen.resize(1280, 800)
    type_into(qtbot, screen.cash_amount, "7.50")
    type_into(qtbot, screen.cash_reason, "window cleaner")
    click(qtbot, ctx, screen.paid_out_btn)
    with db() as s:
        move = s.scalar(select(CashMovement))
        assert move is not None and (move.kind, move.amount, move.reason) == (
            "paid_out",
            Decimal("7.50"),
            "window cleaner",
        )
    assert "Paid out" in ctx.messages.text()
    assert "7.50" in screen.shift_figures.text()
    shoot(screen, "shift")

    assert "142.50" not in shown_texts(screen)  # blind: the expected cash is nowhere on the page
    click(qtbot, ctx, screen.x_btn)
    # A reading shows the figures (a manager printed it) ...
    assert "Expected cash" in screen.shift_figures.text() and "142.50" in screen.shift_figures.text()
    with db() as s:
        assert s.scalar(select(PrintJob.kind).where(PrintJob.kind == "x_report")) == "x_report"

    # ... until the count starts: while counting, neither the expected cash nor the cash taken is on screen.
    screen.denoms["100"].setValue(1)
    settle(qtbot, ctx)
    shown = shown_texts(screen)
    assert "142.50" not in shown and "Expected" not in screen.shift_figures.text()
    assert "shown" in screen.shift_figures.text() and "after the count" in screen.shift_figures.text()
    shoot(screen, "shift-counting")

    # Blind count: 100 + 2x20 + 2.50 = 142.50 against 150 - 7.50 = 142.50 expected.
    screen.denoms["20"].setValue(2)
    screen.denoms["2"].setValue(1)
    screen.denoms["0.50"].setValue(1)
    assert screen.counted_cash() == Decimal("142.50")
    assert screen.close_result.text() == ""
    click(qtbot, ctx, screen.close_btn)
    with db() as s:
        closed = s.scalar(select(Shift))
        assert closed is not None and closed.status == "closed"
        assert s.scalar(select(PrintJob.kind).where(PrintJob.kind == "z_report")) == "z_report"
    text = screen.close_result.text()
    assert "Expected" in text and "142.50" in text and "0.00" in text
    assert not screen.close_btn.isEnabled() and screen.open_box.isEnabled()
    shoot(screen, "shift-closed")


def test_staff_tab_adds_a_user(office: Make, qtbot: QtBot, db: sessionmaker[Session]) -> None:
    screen, ctx = office("manager")
    screen.tabs.setCurrentWidget(screen.staff_gate)
    settle(qtbot, ctx)
    assert screen.staff_gate.open
    before = screen.staff_table.rowCount()
    assert before >= 7

    type_into(qtbot, screen.new_username, "Dana")
    type_into(qtbot, screen.new_display, "Dana Day")
    screen.new_role.setCurrentIndex(screen.new_role.findData("cashier"))
    type_into(qtbot, screen.new_pin, "2468")
    click(qtbot, ctx, screen.add_btn)
    assert screen.staff_table.rowCount() == before + 1
    with db.begin() as s:
        assert staff.sign_in(s, "dana", "2468").role == "cashier"
    assert screen.new_username.text() == "" and screen.focusWidget() is screen.new_username

    # Disable the new user through the table.
    names = [cell(screen.staff_table, r, 1) for r in range(screen.staff_table.rowCount())]
    screen.staff_table.selectRow(names.index("dana"))
    click(qtbot, ctx, screen.toggle_btn)
    with db() as s:
        assert s.scalar(select(StaffUser.active).where(StaffUser.username == "dana")) is False
    shoot(screen, "staff")


def test_cashier_is_refused_audit_staff_and_devices(office: Make, qtbot: QtBot) -> None:
    screen, ctx = office("cashier")
    for gate in (screen.audit_gate, screen.staff_gate, screen.devices_gate):
        assert not gate.open
    assert "manager" in screen.audit_gate.denied.text() and "supervisor" in screen.audit_gate.denied.text()
    # Even when a call is forced, the service refuses (no approval dialog in this test context).
    screen.verify_chain()
    settle(qtbot, ctx)
    assert "intact" not in screen.audit_result.text()
    screen.tabs.setCurrentWidget(screen.audit_gate)
    shoot(screen, "audit-refused")


def test_audit_verify_search_and_export(office: Make, qtbot: QtBot, tmp_path: Path) -> None:
    screen, ctx = office("manager")
    screen.tabs.setCurrentWidget(screen.audit_gate)
    settle(qtbot, ctx)
    assert screen.audit_table.rowCount() > 0
    click(qtbot, ctx, screen.verify_btn)
    assert "intact" in screen.audit_result.text()

    type_into(qtbot, screen.audit_action, "staff.signed")
    click(qtbot, ctx, screen.audit_from)  # focus only
    screen.search_audit()
    settle(qtbot, ctx)
    actions = {cell(screen.audit_table, r, 4) for r in range(screen.audit_table.rowCount())}
    assert actions == {"staff.signed_in"}

    type_into(qtbot, screen.audit_from, "31/12/2024")
    screen.search_audit()
    settle(qtbot, ctx)
    assert "not a date" in ctx.messages.text()
    screen.audit_from.clear()

    out = tmp_path / "audit.csv"
    screen.export_csv_to(out)
    settle(qtbot, ctx)
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert rows[0][0] == "seq" and len(rows) == screen.audit_table.rowCount() + 1
    screen.audit_action.clear()
    screen.search_audit()
    settle(qtbot, ctx)
    shoot(screen, "audit")


def test_print_queue_shows_and_cancels(office: Make, qtbot: QtBot, db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        job_id = printing.enqueue(s, "receipt", {"blocks": []}, "Receipt S001-01-000042")
    screen, ctx = office("manager")
    screen.tabs.setCurrentWidget(screen.queue_page)
    settle(qtbot, ctx)
    assert screen.queue_table.rowCount() == 1
    assert cell(screen.queue_table, 0, 1) == "Receipt S001-01-000042"
    assert cell(screen.queue_table, 0, 2) == "pending"

    click(qtbot, ctx, screen.cancel_btn)
    assert "Pick a job" in ctx.messages.text()
    screen.queue_table.selectRow(0)
    click(qtbot, ctx, screen.cancel_btn)
    with db() as s:
        assert s.scalar(select(PrintJob.status).where(PrintJob.id == job_id)) == "cancelled"
    assert cell(screen.queue_table, 0, 2) == "cancelled"
    shoot(screen, "queue")


def test_print_queue_reprint(office: Make, qtbot: QtBot, db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        printing.enqueue(s, "receipt", {"blocks": []}, "Receipt S001-01-000042")
    screen, ctx = office("cashier")  # cashiers may reprint
    screen.tabs.setCurrentWidget(screen.queue_page)
    settle(qtbot, ctx)
    screen.queue_table.selectRow(0)
    click(qtbot, ctx, screen.reprint_btn)
    assert screen.queue_table.rowCount() == 2
    assert cell(screen.queue_table, 0, 1) == "Receipt S001-01-000042 (copy)"


def test_sync_tab_says_not_enrolled(office: Make, qtbot: QtBot) -> None:
    screen, ctx = office("manager")
    screen.tabs.setCurrentWidget(screen.sync_page)
    settle(qtbot, ctx)
    assert "counterline enrol URL CODE" in screen.sync_state.text()
    assert not screen.sync_btn.isEnabled()
    assert "Waiting to send" in screen.sync_counts.text()
    shoot(screen, "sync")


def test_devices_tab_validates_and_saves(office: Make, qtbot: QtBot, db: sessionmaker[Session]) -> None:
    screen, ctx = office("admin")
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    assert screen.devices_gate.open
    edit = screen.device_edits["devices.receipt_printer"]
    assert '"type"' in edit.toPlainText()
    edit.setPlainText('{"type": "network", "host": "127.0.0.1",}')
    click(qtbot, ctx, screen.save_devices_btn)
    assert "not valid JSON" in ctx.messages.text()
    with db() as s:
        assert s.get(Setting, "devices.receipt_printer") is None

    edit.setPlainText('{"type": "network", "host": "127.0.0.1", "port": 9100}')
    click(qtbot, ctx, screen.save_devices_btn)
    with db() as s:
        row = s.get(Setting, "devices.receipt_printer")
        assert row is not None and row.value == {"type": "network", "host": "127.0.0.1", "port": 9100}
    shoot(screen, "devices")
