"""A cashier's day through the real main window, as issue 3 asks to see it (pytest-qt, offscreen):

open the shift in Office with a counted float; on Sell, scan three items as scanner key bursts (two into the scan
field, one outside it, caught by the scan router's key filter) and a weighed item's price-embedded scale label; a
15 % discount, above the cashier's 10 % limit, approved by a manager's PIN in the approval dialog; pay part cash,
part card in the tender dialog (F10). The receipt reaches a python-escpos File printer as ESC/POS bytes holding the
lines and the totals. Then the shift is closed from a blind count with a manager's approval, and the Z report's
figures match the sale.

Screenshots of the Sell screen mid-sale, the tender dialog and the shift close go to the temp folder (see `shoot`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QInputDialog, QLineEdit, QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app import demo
from app.db.models import Approval, Barcode, CashMovement, Order, PrintJob, Product, Shift, StaffUser
from app.domain.money import quantize_money
from app.services import settings, shifts
from app.services.base import Actor, here
from tests.ui.test_approval import approval_dialog
from tests.ui.test_office import shoot
from tests.ui.test_sell import sign_in
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.main_window import MainWindow
from ui.ops import Ops
from ui.print_worker import PrintWorker
from ui.scan_router import ScanField, ScanRouter
from ui.screens.office.shift import DENOMINATIONS
from ui.screens.sell import CustomerDialog, DiscountDialog, ProductSearchDialog, TenderDialog
from ui.theme import STYLE
from ui.widgets import FormDialog, ProductPicker

W = TypeVar("W", bound=QWidget)


@pytest.fixture
def counter(qtbot: QtBot, db: sessionmaker[Session], tmp_path: Path) -> Iterator[tuple[MainWindow, Path]]:
    """The main window wired as `counterline` wires it: scan router on the application (real clock), the
    approval dialog, and a print worker whose receipt printer is a file (python-escpos's File printer)."""
    receipt = tmp_path / "receipt.bin"
    with db.begin() as s:
        settings.put(s, "devices.receipt_printer", {"type": "file", "path": str(receipt)})
        h = here(s)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE)
    router = ScanRouter()
    router.install(app)
    ctx = AppContext(factory=db, ops=Ops(db), router=router, messages=MessageBar(), sounds=Sounds(), here=h)
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    worker = PrintWorker(db)
    worker.start()
    ctx.services["printer"] = worker
    yield win, receipt
    worker.stop()
    ctx.ops.shutdown()
    router.uninstall()


def idle(qtbot: QtBot, win: MainWindow) -> None:
    qtbot.waitUntil(win.ctx.ops.is_idle, timeout=10_000)


def when_shown(kind: type[W], drive: Callable[[W], None]) -> list[BaseException]:
    """Drive a dialog a screen opens with exec(): `drive` runs inside its event loop once it is showing. A failure
    in `drive` closes the dialog and is returned, for the test to raise once exec() is back."""
    errors: list[BaseException] = []

    def look() -> None:
        w = QApplication.activeModalWidget()
        if not (isinstance(w, kind) and w.isVisible()):
            QTimer.singleShot(20, look)
            return
        try:
            drive(w)
        except BaseException as e:  # noqa: BLE001 - raised again by the test, outside Qt's event loop
            errors.append(e)
            w.reject()

    QTimer.singleShot(0, look)
    return errors


def type_by_hand(qtbot: QtBot, field: QWidget, text: str) -> None:
    """A person typing: keys further apart than a scanner's, so the scan router lets them through."""
    field.setFocus()
    for ch in text:
        qtbot.keyClick(field, ch)
        qtbot.wait(80)


def approve_as_manager(qtbot: QtBot) -> None:
    dlg = approval_dialog(qtbot)
    type_by_hand(qtbot, dlg.username, "manager")
    type_by_hand(qtbot, dlg.pin, "6666")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=10_000)


def burst(qtbot: QtBot, target: QWidget, code: str) -> None:
    """A keyboard-wedge scanner: the code's keys a few ms apart, then Enter."""
    qtbot.keyClicks(target, code)
    qtbot.keyClick(target, Qt.Key.Key_Return)


