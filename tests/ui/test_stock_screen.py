"""The Stock workstation (Ctrl+9) under the real scan field and router: a count counted by scans (a case counts its pack), a scan
reaching only the panel in front (Adjust's scan does not count), damage recorded by its reason key, the count
posted with a reason, shelf labels queued; screenshots of the count screen at 1280x800 and 1024x768 under $SHOTS."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, PrintJob, Product, StockMovement
from app.services import counts
from app.services.base import Actor
from tests.ui.contexts import signed_in
from tests.ui.shots import shots_dir
from tests.ui.test_counter_day import form_answer, when_shown
from ui.context import AppContext
from ui.main_window import WORKSTATIONS, MainWindow
from ui.scan_router import ScanField
from ui.screens.stock import StockScreen
from ui.screens.stock_count import AdjustPanel, CountPanel, LabelsPanel
from ui.screens.stock_receive import ReceivePanel
from ui.theme import STYLE

Factory = sessionmaker[Session]
SHOTS = shots_dir()


class Host(QWidget):
    """The window around the Stock screen: the scan field and message bar on top, as in the main window."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__()
        self.ctx = ctx
        lay = QVBoxLayout(self)
        self.scan = ScanField(ctx.router)
        lay.addWidget(self.scan)
        lay.addWidget(ctx.messages)
        self.screen_ = StockScreen(ctx)
        lay.addWidget(self.screen_, 1)

    def focus_scan(self) -> None:
        if QApplication.activeWindow() is None and self.isVisible():
            self.activateWindow()  # as the main window: a closed dialog handed the keyboard to nobody
        self.scan.setFocus(Qt.FocusReason.OtherFocusReason)


@pytest.fixture
def window(db: Factory, qtbot: QtBot) -> Iterator[Host]:
    with signed_in(db, qtbot, "manager", "6666") as ctx:
        win = Host(ctx)
        win.setStyleSheet(STYLE)
        qtbot.addWidget(win)
        win.resize(1280, 800)
        win.show()
        qtbot.waitExposed(win)
        yield win


def test_ctrl_9_opens_the_stock_workstation_in_the_main_window(db: Factory, qtbot: QtBot) -> None:
    assert WORKSTATIONS[8] == ("stock", "Stock")  # after Reports
    with signed_in(db, qtbot, "manager", "6666") as ctx:
        win = MainWindow(ctx)
        qtbot.addWidget(win)
        win.resize(1024, 768)
        win.show()
        assert ctx.user is not None
        win.on_signed_in(ctx.user)
        idle(qtbot, ctx)
        qtbot.keyClick(win, Qt.Key.Key_9, Qt.KeyboardModifier.ControlModifier)
        idle(qtbot, ctx)
        assert win.current == "stock" and isinstance(win.screens["stock"], StockScreen)
        assert win.title.text() == "Stock"
        SHOTS.mkdir(parents=True, exist_ok=True)
        qtbot.wait(50)  # the layout the last answer asked for, as a person sees it
        win.grab().save(str(SHOTS / "stock-window-1024x768.png"))


def idle(qtbot: QtBot, ctx: AppContext) -> None:
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)


