"""An exchange at the Returns desk through the real main window (pytest-qt, offscreen): the receipt scanned, the item
scanned back with a reason, F9, the dearer replacement scanned in the exchange dialog, the difference taken by
card in Sell's Pay dialog, and the return and the new sale written together. Screenshots of the exchange dialog and
the Pay dialog over the window at 1280x800 and 1024x768 go to $RETURNS_SHOTS (default: the temp folder)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QPushButton, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Order
from app.services import sales, shifts
from app.services.base import Actor
from tests.db.test_exchanges import priced
from tests.db.test_returns import sold
from tests.ui.contexts import idle, main_window, scan, sign_in
from tests.ui.test_returns_screen import shot, when_modal
from ui.approval import ApprovalDialog
from ui.main_window import MainWindow
from ui.screens.exchange_dialog import ExchangeDialog
from ui.screens.returns import ReturnsScreen
from ui.screens.sell_dialogs import TenderDialog
from ui.widgets import FormDialog

Factory = sessionmaker[Session]
D = Decimal


@pytest.fixture
def window(qtbot: QtBot, db: Factory) -> Iterator[MainWindow]:
    with main_window(db, qtbot) as win:
        yield win


@dataclass(frozen=True)
class Desk:
    """A card sale of one item, found at the Returns desk by its receipt, with that item scanned back."""

    screen: ReturnsScreen
    clerk: Actor
    original: str  # the sale's order id
    cheap_code: str
    cheap: Decimal
    dear_code: str
    dear: Decimal


AtTheDesk = Callable[[Literal["cheap", "dear"]], Desk]


@pytest.fixture
def at_the_desk(qtbot: QtBot, window: MainWindow, db: Factory) -> AtTheDesk:
    """The returns clerk signed in with a shift open, two items of different prices, and `at_the_desk(which)`: the
    `which` of them sold by card and brought back to the desk (receipt and item scanned; no reason chosen yet)."""

    def make(which: Literal["cheap", "dear"]) -> Desk:
        sign_in(qtbot, window, "returns", "4444")
        assert window.ctx.user is not None
        clerk = Actor(window.ctx.user.id)
        with db.begin() as s:
            shifts.open_shift(s, clerk, D("100.00"))
        (_, cheap_code, cheap), (_, dear_code, dear) = priced(db)
        code = cheap_code if which == "cheap" else dear_code
        original = sold(db, clerk, [code], [("card", None)])
        with db() as s:
            order = s.get(Order, original)
            assert order is not None
            number = order.number
        window.show_screen("returns")
        screen = window.screens["returns"]
        assert isinstance(screen, ReturnsScreen)
        idle(qtbot, window)
        scan(qtbot, window, f"R-{number}")
        scan(qtbot, window, code)
        assert screen.choices[1].qty == 1
        return Desk(screen, clerk, original, cheap_code, cheap, dear_code, dear)

    return make


def test_exchange_for_a_dearer_item_takes_only_the_difference(
    qtbot: QtBot, window: MainWindow, db: Factory, at_the_desk: AtTheDesk
) -> None:
    desk = at_the_desk("cheap")
    screen, original, dear_code, cheap, dear = (
        desk.screen,
        desk.original,
        desk.dear_code,
        desk.cheap,
        desk.dear,
    )

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

    seen: dict[str, object] = {}

    def pay_by_card(dlg: QWidget) -> None:
        assert isinstance(dlg, TenderDialog)
        seen["due"] = dlg.sale.remaining
        seen["payments"] = [(p.kind, p.amount) for p in dlg.sale.payments]
        for size in ((1280, 800), (1024, 768)):
            window.resize(*size)
            qtbot.wait(30)
            shot(dlg, f"exchange-pay-{size[0]}x{size[1]}")
        dlg.kind.setCurrentIndex(dlg.kind.findData("card"))
        dlg.amount.setText(f"{dlg.sale.remaining:.2f}")
        dlg.last4.setText("4242")
        dlg.approval.setText("OK1234")
        dlg.take_payment()

    def exchange(dlg: QWidget) -> None:
        assert isinstance(dlg, ExchangeDialog)
        dlg.scan.setText(dear_code)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)  # typed (or a keyboard scanner) into the dialog's field
        qtbot.waitUntil(lambda: dlg.quote is not None, timeout=10_000)
        seen["figure"] = dlg.figure.text()
        seen["rows"] = dlg.items.rowCount()
        for size in ((1280, 800), (1024, 768)):
            window.resize(*size)
            qtbot.wait(30)
            shot(window, f"exchange-window-{size[0]}x{size[1]}")
            shot(dlg, f"exchange-dialog-{size[0]}x{size[1]}")
        window.resize(1280, 800)
        when_modal(qtbot, pay_by_card, TenderDialog)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)  # Enter on the empty field settles: the Pay dialog opens

    when_modal(qtbot, exchange, ExchangeDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: screen.original is None, timeout=15_000)
    idle(qtbot, window)
    assert seen["rows"] == 1
    assert seen["figure"] == f"Customer pays {screen.money(dear - cheap)}"
    assert seen["due"] == dear - cheap and seen["payments"] == [("exchange", cheap)]
    with db() as s:
        ret = s.scalar(select(Order).where(Order.channel == "return"))
        assert ret is not None and ret.original_order_id == original
        new = s.scalar(select(Order).where(Order.channel == "counter", Order.id != original))
        assert new is not None and new.status == "completed" and new.total == dear
        assert sorted((p.kind, p.amount) for p in new.payments) == [
            ("card", dear - cheap),
            ("exchange", cheap),
        ]
        assert [(p.kind, p.reference) for p in ret.payments] == [("exchange", new.id)]
    assert "Exchange done" in window.ctx.messages.label.text()


def test_a_web_orders_return_label_scanned_at_the_desk_finds_the_order(
    qtbot: QtBot, window: MainWindow, db: Factory
) -> None:
    from app.db.models import OrderLine
    from app.domain import prefixes
    from app.ids import new_id
    from app.services.base import now
    from tests.db.test_returns import items

    sign_in(qtbot, window, "returns", "4444")
    ((pid, _, price),) = items(db, 1)
    with db.begin() as s:
        line = OrderLine(
            id=new_id(),
            line_no=1,
            product_id=pid,
            sku="X",
            name="Web item",
            qty=D(1),
            unit_price=price,
            tax_class="STD",
            tax_rate=D(0),
            amount=price,
            tax=D(0),
        )
        web = Order(
            id=new_id(),
            number="W-S001-000042",
            channel="web",
            fulfilment="ship",
            status="shipped",
            total=price,
            subtotal=price,
            completed_at=now(),
            lines=[line],
        )
        s.add(web)
        web_id = web.id
    window.show_screen("returns")
    screen = window.screens["returns"]
    assert isinstance(screen, ReturnsScreen)
    idle(qtbot, window)
    scan(qtbot, window, prefixes.return_label("W-S001-000042"))  # the QR the customer printed
    assert screen.original is not None and screen.original.order_id == web_id
    assert not window.ctx.messages.error


def test_exchange_for_a_cheaper_item_refunds_the_difference(
    qtbot: QtBot, window: MainWindow, db: Factory, at_the_desk: AtTheDesk
) -> None:
    desk = at_the_desk("dear")
    screen, cheap_code, cheap, dear = desk.screen, desk.cheap_code, desk.cheap, desk.dear
    screen.choices[1].reason = "wrong_size"
    seen: dict[str, object] = {}

    def exchange(dlg: QWidget) -> None:
        assert isinstance(dlg, ExchangeDialog)
        dlg.scan.setText(cheap_code)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dlg.quote is not None, timeout=10_000)
        seen["figure"] = dlg.figure.text()
        seen["sums"] = dlg.sums.text()
        seen["head"] = " ".join(w.text() for w in dlg.findChildren(QLabel))
        shot(dlg, "exchange-refund-dialog")
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)  # settles: nothing to pay, the difference goes back

    when_modal(qtbot, exchange, ExchangeDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: screen.original is None, timeout=15_000)
    idle(qtbot, window)
    assert seen["figure"] == f"Refund {screen.money(dear - cheap)}"
    assert f"Card {screen.money(dear - cheap)}" in str(seen["sums"])
    assert "1 item comes back" in str(seen["head"])
    with db() as s:
        ret = s.scalar(select(Order).where(Order.channel == "return"))
        assert ret is not None
        assert sorted((p.kind, p.amount) for p in ret.payments) == [
            ("card", dear - cheap),
            ("exchange", cheap),
        ]


def _left_behind(db: Factory, original: str) -> list[Order]:
    with db() as s:
        return list(
            s.scalars(
                select(Order).where(Order.channel == "counter", Order.id != original, Order.status == "open")
            )
        )


def test_back_from_an_exchange_voids_its_items_and_commits_nothing_of_the_return(
    qtbot: QtBot, window: MainWindow, db: Factory, at_the_desk: AtTheDesk
) -> None:
    """The defect: Back from the exchange after scanning a new item left it on an open sale, which Sell then
    took as its own next sale. Now Back voids that sale (a manager approves, as any whole-sale void with items),
    with the void's audit entry; no return is written, and Sell starts afresh."""
    desk = at_the_desk("cheap")
    screen, clerk, original, dear_code = desk.screen, desk.clerk, desk.original, desk.dear_code
    screen.choices[1].reason = "wrong_size"
    seen: dict[str, object] = {}

    def manager_approves(dlg: QWidget) -> None:
        assert isinstance(dlg, ApprovalDialog)
        # The manager is told why: the exchange was given up, not a sale at Sell.
        seen["asked"] = any(
            "exchange not made at the Returns desk" in label.text() for label in dlg.findChildren(QLabel)
        )
        dlg.username.setText("manager")
        dlg.pin.setText("6666")
        dlg._approve_pin()

    def exchange(dlg: QWidget) -> None:
        assert isinstance(dlg, ExchangeDialog)
        dlg.finished.connect(lambda r: seen.__setitem__("finished", r))
        dlg.scan.setText(dear_code)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dlg.quote is not None, timeout=10_000)
        seen["sale"] = dlg.sale.id
        back = next(b for b in dlg.findChildren(QPushButton) if b.text().startswith("Back"))
        when_modal(qtbot, manager_approves, ApprovalDialog)
        back.click()

    when_modal(qtbot, exchange, ExchangeDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: "finished" in seen, timeout=15_000)
    idle(qtbot, window)
    assert _left_behind(db, original) == []  # the defect: the new item stayed on an open sale
    assert seen["asked"] and seen["finished"] == 0  # rejected: the desk is back at the return
    assert screen.original is not None and screen.original.order_id == original
    assert screen.exchange_sale is None
    with db() as s:
        left = s.get(Order, str(seen["sale"]))
        assert left is not None and left.status == "voided" and left.payments == []
        assert s.scalar(select(Order).where(Order.channel == "return")) is None
        # The clerk is told where the scanned items went.
        assert (
            f"No exchange made: sale {left.number} with its new items was voided"
            in window.ctx.messages.text()
        )
        voids = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "sale.voided")))
        assert [(v.record_id, v.details["reason"]) for v in voids] == [
            (left.id, "exchange not made at the Returns desk")
        ]
        assert voids[0].details["approval"]
    with db.begin() as s:
        fresh = sales.start_sale(s, clerk)  # the next sale at Sell: nothing of the exchange on it
        assert fresh.id != seen["sale"] and fresh.lines == []


