"""The Pack bench through the real main window (pytest-qt, offscreen), signed in as the packer: an order scanned in,
a box started (its SSCC label queued), units scanned through the scan field, a wrong item stopping the bench until
acknowledged, an unreadable item confirmed by hand with a supervisor's approval, boxes weighed, and the order packed
(no central store: it stays packed and says so). A scanner's trailing Enter never presses a button. Screenshots of
the bench with an error showing at 1280x800 and 1024x768 go to $PACK_SHOTS (default: the temp folder)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QLineEdit, QPushButton
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Order, PackBox, PrintJob
from app.services import settings
from tests.db.test_packing import case_product, in_no_order, other_sku, ship_order
from tests.devices.test_scale import serve_scale
from tests.ui.contexts import idle, main_window, scan, sign_in
from ui.approval import ApprovalDialog
from ui.main_window import MainWindow
from ui.screens.pack import PackScreen
from ui.screens.pack_dialogs import BoxDialog, ByHandDialog, CaptureDialog, WeightDialog

Factory = sessionmaker[Session]


@pytest.fixture
def window(qtbot: QtBot, db: Factory) -> Iterator[MainWindow]:
    with main_window(db, qtbot) as win:
        yield win


def bench(win: MainWindow) -> PackScreen:
    screen = win.screens["pack"]
    assert isinstance(screen, PackScreen)
    return screen


def packed(screen: PackScreen) -> list[str]:
    return [screen.table.item(r, 1).text() for r in range(screen.table.rowCount())]  # type: ignore[union-attr]


def shot(win: MainWindow, name: str) -> None:
    folder = Path(os.environ.get("PACK_SHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    win.grab().save(str(folder / f"pack-{name}.png"))


def test_an_order_scanned_boxed_refused_approved_and_packed(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    sku, unit, _case = case_product(db)
    second = other_sku(db, sku)
    order_id = ship_order(db, [(sku, "2"), (second, "1")])
    sign_in(qtbot, window, "packer", "3333")
    assert window.current == "pack"  # a packer starts at the bench
    pack = bench(window)
    # No order on the bench: no "Left to scan" over an empty gap where its figure would be.
    assert pack.caption.isHidden() and pack.figure.isHidden()
    window.focus_scan()
    scan(qtbot, window, "W-900001")
    assert pack.bench is not None and pack.bench.order.order_id == order_id
    assert pack.figure.text() == "3" and pack.figure.isVisible() and pack.caption.isVisible()
    scan(qtbot, window, unit)  # no box yet: refused, the bench stops
    assert window.ctx.messages.error and "Start a box" in window.ctx.messages.text()
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)  # Enter acknowledges
    assert not window.ctx.messages.error and not pack.stopped

    qtbot.keyClick(window.scan, Qt.Key.Key_F3)
    idle(qtbot, window)
    dlg = pack.dialog
    assert isinstance(dlg, BoxDialog)
    dlg.kind.setCurrentIndex(1)
    dlg.submit()
    idle(qtbot, window)
    qtbot.waitUntil(lambda: pack.dialog is None)
    assert pack.bench.box is not None and pack.bench.box.package_type == "medium_box"
    window.focus_scan()
    scan(qtbot, window, unit)
    assert packed(pack) == ["1", "0"] and pack.figure.text() == "2"

    # A wrong item stops the bench: nothing counts until it is acknowledged.
    scan(qtbot, window, in_no_order(db))
    assert window.ctx.messages.error and "not in this order" in window.ctx.messages.text()
    for width, height in ((1280, 800), (1024, 768)):
        window.resize(width, height)
        qtbot.wait(50)
        shot(window, f"error-{width}")
        assert pack.figure.visibleRegion().boundingRect().height() > 0
    window.resize(1280, 800)
    scan(qtbot, window, unit)
    assert packed(pack) == ["1", "0"] and "did not count" in window.ctx.messages.text()
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    scan(qtbot, window, unit)
    assert packed(pack) == ["2", "0"]

    # The second item's barcode will not read: by hand, with a reason and a supervisor's approval.
    pack.current = pack.bench.order.lines[1].line_id
    qtbot.keyClick(window.scan, Qt.Key.Key_F5)
    hand = pack.dialog
    assert isinstance(hand, ByHandDialog)
    field = hand.findChild(QLineEdit, "reason")
    assert field is not None
    field.setText("label torn")
    hand.grab().save(str(Path(os.environ.get("PACK_SHOTS", tempfile.gettempdir())) / "pack-by-hand.png"))
    hand.submit()
    qtbot.waitUntil(
        lambda: any(isinstance(w, ApprovalDialog) and w.isVisible() for w in QApplication.topLevelWidgets())
    )
    approval = next(
        w for w in QApplication.topLevelWidgets() if isinstance(w, ApprovalDialog) and w.isVisible()
    )
    approval.username.setText("supervisor")
    approval.pin.setText("5555")
    approval._approve_pin()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    idle(qtbot, window)
    assert packed(pack) == ["2", "1"] and pack.figure.text() == "0"
    assert "by hand" in pack.table.item(1, 3).text()  # type: ignore[union-attr]

    # Weigh the box, then F10: packed; with no central store the order stays packed and the bench says so.
    window.focus_scan()
    qtbot.keyClick(window.scan, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: isinstance(pack.dialog, WeightDialog), timeout=10_000)  # no scale: typed
    weigh = pack.dialog
    assert isinstance(weigh, WeightDialog) and weigh.field.text() == ""
    weigh.field.setText("1.25")
    weigh.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    idle(qtbot, window)
    window.ctx.messages.clear()
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    idle(qtbot, window)
    assert "stays packed" in window.ctx.messages.text()
    shot(window, "packed-1280")
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "packed"
        box = s.scalars(select(PackBox).where(PackBox.order_id == order_id)).one()
        assert box.weight_kg == 1.25
        assert s.scalars(select(PrintJob.kind).where(PrintJob.cause_id == order_id)).all() == ["label"]


def test_a_scanners_trailing_enter_never_presses_a_button(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    sku, unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "3")])
    sign_in(qtbot, window, "packer", "3333")
    pack = bench(window)
    window.focus_scan()
    scan(qtbot, window, "W-900001")
    qtbot.mouseClick(pack.buttons["new_box"], Qt.MouseButton.LeftButton)  # a tap on New box
    idle(qtbot, window)
    dlg = pack.dialog
    assert isinstance(dlg, BoxDialog)
    dlg.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    idle(qtbot, window)
    assert all(b.focusPolicy() == Qt.FocusPolicy.NoFocus for b in pack.findChildren(QPushButton))
    assert QApplication.focusWidget() is window.scan
    scan(qtbot, window, unit)  # the code's Enter: one unit, on one line, and no button pressed
    assert pack.dialog is None
    assert packed(pack) == ["1"]
    qtbot.keyClick(
        window.scan, Qt.Key.Key_Return
    )  # a lone Enter (a scanner's double terminator) does nothing
    idle(qtbot, window)
    assert pack.dialog is None and packed(pack) == ["1"]
    with db() as s:
        assert len(s.scalars(select(PackBox).where(PackBox.order_id == order_id)).all()) == 1


def test_f4_reads_the_box_weight_from_the_serial_scale(qtbot: QtBot, window: MainWindow, db: Factory) -> None:
    with serve_scale() as (url, asked):
        weighed(qtbot, window, db, url, asked)


def weighed(qtbot: QtBot, window: MainWindow, db: Factory, url: str, asked: list[bytes]) -> None:
    sku, unit, _case = case_product(db)
    order_id = ship_order(db, [(sku, "1")])
    with db.begin() as s:
        settings.put(s, "devices.scale", {"type": "serial", "port": url, "timeout_s": 2})
    sign_in(qtbot, window, "packer", "3333")
    pack = bench(window)
    window.focus_scan()
    scan(qtbot, window, "W-900001")
    qtbot.keyClick(window.scan, Qt.Key.Key_F3)
    idle(qtbot, window)
    assert isinstance(pack.dialog, BoxDialog)
    pack.dialog.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    window.focus_scan()
    scan(qtbot, window, unit)
    qtbot.keyClick(window.scan, Qt.Key.Key_F4)
    qtbot.waitUntil(lambda: isinstance(pack.dialog, WeightDialog), timeout=10_000)
    weigh = pack.dialog
    assert isinstance(weigh, WeightDialog)
    assert weigh.field.text() == "2.345" and asked == [b"W\r"]  # read from the scale, confirmed with Enter
    weigh.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    idle(qtbot, window)
    with db() as s:
        assert s.scalars(select(PackBox.weight_kg).where(PackBox.order_id == order_id)).one() == Decimal(
            "2.345"
        )


def test_a_lot_and_expiry_the_scan_lacks_are_asked_for_typed_or_scanned(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    sku, unit, _case = case_product(db)
    ship_order(db, [(sku, "2")])
    with db.begin() as s:
        settings.put(s, "pack.capture", {sku: ["lot", "expiry"]})
    sign_in(qtbot, window, "packer", "3333")
    pack = bench(window)
    window.focus_scan()
    scan(qtbot, window, "W-900001")
    qtbot.keyClick(window.scan, Qt.Key.Key_F3)
    idle(qtbot, window)
    assert isinstance(pack.dialog, BoxDialog)
    pack.dialog.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    window.focus_scan()
    assert "needs lot, expiry" in pack.table.item(0, 3).text()  # type: ignore[union-attr]
    scan(qtbot, window, unit)  # a plain EAN: no lot, no expiry
    qtbot.waitUntil(lambda: isinstance(pack.dialog, CaptureDialog), timeout=10_000)
    ask = pack.dialog
    assert isinstance(ask, CaptureDialog) and packed(pack) == ["0"]
    lot, expiry = ask.findChild(QLineEdit, "lot"), ask.findChild(QLineEdit, "expiry")
    assert lot is not None and expiry is not None
    lot.setText("L-77")
    expiry.setText("31 December 2030x")
    ask.submit()  # a date it cannot read: the dialog stays, with why
    assert pack.dialog is ask and "e.g. 2027-05-31" in ask.field_error("expiry")
    window.ctx.router.dispatch(f"(01)0{unit}(17)301231(10)LOT9")  # the pack's GS1 label, scanned now
    assert (lot.text(), expiry.text()) == ("LOT9", "2030-12-31")
    ask.submit()
    qtbot.waitUntil(lambda: pack.dialog is None, timeout=10_000)
    idle(qtbot, window)
    assert packed(pack) == ["1"] and "LOT9 2030-12-31" in pack.table.item(0, 3).text()  # type: ignore[union-attr]
