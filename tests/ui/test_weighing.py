"""A weighed item keyed by its SKU at the Sell screen is weighed before it is sold (it was sold as 1.000 kg without
asking): the weight dialog names the item, keeps what was typed beside its message when a weight is refused, and
adds the line with the weight given. Through the real main window (pytest-qt, offscreen)."""

from __future__ import annotations

import os
from decimal import Decimal

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Product
from app.services import shifts
from app.services.base import Actor
from tests.ui.test_counter_day import when_shown
from tests.ui.test_sell import idle, sign_in, window  # noqa: F401 - the fixture
from ui.main_window import MainWindow
from ui.weigh import WeightDialog

SHOTS = os.environ.get("WEIGH_SHOTS", "")


def test_a_weighed_item_keyed_by_sku_asks_its_weight(
    qtbot: QtBot,
    window: MainWindow,  # noqa: F811 - the fixture
    db: sessionmaker[Session],
) -> None:
    window.resize(1280, 800)
    sign_in(qtbot, window, "manager", "6666")
    assert window.ctx.user is not None
    with db.begin() as s:
        shifts.open_shift(s, Actor(window.ctx.user.id), Decimal("100.00"))
        item = s.scalars(select(Product).where(Product.weighed.is_(True)).limit(1)).one()
        sku, name, price = item.sku, item.name, item.price
    window.show_screen("sell")
    idle(qtbot, window)
    sell = window.screens["sell"]
    seen: list[tuple[str, str, str]] = []

    def weigh(dlg: WeightDialog) -> None:
        assert name in dlg.windowTitle()
        dlg.field.setText("1e3")  # not a weight: refused beside the field, the dialog stays with the input
        qtbot.keyClick(dlg.field, Qt.Key.Key_Return)
        assert dlg.isVisible() and dlg.field.text() == "1e3"
        seen.append((dlg.windowTitle(), dlg.field_error("weight"), dlg.field.text()))
        if SHOTS:
            qtbot.wait(50)  # the dialog's new size is laid out
            dlg.grab().save(os.path.join(SHOTS, "weigh-refused.png"))
        dlg.field.setText("0,480")
        qtbot.keyClick(dlg.field, Qt.Key.Key_Return)

    errors = when_shown(WeightDialog, weigh)
    window.scan.setText(sku)
    qtbot.keyClick(window.scan, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: bool(seen) or bool(errors), timeout=10_000)
    idle(qtbot, window)
    if errors:
        raise errors[0]
    assert "is not a weight" in seen[0][1]
    qtbot.waitUntil(lambda: sell.sale is not None and len(sell.sale.lines) == 1, timeout=10_000)
    assert sell.sale is not None
    line = sell.sale.lines[0]
    assert (line.sku, line.qty, line.unit) == (sku, Decimal("0.480"), "kg")
    assert line.amount == (price * Decimal("0.480")).quantize(Decimal("0.01"))
    if SHOTS:
        window.grab().save(os.path.join(SHOTS, "weigh-sold.png"))
