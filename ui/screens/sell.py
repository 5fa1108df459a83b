"""Sell: the cashier's screen. Scan to cart, quantities, overrides and discounts, customer, park and recall, pay.

Every key action has its F-key (UI.md), focus returns to the scan field after each action, and the total is the
largest thing on the screen. The screen holds no rules: each action is one service call through the op helper;
a refusal shows in the message bar, a missing permission opens the manager approval dialog.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
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
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.documents.model import format_money
from app.domain import barcodes
from app.domain.money import parse_money
from app.services import customers, sales
from app.services.base import Changes, UserError
from app.services.sales import Completed, SaleView, ScanOutcome
from ui.context import AppContext
from ui.weigh import WeightDialog
from ui.widgets import ProductPicker, current_key, enter_presses, fill_choices

HIGHLIGHT = "#bbf7d0"  # the line a scan just added or changed, for 0.7 s

KEYS = [
    ("F2", "Search", "search"),
    ("F3", "Quantity", "quantity"),
    ("F4", "Price", "override"),
    ("F5", "Discount", "discount"),
    ("F6", "Customer", "customer"),
    ("F7", "Void line", "void_line"),
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
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        lay.addWidget(self.table, 3)

        right = QVBoxLayout()
        self.number = QLabel()
        self.number.setObjectName("hint")
        right.addWidget(self.number)
        cap = QLabel(self.tr("Total"))
        cap.setObjectName("bigCaption")
        right.addWidget(cap)
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
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setMinimumHeight(56)
            b.clicked.connect(getattr(self, action))
            grid.addWidget(b, i // 2, i % 2)
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
        if self.sale is None:
            return None
        row = self.table.currentRow()
        if 0 <= row < len(self.sale.lines):
            return self.sale.lines[row].id
        lines = [ln for ln in self.sale.lines if not ln.voided]
        return lines[-1].id if lines else None

    def focus_scan(self) -> None:
        win = self.window()
        if hasattr(win, "focus_scan"):
            win.focus_scan()

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.ctx.ops.run(lambda s, a: sales.current_sale(s, a), self.show_sale)

    def on_changed(self, changes: Changes) -> None:
        pass  # this screen redraws from the SaleView each of its own calls returns

    def show_sale(self, sale: Any) -> None:
        if isinstance(sale, ScanOutcome):
            self.highlight = sale.line_id
            sale = sale.sale
        self.sale = sale if isinstance(sale, SaleView) and sale.status == "open" else None
        s = self.sale
        lines = s.lines if s else []
        self._fill_table(lines)
        if self.highlight:
            self._flash.start(700)
        self.total.setText(self.money(s.total if s else Decimal(0)))
        if s:
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
        self.focus_scan()

    def _fill_table(self, lines: list[Any]) -> None:
        """Show the sale's lines, touching only the rows whose text or look changed since the last call."""
        table = self.table
        fresh = not self._shown_rows
        if len(self._shown_rows) != len(lines):
            table.setRowCount(len(lines))
            self._shown_rows = (self._shown_rows + [None] * len(lines))[: len(lines)]
        widths = [0] * table.columnCount()
        metrics = table.fontMetrics()
        for r, ln in enumerate(lines):
            qty = f"{ln.qty.normalize():f}" + (" kg" if ln.unit == "kg" else "")
            note = " ".join(
                x for x in (ln.override_text, ln.discount_text, self.tr("voided") if ln.voided else "") if x
            )
            cells = (ln.name, qty, self.money(ln.price), self.money(ln.amount), note)
            lit = ln.id == self.highlight
            shown = (*cells, ln.voided, lit)
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
                font = item.font()
                if font.strikeOut() != ln.voided:
                    font.setStrikeOut(ln.voided)
                    item.setFont(font)
                # None takes the role back to the table's own colours (an empty QBrush would paint nothing).
                item.setData(Qt.ItemDataRole.ForegroundRole, QBrush(QColor("#9ca3af")) if ln.voided else None)
                item.setData(Qt.ItemDataRole.BackgroundRole, QBrush(QColor(HIGHLIGHT)) if lit else None)
                widths[c] = max(widths[c], metrics.horizontalAdvance(text))
            self._shown_rows[r] = shown
            first = table.item(r, 0)
            if lit and first is not None:
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
        raw = result.raw
        self._with_sale(lambda s, a, sid: sales.add_scan(s, a, sid, raw), self._weigh_or_show)

    def _weigh_or_show(self, outcome: Any) -> None:
        """Show the sale; a weighed item that came without a weight is weighed first, then added."""
        self.show_sale(outcome)
        if not isinstance(outcome, ScanOutcome) or outcome.weigh is None:
            return
        item = outcome.weigh
        dlg = WeightDialog(item.name, self.money(item.price), self)
        if dlg.exec() and dlg.weight is not None:
            kg = dlg.weight
            self._with_sale(lambda s, a, sid: sales.add_product(s, a, sid, item.id, kg))
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

    def quantity(self) -> None:
        line = self.selected_line()
        if line is None:
            return self._nothing()
        text, ok = QInputDialog.getText(
            self, self.tr("Quantity"), self.tr("New quantity (kg for weighed items):")
        )
        if ok:
            try:
                qty = Decimal(text.strip().replace(",", "."))
            except ArithmeticError:
                self.ctx.messages.show_error(self.tr("{0!r} is not a quantity.").format(text))
                return
            self._with_sale(lambda s, a, sid: sales.set_qty(s, a, sid, line, qty))
        self.focus_scan()

    def _ask_money(self, title: str, label: str) -> Decimal | None:
        text, ok = QInputDialog.getText(self, title, label)
        if not ok:
            return None
        try:
            return parse_money(text)
        except ValueError as e:
            self.ctx.messages.show_error(str(e))
            return None

    def _ask_reason(self, title: str) -> str | None:
        text, ok = QInputDialog.getText(self, title, self.tr("Reason:"))
        return text.strip() if ok else None

    def override(self) -> None:
        line = self.selected_line()
        if line is None:
            return self._nothing()
        price = self._ask_money(self.tr("Price override"), self.tr("New unit price:"))
        if price is None:
            return self.focus_scan()
        reason = self._ask_reason(self.tr("Price override"))
        if reason is not None:
            self._with_sale(lambda s, a, sid: sales.override_price(s, a, sid, line, price, reason))
        self.focus_scan()

    def discount(self) -> None:
        dlg = DiscountDialog(self, has_line=self.selected_line() is not None)
        if not dlg.exec():
            return self.focus_scan()
        try:
            kind, value, reason, scope = dlg.values()
        except UserError as e:
            self.ctx.messages.show_error(str(e))
            return
        line = self.selected_line()
        if scope == "line" and line:
            self._with_sale(lambda s, a, sid: sales.discount_line(s, a, sid, line, kind, value, reason))
        else:
            self._with_sale(lambda s, a, sid: sales.discount_order(s, a, sid, kind, value, reason))
        self.focus_scan()

    def customer(self) -> None:
        dlg = CustomerDialog(self.ctx, self)
        if dlg.exec() and dlg.customer_id:
            cid = dlg.customer_id
            self._with_sale(lambda s, a, sid: sales.attach_customer(s, a, sid, cid))
        self.focus_scan()

    def void_line(self) -> None:
        line = self.selected_line()
        if line is None:
            return self._nothing()
        self._with_sale(lambda s, a, sid: sales.void_line(s, a, sid, line))

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
        from app.services import shifts

        def opened(_r: Any) -> None:
            printer = self.ctx.services.get("printer")
            if printer is not None:
                printer.open_drawer()
            self.ctx.messages.show_notice(self.tr("Drawer opened (no sale), recorded."))
            self.focus_scan()

        self._run(lambda s, a: shifts.no_sale(s, a, "no sale"), opened)

    def help(self) -> None:
        keys = "\n".join(f"{k}  {label}" for k, label, _a in KEYS) + "\nF10  Pay\nF12  Sign out / switch user"
        self.ctx.messages.show_notice(keys.replace("\n", "   ·   "))

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
        form = QFormLayout()
        self.kind = QComboBox()
        for key, label in (
            ("cash", "Cash"),
            ("card", "Card"),
            ("gift_card", "Gift card"),
            ("store_credit", "Store credit"),
        ):
            self.kind.addItem(self.tr(label), key)
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

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        self.last4.setEnabled(kind == "card")
        self.approval.setEnabled(kind == "card")
        self.reference.setEnabled(kind == "gift_card")
        self.amount.setText(
            f"{self.sale.remaining:.2f}" if kind != "cash" else f"{self.sale.remaining_in_cash:.2f}"
        )
        self.amount.setFocus()
        self.amount.selectAll()

    def refresh(self, sale: SaleView) -> None:
        self.sale = sale
        due = sale.remaining_in_cash if self.kind.currentData() == "cash" else sale.remaining
        self.due.setText(self.tr("Due {0}").format(self.money(due if due else sale.remaining)))
        paid = [f"{p.kind.replace('_', ' ')} {self.money(p.tendered)}" for p in sale.payments]
        text = self.tr("Total {0}. Paid: {1}").format(self.money(sale.total), ", ".join(paid) or "-")
        if sale.remaining_in_cash != sale.remaining:
            text += "\n" + self.tr("In cash {0} (rounded for coins), by card {1}.").format(
                self.money(sale.remaining_in_cash), self.money(sale.remaining)
            )
        self.paid.setText(text)
        base = sale.remaining_in_cash or sale.remaining
        amounts = sorted({base, *(Decimal(n) for n in (5, 10, 20, 50, 100) if Decimal(n) > base)})[:4]
        for i, b in enumerate(self.quick):
            b.setVisible(i < len(amounts))
            if i < len(amounts):
                b.setText(self.money(amounts[i]))
                b.setProperty("amount", str(amounts[i]))
        self.amount.setText(f"{base:.2f}")
        self.amount.selectAll()

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


class DiscountDialog(QDialog):
    def __init__(self, parent: QWidget, has_line: bool) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Discount"))
        form = QFormLayout(self)
        self.scope = QComboBox()
        if has_line:
            self.scope.addItem(self.tr("Selected line"), "line")
        self.scope.addItem(self.tr("Whole sale"), "order")
        self.kind = QComboBox()
        self.kind.addItem(self.tr("Percent"), "percent")
        self.kind.addItem(self.tr("Amount"), "amount")
        self.value = QLineEdit()
        self.reason = QLineEdit()
        form.addRow(self.tr("On"), self.scope)
        form.addRow(self.tr("Kind"), self.kind)
        form.addRow(self.tr("Value"), self.value)
        form.addRow(self.tr("Reason"), self.reason)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.value.setFocus()

    def values(self) -> tuple[str, Decimal, str, str]:
        try:
            value = parse_money(self.value.text())
        except ValueError as e:
            raise UserError(str(e)) from None
        return self.kind.currentData(), value, self.reason.text().strip(), self.scope.currentData()


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
