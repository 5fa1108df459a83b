"""Office > Devices: the device settings as a form (devices_form.py) with a Test button per device, saving them
(the scanners take theirs at once), the Scan test box that shows what a scanner sends, and the camera preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QApplication,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from app.services import catalog, device_settings, drawer, printing, settings
from app.services.base import UserError
from devices.scanners.wedge import AZERTY_DIGIT_ROW, azerty_to_digits
from ui.camera_preview import RED, CameraPreview, breakable, camera_settings, describe_scan
from ui.scan_router import wedge_config
from ui.screens.office.base import OfficeTab
from ui.screens.office.devices_form import DevicesForm
from ui.screens.office.tables import button

if TYPE_CHECKING:
    from sqlalchemy.orm import Session  # the op helper's session, handed to services only


DEVICE_KEYS = ["devices.receipt_printer", "devices.label_printer", "devices.drawer", "devices.scanner"]


class DevicesTab(OfficeTab):
    """The Devices tab; see the module docstring."""

    def _build_devices(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        top = QHBoxLayout()
        # The fields of each device with its Test button, over the raw JSON (devices_form.py).
        self.devices_form = DevicesForm(DEVICE_KEYS)
        self.device_edits: dict[str, QPlainTextEdit] = self.devices_form.editors
        self.camera_dialog: CameraPreview | None = None
        top.addWidget(self.devices_form, 3)
        top.addWidget(self._build_scan_test(), 2)
        lay.addLayout(top, 1)
        row = QHBoxLayout()
        self.save_devices_btn = button(self.tr("Save"), self.save_devices, "primary")
        self.test_page_btn = self.devices_form.test_buttons["devices.receipt_printer"]
        self.drawer_btn = self.devices_form.test_buttons["devices.drawer"]
        self.camera_btn = button(self.tr("Camera preview"), self.open_camera_preview)
        # The first-run wizard again, on this set-up till: the devices with their tests (ui/first_run.py).
        self.rerun_btn = button(self.tr("Run set-up again"), self.run_setup_again)
        tests: dict[str, Callable[[], None]] = {
            "devices.receipt_printer": self.print_test_page,
            "devices.label_printer": self.print_test_label,
            "devices.drawer": self.open_drawer,
            "devices.scanner": self.test_scanner,
        }
        self.devices_form.test_requested.connect(lambda key: tests[key]())
        for b in (self.save_devices_btn, self.camera_btn, self.rerun_btn):
            row.addWidget(b)
        row.addStretch(1)
        lay.addLayout(row)
        return page

    def _build_scan_test(self) -> QGroupBox:
        """The box that shows what the scanner sends; it takes every scan while it is on screen."""
        box = QGroupBox(self.tr("Scan test"))
        box.setObjectName("scanTest")
        box.setMinimumWidth(340)
        self.scan_test_box = box
        outer = QVBoxLayout(box)
        outer.setContentsMargins(0, 0, 0, 0)
        # On a small counter screen a long GS1 scan and a warning need more height than there is: scroll.
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        inner.setObjectName("scanTestInner")
        inner.setStyleSheet("QWidget#scanTestInner { background: transparent; }")
        scroll.viewport().setStyleSheet("background: transparent;")
        scroll.setWidget(inner)
        outer.addWidget(scroll)
        bl = QVBoxLayout(inner)
        hint = QLabel(
            self.tr(
                "Scan any code: what the scanner sent, what it reads as and the product it finds show here. "
                "Nothing is sold."
            )
        )
        hint.setObjectName("hint")
        hint.setWordWrap(True)
        bl.addWidget(hint)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)

        def value(name: str, style: str) -> QLabel:
            label = QLabel("—")
            label.setObjectName(name)
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setMinimumWidth(60)  # a long code wraps or clips; it never widens the tab
            label.setStyleSheet(style)
            return label

        self.scan_test_raw = value("scanTestRaw", "font-family: monospace; font-size: 19px;")
        self.scan_test_kind = value("scanTestKind", "font-size: 18px;")
        self.scan_test_product = value("scanTestProduct", "font-size: 18px;")
        for caption, label in (
            (self.tr("Sent by the scanner"), self.scan_test_raw),
            (self.tr("Reads as"), self.scan_test_kind),
            (self.tr("Product"), self.scan_test_product),
        ):
            cap = QLabel(caption)
            cap.setStyleSheet("color: #4b5563; font-size: 15px; margin-top: 6px;")
            form.addRow(cap, label)
        # The layout warning comes first: when it shows, it is what the person must act on.
        self.scan_test_warning = value("scanTestWarning", f"color: {RED}; font-weight: 600; font-size: 17px;")
        self.scan_test_warning.hide()
        bl.addWidget(self.scan_test_warning)
        bl.addLayout(form)
        bl.addStretch(1)
        # Routed scans reach the box only while it is visible: Devices tab open, the role allowed, no dialog.
        self.ctx.router.register(box, {"*": self.scan_test})
        self.ctx.router.refused.connect(self._scan_test_refused)
        return box

    def scan_test(self, result: barcodes.ScanResult) -> None:
        """Show one routed scan: the raw text, how it parses and (off the GUI thread) the product it finds."""
        raw = result.raw
        self.scan_test_raw.setText(breakable(raw) + "\n" + self.tr("({0} characters)").format(len(raw)))
        title, details = describe_scan(result, self.money)
        self.scan_test_kind.setText("\n".join(breakable(line) for line in [title, *details]))
        self.scan_test_kind.setStyleSheet(
            "font-size: 18px;" + (f" color: {RED};" if isinstance(result, barcodes.Unknown) else "")
        )
        self.scan_test_product.setText(self.tr("Looking it up…"))
        self.scan_test_product.setStyleSheet("font-size: 18px; color: #4b5563;")
        warning = self._layout_warning(raw)
        self.scan_test_warning.setText(warning or "")
        self.scan_test_warning.setVisible(warning is not None)

        def find(s: Session) -> catalog.Found | str:
            try:
                return catalog.find_scan(s, result)
            except UserError as exc:  # not found is an answer here, not a failure
                return str(exc)

        self.ctx.ops.read(find, self._show_scan_test_product)

    def _show_scan_test_product(self, found: catalog.Found | str) -> None:
        if isinstance(found, str):
            self.scan_test_product.setText(breakable(found))  # the message quotes the scan, GS and all
            self.scan_test_product.setStyleSheet(f"font-size: 18px; color: {RED}; font-weight: 600;")
            return
        p = found.product
        unit = self.tr("per kg") if p.unit == "kg" else self.tr("each")
        lines = [p.name, f"SKU {p.sku} · {self.money(p.price)} {unit}"]
        if found.fixed_amount is not None:
            lines.append(self.tr("Label price {0}").format(self.money(found.fixed_amount)))
        elif p.unit == "kg" and found.qty != 1:
            lines.append(self.tr("Weight {0} kg").format(found.qty))
        elif found.qty != 1:
            lines.append(self.tr("Case of {0}").format(f"{found.qty.normalize():f}"))
        self.scan_test_product.setText("\n".join(lines))
        self.scan_test_product.setStyleSheet("font-size: 18px; color: #166534; font-weight: 600;")

    def _layout_warning(self, raw: str) -> str | None:
        """A keyboard-layout problem the scan shows, in words that say how to fix it, else None."""
        meant = azerty_to_digits(raw)
        if meant is not None:
            return self.tr(
                "This reads like {0} typed through a French (AZERTY) keyboard layout: set the scanner's keyboard "
                "country to the terminal's layout (or the terminal to US), then scan again."
            ).format(meant)
        if any(c in AZERTY_DIGIT_ROW and not c.isascii() for c in raw):
            return self.tr(
                "Accented letters (é è ç à) came in: the scanner types through a French keyboard layout. Set the "
                "scanner's keyboard country to the terminal's layout, then scan again."
            )
        return None

    def _scan_test_refused(self, message: str) -> None:
        """The router holds back a scan it sees was typed through the wrong keyboard layout: say so here too."""
        if not self.scan_test_box.isVisible() or QApplication.activeModalWidget() is not None:
            return
        self.scan_test_raw.setText(self.tr("(held back: the scan did not arrive as the scanner meant it)"))
        self.scan_test_kind.setText("—")
        self.scan_test_kind.setStyleSheet("font-size: 18px;")
        self.scan_test_product.setText("—")
        self.scan_test_product.setStyleSheet("font-size: 18px;")
        self.scan_test_warning.setText(message)
        self.scan_test_warning.show()

    def open_camera_preview(self) -> None:
        """Open the camera preview on the camera the saved Scanner settings name."""
        self.ctx.ops.read(lambda s: settings.get(s, "devices.scanner"), self._show_camera_preview)

    def _show_camera_preview(self, scanner: Any) -> None:
        source, decoder = camera_settings(scanner)
        if self.camera_dialog is not None:
            self.camera_dialog.close()
        sources = self.ctx.services.get("scanners")
        if sources is not None:
            sources.pause()  # one camera, one reader: the preview's, until it closes
        dialog = CameraPreview(source, decoder, money=self.money, parent=self, sounds=self.ctx.sounds)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(lambda _r: self._camera_closed(dialog))
        self.camera_dialog = dialog
        dialog.open()
        dialog.start()

    def _camera_closed(self, dialog: CameraPreview) -> None:
        if self.camera_dialog is dialog:
            self.camera_dialog = None
            sources = self.ctx.services.get("scanners")
            if sources is not None:
                sources.resume()
        self.camera_btn.setFocus()

    def load_devices(self) -> None:
        def read(s: Session) -> dict[str, Any]:
            return {k: settings.get(s, k) for k in DEVICE_KEYS}

        def show(values: dict[str, Any]) -> None:
            for k, v in values.items():
                self.device_edits[k].setPlainText(json.dumps(v, indent=2, ensure_ascii=False))

        self.ctx.ops.read(read, show)

    def save_devices(self) -> None:
        values: dict[str, Any] = {}
        for key, edit in self.device_edits.items():
            try:
                values[key] = json.loads(edit.toPlainText())
            except json.JSONDecodeError as exc:
                self._error(
                    self.tr("{0}: not valid JSON at line {1}, column {2} ({3}). Nothing was saved.").format(
                        key, exc.lineno, exc.colno, exc.msg
                    )
                )
                edit.setFocus()
                return

        try:
            # A key gap of "fast" is refused here, not at the counter.
            wedge_config(values.get("devices.scanner"))
        except ValueError as exc:
            self._error(self.tr("{0} Nothing was saved.").format(exc))
            return

        def done(_r: Any) -> None:
            # Printers and the drawer read their settings per job; the scanners take theirs now.
            self.ctx.ops.read(lambda s: settings.get(s, "barcodes"), apply_scanners)
            self.save_devices_btn.setFocus()

        def apply_scanners(rules: Any) -> None:
            self._apply_scanner(values.get("devices.scanner"), rules)

        self.ctx.ops.run(lambda s, a: device_settings.save(s, a, values), done)

    def _apply_scanner(self, scanner: Any, rules: Any) -> None:
        """Saved scanner settings into use now (printers and the drawer read theirs per job)."""
        sources = self.ctx.services.get("scanners")
        try:
            if sources is not None:
                sources.apply(scanner, rules)
            else:
                self.ctx.router.configure(scanner, rules)
        except ValueError as exc:
            self._error(self.tr("Device settings saved, but the scanner keeps its old ones: {0}").format(exc))
            return
        self.ctx.messages.show_notice(self.tr("Device settings saved and in use."))

    def run_setup_again(self) -> Any:
        """The first-run wizard on this set-up till: the devices only, saved as the signed-in person."""
        from ui.first_run import rerun

        paths = self.ctx.paths
        if paths is None:
            self._error(self.tr("This window was started without its data folder: restart the app."))
            return None
        wizard = rerun(self.ctx.ops, self.ctx.factory, paths, self.ctx.services.get("printer"), self)

        def finished(result: int) -> None:
            if result:
                self.load_devices()
                self.ctx.ops.read(
                    lambda s: (settings.get(s, "devices.scanner"), settings.get(s, "barcodes")),
                    lambda got: self._apply_scanner(*got),
                )

        wizard.finished.connect(finished)
        return wizard

    def _printer(self) -> Any:
        worker = self.ctx.services.get("printer")
        if worker is None:
            self._error(self.tr("The printer service is not running: restart the app, then try again."))
        return worker

    def print_test_page(self) -> None:
        worker = self._printer()
        if worker is None:
            return
        worker.test_page()
        self.ctx.messages.show_notice(self.tr("Test page sent to the receipt printer."))
        self.test_page_btn.setFocus()

    def print_test_label(self) -> None:
        worker = self._printer()
        if worker is None:
            return

        def done(_r: Any) -> None:
            worker.wake()
            self.ctx.messages.show_notice(self.tr("Test label sent to the label printer."))

        self.ctx.ops.run(printing.test_label, done)

    def test_scanner(self) -> None:
        """A camera opens its preview; a keyboard or serial scanner is tested by scanning into the Scan test box."""
        if self.devices_form.device_type("devices.scanner") == "camera":
            self.open_camera_preview()
            return
        self.ctx.messages.show_notice(
            self.tr("Scan any code now: the Scan test box shows what the scanner sent and what it reads as.")
        )

    def open_drawer(self) -> None:
        if self._printer() is None:
            return

        def done(opened: drawer.DrawerOpened) -> None:
            self._kick(opened)  # counted as a no-sale on the open shift's Z, like F11
            self.drawer_btn.setFocus()

        self.ctx.ops.run(lambda s, a: drawer.open_drawer(s, a, "test"), done)
