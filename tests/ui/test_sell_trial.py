"""The Sell screen as the store trial used it (issue 16, items 14 to 20), through the real main window (pytest-qt,
offscreen), keys pressed where the keyboard sends them (the scan field):

- the change of a cash sale shows (message bar and large on the screen) even while an earlier refusal waits;
- refusals are red with a low tone, good news green with a high tone, read from the rendered pixels;
- the current line is always highlighted, moves with Up/Down and taps, follows the next scan, and every line dialog
  names its item; F7 asks once; F5 offers the whole sale unless a line was chosen on purpose;
- a payment taken can be removed and the whole sale voided (a supervisor approves);
- quantities are plain numbers, and one above the store's threshold or beyond known stock asks first;
- a dialog refused for its input stays open with the message under the field and the input kept;
- the Pay dialog's "Due" follows the tender (cash rounded for coins, card exact).

Screenshots go to $SELL_SHOTS (default: the temp folder) as sell-*.png, for a person to open.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Order, Product, StaffUser
from app.domain.money import round_cash
from app.services import settings, shifts, stock
from app.services.base import Actor
from tests.ui import test_counter_day
from tests.ui.test_counter_day import answer, approve_as_manager, burst, idle
from tests.ui.test_sell import sign_in
from ui.approval import ApprovalDialog
from ui.feedback import MessageBar, Sounds
from ui.main_window import MainWindow
from ui.scan_router import ScanField
from ui.screens.sell import DiscountDialog, SellScreen, TenderDialog
from ui.theme import CURRENT_LINE, ERROR_RED, GOOD_GREEN
from ui.widgets import FormDialog

Step = tuple[type[QWidget], Callable[[Any], None]]
counter = test_counter_day.counter  # the main window wired as `counterline` wires it (a fixture)


def shot(widget: QWidget, name: str) -> None:
    folder = Path(os.environ.get("SELL_SHOTS", tempfile.gettempdir()))
    folder.mkdir(parents=True, exist_ok=True)
    widget.grab().save(str(folder / f"sell-{name}.png"))


def key(
    qtbot: QtBot, k: Qt.Key, *steps: Step, modifier: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier
) -> None:
    """Press a key where the keyboard sends it (the scan field), answering the dialogs it opens in turn."""
    errors = answer(*steps)
    target = QApplication.focusWidget()
    assert isinstance(target, ScanField), f"focus is on {target!r}, not the scan field"
    qtbot.keyClick(target, k, modifier)
    qtbot.wait(30)
    if errors:
        raise errors[0]


def enter(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.keyClick(widget, Qt.Key.Key_Return)


def colour_at(widget: QWidget, x: int, y: int) -> str:
    return QColor(widget.grab().toImage().pixel(x, y)).name()


def colours(widget: QWidget) -> list[str]:
    """The colours a widget renders, most used first (from its own grab, as a screenshot of it shows it)."""
    img = widget.grab().toImage()
    seen: dict[str, int] = {}
    for x in range(0, img.width(), 2):
        for y in range(0, img.height(), 2):
            c = QColor(img.pixel(x, y)).name()
            seen[c] = seen.get(c, 0) + 1
    return sorted(seen, key=lambda c: -seen[c])


def reads_as(widget: QWidget, background: str) -> bool:
    """White text on `background`: what the message bar must look like (it was grey with black text)."""
    found = colours(widget)
    return found[0] == background and "#ffffff" in found


def open_till(db: sessionmaker[Session], win: MainWindow, qtbot: QtBot) -> SellScreen:
    with db.begin() as s:
        cashier = Actor(s.scalar(select(StaffUser.id).where(StaffUser.username == "cashier")))
        shifts.open_shift(s, cashier, Decimal("100.00"))
    sign_in(qtbot, win, "cashier", "1111")
    sell = win.screens["sell"]
    assert win.current == "sell" and isinstance(sell, SellScreen)
    return sell


def codes(db: sessionmaker[Session], n: int, where: Any = None) -> list[tuple[str, str, Decimal, str]]:
    """(barcode, name, price, product id) of `n` plain items sold by the piece."""
    with db() as s:
        q = (
            select(Barcode.code, Product.name, Product.price, Product.id)
            .join(Product)
            .where(Barcode.pack_qty == 1, Product.weighed.is_(False), Product.active.is_(True))
            .order_by(Product.sku)
        )
        if where is not None:
            q = q.where(where)
        rows = [tuple(r) for r in s.execute(q.limit(n * 3)).all()]
    seen: dict[str, tuple[str, str, Decimal, str]] = {}
    for r in rows:
        seen.setdefault(r[3], r)  # type: ignore[arg-type]
    out = list(seen.values())[:n]
    assert len(out) == n
    return out


def scan(qtbot: QtBot, win: MainWindow, code: str) -> None:
    burst(qtbot, win.scan, code)
    idle(qtbot, win)


def one_item_rung_up(db: sessionmaker[Session], win: MainWindow, qtbot: QtBot, over: Decimal) -> SellScreen:
    """The till open with one item priced over `over` scanned onto a new sale."""
    sell = open_till(db, win, qtbot)
    [(code, *_rest)] = codes(db, 1, Product.price > over)
    scan(qtbot, win, code)
    return sell


# -- 14 and 15: the message bar ----------------------------------------------------------------------------------


def test_change_shows_while_an_earlier_refusal_waits(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    ctx = win.ctx
    [(code, _name, price, _pid)] = codes(db, 1, Product.price < Decimal("15"))
    scan(qtbot, win, code)
    # A refusal nobody has acknowledged yet: red, a low tone, and it stays.
    scan(qtbot, win, "NOT-A-CODE-123")
    assert ctx.messages.error and "NOT-A-CODE-123" in ctx.messages.text()
    assert ctx.sounds.played[-1] == "bad"
    shot(win, "red-error")
    bar = ctx.messages
    assert sell.sale is not None
    due = sell.sale.remaining_in_cash
    number = sell.sale.number

    def pay(dlg: TenderDialog) -> None:
        dlg.amount.setText("20")
        enter(qtbot, dlg.amount)

    key(qtbot, Qt.Key.Key_F10, (TenderDialog, pay))
    idle(qtbot, win)
    with db() as s:
        assert s.scalar(select(Order.status).where(Order.number == number)) == "completed"
    change = Decimal("20.00") - due
    # The old refusal is still there (nobody acknowledged it), and the change shows under it, green.
    text = ctx.messages.text()
    assert "NOT-A-CODE-123" in text and "Change due" in text and sell.money(change) in text, text
    assert ctx.sounds.played[-1] == "good"
    assert reads_as(bar.error_label, ERROR_RED) and reads_as(bar.notice_label, GOOD_GREEN)
    # On the screen, large, where the total was: the change to hand over.
    assert sell.caption.text() == "Change due" and sell.total.text() == sell.money(change)
    assert sell.total.font().pixelSize() >= 48 or sell.total.fontInfo().pixelSize() >= 48
    shot(win, "after-cash-sale")
    win.resize(1024, 768)
    qtbot.wait(50)
    shot(win, "after-cash-sale-1024")
    win.resize(1280, 800)

    # It stays until the next sale starts: acknowledging the bar or switching screens keeps it...
    ctx.messages.clear()
    win.show_screen("lookup")
    win.show_screen("sell")
    idle(qtbot, win)
    assert sell.total.text() == sell.money(change)
    # ...and the next scan starts a sale: the total is back.
    scan(qtbot, win, code)
    assert sell.caption.text() == "Total" and sell.total.text() == sell.money(price)


def test_refusal_is_red_with_a_low_tone(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    open_till(db, win, qtbot)
    key(qtbot, Qt.Key.Key_F7)  # nothing on the sale to void: refused
    bar = win.ctx.messages
    assert bar.error and "Scan an item first" in bar.text()
    assert win.ctx.sounds.played[-1:] == [
        "bad"
    ]  # shown by the screen itself, not the op helper: a tone still
    assert reads_as(bar.label, ERROR_RED), colours(bar.label)[:3]
    assert colour_at(bar, 4, bar.height() // 2) == ERROR_RED


def test_notice_is_green_with_a_high_tone(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    open_till(db, win, qtbot)
    [(code, *_rest)] = codes(db, 1)
    scan(qtbot, win, code)
    key(qtbot, Qt.Key.Key_F8)  # park: good news
    idle(qtbot, win)
    bar = win.ctx.messages
    assert "parked" in bar.text() and not bar.error
    assert win.ctx.sounds.played[-1] == "good"
    assert reads_as(bar.label, GOOD_GREEN), colours(bar.label)[:3]
    shot(win, "green-notice")
    assert colour_at(bar, 4, bar.height() // 2) == GOOD_GREEN


# -- 16: the current line ----------------------------------------------------------------------------------------


def row_colour(sell: SellScreen, row: int) -> str:
    rect = sell.table.visualRect(sell.table.model().index(row, 0))
    return colour_at(sell.table.viewport(), rect.x() + 3, rect.center().y())


def test_the_current_line_is_shown_moved_and_named(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    items = codes(db, 3)
    for code, *_rest in items:
        scan(qtbot, win, code)
    assert sell.sale is not None and len(sell.sale.lines) == 3
    qtbot.waitUntil(lambda: sell.highlight is None, timeout=3000)  # the scan's brief flash is over
    # The last scanned line is current and highlighted; the others are not.
    assert sell.selected_line() == sell.sale.lines[2].id
    assert [row_colour(sell, r) == CURRENT_LINE for r in range(3)] == [False, False, True]
    shot(win, "current-line")
    win.resize(1024, 768)
    qtbot.wait(50)
    shot(win, "current-line-1024")
    win.resize(1280, 800)

    # Up moves it from the scan field; F3 names the item it acts on and changes that line.
    key(qtbot, Qt.Key.Key_Up)
    assert [row_colour(sell, r) == CURRENT_LINE for r in range(3)] == [False, True, False]
    headings: list[str] = []

    def qty(value: str) -> Step:
        def drive(dlg: FormDialog) -> None:
            headings.append(dlg.heading.text())
            shot(dlg, "quantity-dialog")
            field = dlg.findChild(QWidget, "quantity")
            field.setText(value)  # type: ignore[union-attr]
            enter(qtbot, field)  # type: ignore[arg-type]

        return FormDialog, drive

    key(qtbot, Qt.Key.Key_F3, qty("2"))
    idle(qtbot, win)
    assert items[1][1] in headings[-1]
    assert [ln.qty for ln in sell.sale.lines] == [1, 2, 1]

    # A tap chooses a line; the next scan makes its own line current again (the tap does not stick).
    rect = sell.table.visualRect(sell.table.model().index(0, 0))
    qtbot.mouseClick(sell.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert sell.selected_line() == sell.sale.lines[0].id and sell.chosen
    win.focus_scan()
    scan(qtbot, win, items[2][0])  # the third item again: its line, quantity 2
    assert sell.selected_line() == sell.sale.lines[2].id and not sell.chosen
    key(qtbot, Qt.Key.Key_F3, qty("3"))
    idle(qtbot, win)
    assert [ln.qty for ln in sell.sale.lines] == [1, 2, 3]
    assert items[2][1] in headings[-1]

    # F5 offers the whole sale first when no line was chosen, the line first when one was (Up/Down or a tap).
    scopes: list[list[Any]] = []

    def look(dlg: DiscountDialog) -> None:
        scopes.append([dlg.scope.itemData(i) for i in range(dlg.scope.count())])
        assert items[2][1] in dlg.scope.itemText(dlg.scope.findData("line"))
        dlg.reject()

    key(qtbot, Qt.Key.Key_F5, (DiscountDialog, look))
    key(qtbot, Qt.Key.Key_Down)  # already the last line: chosen on purpose now
    key(qtbot, Qt.Key.Key_F5, (DiscountDialog, look))
    assert scopes == [["order", "line"], ["line", "order"]]

    # F7 asks once, naming the item: "keep it" changes nothing, "void" voids that line only.
    asked: list[str] = []

    def reply(yes: bool) -> Step:
        def drive(box: QMessageBox) -> None:
            asked.append(box.text())
            if yes:
                enter(qtbot, box)
            else:
                qtbot.keyClick(box, Qt.Key.Key_Escape)

        return QMessageBox, drive

    key(qtbot, Qt.Key.Key_Up)
    key(qtbot, Qt.Key.Key_F7, reply(False))
    idle(qtbot, win)
    assert not any(ln.voided for ln in sell.sale.lines)
    key(qtbot, Qt.Key.Key_F7, reply(True))
    idle(qtbot, win)
    assert [ln.voided for ln in sell.sale.lines] == [False, True, False]
    assert all(items[1][1] in a for a in asked) and len(asked) == 2
    # The voided line cannot stay current: the last live line is.
    assert sell.selected_line() == sell.sale.lines[2].id


# -- 17: remove a payment, void the sale -------------------------------------------------------------------------


def test_remove_a_payment_then_void_the_sale_with_approval(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = one_item_rung_up(db, win, qtbot, over=Decimal("2"))
    assert sell.sale is not None
    sale_id = sell.sale.id

    def pay_part_then_remove(dlg: TenderDialog) -> None:
        dlg.amount.setText("1.00")
        enter(qtbot, dlg.amount)
        qtbot.waitUntil(lambda: len(dlg.sale.payments) == 1, timeout=10_000)
        assert dlg.payments.count() == 1 and dlg.remove.isVisible()
        shot(dlg, "pay-with-a-payment-taken")
        errors = answer((QMessageBox, lambda box: enter(qtbot, box)))
        qtbot.mouseClick(dlg.remove, Qt.MouseButton.LeftButton)
        if errors:
            raise errors[0]
        qtbot.waitUntil(lambda: not dlg.sale.payments, timeout=10_000)
        assert dlg.payments.count() == 0
        dlg.reject()

    key(qtbot, Qt.Key.Key_F10, (TenderDialog, pay_part_then_remove))
    idle(qtbot, win)
    assert sell.sale is not None and not sell.sale.payments

    def void(dlg: FormDialog) -> None:
        reason = dlg.findChild(QWidget, "reason")
        enter(qtbot, reason)  # type: ignore[arg-type]
        assert dlg.isVisible() and dlg.field_error("reason")  # a reason is needed: said under the field
        shot(dlg, "void-sale")
        reason.setText("customer left")  # type: ignore[union-attr]
        enter(qtbot, reason)  # type: ignore[arg-type]
        approve_as_manager(qtbot)  # a cashier may not void a sale: a manager approves

    key(qtbot, Qt.Key.Key_F7, (FormDialog, void), modifier=Qt.KeyboardModifier.ShiftModifier)
    idle(qtbot, win)
    with db() as s:
        assert s.scalar(select(Order.status).where(Order.id == sale_id)) == "voided"
    assert sell.sale is None and "voided" in win.ctx.messages.text()


def test_void_sale_with_a_payment_taken_says_so_before_any_approval(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = one_item_rung_up(db, win, qtbot, over=Decimal("2"))

    def pay_part(dlg: TenderDialog) -> None:
        dlg.amount.setText("1.00")
        enter(qtbot, dlg.amount)
        qtbot.waitUntil(lambda: len(dlg.sale.payments) == 1, timeout=10_000)
        dlg.reject()

    key(qtbot, Qt.Key.Key_F10, (TenderDialog, pay_part))
    idle(qtbot, win)
    said: list[str] = []

    def void(dlg: FormDialog) -> None:
        assert "Payments taken" in dlg.heading.text()
        reason = dlg.findChild(QWidget, "reason")
        reason.setText("customer left")  # type: ignore[union-attr]
        enter(qtbot, reason)  # type: ignore[arg-type]
        qtbot.waitUntil(lambda: dlg.error.isVisible(), timeout=10_000)
        said.append(dlg.error.text())
        assert not any(
            isinstance(w, ApprovalDialog) and w.isVisible() for w in QApplication.topLevelWidgets()
        )
        assert reason.text() == "customer left"  # type: ignore[union-attr]
        dlg.reject()

    key(qtbot, Qt.Key.Key_F7, (FormDialog, void), modifier=Qt.KeyboardModifier.ShiftModifier)
    idle(qtbot, win)
    assert "remove them" in said[0]
    assert sell.sale is not None and sell.sale.status == "open"


# -- 18: quantities ----------------------------------------------------------------------------------------------


def test_quantities_are_plain_numbers_and_big_ones_ask(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    with db() as s:
        plenty = [r for r in codes(db, 40) if stock.on_hand(s, r[3]) >= 12]
        have = stock.on_hand(s, plenty[0][3])
    code = plenty[0][0]
    scan(qtbot, win, code)
    confirms: list[str] = []

    def qty(value: str, *, yes: bool | None = None) -> Step:
        def drive(dlg: FormDialog) -> None:
            field = dlg.findChild(QWidget, "quantity")
            field.setText(value)  # type: ignore[union-attr]
            if yes is None:
                enter(qtbot, field)  # type: ignore[arg-type]
                qtbot.waitUntil(lambda: not dlg.isVisible(), timeout=10_000)
                return

            def box(b: QMessageBox) -> None:
                confirms.append(b.text())
                shot(b, "quantity-confirm")
                qtbot.keyClick(b, Qt.Key.Key_Return if yes else Qt.Key.Key_Escape)

            errors = answer((QMessageBox, box))
            enter(qtbot, field)  # type: ignore[arg-type]
            qtbot.waitUntil(
                lambda: len(confirms) > 0 and (yes or dlg.field_error("qty") != ""), timeout=10_000
            )
            if errors:
                raise errors[0]
            if not yes:
                assert dlg.isVisible() and field.text() == value  # type: ignore[union-attr]
                dlg.reject()

        return FormDialog, drive

    # "1e3" is not a thousand: refused under the field, the dialog stays with the text.
    errors: list[str] = []

    def exponent(dlg: FormDialog) -> None:
        field = dlg.findChild(QWidget, "quantity")
        field.setText("1e3")  # type: ignore[union-attr]
        enter(qtbot, field)  # type: ignore[arg-type]
        errors.append(dlg.field_error("qty"))
        assert dlg.isVisible() and field.text() == "1e3"  # type: ignore[union-attr]
        dlg.reject()

    key(qtbot, Qt.Key.Key_F3, (FormDialog, exponent))
    idle(qtbot, win)
    assert "not a quantity" in errors[0]
    assert sell.sale is not None and sell.sale.lines[0].qty == 1

    # The store's threshold: 6 asks above 5, not above 10 (stock is plenty).
    with db.begin() as s:
        settings.put(s, "sale.confirm_qty_above", "5")
    key(qtbot, Qt.Key.Key_F3, qty("6", yes=False))
    idle(qtbot, win)
    assert sell.sale.lines[0].qty == 1 and "more than 5" in confirms[-1]
    with db.begin() as s:
        settings.put(s, "sale.confirm_qty_above", "10")
    n = len(confirms)
    key(qtbot, Qt.Key.Key_F3, qty("6"))
    idle(qtbot, win)
    assert sell.sale.lines[0].qty == 6 and len(confirms) == n

    # Beyond known stock asks too; confirmed, it is sold.
    with db.begin() as s:
        settings.put(s, "sale.confirm_qty_above", "100000")
    over = f"{(have + 1).normalize():f}"
    key(qtbot, Qt.Key.Key_F3, qty(over, yes=True))
    idle(qtbot, win)
    assert f"Only {have.normalize():f}" in confirms[-1], confirms[-1]
    assert sell.sale.lines[0].qty == have + 1


# -- 19: a dialog keeps its input --------------------------------------------------------------------------------


def test_a_refused_dialog_stays_open_with_its_input(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = one_item_rung_up(db, win, qtbot, over=Decimal("5"))

    def discount(dlg: DiscountDialog) -> None:
        dlg.value.setText("5")
        enter(qtbot, dlg.value)
        # No reason: the dialog stays, the value is kept, the message is under the reason.
        assert dlg.isVisible() and dlg.value.text() == "5"
        assert dlg.field_error("reason") and not dlg.field_error("value")
        shot(dlg, "dialog-keeps-input")
        dlg.reason.setText("loyal customer")
        enter(qtbot, dlg.reason)

    key(qtbot, Qt.Key.Key_F5, (DiscountDialog, discount))
    idle(qtbot, win)
    assert sell.sale is not None and sell.sale.discount_total > 0

    # The path: F4, "abc", Enter. The price dialog stays open and says why, under the price.
    said: list[str] = []

    def price(dlg: FormDialog) -> None:
        field = dlg.findChild(QWidget, "price")
        field.setText("abc")  # type: ignore[union-attr]
        enter(qtbot, field)  # type: ignore[arg-type]
        said.append(dlg.field_error("price"))
        assert dlg.isVisible() and field.text() == "abc"  # type: ignore[union-attr]
        dlg.reject()

    key(qtbot, Qt.Key.Key_F4, (FormDialog, price))
    assert "not an amount" in said[0]
    assert not win.ctx.messages.error


# -- 20: the Pay dialog's due ------------------------------------------------------------------------------------


def test_pay_dialog_due_follows_the_tender(
    qtbot: QtBot, counter: tuple[MainWindow, Path], db: sessionmaker[Session]
) -> None:
    win, _receipt = counter
    sell = open_till(db, win, qtbot)
    odd = [r for r in codes(db, 60) if (r[2] * 100) % 5 != 0]
    scan(qtbot, win, odd[0][0])
    assert sell.sale is not None
    total = sell.sale.total
    cash = round_cash(total, Decimal("0.05"))
    assert cash != total
    seen: dict[str, str] = {}

    def look(dlg: TenderDialog) -> None:
        seen["cash"] = dlg.due.text()
        dlg.kind.setCurrentIndex(dlg.kind.findData("card"))
        seen["card"] = dlg.due.text()
        seen["card amount"] = dlg.amount.text()
        dlg.kind.setCurrentIndex(dlg.kind.findData("cash"))
        seen["cash again"] = dlg.due.text()
        dlg.reject()

    key(qtbot, Qt.Key.Key_F10, (TenderDialog, look))
    assert sell.money(cash) in seen["cash"] and sell.money(cash) in seen["cash again"]
    assert sell.money(total) in seen["card"] and seen["card amount"] == f"{total:.2f}"


def test_one_refusal_told_twice_sounds_once(qtbot: QtBot) -> None:
    """A screen that plays the low tone and then shows the refusal in the bar (which plays it too) beeps once."""
    sounds = Sounds()
    bar = MessageBar(sounds=sounds)
    qtbot.addWidget(bar)
    sounds.bad()
    bar.show_error("Refused")
    assert sounds.played == ["bad"]
    bar.show_notice("Done")
    assert sounds.played == ["bad", "good"]
