"""Feedback at the counter: a red message that stays until acknowledged, and scan tones where there is audio.

Messages that vanish by themselves cause mistakes nobody sees, so a refusal stays until Enter or a tap.
Tones play through QtMultimedia when it is installed and an audio output exists; otherwise they are skipped.
"""

from __future__ import annotations

import logging
import math
import struct
import tempfile
import wave
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QWidget

log = logging.getLogger(__name__)


class MessageBar(QWidget):
    """A banner under the scan field: red for refusals (stays until acknowledged), green for notices."""

    acknowledged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 12, 6)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.ok = QPushButton(self.tr("OK (Enter)"))
        self.ok.setMinimumHeight(48)
        self.ok.clicked.connect(self.clear)
        lay.addWidget(self.label, 1)
        lay.addWidget(self.ok)
        self.error = False
        self.hide()

    def show_error(self, text: str) -> None:
        self.error = True
        self.setProperty("level", "error")
        self._show(text)

    def show_notice(self, text: str) -> None:
        if self.error and self.isVisible():
            return  # never hide an unacknowledged refusal behind a notice
        self.error = False
        self.setProperty("level", "notice")
        self._show(text)

    def _show(self, text: str) -> None:
        self.label.setText(text)
        self.style().unpolish(self)
        self.style().polish(self)
        self.show()

    def text(self) -> str:
        return self.label.text() if self.isVisible() else ""

    def clear(self) -> None:
        self.error = False
        self.hide()
        self.acknowledged.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clear()


def _tone(path: Path, freq: float, ms: int) -> None:
    rate = 22050
    frames = b"".join(
        struct.pack("<h", int(9000 * math.sin(2 * math.pi * freq * i / rate)))
        for i in range(rate * ms // 1000)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)


class Sounds(QObject):
    """A short high tone for a good scan, a low one for a refusal; silent where no audio output exists."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._good = self._bad = None
        self.played: list[str] = []  # what was signalled, newest last (the status of a till without speakers)
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError:
            return
        if not QMediaDevices.audioOutputs():
            return
        folder = Path(tempfile.mkdtemp(prefix="counterline-tones-"))
        effects = []
        for name, freq, ms in (("good", 1800, 80), ("bad", 300, 300)):
            path = folder / f"{name}.wav"
            _tone(path, freq, ms)
            eff = QSoundEffect(self)
            eff.setSource(QUrl.fromLocalFile(str(path)))
            effects.append(eff)
        self._good, self._bad = effects

    def good(self) -> None:
        self._note("good")
        if self._good is not None:
            self._good.play()
        else:
            QApplication.beep()  # no audio output (or no QtMultimedia): the system bell still tells the person

    def bad(self) -> None:
        self._note("bad")
        if self._bad is not None:
            self._bad.play()
        else:
            QApplication.beep()

    def _note(self, what: str) -> None:
        self.played.append(what)
        del self.played[:-20]
