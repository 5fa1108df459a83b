"""Sell: the cashier's screen. Scan to cart, quantities, overrides and discounts, customer, park and recall, pay.

Every key action has its F-key (UI.md), focus returns to the scan field after each action, and the total is the
largest thing on the screen. The screen holds no rules: each action is one service call through the op helper;
a refusal shows in the message bar, a missing permission opens the manager approval dialog.

The current line (what F3, F4, F5 and F7 act on) is always highlighted: the line the last scan added or changed,
moved by Up/Down from the scan field or by a tap. A tap or Up/Down chooses it on purpose, which F5 takes as "discount
this line"; otherwise F5 offers the whole sale first. The next scan makes its own line current again. Each line
dialog names its item, keeps what was typed until the change is made, and F7 asks once. After a sale is paid, the
change to give stays large where the total was until the next sale starts.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetrics, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.domain import barcodes, tenders
from app.domain.money import parse_money, parse_qty, parse_weight
from app.services import customers, sales
from app.services.base import Changes
from app.services.sales import Completed, LineView, SaleView, ScanOutcome
from ui.context import AppContext
from ui.theme import CURRENT_LINE, FLASH_GREEN, GOOD_GREEN
from ui.weigh import WeightDialog
from ui.widgets import (
    FormDialog,
    ProductPicker,
    confirm,
    current_key,
    enter_presses,
    fill_choices,
)

HIGHLIGHT = FLASH_GREEN  # the line a scan just added or changed, for 0.7 s

KEYS = [
    ("F2", "Search", "search"),
    ("F3", "Quantity", "quantity"),
    ("F4", "Price", "override"),
    ("F5", "Discount", "discount"),
    ("F6", "Customer", "customer"),
    ("F7", "Void line", "void_line"),
    ("Shift+F7", "Void sale", "void_sale"),
    ("F8", "Park", "park"),
    ("F9", "Recall", "recall"),
    ("F11", "No sale", "no_sale"),
    ("F1", "Keys", "help"),
]


class SellScreen(QWidget):
    title = "Sell"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sale: SaleView | None = None
        self.highlight: str | None = None
        self.current: str | None = None  # the line F3, F4, F5 and F7 act on
        self.chosen = False  # the current line was picked by Up/Down or a tap, not just the last scanned
        self.completed: Completed | None = (
            None  # the sale just paid, shown (with its change) until the next starts
        )
        lay = QHBoxLayout(self)

        self.table = QTableWidget(0, 5)
        self.table.setObjectName("cart")
        self.table.setHorizontalHeaderLabels(
            [self.tr("Item"), self.tr("Qty"), self.tr("Price"), self.tr("Amount"), self.tr("Note")]
        )
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        # Not ResizeToContents: that measures every cell of the column again on each change, about 1 ms per
        # line on a long sale, and the cashier waits for it after every scan. `_fit_columns` measures only
        # the texts that changed, and widens a column only when they need it.
        for c in (1, 2, 3, 4):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.Fixed)
        self._shown_rows: list[tuple[object, ...] | None] = []  # what each row shows, to redraw only changes
        self.table.verticalHeader().setDefaultSectionSize(44)
        self.table.verticalHeader().hide()
        # No Qt selection: the current line is drawn by `_fill_table` (one highlight, kept with the sale), and a
        # tap only moves it (a Qt selection stayed on a tapped row after later scans, and F3 changed that row).
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.pressed.connect(self._row_pressed)
        lay.addWidget(self.table, 3)

        right = QVBoxLayout()
        self.number = QLabel()
        self.number.setObjectName("hint")
        right.addWidget(self.number)
        cap = QLabel(self.tr("Total"))
        cap.setObjectName("bigCaption")
        right.addWidget(cap)
        self.caption = cap
        self.total = QLabel("0.00")
        self.total.setObjectName("bigFigure")
        self.total.setAlignment(Qt.AlignmentFlag.AlignRight)
        right.addWidget(self.total)
        self.figures = QLabel()
        self.figures.setObjectName("saleFigures")
        self.figures.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.figures.setStyleSheet("font-size: 18px;")
        right.addWidget(self.figures)
        self.customer_label = QLabel()
        self.customer_label.setWordWrap(True)
        right.addWidget(self.customer_label)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, (key, label, action) in enumerate(KEYS):
            b = QPushButton(f"{self.tr(label)}\n{key}")
            if action == "void_sale":
                b.setObjectName("danger")
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(56)
            b.setStyleSheet("font-size: 15px; padding: 2px 4px;")
            b.clicked.connect(getattr(self, action))
            grid.addWidget(b, i // 3, i % 3)  # three across: the total and Pay stay on a 1024x768 screen
            self.buttons[action] = b
            # Window-wide, so the F-keys work while the scan field (in the window's top bar, outside this
            # screen) has the focus, which is nearly always; Qt ignores a shortcut whose widget is hidden, so
            # they are off while another workstation is showing.
            sc = QShortcut(QKeySequence(key), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(getattr(self, action))
        right.addLayout(grid)
        self.pay_button = QPushButton(self.tr("Pay  F10"))
        self.pay_button.setObjectName("primary")
        self.pay_button.setMinimumHeight(72)
        self.pay_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pay_button.clicked.connect(self.pay)
        sc = QShortcut(QKeySequence("F10"), self)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(self.pay)
        right.addWidget(self.pay_button)
        for key, step in (("Up", -1), ("Down", 1)):
            # Up/Down move the current line from the scan field, where the keyboard nearly always is.
            move = QShortcut(QKeySequence(key), self)
            move.setContext(Qt.ShortcutContext.WindowShortcut)
            move.activated.connect(lambda step=step: self.move_current(step))
        right.addStretch(1)
        side = QWidget()
        side.setLayout(right)
        side.setMinimumWidth(330)
        side.setMaximumWidth(420)
        lay.addWidget(side, 0)
        ctx.router.register(
            self,
            {
                "product": self.on_scan,
                "unknown": self.on_scan,
                "parked": self.on_parked,
                "loyalty": self.on_scan,
                "*": self.on_other,
            },
        )
        self._flash = QTimer(self)
        self._flash.setSingleShot(True)
        self._flash.timeout.connect(lambda: self._clear_highlight())

    # -- helpers -------------------------------------------------------------------------------------------
    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.ctx.here.currency, self.ctx.here.locale)

    def _run(self, work: Callable[[Any, Any], Any], done: Callable[[Any], None] | None = None) -> None:
        self.ctx.ops.run(work, done or self.show_sale)

    def _with_sale(
        self, work: Callable[[Any, Any, str], Any], done: Callable[[Any], None] | None = None
    ) -> None:
        """Run `work(session, actor, sale_id)` on the current sale, starting one first if needed."""
        sale_id = self.sale.id if self.sale and self.sale.status == "open" else None

        def go(s: Any, a: Any) -> Any:
            sid = sale_id or sales.start_sale(s, a).id
            return work(s, a, sid)

        self._run(go, done)

    def selected_line(self) -> str | None:
        """The current line's id: what F3, F4, F5 and F7 act on (None when the sale has no live line)."""
        line = self.current_line()
        return line.id if line else None

    def current_line(self) -> LineView | None:
        if self.sale is None:
            return None
        return next((ln for ln in self.sale.lines if ln.id == self.current and not ln.voided), None)

    def _settle_current(self) -> None:
        """Keep the current line where it is; when it is gone or voided, the last live line becomes current."""
        if self.current_line() is None:
            live = [ln for ln in self.sale.lines if not ln.voided] if self.sale else []
            self.current = live[-1].id if live else None
            self.chosen = False

    def move_current(self, step: int) -> None:
        """Up/Down: the current line moves over the live lines (voided ones cannot be acted on)."""
        if self.sale is None:
            return
        live = [ln.id for ln in self.sale.lines if not ln.voided]
        if not live:
            return
        at = live.index(self.current) if self.current in live else len(live) - 1
        self.current = live[max(0, min(len(live) - 1, at + step))]
        self.chosen = True
        self._fill_table(self.sale.lines)
        self.focus_scan()

    def _row_pressed(self, index: QModelIndex) -> None:
        if self.sale is None or not 0 <= index.row() < len(self.sale.lines):
            return
        line = self.sale.lines[index.row()]
        if not line.voided:
            self.current, self.chosen = line.id, True
            self._fill_table(self.sale.lines)
        self.focus_scan()

    def focus_scan(self) -> None:
        win = self.window()
        active = QApplication.activeWindow()
        if active is not None and active is not win and not active.isVisible() and win.isVisible():
            # A dialog just closed but is still the active window (no window manager hands the keyboard back):
            # the scan field would get the focus of a window that has no keyboard.
            win.activateWindow()
        if hasattr(win, "focus_scan"):
            win.focus_scan()

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.ctx.ops.run(lambda s, a: sales.current_sale(s, a), self.show_sale)

    def on_changed(self, changes: Changes) -> None:
        pass  # this screen redraws from the SaleView each of its own calls returns

    def show_sale(self, sale: Any) -> None:
        scanned: str | None = None
        if isinstance(sale, ScanOutcome):
            self.highlight = scanned = sale.line_id
            sale = sale.sale
        shown = sale if isinstance(sale, SaleView) and sale.status == "open" else None
        if shown is None or self.sale is None or shown.id != self.sale.id:
            self.current, self.chosen = None, False  # another sale: nothing chosen on it yet
        self.sale = shown
        if scanned:
            self.current, self.chosen = (
                scanned,
                False,
            )  # the scanned line is current, whatever was tapped before
        self._settle_current()
        s = self.sale
        if s is not None and s.lines:
            self.completed = None  # the next sale has started: the last one's change goes
        lines = s.lines if s else []
        self._fill_table(lines)
        if self.highlight:
            self._flash.start(700)
        self.total.setText(self.money(s.total if s else Decimal(0)))
        self.caption.setText(self.tr("Total"))
        self.total.setStyleSheet("")
        if s is None and self.completed is not None:
            self._show_completed(self.completed)
        elif s:
            # Pieces count as their quantity; a weighed line is one item whatever it weighs.
            items = sum(
                (ln.qty if ln.unit == "ea" else Decimal(1) for ln in s.lines if not ln.voided), Decimal(0)
            )
            parts = [
                f"{self.tr('Items')}: {items.normalize():f}",
                f"{self.tr('Tax')}: {self.money(s.tax_total)}",
            ]
            if s.discount_total:
                parts.append(f"{self.tr('Discounts')}: -{self.money(s.discount_total)}")
            if s.paid:
                parts.append(f"{self.tr('Paid')}: {self.money(s.paid)}")
                parts.append(f"<b>{self.tr('Still due')}: {self.money(s.remaining)}</b>")
            self.figures.setText("<br>".join(parts))
            self.number.setText(self.tr("Sale {0}").format(s.number))
            self.customer_label.setText(
                self.tr("Customer: {0}").format(s.customer_name) if s.customer_name else ""
            )
        else:
            self.figures.setText(self.tr("Scan the first item to start a sale."))
            self.number.setText("")
            self.customer_label.setText("")
        self.pay_button.setEnabled(bool(s and any(not ln.voided for ln in s.lines)))
        self.buttons["void_sale"].setEnabled(s is not None)
        self.focus_scan()

    def _show_completed(self, done: Completed) -> None:
        """The sale just paid: the change to give, large and green, where the total was."""
        sale = done.sale
        cash = any(p.kind == "cash" for p in sale.payments)
        if cash:
            self.caption.setText(self.tr("Change due"))
            self.total.setText(self.money(done.change))
            self.total.setStyleSheet(f"color: {GOOD_GREEN};")
        else:
            self.caption.setText(self.tr("Paid"))
            self.total.setText(self.money(sale.total))
        paid = ", ".join(f"{p.kind.replace('_', ' ')} {self.money(p.tendered)}" for p in sale.payments)
        self.number.setText(self.tr("Sale {0} complete").format(sale.number))
        self.figures.setText(
            "<br>".join(
                [
                    f"{self.tr('Total')}: {self.money(sale.total)}",
                    f"{self.tr('Tendered')}: {paid}",
                    self.tr("Scan the next item to start a new sale."),
                ]
            )
        )

    def _fill_table(self, lines: list[Any]) -> None:
        """Show the sale's lines, touching only the rows whose text or look changed since the last call."""
        table = self.table
        fresh = not self._shown_rows
        if len(self._shown_rows) != len(lines):
            table.setRowCount(len(lines))
            self._shown_rows = (self._shown_rows + [None] * len(lines))[: len(lines)]
        widths = [0] * table.columnCount()
        metrics = table.fontMetrics()
        bold = QFont(table.font())
        bold.setBold(True)
        bold_metrics = QFontMetrics(bold)  # the current line is in bold: its figures are a little wider
        for r, ln in enumerate(lines):
            qty = f"{ln.qty.normalize():f}" + (" kg" if ln.unit == "kg" else "")
            note = " ".join(
                x for x in (ln.override_text, ln.discount_text, self.tr("voided") if ln.voided else "") if x
            )
            cells = (ln.name, qty, self.money(ln.price), self.money(ln.amount), note)
            lit = ln.id == self.highlight
            current = ln.id == self.current
            shown = (*cells, ln.voided, lit, current)
            if self._shown_rows[r] == shown:
                continue
            for c, text in enumerate(cells):
                item = table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    if c in (1, 2, 3):
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    table.setItem(r, c, item)
                item.setText(text)
                # From the table's own font (its style sheet's size): an item's default font is the application's.
                font = QFont(table.font())
                font.setStrikeOut(ln.voided)
                font.setBold(current)
                if item.font() != font:
                    item.setFont(font)
                # None takes the role back to the table's own colours (an empty QBrush would paint nothing).
                item.setData(Qt.ItemDataRole.ForegroundRole, QBrush(QColor("#9ca3af")) if ln.voided else None)
                back = HIGHLIGHT if lit else CURRENT_LINE if current else None
                item.setData(Qt.ItemDataRole.BackgroundRole, QBrush(QColor(back)) if back else None)
                widths[c] = max(widths[c], (bold_metrics if current else metrics).horizontalAdvance(text))
            self._shown_rows[r] = shown
            first = table.item(r, 0)
            if (lit or current) and first is not None:
                table.scrollToItem(first)
        self._fit_columns(widths, fresh)

    def _fit_columns(self, widths: list[int], fresh: bool) -> None:
        """Fit the number and note columns to their texts: from their headers up when the table was empty
        (`fresh`), else only wider, for the texts that changed."""
        hh = self.table.horizontalHeader()
        pad = 2 * self.table.fontMetrics().averageCharWidth() + 8
        for c in (1, 2, 3, 4):
            label = self.table.horizontalHeaderItem(c)
            floor = hh.fontMetrics().horizontalAdvance(label.text() if label else "") + pad
            now = hh.sectionSize(c)
            want = max(floor, widths[c] + pad) if fresh else max(now, widths[c] + pad)
            if c == 4:
                want = min(want, 320)  # a long note is cut rather than squeeze the item names
            if want != now:
                hh.resizeSection(c, want)

    def _clear_highlight(self) -> None:
        self.highlight = None
        self._fill_table(self.sale.lines if self.sale else [])  # redraws the one row that was lit

    # -- scans -----------------------------------------------------------------------------------------------
    def on_scan(self, result: barcodes.ScanResult) -> None:
        # The router's parsed scan travels to the service as it is: parsed once, with the store's rules.
        self._with_sale(lambda s, a, sid: sales.add_scan(s, a, sid, result), self._weigh_or_show)

    def _weigh_or_show(self, outcome: Any) -> None:
        """Show the sale; a weighed item that came without a weight is weighed first, then added.

        A scan that takes a line beyond the stock this till knows of (or above the store's threshold) is kept and
        warned about in amber, without a question: a question would stop the next scan, and a scanner's Enter
        would answer it. The cashier checks the shelf or the count and takes the line down with F3 if wrong."""
        self.show_sale(outcome)
        if isinstance(outcome, ScanOutcome) and outcome.warnings:
            self.ctx.messages.show_warning(
                " ".join(outcome.warnings) + " " + self.tr("Check the count; F3 changes it.")
            )
        if not isinstance(outcome, ScanOutcome) or outcome.weigh is None or self.sale is None:
            return
        item = outcome.weigh
        dlg = WeightDialog(self.ctx, item.id, item.name, self.money(item.price), self.sale.id, self)
        if dlg.exec() and dlg.result_value is not None:
            self.show_sale(dlg.result_value)
        dlg.deleteLater()
        self.focus_scan()

    def on_parked(self, result: barcodes.ScanResult) -> None:
        assert isinstance(result, barcodes.InternalCode)
        if self.sale is not None and self.sale.lines:
            self.ctx.messages.show_error(
                self.tr("Finish or park the sale on screen before recalling another.")
            )
            return
        value = result.value
        self._run(lambda s, a: sales.recall(s, a, value))

    def on_other(self, result: barcodes.ScanResult) -> None:
        self.ctx.messages.show_error(
            self.tr(
                "The Sell screen does not take this code ({0}): use the workstation it belongs to."
            ).format(result.kind)
        )

    # -- actions ---------------------------------------------------------------------------------------------
    def search(self) -> None:
        dlg = ProductSearchDialog(self.ctx, self)
        if dlg.exec() and dlg.product_id:
            pid = dlg.product_id
            self._with_sale(lambda s, a, sid: sales.add_product(s, a, sid, pid, None), self._weigh_or_show)
        self.focus_scan()

    def _describe(self, ln: LineView) -> str:
        qty = f"{ln.qty.normalize():f}" + (" kg" if ln.unit == "kg" else "")
        return self.tr("{0}: {1} at {2} = {3}").format(
            ln.name, qty, self.money(ln.price), self.money(ln.amount)
        )

    def quantity(self) -> None:
        ln = self.current_line()
        if ln is None or self.sale is None:
            return self._nothing()
        sid, line = self.sale.id, ln.id
        dlg = FormDialog(
            self.ctx, self.tr("Quantity"), self.tr("Quantity of {0}").format(self._describe(ln)), parent=self
        )
        field = QLineEdit()
        field.setObjectName("quantity")
        weighed = ln.unit == "kg"
        dlg.add_field(
            "qty",
            self.tr("New weight (kg)") if weighed else self.tr("New quantity"),
            field,
            parse_weight if weighed else parse_qty,
            required=True,
        )

        def ok(values: dict[str, Any]) -> None:
            qty: Decimal = values["qty"]

            def checked(warnings: list[str]) -> None:
                if warnings and not confirm(
                    dlg,
                    self.tr("Check the quantity"),
                    "\n".join(warnings) + "\n\n" + self.tr("Sell {0} of {1}?").format(f"{qty:f}", ln.name),
                    self.tr("Yes, {0} (Enter)").format(f"{qty:f}"),
                    self.tr("No, change it (Esc)"),
                ):
                    dlg.show_error(self.tr("Not changed: correct the quantity, or Esc to keep it."), "qty")
                    return
                dlg.run(lambda s, a: sales.set_qty(s, a, sid, line, qty), field="qty")

            dlg.run(lambda s, _a: sales.qty_warnings(s, sid, line, qty), checked, field="qty")

        dlg.on_ok = ok
        self._exec(dlg)

    def _exec(self, dlg: FormDialog) -> None:
        """Show a line or sale dialog; when its change was made, show the sale it returned."""
        if dlg.exec() and dlg.result_value is not None:
            self.show_sale(dlg.result_value)
        dlg.deleteLater()
        self.focus_scan()

    def override(self) -> None:
        ln = self.current_line()
        if ln is None or self.sale is None:
            return self._nothing()
        sid, line = self.sale.id, ln.id
        dlg = FormDialog(
            self.ctx,
            self.tr("Price override"),
            self.tr("New price for {0}").format(self._describe(ln)),
            parent=self,
        )
        price = QLineEdit()
        price.setObjectName("price")
        reason = QLineEdit()
        reason.setObjectName("reason")
        dlg.add_field("price", self.tr("New unit price"), price, parse_money, required=True)
        dlg.add_field(
            "reason",
            self.tr("Reason"),
            reason,
            required=self.tr("Enter a reason: it is kept with the change."),
        )
        dlg.on_ok = lambda v: dlg.run(
            lambda s, a: sales.override_price(s, a, sid, line, v["price"], v["reason"])
        )
        self._exec(dlg)

    def discount(self) -> None:
        if self.sale is None or self.current_line() is None:
            return self._nothing()
        sid = self.sale.id
        ln = self.current_line()
        dlg = DiscountDialog(self.ctx, self, ln, line_first=self.chosen)

        def ok(v: dict[str, Any]) -> None:
            kind, value, reason = v["kind"], v["value"], v["reason"]
            if v["scope"] == "line" and ln is not None:
                line = ln.id
                dlg.run(lambda s, a: sales.discount_line(s, a, sid, line, kind, value, reason))
            else:
                dlg.run(lambda s, a: sales.discount_order(s, a, sid, kind, value, reason))

        dlg.on_ok = ok
        self._exec(dlg)

    def customer(self) -> None:
        dlg = CustomerDialog(self.ctx, self)
        if dlg.exec() and dlg.customer_id:
            cid = dlg.customer_id
            self._with_sale(lambda s, a, sid: sales.attach_customer(s, a, sid, cid))
        self.focus_scan()

    def void_line(self) -> None:
        ln = self.current_line()
        if ln is None:
            return self._nothing()
        if confirm(
            self,
            self.tr("Void line"),
            self.tr("Void {0}?").format(self._describe(ln)),
            self.tr("Void this line (Enter)"),
            self.tr("Keep it (Esc)"),
        ):
            line = ln.id
            self._with_sale(lambda s, a, sid: sales.void_line(s, a, sid, line))
        self.focus_scan()

    def void_sale(self) -> None:
        """Abandon the whole sale (Shift+F7), with a reason; a supervisor approves where the cashier may not."""
        sale = self.sale
        if sale is None:
            return self._nothing()
        live = [ln for ln in sale.lines if not ln.voided]
        heading = self.tr(
            "Void sale {0} ({1}, lines: {2})? Nothing is sold; the items go back to the shelf."
        ).format(sale.number, self.money(sale.total), len(live))
        if sale.payments:
            heading += "\n" + self.tr("Payments taken: give them back and remove them in Pay (F10) first.")
        dlg = FormDialog(
            self.ctx, self.tr("Void sale"), heading, ok_text=self.tr("Void the sale (Enter)"), parent=self
        )
        dlg.ok.setObjectName("danger")
        reason = QLineEdit()
        reason.setObjectName("reason")
        dlg.add_field(
            "reason",
            self.tr("Reason"),
            reason,
            required=self.tr("Enter why the sale is voided.") if live else False,
        )
        sid, number = sale.id, sale.number
        dlg.on_ok = lambda v: dlg.run(lambda s, a: sales.void_sale(s, a, sid, v["reason"]))
        if dlg.exec():
            self.ctx.messages.show_notice(self.tr("Sale {0} voided.").format(number), tone=False)
            self.show_sale(None)
        self.focus_scan()

    def park(self) -> None:
        if self.sale is None:
            return self._nothing()
        sid = self.sale.id

        def parked(number: str) -> None:
            self.ctx.messages.show_notice(
                self.tr("Sale parked as {0}: recall it with F9 or scan its slip.").format(number)
            )
            self.show_sale(None)

        self._run(lambda s, a: sales.park(s, a, sid), parked)

    def park_for_switch(self) -> None:
        self.completed = None  # the next person does not see this cashier's last change
        if self.sale is None:
            return
        sid = self.sale.id
        self.ctx.ops.run(lambda s, a: sales.park_for_switch(s, a, sid), lambda _n: self.show_sale(None))

    def recall(self) -> None:
        if self.sale is not None and self.sale.lines:
            self.ctx.messages.show_error(
                self.tr("Finish or park the sale on screen before recalling another.")
            )
            return
        self.ctx.ops.read(sales.list_parked, self._pick_parked)

    def _pick_parked(self, parked: list[Any]) -> None:
        if not parked:
            self.ctx.messages.show_notice(self.tr("No parked sales."))
            return
        labels = [
            f"{p.number}  ·  {p.owner_name}  ·  {p.items} items  ·  {self.money(p.total)}" for p in parked
        ]
        choice, ok = QInputDialog.getItem(
            self, self.tr("Recall a parked sale"), self.tr("Parked sales:"), labels, 0, False
        )
        if ok:
            number = parked[labels.index(choice)].number
            self._run(lambda s, a: sales.recall(s, a, number))
        self.focus_scan()

    def no_sale(self) -> None:
        from app.services import drawer

        def opened(res: drawer.DrawerOpened) -> None:
            printer = self.ctx.services.get("printer")
            if printer is not None and res.open_drawer:
                printer.open_drawer()
            self.ctx.messages.show_notice(self.tr("Drawer opened (no sale), recorded."))
            self.focus_scan()

        self._run(lambda s, a: drawer.open_drawer(s, a, "no_sale"), opened)

    def help(self) -> None:
        keys = "\n".join(f"{k}  {label}" for k, label, _a in KEYS) + "\nF10  Pay\nF12  Sign out / switch user"
        keys += "\n" + self.tr("Up/Down  Current line")
        self.ctx.messages.show_notice(keys.replace("\n", "   ·   "), tone=False)

    def _nothing(self) -> None:
        self.ctx.messages.show_error(self.tr("Scan an item first."))

    # -- payment ---------------------------------------------------------------------------------------------
    def pay(self) -> None:
        if self.sale is None or not any(not ln.voided for ln in self.sale.lines):
            return self._nothing()
        dlg = TenderDialog(self.ctx, self.sale, self)
        dlg.exec()
        if dlg.completed is not None:
            self.after_complete(dlg.completed)
        else:
            self.activate()
        self.focus_scan()

    def after_complete(self, done: Completed) -> None:
        printer = self.ctx.services.get("printer")
        if printer is not None:
            if done.open_drawer:
                printer.open_drawer()  # first: the drawer opens as the receipt starts printing
            printer.wake()
        msg = self.tr("Sale {0} complete.").format(done.sale.number)
        if done.change:
            msg += " " + self.tr("Change due: {0}").format(self.money(done.change))
        self.ctx.messages.show_notice(msg)
        self.completed = done
        self.show_sale(None)


