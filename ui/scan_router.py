"""The scan router: every scan is parsed once and sent to the handler the visible screen registered.

Scans arrive two ways. In a scan field (`ScanField`), the scanner types like a keyboard and Enter submits. Anywhere
else, an application event filter holds printable keys: a burst of keys less than `max_gap_ms` apart, ended by
Enter or Tab, is a scan and never lands in the widget that happened to have focus; slower keys are replayed to
their widget as ordinary typing. Each screen registers handlers for the kinds of code it accepts; a modal dialog's
handlers win; a code nobody accepts gets a clear message and a low tone.

Keyboard-layout pitfall: a scanner set to a US layout, plugged into a French (AZERTY) keyboard setting, types
"&é\"'(-è_çà" for its digits; the router recognises that and tells the person how to fix the layout.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QResizeEvent
from PySide6.QtWidgets import QApplication, QLineEdit, QWidget

from app.domain import barcode_rules, barcodes
from devices.scanners.wedge import WedgeConfig, azerty_to_digits, restore_group_separators, strip_affixes

Handler = Callable[[barcodes.ScanResult], None]


@dataclass(frozen=True)
class ScanEvent:
    raw: str
    result: barcodes.ScanResult


def kind_of(result: barcodes.ScanResult) -> str:
    if isinstance(result, barcodes.InternalCode):
        return result.internal_kind
    if isinstance(result, barcodes.Gtin | barcodes.Gs1 | barcodes.VariableMeasure):
        return "product"
    return result.kind


class ScanField(QLineEdit):
    """The field at the top of every workstation: scans and typed SKUs, Enter submits to the router."""

    resized = Signal()  # its width changed (the window fits its hint to it)

    def __init__(self, router: ScanRouter, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.router = router
        self.setObjectName("scanField")
        self.setPlaceholderText(self.tr("Scan, or type a code + Enter"))
        self.returnPressed.connect(self._submit)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self.resized.emit()

    def _submit(self) -> None:
        text = self.text()
        self.clear()
        if text.strip():
            self.router.dispatch(text)


def wedge_config(scanner: Any) -> WedgeConfig:
    """The `devices.scanner` setting as a WedgeConfig; ValueError names the field that cannot be used."""
    cfg = scanner if isinstance(scanner, dict) else {}
    try:
        return WedgeConfig(
            prefix=str(cfg.get("prefix") or ""),
            suffix=str(cfg.get("suffix") or ""),
            terminator="tab" if cfg.get("terminator") == "tab" else "enter",
            max_gap_ms=float(cfg.get("max_gap_ms") or 50),
            min_length=int(cfg.get("min_length") or 4),
            gs_substitute=str(cfg.get("gs_substitute") or ""),
        )
    except (TypeError, ValueError) as exc:
        raise ValueError(f"Scanner settings: {exc}") from exc


_MODIFIER_KEYS = frozenset(
    {Qt.Key.Key_Shift, Qt.Key.Key_Control, Qt.Key.Key_Alt, Qt.Key.Key_AltGr, Qt.Key.Key_Meta}
)


class ScanRouter(QObject):
    refused = Signal(str)  # a message for the message bar
    accepted = Signal(object)  # ScanEvent

    def __init__(
        self,
        config: barcodes.BarcodeConfig | None = None,
        max_gap_ms: float = 50,
        min_length: int = 4,
        clock: Callable[[], float] = time.monotonic,
        wedge: WedgeConfig | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        # What every scanner adds around a code (prefix, suffix, a GS substitute); stripped before parsing.
        self.wedge = wedge or WedgeConfig(max_gap_ms=max_gap_ms, min_length=min_length)
        self.max_gap = self.wedge.max_gap_ms / 1000
        self.min_length = self.wedge.min_length
        self.clock = clock
        self._routes: list[tuple[QWidget, dict[str, Handler]]] = []
        self._held: list[tuple[QObject, QKeyEvent]] = []
        self._text = ""
        self._last = 0.0
        self._replaying = False
        self._app: QApplication | None = None  # watched for bursts (`install`)
        self._filtering = False
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._replay)

    @classmethod
    def from_settings(cls, scanner: Any, rules: Any = None) -> ScanRouter:
        """The router the settings describe: `devices.scanner` (prefix, suffix, terminator, max_gap_ms,
        min_length, gs_substitute) and the store's barcode rules (`barcodes`, see app.domain.barcode_rules).
        Raises ValueError with a plain reason for a setting that cannot be used."""
        return cls(barcode_rules.config_from_setting(rules), wedge=wedge_config(scanner))

    def configure(self, scanner: Any, rules: Any = None) -> None:
        """Take new settings at once (Office > Devices saved); ValueError leaves the router as it was."""
        config, wedge = barcode_rules.config_from_setting(rules), wedge_config(scanner)
        self.config, self.wedge = config, wedge
        self.max_gap = wedge.max_gap_ms / 1000
        self.min_length = wedge.min_length

    # -- registration -------------------------------------------------------------------------------------
    def register(self, owner: QWidget, handlers: dict[str, Handler]) -> Callable[[], None]:
        """Route kinds ("product", "receipt", "parked", "badge", "order", "pickup", "return", "loyalty", "*")
        to handlers while `owner` is visible; returns the function that unregisters."""
        entry = (owner, handlers)
        self._routes.append(entry)

        def unregister() -> None:
            if entry in self._routes:
                self._routes.remove(entry)

        return unregister

    def _active_routes(self) -> list[dict[str, Handler]]:
        modal = QApplication.activeModalWidget()
        out = []
        for owner, handlers in reversed(self._routes):
            try:
                visible = owner.isVisible()
            except RuntimeError:  # the widget was deleted
                continue
            if not visible:
                continue
            if modal is not None and owner.window() is not modal:
                continue
            out.append(handlers)
        return out

    # -- dispatch ------------------------------------------------------------------------------------------
    def dispatch(self, raw: str) -> bool:
        """Parse one scan from any source (scan field, keyboard burst, serial port, camera) and route it."""
        text = restore_group_separators(strip_affixes(raw.strip("\r\n"), self.wedge), self.wedge).strip()
        if azerty_to_digits(text) is not None:
            self.refused.emit(
                self.tr(
                    "The scanner is typing through a French keyboard layout: set the scanner or the terminal to the "
                    "US layout, then scan again."
                )
            )
            return False
        result = barcodes.parse(text, self.config)
        kind = kind_of(result)
        for handlers in self._active_routes():
            handler = handlers.get(kind) or handlers.get("*")
            if handler is not None:
                self.accepted.emit(ScanEvent(text, result))
                handler(result)
                return True
        if isinstance(result, barcodes.Unknown):
            self.refused.emit(self.tr("Not a code this store knows: {0}").format(text[:40]))
        else:
            self.refused.emit(self.tr("This screen does not take that kind of code ({0}).").format(kind))
        return False

    # -- keyboard-wedge bursts outside a scan field ----------------------------------------------------------
    def install(self, app: QApplication) -> None:
        """Watch the keyboard application-wide for bursts, but only while the focus is outside a scan field (a
        scan field takes its scans itself). While it filters, every event of every widget (each paint among them)
        passes through Python and waits for the interpreter's lock, which the op helper's thread holds while it
        works: filtering during a scan into the scan field made a long sale's repaint about 3 ms slower."""
        if self._app is app:
            return
        self.uninstall()
        self._app = app
        app.focusChanged.connect(self._focus_moved)
        self._focus_moved(None, app.focusWidget())

    def uninstall(self) -> None:
        """Stop watching the keyboard (the window it served is gone; a test ends)."""
        if self._app is None:
            return
        self._app.focusChanged.disconnect(self._focus_moved)
        if self._filtering:
            self._app.removeEventFilter(self)
        self._app, self._filtering = None, False

    def _focus_moved(self, _old: QWidget | None, new: QWidget | None) -> None:
        want = not isinstance(new, ScanField)
        if self._app is not None and want != self._filtering:
            self._filtering = want
            if want:
                self._app.installEventFilter(self)
            else:
                self._app.removeEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if self._replaying or event.type() != QEvent.Type.KeyPress:
            return False
        if not isinstance(obj, QWidget) or isinstance(QApplication.focusWidget(), ScanField):
            return False
        ev: QKeyEvent = event  # type: ignore[assignment]
        if ev.key() in _MODIFIER_KEYS:
            # Scanners press Shift for capitals and Ctrl for the GS1 separator: the press itself is neither text
            # nor the end of a burst (before this, "R-S001" arrived as "s001" and Ctrl+] never arrived).
            return False
        now = self.clock()
        gap = now - self._last
        self._last = now
        if ev.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab) and self._held:
            if gap <= self.max_gap and len(self._text) >= self.min_length:
                text = self._text
                self._held.clear()
                self._text = ""
                self._timer.stop()
                self.dispatch(text)
                return True
            self._replay()
            return False
        text = ev.text()
        if (
            not text
            or not text.isprintable()
            or ev.modifiers() & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier)
        ):
            if ev.key() == Qt.Key.Key_BracketRight and ev.modifiers() & Qt.KeyboardModifier.ControlModifier:
                # Scanners send the GS1 separator as Ctrl+].
                if self._held:
                    self._text += "\x1d"
                    self._timer.start(int(self.max_gap * 1000) + 1)
                    return True
            self._replay()
            return False
        if self._held and gap > self.max_gap:
            self._replay()
        copy = QKeyEvent(ev.type(), ev.key(), ev.modifiers(), ev.text(), ev.isAutoRepeat(), ev.count())
        self._held.append((obj, copy))
        self._text += text
        self._timer.start(int(self.max_gap * 1000) + 1)
        return True

    def _replay(self) -> None:
        held, self._held, self._text = self._held, [], ""
        self._timer.stop()
        self._replaying = True
        try:
            for target, ev in held:
                QApplication.sendEvent(target, ev)
        finally:
            self._replaying = False
