"""Scanner and drawer settings take effect, end to end: each test saves a setting in a real copy of the demo store,
builds what the app builds at start (`ui.scan_sources.router_from_settings`, `ScanSources`, the print worker) and
shows the setting's effect on a real scan or on the real bytes sent to the drawer.

Before, the router was built bare (a scanner's prefix, suffix and key gap were ignored), no serial or camera
scanner was ever started, and the drawer kicked on the receipt printer's pin.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest
import zxingcpp
from escpos.printer import Dummy
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Barcode
from app.domain import barcodes
from app.services import settings
from tests.waiting import wait_for
from ui.print_worker import PrintWorker
from ui.scan_router import ScanRouter
from ui.scan_sources import ScanSources, router_from_settings


def demo_ean(db: sessionmaker[Session]) -> str:
    with db() as s:
        code = s.scalar(
            select(Barcode.code)
            .where(Barcode.pack_qty == 1, Barcode.code.like("05399%"))
            .order_by(Barcode.code)
        )
    assert code is not None
    # Stored as a GTIN-14 ("0" + the EAN-13 printed on the pack); a scan reads the 13 digits.
    result = barcodes.parse(str(code)[1:])
    assert isinstance(result, barcodes.Gtin) and result.format == "GTIN-13" and result.gtin14 == code
    return result.digits


def save(db: sessionmaker[Session], key: str, value: object) -> None:
    with db.begin() as s:
        settings.put(s, key, value)


class Screen(QWidget):
    """A visible screen that takes product scans, as Sell does."""

    def __init__(self, router: ScanRouter) -> None:
        super().__init__()
        self.scans: list[barcodes.ScanResult] = []
        router.register(self, {"product": self.scans.append})


@pytest.fixture
def screen_for(qtbot: QtBot) -> Iterator[object]:
    made: list[Screen] = []

    def make(router: ScanRouter) -> Screen:
        screen = Screen(router)
        qtbot.addWidget(screen)
        screen.show()
        made.append(screen)
        return screen

    yield make


def gtins(screen: Screen) -> list[str]:
    return [r.digits for r in screen.scans if isinstance(r, barcodes.Gtin)]


def test_scanner_prefix_and_suffix_are_stripped(db: sessionmaker[Session], screen_for, qtbot: QtBot) -> None:
    ean = demo_ean(db)
    save(db, "devices.scanner", {"type": "wedge", "prefix": "]X", "suffix": "#", "max_gap_ms": 50})
    router, _scanner, problems = router_from_settings(db)
    assert problems == []
    screen = screen_for(router)
    refused: list[str] = []
    router.refused.connect(refused.append)
    assert router.dispatch(f"]X{ean}#")
    assert gtins(screen) == [ean] and refused == []
    # A router built bare (as before) reads the same scan as nothing it knows.
    bare = ScanRouter()
    bare_screen = screen_for(bare)
    assert not bare.dispatch(f"]X{ean}#")
    assert bare_screen.scans == []


def test_key_gap_setting_decides_what_is_a_scan(db: sessionmaker[Session], screen_for, qtbot: QtBot) -> None:
    """A slow scanner (80 ms between keys) is a scanner once the key gap setting says 120 ms; with the default 50
    ms its keys are typing and land in the focused field."""
    ean = demo_ean(db)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    results = {}
    for gap in (50, 120):
        save(db, "devices.scanner", {"type": "wedge", "max_gap_ms": gap})
        router, _scanner, _problems = router_from_settings(db)
        now = [0.0]
        router.clock = lambda now=now: now[0]
        screen = screen_for(router)
        field = QLineEdit(screen)
        field.show()
        field.setFocus()
        qtbot.waitUntil(field.hasFocus)
        router.install(app)
        try:
            for ch in ean:
                now[0] += 0.080
                app.sendEvent(
                    field, QKeyEvent(QEvent.Type.KeyPress, ord(ch), Qt.KeyboardModifier.NoModifier, ch)
                )
            now[0] += 0.080
            app.sendEvent(
                field, QKeyEvent(QEvent.Type.KeyPress, Qt.Key.Key_Return, Qt.KeyboardModifier.NoModifier)
            )
            qtbot.wait(5)
        finally:
            router.uninstall()
        results[gap] = (gtins(screen), field.text())
    assert results[50][0] == [] and results[50][1] == ean  # typed into the field
    assert results[120] == ([ean], "")  # one scan, nothing in the field


def test_serial_scanner_from_the_settings_scans_into_the_router(
    db: sessionmaker[Session], screen_for, qtbot: QtBot
) -> None:
    ean = demo_ean(db)
    master, slave = os.openpty()
    try:
        port = os.ttyname(slave)
        save(db, "devices.scanner", {"type": "serial", "port": port, "terminator": "enter", "prefix": "]X"})
        router, scanner, problems = router_from_settings(db)
        assert problems == []
        screen = screen_for(router)
        sources = ScanSources(router)
        sources.start(scanner)
        try:
            assert [w.running for w in sources.workers] == [True]
            wait_for(lambda: getattr(sources.workers[0], "status", "") == "connected")
            os.write(master, f"]X{ean}\r".encode())
            qtbot.waitUntil(lambda: len(screen.scans) == 1)
            sources.pause()  # the camera preview borrows the device: the port is let go, then taken back
            assert not any(w.running for w in sources.workers)
            sources.resume()
            wait_for(lambda: getattr(sources.workers[0], "status", "") == "connected")
            os.write(master, f"]X{ean}\r".encode())
            qtbot.waitUntil(lambda: len(screen.scans) == 2)
        finally:
            sources.stop()
    finally:
        os.close(master)
        os.close(slave)
    assert gtins(screen) == [ean, ean]


def write_video(path: Path, code: str) -> Path:
    """A short MJPG video (25 fps, 640x480) showing the EAN-13 `code`, drawn by zxing-cpp's generator."""
    image = np.asarray(zxingcpp.create_barcode(code, zxingcpp.BarcodeFormat.EAN13).to_image(scale=3))
    bgr = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (640, 480))
    assert writer.isOpened()
    for _ in range(10):
        frame = np.full((480, 640, 3), 235, np.uint8)
        frame[150 : 150 + bgr.shape[0], 150 : 150 + bgr.shape[1]] = bgr
        writer.write(frame)
    writer.release()
    return path


