"""Office > Devices on a real copy of the demo store: the scan test and the camera preview.

Scans go through the app's real scan router (its dispatch, and once its keyboard-wedge event filter); products are
looked up by the op helper's worker thread in the demo database. The camera preview runs the real camera scanner
on a video file written with OpenCV, so decoding happens on its thread as with a live camera. Screenshots go to
the temp folder (see `shoot`) for a person to open.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot
from shiboken6 import isValid
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode, Product
from app.demo import demo_scale_label
from tests.devices.test_scanners import EAN as VIDEO_EAN
from tests.devices.test_scanners import write_video
from tests.ui.test_office import Make, click, office, settle, shoot  # noqa: F401 - office is a fixture
from ui.camera_preview import CameraPreview
from ui.context import AppContext
from ui.screens.office import OfficeScreen

GS = "\x1d"
UNKNOWN_GTIN = "4006381333931"  # valid check digit, not a demo barcode (those start 5399 or 0)


def text(label: object) -> str:
    """A label's text without the zero-width break chances the scan test puts into long codes."""
    return label.text().replace("\u200b", "")  # type: ignore[attr-defined]


@pytest.fixture
def devices(office: Make, qtbot: QtBot) -> tuple[OfficeScreen, AppContext]:  # noqa: F811 - the fixture above
    screen, ctx = office("admin")
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    assert screen.devices_gate.open and screen.scan_test_box.isVisible()
    return screen, ctx


def demo_barcode(db: sessionmaker[Session]) -> tuple[str, str]:
    """An EAN-13 of a demo product sold by the unit, and the product's name."""
    with db() as s:
        code, name = s.execute(
            select(Barcode.code, Product.name)
            .join(Product, Product.id == Barcode.product_id)
            .where(Barcode.pack_qty == 1, Barcode.code.like("05399%"))
            .order_by(Barcode.code)
            .limit(1)
        ).one()
    return code[1:], name


def scan(qtbot: QtBot, ctx: AppContext, raw: str) -> bool:
    taken = ctx.router.dispatch(raw)
    settle(qtbot, ctx)
    return taken


# --- scan test ---------------------------------------------------------------------------------------------


