"""The Pickup screen through the real main window (pytest-qt, offscreen), as an associate uses it: the queue with a
late and a curbside order, an order opened by scanning its number, a wrong item refused (red, until acknowledged,
and nothing else counts meanwhile), every item scanned (the scanner's trailing Enter presses nothing), ready on F10,
handed over by scanning the customer's pickup code or by an ID check; a cancellation and a curbside arrival from
the central shown at once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPoint, Qt, QTimer
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Order, OutboxEvent, PickupRecord, PrintJob
from app.domain import pickup as codes
from app.services import pickup, settings, shifts
from app.services.base import now
from tests.db.test_sales import actor
from tests.ui import contexts
from tests.ui.contexts import main_window
from tests.ui.shots import shots_dir
from ui.main_window import MainWindow
from ui.screens.pickup import PickupScreen
from ui.screens.pickup_dialogs import HandoverDialog, ShortDialog
from ui.screens.pickup_pay import PickupPayDialog

Factory = sessionmaker[Session]
SHOTS = shots_dir()


@pytest.fixture
def window(qtbot: QtBot, db: Factory) -> Iterator[MainWindow]:
    with main_window(db, qtbot) as win:
        yield win


def idle(qtbot: QtBot, win: MainWindow) -> None:
    contexts.idle(qtbot, win)
    qtbot.wait(20)  # the results' callbacks, on the GUI thread


def sign_in(qtbot: QtBot, win: MainWindow) -> PickupScreen:
    contexts.sign_in(qtbot, win, "associate", "2222")
    idle(qtbot, win)
    screen = win.screens["pickup"]
    assert isinstance(screen, PickupScreen) and screen.isVisible()  # an associate starts at Pickup
    return screen


def scan(qtbot: QtBot, win: MainWindow, code: str) -> None:
    contexts.scan(qtbot, win, code)
    qtbot.wait(20)  # the results' callbacks, on the GUI thread


def orders(db: Factory) -> dict[str, tuple[str, str, list[tuple[str, int]]]]:
    """Fulfilment -> (id, number, [(EAN as scanned, qty)]) of the first demo order of each kind."""
    out: dict[str, tuple[str, str, list[tuple[str, int]]]] = {}
    with db() as s:
        for o in s.scalars(select(Order).where(Order.channel == "web").order_by(Order.number)):
            if o.fulfilment in out:
                continue
            lines = []
            for ln in o.lines:
                code = s.scalars(
                    select(Barcode.code).where(Barcode.product_id == ln.product_id, Barcode.pack_qty == 1)
                ).first()
                assert code is not None
                lines.append((code[1:], int(ln.qty)))
            out[o.fulfilment] = (o.id, o.number, lines)
    return out


def feed(db: Factory, win: MainWindow, order_id: str, status: str | None = None, **external: Any) -> None:
    """What the sync agent does with an order change from the central, in the background: the order changes and
    the feed's position moves in one transaction, then the agent tells the window (`Agent.on_applied`)."""
    with db.begin() as s:
        order = s.get(Order, order_id)
        assert order is not None
        order.external = {**(order.external or {}), **external}
        if status:
            order.status = status
        settings.put(s, "sync.cursor", int(settings.get(s, "sync.cursor") or 0) + 1)
    win.feed_applied.emit(None)  # as the agent does, from its own thread


def shoot(win: MainWindow, qtbot: QtBot, name: str) -> None:
    for w, h in ((1280, 800), (1024, 768)):
        win.resize(w, h)
        qtbot.wait(50)
        assert win.grab().save(str(SHOTS / f"pickup-{name}-{w}.png"))
    win.resize(1280, 800)


def texts(screen: PickupScreen, col: int) -> list[str]:
    items = [screen.table.item(r, col) for r in range(screen.table.rowCount())]
    return [item.text() if item is not None else "" for item in items]


