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

from PySide6.QtWidgets import QInputDialog, QLabel, QLineEdit, QWidget

from app.domain import barcodes
from app.domain.money import parse_money, parse_qty, parse_weight
from app.services import sales
from app.services.sales import Completed, LineView, SaleView, ScanOutcome
from ui.context import AppContext
from ui.screens.sell_dialogs import (
    CustomerDialog,
    DiscountDialog,
    ProductSearchDialog,
    TenderDialog,
)
from ui.theme import GOOD_GREEN
from ui.weigh import WeightDialog
from ui.widgets import FormDialog, confirm
from ui.workstation import Action, Row, Workstation

__all__ = ["CustomerDialog", "DiscountDialog", "ProductSearchDialog", "SellScreen", "TenderDialog"]

KEYS = [
    Action("F2", "Search", "search"),
    Action("F3", "Quantity", "quantity"),
    Action("F4", "Price", "override"),
    Action("F5", "Discount", "discount"),
    Action("F6", "Customer", "customer"),
    Action("F7", "Void line", "void_line"),
    Action("Shift+F7", "Void sale", "void_sale", "danger"),
    Action("F8", "Park", "park"),
    Action("F9", "Recall", "recall"),
    Action("F11", "No sale", "no_sale"),
    Action("F1", "Keys", "help"),
]


class SellScreen(Workstation):
    title = "Sell"
    columns = ("Item", "Qty", "Price", "Amount", "Note")
    numeric = (1, 2, 3)
    caps = {4: 320}  # a long note is cut rather than squeeze the item names
    action_keys = KEYS
    primary = Action("F10", "Pay", "pay")
    extra_keys = ("F12  Sign out / switch user",)

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.sale: SaleView | None = None
        self.completed: Completed | None = None  # the sale just paid, shown (with its change) until the next
        super().__init__(ctx, parent)
        self.table.setObjectName("cart")
        self.total = self.figure  # the total due; the change to give once paid
        self.caption.setText(self.tr("Total"))
        self.total.setText("0.00")
        assert self.primary_button is not None
        self.pay_button = self.primary_button
        self.customer_label = QLabel()
        self.customer_label.setWordWrap(True)
        self.extra.addWidget(self.customer_label)

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {
            "product": self.on_scan,
            "unknown": self.on_scan,
            "parked": self.on_parked,
            "loyalty": self.on_scan,
            "*": self.on_other,
        }

    # -- helpers -------------------------------------------------------------------------------------------
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

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.ctx.ops.run(lambda s, a: sales.current_sale(s, a), self.show_sale)

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
        s = self.sale
        if s is not None and s.lines:
            self.completed = None  # the next sale has started: the last one's change goes
        self.show_rows(self._rows(s.lines if s else []))
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

    def _rows(self, lines: list[LineView]) -> list[Row]:
        rows = []
        for ln in lines:
            qty = f"{ln.qty.normalize():f}" + (" kg" if ln.unit == "kg" else "")
            note = " ".join(
                x for x in (ln.override_text, ln.discount_text, self.tr("voided") if ln.voided else "") if x
            )
            cells = (ln.name, qty, self.money(ln.price), self.money(ln.amount), note)
            rows.append(Row(ln.id, cells, live=not ln.voided))
        return rows

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
