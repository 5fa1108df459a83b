"""The store's pricing rule (tax mode, tax rounding, cash rounding) printed on its Z report, and shown in Office."""

from __future__ import annotations

from decimal import Decimal

from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import PrintJob, Store
from app.services import sales, shifts
from app.services.base import Actor
from tests.conftest import user_id
from tests.ui.test_office import Make, office, settle, shoot  # noqa: F401 - office is the fixture

RULE = "Tax added to prices; tax rounded per rate; cash rounded to 0.05"


def _store_rule(db: sessionmaker[Session]) -> None:
    with db.begin() as s:
        store = s.scalars(select(Store)).one()
        store.tax_mode, store.tax_rounding, store.cash_rounding = "exclusive", "rate", Decimal("0.05")


def test_the_z_report_prints_the_stores_pricing_rule(db: sessionmaker[Session]) -> None:
    _store_rule(db)
    manager = Actor(user_id(db, "manager"))
    with db.begin() as s:
        shifts.open_shift(s, manager, Decimal("100"))
        assert sales.pricing_rule(s) == RULE
    with db.begin() as s:
        z = shifts.close_shift(s, manager, {Decimal("50"): 2})
    with db() as s:
        job = s.scalars(select(PrintJob).where(PrintJob.kind == "z_report")).one()
    texts = [b.get("text", "") for b in job.document["blocks"]]
    assert RULE in texts, (z, texts)


def test_office_shows_the_stores_pricing_rule(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: sessionmaker[Session],
) -> None:
    _store_rule(db)
    screen, ctx = office("manager")
    screen.tabs.setCurrentWidget(screen.sync_page)
    settle(qtbot, ctx)
    qtbot.waitUntil(lambda: screen.pricing_rule.text() == RULE, timeout=10_000)
    assert screen.pricing_rule.isVisible()
    shoot(screen, "pricing-rule")
