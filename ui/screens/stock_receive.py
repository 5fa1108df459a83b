"""The Stock workstation's Receive and Transfer panels (ui/screens/stock.py puts them in its mode bar).

Receive: choose an expected delivery (or scan its number), then scan at the back door: a case or pallet SSCC receives
its whole sealed contents, items count one by one through the verification rules. An item the delivery does not name,
or one too many, stops the screen (red, low tone) until acknowledged (Enter: put it aside) or taken in anyway (F6:
kept as a difference). F7 chooses backroom or floor; F10 closes the receipt.

Transfer: scan the goods to send, F2 names the store they go to, F10 sends them (out of this store at once; the other
store receives them as an expected delivery).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QInputDialog, QLabel, QWidget

from app.domain import barcodes
from app.services import receiving
from app.services.base import Changes
from ui.context import AppContext
from ui.screens.stock_common import picker
from ui.workstation import Action, Row, Workstation

_REFUSALS = ("not_in_order", "too_many", "pack_too_big", "case_unknown", "case_again")


def _qty(q: Decimal) -> str:
    return str(q.normalize()) if q == q.to_integral_value() else str(q)


def _signed(q: Decimal) -> str:
    if q == 0:
        return ""
    return ("+" if q > 0 else "−") + _qty(abs(q))


class ReceivePanel(Workstation):
    title = "Receive"
    columns = ("Item", "Case", "Expected", "Received", "Diff.")
    numeric = (2, 3, 4)
    stretch = 0
    caps = {1: 100}
    action_keys = (
        Action("F2", "Deliveries", "refresh"),
        Action("F6", "Take in anyway", "take_in"),
        Action("F7", "Backroom / floor", "toggle_into"),
        Action("F8", "Count again", "recount"),
        Action("F1", "Keys", "help"),
    )
    primary = Action("F10", "Close receipt", "close_receipt")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.view: receiving.ReceiveView | None = None
        self.refused: receiving.Refused | None = None  # the last scan the rules refused, for F6
        self.into = "backroom"
        super().__init__(ctx, parent)
        self.table.setObjectName("receiveList")
        self.caption.setText(self.tr("Items left to receive"))
        self.extra.addWidget(QLabel(self.tr("Delivery")))
        self.picker = picker()
        self.picker.setObjectName("deliveryPicker")
        self.picker.activated.connect(lambda _i: self._load(self.picker.currentData()))
        self.extra.addWidget(self.picker)
        self.into_label = QLabel()
        self.into_label.setObjectName("receiveInto")
        self.into_label.setStyleSheet("font-size: 16px;")
        self.extra.addWidget(self.into_label)
        self.differences = QLabel()
        self.differences.setObjectName("receiveDifferences")
        self.differences.setWordWrap(True)
        self.differences.setStyleSheet("font-size: 15px; color: #b91c1c;")
        self.extra.addWidget(self.differences)
        self._show_into()

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    # -- loading ----------------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def on_changed(self, changes: Changes) -> None:
        """A sync may bring a new delivery, or say another till received this one."""
        if changes.stock and self.isVisible():
            self.refresh()

    def refresh(self) -> None:
        self.ctx.ops.read(receiving.expected, self._fill_picker)

    def _fill_picker(self, rows: list[receiving.DeliverySummary]) -> None:
        keep = self.view.id if self.view is not None and self.view.status == "expected" else None
        self.picker.clear()
        for d in rows:
            what = self.tr("from {0}").format(d.source)
            self.picker.addItem(f"{d.number} {what} ({_qty(d.received)}/{_qty(d.expected)})", d.id)
        ids = [d.id for d in rows]
        chosen = keep if keep in ids else (ids[0] if ids else None)
        if chosen is None:
            self.show_delivery(None)
            return
        self.picker.setCurrentIndex(ids.index(chosen))
        self._load(chosen)

    def _load(self, delivery_id: str | None) -> None:
        if delivery_id:
            self.ctx.ops.read(lambda s: receiving.progress(s, delivery_id), self.show_delivery)
        self.focus_scan()

    def show_delivery(self, view: receiving.ReceiveView | None) -> None:
        self.view = view
        # With no delivery open, closing a receipt, counting again or taking in has nothing to act on: their
        # buttons say so by being off (the keys still answer, with a message).
        receiving_one = view is not None and view.status == "expected"
        for name in ("take_in", "recount"):
            self.buttons[name].setEnabled(receiving_one)
        if self.primary_button is not None:
            self.primary_button.setEnabled(receiving_one)
        if view is None:
            self.number.setText(
                self.tr("No delivery expected: the central store sends them at the next sync.")
            )
            self.set_figure("")
            self.figures.setText("")
            self.differences.setText("")
            self.show_rows([])
            return
        source = self.tr("transfer from {0}") if view.kind == "transfer" else self.tr("from {0}")
        self.number.setText(f"{view.number} · {source.format(view.source)}")
        self.set_figure(_qty(view.left))
        received = sum((ln.received for ln in view.lines), Decimal(0))
        expected = sum((ln.expected for ln in view.lines), Decimal(0))
        self.figures.setText(self.tr("Received {0} of {1}").format(_qty(received), _qty(expected)))
        diffs = [ln for ln in view.discrepancies if ln.received > ln.expected]
        self.differences.setText(
            self.tr("Differences: {0}").format(
                ", ".join(f"{ln.name} {_signed(ln.difference)}" for ln in diffs)
            )
            if diffs
            else ""
        )
        at = self.picker.findData(view.id)
        if at >= 0:  # the picker's count follows the scans
            what = self.tr("from {0}").format(view.source)
            self.picker.setItemText(at, f"{view.number} {what} ({_qty(received)}/{_qty(expected)})")
        if view.line_id:
            self.current = self.highlight = view.line_id
        self.show_rows(
            [
                Row(
                    ln.line_id,
                    (
                        ln.name if ln.expected else self.tr("{0} (not in delivery)").format(ln.name),
                        f"…{ln.sscc[-6:]}" if ln.sscc else "",
                        _qty(ln.expected),
                        _qty(ln.received),
                        _signed(ln.difference) if ln.received >= ln.expected else "",
                    ),
                )
                for ln in view.lines
            ]
        )

    # -- scanning ---------------------------------------------------------------------------------------------
    def _delivery_id(self) -> str | None:
        if self.view is None or self.view.status != "expected":
            self.ctx.messages.show_error(self.tr("Choose a delivery first (F2), or scan its number."))
            return None
        return self.view.id

    def on_scan(self, result: barcodes.ScanResult) -> None:
        if self.ctx.messages.error:
            self.ctx.messages.show_error(
                self.tr(
                    "Acknowledge the message first (Enter), or take the item in (F6): nothing was counted."
                )
            )
            return
        if isinstance(result, barcodes.Unknown) and result.raw.strip():
            # A delivery's number, typed or scanned from its paperwork.
            text = result.raw

            def found(delivery_id: str) -> None:
                self.refresh_to(delivery_id)

            self.ctx.ops.read(lambda s: receiving.find_delivery(s, text), found)
            return
        delivery_id = self._delivery_id()
        if delivery_id is None:
            return
        self.ctx.ops.run(lambda s, a: receiving.scan(s, a, delivery_id, result), self._scanned)

    def refresh_to(self, delivery_id: str) -> None:
        self.ctx.ops.read(lambda s: receiving.progress(s, delivery_id), self.show_delivery)

    def _scanned(self, view: receiving.ReceiveView) -> None:
        self.show_delivery(view)
        if view.verdict in _REFUSALS:
            self.refused = view.refused
            self.ctx.messages.show_error(view.message)  # red and the low tone, until acknowledged
            return
        self.refused = None
        if view.verdict == "order_done":
            self.ctx.messages.show_notice(self.tr("Everything expected is received: F10 closes the receipt."))
        elif view.verdict == "case":
            self.ctx.messages.show_notice(view.message)

    # -- keys -------------------------------------------------------------------------------------------------
    def take_in(self) -> None:
        """F6: take in what was just refused, kept as a difference."""
        refused, delivery_id = self.refused, self.view.id if self.view else None
        if refused is None or delivery_id is None:
            self.ctx.messages.show_error(
                self.tr("Nothing was refused: F6 takes in an item the delivery refused.")
            )
            return
        units = refused.units  # a case code refused as too big is taken in whole
        self.refused = None
        self.ctx.messages.clear()

        def done(view: receiving.ReceiveView) -> None:
            self.show_delivery(view)
            self.ctx.messages.show_notice(view.message, tone=False)

        self.ctx.ops.run(lambda s, a: receiving.take_in(s, a, delivery_id, refused.sku, units), done)

    def toggle_into(self) -> None:
        """F7: receive into the backroom or onto the floor."""
        self.into = "floor" if self.into == "backroom" else "backroom"
        self._show_into()

    def _show_into(self) -> None:
        where = self.tr("Backroom") if self.into == "backroom" else self.tr("Sales floor")
        self.into_label.setText(self.tr("Into: {0}  (F7)").format(where))

    def recount(self) -> None:
        delivery_id = self._delivery_id()
        if delivery_id is None:
            return
        reason, ok = QInputDialog.getText(self, self.tr("Count again"), self.tr("Why is it counted again?"))
        if ok and reason.strip():
            self.ctx.ops.run(lambda s, a: receiving.restart(s, a, delivery_id, reason), self.show_delivery)

    def ask_note(self) -> str | None:
        """Why lines are short (None: not closed)."""
        note, ok = QInputDialog.getText(
            self, self.tr("Close with short lines"), self.tr("Some lines are short. Why (not sent, damaged)?")
        )
        return note if ok and note.strip() else None

    def close_receipt(self) -> None:
        """F10: post what was received into the chosen location and report it to the central store."""
        view = self.view
        delivery_id = self._delivery_id()
        if view is None or delivery_id is None:
            return
        note = ""
        if any(ln.received < ln.expected for ln in view.lines):
            asked = self.ask_note()
            if asked is None:
                return
            note = asked
        into = self.into

        def done(closed: receiving.Closed) -> None:
            diffs = len(closed.discrepancies)
            self.ctx.messages.show_notice(
                self.tr("Delivery {0} received into {1}: {2} items, {3} difference(s) reported.").format(
                    closed.number, closed.location, _qty(closed.received), diffs
                )
            )
            self.view = None
            self.refresh()

        self.ctx.ops.run(lambda s, a: receiving.close(s, a, delivery_id, into, note), done)


class TransferPanel(Workstation):
    title = "Transfer"
    columns = ("SKU", "Item", "Qty")
    numeric = (2,)
    stretch = 1
    action_keys = (
        Action("F2", "To store", "choose_store"),
        Action("F4", "From floor / backroom", "toggle_from"),
        Action("F7", "Remove line", "remove_line"),
        Action("F8", "Clear", "clear_all"),
        Action("F1", "Keys", "help"),
    )
    primary = Action("F10", "Send", "send")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.picked: dict[str, receiving.Picked] = {}  # by product id, in scan order
        self.to_store = ""
        self.from_location = "floor"
        super().__init__(ctx, parent)
        self.table.setObjectName("transferList")
        self.caption.setText(self.tr("Items to send"))
        self.set_figure("0")
        self.where = QLabel()
        self.where.setObjectName("transferWhere")
        self.where.setWordWrap(True)
        self.where.setStyleSheet("font-size: 16px;")
        self.extra.addWidget(self.where)
        self._show_where()

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    def activate(self) -> None:
        self._redraw()

    def on_changed(self, changes: Changes) -> None:
        return None

    def on_scan(self, result: barcodes.ScanResult) -> None:
        if self.ctx.messages.error:
            self.ctx.messages.show_error(self.tr("Acknowledge the message first (Enter), then scan again."))
            return
        self.ctx.ops.read(lambda s: receiving.pick(s, result), self._add)

    def _add(self, item: receiving.Picked) -> None:
        had = self.picked.get(item.product_id)
        qty = item.qty + (had.qty if had else Decimal(0))
        self.picked[item.product_id] = receiving.Picked(item.product_id, item.sku, item.name, qty)
        self.current = self.highlight = item.product_id
        self._redraw()

    def _redraw(self) -> None:
        units = sum((p.qty for p in self.picked.values()), Decimal(0))
        self.set_figure(_qty(units))
        self.figures.setText(self.tr("{0} line(s)").format(len(self.picked)))
        self.show_rows([Row(p.product_id, (p.sku, p.name, _qty(p.qty))) for p in self.picked.values()])

    def _show_where(self) -> None:
        source = self.tr("sales floor") if self.from_location == "floor" else self.tr("backroom")
        target = self.to_store or self.tr("(F2: choose)")
        self.where.setText(self.tr("To store: {0}\nFrom: {1}").format(target, source))

    def choose_store(self) -> None:
        code, ok = QInputDialog.getText(
            self, self.tr("Send to"), self.tr("Code of the store (or warehouse) the goods go to:")
        )
        if ok and code.strip():
            self.to_store = code.strip().upper()
            self._show_where()

    def toggle_from(self) -> None:
        self.from_location = "backroom" if self.from_location == "floor" else "floor"
        self._show_where()

    def remove_line(self) -> None:
        if self.current in self.picked:
            del self.picked[self.current]
            self.current = None
            self._redraw()

    def clear_all(self) -> None:
        self.picked.clear()
        self.current = None
        self._redraw()

    def send(self) -> None:
        if not self.picked:
            self.ctx.messages.show_error(self.tr("Scan the goods to send first."))
            return
        if not self.to_store:
            self.ctx.messages.show_error(self.tr("Say which store the goods go to (F2)."))
            return
        items = [(p.product_id, p.qty) for p in self.picked.values()]
        to, source = self.to_store, self.from_location

        def done(sent: receiving.Sent) -> None:
            self.ctx.messages.show_notice(
                self.tr(
                    "Transfer {0} sent to {1}: {2} items. They arrive there as an expected delivery."
                ).format(sent.number, sent.to_store, _qty(sent.units))
            )
            self.picked.clear()
            self.current = None
            self._redraw()

        self.ctx.ops.run(lambda s, a: receiving.transfer_out(s, a, to, items, source), done)
