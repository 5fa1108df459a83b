"""The Receive and Transfer panels on the demo store (pytest-qt, offscreen), driven by a scanner into the real scan
field: a delivery from the central feed received by scan, an unexpected item refused (red) until taken in with F6 and
kept as a difference, a sealed case by its SSCC, F7 for the floor, F10 closing it; a transfer picked and sent.
Screenshots of receiving mid-delivery with a difference at 1280x800 and 1024x768 go to $SHOTS for a person to look at."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Delivery, OutboxEvent, StockMovement
from tests.db.test_receiving import DELIVERY_ID, expect, goods, sscc
from tests.ui.contexts import signed_in
from tests.ui.shots import shots_dir
from ui.context import AppContext
from ui.scan_router import ScanField
from ui.screens.stock_receive import ReceivePanel, TransferPanel
from ui.theme import STYLE

SHOTS = shots_dir()
Factory = sessionmaker[Session]
HOSTS: list[QWidget] = []  # kept alive until the test's context goes: a window holds the borrowed message bar


class Host(QWidget):
    """The window around the panel: the scan field on top and the message bar under it, as in the main window."""

    def __init__(self, ctx: AppContext, panel: type[ReceivePanel] | type[TransferPanel]) -> None:
        super().__init__()
        self.ctx = ctx
        lay = QVBoxLayout(self)
        self.scan = ScanField(ctx.router)
        lay.addWidget(self.scan)
        self.panel = panel(ctx)
        lay.addWidget(self.panel, 1)
        lay.addWidget(ctx.messages)

    def focus_scan(self) -> None:
        self.scan.setFocus(Qt.FocusReason.OtherFocusReason)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.ctx.messages.setParent(None)  # borrowed: qtbot closes the message bar itself
        super().closeEvent(event)


def _host(qtbot: QtBot, ctx: AppContext, panel: type[ReceivePanel] | type[TransferPanel]) -> Host:
    win = Host(ctx, panel)
    HOSTS.append(win)
    win.setStyleSheet(STYLE)
    win.resize(1280, 800)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    win.activateWindow()
    win.focus_scan()
    win.panel.activate()
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
    win.focus_scan()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is win.scan, timeout=5_000)
    return win


def scan(qtbot: QtBot, win: Host, code: str) -> None:
    target = QApplication.focusWidget()
    assert target is win.scan, f"focus is on {target!r}, not the scan field"
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)
    qtbot.waitUntil(win.ctx.ops.is_idle, timeout=10_000)


def key(qtbot: QtBot, win: Host, k: Qt.Key) -> None:
    qtbot.keyClick(win.scan, k)
    qtbot.waitUntil(win.ctx.ops.is_idle, timeout=10_000)


@pytest.fixture
def ctx(db: Factory, qtbot: QtBot) -> Iterator[AppContext]:
    with signed_in(db, qtbot, "manager", "6666") as c:
        yield c
        for win in HOSTS:
            win.close()  # before the message bar it borrowed is closed
        HOSTS.clear()


def test_receiving_by_scan_with_a_difference_a_sealed_case_and_closing(
    db: Factory, qtbot: QtBot, ctx: AppContext
) -> None:
    (a, _, a_code), (b, _, _), (x, x_name, x_code) = goods(db, 3)
    case = sscc(5)
    expect(
        db,
        [
            {"line_no": 1, "sku": a, "qty": "3.000", "sscc": None},
            {"line_no": 2, "sku": b, "qty": "12.000", "sscc": case},
        ],
        number="PO-2040",
    )
    win = _host(qtbot, ctx, ReceivePanel)
    panel = win.panel
    assert isinstance(panel, ReceivePanel)
    assert panel.view is not None and panel.view.number == "PO-2040"
    assert panel.figure.text() == "15"
    assert panel.primary_button is not None and panel.primary_button.isEnabled()
    scan(qtbot, win, "PO-9999")  # neither an item nor a delivery: said so, in red
    assert ctx.messages.error and "no delivery PO-9999 is expected here" in ctx.messages.text()
    ctx.messages.clear()
    scan(qtbot, win, "PO-2040")  # a delivery's number from its paperwork opens it
    assert panel.view is not None and panel.view.number == "PO-2040" and not ctx.messages.error
    scan(qtbot, win, a_code)
    scan(qtbot, win, a_code)
    assert panel.figure.text() == "13"
    # An item the delivery does not name: refused, red, nothing counted; the next scan is refused too.
    scan(qtbot, win, x_code)
    assert ctx.messages.error and "not in this order" in ctx.messages.text()
    assert panel.refused is not None and panel.refused.sku == x
    scan(qtbot, win, a_code)
    assert "Acknowledge the message first" in ctx.messages.text() and panel.figure.text() == "13"
    # F6 takes it in, kept as a difference.
    key(qtbot, win, Qt.Key.Key_F6)
    assert not ctx.messages.error
    assert panel.table.rowCount() == 3 and panel.table.item(2, 4).text() == "+1"  # type: ignore[union-attr]
    assert x_name in panel.differences.text()
    scan(qtbot, win, a_code)
    assert panel.figure.text() == "12"
    # One too many: refused until acknowledged (Enter puts it aside, nothing counted).
    scan(qtbot, win, a_code)
    assert ctx.messages.error and "already scanned" in ctx.messages.text()
    for size in ((1280, 800), (1024, 768)):
        win.resize(*size)
        qtbot.wait(50)
        SHOTS.mkdir(parents=True, exist_ok=True)
        win.grab().save(str(SHOTS / f"receiving-{size[0]}x{size[1]}.png"))
    ctx.messages.clear()
    assert panel.table.item(0, 3).text() == "3"  # type: ignore[union-attr]
    # The sealed case: its twelve at once.
    scan(qtbot, win, case)
    assert panel.figure.text() == "0" and panel.table.item(1, 3).text() == "12"  # type: ignore[union-attr]
    # F7: onto the floor; F10 closes.
    key(qtbot, win, Qt.Key.Key_F7)
    assert "Sales floor" in panel.into_label.text()
    key(qtbot, win, Qt.Key.Key_F10)
    assert "PO-2040 received into floor" in ctx.messages.text() and "1 difference" in ctx.messages.text()
    assert QApplication.focusWidget() is win.scan
    with db() as s:
        assert s.get(Delivery, DELIVERY_ID).status == "received"  # type: ignore[union-attr]
        assert len(s.scalars(select(StockMovement).where(StockMovement.cause_type == "delivery")).all()) == 3
        assert s.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "delivery.received")).one()
    assert panel.view is None and panel.picker.count() == 0
    # Nothing left to receive: "Close receipt" is off, and its key says why instead of doing nothing.
    assert panel.primary_button is not None and not panel.primary_button.isEnabled()
    assert not panel.buttons["take_in"].isEnabled() and not panel.buttons["recount"].isEnabled()
    key(qtbot, win, Qt.Key.Key_F10)
    assert ctx.messages.error and "Choose a delivery first" in ctx.messages.text()


def test_a_transfer_is_picked_and_sent(
    db: Factory, qtbot: QtBot, ctx: AppContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    (a, _, a_code), (b, _, b_code) = goods(db, 2)
    win = _host(qtbot, ctx, TransferPanel)
    panel = win.panel
    assert isinstance(panel, TransferPanel)
    for code in (a_code, a_code, b_code):
        scan(qtbot, win, code)
    assert panel.figure.text() == "3" and panel.table.rowCount() == 2
    key(qtbot, win, Qt.Key.Key_F10)
    assert "which store" in ctx.messages.text()
    ctx.messages.clear()
    monkeypatch.setattr("ui.screens.stock_receive.QInputDialog.getText", lambda *a, **k: ("s2", True))
    key(qtbot, win, Qt.Key.Key_F2)
    assert "To store: S2" in panel.where.text()
    key(qtbot, win, Qt.Key.Key_F10)
    assert "sent to S2: 3 items" in ctx.messages.text()
    assert panel.table.rowCount() == 0 and panel.figure.text() == "0"
    with db() as s:
        moves = s.scalars(select(StockMovement).where(StockMovement.kind == "transfer")).all()
        assert sorted(m.qty for m in moves) == [Decimal(-2), Decimal(-1)]