def test_count_adjust_and_labels_through_the_stock_screen(db: Factory, window: Host, qtbot: QtBot) -> None:
    ctx = window.ctx
    assert ctx.user is not None
    with db.begin() as s:
        case = s.scalars(select(Barcode).where(Barcode.pack_qty == 6).order_by(Barcode.code).limit(1)).one()
        sku, product_id = case.product.sku, case.product_id
        unit = s.scalars(
            select(Barcode.code).where(Barcode.product_id == product_id, Barcode.pack_qty == 1)
        ).one()
        others = list(s.scalars(select(Barcode.product_id).where(Barcode.pack_qty == 6).limit(4)))
        skus = sorted({s.get(Product, pid).sku for pid in others})  # type: ignore[union-attr]
        count = counts.setup(s, Actor(ctx.user.id), "floor", skus=skus)

    screen = window.screen_
    assert list(screen.panels) == ["receive", "transfer", "count", "adjust", "labels"]
    assert isinstance(screen.panel(), ReceivePanel)  # the first mode
    window.focus_scan()
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)  # Count
    panel = screen.panel()
    assert isinstance(panel, CountPanel)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.id == count.id)
    assert panel.figure.text() == str(len(skus))

    ctx.router.dispatch(case.code)
    ctx.router.dispatch(unit)
    idle(qtbot, ctx)
    assert panel.view is not None and panel.view.last_sku == sku
    row = [r for r in panel.rows if r.key == sku][0]
    assert row.cells[1].startswith("7") and panel.current == sku
    assert panel.figure.text() == str(len(skus) - 1)
    for size, name in (((1280, 800), "count-1280x800"), ((1024, 768), "count-1024x768")):
        window.resize(*size)
        qtbot.wait(50)
        SHOTS.mkdir(parents=True, exist_ok=True)
        window.grab().save(str(SHOTS / f"{name}.png"))
    window.resize(1280, 800)

    # Alt+4: Adjust. A scan now goes to Adjust only: the count stays at 7.
    qtbot.keyClick(window, Qt.Key.Key_4, Qt.KeyboardModifier.AltModifier)
    adjust = screen.panel()
    assert isinstance(adjust, AdjustPanel) and not panel.isVisible()
    ctx.router.dispatch(unit)
    idle(qtbot, ctx)
    assert adjust.item is not None and adjust.item.sku == sku
    with db() as s:
        assert next(ln for ln in counts.view(s, count.id).lines if ln.sku == sku).counted == 7
    errors = when_shown(*form_answer(qty="2", note="dropped"))
    qtbot.keyClick(window, Qt.Key.Key_F3)  # damaged
    idle(qtbot, ctx)
    assert not errors
    assert len(adjust.done) == 1 and adjust.done[0].qty == -2 and adjust.rows[0].cells[1] == "damaged"
    window.resize(1024, 768)
    qtbot.wait(50)
    window.grab().save(str(SHOTS / "adjust-1024x768.png"))
    window.resize(1280, 800)

    window.focus_scan()  # the window takes the keyboard back from the closed dialog
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    # Back to Count (Alt+3): post; the uncounted items are posted as none (the confirmation answered yes).
    qtbot.keyClick(window, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    idle(qtbot, ctx)
    assert screen.panel() is panel

    def yes(box: QMessageBox) -> None:
        box.defaultButton().click()  # Enter: yes

    confirm_errors = when_shown(QMessageBox, yes)
    post_errors = when_shown(*form_answer(reason="cycle count"))
    qtbot.keyClick(window, Qt.Key.Key_F10)
    idle(qtbot, ctx)
    assert not confirm_errors and not post_errors, (confirm_errors, post_errors)
    with db() as s:
        assert counts.view(s, count.id).status == "posted"
        assert s.scalars(select(StockMovement).where(StockMovement.cause_id == count.id)).all()

    # Alt+5: Labels. Scan two items, print them.
    qtbot.keyClick(window, Qt.Key.Key_5, Qt.KeyboardModifier.AltModifier)
    labels = screen.panel()
    assert isinstance(labels, LabelsPanel)
    ctx.router.dispatch(unit)
    ctx.router.dispatch(case.code)  # the same item: one label
    idle(qtbot, ctx)
    assert labels.figure.text() == "1"
    window.resize(1024, 768)
    qtbot.wait(50)
    window.grab().save(str(SHOTS / "labels-1024x768.png"))
    window.resize(1280, 800)
    qtbot.keyClick(window, Qt.Key.Key_F10)
    idle(qtbot, ctx)
    with db() as s:
        jobs = s.scalars(select(PrintJob).where(PrintJob.kind == "shelf_label")).all()
        assert [(j.role, j.cause_id) for j in jobs] == [("label", product_id)]
    assert labels.figure.text() == "0"
    assert Decimal(adjust.done[0].value) > 0


def test_a_count_set_up_by_f2_and_a_weighed_item_weighed_before_it_counts(
    db: Factory, window: Host, qtbot: QtBot
) -> None:
    ctx = window.ctx
    assert ctx.user is not None
    with db() as s:
        sku = s.scalars(select(Product.sku).where(Product.weighed.is_(True)).limit(1)).one()
    screen = window.screen_
    screen.show_mode("count")
    panel = screen.panel()
    assert isinstance(panel, CountPanel)
    idle(qtbot, ctx)
    assert panel.view is None and "No open count" in panel.number.text()
    set_up = when_shown(*form_answer(skus=sku.lower()))  # F2: the manager sets up a count of one item
    qtbot.keyClick(window, Qt.Key.Key_F2)
    idle(qtbot, ctx)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.location_code == "floor")
    assert not set_up
    errors = when_shown(*form_answer(weight="1,250"))
    ctx.router.dispatch(sku)
    qtbot.waitUntil(lambda: panel.view is not None and panel.view.counted_lines == 1, timeout=10_000)
    assert not errors and panel.view is not None
    assert [(ln.sku, ln.counted) for ln in panel.view.lines] == [(sku, Decimal("1.25"))]