def test_camera_scanner_from_the_settings_scans_into_the_router(
    db: sessionmaker[Session], screen_for, qtbot: QtBot, tmp_path: Path
) -> None:
    ean = demo_ean(db)
    video = write_video(tmp_path / "scan.avi", ean)
    save(db, "devices.scanner", {"type": "camera", "camera": str(video), "decoder": "zxing-cpp"})
    router, scanner, _problems = router_from_settings(db)
    screen = screen_for(router)
    sources = ScanSources(router)
    sources.start(scanner)
    try:
        qtbot.waitUntil(lambda: len(screen.scans) >= 1, timeout=10_000)
    finally:
        sources.stop()
    assert gtins(screen) == [ean]  # one code, once: the hold-off keeps it single


def test_a_scanner_setting_that_cannot_be_used_is_said(db: sessionmaker[Session], qtbot: QtBot) -> None:
    save(db, "devices.scanner", {"type": "serial", "port": ""})
    router, scanner, problems = router_from_settings(db)
    said: list[str] = []
    router.refused.connect(said.append)
    ScanSources(router).start(scanner)
    assert said and "port" in said[0]
    save(db, "devices.scanner", {"type": "wedge", "max_gap_ms": -1})
    _router, _scanner, problems = router_from_settings(db)
    assert problems and "Scanner settings" in problems[0]


@pytest.mark.parametrize("pin", [2, 5])
def test_the_drawer_opens_on_its_own_pin_setting(db: sessionmaker[Session], tmp_path: Path, pin: int) -> None:
    out = tmp_path / "printer.bin"
    out.write_bytes(b"")
    # The receipt printer's old drawer_pin says 2: the drawer's own setting wins.
    save(db, "devices.receipt_printer", {"type": "file", "path": str(out), "drawer_pin": 2})
    save(db, "devices.drawer", {"via": "receipt_printer", "pin": pin})
    worker = PrintWorker(db)
    worker.start()
    try:
        worker.open_drawer()
        wait_for(lambda: out.stat().st_size > 0)
    finally:
        worker.stop()
    expected = Dummy()
    expected.cashdraw(pin)
    assert out.read_bytes() == bytes(expected.output)
