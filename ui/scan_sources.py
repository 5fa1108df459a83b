"""The scanners that are not a keyboard, started from the settings and fed into the one scan router.

`devices.scanner` says which scanner the terminal has: "wedge" (types like a keyboard: the router's scan field
and event filter take it, nothing to start), "serial" (a port read by `SerialScanner`) or "camera" (frames
decoded by `CameraScanner`). A serial or camera scanner runs on its own thread; each code it reads crosses to
the GUI thread by a queued signal and goes through `ScanRouter.dispatch`, exactly like a typed scan, so the
prefix, suffix and barcode rules apply to every source alike. A source that cannot be opened says so in the
message bar (through the router's `refused` signal) and keeps trying.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal
from sqlalchemy.orm import Session, sessionmaker

from app.services import settings
from devices.scanners.serial_scanner import SerialScanner
from devices.scanners.worker import ScannerThread
from ui.scan_router import ScanRouter

# What a serial scanner ends each code with, as the settings name it.
SERIAL_TERMINATORS = {"enter": b"\r", "cr": b"\r", "lf": b"\n", "crlf": b"\r\n", "tab": b"\t"}


def serial_settings(scanner: dict[str, Any]) -> tuple[str, int, bytes]:
    """Port, baud rate and terminator of a serial scanner; ValueError says what to fix."""
    port = str(scanner.get("port") or "").strip()
    if not port:
        raise ValueError('Scanner settings: a serial scanner needs a "port" (e.g. /dev/ttyACM0 or COM3).')
    try:
        baudrate = int(scanner.get("baudrate") or 9600)
    except (TypeError, ValueError):
        raise ValueError('Scanner settings: "baudrate" must be a number such as 9600.') from None
    terminator = SERIAL_TERMINATORS.get(str(scanner.get("terminator") or "enter").lower())
    if terminator is None:
        raise ValueError(
            'Scanner settings: "terminator" must be one of ' + ", ".join(SERIAL_TERMINATORS) + "."
        )
    return port, baudrate, terminator


def router_from_settings(factory: sessionmaker[Session]) -> tuple[ScanRouter, Any, list[str]]:
    """The scan router the saved settings describe, the scanner setting (for `ScanSources.start`), and what was
    wrong with the settings (the router then falls back to the defaults, so the counter can still scan)."""
    with factory() as s:
        scanner = settings.get(s, "devices.scanner")
        rules = settings.get(s, "barcodes")
    try:
        return ScanRouter.from_settings(scanner, rules), scanner, []
    except ValueError as exc:
        return ScanRouter(), scanner, [f"{exc} The default scanner settings are used until it is put right."]


class ScanSources(QObject):
    """The running non-keyboard scanners of this terminal; `stop()` ends them (the window does on close)."""

    read = Signal(str)  # emitted on a scanner's thread; delivered to the router on the GUI thread
    trouble = Signal(str)

    def __init__(self, router: ScanRouter, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.router = router
        self.workers: list[ScannerThread] = []
        self.scanner: Any = None  # the setting the running scanners were started from
        self.read.connect(router.dispatch)
        self.trouble.connect(router.refused)

    def start(self, scanner: Any) -> None:
        """Start what `devices.scanner` names; a setting that cannot be used is said, not raised."""
        self.scanner = scanner
        cfg = scanner if isinstance(scanner, dict) else {}
        kind = cfg.get("type", "wedge")
        try:
            if kind == "serial":
                port, baudrate, terminator = serial_settings(cfg)
                self.workers.append(
                    SerialScanner(
                        port, baudrate, terminator, on_read=self._emit_read, on_error=self._emit_trouble
                    )
                )
            elif kind == "camera":
                from ui.camera_preview import camera_parts, camera_settings  # a camera's parts: not at start

                source, decoder = camera_settings(cfg)
                camera_scanner, make_decoder = camera_parts()  # ValueError in a build without OpenCV
                self.workers.append(
                    camera_scanner(
                        source, make_decoder(decoder), on_read=self._emit_read, on_error=self._emit_trouble
                    )
                )
        except ValueError as exc:
            self.trouble.emit(str(exc))
            return
        for worker in self.workers:
            worker.start()

    def _emit_read(self, code: str) -> None:
        self._emit(self.read, code)

    def _emit_trouble(self, message: str) -> None:
        self._emit(self.trouble, message)

    @staticmethod
    def _emit(signal: Any, text: str) -> None:
        try:
            signal.emit(text)
        except RuntimeError:  # the window is gone and the thread is being stopped
            pass

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()

    def pause(self) -> None:
        """Let go of the port or camera (the camera preview opens the same camera); `resume` takes it back."""
        for worker in self.workers:
            worker.stop()

    def resume(self) -> None:
        self.stop()
        self.start(self.scanner)

    def apply(self, scanner: Any, rules: Any) -> None:
        """Saved settings in use at once: the router takes them and the scanners are started again from them.
        Raises ValueError (nothing changed) for settings that cannot be used."""
        self.router.configure(scanner, rules)
        self.stop()
        self.start(scanner)
