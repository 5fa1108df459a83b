"""Pickup: the store's pickup and curbside orders, from the queue to the customer's hands.

Two views on one workstation (ui/workstation.py):
- the queue: every pickup and curbside order by state, customers at the curb first (with their waiting time, to
  the second), then late ones (red), then by promised time; no-shows on F4. Find by scanning the order's number
  (bag label, e-mail) or the customer's pickup code, or by typing a number, name, phone or e-mail (F2).
- an order: its pick list in location order. Items are scanned through the shared verification engine; a wrong
  item stops the screen (red, low tone) until acknowledged. F6 hands a short or damaged line back to the central;
  F10 makes it ready (goods to staging, bag label) and then hands it over (pickup code or ID, refused lines,
  signature). An order cancelled at the central while open here turns red at once, saying where its items go.

The screen holds no rules: each action is one service call (app.services.pickup) through the op helper.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QLabel, QLineEdit, QWidget

from app.domain import barcodes, lifecycle
from app.services import pickup
from app.services.base import Changes, UserError, now
from ui.context import AppContext
from ui.screens.pickup_dialogs import HandoverDialog, ShortDialog
from ui.theme import ERROR_RED, GOOD_GREEN, WARN_AMBER
from ui.widgets import FormDialog, confirm
from ui.workstation import Action, Row, Workstation

KEYS = [
    Action("F2", "Find", "find_order"),
    Action("F3", "Open", "open_current"),
    Action("F4", "No-shows", "toggle_no_shows"),
    Action("F5", "Put back", "put_back"),
    Action("F6", "Short / damaged", "short"),
    Action("F7", "Bag label", "label"),
    Action("F9", "Queue", "back"),
    Action("F1", "Keys", "help"),
]
QUEUE_COLUMNS = ("Order", "Customer", "Items", "Status", "Time")
ORDER_COLUMNS = ("Location", "Item", "Scanned", "Status", "SKU")  # the pick walk: one location after another
SHOWN = {"at_curb": "at the curb", "no_show": "no-show"}


def _qty(q: Decimal) -> str:
    return f"{q.normalize():f}"


def _span(seconds: int) -> str:
    seconds = abs(seconds)
    if seconds < 3600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


class PickupScreen(Workstation):
    title = "Pickup"
    columns = QUEUE_COLUMNS
    numeric = (2,)
    stretch = 1
    caps = {0: 200, 4: 170}
    action_keys = KEYS
    primary = Action("F10", "Ready", "primary_action")
    extra_keys = ("Enter  Acknowledge a message",)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.mode = "queue"
        self.only_no_shows = False
        self.queue_rows: list[pickup.QueueRow] = []
        self.order: pickup.PrepView | None = None
        self.arrived: set[str] | None = None  # curbside orders seen at the curb (None: not read yet)
        self.colours: dict[str, str] = {}  # row key -> text colour (late red, at the curb amber, ready green)
        super().__init__(ctx, parent)
        self.table.setObjectName("pickupList")
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setObjectName("pickupStatus")
        self.status_label.setStyleSheet("font-size: 16px;")
        self.extra.addWidget(self.status_label)
        self._tick = QTimer(self)
        self._tick.setInterval(1000)  # the curbside waiting timers, to the second, drawn from what was read
        self._tick.timeout.connect(self._redraw_times)
        self._tick.start()
        self._show_queue_look()

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {
            "product": self.on_item,
            "order": self.on_order_code,
            "pickup": self.on_pickup_code,
            "*": self.on_other,
        }

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        if self.mode == "order" and self.order is not None:
            self._reload_order()
        else:
            self.load_queue()

    def on_changed(self, changes: Changes) -> None:
        """Orders changed (a sync brought a cancellation or an arrival, or another op): redraw at once."""
        if not changes.orders:
            return
        self.ctx.ops.read(lambda s: pickup.queue(s), self._queue_read)
        if self.mode == "order" and self.order is not None:
            self._reload_order()

    def load_queue(self) -> None:
        self.ctx.ops.read(lambda s: pickup.queue(s), self._queue_read)

    def _queue_read(self, rows: list[pickup.QueueRow]) -> None:
        at_curb = {r.id for r in rows if r.shown == "at_curb"}
        if self.arrived is not None:
            for r in rows:
                if r.id in at_curb - self.arrived:
                    # A new arrival: a sound and a notice that stays until acknowledged, whatever view shows.
                    self.ctx.messages.show_warning(
                        self.tr("Curbside: {0} is at the curb for order {1}.").format(r.customer, r.number)
                    )
        self.arrived = at_curb
        self.queue_rows = rows
        if self.mode == "queue":
            self._draw_queue()

    # -- the queue -------------------------------------------------------------------------------------------
    def _show_queue_look(self) -> None:
        self.table.setHorizontalHeaderLabels([self.tr(c) for c in QUEUE_COLUMNS])
        self.caption.setText(self.tr("Waiting"))
        self.figure.setStyleSheet("")
        if self.primary_button is not None:
            self.primary_button.setText(self.tr("Open  F10"))
        for name in ("short", "label", "back"):
            self.buttons[name].setEnabled(False)
        for name in ("open_current", "toggle_no_shows", "put_back", "find_order"):
            self.buttons[name].setEnabled(True)

    def _queue_cells(self, r: pickup.QueueRow, at: datetime) -> tuple[str, ...]:
        state = self.tr(SHOWN.get(r.shown, lifecycle.words(r.shown)))
        if r.fulfilment == "curbside" and r.shown != "at_curb":
            state += " · " + self.tr("curbside")
        if r.late:
            state += " · " + self.tr("LATE")
        if not r.paid:
            state += " · " + self.tr("unpaid")
        if r.arrived_at is not None:
            time = self.tr("waiting {0}").format(_span(int((at - r.arrived_at).total_seconds())))
        elif r.no_show:
            time = self.tr("past the hold")
        elif r.status == "ready":
            time = ""  # waiting for the customer: the hold window, not the promise, counts now
        elif lifecycle.is_open(r.status):
            secs = int((at - r.promised).total_seconds())
            time = (self.tr("late {0}") if secs > 0 else self.tr("in {0}")).format(_span(secs))
        else:
            time = ""
        return (r.number, r.customer, _qty(r.items), state, time)

    def _draw_queue(self) -> None:
        at = now()
        rows = [r for r in self.queue_rows if r.no_show] if self.only_no_shows else self.queue_rows
        self.colours = {}
        for r in rows:
            if r.shown == "at_curb":
                self.colours[r.id] = WARN_AMBER
            elif r.late or r.no_show or r.status == "cancelled":
                self.colours[r.id] = ERROR_RED
            elif r.status == "ready":
                self.colours[r.id] = GOOD_GREEN
        self.show_rows([Row(r.id, self._queue_cells(r, at)) for r in rows])
        open_rows = [r for r in self.queue_rows if lifecycle.is_open(r.status)]
        self.number.setText(self.tr("No-shows past the hold window") if self.only_no_shows else "")
        self.figure.setText(str(len(open_rows)))
        self.figures.setText(
            "<br>".join(
                [
                    f"{self.tr('At the curb')}: {sum(r.shown == 'at_curb' for r in self.queue_rows)}",
                    f"{self.tr('Late')}: {sum(r.late for r in self.queue_rows)}",
                    f"{self.tr('Ready')}: {sum(r.status == 'ready' for r in self.queue_rows)}",
                    f"{self.tr('No-shows')}: {sum(r.no_show for r in self.queue_rows)}",
                ]
            )
        )
        self.status_label.setText(
            self.tr(
                "Scan the order's number or the customer's pickup code, or F2 to find by name, phone or e-mail."
            )
        )

    def _redraw_times(self) -> None:
        if self.mode == "queue" and self.isVisible() and any(r.arrived_at for r in self.queue_rows):
            self._draw_queue()

    def _draw(self) -> None:
        super()._draw()
        for r, row in enumerate(self.rows):  # the work list draws no colours of its own: late, curb, ready
            colour = self.colours.get(row.key)
            for c in range(self.table.columnCount()):
                item = self.table.item(r, c)
                if item is not None:
                    item.setForeground(QBrush(QColor(colour)) if colour else QBrush())

    # -- one order -------------------------------------------------------------------------------------------
    def open_order(self, order_id: str, then: Callable[[], None] | None = None) -> None:
        def shown(view: pickup.PrepView) -> None:
            self.show_order(view)
            if then is not None:
                then()

        self.ctx.ops.read(lambda s: pickup.prepare_view(s, order_id), shown)

    def _reload_order(self) -> None:
        if self.order is None:
            return
        order_id = self.order.order_id
        self.ctx.ops.read(lambda s: pickup.prepare_view(s, order_id), self.show_order)

    def show_order(self, view: pickup.PrepView) -> None:
        before = self.order
        if self.mode != "order" or before is None or before.order_id != view.order_id:
            self.current, self.chosen = None, False
            self.mode = "order"
            self.table.setHorizontalHeaderLabels([self.tr(c) for c in ORDER_COLUMNS])
            self.table.setRowCount(0)
            self.table._shown = []
        elif before.status != view.status and view.status == "cancelled":
            self.ctx.messages.show_error(
                self.tr("Order {0} was cancelled at the central: stop, {1}.").format(
                    view.number, view.returns_to
                )
            )
        self.order = view
        if view.line_id:
            self.current = self.highlight = view.line_id
        closed = view.status in ("cancelled", "expired")
        self.colours = {}
        rows = []
        for ln in view.lines:
            if closed:
                self.colours[ln.line_id] = ERROR_RED
            elif ln.done:
                self.colours[ln.line_id] = GOOD_GREEN
            state = self.tr("done") if ln.done else self.tr("to scan")
            rows.append(
                Row(ln.line_id, (ln.location, ln.name, f"{_qty(ln.scanned)} / {_qty(ln.qty)}", state, ln.sku))
            )
        self.show_rows(rows)
        self.number.setText(
            self.tr("Order {0} · {1} · {2}").format(view.number, view.customer, self.tr(view.fulfilment))
        )
        status = lifecycle.words(view.status)
        if view.status in ("new", "picking"):
            self.caption.setText(self.tr("Left to scan"))
            self.figure.setText(_qty(view.left))
            self.figure.setStyleSheet("")
            primary = self.tr("Ready")
        elif view.status == "ready":
            self.caption.setText(self.tr("Ready for"))
            self.figure.setText(str(len(view.lines)))
            self.figure.setStyleSheet(f"color: {GOOD_GREEN};")
            primary = self.tr("Hand over")
        else:
            self.caption.setText(self.tr("Order is"))
            self.figure.setText(status)
            self.figure.setStyleSheet(f"color: {ERROR_RED};" if closed else "")
            primary = self.tr("Queue")
        self.figures.setText(
            "<br>".join(
                x
                for x in (
                    f"{self.tr('Status')}: {status}",
                    f"{self.tr('Collector')}: {view.collector}" if view.collector else "",
                    f"<b>{self.tr('Not paid: the payment is taken at the hand-over')}</b>"
                    if not view.paid
                    else "",
                )
                if x
            )
        )
        if closed:
            self.status_label.setText(
                f"<span style='color:{ERROR_RED}; font-weight:600'>{view.returns_to}</span>"
            )
        elif view.status == "ready":
            self.status_label.setText(self.tr("Scan the customer's pickup code, or F10 to check their ID."))
        elif view.status == "collected":
            self.status_label.setText(self.tr("Handed over. F9 or F10: back to the queue."))
        else:
            self.status_label.setText(self.tr("Scan each item; F6 if one is short or damaged."))
        if self.primary_button is not None:
            self.primary_button.setText(f"{primary}  F10")
        for name in ("short", "label", "back", "put_back"):
            self.buttons[name].setEnabled(True)
        self.buttons["short"].setEnabled(view.status in ("new", "picking"))
        self.buttons["put_back"].setEnabled(view.staged and view.status != "picking")
        self.buttons["open_current"].setEnabled(False)
        self.buttons["toggle_no_shows"].setEnabled(False)
        self.focus_scan()

    def back(self) -> None:
        """F9: back to the queue."""
        self.mode = "queue"
        self.order = None
        self.current, self.chosen = None, False
        self.table.setRowCount(0)
        self.table._shown = []
        self._show_queue_look()
        self.load_queue()

    # -- scans -----------------------------------------------------------------------------------------------
    def _blocked(self) -> bool:
        """A refusal nobody has acknowledged stops the screen: nothing else counts until Enter or a tap."""
        if self.ctx.messages.error:
            text = self.tr("Acknowledge the message first (Enter), then scan again: nothing was counted.")
            # After the scan's own trailing Enter has gone by (the window takes an Enter as the acknowledgement):
            # the refusal stays on screen until a person presses Enter or taps it.
            QTimer.singleShot(0, lambda: self.ctx.messages.show_error(text))
            return True
        return False

    def on_item(self, result: barcodes.ScanResult) -> None:
        if self._blocked():
            return
        if self.mode != "order" or self.order is None:
            self.ctx.messages.show_error(
                self.tr("Open an order first: scan its number or the pickup code, or F3 on the queue.")
            )
            return
        order_id = self.order.order_id
        self.ctx.ops.run(lambda s, a: pickup.scan(s, a, order_id, result), self._scanned)

    def _scanned(self, view: pickup.PrepView) -> None:
        self.show_order(view)
        if view.verdict in ("not_in_order", "too_many", "pack_too_big"):
            self.ctx.messages.show_error(view.message)  # red and the low tone, until acknowledged
        elif view.verdict == "order_done":
            self.ctx.messages.show_notice(self.tr("Every item is scanned: F10 makes the order ready."))

    def on_order_code(self, result: barcodes.ScanResult) -> None:
        if self._blocked():
            return
        text = result.raw
        self.ctx.ops.read(lambda s: pickup.find(s, text), self._found)

    def on_pickup_code(self, result: barcodes.ScanResult) -> None:
        if self._blocked():
            return
        assert isinstance(result, barcodes.InternalCode)
        code = result.value

        def done(rows: list[pickup.QueueRow]) -> None:
            self.open_order(rows[0].id, lambda: self.hand_over(code))

        self._find(lambda s: pickup.find(s, result), done)

    def on_other(self, result: barcodes.ScanResult) -> None:
        if self._blocked():
            return
        if self.mode == "queue" and isinstance(result, barcodes.Unknown):
            text = result.raw
            self._find(lambda s: pickup.find(s, text), self._found)  # a typed name, phone or e-mail
            return
        self.ctx.messages.show_error(
            self.tr("The Pickup screen does not take this code ({0}).").format(result.kind)
        )

    def _find(self, work: Callable[[Any], list[pickup.QueueRow]], done: Callable[[Any], None]) -> None:
        def safe(s: Any) -> list[pickup.QueueRow] | str:
            try:
                return work(s)
            except UserError as e:
                return str(e)

        def shown(rows: list[pickup.QueueRow] | str) -> None:
            if isinstance(rows, str):
                self.ctx.messages.show_error(rows)
            elif not rows:
                self.ctx.messages.show_error(
                    self.tr("No pickup order matches that: check it, or F2 to search.")
                )
            else:
                done(rows)

        self.ctx.ops.read(safe, shown)

    def _found(self, rows: list[pickup.QueueRow] | None) -> None:
        if not rows:
            self.ctx.messages.show_error(self.tr("No pickup order matches that: check it, or F2 to search."))
            return
        if len(rows) == 1:
            self.open_order(rows[0].id)
            return
        if self.mode != "queue":
            self.back()
        self.queue_rows = rows
        self._draw_queue()
        self.ctx.messages.show_notice(
            self.tr("{0} orders match: Up/Down, then F3.").format(len(rows)), tone=False
        )

    # -- actions ---------------------------------------------------------------------------------------------
    def find_order(self) -> None:
        """F2: find by number, name, phone, e-mail or pickup code."""
        dlg = FormDialog(
            self.ctx,
            self.tr("Find an order"),
            self.tr("Order number, name, phone, e-mail or pickup code"),
            parent=self,
        )
        field = QLineEdit()
        field.setObjectName("findText")
        dlg.add_field("text", self.tr("Find"), field, required=True)
        if dlg.exec() and dlg.result_value:
            text = str(dlg.result_value["text"])
            self._find(lambda s: pickup.find(s, text), self._found)
        dlg.deleteLater()
        self.focus_scan()

    def open_current(self) -> None:
        """F3: open the current order of the queue."""
        if self.mode != "queue" or not self.current:
            self.ctx.messages.show_error(self.tr("Choose an order in the queue first (Up/Down)."))
            return
        self.open_order(self.current)

    def toggle_no_shows(self) -> None:
        if self.mode != "queue":
            return
        self.only_no_shows = not self.only_no_shows
        self.current = None
        self._draw_queue()

    def primary_action(self) -> None:
        """F10: open (queue), ready (picking), hand over (ready), back (closed)."""
        if self.mode == "queue":
            self.open_current()
            return
        view = self.order
        if view is None:
            return
        if view.status in ("new", "picking"):
            self.ready()
        elif view.status == "ready":
            self.hand_over("")
        else:
            self.back()

    def ready(self) -> None:
        if self.order is None or self._blocked():
            return
        order_id = self.order.order_id

        def done(result: pickup.Done) -> None:
            self.ctx.messages.show_notice(
                self.tr("Order {0} is ready: bag label printed.").format(result.number)
            )
            self.open_order(order_id)

        self.ctx.ops.run(lambda s, a: pickup.ready(s, a, order_id), done)

    def hand_over(self, code: str) -> None:
        view = self.order
        if view is None:
            return
        if view.status != "ready" and not code:
            self.ctx.messages.show_error(self.tr("Make the order ready first (F10)."))
            return
        dlg = HandoverDialog(self.ctx, view, code, parent=self)
        if code:
            QTimer.singleShot(0, dlg.submit)  # a scanned code checks at once; a refusal shows in the dialog
        if dlg.exec() and isinstance(dlg.result_value, pickup.Done):
            done = dlg.result_value
            printer = self.ctx.services.get("printer")
            if printer is not None and done.open_drawer:
                printer.open_drawer()  # cash was taken with the hand-over, as Sell opens it
            self.ctx.messages.show_notice(done.message + " " + self.tr("Receipt printed."))
            self.open_order(view.order_id)
        dlg.deleteLater()
        self.focus_scan()

    def short(self) -> None:
        view = self.order
        line = next((ln for ln in view.lines if ln.line_id == self.current), None) if view else None
        if view is None or line is None:
            self.ctx.messages.show_error(self.tr("Choose the line that is short or damaged (Up/Down)."))
            return
        dlg = ShortDialog(self.ctx, view.order_id, line, parent=self)
        if dlg.exec() and isinstance(dlg.result_value, pickup.PrepView):
            self.show_order(dlg.result_value)
            self.ctx.messages.show_notice(
                self.tr("{0}: handed back to the central.").format(line.name), tone=False
            )
        dlg.deleteLater()
        self.focus_scan()

    def label(self) -> None:
        if self.order is None:
            return
        order_id = self.order.order_id
        self.ctx.ops.run(
            lambda s, a: pickup.reprint_label(s, a, order_id),
            lambda d: self.ctx.messages.show_notice(d.message, tone=False),
        )

    def put_back(self) -> None:
        """F5: a no-show's (or a closed order's) goods go back from staging to the floor."""
        order_id = self.order.order_id if self.mode == "order" and self.order else self.current
        if not order_id:
            self.ctx.messages.show_error(self.tr("Choose a no-show first (F4, Up/Down)."))
            return
        if not confirm(
            self,
            self.tr("Put back"),
            self.tr("Put this order's goods back on the floor? A ready order past its hold window expires."),
            self.tr("Put back (Enter)"),
            self.tr("Keep it (Esc)"),
        ):
            return

        def done(result: pickup.Done) -> None:
            self.ctx.messages.show_notice(result.message)
            if self.mode == "order":
                self.open_order(result.order_id)
            else:
                self.load_queue()

        self.ctx.ops.run(lambda s, a: pickup.put_back(s, a, order_id), done)
