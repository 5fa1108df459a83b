"""Loose ends of the store trial (issue 16), through the real main window (pytest-qt, offscreen):

- item 18: a scan that takes a line beyond the stock this till knows of is kept and warned about in amber with a
  neutral tone, and the next scan goes on (no question a scanner's Enter would answer); the weight dialog asks
  before a weight above the store's threshold and keeps the weight when the cashier says no;
- item 19: the weight dialog and Office's input dialogs are form dialogs: a refused input stays, its message under
  the field;
- a short PIN at sign-in is a warning (amber, no "good" tone), not good news;
- a receipt scanned in the Journal is parsed once (the router's parse travels to the service).

Screenshots go to $TRIAL_SHOTS (default: the temp folder) as trial-*.png.
"""

from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QTableWidgetItem, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product
from app.domain import barcodes
from app.services import settings, stock
from app.services.base import Actor
from tests.ui import test_counter_day
from tests.ui.test_counter_day import answer, burst, idle, when_shown
from tests.ui.test_journal import ring
from tests.ui.test_sell import sign_in
from tests.ui.test_sell_trial import codes, colours, open_till, reads_as
from ui.main_window import MainWindow
from ui.screens.journal import JournalScreen
from ui.screens.office import OfficeScreen
from ui.theme import GOOD_GREEN, WARN_AMBER
from ui.weigh import WeightDialog

counter = test_counter_day.counter  # the main window wired as `counterline` wires it (a fixture)