def count_cash(amount: Decimal) -> dict[str, int]:
    """Notes and coins making `amount`, largest first (what a cashier counting the drawer would find)."""
    out: dict[str, int] = {}
    left = amount
    for d in DENOMINATIONS:
        n = int(left // Decimal(d))
        if n:
            out[d] = n
            left -= n * Decimal(d)
    assert left == 0, f"{amount} cannot be made of {DENOMINATIONS}"
    return out


def test_a_cashiers_day_from_float_to_z_report(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, receipt = counter
    ctx: AppContext = win.ctx
    with db() as s:
        codes = list(
            s.scalars(
                select(Barcode.code)
                .join(Product)
                .where(Barcode.pack_qty == 1, Product.weighed.is_(False), Product.active.is_(True))
                .order_by(Product.sku)
                .limit(3)
            )
        )
        weighed = s.scalars(
            select(Product).where(Product.weighed.is_(True), Product.item_ref.is_not(None)).limit(1)
        ).one()
        label = demo.demo_scale_label(s, weighed.sku, Decimal("3.47"))
        names = {
            code: name
            for code, name in s.execute(
                select(Barcode.code, Product.name).join(Product).where(Barcode.code.in_(codes))
            )
        }
    assert len(codes) == 3

    # --- sign in and open the shift with a counted float (Office, Shift tab) ---------------------------------
    sign_in(qtbot, win, "cashier", "1111")
    assert win.current == "sell"
    win.show_screen("office")
    idle(qtbot, win)
    office = win.screens["office"]
    office.float_edit.clear()
    type_by_hand(qtbot, office.float_edit, "150.00")
    qtbot.mouseClick(office.open_btn, Qt.MouseButton.LeftButton)
    idle(qtbot, win)
    with db() as s:
        shift = s.scalar(select(Shift).where(Shift.status == "open"))
        assert shift is not None and shift.opening_float == Decimal("150.00")

    # --- scan: two bursts into the scan field, one outside it, and a scale label ------------------------------
    win.show_screen("sell")
    idle(qtbot, win)
    sell = win.screens["sell"]
    assert isinstance(QApplication.focusWidget(), ScanField)
    burst(qtbot, win.scan, codes[0])
    idle(qtbot, win)
    burst(qtbot, win.scan, codes[1])
    idle(qtbot, win)
    # Focus away from the scan field: the router's key filter takes the burst, and nothing is typed anywhere.
    win.scan.clearFocus()
    sell.table.setFocus()
    assert not isinstance(QApplication.focusWidget(), ScanField)
    burst(qtbot, sell.table, codes[2])
    qtbot.waitUntil(lambda: sell.sale is not None and len(sell.sale.lines) == 3, timeout=10_000)
    idle(qtbot, win)
    burst(qtbot, win.scan, label)
    idle(qtbot, win)
    assert not ctx.messages.error, ctx.messages.text()
    sale = sell.sale
    assert sale is not None and len(sale.lines) == 4
    assert [ln.name for ln in sale.lines[:3]] == [names[c] for c in codes]
    scale_line = sale.lines[3]
    # The label's price is charged as it is (the store's prices include tax), for the weight it stands for.
    assert (
        scale_line.name == weighed.name and scale_line.amount == Decimal("3.47") and scale_line.unit == "kg"
    )
    assert sell.table.rowCount() == 4
    assert sell.table.item(3, 3) is not None and "3.47" in sell.table.item(3, 3).text()  # type: ignore[union-attr]
    before_discount = sale.total

    # --- 15 % off the whole sale: above the cashier's limit, a manager approves with her PIN ------------------
    def discount(dlg: DiscountDialog) -> None:
        dlg.scope.setCurrentIndex(dlg.scope.findData("order"))
        dlg.kind.setCurrentIndex(dlg.kind.findData("percent"))
        dlg.value.setText("15")
        dlg.reason.setText("regular customer")
        dlg.submit()
        approve_as_manager(qtbot)  # over the discount dialog, which closes once the discount is made

    # F-keys go where the keyboard sends them: to the scan field, which has the focus.
    assert isinstance(QApplication.focusWidget(), ScanField)
    failed = when_shown(DiscountDialog, discount)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F5)
    if failed:
        raise failed[0]
    idle(qtbot, win)
    sale = sell.sale
    assert sale is not None and sale.discount_total > 0
    assert sale.total == before_discount - sale.discount_total
    assert f"Discounts: -{sell.money(sale.discount_total)}" in sell.figures.text()
    assert f"{sale.total:.2f}" in sell.total.text()
    shoot(win, "sell-mid-sale")
    # Every figure fits its column (nothing cut to "…"), and the item names keep most of the width.
    hh, metrics = sell.table.horizontalHeader(), sell.table.fontMetrics()
    for r in range(sell.table.rowCount()):
        for c in (1, 2, 3):
            text = sell.table.item(r, c).text()  # type: ignore[union-attr]
            assert metrics.horizontalAdvance(text) < hh.sectionSize(c), (r, c, text)
    assert hh.sectionSize(0) > sum(hh.sectionSize(c) for c in (1, 2, 3))
    with db() as s:
        approval = s.scalars(select(Approval).where(Approval.permission == "discount_above_threshold")).one()
        who = dict(s.execute(select(StaffUser.id, StaffUser.username)).all())
        assert (who[approval.approved_by], who[approval.requested_by]) == ("manager", "cashier")

    # --- pay: part cash, the rest by card (F10) ----------------------------------------------------------------
    total = sale.total
    cash_part = quantize_money((total / 2 / Decimal("0.05")).to_integral_value() * Decimal("0.05"))
    shots: list[Any] = []

    def tender(dlg: TenderDialog) -> None:
        dlg.kind.setCurrentIndex(dlg.kind.findData("cash"))
        dlg.amount.setText(f"{cash_part:.2f}")
        qtbot.keyClick(dlg.amount, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dlg.sale.paid == cash_part, timeout=10_000)
        dlg.kind.setCurrentIndex(dlg.kind.findData("card"))
        assert dlg.amount.text() == f"{total - cash_part:.2f}"
        dlg.last4.setText("4242")
        dlg.approval.setText("A1B2C3")
        shots.append(dlg.grab())
        qtbot.mouseClick(dlg.take, Qt.MouseButton.LeftButton)

    failed = when_shown(TenderDialog, tender)
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F10)
    if failed:
        raise failed[0]
    idle(qtbot, win)
    assert shots, "the tender dialog never showed"
    shots[0].save(str(Path(__import__("tempfile").gettempdir()) / "office-tender-split.png"))
    assert sell.sale is None and "complete" in ctx.messages.text()
    with db() as s:
        order = s.get(Order, sale.id)
        assert order is not None and order.status == "completed"
        assert sorted((p.kind, p.amount) for p in order.payments) == sorted(
            [("cash", cash_part), ("card", total - cash_part)]
        )
        assert all(p.card_last4 in (None, "4242") for p in order.payments)

    # --- the receipt: ESC/POS bytes through python-escpos's File printer ----------------------------------------
    qtbot.waitUntil(lambda: receipt.exists() and receipt.stat().st_size > 0, timeout=15_000)

    def printed() -> bool:
        with db() as s:  # a new session each time: one held open would keep the write lock from the worker
            return s.scalar(select(PrintJob.status).where(PrintJob.cause_id == sale.id)) == "printed"

    qtbot.waitUntil(printed, timeout=15_000)
    # ESC p: the drawer kick, as cash was taken, through the receipt printer (by the worker's thread, never
    # at the same time as a receipt).
    qtbot.waitUntil(lambda: b"\x1bp" in receipt.read_bytes(), timeout=15_000)
    data = receipt.read_bytes()
    receipt_bytes = data[data.index(b"\x1b@") :]  # ESC @: the receipt starts by initialising the printer
    assert receipt_bytes.endswith(b"\x1dV\x00")  # ...and ends with the cut
    for ln in sale.lines:
        assert ln.name[:12].encode("ascii", "replace") in receipt_bytes, ln.name
    for figure in (total, cash_part, total - cash_part, sale.discount_total):
        assert f"{figure:.2f}".encode() in receipt_bytes, figure
    assert sale.number.encode() in receipt_bytes and b"4242" in receipt_bytes

    # --- close the shift from a blind count; the cashier needs a manager for that --------------------------------
    win.show_screen("office")
    idle(qtbot, win)
    # Sell's F-keys are off while another workstation shows: F10 here opens no tender dialog.
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key.Key_F10)
    qtbot.wait(100)
    assert not isinstance(QApplication.activeModalWidget(), TenderDialog)
    expected_cash = Decimal("150.00") + cash_part
    for d, n in count_cash(expected_cash).items():
        office.denoms[d].setValue(n)
    office.card_total.setText(f"{total - cash_part:.2f}")
    qtbot.mouseClick(office.close_btn, Qt.MouseButton.LeftButton)
    approve_as_manager(qtbot)
    idle(qtbot, win)
    qtbot.waitUntil(lambda: "closed" in office.close_result.text(), timeout=10_000)
    shoot(office, "shift-close-day")
    with db() as s:
        closed = s.get(Shift, shift.id)
        assert closed is not None and closed.status == "closed"
        z = closed.report
        assert z["sales_count"] == 1 and Decimal(z["sales_total"]) == total
        by_tender = {t["kind"]: Decimal(t["amount"]) for t in z["by_tender"]}
        assert by_tender == {"cash": cash_part, "card": total - cash_part}
        assert Decimal(z["expected_cash"]) == expected_cash == Decimal(z["counted_cash"])
        assert {k: Decimal(v) for k, v in z["over_short"].items()} == {"cash": 0, "card": 0}
        job = s.scalar(select(PrintJob).where(PrintJob.kind == "z_report", PrintJob.cause_id == shift.id))
        assert job is not None
    text = office.close_result.text()
    assert f"{expected_cash:.2f}" in text and f"{total - cash_part:.2f}" in text