class TenderDialog(QDialog):
    """Take payments until the sale is paid, then complete it (one transaction) and close."""

    def __init__(self, ctx: AppContext, sale: SaleView, parent: SellScreen) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sale = sale
        self.screen_ = parent
        self.completed: Completed | None = None
        self.setWindowTitle(self.tr("Payment"))
        self.setMinimumWidth(560)
        lay = QVBoxLayout(self)
        self.due = QLabel()
        self.due.setObjectName("bigFigure")
        self.due.setStyleSheet("font-size: 48px; font-weight: 700;")
        lay.addWidget(self.due)
        self.paid = QLabel()
        self.paid.setWordWrap(True)
        lay.addWidget(self.paid)
        # The payments taken so far; a mistaken one is removed here (given back first), before the sale is paid.
        taken = QHBoxLayout()
        self.payments = QListWidget()
        self.payments.setObjectName("payments")
        self.payments.setMaximumHeight(96)
        taken.addWidget(self.payments, 1)
        self.remove = QPushButton(self.tr("Remove payment"))
        self.remove.setObjectName("danger")
        self.remove.clicked.connect(self.remove_payment)
        taken.addWidget(self.remove)
        lay.addLayout(taken)
        form = QFormLayout()
        self.kind = QComboBox()
        for key in tenders.KINDS:  # the one tender list
            self.kind.addItem(self.tr(tenders.WORDS[key]), key)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.amount = QLineEdit()
        self.amount.setObjectName("tenderAmount")
        self.last4 = QLineEdit()
        self.last4.setMaxLength(4)
        self.last4.setPlaceholderText(self.tr("last 4 digits"))
        self.approval = QLineEdit()
        self.approval.setMaxLength(12)
        self.reference = QLineEdit()
        self.reference.setPlaceholderText(self.tr("gift card number"))
        form.addRow(self.tr("Tender"), self.kind)
        form.addRow(self.tr("Amount"), self.amount)
        form.addRow(self.tr("Card last 4"), self.last4)
        form.addRow(self.tr("Approval code"), self.approval)
        form.addRow(self.tr("Gift card"), self.reference)
        lay.addLayout(form)
        quick = QHBoxLayout()
        self.quick: list[QPushButton] = []
        for _ in range(4):
            b = QPushButton()
            b.clicked.connect(lambda _c=False, btn=b: self._quick(btn))
            quick.addWidget(b)
            self.quick.append(b)
        lay.addLayout(quick)
        self.error = QLabel()
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #b91c1c; font-weight: 600; font-size: 18px;")
        lay.addWidget(self.error)
        self.take = QPushButton(self.tr("Take payment (Enter)"))
        self.take.setObjectName("primary")
        self.take.clicked.connect(self.take_payment)
        lay.addWidget(self.take)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        buttons.rejected.connect(self.reject)
        lay.addWidget(buttons)
        enter_presses(self, self.take)  # Enter in any field takes the payment once
        self._kind_changed()
        self.refresh(sale)

    def money(self, amount: Decimal) -> str:
        return self.screen_.money(amount)

    def due_now(self) -> Decimal:
        """What is due in the tender chosen: rounded for coins in cash, to the cent otherwise."""
        if self.kind.currentData() == "cash":
            return self.sale.remaining_in_cash or self.sale.remaining
        return self.sale.remaining

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.last4.setEnabled(kind == "card")
        self.approval.setEnabled(kind == "card")
        self.reference.setEnabled(kind == "gift_card")
        # The big "Due" follows the tender: a card pays the exact figure, not the one rounded for coins.
        self.due.setText(self.tr("Due {0}").format(self.money(self.due_now())))
        self.amount.setText(f"{self.due_now():.2f}")
        self.amount.setFocus()
        self.amount.selectAll()

    def refresh(self, sale: SaleView) -> None:
        self.sale = sale
        self.due.setText(self.tr("Due {0}").format(self.money(self.due_now())))
        paid = [f"{p.kind.replace('_', ' ')} {self.money(p.tendered)}" for p in sale.payments]
        text = self.tr("Total {0}. Paid: {1}").format(self.money(sale.total), ", ".join(paid) or "-")
        if sale.remaining_in_cash != sale.remaining:
            text += "\n" + self.tr("In cash {0} (rounded for coins), by card {1}.").format(
                self.money(sale.remaining_in_cash), self.money(sale.remaining)
            )
        self.paid.setText(text)
        self.payments.clear()
        for pay in sale.payments:
            item = QListWidgetItem(f"{pay.kind.replace('_', ' ')}  {self.money(pay.tendered)}")
            item.setData(Qt.ItemDataRole.UserRole, pay.id)
            self.payments.addItem(item)
        if sale.payments:
            self.payments.setCurrentRow(len(sale.payments) - 1)
        self.payments.setVisible(bool(sale.payments))
        self.remove.setVisible(bool(sale.payments))
        base = sale.remaining_in_cash or sale.remaining
        amounts = sorted({base, *(Decimal(n) for n in (5, 10, 20, 50, 100) if Decimal(n) > base)})[:4]
        for i, b in enumerate(self.quick):
            b.setVisible(i < len(amounts))
            if i < len(amounts):
                b.setText(self.money(amounts[i]))
                b.setProperty("amount", str(amounts[i]))
        self.amount.setText(f"{self.due_now():.2f}")
        self.amount.selectAll()

    def remove_payment(self) -> None:
        """Take back a payment: asked once, as the money must be handed back (or the card refunded) first."""
        item = self.payments.currentItem()
        if item is None:
            return
        pid = item.data(Qt.ItemDataRole.UserRole)
        pay = next((p for p in self.sale.payments if p.id == pid), None)
        if pay is None:
            return
        what = f"{pay.kind.replace('_', ' ')} {self.money(pay.tendered)}"
        back = {
            "cash": self.tr("Give the cash back to the customer first."),
            "card": self.tr("Refund it on the card terminal first."),
        }.get(pay.kind, self.tr("The balance goes back to the card or account."))
        if not confirm(
            self,
            self.tr("Remove payment"),
            self.tr("Remove the payment {0}? {1}").format(what, back),
            self.tr("Remove it (Enter)"),
            self.tr("Keep it (Esc)"),
        ):
            return
        sid = self.sale.id
        self.error.clear()
        self.ctx.ops.run(lambda s, a: sales.remove_tender(s, a, sid, pid), self.refresh, self.error.setText)

    def _quick(self, btn: QPushButton) -> None:
        self.kind.setCurrentIndex(0)
        self.amount.setText(str(btn.property("amount")))
        self.take_payment()

    def take_payment(self) -> None:
        try:
            amount = parse_money(self.amount.text())
        except ValueError as e:
            self.error.setText(str(e))
            return
        kind = self.kind.currentData()
        last4 = self.last4.text().strip() or None
        approval = self.approval.text().strip() or None
        ref = self.reference.text().strip() or None
        sid = self.sale.id
        self.error.clear()

        def work(s: Any, a: Any) -> Any:
            sale = sales.add_tender(
                s, a, sid, kind, amount, card_last4=last4, approval_code=approval, reference=ref
            )
            if sale.fully_paid:
                return sales.complete_sale(s, a, sid)
            return sale

        def done(result: Any) -> None:
            if isinstance(result, Completed):
                self.completed = result
                self.accept()
            else:
                self.refresh(result)

        self.ctx.ops.run(work, done, self.error.setText)


