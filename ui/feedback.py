"""Feedback at the counter: a red message that stays until acknowledged, and scan tones where there is audio.

Messages that vanish by themselves cause mistakes nobody sees, so a refusal stays until Enter or a tap.
Tones play through QtMultimedia when it is installed and an audio output exists; otherwise they are skipped.
"""

from __future__ import annotations

import logging
import math
import struct
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

log = logging.getLogger(__name__)


class MessageBar(QWidget):
    """A banner under the scan field: a red refusal (low tone) that stays until acknowledged, a green notice
    (high tone) for good news, and an amber warning (a neutral tone) for something to check that refuses nothing
    (an item beyond the stock this till knows of, a PIN shorter than the store's minimum). A warning takes the
    notice's row and follows the notice's rules.

    A notice never hides a refusal nobody has acknowledged, and a refusal never swallows a notice: while an error
    waits, a notice shows on its own green row under it (a sale completed after an earlier refusal still shows its
    change). Enter or a tap acknowledges both. A newer error replaces the older error and the notice (it is the
    newest thing to read); a newer notice replaces the older notice only.
    """

    acknowledged = Signal()

    def __init__(self, parent: QWidget | None = None, sounds: Sounds | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageBar")
        # A plain QWidget subclass paints no style-sheet background without this: the bar stayed grey.
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.sounds = sounds
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        rows = QVBoxLayout()
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(0)
        self.error_label = self._row("messageError")
        self.notice_label = self._row("messageNotice")
        rows.addWidget(self.error_label)
        rows.addWidget(self.notice_label)
        lay.addLayout(rows, 1)
        self.ok = QPushButton(self.tr("OK (Enter)"))
        self.ok.setObjectName("messageOk")
        self.ok.setMinimumHeight(48)
        self.ok.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # a scanner's Enter must never land on it
        self.ok.clicked.connect(self.clear)
        lay.addWidget(self.ok, 0, Qt.AlignmentFlag.AlignVCenter)
        lay.addSpacing(8)
        self.error = False
        self.hide()

    @staticmethod
    def _row(name: str) -> QLabel:
        label = QLabel()
        label.setObjectName(name)
        label.setWordWrap(True)
        label.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        label.setMinimumHeight(48)
        label.hide()
        return label

    @property
    def label(self) -> QLabel:
        """The row a person reads first: the waiting error, else the notice."""
        return self.error_label if self.error else self.notice_label

    def show_error(self, text: str) -> None:
        """A refusal: red, a low tone, and it stays until acknowledged."""
        self.error = True
        self.error_label.setText(text)
        self.error_label.show()
        self.notice_label.hide()
        self.notice_label.clear()
        self._restyle("error")
        if self.sounds is not None:
            self.sounds.bad()

    def show_notice(self, text: str, *, tone: bool = True) -> None:
        """Good news: green and a high tone (`tone=False` for plain information such as the key list). An error
        still waiting stays on screen above it."""
        self._second_row(text, "notice")
        if tone and self.sounds is not None:
            self.sounds.good()

    def show_warning(self, text: str) -> None:
        """Something to check that refuses nothing: amber and a neutral tone (never the "good" one). It stays until
        acknowledged like every message, and the next scan goes on meanwhile."""
        self._second_row(text, "warning")
        if self.sounds is not None:
            self.sounds.neutral()

    @property
    def kind(self) -> str:
        """What the bar shows first: "error", "warning", "notice" or "" when hidden."""
        return str(self.property("level") or "") if self.isVisible() else ""

    def _second_row(self, text: str, kind: str) -> None:
        self.notice_label.setText(text)
        _restyle(self.notice_label, "kind", kind)
        self.notice_label.show()
        if not self.error:
            self.error_label.hide()
        self._restyle("error" if self.error else kind)

    def _restyle(self, level: str) -> None:
        _restyle(self, "level", level)
        self.show()

    def text(self) -> str:
        if not self.isVisible():
            return ""
        return "\n".join(w.text() for w in (self.error_label, self.notice_label) if w.isVisibleTo(self))

    def clear(self) -> None:
        self.error = False
        self.error_label.clear()
        self.notice_label.clear()
        self.error_label.hide()
        self.notice_label.hide()
        self.hide()
        self.acknowledged.emit()

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt's name
        if event.button() == Qt.MouseButton.LeftButton:
            self.clear()


class MessageSlot(QWidget):
    """The message bar's place in a window. The room of a message of two lines is kept whether a message shows or
    not, so a message coming or going never moves what is under it: a button moved under a finger, and the whole
    window was laid out and painted again (5 to 10 ms of a scan, at a warning and at the next scan that
    acknowledged it). A longer message, or an error with a notice under it, still takes the room it needs."""

    def __init__(self, bar: MessageBar, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(bar)
        # Styled as a message (font, padding) but never shown: it measures the room of two lines.
        self._probe = QLabel("X\nX", self)
        self._probe.setObjectName("messageNotice")
        self._probe.hide()

    def _keep_room(self) -> None:
        self._probe.ensurePolished()
        self.setMinimumHeight(max(48, self._probe.sizeHint().height()))

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        self._keep_room()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 - Qt's name
        if event.type() in (QEvent.Type.StyleChange, QEvent.Type.FontChange):
            self._keep_room()
        super().changeEvent(event)


def _restyle(widget: QWidget, name: str, value: str) -> None:
    """Set the style-sheet property `name` and apply the rules it selects, only when it changes: re-polishing
    computes the widget's style again and repaints it, which at a warning on every scan cost about a millisecond
    of each scan (and a larger repaint after it)."""
    if widget.property(name) == value:
        return
    widget.setProperty(name, value)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


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
    """A short high tone for a good scan, a low one for a refusal, a middle one for a warning; silent where no audio
    output exists."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._good = self._bad = self._neutral = None
        self.played: list[str] = []  # what was signalled, newest last (the status of a till without speakers)
        self._last = 0.0
        try:
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError:
            return
        if not QMediaDevices.audioOutputs():
            return
        folder = Path(tempfile.mkdtemp(prefix="counterline-tones-"))
        effects = []
        for name, freq, ms in (("good", 1800, 80), ("bad", 300, 300), ("neutral", 700, 150)):
            path = folder / f"{name}.wav"
            _tone(path, freq, ms)
            eff = QSoundEffect(self)
            eff.setSource(QUrl.fromLocalFile(str(path)))
            effects.append(eff)
        self._good, self._bad, self._neutral = effects

    def good(self) -> None:
        if not self._note("good"):
            return
        if self._good is not None:
            self._good.play()
        else:
            QApplication.beep()  # no audio output (or no QtMultimedia): the system bell still tells the person

    def bad(self) -> None:
        if not self._note("bad"):
            return
        if self._bad is not None:
            self._bad.play()
        else:
            QApplication.beep()

    def neutral(self) -> None:
        """Something to check: neither good news nor a refusal."""
        if not self._note("neutral"):
            return
        if self._neutral is not None:
            self._neutral.play()
        # no system-bell fallback: the bell is what a refusal sounds like without speakers

    def _note(self, what: str) -> bool:
        """Record a tone; False for the same tone again within 150 ms (one event told twice, say by a screen and by
        the message bar it then calls), which plays once."""
        now = time.monotonic()
        if self.played and self.played[-1] == what and now - self._last < 0.15:
            return False
        self._last = now
        self.played.append(what)
        del self.played[:-20]
        return True