def answer(*steps: tuple[type[QWidget], Callable[[Any], None]]) -> list[BaseException]:
    """Answer dialogs opened one after the other with exec() (a price, then its reason)."""
    errors: list[BaseException] = []

    def next_step(i: int) -> None:
        if i >= len(steps):
            return
        kind, drive = steps[i]

        def then(w: Any) -> None:
            drive(w)
            next_step(i + 1)

        errors.extend(when_shown(kind, then))

    next_step(0)
    return errors


def press(qtbot: QtBot, key: Qt.Key, *steps: tuple[type[QWidget], Callable[[Any], None]]) -> None:
    """Press an F-key where the keyboard sends it (the scan field has the focus), answering its dialogs."""
    errors = answer(*steps)
    target = QApplication.focusWidget()
    assert isinstance(target, ScanField), f"focus is on {target!r}, not the scan field"
    qtbot.keyClick(target, key)
    qtbot.wait(50)
    if errors:
        raise errors[0]


def text_answer(value: str) -> tuple[type[QWidget], Callable[[Any], None]]:
    def fill(d: QInputDialog) -> None:
        d.setTextValue(value)
        d.accept()

    return QInputDialog, fill


def form_answer(
    then: Callable[[], None] | None = None, **fields: str
) -> tuple[type[QWidget], Callable[[Any], None]]:
    """Fill a line dialog's fields (by their object names) and press Enter; `then` runs while it is still open
    (a manager approving over it)."""

    def fill(d: FormDialog) -> None:
        for name, value in fields.items():
            field = d.findChild(QLineEdit, name)
            assert field is not None, name
            field.setText(value)
        d.submit()
        if then is not None:
            then()

    return FormDialog, fill