class DiscountDialog(FormDialog):
    """F5: a discount on the whole sale, or on the current line when it was chosen on purpose (Up/Down or a tap),
    which is then offered first. Both choices name what they apply to."""

    def __init__(self, ctx: AppContext, parent: SellScreen, line: LineView | None, line_first: bool) -> None:
        super().__init__(ctx, "", "", parent=parent)
        sale = parent.sale
        self.setWindowTitle(self.tr("Discount"))
        self.heading.setText(
            self.tr("Discount on sale {0} ({1})").format(
                sale.number if sale else "", parent.money(sale.total if sale else Decimal(0))
            )
        )
        self.scope = QComboBox()
        self.scope.setObjectName("scope")
        choices = [("order", self.tr("Whole sale"))]
        if line is not None:
            choices.append(("line", self.tr("This line: {0}").format(parent._describe(line))))
            if line_first:
                choices.reverse()
        for key, label in choices:
            self.scope.addItem(label, key)
        self.kind = QComboBox()
        self.kind.addItem(self.tr("Percent"), "percent")
        self.kind.addItem(self.tr("Amount"), "amount")
        self.value = QLineEdit()
        self.value.setObjectName("value")
        self.reason = QLineEdit()
        self.reason.setObjectName("reason")
        self.add_field("scope", self.tr("On"), self.scope)
        self.add_field("kind", self.tr("Kind"), self.kind)
        self.add_field("value", self.tr("Value"), self.value, parse_money, required=True)
        self.add_field(
            "reason",
            self.tr("Reason"),
            self.reason,
            required=self.tr("Enter a reason: it is kept with the discount."),
        )
        self.value.setFocus()


