"""The first-run wizard's pages (ui/first_run.py): the store, the devices, the first manager.

A page that does something on Next (enrol, save, add the manager) does it there, shows what went wrong under its
fields and stays; only what worked moves the wizard on. Network work (enrolling, the first sync) and the scale run
off the GUI thread (`Background`); the page is locked meanwhile.
"""

from __future__ import annotations

import json
import socket
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from PySide6.QtCore import QRegularExpression, Qt, QTimer
from PySide6.QtGui import QKeyEvent, QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from app.domain import barcodes
from app.services import first_run
from devices import scale
from ui.camera_preview import describe_scan
from ui.screens.office.devices_form import DevicesForm

if TYPE_CHECKING:
    from ui.first_run import FirstRunWizard

STORE, DEVICES, MANAGER = 0, 1, 2
RED, GREEN = "#b91c1c", "#166534"


def _message_label(name: str) -> QLabel:
    label = QLabel()
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setMinimumHeight(24)
    return label


def _say(label: QLabel, text: str, ok: bool) -> None:
    label.setText(text)
    label.setStyleSheet(f"color: {GREEN if ok else RED}; font-weight: 600; font-size: 16px;")


def _line(placeholder: str = "", name: str = "") -> QLineEdit:
    edit = QLineEdit()
    edit.setMinimumHeight(40)
    edit.setPlaceholderText(placeholder)
    if name:
        edit.setObjectName(name)
    return edit


class _ScanBox(QLineEdit):
    """The box a scanner types into: its Enter ends the scan here, never presses the wizard's Finish."""

    def keyPressEvent(self, event: QKeyEvent) -> None:
        super().keyPressEvent(event)
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            event.accept()


class _Page(QWizardPage):
    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__()
        self.wiz = wizard
        self._proceed = False  # the work of Next is done: the next validatePage lets the wizard move on

    def _go_on(self) -> None:
        """Move on once the work Next started has worked (called after it, never inside validatePage)."""
        self._proceed = True
        QTimer.singleShot(0, self.wiz.next if self.nextId() != -1 else self.wiz.accept)

    def _lock(self, busy: bool) -> None:
        for w in self.findChildren(QWidget):
            if isinstance(w, (QLineEdit, QRadioButton, QCheckBox)):
                w.setEnabled(not busy)
        self.wiz.button(self.wiz.WizardButton.NextButton).setEnabled(not busy)
        self.wiz.button(self.wiz.WizardButton.FinishButton).setEnabled(not busy)
        self.wiz.button(self.wiz.WizardButton.CommitButton).setEnabled(not busy)
        if not busy:
            self.completeChanged.emit()


class StorePage(_Page):
    """The demo store, or the central store's address and a one-time enrolment code."""

    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard)
        self.setTitle(self.tr("Which store is this till for?"))
        self.setSubTitle(
            self.tr(
                "Try Counterline with the demo store, or join your chain's central store with an enrolment code."
            )
        )
        lay = QVBoxLayout(self)
        self.demo = QRadioButton(
            self.tr("The demo store: made-up products, stock and staff, to try things out")
        )
        self.demo.setObjectName("chooseDemo")
        self.central = QRadioButton(self.tr("Join a central store (the office gives the address and a code)"))
        self.central.setObjectName("chooseCentral")
        group = QButtonGroup(self)
        for b in (self.demo, self.central):
            b.setMinimumHeight(36)
            group.addButton(b)
            lay.addWidget(b)
        self.demo.setChecked(True)  # on an empty data folder the demo store is the harmless choice
        form = QFormLayout()
        self.url = _line(self.tr("e.g. https://hq.example:8443"), "centralUrl")
        self.code = _line(self.tr("the one-time code, e.g. ABCD-EFGH-JKLM"), "enrolCode")
        self.name = _line(self.tr("a name for this till"), "terminalName")
        self.name.setText(socket.gethostname())
        self.insecure = QCheckBox(self.tr("Plain http to another machine (closed lab network only)"))
        form.addRow(self.tr("Central store's address"), self.url)
        form.addRow(self.tr("Enrolment code"), self.code)
        form.addRow(self.tr("This till's name"), self.name)
        form.addRow("", self.insecure)
        self.central_fields = QWidget()
        self.central_fields.setLayout(form)
        lay.addWidget(self.central_fields)
        self.message = _message_label("storeMessage")
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.setCommitPage(True)  # a store once set up is not taken back: no Back from the devices
        self.setButtonText(self.wiz.WizardButton.CommitButton, self.tr("Set up"))
        self.demo.toggled.connect(lambda _on: self._choice())
        for edit in (self.url, self.code):
            edit.textChanged.connect(lambda _t: self.completeChanged.emit())
        self._choice()

    def _choice(self) -> None:
        self.central_fields.setEnabled(self.central.isChecked())
        self.message.clear()
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        if self.demo.isChecked():
            return True
        return bool(self.url.text().strip() and self.code.text().strip())

    def validatePage(self) -> bool:
        if self._proceed:
            self._proceed = False
            return True
        state = self.wiz.refresh_state()
        if state.set_up and state.enrolled:
            self._after_enrol()  # enrolled a moment ago, the first sync then stopped: try it again
            return False
        if state.set_up:
            self._set_up()
            return False
        host = self.wiz.host
        if self.demo.isChecked():

            def seed() -> None:  # a few seconds for 2,400 products: off the GUI thread
                with host.factory.begin() as s:
                    first_run.set_up_demo(s)

            _say(self.message, self.tr("Creating the demo store…"), True)
            self._lock(True)
            self.wiz.background.start(seed, lambda _r: self._set_up(), self._refused)
            return False
        from sync.enrol import enrol

        url, code, name, insecure = (
            self.url.text(),
            self.code.text(),
            self.name.text(),
            self.insecure.isChecked(),
        )
        _say(self.message, self.tr("Asking the central store…"), True)
        self._lock(True)
        self.wiz.background.start(
            lambda: enrol(host.factory, host.paths.token_file, url, code, name, insecure),
            lambda _r: self._after_enrol(),
            self._refused,
        )
        return False

    def _after_enrol(self) -> None:
        """Enrolled: one sync round brings the store's catalog and staff (a manager page only where none came)."""
        from sync.enrol import first_sync

        host = self.wiz.host
        _say(self.message, self.tr("Enrolled. Fetching the store's products and staff…"), True)
        self._lock(True)
        self.wiz.background.start(
            lambda: first_sync(host.factory, host.paths.token_file), lambda _r: self._set_up(), self._refused
        )

    def _set_up(self) -> None:
        self._lock(False)
        state = self.wiz.refresh_state()
        _say(self.message, self.tr("This till is set up: {0}.").format(state.store), True)
        self._go_on()

    def _refused(self, message: str) -> None:
        self._lock(False)
        text = message[:1].upper() + message[1:]
        if self.wiz.state.set_up:
            text += " " + self.tr("Press Next to try the first sync again.")
        _say(self.message, text, False)


