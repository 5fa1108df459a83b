"""The first-run wizard (ui/first_run.py) on a fresh data folder: the demo store, the devices with a real test page,
the first manager's PIN rule; run again from Office > Devices on a set-up till (devices only, as the signed-in
person); and `counterline` without --demo starting it where the database has no store. The enrol path against a
real central store is tests/sync/test_first_run_enrol.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit, QWizard
from pytestqt.qtbot import QtBot
from shiboken6 import isValid
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Paths, resolve
from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import AuditEntry, StaffUser
from app.services import first_run, settings
from tests.ui.test_office import Make, click, office, settle  # noqa: F401 - office is a fixture
from ui.first_run import FirstRunWizard, Host
from ui.first_run_pages import DEVICES, MANAGER, STORE
from ui.print_worker import PrintWorker

Factory = sessionmaker[Session]


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Factory, Paths]]:
    paths = resolve(str(tmp_path / "data"))
    engine = make_engine(paths.database_url)
    migrate(engine)
    yield make_sessionmaker(engine), paths
    engine.dispose()


def wizard_on(qtbot: QtBot, factory: Factory, paths: Paths, printer: object = None) -> FirstRunWizard:
    with factory() as s:
        state = first_run.state(s)
    wizard = FirstRunWizard(Host(factory, paths, printer), state)
    qtbot.addWidget(wizard)
    wizard.resize(1024, 768)
    wizard.show()
    qtbot.waitExposed(wizard)
    return wizard


def field(form: object, name: str) -> QLineEdit | QComboBox:
    key, _dot, name_in_json = name.rpartition(".")
    for spec, widget in form.inputs[key]:  # type: ignore[attr-defined]
        if spec.key == name_in_json:
            return widget  # type: ignore[no-any-return]
    raise AssertionError(name)


def finish(wizard: FirstRunWizard) -> None:
    wizard.button(QWizard.WizardButton.FinishButton).click()


def test_the_demo_path_sets_up_the_store_tests_a_printer_and_saves_the_devices(
    fresh: tuple[Factory, Paths], qtbot: QtBot, tmp_path: Path
) -> None:
    factory, paths = fresh
    worker = PrintWorker(factory, default_folder=str(paths.print_dir))
    worker.start()
    try:
        wizard = wizard_on(qtbot, factory, paths, worker)
        assert wizard.currentId() == STORE and wizard.store_page.demo.isChecked()
        wizard.next()  # "Set up": the demo store
        qtbot.waitUntil(
            lambda: wizard.currentId() == DEVICES, timeout=120000
        )  # the demo store: 2,400 products
        assert wizard.state.set_up and wizard.state.has_staff  # the demo's staff came with it
        assert wizard.devices_page.nextId() == -1  # so no manager page
        # The receipt printer as a folder of our choosing; its Test button prints a real test page there.
        out = tmp_path / "receipts"
        form = wizard.devices_page.form
        path = field(form, "devices.receipt_printer.path")
        assert isinstance(path, QLineEdit)
        qtbot.keyClicks(path, str(out))
        form.test_buttons["devices.receipt_printer"].click()
        qtbot.waitUntil(lambda: out.exists() and any(out.iterdir()), timeout=20000)
        assert "Test page sent" in wizard.devices_page.message.text()
        # The scale: none here says so; a serial one without a port says what is missing.
        form.test_buttons["devices.scale"].click()
        assert "No scale" in wizard.devices_page.message.text()
        kind = field(form, "devices.scale.type")
        assert isinstance(kind, QComboBox)
        kind.setCurrentText("serial")
        kind.activated.emit(kind.currentIndex())
        form.test_buttons["devices.scale"].click()
        assert "give the serial port" in wizard.devices_page.message.text()
        # A wedge scanner is tested by scanning into the box.
        form.test_buttons["devices.scanner"].click()
        qtbot.keyClicks(wizard.devices_page.scan_box, "4006381333931")
        qtbot.keyClick(wizard.devices_page.scan_box, "\r")
        assert "GTIN-13 4006381333931" in wizard.devices_page.message.text()
        wizard.grab().save(str(tmp_path / "first-run-devices.png"))
        kind.setCurrentText("none")
        kind.activated.emit(kind.currentIndex())
        finish(wizard)
        qtbot.waitUntil(lambda: not wizard.isVisible())
        assert wizard.result() == 1
    finally:
        worker.stop()
    with factory() as s:
        assert settings.get(s, "devices.receipt_printer")["path"] == str(out)
        assert settings.get(s, "devices.scale") == {"type": "none"}
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "settings.devices_saved"))
        assert entry is not None and entry.user_id is None  # the first run's, before anyone could sign in


def _store_without_staff(factory: Factory) -> None:
    """What an enrolment into a store with no staff yet leaves: a store and terminal, nobody to sign in."""
    from app import demo

    with factory.begin() as s:
        demo.seed(s, products=60)
        s.execute(delete(StaffUser))


def test_the_first_manager_needs_the_stores_pin_length_and_the_same_pin_twice(
    fresh: tuple[Factory, Paths], qtbot: QtBot, tmp_path: Path
) -> None:
    factory, paths = fresh
    _store_without_staff(factory)
    with factory.begin() as s:
        settings.put(s, "staff.pin_min_length", {"admin": 8})  # the store's rule: a manager's PIN is 8 digits
    wizard = wizard_on(qtbot, factory, paths)
    assert wizard.currentId() == DEVICES  # set up already: straight to the devices
    assert wizard.devices_page.nextId() == MANAGER
    wizard.next()
    qtbot.waitUntil(lambda: wizard.currentId() == MANAGER)
    page = wizard.manager_page
    assert "at least 8 digits" in page.subTitle()
    wizard.grab().save(str(tmp_path / "first-run-manager.png"))
    qtbot.keyClicks(page.name, "Morgan Lee")
    qtbot.keyClicks(page.pin, "1234567")
    qtbot.keyClicks(page.confirm, "1234567")
    finish(wizard)
    assert wizard.currentId() == MANAGER and "at least 8 digits" in page.message.text()
    assert page.pin.text() == ""  # a refused PIN is typed again
    qtbot.keyClicks(page.pin, "24681357")
    qtbot.keyClicks(page.confirm, "24681358")
    finish(wizard)
    assert "not the same" in page.message.text()
    with factory() as s:
        assert s.scalar(select(StaffUser.id)) is None
    page.pin.clear()
    page.confirm.clear()
    qtbot.keyClicks(page.pin, "24681357")
    qtbot.keyClicks(page.confirm, "24681357")
    finish(wizard)
    qtbot.waitUntil(lambda: not wizard.isVisible())
    from app.services import staff

    with factory.begin() as s:
        user = staff.sign_in(s, "morgan.lee", "24681357")
    assert user.role == "admin" and user.display_name == "Morgan Lee"


def test_run_again_from_office_asks_for_the_devices_only_and_saves_them_as_the_person(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: Factory,
    tmp_path: Path,
) -> None:
    screen, ctx = office("admin")
    ctx.paths = resolve(str(tmp_path / "data"))
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    wizard = screen.run_setup_again()
    assert isinstance(wizard, FirstRunWizard)
    qtbot.waitExposed(wizard)
    assert wizard.currentId() == DEVICES and wizard.devices_page.nextId() == -1  # no store, no manager page
    pin = field(wizard.devices_page.form, "devices.drawer.pin")
    assert isinstance(pin, QComboBox)
    pin.setCurrentText("5")
    pin.activated.emit(pin.currentIndex())
    wizard.resize(1024, 768)
    wizard.grab().save(str(tmp_path / "first-run-again.png"))
    finish(wizard)  # saved through the op helper as admin
    qtbot.waitUntil(lambda: not isValid(wizard))  # closed (and deleted: it is Office's for its run only)
    settle(qtbot, ctx)
    with db() as s:
        assert settings.get(s, "devices.drawer")["pin"] == 5
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "settings.devices_saved")
            .order_by(AuditEntry.seq.desc())
        ).first()
        assert entry is not None and entry.user_id == ctx.user.id  # type: ignore[union-attr]
    assert screen.device_edits["devices.drawer"].toPlainText().count('"pin": 5') == 1  # the tab shows it


def test_a_cashier_cannot_save_devices_through_the_wizard_run_again(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: Factory,
    tmp_path: Path,
) -> None:
    screen, ctx = office("cashier")
    ctx.paths = resolve(str(tmp_path / "data"))
    with db() as s:
        before = settings.get(s, "devices.drawer")
    wizard = screen.run_setup_again()
    qtbot.waitExposed(wizard)
    pin = field(wizard.devices_page.form, "devices.drawer.pin")
    assert isinstance(pin, QComboBox)
    pin.setCurrentText("5")
    pin.activated.emit(pin.currentIndex())
    finish(wizard)
    settle(qtbot, ctx)
    assert wizard.isVisible() and wizard.devices_page.message.text()
    with db() as s:
        assert settings.get(s, "devices.drawer") == before


def test_counterline_without_demo_on_an_empty_database_opens_the_wizard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import ui.first_run
    from ui.main import main as counterline

    seen: list[Paths] = []

    def closed_at_once(_factory: Factory, paths: Paths) -> bool:
        seen.append(paths)
        return False  # the person closed the wizard

    monkeypatch.setattr(ui.first_run, "run_first_run", closed_at_once)
    assert counterline(["--data-dir", str(tmp_path / "new")]) == 2
    assert seen and "no store yet" in capsys.readouterr().err


def test_the_first_run_service_checks_what_it_is_given(fresh: tuple[Factory, Paths]) -> None:
    from app.services.base import UserError

    factory, _paths = fresh
    with factory.begin() as s:
        with pytest.raises(UserError, match="Not a device setting"):
            first_run.save_devices(s, None, {"sync.central_url": {"x": 1}})
        with pytest.raises(UserError, match="an object"):
            first_run.save_devices(s, None, {"devices.scale": "serial"})
        with pytest.raises(UserError, match="name"):
            first_run.create_first_manager(s, "   ", "123456", "123456")
    with factory.begin() as s:
        first_run.set_up_demo(s)
    with factory.begin() as s:
        with pytest.raises(UserError, match="set up already"):
            first_run.set_up_demo(s)
        with pytest.raises(UserError, match="has staff already"):
            first_run.create_first_manager(s, "Second Person", "123456", "123456")
    assert first_run.username_for("  Zoë O'Brien ") == "zoe.o.brien"