def test_queue_prepare_with_a_wrong_item_ready_and_hand_over_by_pickup_code(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    known = orders(db)
    order_id, number, lines = known["pickup"]
    curb_id, curb_number, _ = known["curbside"]
    with db.begin() as s:
        late = s.get(Order, order_id)
        assert late is not None
        late.created_at = now() - timedelta(hours=3)
    screen = sign_in(qtbot, window)
    feed(db, window, curb_id, arrived_at=(now() - timedelta(minutes=4)).isoformat())
    qtbot.waitUntil(lambda: "is at the curb" in window.ctx.messages.text(), timeout=5000)
    idle(qtbot, window)
    assert texts(screen, 0)[:2] == [curb_number, number]  # at the curb first, then the late one
    assert (
        "at the curb" in texts(screen, 3)[0]
        and "waiting 4:" in texts(screen, 4)[0]
        and "late 1h" in texts(screen, 4)[1]
    )
    assert "LATE" in texts(screen, 3)[1]
    late_cell = screen.table.item(1, 0)
    assert late_cell is not None and late_cell.foreground().color().name() == "#b91c1c"  # late stands out
    assert "is at the curb" in window.ctx.messages.text()  # the arrival came through the feed: a notice
    shoot(window, qtbot, "queue")
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)  # acknowledged
    # Open the order by scanning its number (the bag label or the customer's e-mail carry it).
    scan(qtbot, window, number)
    assert screen.mode == "order" and screen.order is not None and screen.order.order_id == order_id
    assert screen.figure.text() == str(sum(q for _c, q in lines))
    # A wrong item: refused, red, and nothing counts until acknowledged.
    wrong = orders(db)["ship"][2][0][0]
    assert wrong not in {c for c, _q in lines}
    scan(qtbot, window, wrong)
    assert window.ctx.messages.error and "not in this order" in window.ctx.messages.text()
    shoot(window, qtbot, "prepare-error")
    scan(qtbot, window, lines[0][0])
    assert "Acknowledge the message first" in window.ctx.messages.text()
    with db() as s:
        assert all(ln.scanned_qty == 0 for ln in s.get(Order, order_id).lines)  # type: ignore[union-attr]
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)  # Enter on the empty scan field acknowledges
    assert not window.ctx.messages.error
    for code, qty in lines:
        for _ in range(qty):
            scan(qtbot, window, code)
    assert screen.order.complete and screen.figure.text() == "0"
    assert screen.order.status == "picking"  # the last scan's Enter pressed no button
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    idle(qtbot, window)
    assert screen.order.status == "ready"
    with db() as s:
        assert s.scalars(
            select(PrintJob).where(PrintJob.kind == "bag_label", PrintJob.cause_id == order_id)
        ).all()
    # The central's answer to "ready" carries the pickup code's verifier; the customer shows the code.
    feed(db, window, order_id, pickup=codes.make_verifier("ABCD2345", iterations=1000))
    shots: list[bool] = []

    def look() -> None:
        dlg = QApplication.activeModalWidget()
        if isinstance(dlg, HandoverDialog):
            shots.append(dlg.grab().save(str(SHOTS / "pickup-handover-dialog.png")))

    QTimer.singleShot(0, look)
    scan(qtbot, window, "PU-ABCD2345")
    qtbot.waitUntil(lambda: screen.order is not None and screen.order.status == "collected", timeout=10_000)
    idle(qtbot, window)
    assert "handed over" in window.ctx.messages.text()
    shoot(window, qtbot, "collected")
    with db() as s:
        rec = s.get(PickupRecord, order_id)
        assert rec is not None and rec.method == "code"


