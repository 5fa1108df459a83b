"""The manager approval dialog with pytest-qt: a cashier voids a sale, which needs a supervisor; the dialog names the
action, refuses a cashier's PIN and a non-badge scan, takes a manager's PIN or badge, and the sale is voided with
the approval naming both people. Cancelling changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Approval, Order, Product, StaffUser
from app.services import sales, shifts, staff
from app.services.base import Actor, here
from tests.ui.test_office import shoot
from ui.approval import ApprovalDialog, ask_approval
from ui.context import AppContext
from ui.feedback import MessageBar, Sounds
from ui.ops import Ops
from ui.scan_router import ScanRouter
from ui.theme import STYLE


@pytest.fixture
def counter(db: sessionmaker[Session], qtbot: QtBot) -> Iterator[tuple[AppContext, QWidget, str]]:
    """A cashier signed in with an open sale of one item, and the op helper wired to the approval dialog."""
    with db.begin() as s:
        user = staff.sign_in(s, "cashier", "1111")
        where = here(s)
        actor = Actor(user.id)
        if shifts.current_shift(s) is None:
            shifts.open_shift(s, actor, Decimal("100"))
        sale = sales.start_sale(s, actor)
        product = s.scalars(select(Product).where(Product.weighed.is_(False)).limit(1)).one()
        sales.add_product(s, actor, sale.id, product.id)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    app.setStyleSheet(STYLE)
    ops = Ops(db)
    ops.actor = actor
    router = ScanRouter()
    ctx = AppContext(db, ops, router, MessageBar(), Sounds(), where, user=user)
    parent = QWidget()
    parent.resize(900, 600)
    qtbot.addWidget(parent)
    parent.show()
    ops.ask_approval = ask_approval(ctx, parent)
    yield ctx, parent, sale.id
    ops.shutdown()


def approval_dialog(qtbot: QtBot) -> ApprovalDialog:
    """The approval dialog once it shows (it opens window-modal, without blocking)."""
    found: list[ApprovalDialog] = []

    def shown() -> bool:
        found[:] = [
            w for w in QApplication.topLevelWidgets() if isinstance(w, ApprovalDialog) and w.isVisible()
        ]
        return bool(found)

    qtbot.waitUntil(shown, timeout=5000)
    return found[0]


def _void(ctx: AppContext, sale_id: str, outcome: list[str]) -> None:
    ctx.ops.run(
        lambda s, a: sales.void_sale(s, a, sale_id, "customer left"),
        lambda _r: outcome.append("voided"),
        outcome.append,
    )


def test_a_manager_pin_approves_one_void_and_the_approval_names_both(
    counter: tuple[AppContext, QWidget, str], qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    ctx, _parent, sale_id = counter
    outcome: list[str] = []
    _void(ctx, sale_id, outcome)
    dlg = approval_dialog(qtbot)
    assert dlg.windowTitle() == "Manager approval"
    # A cashier cannot approve: the dialog says why and stays open.
    qtbot.keyClicks(dlg.username, "cashier")
    qtbot.keyClicks(dlg.pin, "1111")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: dlg.error.text() != "", timeout=5000)
    assert dlg.isVisible() and dlg.pin.text() == ""
    qtbot.wait(100)  # let the layout take the two-line error before the picture
    shoot(dlg, "approval-refused")
    dlg.username.clear()
    qtbot.keyClicks(dlg.username, "manager")
    qtbot.keyClicks(dlg.pin, "6666")
    qtbot.keyClick(dlg.pin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: outcome == ["voided"], timeout=5000)
    assert not dlg.isVisible()
    with db() as s:
        assert s.get(Order, sale_id).status == "voided"
        approval = s.scalars(select(Approval).order_by(Approval.created_at.desc())).first()
        names = dict(s.execute(select(StaffUser.id, StaffUser.username)).all())
        assert approval is not None and approval.permission == "sale_void"
        assert (names[approval.approved_by], names[approval.requested_by]) == ("manager", "cashier")
        assert approval.used_at is not None


def test_a_badge_scan_approves_and_cancel_changes_nothing(
    counter: tuple[AppContext, QWidget, str], qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    ctx, _parent, sale_id = counter
    outcome: list[str] = []
    _void(ctx, sale_id, outcome)
    dlg = approval_dialog(qtbot)
    qtbot.keyClick(dlg, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: outcome == ["Not approved: nothing was changed."], timeout=5000)
    with db() as s:
        assert s.get(Order, sale_id).status == "open"

    outcome.clear()
    _void(ctx, sale_id, outcome)
    dlg = approval_dialog(qtbot)
    ctx.router.dispatch("4006381333931")  # a product, not a badge
    assert "not a staff badge" in dlg.error.text()
    ctx.router.dispatch("BADGE-0006")  # the manager's badge
    qtbot.waitUntil(lambda: outcome == ["voided"], timeout=5000)
    with db() as s:
        assert s.get(Order, sale_id).status == "voided"
