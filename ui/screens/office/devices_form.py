"""Office > Devices as a form: the fields each device needs, a Test button per device, raw JSON for the rare rest.

Each device setting (`devices.receipt_printer`, `devices.label_printer`, `devices.drawer`, `devices.scanner`, and
`devices.scale` in the first-run wizard) is one JSON object. The raw JSON editors stay the one copy of it (a rare field such as a printer's `status_query` or a
scanner's `gs_substitute` lives only there); the form is a view over them: editing a field rewrites its key in
the JSON, and editing or loading the JSON refills the fields. Fields that do not apply to the chosen type (a serial
port for a network printer) are hidden and their keys left as they are. Saving, and what each Test button does,
stay with the Office screen, which checks the permission and writes the audit entry.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from devices.drawer import PINS
from ui.scan_sources import SERIAL_TERMINATORS


@dataclass(frozen=True)
class Field:
    key: str  # the key in the device's JSON
    label: str
    choices: tuple[str, ...] = ()  # a drop-down when given
    number: bool = False  # saved as a whole number
    types: tuple[str, ...] | None = None  # shown only for these values of "type" (None: always)
    hint: str = ""


PRINTER_TYPES = ("folder", "file", "network", "serial", "usb", "none")
PRINTER_FIELDS = (
    Field("type", "Connection", PRINTER_TYPES),
    Field("path", "Folder or file", types=("folder", "file"), hint="e.g. /var/spool/counterline"),
    Field("host", "Address", types=("network",), hint="e.g. 192.168.1.50"),
    Field("port", "Port", types=("network", "serial"), hint="9100, or /dev/ttyUSB0 for a serial printer"),
    Field("baudrate", "Baud rate", number=True, types=("serial",), hint="e.g. 9600"),
    Field("vendor_id", "USB vendor id", types=("usb",), hint="e.g. 0x04b8"),
    Field("product_id", "USB product id", types=("usb",), hint="e.g. 0x0202"),
)
FIELDS: dict[str, tuple[Field, ...]] = {
    "devices.receipt_printer": PRINTER_FIELDS,
    "devices.label_printer": PRINTER_FIELDS,
    "devices.drawer": (Field("pin", "Pin (receipt printer)", tuple(str(p) for p in PINS), number=True),),
    "devices.scanner": (
        Field("type", "Scanner", ("wedge", "serial", "camera")),
        Field("prefix", "Prefix", hint="what the scanner adds before each code"),
        Field("suffix", "Suffix", hint="what it adds after each code"),
        Field("terminator", "Ends with", ("enter", "tab"), types=("wedge",)),
        Field("terminator", "Ends with", tuple(SERIAL_TERMINATORS), types=("serial",)),
        Field("max_gap_ms", "Key gap (ms)", number=True, types=("wedge",), hint="50: faster keys are a scan"),
        Field("port", "Serial port", types=("serial",), hint="e.g. /dev/ttyACM0 or COM3"),
        Field("baudrate", "Baud rate", number=True, types=("serial",), hint="e.g. 9600"),
        Field("camera", "Camera", types=("camera",), hint="0 for the first camera, or a video file"),
        Field("decoder", "Decoder", ("zxing-cpp", "pyzbar"), types=("camera",)),
    ),
    "devices.scale": (
        Field("type", "Connection", ("none", "serial")),
        Field("port", "Serial port", types=("serial",), hint="e.g. /dev/ttyUSB0, COM3 or socket://host:port"),
        Field("baudrate", "Baud rate", number=True, types=("serial",), hint="e.g. 9600"),
    ),
}
TITLES = {
    "devices.receipt_printer": "Receipt printer",
    "devices.label_printer": "Label printer",
    "devices.drawer": "Cash drawer",
    "devices.scanner": "Scanner",
    "devices.scale": "Scale (Pack bench)",
}
TEST_LABELS = {
    "devices.receipt_printer": "Test page",
    "devices.label_printer": "Test label",
    "devices.drawer": "Open drawer",
    "devices.scanner": "Test scan",
    "devices.scale": "Weigh",
}


class DevicesForm(QWidget):
    """The device fields in four boxes, each with its Test button, over the raw JSON editors."""

    test_requested = Signal(str)  # the device key whose Test button was pressed

    def __init__(self, keys: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.keys = keys
        self.editors: dict[str, QPlainTextEdit] = {}
        self.inputs: dict[str, list[tuple[Field, QLineEdit | QComboBox]]] = {}
        self.forms: dict[str, QFormLayout] = {}
        self.test_buttons: dict[str, QPushButton] = {}
        self._syncing = False
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        # The fields scroll on a small counter screen rather than squeeze; the raw JSON takes their place.
        inner = QWidget()
        inner.setObjectName("devicesFields")
        grid = QGridLayout(inner)
        grid.setContentsMargins(0, 0, 0, 0)
        for i, key in enumerate(keys):
            grid.addWidget(self._box(key), i // 2, i % 2, Qt.AlignmentFlag.AlignTop)
        grid.setRowStretch((len(keys) + 1) // 2, 1)
        self.fields_area = QScrollArea()
        self.fields_area.setWidgetResizable(True)
        self.fields_area.setFrameShape(QFrame.Shape.NoFrame)
        self.fields_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.fields_area.setWidget(inner)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.fields_area)
        lay.addWidget(self.pages, 1)
        self.raw_toggle = QPushButton(self.tr("Show raw settings (JSON) for rare fields"))
        self.raw_toggle.setCheckable(True)
        self.raw_toggle.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.raw_toggle.setMinimumHeight(40)
        self.raw_toggle.toggled.connect(self._show_raw)
        lay.addWidget(self.raw_toggle)
        self.raw = QTabWidget()
        for key in keys:
            edit = QPlainTextEdit()
            edit.setObjectName(key)
            edit.setStyleSheet("font-family: monospace; font-size: 15px;")
            edit.textChanged.connect(lambda k=key: self._from_json(k))
            self.editors[key] = edit
            self.raw.addTab(edit, self.tr(TITLES.get(key, key)))
        self.pages.addWidget(self.raw)
        for key in keys:
            self._show_fields(key)  # before the first load too: the window's size counts visible rows only

    def _box(self, key: str) -> QGroupBox:
        box = QGroupBox()
        box.setObjectName(f"box-{key}")
        outer = QVBoxLayout(box)
        outer.setContentsMargins(8, 4, 8, 6)
        # The box's title and its Test button share the top row, so the fields fit a 1280x800 counter screen.
        head = QHBoxLayout()
        title = QLabel(self.tr(TITLES.get(key, key)))
        title.setStyleSheet("font-weight: 600;")
        head.addWidget(title, 1)
        test = QPushButton(self.tr(TEST_LABELS.get(key, "Test")))
        test.setMinimumHeight(40)
        test.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        test.clicked.connect(lambda _c=False, k=key: self.test_requested.emit(k))
        self.test_buttons[key] = test
        head.addWidget(test)
        outer.addLayout(head)
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setVerticalSpacing(6)
        self.forms[key] = form
        self.inputs[key] = []
        for field in FIELDS.get(key, ()):
            widget: QLineEdit | QComboBox
            if field.choices:
                combo = QComboBox()
                combo.addItems(list(field.choices))
                combo.setMinimumHeight(34)
                combo.activated.connect(lambda _i, k=key: self._to_json(k))
                widget = combo
            else:
                line = QLineEdit()
                line.setMinimumHeight(34)
                line.setPlaceholderText(field.hint)
                line.textEdited.connect(lambda _t, k=key: self._to_json(k))
                widget = line
            widget.setObjectName(f"{key}.{field.key}")
            form.addRow(self.tr(field.label), widget)
            self.inputs[key].append((field, widget))
        outer.addLayout(form)
        return box

    def _show_raw(self, shown: bool) -> None:
        self.pages.setCurrentWidget(self.raw if shown else self.fields_area)
        self.raw_toggle.setText(
            self.tr("Back to the fields") if shown else self.tr("Show raw settings (JSON) for rare fields")
        )

    # -- the JSON is the one copy; the fields are a view over it ------------------------------------------
    def value(self, key: str) -> dict[str, Any] | None:
        """The device's JSON as an object, or None while the raw text is not valid JSON."""
        try:
            data = json.loads(self.editors[key].toPlainText() or "{}")
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    def _from_json(self, key: str) -> None:
        if self._syncing:
            return
        data = self.value(key)
        if data is None:
            return  # half-typed JSON: the fields keep what they showed; Save says what is wrong
        self._syncing = True
        try:
            for field, widget in self.inputs[key]:
                shown = data.get(field.key)
                text = "" if shown is None else str(shown)
                if isinstance(widget, QComboBox):
                    if text and widget.findText(text) < 0:
                        widget.addItem(text)  # a value the form does not list stays visible, not replaced
                    widget.setCurrentIndex(max(0, widget.findText(text)))
                else:
                    widget.setText(text)
        finally:
            self._syncing = False
        self._show_fields(key)

    def _to_json(self, key: str) -> None:
        if self._syncing:
            return
        data = self.value(key)
        if data is None:
            data = {}
        kind = self.device_type(key)
        for field, widget in self.inputs[key]:
            if field.types is not None and kind not in field.types:
                continue
            text = widget.currentText() if isinstance(widget, QComboBox) else widget.text().strip()
            if not text:
                data.pop(field.key, None)
            elif field.number or (field.key == "port" and text.isdigit()):
                data[field.key] = int(text) if text.isdigit() else text  # Save's check says what is wrong
            else:
                data[field.key] = text
        self._syncing = True
        try:
            self.editors[key].setPlainText(json.dumps(data, indent=2, ensure_ascii=False))
        finally:
            self._syncing = False
        self._show_fields(key)

    def device_type(self, key: str) -> str:
        for field, widget in self.inputs[key]:
            if field.key == "type" and isinstance(widget, QComboBox):
                return widget.currentText()
        return ""

    def _show_fields(self, key: str) -> None:
        kind = self.device_type(key)
        for field, widget in self.inputs[key]:
            self.forms[key].setRowVisible(widget, field.types is None or kind in field.types)
