"""Camera preview: the live picture of a camera scanner with the codes it reads, and the words for what a scan is.

The dialog runs `devices.scanners.camera.CameraScanner`, which reads and decodes frames on its own thread. That
thread only hands over the latest frame (kept under a lock) and emits signals for reads and errors; a timer on
the GUI thread paints the newest frame at most 25 times a second, so a fast camera (or a video file, which is
read as fast as it decodes) never floods the GUI. A read turns the picture's outline green and lists the code
under it with what it reads as; a camera that cannot be opened says so in plain words instead of a picture.

`visible_text` and `describe_scan` are shared with the Office scan test, so both show a scan the same way.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QColor, QImage, QPainter, QPen, QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from ui.feedback import Sounds
from ui.widgets import enter_presses

if TYPE_CHECKING:
    import numpy as np

    from devices.scanners.camera import CameraScanner

# A build without OpenCV (installer/README.md: `make dist CAMERA=0`) has no camera scanner; this says so.
NO_CAMERA = (
    "Camera scanning is not in this build of Counterline (it was built without OpenCV): use a USB or serial "
    "scanner, or install the full build."
)


def camera_parts() -> tuple[Any, Callable[[str | None], Any]]:
    """`CameraScanner` and `make_decoder`, imported when a camera is used (OpenCV is large and slow to load);
    ValueError(NO_CAMERA) in a build without OpenCV."""
    try:
        from devices.scanners.camera import CameraScanner
        from devices.scanners.decoders import make_decoder
    except ImportError as exc:
        if exc.name in ("cv2", "numpy"):
            raise ValueError(NO_CAMERA) from exc
        raise
    return CameraScanner, make_decoder


# ASCII control characters by name, as scanner manuals print them.
_CONTROL_NAMES = {
    0x00: "NUL",
    0x04: "EOT",
    0x09: "TAB",
    0x0A: "LF",
    0x0D: "CR",
    0x1B: "ESC",
    0x1C: "FS",
    0x1D: "GS",
    0x1E: "RS",
    0x1F: "US",
    0x7F: "DEL",
}
GREEN = "#16a34a"
RED = "#b91c1c"
# How long the outline stays green after a read: the scanner's hold-off, so it is green while the code counts.
HOLD_OFF_S = 1.5


def visible_tokens(raw: str) -> list[str]:
    """The scan one character per item, control characters as ⟨GS⟩, ⟨CR⟩ ... so nothing invisible hides."""
    out = []
    for ch in raw:
        code = ord(ch)
        if code < 0x20 or code == 0x7F:
            out.append("⟨" + _CONTROL_NAMES.get(code, f"0x{code:02X}") + "⟩")
        else:
            out.append(ch)
    return out


def visible_text(raw: str) -> str:
    """The scan as a person can read it: the GS between GS1 fields shows as ⟨GS⟩."""
    return "".join(visible_tokens(raw))


def breakable(text: str, every: int = 8) -> str:
    """`visible_text` with zero-width break chances inside long words (a scan, a GS1 string), so a QLabel wraps
    them instead of cutting them off; ordinary words are left whole."""
    words = []
    for word in text.split(" "):
        tokens = visible_tokens(word)
        if len(tokens) > 2 * every:
            words.append("\u200b".join("".join(tokens[i : i + every]) for i in range(0, len(tokens), every)))
        else:
            words.append("".join(tokens))
    return " ".join(words)


def _ai_title(ai: str) -> str:
    from biip.gs1_application_identifiers import GS1ApplicationIdentifier  # biip is imported on first use

    try:
        return GS1ApplicationIdentifier.extract(ai).data_title
    except Exception:  # an AI biip does not know: its number alone still says something
        return ""


def describe_scan(
    result: barcodes.ScanResult, money: Callable[[Decimal], str] = str
) -> tuple[str, list[str]]:
    """What a scan reads as: a short title ("GTIN-13", "GS1 element string", ...) and detail lines."""
    if isinstance(result, barcodes.Gtin):
        details = [f"GTIN-14 {result.gtin14}"]
        digits = result.raw.removeprefix("]E0").removeprefix("]E4")
        if len(digits) == 8 and result.format == "GTIN-12":
            details.append(f"UPC-E {digits}, expanded to UPC-A {result.digits}")
        return f"{result.format} {result.digits}", details
    if isinstance(result, barcodes.Gs1):
        details = []
        for ai, value in result.ais.items():
            title = _ai_title(ai)
            shown = value
            if ai == "17" and result.expiry is not None:
                shown = f"{value} ({result.expiry.isoformat()})"
            elif ai.startswith("310") and result.net_weight_kg is not None:
                shown = f"{value} ({result.net_weight_kg} kg)"
            elif ai.startswith("392") and result.price is not None:
                shown = f"{value} ({money(result.price)})"
            details.append(f"({ai}) {title}: {shown}" if title else f"({ai}) {shown}")
        return "GS1 element string", details
    if isinstance(result, barcodes.Sscc):
        return "SSCC (a pallet or parcel label)", [result.sscc]
    if isinstance(result, barcodes.VariableMeasure):
        if result.weight_kg is not None:
            value = f"weight {result.weight_kg} kg"
        else:
            value = f"price {money(result.price or Decimal(0))}"
        return "Variable-measure (scale) label", [f"prefix {result.prefix}, item {result.item_ref}, {value}"]
    if isinstance(result, barcodes.InternalCode):
        return f"Internal code: {result.internal_kind}", [result.value]
    return "Unknown", [result.reason]


def parse_source(text: str) -> int | str:
    """A camera number ("0", "1") or a video file path, as typed in the preview's camera field."""
    text = text.strip()
    if not text:
        return 0
    if text.isdigit():
        return int(text)
    return str(Path(text).expanduser())


