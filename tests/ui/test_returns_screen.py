"""The Returns desk through the real main window (pytest-qt, offscreen), signed in as the returns clerk: a sale's
receipt scanned, its items scanned back, one too many refused in red, a reason chosen with F5, the refund dialog
showing the amount per tender, and the refund made (return order, stock back). Screenshots of the screen with lines
chosen and of the refund dialog at 1280x800 and 1024x768 go to $RETURNS_SHOTS (default: the temp folder)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QComboBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Customer, Order
from app.ids import new_id
from app.services import shifts
from app.services.base import Actor
from tests.db.test_returns import items, sold
from tests.ui.contexts import idle, main_window, scan, sign_in
from ui.approval import ApprovalDialog
from ui.main_window import MainWindow
from ui.screens.returns import ReturnsScreen
from ui.screens.returns_dialogs import RefundDialog
from ui.screens.sell_dialogs import CustomerDialog
from ui.widgets import FormDialog

Factory = sessionmaker[Session]


@pytest.fixture
def window(qtbot: QtBot, db: Factory) -> Iterator[MainWindow]:
    with main_window(db, qtbot) as win:
        yield win


def shot(widget: QWidget, name: str) -> None:
    folder = Path(os.environ.get("RETURNS_SHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(folder / f"returns-{name}.png"))


def when_modal(qtbot: QtBot, act: Callable[[QWidget], None], kind: type[QWidget] = QWidget) -> None:
    """Act on the next modal dialog of `kind` once it shows (the screen opens it with exec())."""

    def poll() -> None:
        dlg = QApplication.activeModalWidget()
        if dlg is None or not dlg.isVisible() or not isinstance(dlg, kind):
            QTimer.singleShot(20, poll)
            return
        act(dlg)

    QTimer.singleShot(20, poll)


def test_receipt_scanned_items_back_over_return_refused_and_refunded(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    sign_in(qtbot, window, "returns", "4444")
    assert window.ctx.user is not None
    clerk = Actor(window.ctx.user.id)
    with db.begin() as s:
        shifts.open_shift(s, clerk, Decimal("100.00"))
    (_, code, price), (_, code2, _) = items(db, 2)
    sale_id = sold(db, clerk, [code, code, code2], [("cash", Decimal("5.00")), ("card", None)])
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None
        number, total = order.number, order.total
    window.show_screen("returns")
    screen = window.screens["returns"]
    assert isinstance(screen, ReturnsScreen)
    idle(qtbot, window)

    scan(qtbot, window, f"R-{number}")  # the receipt's barcode
    assert screen.original is not None and screen.original.number == number
    assert screen.table.rowCount() == 2
    scan(qtbot, window, code)
    scan(qtbot, window, code)
    assert screen.choices[1].qty == 2
    assert screen.figure.text() == screen.money(price * 2)
    scan(qtbot, window, code)  # a third of two bought: refused, red, until acknowledged
    assert window.ctx.messages.error and "Only 2" in window.ctx.messages.label.text()
    assert screen.choices[1].qty == 2
    window.ctx.messages.clear()
    window.focus_scan()

    # F10 before a reason is chosen: refused, and the line without one is named.
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    idle(qtbot, window)
    assert window.ctx.messages.error and "Choose a reason" in window.ctx.messages.label.text()
    window.ctx.messages.clear()
    window.focus_scan()

    def choose_faulty(dlg: QWidget) -> None:
        assert isinstance(dlg, FormDialog)
        combo = dlg.findChild(QComboBox, "returnChoice")
        assert combo is not None
        combo.setCurrentIndex(combo.findData("faulty"))
        dlg.submit()

    when_modal(qtbot, choose_faulty)
    qtbot.keyClick(window.scan, Qt.Key.Key_F5)
    idle(qtbot, window)
    assert screen.choices[1].reason == "faulty"
    assert "Faulty" in screen.table.item(0, 4).text()  # type: ignore[union-attr]
    for size in ((1280, 800), (1024, 768)):
        window.resize(*size)
        qtbot.wait(30)
        shot(window, f"lines-{size[0]}x{size[1]}")
    window.resize(1280, 800)

    seen: dict[str, object] = {}

    def look_and_refund(dlg: QWidget) -> None:
        assert isinstance(dlg, RefundDialog)
        rows = dlg.tenders.rowCount()
        seen["tenders"] = [
            (dlg.tenders.item(r, 0).text(), dlg.tenders.item(r, 1).text())  # type: ignore[union-attr]
            for r in range(rows)
        ]
        for size in ((1280, 800), (1024, 768)):
            window.resize(*size)
            qtbot.wait(30)
            shot(window, f"refund-window-{size[0]}x{size[1]}")
            shot(dlg, f"refund-dialog-{size[0]}x{size[1]}")
        dlg.submit()

    when_modal(qtbot, look_and_refund)
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: screen.done is not None, timeout=10_000)
    idle(qtbot, window)
    # The card paid all but the 5.00 in cash: the two units go back to the card up to that, the rest in cash.
    card_paid = total - Decimal("5.00")
    assert price * 2 > card_paid  # the split is seen (the other item is cheap)
    assert seen["tenders"] == [
        ("Card", screen.money(card_paid)),
        ("Cash", screen.money(price * 2 - card_paid)),
    ]
    assert screen.done is not None and screen.done.total == price * 2
    with db() as s:
        ret = s.scalar(select(Order).where(Order.channel == "return"))
        assert ret is not None and ret.original_order_id == sale_id
        assert [(ln.line_no, ln.qty) for ln in ret.lines] == [(1, 2)]
    # The same receipt again: the line is spent, what is left is the other one.
    scan(qtbot, window, f"R-{number}")
    assert screen.original is not None and [ln.returnable for ln in screen.original.lines] == [0, 1]


def test_no_receipt_return_as_store_credit_with_a_managers_approval(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    sign_in(qtbot, window, "returns", "4444")
    assert window.ctx.user is not None
    with db.begin() as s:
        shifts.open_shift(s, Actor(window.ctx.user.id), Decimal("100.00"))
        customer = Customer(id=new_id(), name="Dana Doe", store_credit=Decimal(0))
        s.add(customer)
        cid = customer.id
    ((_, code, price),) = items(db, 1)
    window.show_screen("returns")
    screen = window.screens["returns"]
    assert isinstance(screen, ReturnsScreen)
    idle(qtbot, window)

    def pick_customer(dlg: QWidget) -> None:
        assert isinstance(dlg, CustomerDialog)
        dlg.customer_id = cid
        dlg.accept()

    when_modal(qtbot, pick_customer, CustomerDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F8)
    idle(qtbot, window)
    assert screen.customer == (cid, "Dana Doe")
    window.focus_scan()
    scan(qtbot, window, code)
    assert [it.product_id for it in screen.items] and screen.choices[1].qty == 1

    def choose_gift(dlg: QWidget) -> None:
        assert isinstance(dlg, FormDialog)
        combo = dlg.findChild(QComboBox, "returnChoice")
        assert combo is not None
        combo.setCurrentIndex(combo.findData("gift"))
        dlg.submit()

    when_modal(qtbot, choose_gift, FormDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F5)
    idle(qtbot, window)
    assert screen.quoted is not None and screen.quoted.total == price
    window.resize(1024, 768)
    qtbot.wait(30)
    shot(window, "no-receipt-1024x768")

    def manager_approves(dlg: QWidget) -> None:
        assert isinstance(dlg, ApprovalDialog)
        dlg.username.setText("manager")
        dlg.pin.setText("6666")
        dlg._approve_pin()

    def refund(dlg: QWidget) -> None:
        assert isinstance(dlg, RefundDialog)
        assert "A manager approves" in dlg.approval.text()
        when_modal(qtbot, manager_approves, ApprovalDialog)
        dlg.submit()

    when_modal(qtbot, refund, RefundDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: screen.done is not None, timeout=15_000)
    idle(qtbot, window)
    with db() as s:
        c = s.get(Customer, cid)
        assert c is not None and c.store_credit == price