class ProductSearchDialog(QDialog):
    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.product_id: str | None = None
        self.setWindowTitle(self.tr("Search product"))
        self.resize(640, 520)
        lay = QVBoxLayout(self)
        picker = ProductPicker(ctx)
        picker.chosen.connect(self._choose)
        lay.addWidget(picker)
        picker.query.setFocus()

    def _choose(self, product_id: str) -> None:
        self.product_id = product_id
        self.accept()


class CustomerDialog(QDialog):
    """Find a customer by phone, e-mail, name or loyalty card, or create one at the counter."""

    def __init__(self, ctx: AppContext, parent: QWidget) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.customer_id: str | None = None
        self.setWindowTitle(self.tr("Customer"))
        self.resize(640, 560)
        lay = QVBoxLayout(self)
        self.query = QLineEdit()
        self.query.setPlaceholderText(self.tr("Phone, e-mail, name or loyalty card"))
        self.query.textChanged.connect(self._search)
        lay.addWidget(self.query)
        self.results = QListWidget()
        self.results.itemActivated.connect(lambda _i: self._choose())
        lay.addWidget(self.results, 1)
        form = QFormLayout()
        self.name = QLineEdit()
        self.phone = QLineEdit()
        self.email = QLineEdit()
        form.addRow(self.tr("New: name"), self.name)
        form.addRow(self.tr("Phone"), self.phone)
        form.addRow(self.tr("E-mail"), self.email)
        lay.addLayout(form)
        self.error = QLabel()
        self.error.setStyleSheet("color: #b91c1c;")
        lay.addWidget(self.error)
        row = QHBoxLayout()
        pick = QPushButton(self.tr("Attach selected"))
        pick.clicked.connect(self._choose)
        create = QPushButton(self.tr("Create and attach"))
        create.clicked.connect(self._create)
        cancel = QPushButton(self.tr("Cancel"))
        cancel.clicked.connect(self.reject)
        for b in (pick, create, cancel):
            row.addWidget(b)
        lay.addLayout(row)
        self._unregister = ctx.router.register(self, {"loyalty": self._card, "*": self._card})
        self.finished.connect(lambda _r: self._unregister())

    def _card(self, result: barcodes.ScanResult) -> None:
        self.query.setText(result.raw)

    def _search(self, text: str) -> None:
        if len(text.strip()) < 2:
            return
        self.ctx.ops.read(lambda s: customers.find_customers(s, text), self._fill)

    def _fill(self, found: list[Any]) -> None:
        fill_choices(self.results, ((f"{c.name}   {c.phone or ''}   {c.email or ''}", c.id) for c in found))

    def _choose(self) -> None:
        self.customer_id = current_key(self.results)
        if self.customer_id is not None:
            self.accept()

    def _create(self) -> None:
        name, phone, email = self.name.text(), self.phone.text(), self.email.text()

        def done(c: Any) -> None:
            self.customer_id = c.id
            self.accept()

        self.ctx.ops.run(
            lambda s, a: customers.create_customer(s, a, name, phone or None, email or None),
            done,
            self.error.setText,
        )