def camera_settings(scanner: Any) -> tuple[int | str, str | None]:
    """Camera source and decoder from the `devices.scanner` setting: "camera" (a number or a video file path;
    "device" or "source" also count when "type" is "camera") and an optional "decoder" ("zxing-cpp", "pyzbar")."""
    if not isinstance(scanner, dict):
        return 0, None
    source: Any = scanner.get("camera")
    if source is None and scanner.get("type") == "camera":
        source = scanner.get("device", scanner.get("source"))
    decoder = scanner.get("decoder")
    camera = parse_source(str(source)) if source is not None else 0
    return camera, decoder if isinstance(decoder, str) else None


def frame_to_image(frame: np.ndarray) -> QImage:
    """A BGR (H, W, 3) or grayscale (H, W) uint8 frame as a QImage that owns its pixels."""
    import numpy as np  # here, not at the top: the Office tab that opens this dialog loads at start

    frame = np.ascontiguousarray(frame)
    height, width = frame.shape[:2]
    fmt = QImage.Format.Format_Grayscale8 if frame.ndim == 2 else QImage.Format.Format_BGR888
    return QImage(frame.data, width, height, frame.strides[0], fmt).copy()


class _Bridge(QObject):
    """Carries the camera thread's callbacks to the GUI thread (queued signals)."""

    read = Signal(int, str)  # run number, code
    error = Signal(int, str)  # run number, message


