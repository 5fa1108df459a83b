"""The first-run wizard's enrol path against a real central store served on loopback: a wrong code, an address
nobody answers and a bad address each give a message on the page (never a traceback, nothing set up); the right code
enrols, the first sync brings the catalog, and with no staff at the central the wizard asks for the first manager,
whom the central then takes. A second till of the same store gets that staff with its first sync: no manager page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Paths, resolve
from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import Product
from app.services import first_run, staff
from sync.client import Client, load_token
from tests.sync.fleet import Hub
from tests.sync.test_loopback import served  # noqa: F401 - the fixture
from ui.first_run import FirstRunWizard, Host
from ui.first_run_pages import DEVICES, MANAGER, STORE

Factory = sessionmaker[Session]


@pytest.fixture
def tills(tmp_path: Path) -> Iterator[list[tuple[Factory, Paths]]]:
    made: list[tuple[Factory, Paths]] = []
    engines = []
    for name in ("till1", "till2"):
        paths = resolve(str(tmp_path / name))
        engine = make_engine(paths.database_url)
        migrate(engine)
        engines.append(engine)
        made.append((make_sessionmaker(engine), paths))
    yield made
    for engine in engines:
        engine.dispose()


def wizard_on(qtbot: QtBot, factory: Factory, paths: Paths) -> FirstRunWizard:
    with factory() as s:
        state = first_run.state(s)
    wizard = FirstRunWizard(Host(factory, paths, None), state)
    qtbot.addWidget(wizard)
    wizard.resize(1024, 768)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def try_enrol(qtbot: QtBot, wizard: FirstRunWizard, url: str, code: str) -> None:
    page = wizard.store_page
    page.central.setChecked(True)
    page.url.setText(url)
    page.code.setText(code)
    wizard.next()
    qtbot.waitUntil(lambda: not wizard.background.busy, timeout=30000)


def test_the_wizard_enrols_with_the_central_and_adds_the_first_manager(
    served: tuple[Hub, str],  # noqa: F811 - the fixture
    tills: list[tuple[Factory, Paths]],
    qtbot: QtBot,
    tmp_path: Path,
) -> None:
    hub, base = served
    factory, paths = tills[0]
    wizard = wizard_on(qtbot, factory, paths)
    message = wizard.store_page.message

    try_enrol(qtbot, wizard, base, "WRONG-CODE-0000")
    assert wizard.currentId() == STORE and "unknown, used or expired" in message.text()
    wizard.grab().save(str(tmp_path / "first-run-wrong-code.png"))
    try_enrol(qtbot, wizard, "http://127.0.0.1:9", "ABCD")
    assert "cannot reach the central store" in message.text() and "Check the address" in message.text()
    try_enrol(qtbot, wizard, "ftp://hq", "ABCD")
    assert "not an http" in message.text()
    with factory() as s:
        assert not first_run.state(s).set_up

    code = hub.enrolment_code("S1", "T7")
    try_enrol(qtbot, wizard, base, code)
    qtbot.waitUntil(lambda: wizard.currentId() == DEVICES, timeout=30000)
    assert wizard.state.enrolled and "S1" in wizard.state.store and not wizard.state.has_staff
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == 3  # the first sync brought the catalog
    assert wizard.devices_page.nextId() == MANAGER
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentId() == MANAGER)
    page = wizard.manager_page
    qtbot.keyClicks(page.name, "Dana Reyes")
    qtbot.keyClicks(page.pin, "1234")  # an admin's PIN is 6 digits at least by default
    qtbot.keyClicks(page.confirm, "1234")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    assert "at least 6 digits" in page.message.text()
    qtbot.keyClicks(page.pin, "975310")
    qtbot.keyClicks(page.confirm, "975310")
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not wizard.isVisible())

    # The central takes the first manager made here (the till's bootstrap user), with nothing refused.
    from sync.agent import Syncer

    token = load_token(paths.token_file)
    assert token
    with Client(base, token) as client:
        report = Syncer(factory, client).sync_once()
    assert report.pushed >= 1 and report.rejected == 0

    # A second till of the store: the manager comes with its first sync, so the wizard does not ask for one.
    factory2, paths2 = tills[1]
    second = wizard_on(qtbot, factory2, paths2)
    try_enrol(qtbot, second, base, hub.enrolment_code("S1", "T8"))
    qtbot.waitUntil(lambda: second.currentId() == DEVICES, timeout=30000)
    assert second.state.has_staff and second.devices_page.nextId() == -1
    with factory2.begin() as s:
        assert staff.sign_in(s, "dana.reyes", "975310").role == "admin"
