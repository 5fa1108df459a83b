"""Office > Devices as a form (ui/screens/office/devices_form.py): fields per device over the raw JSON, a Test button
per device, Save as before. Driven through the real Office screen on a copy of the demo store."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from escpos.printer import Dummy
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy.orm import Session, sessionmaker

from app.services import settings
from tests.ui.test_office import Make, click, office, settle  # noqa: F401 - office is a fixture
from tests.waiting import wait_for
from ui.print_worker import PrintWorker


def field(screen: object, name: str) -> QLineEdit | QComboBox:
    key, _dot, name_in_json = name.rpartition(".")
    for spec, widget in screen.devices_form.inputs[key]:  # type: ignore[attr-defined]
        if spec.key == name_in_json:
            return widget  # type: ignore[no-any-return]
    raise AssertionError(name)


def test_the_devices_form_saves_fields_keeps_rare_json_and_tests_the_drawer(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    out = tmp_path / "receipt.bin"
    out.write_bytes(b"")
    with db.begin() as s:
        settings.put(s, "devices.scanner", {"type": "wedge", "prefix": "", "gs_substitute": "~"})
        settings.put(s, "devices.receipt_printer", {"type": "file", "path": str(out), "drawer_pin": 2})
    screen, ctx = office("admin")
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    form = screen.devices_form
    assert field(screen, "devices.receipt_printer.type").currentText() == "file"  # type: ignore[union-attr]
    assert field(screen, "devices.receipt_printer.path").text() == str(out)  # type: ignore[union-attr]
    assert not field(screen, "devices.receipt_printer.host").isVisible()  # a file printer has no address

    prefix = field(screen, "devices.scanner.prefix")
    qtbot.keyClicks(prefix, "]X")
    gap = field(screen, "devices.scanner.max_gap_ms")
    gap.clear()  # type: ignore[union-attr]
    qtbot.keyClicks(gap, "80")
    pin = field(screen, "devices.drawer.pin")
    assert isinstance(pin, QComboBox)
    pin.setCurrentText("5")
    pin.activated.emit(pin.currentIndex())  # as a person's choice does
    # The serial fields appear when the scanner becomes a serial one.
    kind = field(screen, "devices.scanner.type")
    assert isinstance(kind, QComboBox)
    assert not field(screen, "devices.scanner.port").isVisible()
    kind.setCurrentText("serial")
    kind.activated.emit(kind.currentIndex())
    assert field(screen, "devices.scanner.port").isVisible()
    kind.setCurrentText("wedge")
    kind.activated.emit(kind.currentIndex())
    screen.resize(1280, 800)
    screen.grab().save(str(Path(tempfile.gettempdir()) / "devices.png"))

    click(qtbot, ctx, screen.save_devices_btn)
    with db() as s:
        assert settings.get(s, "devices.scanner") == {
            "type": "wedge",
            "prefix": "]X",
            "gs_substitute": "~",  # only in the raw JSON: kept
            "terminator": "enter",
            "max_gap_ms": 80,
        }
        assert settings.get(s, "devices.drawer")["pin"] == 5
    assert json.loads(form.editors["devices.drawer"].toPlainText())["pin"] == 5
    # In use at once, no restart: the router strips the new prefix and waits the new key gap.
    assert (ctx.router.wedge.prefix, ctx.router.max_gap) == ("]X", 0.08)
    assert "in use" in ctx.messages.text()
    ctx.messages.clear()

    # A key gap that is no number is refused with a message; nothing is saved.
    gap.clear()  # type: ignore[union-attr]
    qtbot.keyClicks(gap, "-5")
    click(qtbot, ctx, screen.save_devices_btn)
    assert "Nothing was saved" in ctx.messages.text()
    with db() as s:
        assert settings.get(s, "devices.scanner")["max_gap_ms"] == 80
    ctx.messages.clear()

    # Raw JSON typed by hand fills the fields.
    form.editors["devices.scanner"].setPlainText(json.dumps({"type": "camera", "camera": "0"}))
    assert field(screen, "devices.scanner.camera").isVisible()

    worker = PrintWorker(db)
    worker.start()
    ctx.services["printer"] = worker
    try:
        click(qtbot, ctx, form.test_buttons["devices.drawer"])  # the drawer's Test button
        wait_for(lambda: out.stat().st_size > 0)
    finally:
        worker.stop()
    kick = Dummy()
    kick.cashdraw(5)
    assert out.read_bytes() == bytes(kick.output)  # pin 5 from the drawer's own setting, not the printer's 2


def test_the_label_printers_test_button_prints_a_label_on_it(
    office: Make,  # noqa: F811 - the fixture
    qtbot: QtBot,
    db: sessionmaker[Session],
    tmp_path: Path,
) -> None:
    out = tmp_path / "labels.zpl"
    out.write_bytes(b"")
    with db.begin() as s:
        settings.put(s, "devices.label_printer", {"type": "file", "path": str(out)})
    screen, ctx = office("admin")
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    worker = PrintWorker(db)
    worker.start()
    ctx.services["printer"] = worker
    try:
        click(qtbot, ctx, screen.devices_form.test_buttons["devices.label_printer"])
        wait_for(lambda: out.stat().st_size > 0)
    finally:
        worker.stop()
    sent = out.read_bytes()
    assert sent.startswith(b"^XA") and b"Counterline test label" in sent  # ZPL, on the label printer
