"""Sign-in and approval PINs through the real window (pytest-qt, offscreen): nobody is preselected, a PIN typed
before a name is chosen spends nobody's tries, and wrong PINs, at the sign-in screen and at the approval dialog,
lock the person out and stay on the audit trail, though each refusal rolls back the op helper's transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import AuditEntry, Order, StaffUser
from app.services import sales, settings
from app.services.base import now
from tests.ui.test_approval import approval_dialog, counter  # noqa: F401 - the fixture
from tests.ui.test_office import Make, cell, click, office, settle, shoot, type_into  # noqa: F401 - the fixture
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.main_window import MainWindow
from ui.ops import Ops
from ui.scan_router import ScanRouter
from ui.theme import STYLE


@pytest.fixture
def window(qtbot: QtBot, db: sessionmaker[Session]) -> Iterator[MainWindow]:
    from app.services.base import here

    with db() as s:
        h = here(s)
    ctx = AppContext(
        factory=db, ops=Ops(db), router=ScanRouter(), messages=MessageBar(), sounds=Sounds(), here=h
    )
    win = MainWindow(ctx)
    win.setStyleSheet(STYLE)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
    qtbot.waitUntil(lambda: win.signin.users.count() > 0, timeout=10_000)
    yield win
    ctx.ops.shutdown()


def trail(db: sessionmaker[Session], username: str) -> list[str]:
    with db() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.record_id == user.id, AuditEntry.action.like("staff.%"))
                .order_by(AuditEntry.seq)
            )
        )


def locked(db: sessionmaker[Session], username: str) -> bool:
    with db() as s:
        user = s.scalars(select(StaffUser).where(StaffUser.username == username)).one()
        return user.locked_until is not None and user.locked_until > now()


def choose(qtbot: QtBot, win: MainWindow, username: str) -> None:
    """Tap the person's name in the list, as a person does."""
    users = win.signin.users
    for i in range(users.count()):
        if users.item(i).data(Qt.ItemDataRole.UserRole) == username:
            rect = users.visualItemRect(users.item(i))
            qtbot.mouseClick(users.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            assert win.signin.chosen() == username
            return
    raise AssertionError(f"{username} is not in the list")


def enter_pin(qtbot: QtBot, win: MainWindow, pin: str) -> None:
    qtbot.keyClicks(win.signin.pin, pin)
    qtbot.keyClick(win.signin.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(win.ctx.ops.is_idle, timeout=10_000)


def test_nobody_is_preselected_and_a_pin_without_a_name_spends_no_tries(
    qtbot: QtBot, window: MainWindow, db: sessionmaker[Session]
) -> None:
    signin = window.signin
    assert signin.users.currentItem() is None and not signin.users.selectedItems()
    assert signin.chosen() is None
    before = {u: trail(db, u) for u in ("cashier", "associate", "manager")}
    enter_pin(qtbot, window, "1111")
    assert window.ctx.user is None
    assert "Choose your name" in signin.status.text() and "badge" in signin.status.text()
    assert signin.pin.text() == ""
    assert {u: trail(db, u) for u in before} == before  # nobody's tries spent, nothing on the trail
    with db() as s:
        assert not any(s.scalars(select(StaffUser.failed_attempts)))
    qtbot.wait(100)  # let the layout take the message before the picture
    shoot(window, "signin-no-name")
    # Choosing a name and the right PIN signs in; signing out leaves nobody chosen again.
    choose(qtbot, window, "cashier")
    enter_pin(qtbot, window, "1111")
    assert window.ctx.user is not None and window.ctx.user.username == "cashier"
    window.sign_out()
    qtbot.waitUntil(window.ctx.ops.is_idle, timeout=10_000)
    assert signin.chosen() is None


def test_wrong_pins_at_the_sign_in_screen_lock_out_and_stay_on_the_trail(
    qtbot: QtBot, window: MainWindow, db: sessionmaker[Session]
) -> None:
    signin = window.signin
    choose(qtbot, window, "supervisor")
    for left in (4, 3, 2, 1):
        enter_pin(qtbot, window, "0000")
        assert f"Wrong PIN ({left} tries left)" in signin.status.text()
        assert signin.chosen() == "supervisor"  # the name stays chosen for the next try
    enter_pin(qtbot, window, "0000")
    assert signin.status.text().startswith("Too many wrong PINs")
    assert locked(db, "supervisor")
    # The right PIN is refused while locked out; every try is on the trail.
    enter_pin(qtbot, window, "5555")
    assert window.ctx.user is None and signin.status.text().startswith("Too many wrong PINs")
    assert trail(db, "supervisor") == ["staff.sign_in_failed"] * 5 + [
        "staff.locked_out",
        "staff.sign_in_refused",
    ]
    qtbot.wait(100)
    shoot(window, "signin-locked")


def test_a_pin_shorter_than_the_store_minimum_signs_in_with_a_notice(
    qtbot: QtBot, window: MainWindow
) -> None:
    choose(qtbot, window, "manager")
    enter_pin(qtbot, window, "6666")  # the demo's 4-digit manager PIN, set before the 6-digit minimum
    assert window.ctx.user is not None and window.ctx.user.pin_too_short
    assert "shorter than this store's minimum for a manager" in window.ctx.messages.text()


def test_wrong_pins_at_the_approval_dialog_lock_the_manager_out(
    counter: tuple[AppContext, QWidget, str],  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: sessionmaker[Session],
) -> None:
    ctx, _parent, sale_id = counter
    outcome: list[str] = []
    ctx.ops.run(
        lambda s, a: sales.void_sale(s, a, sale_id, "customer left"),
        lambda _r: outcome.append("voided"),
        outcome.append,
    )
    dlg = approval_dialog(qtbot)
    qtbot.keyClicks(dlg.username, "manager")
    for left in (4, 3, 2, 1):
        qtbot.keyClicks(dlg.pin, "1234")
        qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
        qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
        assert f"Wrong PIN ({left} tries left)" in dlg.error.text()
    qtbot.keyClicks(dlg.pin, "1234")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
    assert dlg.error.text().startswith("Too many wrong PINs")
    # Locked: the manager's right PIN, and their badge, are refused too.
    qtbot.keyClicks(dlg.pin, "6666")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
    assert dlg.error.text().startswith("Too many wrong PINs") and dlg.isVisible()
    ctx.router.dispatch("BADGE-0006")
    qtbot.waitUntil(ctx.ops.is_idle, timeout=10_000)
    assert dlg.error.text().startswith("Too many wrong PINs") and dlg.isVisible()
    shoot(dlg, "approval-locked")
    assert locked(db, "manager")
    assert trail(db, "manager") == ["staff.sign_in_failed"] * 5 + [
        "staff.locked_out",
        "staff.sign_in_refused",
    ]
    with db() as s:
        fors = s.scalars(select(AuditEntry.details).where(AuditEntry.action == "staff.sign_in_failed")).all()
        assert [d["for"] for d in fors] == ["approval"] * 5
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: outcome == ["Not approved: nothing was changed."], timeout=5000)
    with db() as s:
        assert s.get(Order, sale_id).status == "open"


def test_office_flags_short_pins_and_the_store_minimum_takes_effect(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: sessionmaker[Session],
) -> None:
    screen, ctx = office("manager")  # signs in with the demo's 4-digit manager PIN
    screen.tabs.setCurrentWidget(screen.staff_gate)
    settle(qtbot, ctx)

    def state(username: str) -> str:
        names = [cell(screen.staff_table, r, 1) for r in range(screen.staff_table.rowCount())]
        return cell(screen.staff_table, names.index(username), 4)

    assert state("manager") == "active · PIN too short: reset it"
    assert state("cashier") == "active"  # 4 digits is enough for a cashier
    shoot(screen, "staff-pin-short")
    names = [cell(screen.staff_table, r, 1) for r in range(screen.staff_table.rowCount())]
    screen.staff_table.selectRow(names.index("manager"))
    type_into(qtbot, screen.reset_pin, "4321")
    click(qtbot, ctx, screen.reset_btn)
    assert "manager's PIN must be at least 6 digits" in ctx.messages.text()
    type_into(qtbot, screen.reset_pin, "246810")
    click(qtbot, ctx, screen.reset_btn)
    settle(qtbot, ctx)
    assert "New PIN set" in ctx.messages.text()
    assert state("manager") == "active"

    # The store asks 5 digits of cashiers: a new cashier with 4 is refused, with 5 accepted.
    with db.begin() as s:
        settings.put(s, "staff.pin_min_length", {**settings.DEFAULTS["staff.pin_min_length"], "cashier": 5})
    type_into(qtbot, screen.new_username, "dana")
    type_into(qtbot, screen.new_display, "Dana Day")
    screen.new_role.setCurrentIndex(screen.new_role.findData("cashier"))
    type_into(qtbot, screen.new_pin, "2468")
    click(qtbot, ctx, screen.add_btn)
    assert "cashier's PIN must be at least 5 digits" in ctx.messages.text()
    type_into(qtbot, screen.new_pin, "24680")
    click(qtbot, ctx, screen.add_btn)
    settle(qtbot, ctx)
    assert state("dana") == "active"