def test_hand_over_by_id_check_and_a_cancellation_and_an_arrival_from_the_central(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    known = orders(db)
    order_id, number, lines = known["pickup"]
    curb_id, _curb, _ = known["curbside"]
    screen = sign_in(qtbot, window)
    scan(qtbot, window, number)
    scan(qtbot, window, lines[0][0])
    assert screen.order is not None and screen.order.status == "picking"
    # Cancelled at the central while the associate picks: red at once, and where the items go back.
    feed(db, window, order_id, status="cancelled")
    qtbot.waitUntil(lambda: screen.order is not None and screen.order.status == "cancelled", timeout=5000)
    assert screen.order.status == "cancelled"
    assert window.ctx.messages.error and "cancelled at the central" in window.ctx.messages.text()
    assert "put the items back" in window.ctx.messages.text()
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)  # back to the queue
    idle(qtbot, window)
    assert screen.mode == "queue"
    # A curbside customer checks in: the till hears it through the feed, with a notice.
    feed(db, window, curb_id, arrived_at=now().isoformat())
    qtbot.waitUntil(lambda: "is at the curb" in window.ctx.messages.text(), timeout=5000)
    assert "is at the curb" in window.ctx.messages.text()
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    # The curbside order: prepared, made ready, handed over by an ID check.
    _id, curb_number, curb_lines = orders(db)["curbside"]
    scan(qtbot, window, curb_number)
    for code, qty in curb_lines:
        for _ in range(qty):
            scan(qtbot, window, code)
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    idle(qtbot, window)
    assert screen.order is not None and screen.order.status == "ready"
    with db() as s:
        customer = s.get(Order, curb_id).customer_name  # type: ignore[union-attr]
    seen: list[str] = []

    def fill(name: str, again: bool) -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, HandoverDialog)
        if not seen:
            for w, h in ((1280, 800), (1024, 768)):
                window.resize(w, h)
                dlg.grab().save(str(SHOTS / f"pickup-handover-{w}.png"))
            window.ctx.router.dispatch(curb_lines[0][0])  # an item handed over, scanned: one of the order's
        dlg.id_name.setText(name)
        dlg.submit()
        seen.append(name)
        if again:
            QTimer.singleShot(300, lambda: check_and_retry(dlg))

    def check_and_retry(dlg: HandoverDialog) -> None:
        seen.append(dlg.error.text() or dlg.field_error("id_name"))
        seen.append(dlg.bag_label.text())
        fill(str(customer), again=False)

    QTimer.singleShot(100, lambda: fill("Somebody Else", again=True))
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: screen.order is not None and screen.order.status == "collected", timeout=10_000)
    assert any("name on the ID" in x for x in seen)
    assert any("items scanned: 1" in x for x in seen)
    window.resize(1280, 800)


def test_a_short_line_is_handed_back_and_a_no_show_is_put_back(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    known = orders(db)
    order_id, number, lines = known["pickup"]
    screen = sign_in(qtbot, window)
    # F6 on the current line: the short dialog names the item; one missing goes back to the central.
    with db() as s:
        multi = next(
            o for o in s.scalars(select(Order).where(Order.fulfilment == "pickup")) if len(o.lines) > 1
        )
        multi_id, multi_number = multi.id, multi.number
    scan(qtbot, window, multi_number)
    assert screen.order is not None and len(screen.order.lines) > 1

    def short_dialog() -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, ShortDialog)
        dlg.submit()  # the missing quantity is filled in: everything not yet scanned

    QTimer.singleShot(100, short_dialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F6)
    idle(qtbot, window)
    assert "handed back to the central" in window.ctx.messages.text()
    with db() as s:
        assert s.scalars(select(OutboxEvent).where(OutboxEvent.type == "order.handback")).all()
        assert s.get(Order, multi_id).status == "picking"  # type: ignore[union-attr]
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    # A ready order nobody came for in 8 days: listed on F4, put back on F5 (asked once).
    scan(qtbot, window, number)
    for code, qty in lines:
        for _ in range(qty):
            scan(qtbot, window, code)
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    idle(qtbot, window)
    with db.begin() as s:
        rec = s.get(PickupRecord, order_id)
        assert rec is not None and rec.ready_at is not None
        rec.ready_at = rec.ready_at - timedelta(days=8)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    idle(qtbot, window)
    qtbot.keyClick(window.scan, Qt.Key.Key_F4)
    assert texts(screen, 0) == [number] and "no-show" in texts(screen, 3)[0]
    shoot(window, qtbot, "no-shows")
    QTimer.singleShot(100, lambda: qtbot.keyClick(QApplication.activeModalWidget(), Qt.Key.Key_Return))
    qtbot.keyClick(window.scan, Qt.Key.Key_F5)
    idle(qtbot, window)
    with db() as s:
        assert s.get(Order, order_id).status == "expired"  # type: ignore[union-attr]
    assert "goods back on the floor" in window.ctx.messages.text()


