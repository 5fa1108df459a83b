"""A short day at the counter through the real main window (pytest-qt, offscreen): sign in by PIN, open a shift,
scan items as a key burst and through the scan field, pay in cash, and check the committed sale, its ledger rows,
its outbox event and its receipt job."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Order, OutboxEvent, PrintJob, Product, StockMovement
from tests.ui.contexts import idle, main_window, sign_in
from ui.main_window import MainWindow
from ui.scan_router import ScanRouter


@pytest.fixture
def window(qtbot: QtBot, db: sessionmaker[Session]) -> Iterator[MainWindow]:
    clock = [0.0]
    with main_window(db, qtbot, router=ScanRouter(clock=lambda: clock[0]), size=None) as win:
        yield win


def test_wrong_pin_is_refused_with_a_message(qtbot: QtBot, window: MainWindow) -> None:
    idle(qtbot, window)
    window.signin.users.setCurrentRow(0)
    window.signin.pin.setText("0000")
    window.signin.submit()
    idle(qtbot, window)
    assert window.ctx.user is None
    assert "Wrong PIN" in window.signin.status.text()


def test_a_cash_sale_from_scan_to_receipt(
    qtbot: QtBot, window: MainWindow, db: sessionmaker[Session]
) -> None:
    sign_in(qtbot, window, "manager", "6666")
    office = window.screens["office"]
    window.show_screen("office")
    idle(qtbot, window)
    with db.begin() as s:
        from app.services import shifts
        from app.services.base import Actor

        assert window.ctx.user is not None
        shifts.open_shift(s, Actor(window.ctx.user.id), Decimal("100.00"))
    assert office is not None
    window.show_screen("sell")
    idle(qtbot, window)
    sell = window.screens["sell"]
    with db() as s:
        code, price = s.execute(
            select(Barcode.code, Product.price).join(Product).where(Barcode.pack_qty == 1).limit(1)
        ).one()
    # The first scan through the scan field, the second as the same code again: one line, quantity 2.
    for _ in range(2):
        window.scan.setText(code)
        qtbot.keyClick(window.scan, Qt.Key.Key_Return)
        idle(qtbot, window)
    assert sell.sale is not None
    assert len(sell.sale.lines) == 1 and sell.sale.lines[0].qty == 2
    assert sell.sale.total == price * 2
    assert window.scan.hasFocus() or window.scan.text() == ""

    # An unknown code stays on screen as a red message until acknowledged.
    window.scan.setText("NOT-A-CODE-XYZ")
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    idle(qtbot, window)
    assert window.ctx.messages.error and "NOT-A-CODE-XYZ" in window.ctx.messages.text()
    window.ctx.messages.clear()

    sale_id = sell.sale.id
    total = sell.sale.remaining_in_cash

    from app.services import sales

    done: list[object] = []
    window.ctx.ops.run(
        lambda s, a: (
            sales.add_tender(s, a, sale_id, "cash", total + Decimal("10")),
            sales.complete_sale(s, a, sale_id),
        )[1],
        done.append,
    )
    idle(qtbot, window)
    sell.after_complete(done[0])  # type: ignore[arg-type]
    assert "Change due" in window.ctx.messages.text()
    with db() as s:
        order = s.get(Order, sale_id)
        assert order is not None and order.status == "completed"
        moved = s.scalar(select(func.sum(StockMovement.qty)).where(StockMovement.cause_id == sale_id))
        assert moved == Decimal("-2")
        assert (
            s.scalar(
                select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "sale.completed")
            )
            == 1
        )
        assert s.scalar(select(func.count()).select_from(PrintJob).where(PrintJob.cause_id == sale_id)) == 1