def test_esc_from_an_exchange_whose_payment_was_given_up_voids_it_too(
    qtbot: QtBot, window: MainWindow, db: Factory, at_the_desk: AtTheDesk
) -> None:
    """Pay dialog opened (the return's credit held on the sale) and given up, then Esc: the credit comes off and
    the sale is voided in the same transaction; nothing of the return is written."""
    desk = at_the_desk("cheap")
    screen, original, dear_code = desk.screen, desk.original, desk.dear_code
    screen.choices[1].reason = "wrong_size"
    seen: dict[str, object] = {}

    def manager_approves(dlg: QWidget) -> None:
        assert isinstance(dlg, ApprovalDialog)
        dlg.username.setText("manager")
        dlg.pin.setText("6666")
        dlg._approve_pin()

    def give_up(dlg: QWidget) -> None:
        assert isinstance(dlg, TenderDialog)
        seen["held"] = [(p.kind, p.amount) for p in dlg.sale.payments]
        dlg.reject()

    def exchange(dlg: QWidget) -> None:
        assert isinstance(dlg, ExchangeDialog)
        dlg.finished.connect(lambda r: seen.__setitem__("finished", r))
        dlg.scan.setText(dear_code)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)
        qtbot.waitUntil(lambda: dlg.quote is not None, timeout=10_000)
        seen["sale"] = dlg.sale.id
        when_modal(qtbot, give_up, TenderDialog)
        qtbot.keyClick(dlg.scan, Qt.Key.Key_Return)  # settle: the Pay dialog, given up
        qtbot.waitUntil(lambda: "held" in seen, timeout=10_000)
        qtbot.waitUntil(window.ctx.ops.is_idle, timeout=10_000)
        when_modal(qtbot, manager_approves, ApprovalDialog)
        qtbot.keyClick(dlg, Qt.Key.Key_Escape)

    when_modal(qtbot, exchange, ExchangeDialog)
    qtbot.keyClick(window.scan, Qt.Key.Key_F9)
    qtbot.waitUntil(lambda: "finished" in seen, timeout=15_000)
    idle(qtbot, window)
    assert _left_behind(db, original) == []
    assert seen["held"] and seen["finished"] == 0
    assert screen.original is not None and screen.exchange_sale is None
    with db() as s:
        left = s.get(Order, str(seen["sale"]))
        assert left is not None and left.status == "voided" and left.payments == []
        assert s.scalar(select(Order).where(Order.channel == "return")) is None
