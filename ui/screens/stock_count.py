"""The Stock workstation's Count, Adjust and Labels panels, each a workstation (ui/workstation.py) of its own.

- Count: choose an open count (or set one up, F2), scan what is on the shelf (a case code counts its pack, a weight
  label its weight), key a line's count (F3); the figure is the items left to count; a manager posts the variances
  with a reason (F10). Each line shows the stock it is measured against: as it stood when the item was first counted.
- Adjust: scan an item, then its reason key (damaged, expired, stolen, found) and its quantity; above the value
  set in `stock.adjust_approval_above` a manager approves.
- Labels: scan items, or fetch the price changes since a date or what a count counted, then print (F10).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import parse_date
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from app.domain import barcodes
from app.domain.money import parse_qty, parse_weight
from app.services import adjustments, catalog, counts, shelf_labels
from app.services.adjustments import Adjusted, ItemAt
from app.services.base import Changes
from app.services.counts import CountView
from ui.context import AppContext
from ui.screens.stock_common import picker
from ui.widgets import FormDialog, confirm
from ui.workstation import Action, Row, Workstation


def _qty(q: Decimal | None) -> str:
    if q is None:
        return ""
    return f"{q.normalize():f}" if q == q.to_integral_value() else f"{q:f}".rstrip("0")


def _signed(q: Decimal | None) -> str:
    if q is None:
        return ""
    text = _qty(q)
    return f"+{text}" if q > 0 else text


class CountPanel(Workstation):
    title = "Count"
    columns = ("Item", "Counted", "Expected", "Variance")
    numeric = (1, 2, 3)
    stretch = 0
    action_keys = (
        Action("F2", "New count", "new_count"),
        Action("F3", "Quantity", "quantity"),
        Action("F5", "Refresh", "refresh"),
        Action("F7", "Labels", "labels"),
        Action("F8", "Cancel count", "cancel_count"),
        Action("F1", "Keys", "help"),
    )
    primary = Action("F10", "Post count", "post")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.view: CountView | None = None
        super().__init__(ctx, parent)
        self.caption.setText(self.tr("Items left to count"))
        pick = QLabel(self.tr("Count"))
        self.extra.addWidget(pick)
        self.picker = picker()
        self.picker.activated.connect(lambda _i: self._load(self.picker.currentData()))
        self.extra.addWidget(self.picker)

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    # -- loading ----------------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.refresh()

    def refresh(self) -> None:
        self.ctx.ops.read(counts.open_counts, self._fill_picker)

    def on_changed(self, changes: Changes) -> None:
        if changes.stock and self.isVisible():  # a count the central store set up arrives with a sync
            self.refresh()

    def _fill_picker(self, open_counts: list[counts.CountSummary]) -> None:
        keep = self.view.id if self.view is not None and self.view.status == "open" else None
        self.picker.clear()
        for c in open_counts:
            self.picker.addItem(f"{c.title} ({c.counted}/{c.lines})", c.id)
        ids = [c.id for c in open_counts]
        chosen = keep if keep in ids else (ids[0] if ids else None)
        if chosen is None:
            self.show_count(None)
            return
        self.picker.setCurrentIndex(ids.index(chosen))
        self._load(chosen)

    def _load(self, count_id: str | None) -> None:
        if count_id:
            self.ctx.ops.read(lambda s: counts.view(s, count_id), self.show_count)
        self.focus_scan()

    def show_count(self, view: CountView | None) -> None:
        self.view = view
        if view is None:
            self.number.setText(self.tr("No open count: a manager sets one up (F2)."))
            self.set_figure("")
            self.figures.setText("")
            self.show_rows([])
            return
        self.number.setText(self.tr("{0} · {1} items").format(view.location_name, len(view.lines)))
        at = self.picker.findData(view.id)
        if at >= 0:  # the list's figures follow the scans
            self.picker.setItemText(at, f"{view.title} ({view.counted_lines}/{len(view.lines)})")
        self.set_figure(str(view.left))
        var = sum((ln.variance for ln in view.lines if ln.variance is not None), Decimal(0))
        value = sum((ln.variance_value for ln in view.lines), Decimal(0))
        self.figures.setText(
            self.tr("Counted {0} of {1} · variance {2} ({3})").format(
                view.counted_lines, len(view.lines), _signed(var), self.money(value)
            )
        )
        if view.last_sku:
            self.current = self.highlight = view.last_sku
        self.show_rows(
            [
                Row(
                    ln.sku,
                    (
                        ln.name,
                        f"{_qty(ln.counted)} {ln.unit}".strip() if ln.counted is not None else "",
                        _qty(ln.expected),
                        _signed(ln.variance),
                    ),
                )
                for ln in view.lines
            ]
        )

    # -- scanning and keys ------------------------------------------------------------------------------------
    def _count_id(self) -> str | None:
        if self.view is None or self.view.status != "open":
            self.ctx.messages.show_error(self.tr("Choose an open count first, or set one up (F2)."))
            return None
        return self.view.id

    def on_scan(self, result: barcodes.ScanResult) -> None:
        count_id = self._count_id()
        if count_id is None:
            return
        if not isinstance(result, barcodes.VariableMeasure) and not getattr(result, "net_weight_kg", None):
            # A SKU or plain GTIN may be a weighed item: it is weighed, not counted as 1 kg.
            self.ctx.ops.read(
                lambda s: adjustments.find(s, result), lambda item: self._count(count_id, result, item)
            )
            return
        self.ctx.ops.run(lambda s, a: counts.scan(s, a, count_id, result), self.show_count)

    def _count(self, count_id: str, result: barcodes.ScanResult, item: ItemAt) -> None:
        if not item.needs_weight:
            self.ctx.ops.run(lambda s, a: counts.scan(s, a, count_id, result), self.show_count)
            return
        dlg = FormDialog(
            self.ctx, self.tr("Weigh"), self.tr("Weigh {0} {1}").format(item.sku, item.name), parent=self
        )
        field = QLineEdit()
        field.setObjectName("weight")
        dlg.add_field("kg", self.tr("Weight on the scale (kg)"), field, parse_weight, required=True)
        dlg.on_ok = lambda v: dlg.run(lambda s, a: counts.scan(s, a, count_id, result, v["kg"]))
        if dlg.exec() and dlg.result_value is not None:
            self.show_count(dlg.result_value)
        dlg.deleteLater()
        self.focus_scan()

    def quantity(self) -> None:
        count_id = self._count_id()
        row = self.current_row()
        if count_id is None or row is None or self.view is None:
            return
        line = next(ln for ln in self.view.lines if ln.sku == row.key)
        dlg = FormDialog(
            self.ctx,
            self.tr("Counted"),
            self.tr("Counted of {0} {1}").format(line.sku, line.name),
            parent=self,
        )
        field = QLineEdit(_qty(line.counted))
        field.setObjectName("counted")
        dlg.add_field("qty", self.tr("Counted ({0})").format(line.unit), field, parse_qty, required=True)
        dlg.on_ok = lambda v: dlg.run(lambda s, a: counts.set_counted(s, a, count_id, line.sku, v["qty"]))
        if dlg.exec() and dlg.result_value is not None:
            self.show_count(dlg.result_value)
        dlg.deleteLater()

    def new_count(self) -> None:
        self.ctx.ops.read(adjustments.locations, self._new_count)

    def _new_count(self, locations: list[tuple[str, str]]) -> None:
        dlg = FormDialog(self.ctx, self.tr("New count"), self.tr("Set up a count"), parent=self)
        where = picker()
        where.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        for code, name in locations:
            where.addItem(name, code)
        where.setCurrentIndex(max(where.findData("floor"), 0))
        dlg.add_field("location", self.tr("Location"), where)
        depts = QLineEdit()
        depts.setPlaceholderText(self.tr("e.g. DAIRY GROC (empty: all)"))
        dlg.add_field("departments", self.tr("Departments"), depts)
        skus = QLineEdit()
        skus.setObjectName("skus")
        skus.setPlaceholderText(self.tr("SKUs, space-separated (empty: all)"))
        dlg.add_field("skus", self.tr("Items"), skus)

        def ok(v: dict[str, Any]) -> None:
            dlg.run(
                lambda s, a: counts.setup(
                    s, a, v["location"] or "floor", v["departments"].split(), v["skus"].split()
                )
            )

        dlg.on_ok = ok
        if dlg.exec() and dlg.result_value is not None:
            self.view = dlg.result_value
            self.refresh()
        dlg.deleteLater()
        self.focus_scan()

    def post(self) -> None:
        count_id = self._count_id()
        if count_id is None or self.view is None:
            return
        left = self.view.left
        if left and not confirm(
            self,
            self.tr("Items not counted"),
            self.tr("{0} items are not counted. Post them as none on the shelf?").format(left),
            self.tr("Yes, post as none (Enter)"),
            self.tr("No, go on counting (Esc)"),
        ):
            return
        dlg = FormDialog(
            self.ctx,
            self.tr("Post count"),
            self.tr("Post the variances of {0}").format(self.view.title),
            parent=self,
        )
        reason = QLineEdit()
        reason.setObjectName("reason")
        dlg.add_field("reason", self.tr("Reason"), reason, required=True)
        dlg.on_ok = lambda v: dlg.run(lambda s, a: counts.post(s, a, count_id, v["reason"], bool(left)))
        if dlg.exec() and dlg.result_value is not None:
            self.ctx.messages.show_notice(self.tr("Count posted: {0}.").format(self.view.title), tone=False)
            self.view = None
            self.refresh()
        dlg.deleteLater()

    def cancel_count(self) -> None:
        count_id = self._count_id()
        if count_id is None or self.view is None:
            return
        if confirm(
            self,
            self.tr("Cancel count"),
            self.tr("Cancel the count {0}? Nothing of it is posted.").format(self.view.title),
            self.tr("Yes, cancel it (Enter)"),
            self.tr("No, keep it (Esc)"),
        ):
            self.ctx.ops.run(
                lambda s, a: counts.cancel(s, a, count_id, "cancelled"), lambda _v: self.refresh()
            )

    def labels(self) -> None:
        count_id = self._count_id()
        if count_id is None:
            return
        self.ctx.ops.run(
            lambda s, a: shelf_labels.print_for_count(s, a, count_id),
            lambda p: self.ctx.messages.show_notice(
                self.tr("{0} shelf labels sent to the label printer.").format(len(p.jobs))
            ),
        )


REASON_KEYS = (("F3", "damaged"), ("F4", "expired"), ("F5", "stolen"), ("F6", "found"))


class AdjustPanel(Workstation):
    title = "Adjust"
    columns = ("Item", "Reason", "Qty", "Value", "On hand")
    numeric = (2, 3, 4)
    stretch = 0
    action_keys = (
        Action("F3", "Damaged", "damaged"),
        Action("F4", "Expired", "expired"),
        Action("F5", "Stolen", "stolen"),
        Action("F6", "Found", "found"),
        Action("F1", "Keys", "help"),
    )

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.item: ItemAt | None = None
        self.done: list[Adjusted] = []
        super().__init__(ctx, parent)
        self.caption.setText(self.tr("Recorded here"))
        self.extra.addWidget(QLabel(self.tr("Location")))
        self.where = picker()
        self.extra.addWidget(self.where)
        self.number.setText(self.tr("Scan an item, then its reason key."))

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    def activate(self) -> None:
        if self.where.count() == 0:
            self.ctx.ops.read(adjustments.locations, self._fill_locations)

    def _fill_locations(self, rows: list[tuple[str, str]]) -> None:
        for code, name in rows:
            self.where.addItem(name, code)
        floor = self.where.findData("floor")
        self.where.setCurrentIndex(max(floor, 0))

    def on_scan(self, result: barcodes.ScanResult) -> None:
        self.ctx.ops.read(lambda s: adjustments.find(s, result), self._found)

    def _found(self, item: ItemAt) -> None:
        self.item = item
        self.number.setText(self.tr("{0} {1}: choose its reason (F3-F6).").format(item.sku, item.name))

    def damaged(self) -> None:
        self._adjust("damaged")

    def expired(self) -> None:
        self._adjust("expired")

    def stolen(self) -> None:
        self._adjust("stolen")

    def found(self) -> None:
        self._adjust("found")

    def _adjust(self, reason: str) -> None:
        item = self.item
        if item is None:
            self.ctx.messages.show_error(self.tr("Scan the item first, then its reason key."))
            return
        where = self.where.currentData() or "floor"
        dlg = FormDialog(
            self.ctx,
            self.tr("Adjust stock"),
            self.tr("{0}: {1} {2}").format(self.tr(reason.title()), item.sku, item.name),
            parent=self,
        )
        qty = QLineEdit("" if item.needs_weight else _qty(item.qty))
        qty.setObjectName("qty")
        dlg.add_field("qty", self.tr("Quantity ({0})").format(item.unit), qty, parse_qty, required=True)
        note = QLineEdit()
        note.setObjectName("note")
        dlg.add_field("note", self.tr("Note"), note)
        dlg.on_ok = lambda v: dlg.run(
            lambda s, a: adjustments.record(s, a, item.product_id, where, v["qty"], reason, v["note"])
        )
        if dlg.exec() and dlg.result_value is not None:
            self._recorded(dlg.result_value)
        dlg.deleteLater()

    def _recorded(self, done: Adjusted) -> None:
        self.done.append(done)
        self.item = None
        self.number.setText(self.tr("Scan an item, then its reason key."))
        self.current = self.highlight = done.movement_id
        total = sum((d.value for d in self.done), Decimal(0))
        self.set_figure(str(len(self.done)))
        self.figures.setText(self.tr("Value {0}").format(self.money(total)))
        self.show_rows(
            [
                Row(
                    d.movement_id,
                    (
                        f"{d.sku} {d.name}",
                        self.tr(d.reason),
                        _signed(d.qty),
                        self.money(d.value),
                        _qty(d.on_hand),
                    ),
                )
                for d in self.done
            ]
        )


class LabelsPanel(Workstation):
    title = "Labels"
    columns = ("SKU", "Item", "Price")
    numeric = (2,)
    stretch = 1
    action_keys = (
        Action("F3", "Price changes", "price_changes"),
        Action("F4", "From a count", "from_count"),
        Action("F7", "Remove line", "remove_line"),
        Action("F8", "Clear", "clear"),
        Action("F1", "Keys", "help"),
    )
    primary = Action("F10", "Print labels", "print_labels")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.items: dict[str, tuple[str, str, str]] = {}  # product id -> (sku, name, price)
        super().__init__(ctx, parent)
        self.caption.setText(self.tr("Labels to print"))
        self.number.setText(self.tr("Scan items, or fetch the price changes (F3)."))
        self._redraw()

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {"*": self.on_scan}

    def on_scan(self, result: barcodes.ScanResult) -> None:
        self.ctx.ops.read(lambda s: adjustments.find(s, result), self._add)

    def _add(self, item: ItemAt) -> None:
        self.items[item.product_id] = (item.sku, item.name, self.money(item.price))
        self.current = self.highlight = item.product_id
        self._redraw()

    def _redraw(self) -> None:
        self.set_figure(str(len(self.items)))
        self.show_rows([Row(pid, cells) for pid, cells in self.items.items()])

    def price_changes(self) -> None:
        dlg = FormDialog(
            self.ctx, self.tr("Price changes"), self.tr("Labels for the prices changed since"), parent=self
        )
        day = QLineEdit((datetime.now().date() - timedelta(days=7)).isoformat())
        day.setObjectName("since")

        def parse(text: str) -> datetime:
            try:
                d = parse_date(text.strip(), locale=self.ctx.here.locale) if "-" not in text else None
                when = d or datetime.fromisoformat(text.strip()).date()
            except (ValueError, IndexError) as exc:
                raise ValueError(
                    self.tr("Give a day, e.g. {0}").format(datetime.now().date().isoformat())
                ) from exc
            return self.ctx.here.instant(when, time())

        dlg.add_field("since", self.tr("Since (day)"), day, parse, required=True)
        dlg.on_ok = lambda v: dlg.run(lambda s, _a: shelf_labels.changed_since(s, v["since"]))
        if dlg.exec() and dlg.result_value is not None:
            found: list[shelf_labels.LabelItem] = dlg.result_value
            for i in found:
                self.items[i.product_id] = (i.sku, i.name, i.price_text)
            self.ctx.messages.show_notice(
                self.tr("{0} items changed price since then.").format(len(found)), tone=False
            )
            self._redraw()
        dlg.deleteLater()

    def from_count(self) -> None:
        self.ctx.ops.read(counts.recent, self._choose_count)

    def _choose_count(self, recent: list[counts.CountSummary]) -> None:
        if not recent:
            self.ctx.messages.show_error(self.tr("No counts yet."))
            return
        dlg = FormDialog(
            self.ctx, self.tr("From a count"), self.tr("Labels for what a count counted"), parent=self
        )
        box = QComboBox()
        for c in recent:
            box.addItem(f"{c.title} ({c.status}, {c.counted}/{c.lines})", c.id)
        dlg.add_field("count", self.tr("Count"), box)

        def load(s: Any, count_id: str) -> list[tuple[str, str, str, str]]:
            ids = counts.counted_location_products(s, count_id)
            return [(pid, *self._describe(s, pid)) for pid in ids]

        dlg.on_ok = lambda v: dlg.run(lambda s, _a: load(s, v["count"]))
        if dlg.exec() and dlg.result_value is not None:
            for pid, sku, name, price in dlg.result_value:
                self.items[pid] = (sku, name, price)
            self._redraw()
        dlg.deleteLater()

    def _describe(self, s: Any, product_id: str) -> tuple[str, str, str]:
        p = catalog.get(s, product_id)
        return p.sku, p.name, self.money(p.price)

    def remove_line(self) -> None:
        row = self.current_row()
        if row is not None:
            self.items.pop(row.key, None)
            self.current = None
            self._redraw()

    def clear(self) -> None:
        self.items.clear()
        self._redraw()

    def print_labels(self) -> None:
        if not self.items:
            self.ctx.messages.show_error(self.tr("Scan the items to label first."))
            return
        ids = list(self.items)

        def printed(p: shelf_labels.Printed) -> None:
            self.ctx.messages.show_notice(
                self.tr("{0} shelf labels sent to the label printer.").format(len(p.jobs)), tone=False
            )
            self.clear()

        self.ctx.ops.run(lambda s, a: shelf_labels.print_labels(s, a, ids), printed)