def _composite(win: MainWindow, dlg: QWidget, path: Path) -> bool:
    """The window with the dialog over it, as the associate sees them."""
    shot = win.grab()
    painter = QPainter(shot)
    # Centred, where a window manager puts a dialog (offscreen, none does).
    at = QPoint(max(0, (shot.width() - dlg.width()) // 2), max(0, (shot.height() - dlg.height()) // 2))
    painter.drawPixmap(at, dlg.grab())
    painter.end()
    return shot.save(str(path))


def test_an_unpaid_order_is_paid_through_sells_pay_dialog_at_the_hand_over(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    order_id, number, lines = orders(db)["pickup"]
    who = actor(db, "associate")
    for code, qty in lines:
        for _ in range(qty):
            with db.begin() as s:
                pickup.scan(s, who, order_id, code)
    with db.begin() as s:
        pickup.ready(s, who, order_id)
        order = s.get(Order, order_id)
        assert order is not None
        order.external = {**(order.external or {}), "paid": False}
        customer, total = str(order.customer_name), order.total
        shifts.open_shift(s, who, Decimal("100.00"))
    screen = sign_in(qtbot, window)
    scan(qtbot, window, number)
    assert screen.order is not None and not screen.order.paid
    assert "the payment is taken at the hand-over" in screen.figures.text()
    seen: list[str] = []

    def handover() -> None:
        dlg = QApplication.activeModalWidget()
        assert isinstance(dlg, HandoverDialog)
        seen.append(dlg.ok.text())
        dlg.id_name.setText(customer)
        for w, h in ((1280, 800), (1024, 768)):
            window.resize(w, h)
            qtbot.wait(30)
            assert _composite(window, dlg, SHOTS / f"pickup-handover-unpaid-{w}.png")
        dlg.submit()
        QTimer.singleShot(300, pay)

    def pay() -> None:
        dlg = QApplication.activeModalWidget()
        if not isinstance(dlg, PickupPayDialog):
            QTimer.singleShot(100, pay)
            return
        seen.append(dlg.due.text())
        # A card over what is due is refused by Sell's rules, and nothing is taken.
        dlg.kind.setCurrentIndex(dlg.kind.findData("card"))
        dlg.amount.setText(f"{total + 1:.2f}")
        dlg.last4.setText("4242")
        dlg.approval.setText("OK12")
        dlg.take_payment()
        QTimer.singleShot(300, lambda: split(dlg))

    def split(dlg: PickupPayDialog) -> None:
        seen.append(dlg.error.text())
        dlg.amount.setText("1.00")  # part by card ...
        dlg.take_payment()
        QTimer.singleShot(300, lambda: cash(dlg))

    def cash(dlg: PickupPayDialog) -> None:
        seen.append(dlg.paid.text())
        for w, h in ((1280, 800), (1024, 768)):
            window.resize(w, h)
            qtbot.wait(30)
            assert _composite(window, dlg, SHOTS / f"pickup-pay-{w}.png")
        dlg.quick[-1].click()  # ... the rest in cash, a note with change: the order is handed over

    QTimer.singleShot(100, handover)
    qtbot.keyClick(window.scan, Qt.Key.Key_F10)
    qtbot.waitUntil(lambda: screen.order is not None and screen.order.status == "collected", timeout=10_000)
    idle(qtbot, window)
    window.resize(1280, 800)
    assert seen[0].startswith("Take payment")
    assert "more than the" in seen[2] and "gives no change" in seen[2]
    assert "card" in seen[3]
    assert "paid" in window.ctx.messages.text()
    with db() as s:
        order = s.get(Order, order_id)
        assert order is not None and order.status == "collected" and order.shift_id is not None
        assert sorted(p.kind for p in order.payments) == ["card", "cash"]
        assert sum((p.amount for p in order.payments), Decimal(0)) == total + order.rounding
        x = shifts.x_report(s)
    assert x.sales_count == 1 and {t.kind for t in x.by_tender} == {"card", "cash"}