class CameraPreview(QDialog):
    """Live picture of a camera scanner and the codes it reads; see the module docstring."""

    def __init__(
        self,
        source: int | str = 0,
        decoder: str | None = None,
        config: barcodes.BarcodeConfig | None = None,
        money: Callable[[Decimal], str] = str,
        parent: QWidget | None = None,
        sounds: Sounds | None = None,
    ) -> None:
        super().__init__(parent)
        self.sounds = sounds
        self.setWindowTitle(self.tr("Camera preview"))
        self.setObjectName("cameraPreview")
        self.decoder_name = decoder
        self.config = config
        self.money = money
        self.scanner: CameraScanner | None = None
        self.codes: list[str] = []  # every code read since the last start, oldest first
        self._lock = threading.Lock()
        self._frame: np.ndarray | None = None
        self._frame_seq = 0
        self._painted_seq = 0
        self._last_image: QImage | None = None
        self._read_at = -1e9
        self._outline_green = False
        self._error: str | None = None
        self._error_seq = 0
        self._run = 0  # bumped on every start, so a stopped run's late signals are dropped
        self._ended_shown = False
        self._bridge = _Bridge()
        self._bridge.read.connect(self._on_read)
        self._bridge.error.connect(self._on_error)

        lay = QVBoxLayout(self)
        top = QHBoxLayout()
        top.addWidget(QLabel(self.tr("Camera")))
        self.source_edit = QLineEdit(str(source))
        self.source_edit.setMinimumHeight(48)
        self.source_edit.setToolTip(
            self.tr("A camera number (0 is the first camera) or a video file to test with")
        )
        top.addWidget(self.source_edit, 1)
        self.file_btn = QPushButton(self.tr("Video file…"))
        self.file_btn.clicked.connect(self._pick_file)
        self.start_btn = QPushButton(self.tr("Start again"))
        self.start_btn.clicked.connect(lambda _c=False: self.start())
        for b in (self.file_btn, self.start_btn):
            b.setMinimumHeight(48)
            top.addWidget(b)
        lay.addLayout(top)

        self.view = QLabel(self.tr("Starting the camera…"))
        self.view.setObjectName("cameraView")
        self.view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.view.setWordWrap(True)
        self.view.setMinimumSize(480, 300)
        self.view.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.view.setStyleSheet("background: #1f2937; color: #e5e7eb; font-size: 20px;")
        lay.addWidget(self.view, 1)

        self.notice = QLabel()
        self.notice.setObjectName("cameraNotice")
        self.notice.setWordWrap(True)
        self.notice.setMinimumHeight(48)
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        lay.addWidget(self.notice)
        self._set_notice(self.tr("Hold a barcode 10 to 20 cm in front of the camera."), None)

        lay.addWidget(QLabel(self.tr("Codes read (newest first):")))
        self.code_list = QListWidget()
        self.code_list.setObjectName("cameraCodes")
        self.code_list.setMaximumHeight(130)
        self.code_list.setStyleSheet("font-size: 18px;")
        lay.addWidget(self.code_list)

        bottom = QHBoxLayout()
        hint = QLabel(
            self.tr('The camera comes from the Scanner settings ("camera": a number or a video file path).')
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        bottom.addWidget(hint, 1)
        self.close_btn = QPushButton(self.tr("Close (Esc)"))
        self.close_btn.setMinimumHeight(48)
        self.close_btn.clicked.connect(self.reject)
        bottom.addWidget(self.close_btn)
        lay.addLayout(bottom)
        enter_presses(self, self.start_btn)  # Enter in the camera field starts it (and opens no file picker)

        self._timer = QTimer(self)
        self._timer.setInterval(40)
        self._timer.timeout.connect(self._tick)
        self.resize(900, 700)

    # -- running the camera -------------------------------------------------------------------------------
    @property
    def source(self) -> int | str:
        return parse_source(self.source_edit.text())

    def start(self) -> None:
        """(Re)start the camera named in the camera field; an unusable decoder name is said, not raised."""
        self.stop()
        self.codes.clear()
        self.code_list.clear()
        self._error = None
        self._ended_shown = False
        self._read_at = -1e9
        with self._lock:
            self._frame = None
        self._last_image = None
        self.view.setPixmap(QPixmap())
        self.view.setText(self.tr("Starting the camera…"))
        self._set_notice(self.tr("Hold a barcode 10 to 20 cm in front of the camera."), None)
        try:
            scanner_class, make_decoder = camera_parts()
        except ValueError as exc:
            self._show_error(str(exc))
            return
        try:
            decoder = make_decoder(self.decoder_name)
        except ValueError:
            self._show_error(
                self.tr(
                    'The Scanner settings name a decoder this app does not have ("{0}"): use "zxing-cpp" '
                    'or "pyzbar", save, then open the preview again.'
                ).format(self.decoder_name)
            )
            return
        self._run += 1
        run = self._run
        self.scanner = scanner_class(
            self.source,
            decoder,
            on_read=lambda code: self._worker_emit(self._bridge.read, run, code),
            on_frame=self._worker_frame,
            on_error=lambda message: self._worker_emit(self._bridge.error, run, message),
            hold_off_s=HOLD_OFF_S,
        )
        self.scanner.start()
        self._timer.start()

    def stop(self) -> None:
        """Stop the camera thread (it notices within one frame) and the repaint timer."""
        self._timer.stop()
        if self.scanner is not None:
            self.scanner.stop()
            self.scanner = None

    # Called on the camera thread: keep them short, and never touch widgets here.
    def _worker_frame(self, frame: np.ndarray) -> None:
        with self._lock:
            self._frame = frame
            self._frame_seq += 1

    @staticmethod
    def _worker_emit(signal: Any, run: int, text: str) -> None:
        try:
            signal.emit(run, text)
        except RuntimeError:  # the dialog is gone; the thread is being stopped
            pass

    # -- on the GUI thread --------------------------------------------------------------------------------
    def _on_read(self, run: int, code: str) -> None:
        if run != self._run:
            return
        self._read_at = time.monotonic()
        self._error = None
        self.codes.append(code)
        title, _details = describe_scan(barcodes.parse(code, self.config), self.money)
        shown = visible_text(code)
        # "GTIN-13 4006381333931" already holds the code; "GS1 element string" does not.
        what = title if code in title else f"{shown} · {title}"
        self.code_list.insertItem(0, f"{time.strftime('%H:%M:%S')}  {what}")
        self._set_notice(self.tr("Code read: {0}").format(what), GREEN)
        if self.sounds is not None:
            self.sounds.good()  # the beep on a read
        self._paint(force=True)

    def _on_error(self, run: int, message: str) -> None:
        if run != self._run:
            return
        src = self.scanner.source if self.scanner is not None else self.source
        is_file = isinstance(src, str)
        if "could not be opened" in message:
            if is_file:
                text = self.tr(
                    "The video file {0} could not be opened: check the path in the camera field, "
                    "then press Start again."
                ).format(src)
            else:
                text = self.tr(
                    "Camera {0} could not be opened: check it is plugged in and no other program is using it, "
                    "or type another camera number. Trying again every 2 seconds."
                ).format(src)
        elif "stopped delivering frames" in message:
            text = self.tr(
                "Camera {0} stopped sending pictures (unplugged?): plug it back in; the preview tries again "
                "every 2 seconds."
            ).format(src)
        else:
            text = self.tr("The camera stopped ({0}). Press Start again to retry.").format(message)
        self._show_error(text)

    def _show_error(self, text: str) -> None:
        self._error = text
        with self._lock:
            self._error_seq = self._frame_seq  # frames up to here came before the error
        self._set_notice(text, RED)
        if self._last_image is None:
            self.view.setPixmap(QPixmap())
            self.view.setText(self.tr("No picture from the camera"))

    def _set_notice(self, text: str, colour: str | None) -> None:
        self.notice.setText(text)
        if colour is None:
            self.notice.setStyleSheet("font-size: 18px; color: #374151; padding: 6px;")
        else:
            self.notice.setStyleSheet(
                f"font-size: 20px; font-weight: 600; color: white; background: {colour}; padding: 6px;"
            )

    def _tick(self) -> None:
        self._paint()
        scanner = self.scanner
        if scanner is not None and not scanner.running:
            # A video file reached its end (a device keeps running until stopped).
            self._paint(force=True)
            self._timer.stop()
            if self._error is None and not self._ended_shown:
                self._ended_shown = True
                if not self.codes:
                    self._set_notice(
                        self.tr("End of the video: no code was read. Press Start again to replay it."), RED
                    )

    def _paint(self, force: bool = False) -> None:
        with self._lock:
            frame, seq = self._frame, self._frame_seq
        green = time.monotonic() - self._read_at < HOLD_OFF_S
        if frame is not None and seq != self._painted_seq:
            self._painted_seq = seq
            self._last_image = frame_to_image(frame)
            if self._error is not None and seq > self._error_seq:  # pictures again (plugged back in)
                self._error = None
                self._set_notice(self.tr("Hold a barcode 10 to 20 cm in front of the camera."), None)
        elif not force and green == self._outline_green:
            return
        self._outline_green = green
        if self._last_image is None:
            return
        size = self.view.size()
        pix = QPixmap.fromImage(self._last_image).scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        if green:
            painter = QPainter(pix)
            pen = QPen(QColor(GREEN))
            pen.setWidth(10)
            painter.setPen(pen)
            painter.drawRect(pix.rect().adjusted(5, 5, -5, -5))
            painter.end()
        self.view.setPixmap(pix)

    # -- file picking and closing -------------------------------------------------------------------------
    def _pick_file(self) -> None:
        name, _filter = QFileDialog.getOpenFileName(
            self,
            self.tr("A video to test the camera scanner with"),
            "",
            self.tr("Videos (*.avi *.mp4 *.mkv *.mov)"),
        )
        if name:
            self.source_edit.setText(name)
            self.start()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._paint(force=True)  # the last frame stays sharp at the new size, even after a video has ended

    @property
    def outline_green(self) -> bool:
        """Whether the picture shows the green outline of a fresh read (tests and the screenshot read it)."""
        return self._outline_green

    def done(self, result: int) -> None:  # noqa: D401 - Qt's name
        self.stop()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt's name
        self.stop()
        super().closeEvent(event)
