"""Pack: the bench where a shipped web order is scanned unit by unit into its boxes, weighed, packed and shipped.

Scan the order's number (pick list or slip) or take the next of the queue (F2); start a box (F3: its SSCC label
prints first) or scan a pre-printed SSCC; scan every unit into it. A wrong item, an over-scan or an item of another
order stops the bench: red, a low tone, and no scan counts until the message is acknowledged (Enter or a tap). A unit
whose scan lacks the lot, expiry or serial number its product needs asks for them. An item whose barcode will not
read is confirmed by hand (F5) only with a second person's approval and a reason. Weigh each box (F4), then F10
packs the order and asks the carrier (through the central store) for the tracking numbers; with the central store
out of reach the order stays packed and the bench says so, and F10 ships it later.

The screen holds no rules: each action is one `app.services.packing` call through the op helper; the carrier call
runs on its own thread (the counter never waits on the network).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

from app.domain import barcodes, prefixes
from app.services import packing, settings
from app.services.base import Changes
from devices import scale
from ui import threads
from ui.context import AppContext
from ui.screens.pack_dialogs import BoxDialog, ByHandDialog, CaptureDialog, WeightDialog
from ui.theme import GOOD_GREEN
from ui.widgets import FormDialog
from ui.workstation import Action, Row, Workstation

log = logging.getLogger(__name__)

KEYS = [
    Action("F2", "Next order", "next_order"),
    Action("F3", "New box", "new_box"),
    Action("F4", "Weight", "weigh"),
    Action("F5", "By hand", "by_hand", "danger"),
    Action("F1", "Keys", "help"),
]


class _Carrier(QObject):
    """The carrier call off the GUI thread; `done(order_id, shipments or None, message)` back on it."""

    done = Signal(str, object, str)

    def ask(self, make_client: Callable[[], Any], packed: packing.Packed) -> None:
        # Here, not at the top: the wire's models (pydantic) and the HTTP client are no part of the app's start.
        from sync import protocol
        from sync.client import Refused, SyncError

        boxes = [
            protocol.ShipmentBoxRequest(
                sscc=p.sscc,
                weight=p.weight_kg,
                package_type=p.package_type,
                lines=[protocol.ShipmentLine(sku=sku, qty=qty) for sku, qty in p.lines],
            )
            for p in packed.parcels
        ]

        def work() -> None:
            try:
                with make_client() as client:
                    answer = client.create_shipments(packed.order_id, boxes)
                shipments = [
                    packing.Shipment(
                        a.sscc,
                        a.tracking,
                        a.carrier,
                        a.service,
                        tuple(a.ship_from),
                        tuple(a.ship_to),
                        tuple(a.label_lines),
                    )
                    for a in answer
                ]
                self.done.emit(packed.order_id, shipments, "")
            except Refused as e:
                self.done.emit(packed.order_id, None, self.tr("the central store refused it: {0}").format(e))
            except SyncError:
                self.done.emit(packed.order_id, None, self.tr("the central store is out of reach"))
            except Exception:  # noqa: BLE001 - shown in plain words, the order stays packed
                log.exception("asking the carrier failed")
                self.done.emit(packed.order_id, None, self.tr("the carrier could not be asked"))

        threads.start(work, "counterline-carrier")


class _Scale(QObject):
    """The bench scale read off the GUI thread; `then(kg or None, why)` back on it."""

    done = Signal(object, str, object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.done.connect(lambda kg, why, then: then(kg, why))

    def read(self, config: scale.ScaleConfig, then: Callable[[Decimal | None, str], None]) -> None:
        def work() -> None:
            try:
                self.done.emit(scale.read_weight(config), "", then)
            except scale.ScaleError as e:
                self.done.emit(None, str(e), then)

        threads.start(work, "counterline-scale")


class PackScreen(Workstation):
    title = "Pack"
    columns = ("Item", "Packed", "Ordered", "Lot / serial")
    numeric = (1, 2)
    caps = {3: 260}
    action_keys = KEYS
    primary = Action("F10", "Pack and ship", "finish")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.bench: packing.BenchView | None = None
        self.stopped = ""  # the refusal the bench waits on, until acknowledged
        self.dialog: FormDialog | None = None  # the dialog in front, if any
        self.shipping = False
        self._in_scan = False  # a scan handler is running, before its trailing Enter has gone by
        super().__init__(ctx, parent)
        self.table.setObjectName("packLines")
        self.caption.setText(self.tr("Left to scan"))
        self.boxes_label = QLabel()
        self.boxes_label.setObjectName("packBoxes")
        self.boxes_label.setWordWrap(True)
        self.boxes_label.setStyleSheet("font-size: 16px;")
        self.extra.addWidget(self.boxes_label)
        self.carrier = _Carrier(self)
        self.carrier.done.connect(self._shipped_or_not)
        self.scale = _Scale(self)
        ctx.messages.acknowledged.connect(self._acknowledged)
        self.show_bench(None)

    def routes(self) -> dict[str, Callable[[Any], None]]:
        routes = {
            "order": self.on_order,
            "product": self.on_item,
            "unknown": self.on_item,
            "sscc": self.on_sscc,
            "*": self.on_other,
        }
        return {kind: self._scanning(handler) for kind, handler in routes.items()}

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        if self.bench is not None:
            oid = self.bench.order.order_id
            self.ctx.ops.read(lambda s: packing.view(s, oid), self.show_bench)
        else:
            self.ctx.ops.read(packing.queue, self._show_queue)

    def on_changed(self, changes: Changes) -> None:
        if changes.orders and self.bench is None and self.isVisible():
            self.ctx.ops.read(packing.queue, self._show_queue)

    def _show_queue(self, waiting: list[packing.QueuedOrder]) -> None:
        if self.bench is not None:
            return
        if waiting:
            text = self.tr("{0} orders to pack. Scan an order's number, or F2 for the oldest ({1}).").format(
                len(waiting), waiting[0].number
            )
        else:
            text = self.tr("No orders waiting to be packed.")
        self.figures.setText(text)

    # -- showing the bench -----------------------------------------------------------------------------------
    def show_bench(self, bench: packing.BenchView | None) -> None:
        if bench is not None and (self.bench is None or bench.order.order_id != self.bench.order.order_id):
            self.current, self.chosen = None, False
        self.bench = bench
        if bench is None:
            self.number.setText("")
            self.set_figure("")
            self.figure.setStyleSheet("")
            self.figures.setText(self.tr("Scan an order's number, or F2 for the next in the queue."))
            self.boxes_label.setText("")
            self.show_rows([])
            self._enable()
            return
        if bench.order.line_id and bench.order.verdict in ("counted", "line_done", "order_done"):
            self.current, self.chosen = bench.order.line_id, False
            self.highlight = bench.order.line_id
        self.show_rows(self._rows(bench))
        box = bench.box
        head = self.tr("Order {0}").format(bench.order.number)
        if box is not None:
            head += "  ·  " + self.tr("Box {0} ({1})").format(box.box_no, packing.words(box.package_type))
        self.number.setText(head)
        left = bench.left
        self.set_figure(f"{left.normalize():f}")
        self.figure.setStyleSheet(f"color: {GOOD_GREEN};" if left == 0 else "")
        status = bench.order.status
        if status == "packed":
            self.caption.setText(self.tr("Packed: ship it (F10)"))
        elif status == "shipped":
            self.caption.setText(self.tr("Shipped"))
        else:
            self.caption.setText(self.tr("Left to scan"))
        units = sum((ln.qty for ln in bench.order.lines), Decimal(0))
        self.figures.setText(
            self.tr("Packed {0} of {1} · Boxes: {2}").format(
                f"{(units - left).normalize():f}", f"{units.normalize():f}", len(bench.boxes)
            )
        )
        self.boxes_label.setText("<br>".join(self._box_text(b) for b in bench.boxes))
        self._enable()

    def _box_text(self, box: packing.BoxView) -> str:
        weight = f"{box.weight_kg.normalize():f} kg" if box.weight_kg is not None else self.tr("not weighed")
        text = self.tr("Box {0} · units: {1} · {2} · SSCC {3}").format(
            box.box_no, f"{box.units.normalize():f}", weight, box.sscc
        )
        if box.tracking:
            text += " · " + self.tr("tracking {0}").format(box.tracking)
        return text

    def _rows(self, bench: packing.BenchView) -> list[Row]:
        marks: dict[str, list[str]] = {}
        for box in bench.boxes:
            for item in box.items:
                names = [
                    x for x in (item.lot, item.expiry.isoformat() if item.expiry else None, item.serial) if x
                ]
                if item.by_hand:
                    names.append(self.tr("by hand"))
                if names:
                    marks.setdefault(item.sku, []).append(" ".join(names))
        rows = []
        for ln in bench.order.lines:
            need = bench.line_needs.get(ln.line_id, ())
            note = "; ".join(marks.get(ln.sku, [])) or (
                self.tr("needs {0}").format(", ".join(need)) if need else ""
            )
            cells = (ln.name, f"{ln.scanned.normalize():f}", f"{ln.qty.normalize():f}", note)
            rows.append(Row(ln.line_id, cells))
        return rows

    def _enable(self) -> None:
        b = self.bench
        working = b is not None and b.order.status in ("new", "picking")
        self.buttons["new_box"].setEnabled(working)
        self.buttons["weigh"].setEnabled(b is not None and b.box is not None and b.order.status != "shipped")
        self.buttons["by_hand"].setEnabled(working and b is not None and b.box is not None)
        assert self.primary_button is not None
        self.primary_button.setEnabled(
            not self.shipping
            and b is not None
            and (b.order.complete or b.order.status == "packed")
            and b.order.status != "shipped"
        )

    # -- refusals stop the bench -----------------------------------------------------------------------------
    def refuse(self, message: str) -> None:
        """Stop the bench: red, a low tone, and no scan counts until a person acknowledges it (Enter or a tap).
        Shown once the scan's own trailing Enter has gone by, so the scanner never acknowledges its own refusal."""
        self.stopped = message
        if self._in_scan:
            QTimer.singleShot(0, lambda: self._show_stop(message))
        else:
            self._show_stop(message)

    def _show_stop(self, message: str, hint: str = "") -> None:
        self.stopped = message
        self.ctx.messages.show_error(message + (f"  {hint}" if hint else ""))

    def _acknowledged(self) -> None:
        self.stopped = ""

    def _waiting(self) -> bool:
        """A refusal not yet acknowledged: nothing counts until it is (the scan is refused again, with why)."""
        if not self.stopped:
            return False
        message, hint = self.stopped, self.tr("Press Enter to acknowledge first: that scan did not count.")
        QTimer.singleShot(0, lambda: self._show_stop(message, hint))
        return True

    def _scanning(self, handler: Callable[[Any], None]) -> Callable[[Any], None]:
        """A scan handler, run while its scan's trailing Enter is still on its way (see `refuse`)."""

        def run(result: Any) -> None:
            self._in_scan = True
            try:
                handler(result)
            finally:
                QTimer.singleShot(0, self._scan_over)

        return run

    def _scan_over(self) -> None:
        self._in_scan = False

    def _run(self, work: Callable[[Any, Any], Any], done: Callable[[Any], None] | None = None) -> None:
        self.ctx.ops.run(work, done or self._after, self.refuse)

    def _after(self, bench: packing.BenchView) -> None:
        """What a scan or an action answered: refused (stop), needs a lot/expiry/serial (ask), or counted."""
        self.show_bench(bench)
        if bench.refused:
            self.refuse(bench.message)
        elif bench.needs and bench.needs_code and bench.needs_line:
            name = next((ln.name for ln in bench.order.lines if ln.line_id == bench.needs_line), "")
            self._open(
                CaptureDialog(self.ctx, bench.order.order_id, bench.needs_code, name, bench.needs, self)
            )
        elif bench.order.verdict == "order_done":
            self.ctx.messages.show_notice(self.tr("Every item is packed: weigh the boxes (F4), then F10."))
        elif bench.order.verdict in ("counted", "line_done"):
            self.ctx.sounds.good()

    def _open(self, dlg: FormDialog) -> None:
        """A dialog over the bench, not blocking the event loop; its result is shown when it closes."""
        self.dialog = dlg

        def closed(_code: int) -> None:
            self.dialog = None
            if isinstance(dlg.result_value, packing.BenchView):
                self._after(dlg.result_value)
            dlg.deleteLater()
            self.focus_scan()

        dlg.finished.connect(closed)
        dlg.open()

    # -- scans -----------------------------------------------------------------------------------------------
    def on_order(self, result: barcodes.ScanResult) -> None:
        if self._waiting():
            return
        if self.bench is not None and self.bench.order.status in ("new", "picking") and self.bench.boxes:
            scanned = prefixes.ORDER + result.value if isinstance(result, barcodes.InternalCode) else ""
            if scanned != self.bench.order.number:
                self.refuse(
                    self.tr("Order {0} is on the bench: finish it before starting another.").format(
                        self.bench.order.number
                    )
                )
                return
        self.ctx.ops.run(lambda s, _a: packing.find(s, result), self._started, self.refuse)

    def _started(self, bench: packing.BenchView) -> None:
        self.show_bench(bench)
        if bench.message:
            self.ctx.messages.show_notice(bench.message, tone=False)
        elif bench.box is None:
            self.ctx.messages.show_notice(
                self.tr("Order {0}: start a box (F3) or scan a pre-printed SSCC label.").format(
                    bench.order.number
                ),
                tone=False,
            )

    def on_item(self, result: barcodes.ScanResult) -> None:
        if self._waiting():
            return
        if self.bench is None:
            self.refuse(self.tr("Scan the order's number first (or F2 for the next order)."))
            return
        oid = self.bench.order.order_id
        self._run(lambda s, a: packing.scan(s, a, oid, result))

    def on_sscc(self, result: barcodes.ScanResult) -> None:
        if self._waiting():
            return
        assert isinstance(result, barcodes.Sscc)
        self._new_box(result.sscc)

    def on_other(self, result: barcodes.ScanResult) -> None:
        self.refuse(self.tr("The Pack bench does not take this code ({0}).").format(result.kind))

    # -- actions ---------------------------------------------------------------------------------------------
    def next_order(self) -> None:
        if self.bench is not None and self.bench.order.status in ("new", "picking") and self.bench.boxes:
            self.refuse(
                self.tr("Order {0} is on the bench: finish it first.").format(self.bench.order.number)
            )
            return
        self.ctx.ops.run(lambda s, _a: packing.next_in_queue(s), self._started, self.refuse)

    def new_box(self) -> None:
        self._new_box(None)

    def _new_box(self, sscc: str | None) -> None:
        if self.bench is None:
            self.refuse(self.tr("Scan the order's number first (or F2 for the next order)."))
            return
        oid = self.bench.order.order_id

        def ask(types: list[str]) -> None:
            dlg = BoxDialog(self.ctx, oid, types, sscc, self)
            for i in range(dlg.kind.count()):
                dlg.kind.setItemText(i, packing.words(types[i]))
            self._open(dlg)

        self.ctx.ops.read(packing.package_types, ask)

    def weigh(self) -> None:
        if self.bench is None or self.bench.box is None:
            self.refuse(self.tr("Start a box first (F3)."))
            return
        box = next((b for b in self.bench.boxes if b.weight_kg is None), self.bench.box)
        oid = self.bench.order.order_id

        def ask(setting: Any) -> None:
            try:
                config = scale.config_from_setting(setting)
            except ValueError as e:
                config = None
                self.ctx.messages.show_warning(str(e))
            if config is None:  # no scale here: the packer types what the scale shows
                self._open(WeightDialog(self.ctx, oid, box, "", self))
                return
            self.scale.read(config, lambda kg, why: self._weighed(oid, box, kg, why))

        self.ctx.ops.read(lambda s: settings.get(s, "devices.scale"), ask)

    def _weighed(self, order_id: str, box: packing.BoxView, kg: Decimal | None, why: str) -> None:
        """The scale's reading, in the weight dialog for the packer to confirm (Enter); its refusal shown there."""
        dlg = WeightDialog(self.ctx, order_id, box, f"{kg:f}" if kg is not None else "", self)
        self._open(dlg)
        if why:
            dlg.show_error(why, "weight")

    def by_hand(self) -> None:
        b = self.bench
        if b is None or b.box is None:
            self.refuse(self.tr("Start a box first (F3)."))
            return
        line = next((ln for ln in b.order.lines if ln.line_id == self.current), None)
        if line is None:
            self.refuse(self.tr("Choose the item's line first (Up/Down)."))
            return
        needs = b.line_needs.get(line.line_id, ())
        self._open(ByHandDialog(self.ctx, b.order.order_id, line.line_id, line.name, needs, self))

    def finish(self) -> None:
        """F10: pack (every unit scanned, every box weighed), then ask the carrier for the tracking numbers."""
        if self.bench is None or self.shipping:
            return
        oid = self.bench.order.order_id
        self.ctx.ops.run(lambda s, a: packing.pack(s, a, oid), self._packed, self.refuse)

    def _packed(self, packed: packing.Packed) -> None:
        self.ctx.ops.read(lambda s: packing.view(s, packed.order_id), self.show_bench)
        sync = self.ctx.services.get("sync")
        make_client = getattr(sync, "make_client", None)
        if make_client is None:
            self.ctx.messages.show_warning(
                self.tr(
                    "Order {0} is packed. This till is not connected to the central store, so no carrier can "
                    "be asked for tracking numbers: the order stays packed."
                ).format(packed.number)
            )
            return
        self.shipping = True
        self._enable()
        self.ctx.messages.show_notice(
            self.tr("Order {0} is packed: asking the carrier for tracking numbers...").format(packed.number),
            tone=False,
        )
        self.carrier.ask(make_client, packed)

    def _shipped_or_not(self, order_id: str, shipments: list[packing.Shipment] | None, why: str) -> None:
        if shipments is None:
            self.shipping = False
            self._enable()
            number = self.bench.order.number if self.bench else ""
            self.ctx.messages.show_warning(
                self.tr(
                    "Order {0} is packed but not shipped: {1}. The order stays packed and nothing is lost; "
                    "press F10 to ask the carrier again."
                ).format(number, why)
            )
            return

        def shipped(done: packing.Shipped) -> None:
            self.shipping = False
            self.ctx.messages.show_notice(
                self.tr("Order {0} shipped: tracking {1}. Labels and slips are printing.").format(
                    done.number, ", ".join(done.tracking)
                )
            )
            self.ctx.ops.read(lambda s: packing.view(s, order_id), self.show_bench)

        def refused(message: str) -> None:
            self.shipping = False
            self._enable()
            self.refuse(message)

        self.ctx.ops.run(lambda s, a: packing.ship(s, a, order_id, shipments), shipped, refused)
