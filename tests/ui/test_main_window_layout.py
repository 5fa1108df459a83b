"""The main window's top row at the two sizes a till has: the scan field's hint shows whole, and switching
workstations moves neither the workstation buttons nor the scan field (the current one is marked by colour, not by
bold type, which would widen it)."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from tests.ui.contexts import idle, main_window, sign_in
from ui.main_window import WORKSTATIONS

Factory = sessionmaker[Session]


@pytest.mark.parametrize(("size", "hint"), [((1024, 768), "Scan, or type a code"), ((1280, 800), None)])
def test_scan_hint_whole_and_nothing_moves_on_a_switch(
    db: Factory, qtbot: QtBot, size: tuple[int, int], hint: str | None
) -> None:
    with main_window(db, qtbot, size=size) as win:
        sign_in(qtbot, win, "manager", "6666")
        qtbot.wait(20)
        scan = win.scan
        shown = scan.placeholderText()
        assert shown == (hint or "Scan, or type a code + Enter")
        assert scan.fontMetrics().horizontalAdvance(shown) <= scan.width() - 32  # not cut off
        places: set[tuple[tuple[int, int], ...]] = set()
        for key, _label in WORKSTATIONS:
            win.show_screen(key)
            idle(qtbot, win)
            qtbot.wait(10)
            places.add(tuple((b.x(), b.width()) for b in [scan, *win.nav.values()]))
        assert len(places) == 1, places


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800)])
def test_a_message_coming_and_going_moves_nothing_under_it(
    db: Factory, qtbot: QtBot, size: tuple[int, int]
) -> None:
    """The message bar's room is kept: a warning at a scan, and the next scan acknowledging it, used to push the
    whole screen down and back (a button moved under a finger, and the window was laid out and painted again).
    An error with a notice under it still takes the room of both."""
    with main_window(db, qtbot, size=size) as win:
        sign_in(qtbot, win, "cashier", "1111")
        win.show_screen("sell")
        idle(qtbot, win)
        qtbot.wait(10)
        sell = win.screens["sell"]

        def places() -> tuple[tuple[int, int, int, int], ...]:
            widgets = [win.stack, sell.table, sell.total, *sell.buttons.values(), sell.pay_button]
            return tuple(
                (*w.mapTo(win, w.rect().topLeft()).toTuple(), w.width(), w.height()) for w in widgets
            )

        before = places()
        for show in (
            lambda: win.ctx.messages.show_warning(
                "Only 0 of Oat Milk 1 l in stock here (none anywhere); this sale has 1. Check the count; F3 changes it."
            ),
            win.ctx.messages.clear,
            lambda: win.ctx.messages.show_error("Not a code this store knows: 123"),
            win.ctx.messages.clear,
            lambda: win.ctx.messages.show_notice("Sale S001-01-000001 complete. Change due: €1.50"),
            win.ctx.messages.clear,
        ):
            show()
            qtbot.wait(10)
            assert places() == before