def shot(widget: QWidget, name: str) -> None:
    folder = Path(os.environ.get("TRIAL_SHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(folder / f"trial-{name}.png"))


def scan(qtbot: QtBot, win: MainWindow, code: str) -> None:
    burst(qtbot, win.scan, code)
    idle(qtbot, win)


def test_a_scan_beyond_known_stock_warns_in_amber_and_the_next_scan_goes_on(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    with db() as s:
        few = [r for r in codes(db, 40) if 1 <= stock.on_hand(s, r[3]) <= 20]
        code, name, _price, pid = few[0]
        have = int(stock.on_hand(s, pid))
    for _ in range(have):
        scan(qtbot, win, code)
    assert "in stock here" not in win.ctx.messages.text()  # as many as the till knows of: nothing to say
    scan(qtbot, win, code)  # one more than the stock: taken, and told
    bar = win.ctx.messages
    assert f"Only {have} of {name} in stock here" in bar.text() and bar.kind == "warning", bar.text()
    assert f"this sale has {have + 1}" in bar.text()
    assert win.ctx.sounds.played[-1] == "neutral"  # not the "good" tone, not the refusal's
    assert reads_as(bar, WARN_AMBER), colours(bar)[:3]
    shot(win, "scan-beyond-stock")
    # The next scan is not held up by a question: it counts at once.
    scan(qtbot, win, code)
    assert sell.sale is not None and sell.sale.lines[0].qty == have + 2
    assert f"this sale has {have + 2}" in bar.text()
    # The store's threshold counts for a repeated scan too.
    with db.begin() as s:
        settings.put(s, "sale.confirm_qty_above", str(have + 2))
    scan(qtbot, win, code)
    assert f"{have + 3} is more than {have + 2}, the most sold without a check" in bar.text(), bar.text()


def test_the_weight_dialog_asks_above_the_threshold_and_keeps_the_weight(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    with db.begin() as s:
        settings.put(s, "sale.confirm_qty_above", "5")
        item = s.scalars(
            select(Product).where(Product.weighed.is_(True)).order_by(Product.sku).limit(1)
        ).one()
        sku, name = item.sku, item.name
    confirms: list[str] = []
    seen: dict[str, Any] = {}

    def weigh(dlg: WeightDialog) -> None:
        assert isinstance(dlg, WeightDialog) and name in dlg.windowTitle()
        dlg.field.setText("1e3")  # not a weight: refused under the field, kept
        qtbot.keyClick(dlg.field, Qt.Key.Key_Return)
        seen["refused"] = dlg.field_error("weight")
        assert dlg.isVisible() and dlg.field.text() == "1e3"

        def box(yes: bool) -> Any:
            def drive(b: QMessageBox) -> None:
                confirms.append(b.text())
                shot(b, "weight-confirm")
                qtbot.keyClick(b, Qt.Key.Key_Return if yes else Qt.Key.Key_Escape)

            return drive

        errors = answer((QMessageBox, box(False)))
        dlg.field.setText("12")
        qtbot.keyClick(dlg.field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: bool(confirms) and dlg.field_error("weight") != "", timeout=10_000)
        if errors:
            raise errors[0]
        seen["no"] = dlg.field_error("weight")
        assert dlg.isVisible() and dlg.field.text() == "12"  # "no" keeps the dialog and the weight
        assert sell.sale is not None and not sell.sale.lines  # nothing added yet
        qtbot.wait(50)  # the message's row is laid out
        shot(dlg, "weight-kept")
        errors = answer((QMessageBox, box(True)))
        qtbot.keyClick(dlg.field, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=10_000)
        if errors:
            raise errors[0]

    errors = when_shown(WeightDialog, weigh)
    burst(qtbot, win.scan, sku)
    qtbot.waitUntil(lambda: len(confirms) >= 2 or bool(errors), timeout=15_000)
    idle(qtbot, win)
    if errors:
        raise errors[0]
    assert "is not a weight" in seen["refused"]
    assert "12 kg is more than 5 kg" in confirms[0] and "Not added" in seen["no"]
    qtbot.waitUntil(lambda: sell.sale is not None and len(sell.sale.lines) == 1, timeout=10_000)
    assert sell.sale is not None
    line = sell.sale.lines[0]
    assert (line.sku, line.qty, line.unit) == (sku, Decimal("12.000"), "kg")


def test_a_short_pin_is_a_warning_not_good_news(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sign_in(qtbot, win, "manager", "6666")  # the demo's 4-digit PIN, under the 6 digits asked of approvers
    bar = win.ctx.messages
    qtbot.waitUntil(lambda: "shorter than this store's minimum" in bar.text(), timeout=10_000)
    assert "good" not in win.ctx.sounds.played[-1:]  # the last tone is not the good-news one
    assert bar.kind == "warning"
    assert reads_as(bar, WARN_AMBER) and not reads_as(bar, GOOD_GREEN), colours(bar)[:3]
    shot(win, "short-pin")


def test_a_receipt_scanned_in_the_journal_is_parsed_once(
    qtbot: QtBot,
    counter: tuple[MainWindow, Path],
    db: sessionmaker[Session],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    win, _receipt = counter
    open_till(db, win, qtbot)
    assert win.ctx.user is not None
    done = ring(db, Actor(win.ctx.user.id), 2, "cash", Decimal("50.00"))
    win.show_screen("journal")
    idle(qtbot, win)
    journal = win.screens["journal"]
    assert isinstance(journal, JournalScreen)
    parsed: list[str] = []
    real = barcodes.parse

    def counting(raw: str, config: Any = None) -> barcodes.ScanResult:
        parsed.append(raw)
        return real(raw, config)

    monkeypatch.setattr(barcodes, "parse", counting)
    scan(qtbot, win, f"R-{done.sale.number}")
    assert parsed == [f"R-{done.sale.number}"]  # the router's parse only: not a second one in the service
    qtbot.waitUntil(lambda: journal.shown is not None, timeout=10_000)
    assert journal.shown is not None and journal.shown.row.number == done.sale.number


def test_office_keeps_a_refused_pin_to_correct_it(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sign_in(qtbot, win, "manager", "6666")
    win.show_screen("office")
    idle(qtbot, win)
    office = win.screens["office"]
    assert isinstance(office, OfficeScreen)
    office.tabs.setCurrentWidget(office.staff_gate)
    idle(qtbot, win)
    table = office.staff_table
    names = [(table.item(r, 1) or QTableWidgetItem()).text() for r in range(table.rowCount())]
    table.selectRow(names.index("cashier"))
    office.reset_pin.setText("12")  # too short: refused
    qtbot.mouseClick(office.reset_btn, Qt.MouseButton.LeftButton)
    idle(qtbot, win)
    assert win.ctx.messages.kind == "error" and "digits" in win.ctx.messages.text()
    assert office.reset_pin.text() == "12"  # kept to be corrected (it was cleared before the call)
    win.ctx.messages.clear()
    office.reset_pin.setText("1357")
    qtbot.mouseClick(office.reset_btn, Qt.MouseButton.LeftButton)
    idle(qtbot, win)
    assert "New PIN set for" in win.ctx.messages.text() and office.reset_pin.text() == ""
