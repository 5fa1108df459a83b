"""The Pack bench's dialogs: a new box (package type, or the pre-printed SSCC just scanned), a box's weight, the lot,
expiry and serial number of a unit whose scan did not carry them, and an item confirmed by hand (a reason; the
second person's approval opens over it). Each is a `FormDialog`: what was typed stays until the bench accepts it."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import parse_date
from PySide6.QtWidgets import QComboBox, QLineEdit, QWidget

from app.domain import barcodes
from app.domain.money import parse_weight
from app.services import packing
from ui.context import AppContext
from ui.widgets import FormDialog


def _text(limit: int) -> Any:
    def parse(text: str) -> str:
        value = text.strip()
        if len(value) > limit:
            raise ValueError(f"At most {limit} characters.")
        return value

    return parse


def parse_expiry(text: str, locale: str = "en_US") -> date:
    """An expiry date as printed on a pack: 2027-05-31, or the store's short date (31/05/2027)."""
    value = text.strip()
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return parse_date(value, locale=locale)
    except (ValueError, IndexError):
        raise ValueError("Enter the date as on the pack, e.g. 2027-05-31.") from None


def _field(name: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setObjectName(name)
    edit.setMinimumHeight(44)
    return edit


class BoxDialog(FormDialog):
    """Start a box: its package type; `sscc` is a pre-printed label just scanned (else one is made and printed)."""

    def __init__(
        self,
        ctx: AppContext,
        order_id: str,
        types: list[str],
        sscc: str | None,
        parent: QWidget | None = None,
    ) -> None:
        heading = (
            self.tr("New box with the scanned SSCC {0}").format(sscc)
            if sscc
            else self.tr("New box: its SSCC label prints first")
        )
        super().__init__(ctx, self.tr("New box"), heading, parent=parent)
        self.setObjectName("boxDialog")
        self.order_id, self.sscc = order_id, sscc
        self.kind = QComboBox()
        self.kind.setObjectName("packageType")
        self.kind.setMinimumHeight(44)
        for t in types:
            self.kind.addItem(t, t)
        self.add_field("package", self.tr("Package"), self.kind)
        self.on_ok = self._start

    def _start(self, values: dict[str, Any]) -> None:
        oid, kind, sscc = self.order_id, str(values["package"]), self.sscc
        self.run(lambda s, a: packing.start_box(s, a, oid, kind, sscc))


class WeightDialog(FormDialog):
    """A box's weight in kg, as the scale shows it (or as read from the scale, filled in)."""

    def __init__(
        self,
        ctx: AppContext,
        order_id: str,
        box: packing.BoxView,
        read: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            self.tr("Box weight"),
            self.tr("Box {0} ({1}): put it on the scale and enter its weight").format(
                box.box_no, box.package_type
            ),
            parent=parent,
        )
        self.setObjectName("boxWeightDialog")
        self.order_id, self.box_id = order_id, box.id
        self.field = _field("boxWeight")
        self.field.setPlaceholderText("0.000")
        self.field.setText(read)
        self.field.setStyleSheet("font-size: 28px;")
        self.add_field("weight", self.tr("Weight (kg)"), self.field, parse_weight, required=True)
        self.on_ok = self._save

    def _save(self, values: dict[str, Any]) -> None:
        oid, bid, kg = self.order_id, self.box_id, values["weight"]
        self.run(lambda s, a: packing.set_weight(s, a, oid, bid, kg), field="weight")


def _capture_fields(dialog: FormDialog, needs: tuple[str, ...], locale: str) -> None:
    if "lot" in needs:
        dialog.add_field("lot", dialog.tr("Lot"), _field("lot"), _text(20), required=True)
    if "expiry" in needs:
        dialog.add_field(
            "expiry", dialog.tr("Expiry"), _field("expiry"), lambda t: parse_expiry(t, locale), required=True
        )
    if "serial" in needs:
        dialog.add_field("serial", dialog.tr("Serial number"), _field("serial"), _text(20), required=True)


def _capture(values: dict[str, Any]) -> packing.Capture:
    return packing.Capture(values.get("lot") or None, values.get("expiry"), values.get("serial") or None)


class CaptureDialog(FormDialog):
    """What the scan did not carry (lot, expiry, serial), typed from the item's label; the unit counts once given."""

    def __init__(
        self,
        ctx: AppContext,
        order_id: str,
        code: str,
        name: str,
        needs: tuple[str, ...],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(ctx, self.tr("From the label"), name, parent=parent)
        self.setObjectName("captureDialog")
        self.order_id, self.code = order_id, code
        _capture_fields(self, needs, ctx.here.locale)
        self.on_ok = self._count
        # A GS1 label scanned now (the pack's own, or the case's) fills the fields it carries.
        unregister = ctx.router.register(self, {"product": self._scanned, "*": self._other})
        self.finished.connect(lambda _r: unregister())

    def _scanned(self, result: barcodes.ScanResult) -> None:
        got = {
            "lot": result.lot if isinstance(result, barcodes.Gs1) else None,
            "expiry": result.expiry.isoformat()
            if isinstance(result, barcodes.Gs1) and result.expiry
            else None,
            "serial": result.serial if isinstance(result, barcodes.Gs1) else None,
        }
        filled = False
        for name, value in got.items():
            edit = self.findChild(QLineEdit, name)
            if edit is not None and value:
                edit.setText(value)
                filled = True
        if not filled:
            self.show_error(self.tr("That barcode carries none of these: type them from the label."))

    def _other(self, result: barcodes.ScanResult) -> None:
        self.show_error(self.tr("That is not the item's label: type its details, or Esc to leave it out."))

    def _count(self, values: dict[str, Any]) -> None:
        oid, code, got = self.order_id, self.code, _capture(values)
        self.run(lambda s, a: packing.scan(s, a, oid, code, got))


class ByHandDialog(FormDialog):
    """One unit of a line whose barcode will not read: a reason, then a second person approves (over this dialog)."""

    def __init__(
        self,
        ctx: AppContext,
        order_id: str,
        line_id: str,
        name: str,
        needs: tuple[str, ...],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(
            ctx,
            self.tr("Confirm by hand"),
            self.tr(
                "{0}: one unit whose barcode will not read. A second person checks it and approves."
            ).format(name),
            parent=parent,
        )
        self.setObjectName("byHandDialog")
        self.order_id, self.line_id = order_id, line_id
        self.add_field(
            "reason",
            self.tr("Reason"),
            _field("reason"),
            _text(200),
            self.tr("Say why it cannot be scanned."),
        )
        _capture_fields(self, needs, ctx.here.locale)
        self.on_ok = self._confirm

    def _confirm(self, values: dict[str, Any]) -> None:
        oid, lid, reason, got = self.order_id, self.line_id, str(values["reason"]), _capture(values)
        self.run(lambda s, a: packing.confirm_by_hand(s, a, oid, lid, reason, got))