def test_scan_test_shows_kind_and_product_for_a_demo_barcode(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    screen, ctx = devices
    code, name = demo_barcode(db)
    assert scan(qtbot, ctx, code)
    assert code in text(screen.scan_test_raw) and "(13 characters)" in text(screen.scan_test_raw)
    kind = text(screen.scan_test_kind)
    assert kind.startswith(f"GTIN-13 {code}") and f"GTIN-14 0{code}" in kind
    product = text(screen.scan_test_product)
    assert product.startswith(name) and "SKU " in product and "€" in product
    assert not screen.scan_test_warning.isVisible()
    assert ctx.messages.text() == ""  # a test scan is not a sale: nothing in the message bar
    shoot(screen, "devices-scan-test")


def test_scan_test_says_not_found_for_an_unknown_gtin(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot
) -> None:
    screen, ctx = devices
    assert scan(qtbot, ctx, UNKNOWN_GTIN)
    assert text(screen.scan_test_kind).startswith(f"GTIN-13 {UNKNOWN_GTIN}")
    assert "is not in the catalog" in text(screen.scan_test_product)
    assert ctx.messages.text() == ""  # shown in the box, not raised as a failure


def test_scan_test_shows_gs_and_the_ais_of_a_gs1_string(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    screen, ctx = devices
    code, name = demo_barcode(db)
    assert scan(qtbot, ctx, f"010{code}10LOT42{GS}17261231{GS}21SN7")
    raw = text(screen.scan_test_raw)
    assert "10LOT42⟨GS⟩17261231⟨GS⟩21SN7" in raw and GS not in raw
    kind = text(screen.scan_test_kind)
    assert kind.startswith("GS1 element string")
    assert f"(01) GTIN: 0{code}" in kind and "(10) BATCH/LOT: LOT42" in kind
    assert "(17) USE BY or EXPIRY: 261231 (2026-12-31)" in kind and "(21) SERIAL: SN7" in kind
    assert text(screen.scan_test_product).startswith(name)
    shoot(screen, "devices-scan-test-gs1")


def test_scan_test_reads_a_scale_label_and_an_unknown_code(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot, db: sessionmaker[Session]
) -> None:
    screen, ctx = devices
    with db() as s:
        label = demo_scale_label(s, "PRD-0002", Decimal("2.35"))
    assert scan(qtbot, ctx, label)
    assert text(screen.scan_test_kind) == "Variable-measure (scale) label\nprefix 20, item 00002, price €2.35"
    product = text(screen.scan_test_product)
    assert product.startswith("Loose Bananas (per kg)") and "Label price €2.35" in product

    assert scan(qtbot, ctx, "HELLO?")
    assert text(screen.scan_test_kind).startswith("Unknown\nnot a barcode this store knows")
    assert "Not found" in text(screen.scan_test_product)


def test_scan_test_warns_of_a_french_keyboard_layout(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot
) -> None:
    screen, ctx = devices
    assert not scan(qtbot, ctx, '&é"\'(-è_çà&é"')  # the router holds it back and says why
    assert screen.scan_test_warning.isVisible()
    assert "French keyboard layout" in screen.scan_test_warning.text()
    assert "held back" in text(screen.scan_test_raw)

    # Accented letters inside a longer code cannot be repaired; the box still points at the layout.
    assert scan(qtbot, ctx, "R)SààAé)à&")
    assert (
        screen.scan_test_warning.isVisible() and "French keyboard layout" in screen.scan_test_warning.text()
    )
    assert scan(qtbot, ctx, UNKNOWN_GTIN)
    assert not screen.scan_test_warning.isVisible()


def test_scan_test_takes_scans_only_while_the_devices_tab_is_shown(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot
) -> None:
    screen, ctx = devices
    screen.tabs.setCurrentWidget(screen.shift_page)
    settle(qtbot, ctx)
    assert not scan(qtbot, ctx, UNKNOWN_GTIN)
    assert text(screen.scan_test_raw) == "—"
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    assert scan(qtbot, ctx, UNKNOWN_GTIN)
    assert UNKNOWN_GTIN in text(screen.scan_test_raw)


def test_cashier_gets_no_scan_test(office: Make, qtbot: QtBot) -> None:  # noqa: F811 - the fixture
    screen, ctx = office("cashier")
    screen.tabs.setCurrentWidget(screen.devices_gate)
    settle(qtbot, ctx)
    assert not screen.devices_gate.open and not screen.scan_test_box.isVisible()
    assert not scan(qtbot, ctx, UNKNOWN_GTIN)


def type_burst(qtbot: QtBot, ctx: AppContext, target: QWidget, keys: list[tuple[str, bool]]) -> None:
    """Type as a wedge scanner does, through the router's application event filter: each (text, ctrl) is one
    key; ("]", True) is Ctrl+], the GS a scanner sends. The router's clock steps 2 ms a key, as a scanner
    types, whatever the load of the machine running the test."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ticks = itertools.count()
    ctx.router.clock = lambda: next(ticks) * 0.002
    ctx.router.install(app)
    try:
        for key_text, ctrl in keys:
            if ctrl:
                qtbot.keyClick(target, Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
            else:
                qtbot.keyClicks(target, key_text)
        qtbot.keyClick(target, Qt.Key.Key_Return)
        settle(qtbot, ctx)
    finally:
        ctx.router.uninstall()


def test_wedge_keystrokes_reach_the_scan_test(devices: tuple[OfficeScreen, AppContext], qtbot: QtBot) -> None:
    """The keyboard path: a burst of keys outside any field is caught by the router and lands in the box."""
    screen, ctx = devices
    type_burst(qtbot, ctx, screen.scan_test_box, [(UNKNOWN_GTIN, False)])
    assert text(screen.scan_test_raw).startswith(UNKNOWN_GTIN + "\n")
    assert "is not in the catalog" in text(screen.scan_test_product)


def test_wedge_ctrl_bracket_arrives_as_gs(devices: tuple[OfficeScreen, AppContext], qtbot: QtBot) -> None:
    screen, ctx = devices
    type_burst(
        qtbot, ctx, screen.scan_test_box, [("010950600013435210ABC", False), ("]", True), ("21XYZ", False)]
    )
    assert "010950600013435210ABC⟨GS⟩21XYZ" in text(screen.scan_test_raw)


def test_wedge_capitals_typed_with_shift_arrive_whole(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot
) -> None:
    """Scanners press Shift for each capital: the Shift press must neither end the burst nor drop the letter."""
    screen, ctx = devices
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    ticks = itertools.count()
    ctx.router.clock = lambda: next(ticks) * 0.002
    ctx.router.install(app)
    try:
        for ch in "R-S001-01-000042":
            if ch.isupper():  # a real scanner: Shift down, the letter, Shift up
                qtbot.keyPress(screen.scan_test_box, Qt.Key.Key_Shift)
                qtbot.keyClicks(screen.scan_test_box, ch)
                qtbot.keyRelease(screen.scan_test_box, Qt.Key.Key_Shift)
            else:
                qtbot.keyClicks(screen.scan_test_box, ch)
        qtbot.keyClick(screen.scan_test_box, Qt.Key.Key_Return)
        settle(qtbot, ctx)
    finally:
        ctx.router.uninstall()
    assert text(screen.scan_test_raw).startswith("R-S001-01-000042\n")


# --- camera preview -----------------------------------------------------------------------------------------


def open_preview(
    screen: OfficeScreen, ctx: AppContext, qtbot: QtBot, scanner_settings: dict[str, object]
) -> CameraPreview:
    """Save the Scanner settings as a person would, then press Camera preview."""
    screen.device_edits["devices.scanner"].setPlainText(json.dumps(scanner_settings))
    click(qtbot, ctx, screen.save_devices_btn)
    click(qtbot, ctx, screen.camera_btn)
    dialog = screen.camera_dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


@pytest.fixture
def closing() -> Iterator[list[CameraPreview]]:
    """Dialogs to close after the test, so no camera thread outlives it."""
    dialogs: list[CameraPreview] = []
    yield dialogs
    for d in dialogs:
        if isValid(d):  # a closed preview deletes itself
            d.reject()


def test_camera_preview_shows_the_code_in_a_video(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot, tmp_path: Path, closing: list[CameraPreview]
) -> None:
    screen, ctx = devices
    video = write_video(tmp_path / "ean.avi", frames=30)
    dialog = open_preview(screen, ctx, qtbot, {"type": "wedge", "camera": str(video)})
    closing.append(dialog)
    assert dialog.source == str(video)
    qtbot.waitUntil(lambda: dialog.codes == [VIDEO_EAN], timeout=5000)
    assert dialog.outline_green
    assert not dialog.view.pixmap().isNull()
    qtbot.waitUntil(lambda: dialog.scanner is not None and not dialog.scanner.running, timeout=5000)
    assert dialog.codes == [VIDEO_EAN]  # once per hold-off, not once per frame
    assert ctx.sounds.played == ["good"]  # one beep for the one read
    assert dialog.code_list.count() == 1 and dialog.code_list.item(0).text().endswith(
        f"  GTIN-13 {VIDEO_EAN}"
    )
    assert dialog.notice.text() == f"Code read: GTIN-13 {VIDEO_EAN}"
    shoot(dialog, "camera-preview")

    qtbot.mouseClick(dialog.start_btn, Qt.MouseButton.LeftButton)  # replays the video from the start
    assert dialog.codes == [] and dialog.code_list.count() == 0
    qtbot.waitUntil(lambda: dialog.codes == [VIDEO_EAN], timeout=5000)
    dialog.reject()
    assert dialog.scanner is None and screen.camera_dialog is None


@pytest.mark.parametrize(
    ("camera", "expected"),
    [
        ("missing.avi", "could not be opened: check the path"),
        (97, "Camera 97 could not be opened: check it is plugged in"),
    ],
    ids=["missing-file", "no-such-camera"],
)
def test_camera_preview_says_when_the_camera_cannot_be_opened(
    devices: tuple[OfficeScreen, AppContext],
    qtbot: QtBot,
    tmp_path: Path,
    closing: list[CameraPreview],
    camera: object,
    expected: str,
) -> None:
    screen, ctx = devices
    source = str(tmp_path / camera) if isinstance(camera, str) else camera
    dialog = open_preview(screen, ctx, qtbot, {"type": "camera", "device": source})
    closing.append(dialog)
    qtbot.waitUntil(lambda: expected in dialog.notice.text(), timeout=5000)
    assert dialog.view.text() == "No picture from the camera"
    assert dialog.codes == [] and "Traceback" not in dialog.notice.text()
    if isinstance(camera, str):
        shoot(dialog, "camera-preview-missing")


def test_camera_preview_names_a_bad_decoder_setting(
    devices: tuple[OfficeScreen, AppContext], qtbot: QtBot, tmp_path: Path, closing: list[CameraPreview]
) -> None:
    screen, ctx = devices
    dialog = open_preview(screen, ctx, qtbot, {"camera": str(tmp_path / "x.avi"), "decoder": "zbarcam"})
    closing.append(dialog)
    assert 'decoder this app does not have ("zbarcam")' in dialog.notice.text()
    assert dialog.scanner is None