def test_every_sell_key_works_from_the_scan_field(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    """F2 to F12 as a cashier uses them, focus in the scan field throughout; the ones a cashier may not do alone
    ask for a manager, and after every key the focus is back in the scan field."""
    win, _receipt = counter
    ctx: AppContext = win.ctx
    with db.begin() as s:
        cashier = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "cashier")))
        shifts.open_shift(s, cashier, Decimal("100.00"))
        rows = s.execute(
            select(Barcode.code, Product.name)
            .join(Product)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False), Product.active.is_(True))
            .order_by(Product.sku.desc())
            .limit(3)
        ).all()
    sign_in(qtbot, win, "cashier", "1111")
    sell = win.screens["sell"]
    for code, _name in rows[:2]:
        burst(qtbot, win.scan, code)
        idle(qtbot, win)
    assert sell.sale is not None and len(sell.sale.lines) == 2

    def line(n: int) -> Any:
        assert sell.sale is not None
        return sell.sale.lines[n]

    # F3: quantity of the current (last scanned) line.
    press(qtbot, Qt.Key.Key_F3, form_answer(quantity="3"))
    idle(qtbot, win)
    assert line(1).qty == 3 and sell.table.item(1, 1).text() == "3"  # type: ignore[union-attr]

    # F4: a price override needs a manager; the price and its reason are asked first.
    press(
        qtbot,
        Qt.Key.Key_F4,
        form_answer(lambda: approve_as_manager(qtbot), price="1.00", reason="damaged box"),
    )
    idle(qtbot, win)
    assert line(1).price == Decimal("1.00") and "damaged box" in (line(1).override_text or "")
    assert sell.table.item(1, 2).text() == sell.money(Decimal("1.00"))  # type: ignore[union-attr]
    assert sell.table.item(1, 3).text() == sell.money(Decimal("3.00"))  # type: ignore[union-attr]

    # F7: void the current line, moved up from the scan field (a cashier may); asked once, it stays on screen,
    # struck through.
    press(qtbot, Qt.Key.Key_Up)
    press(qtbot, Qt.Key.Key_F7, (QMessageBox, lambda box: qtbot.keyClick(box, Qt.Key.Key_Return)))
    idle(qtbot, win)
    assert line(0).voided and sell.table.item(0, 0).font().strikeOut()  # type: ignore[union-attr]

    # F2: search by name, Enter adds the first match.
    def search(d: ProductSearchDialog) -> None:
        picker = d.findChild(ProductPicker)
        assert picker is not None
        picker.query.setText(rows[2][1])
        qtbot.waitUntil(lambda: picker.results.count() > 0, timeout=10_000)
        qtbot.keyClick(picker.query, Qt.Key.Key_Return)

    press(qtbot, Qt.Key.Key_F2, (ProductSearchDialog, search))
    idle(qtbot, win)
    assert sell.sale is not None and sell.sale.lines[-1].name == rows[2][1]

    # F6: a new customer made at the counter and attached.
    def customer(d: CustomerDialog) -> None:
        d.name.setText("Robin Walk-in")
        d.phone.setText("+353 1 555 0100")
        d._create()

    press(qtbot, Qt.Key.Key_F6, (CustomerDialog, customer))
    idle(qtbot, win)
    assert sell.sale is not None and sell.sale.customer_name == "Robin Walk-in"
    assert "Robin Walk-in" in sell.customer_label.text()

    # F1: the keys, in the message bar.
    press(qtbot, Qt.Key.Key_F1)
    assert "F10  Pay" in ctx.messages.text()
    ctx.messages.clear()

    # F8 parks the sale; F9 brings it back from the list.
    number = sell.sale.number
    press(qtbot, Qt.Key.Key_F8)
    idle(qtbot, win)
    assert sell.sale is None and "parked" in ctx.messages.text()
    ctx.messages.clear()

    def recall(d: QInputDialog) -> None:
        items = d.comboBoxItems()
        assert len(items) == 1
        d.setTextValue(items[0])
        d.accept()

    # The parked list is read off the GUI thread, then the list opens.
    press(qtbot, Qt.Key.Key_F9, (QInputDialog, recall))
    qtbot.waitUntil(lambda: sell.sale is not None, timeout=10_000)
    idle(qtbot, win)
    assert sell.sale is not None and sell.sale.number == number
    assert sell.table.rowCount() == 3

    # F11: no sale, a manager approves the drawer opening; it is recorded.
    press(qtbot, Qt.Key.Key_F11)
    approve_as_manager(qtbot)
    idle(qtbot, win)
    with db() as s:
        assert (
            s.scalar(select(func.count()).select_from(CashMovement).where(CashMovement.kind == "no_sale"))
            == 1
        )
    assert isinstance(QApplication.focusWidget(), ScanField)

    # F12 signs out; the sale on screen is parked for the cashier to take back.
    press(qtbot, Qt.Key.Key_F12)
    idle(qtbot, win)
    assert ctx.user is None and win.current == "signin"
    with db() as s:
        assert s.scalar(select(Order.status).where(Order.number == number)) == "parked"