class DevicesPage(_Page):
    """Office > Devices' form with the scale, a Test button per device, and a box to scan into."""

    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard)
        self.setTitle(self.tr("The devices at this till"))
        self.setSubTitle(
            self.tr(
                "Leave a printer as 'folder' where there is none: its jobs are saved as PDF files. Test each one."
            )
        )
        lay = QVBoxLayout(self)
        self.form = DevicesForm(list(first_run.DEVICE_KEYS))
        lay.addWidget(self.form, 1)
        row = QHBoxLayout()
        self.scan_box = _ScanBox()
        self.scan_box.setObjectName("scanTestBox")
        self.scan_box.setMinimumHeight(40)
        self.scan_box.setPlaceholderText(self.tr("Scan any code into this box to test the scanner"))
        self.scan_box.returnPressed.connect(self._scanned)
        row.addWidget(self.scan_box, 1)
        lay.addLayout(row)
        self.message = _message_label("devicesMessage")
        lay.addWidget(self.message)
        self.form.test_requested.connect(self.test)
        self._loaded = False
        self.camera_dialog: Any = None

    def initializePage(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        for key, value in self.wiz.host.read(first_run.devices).items():
            self.form.editors[key].setPlainText(
                json.dumps(value or {"type": "none"}, indent=2, ensure_ascii=False)
            )

    def nextId(self) -> int:
        state = self.wiz.state
        return MANAGER if state.set_up and not state.has_staff else -1

    def values(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        for key in first_run.DEVICE_KEYS:
            value = self.form.value(key)
            if value is None:
                _say(self.message, self.tr("{0}: the raw settings are not valid JSON.").format(key), False)
                return None
            out[key] = value
        return out

    def _save(self, then: Any) -> None:
        values = self.values()
        if values is None:
            return
        self.wiz.host.run(
            lambda s, a: first_run.save_devices(s, a, values), lambda _r: then(values), self._error
        )

    def validatePage(self) -> bool:
        if self._proceed:
            self._proceed = False
            return True
        self._save(lambda _v: self._go_on())
        return False

    def _error(self, message: str) -> None:
        _say(self.message, message, False)

    # -- the Test buttons: the settings as shown are saved, then the real device is tried -----------------
    def test(self, key: str) -> None:
        self._save(lambda values: self._test(key, values))

    def _test(self, key: str, values: dict[str, Any]) -> None:
        printer = self.wiz.host.printer
        if key in ("devices.receipt_printer", "devices.label_printer", "devices.drawer") and printer is None:
            self._error(self.tr("The printer service is not running: restart the app, then try again."))
            return
        if key == "devices.receipt_printer":
            printer.test_page()
            self._sent(self.tr("Test page sent to the receipt printer."))
        elif key == "devices.label_printer":

            def queued(_r: Any) -> None:
                printer.wake()
                self._sent(self.tr("Test label sent to the label printer."))

            self.wiz.host.run(first_run.test_label, queued, self._error)
        elif key == "devices.drawer":
            self.wiz.host.run(first_run.test_drawer, lambda kick: self._kick(bool(kick), values), self._error)
        elif key == "devices.scanner":
            self._test_scanner(values[key])
        elif key == "devices.scale":
            self._test_scale(values[key])

    def _sent(self, text: str) -> None:
        _say(self.message, text, True)
        # The worker says how the job went once it has tried: show it a moment later.
        QTimer.singleShot(1500, self.message, lambda: self._printer_status(text))

    def _printer_status(self, text: str) -> None:
        printer = self.wiz.host.printer
        if printer is not None and self.message.text() == text:
            status = printer.status_text()
            _say(self.message, f"{text} ({status})", "ready" in status)

    def _kick(self, kick: bool, values: dict[str, Any]) -> None:
        if not kick:
            _say(
                self.message,
                self.tr("Recorded, but a test opens the drawer only while a shift is open."),
                False,
            )
            return
        if (values["devices.receipt_printer"] or {}).get("type") in ("folder", "none", None):
            self._error(
                self.tr("The drawer opens through the receipt printer: set up the receipt printer first.")
            )
            return
        self.wiz.host.printer.open_drawer()
        _say(self.message, self.tr("Drawer pulse sent through the receipt printer: did it open?"), True)

    def _test_scanner(self, setting: Any) -> None:
        if isinstance(setting, dict) and setting.get("type") == "camera":
            from ui.camera_preview import CameraPreview, camera_settings

            source, decoder = camera_settings(setting)
            self.camera_dialog = CameraPreview(source, decoder, parent=self)
            self.camera_dialog.open()
            self.camera_dialog.start()
            return
        self.scan_box.clear()
        self.scan_box.setFocus()
        _say(
            self.message,
            self.tr("Scan any code now: it shows in the box below and what it reads as here."),
            True,
        )

    def _scanned(self) -> None:
        raw = self.scan_box.text()
        if not raw.strip():
            return
        result = barcodes.parse(raw)
        title, details = describe_scan(result, lambda d: f"{d:.2f}")
        ok = not isinstance(result, barcodes.Unknown)
        _say(
            self.message,
            self.tr("The scanner sent {0!r}: {1}").format(raw, " · ".join([title, *details])),
            ok,
        )
        self.scan_box.selectAll()

    def _test_scale(self, setting: Any) -> None:
        try:
            config = scale.config_from_setting(setting)
        except ValueError as e:
            self._error(str(e))
            return
        if config is None:
            _say(
                self.message,
                self.tr("No scale at this till (Connection: none): the packer types the weight."),
                True,
            )
            return
        _say(self.message, self.tr("Asking the scale…"), True)
        self.wiz.background.start(
            lambda: scale.read_weight(config),
            lambda kg: _say(
                self.message, self.tr("The scale reads {0} kg.").format(f"{cast(Decimal, kg):f}"), True
            ),
            self._error,
        )


class ManagerPage(_Page):
    """The till's first manager, where no staff came with the store: a name and a PIN typed twice."""

    def __init__(self, wizard: FirstRunWizard) -> None:
        super().__init__(wizard)
        self.setTitle(self.tr("The first manager"))
        lay = QVBoxLayout(self)
        self.rule = QLabel()
        self.rule.setWordWrap(True)
        lay.addWidget(self.rule)
        form = QFormLayout()
        self.name = _line(self.tr("e.g. Morgan Lee"), "managerName")
        digits = QRegularExpressionValidator(QRegularExpression(r"\d{0,8}"), self)
        self.pin = _line("", "managerPin")
        self.confirm = _line("", "managerPinConfirm")
        for edit in (self.pin, self.confirm):
            edit.setEchoMode(QLineEdit.EchoMode.Password)
            edit.setValidator(digits)
            edit.setMaxLength(8)
        form.addRow(self.tr("Name"), self.name)
        form.addRow(self.tr("PIN"), self.pin)
        form.addRow(self.tr("PIN again"), self.confirm)
        lay.addLayout(form)
        self.message = _message_label("managerMessage")
        lay.addWidget(self.message)
        lay.addStretch(1)
        self.username = ""

    def initializePage(self) -> None:
        least = self.wiz.host.read(first_run.pin_length)
        self.rule.setText(
            self.tr(
                "No staff came with this store. Add its first manager: they sign in with this PIN and add the other "
                "staff in Office > Staff. The PIN is {0} to 8 digits (this store's rule for a manager)."
            ).format(least)
        )
        self.setSubTitle(self.tr("A PIN of at least {0} digits.").format(least))

    def validatePage(self) -> bool:
        name, pin, confirm = self.name.text(), self.pin.text(), self.confirm.text()

        def made(username: Any) -> None:
            self.username = str(username)
            _say(self.message, self.tr("Added: they sign in as {0}.").format(self.username), True)

        def refused(message: str) -> None:
            _say(self.message, message, False)
            self.pin.clear()
            self.confirm.clear()
            self.pin.setFocus()

        self.wiz.host.run(lambda s, _a: first_run.create_first_manager(s, name, pin, confirm), made, refused)
        return bool(
            self.username
        )  # the first run's host is synchronous; this page shows on the first run only
