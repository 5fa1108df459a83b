"""Returns: find the sale, choose what comes back (never more than may still be returned), why and in what state,
then refund it to the right tenders.

Scan the receipt's barcode or QR (or type its number, or a web order's, + Enter), or find the sale by customer, day
or total (F2). The work list shows each line bought, what is left to return and what this return takes back; the
current line is what F3 (quantity), F4 (all that is left), F5 (reason), F6 (condition) and F7 (take off) act on.
Scanning an item of the sale takes one more of it back. Asking for more than is left is refused in red with a low
tone. The refund (the large figure) is worked out by `app.services.returns` as lines change; F10 shows it per tender
and makes it, with a manager's approval when the return needs one. F9 makes it an exchange instead
(ui.screens.exchange_dialog): the new items are scanned and only the difference is paid or refunded.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QComboBox, QLabel, QLineEdit, QWidget

from app.domain import barcodes
from app.domain import return_policy as rp
from app.domain.money import parse_qty
from app.services import catalog, customers, returns
from app.services.base import Changes
from app.services.returns import Central, NoReceiptLineIn, OriginalView, Quote, ReturnDone, ReturnLineIn
from ui.context import AppContext
from ui.screens.exchange_dialog import start_exchange
from ui.screens.returns_central import CentralWord
from ui.screens.returns_dialogs import FindSaleDialog, RefundDialog
from ui.screens.sell_dialogs import CustomerDialog
from ui.theme import GOOD_GREEN
from ui.widgets import FormDialog, confirm
from ui.workstation import Action, Row, Workstation

KEYS = [
    Action("F2", "Find sale", "find_sale"),
    Action("F3", "Quantity", "quantity"),
    Action("F4", "All left", "whole_line"),
    Action("F5", "Reason", "reason"),
    Action("F6", "Condition", "condition"),
    Action("F7", "Take off", "take_off"),
    Action("F8", "No receipt", "no_receipt"),
    Action("F9", "Exchange", "exchange"),
    Action("Shift+F7", "New return", "clear", "danger"),
    Action("F1", "Keys", "help"),
]


@dataclass(frozen=True)
class ItemLine:
    """An item brought back without a receipt, as the work list shows it (the shape of a sold line)."""

    line_no: int
    product_id: str
    sku: str
    name: str
    qty: Decimal = Decimal(0)
    returned: Decimal = Decimal(0)
    returnable: Decimal = Decimal(999)


@dataclass
class Choice:
    """What this return takes back of one sold line."""

    qty: Decimal
    reason: str | None = None
    condition: str = "new"


class ReturnsScreen(Workstation):
    title = "Returns"
    columns = ("Item", "Sold", "Left", "Return", "Reason / condition", "Refund")
    numeric = (1, 2, 3, 5)
    caps = {4: 170}  # a long reason is cut rather than squeeze the item names at 1024 wide
    action_keys = KEYS
    primary = Action("F10", "Refund", "refund")

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        self.original: OriginalView | None = None
        self.choices: dict[int, Choice] = {}
        self.quoted: Quote | None = None
        self.done: ReturnDone | None = None
        self.reason_words: dict[str, str] = dict(rp.DEFAULT_REASONS)
        # A return without a receipt: the customer (id, name) its store credit goes to, and the items scanned.
        self.customer: tuple[str, str] | None = None
        self.items: list[ItemLine] = []
        # The new sale of the exchange under way, while its dialog is open. Leaving the exchange (Back, Esc) voids that
        # sale (returns.abandon_exchange), so none is kept once the desk is back at the return.
        self.exchange_sale: str | None = None
        self.central: Central | None = None  # the central store's word on the sale on screen (None: offline)
        super().__init__(ctx, parent)
        self.word = CentralWord(self)
        self.word.answered.connect(self._central_said)
        self.table.setObjectName("returnLines")
        self.caption.setText(self.tr("Refund"))
        self.figure.setText(self.money(Decimal(0)))
        self.customer_label = QLabel()
        self.customer_label.setWordWrap(True)
        self.extra.addWidget(self.customer_label)
        self._show()

    def routes(self) -> dict[str, Callable[[Any], None]]:
        return {
            "receipt": self.on_receipt,
            "order": self.on_receipt,
            "return_label": self.on_receipt,  # a web order's return label the customer printed
            "return": self.on_receipt,  # a return's own receipt: the service says to scan the sale's instead
            "unknown": self.on_typed,
            "product": self.on_item,
            "*": self.on_other,
        }

    # -- screen life -----------------------------------------------------------------------------------------
    def activate(self) -> None:
        self.ctx.ops.read(returns.reasons, self._reasons)
        if self.original is not None:
            self._load(self.original.order_id)

    def _reasons(self, words: Any) -> None:
        self.reason_words = dict(words)

    def on_changed(self, changes: Changes) -> None:
        """Another till's return of this sale (through sync) changes what is left: read it again."""
        if self.original is not None and (changes.orders or changes.sale) and self.isVisible():
            order_id = self.original.order_id

            def fresh(original: Any) -> None:
                # Only while the same sale is still on screen (a refund just made clears it).
                if self.original is not None and self.original.order_id == original.order_id:
                    self._loaded(original)

            central = self.central
            self.ctx.ops.read(lambda s: returns.get_original(s, order_id, central), fresh)

    # -- finding the sale ------------------------------------------------------------------------------------
    def on_receipt(self, result: barcodes.ScanResult) -> None:
        self._find(result.raw)

    def on_typed(self, result: barcodes.ScanResult) -> None:
        self._find(result.raw)

    def _find(self, text: str) -> None:
        if self.choices:
            self.error(self.tr("Finish or clear this return (Shift+F7) before taking another sale."))
            return
        self.ctx.ops.read(lambda s: returns.find_original(s, text), self._loaded)

    def _load(self, order_id: str) -> None:
        central = self.central if self.original is not None and self.original.order_id == order_id else None
        self.ctx.ops.read(lambda s: returns.get_original(s, order_id, central), self._loaded)

    def _loaded(self, original: Any) -> None:
        if self.original is None or original.order_id != self.original.order_id:
            self.choices, self.current, self.chosen, self.central = {}, None, False, None
            # The central store is the authority: ask it what every till took back (answered off this thread).
            sync = self.ctx.services.get("sync")
            self.word.ask(getattr(sync, "make_client", None), original.order_id, original.channel == "web")
        self.original = original
        self.done = None
        left = {ln.line_no: ln.returnable for ln in original.lines}
        for n, c in list(self.choices.items()):  # another till's return may have taken some meanwhile
            if c.qty > left.get(n, Decimal(0)):
                self.choices.pop(n)
        self._requote()

    def _central_said(self, order_id: str, word: Any) -> None:
        if word is not None and self.original is not None and self.original.order_id == order_id:
            self.central = word
            self._load(order_id)

    def find_sale(self) -> None:
        dlg = FindSaleDialog(self.ctx, self)
        if dlg.exec() and dlg.order_id:
            if self.choices:
                self.error(self.tr("Finish or clear this return (Shift+F7) before taking another sale."))
            else:
                self._load(dlg.order_id)
        dlg.deleteLater()
        self.focus_scan()

    def on_item(self, result: barcodes.ScanResult) -> None:
        """An item of the sale scanned: one more of it comes back."""
        if self.customer is not None:
            self.ctx.ops.read(lambda s: catalog.find_scan(s, result).product, self._item_without_receipt)
            return
        if self.original is None:
            self.error(self.tr("Scan the receipt first (or F2 to find the sale), then the items."))
            return
        self.ctx.ops.read(lambda s: catalog.find_scan(s, result).product.sku, self._item_found)

    def _item_found(self, sku: Any) -> None:
        assert self.original is not None
        lines = [ln for ln in self.original.lines if ln.sku == sku]
        if not lines:
            self.error(self.tr("That item is not on sale {0}.").format(self.original.number))
            return
        line = next((ln for ln in lines if self._qty(ln.line_no) < ln.returnable), lines[0])
        self.current, self.chosen = str(line.line_no), False
        self.highlight = str(line.line_no)
        self._set_qty(line.line_no, self._qty(line.line_no) + 1)

    def _item_without_receipt(self, product: Any) -> None:
        known = next((it for it in self.items if it.product_id == product.id), None)
        if known is None:
            known = ItemLine(len(self.items) + 1, product.id, product.sku, product.name)
            self.items.append(known)
        self.current, self.chosen = str(known.line_no), False
        self.highlight = str(known.line_no)
        self._set_qty(known.line_no, self._qty(known.line_no) + 1)

    def no_receipt(self) -> None:
        """F8: a return without a receipt: store credit for a customer, a manager approves."""
        if self.original is not None or self.choices or self.customer is not None:
            self.error(self.tr("Finish or clear this return (Shift+F7) first."))
            return
        dlg = CustomerDialog(self.ctx, self)
        if dlg.exec() and dlg.customer_id:
            cid = dlg.customer_id
            self.ctx.ops.read(lambda s: customers.get_customer(s, cid), self._customer_chosen)
        dlg.deleteLater()
        self.focus_scan()

    def _customer_chosen(self, customer: Any) -> None:
        self.customer = (customer.id, customer.name)
        self.items, self.choices, self.quoted, self.done = [], {}, None, None
        self.current, self.chosen = None, False
        self._show()

    def _lines(self) -> list[Any]:
        """The lines on the work list: the sale's, or the items brought back without a receipt."""
        if self.customer is not None:
            return list(self.items)
        return list(self.original.lines) if self.original is not None else []

    def on_other(self, result: barcodes.ScanResult) -> None:
        self.error(
            self.tr("The Returns screen does not take this code ({0}): scan the sale's receipt.").format(
                result.kind
            )
        )

    # -- choosing lines --------------------------------------------------------------------------------------
    def _qty(self, line_no: int) -> Decimal:
        c = self.choices.get(line_no)
        return c.qty if c else Decimal(0)

    def _line(self) -> Any:
        if self.current is None:
            return None
        return next((ln for ln in self._lines() if str(ln.line_no) == self.current), None)

    def _set_qty(self, line_no: int, qty: Decimal) -> bool:
        line = next(ln for ln in self._lines() if ln.line_no == line_no)
        if qty > line.returnable:
            self.error(
                self.tr("Only {0} of {1} can still be returned ({2} bought, {3} already returned).").format(
                    f"{line.returnable.normalize():f}",
                    line.name,
                    f"{line.qty.normalize():f}",
                    f"{line.returned.normalize():f}",
                )
            )
            return False
        if qty <= 0:
            self.choices.pop(line_no, None)
        else:
            self.choices.setdefault(line_no, Choice(qty)).qty = qty
        self._requote()
        return True

    def quantity(self) -> None:
        line = self._line()
        if line is None:
            return self._nothing()
        dlg = FormDialog(
            self.ctx,
            self.tr("Quantity"),
            self.tr("How many of {0} come back? ({1} can still be returned)").format(
                line.name, f"{line.returnable.normalize():f}"
            ),
            parent=self,
        )
        field = QLineEdit()
        field.setObjectName("returnQty")
        dlg.add_field("qty", self.tr("Quantity"), field, parse_qty, required=True)

        def ok(values: dict[str, Any]) -> None:
            qty: Decimal = values["qty"]
            if qty > line.returnable:
                dlg.show_error(
                    self.tr("Only {0} can still be returned.").format(f"{line.returnable.normalize():f}"),
                    "qty",
                )
                return
            dlg.result_value = qty
            dlg.accept()

        dlg.on_ok = ok
        if dlg.exec() and dlg.result_value is not None:
            self._set_qty(line.line_no, dlg.result_value)
        dlg.deleteLater()

    def whole_line(self) -> None:
        line = self._line()
        if line is None:
            return self._nothing()
        self._set_qty(line.line_no, line.returnable)

    def take_off(self) -> None:
        line = self._line()
        if line is None or line.line_no not in self.choices:
            return self._nothing()
        self._set_qty(line.line_no, Decimal(0))

    def _pick(self, title: str, heading: str, options: dict[str, str], now: str | None) -> str | None:
        dlg = FormDialog(self.ctx, title, heading, parent=self)
        combo = QComboBox()
        combo.setObjectName("returnChoice")
        combo.setMinimumHeight(44)
        for code, words in options.items():
            combo.addItem(self.tr(words), code)
        if now in options:
            combo.setCurrentIndex(list(options).index(now))
        dlg.add_field("choice", title, combo)
        picked: str | None = None
        if dlg.exec() and dlg.result_value is not None:
            picked = str(dlg.result_value["choice"])
        dlg.deleteLater()
        return picked

    def reason(self) -> None:
        line = self._line()
        if line is None or line.line_no not in self.choices:
            return self._nothing()
        c = self.choices[line.line_no]
        picked = self._pick(
            self.tr("Reason"),
            self.tr("Why does {0} come back?").format(line.name),
            self.reason_words,
            c.reason,
        )
        if picked:
            c.reason = picked
            self._requote()

    def condition(self) -> None:
        line = self._line()
        if line is None or line.line_no not in self.choices:
            return self._nothing()
        c = self.choices[line.line_no]
        picked = self._pick(
            self.tr("Condition"),
            self.tr("In what condition does {0} come back?").format(line.name),
            rp.CONDITION_WORDS,
            c.condition,
        )
        if picked:
            c.condition = picked
            self._requote()

    def clear(self) -> None:
        if self.choices and not confirm(
            self,
            self.tr("New return"),
            self.tr("Clear the items chosen for this return?"),
            self.tr("Yes, clear (Enter)"),
            self.tr("No, keep them (Esc)"),
        ):
            return
        self.original, self.choices, self.quoted, self.done = None, {}, None, None
        # No exchange's sale outlives its dialog (left, it was voided): nothing of one stays open for Sell.
        self.customer, self.items, self.exchange_sale = None, [], None
        self.central = None
        self.current, self.chosen = None, False
        self._show()

    def _nothing(self) -> None:
        self.error(self.tr("Choose a line first: scan an item of the sale, or Up/Down, then F3."))

    def error(self, text: str) -> None:
        self.ctx.messages.show_error(text)

    # -- figures ---------------------------------------------------------------------------------------------
    def _wanted(self, for_display: bool) -> list[ReturnLineIn]:
        first = next(iter(self.reason_words), "")
        return [
            ReturnLineIn(n, c.qty, c.reason or (first if for_display else ""), c.condition)
            for n, c in sorted(self.choices.items())
        ]

    def _without_receipt(self, for_display: bool) -> list[NoReceiptLineIn]:
        first = next(iter(self.reason_words), "")
        by_no = {it.line_no: it for it in self.items}
        return [
            NoReceiptLineIn(
                by_no[n].product_id, c.qty, c.reason or (first if for_display else ""), c.condition
            )
            for n, c in sorted(self.choices.items())
        ]

    def _requote(self) -> None:
        if self.customer is not None and self.choices:
            cid, items = self.customer[0], self._without_receipt(for_display=True)

            def quoted(q: Any) -> None:
                self.quoted = q
                self._show()

            self.ctx.ops.read(lambda s: returns.quote_no_receipt(s, cid, items), quoted)
            return
        if self.original is None or not self.choices:
            self.quoted = None
            self._show()
            return
        order_id, wanted, central = self.original.order_id, self._wanted(for_display=True), self.central

        def shown(q: Any) -> None:
            self.quoted = q
            self._show()

        self.ctx.ops.read(lambda s: returns.quote(s, order_id, wanted, central=central), shown)

    def _show(self) -> None:
        o = self.original
        refund = {ql.line_no: ql.total for ql in self.quoted.lines} if self.quoted else {}
        rows = []
        receiptless = self.customer is not None
        for ln in self._lines():
            c = self.choices.get(ln.line_no)
            note = ""
            if c:
                reason = self.reason_words.get(c.reason or "", self.tr("reason? (F5)"))
                note = f"{reason} / {self.tr(c.condition.capitalize())}"
            rows.append(
                Row(
                    str(ln.line_no),
                    (
                        ln.name,
                        "-" if receiptless else f"{ln.qty.normalize():f}",  # no receipt: nothing known sold
                        "-" if receiptless else f"{ln.returnable.normalize():f}",
                        f"{c.qty.normalize():f}" if c else "",
                        note,
                        self.money(refund[ln.line_no]) if ln.line_no in refund else "",
                    ),
                    live=ln.returnable > 0,
                )
            )
        self.show_rows(rows)
        self.figure.setStyleSheet("")
        if self.done is not None:
            self.caption.setText(self.tr("Refunded"))
            self.figure.setText(self.money(self.done.total))
            self.figure.setStyleSheet(f"color: {GOOD_GREEN};")
            self.number.setText(self.tr("Return {0} done").format(self.done.number))
            self.figures.setText(
                "<br>".join(
                    [f"{self.tr(t.words)}: {self.money(t.amount)}" for t in self.done.tenders]
                    + [self.tr("Scan the next receipt.")]
                )
            )
        elif self.customer is not None:
            q = self.quoted
            self.caption.setText(self.tr("Store credit"))
            self.figure.setText(self.money(q.total if q else Decimal(0)))
            self.number.setText(self.tr("Return without a receipt"))
            parts = [self.tr("Store credit for {0}").format(self.customer[1])]
            if q is not None and q.fee:
                parts.append(f"{self.tr('Restocking fee')}: -{self.money(q.fee)}")
            parts.append(
                f"<b>{self.tr('Manager approves')}</b>"
                if q is not None
                else self.tr("Scan the items coming back.")
            )
            self.figures.setText("<br>".join(parts))
        elif o is None:
            self.caption.setText(self.tr("Refund"))
            self.figure.setText(self.money(Decimal(0)))
            self.number.setText("")
            self.figures.setText(
                self.tr("Scan the receipt's barcode, or type its number + Enter. F2 finds the sale.")
            )
        else:
            q = self.quoted
            self.caption.setText(self.tr("Refund"))
            self.figure.setText(self.money(q.total if q else Decimal(0)))
            kind = self.tr("Web order") if o.channel == "web" else self.tr("Sale")
            self.number.setText(f"{kind} {o.number} · {self.tr('terminal')} {o.terminal}")
            parts = [f"{self.tr('Paid')}: {self.money(o.total)}"]
            if o.refunded:
                back = sum((a for _k, a in o.refunded), Decimal(0))
                parts.append(f"{self.tr('Already refunded')}: {self.money(back)}")
            if q is not None:
                parts += [f"{self.tr(t.words)}: {self.money(t.amount)}" for t in q.tenders]
                if q.fee:
                    parts.append(f"{self.tr('Restocking fee')}: -{self.money(q.fee)}")
                if q.exceptions:
                    parts.append(f"<b>{self.tr('Manager approves')}</b>")
            elif not self.choices:
                parts.append(self.tr("Scan the items coming back, or choose a line and F3."))
            parts.append(
                self.tr("Checked with the central store")
                if self.central
                else self.tr("On this till's records")
            )
            self.figures.setText("<br>".join(parts))
        if o is not None and o.customer_name:
            self.customer_label.setText(self.tr("Customer: {0}").format(o.customer_name))
        else:
            self.customer_label.setText("")
        assert self.primary_button is not None
        self.primary_button.setEnabled(bool(self.choices) and self.quoted is not None)

    # -- the refund ------------------------------------------------------------------------------------------
    def _ready(self, what: str) -> list[ReturnLineIn] | None:
        """The lines chosen with their reasons, or None (said in red) when something is missing."""
        if self.original is None or not self.choices:
            self.error(self.tr("Nothing to {0}: scan the receipt, then the items coming back.").format(what))
            return None
        missing = [n for n, c in self.choices.items() if not c.reason]
        if missing:
            name = next(ln.name for ln in self.original.lines if ln.line_no == missing[0])
            self.current = str(missing[0])
            self._show()
            self.error(self.tr("Choose a reason for {0} (F5) before the {1}.").format(name, what))
            return None
        return self._wanted(for_display=False)

    def refund(self) -> None:
        if self.customer is not None and self.choices:
            return self._refund_without_receipt()
        wanted = self._ready(self.tr("refund"))
        if wanted is None or self.original is None:
            return
        order_id, central = self.original.order_id, self.central

        def take(s: Any, a: Any, code: str | None) -> Any:
            return returns.take_return(s, a, order_id, wanted, code, central)

        self.ctx.ops.read(
            lambda s: returns.quote(s, order_id, wanted, central=central),
            lambda q: self._refund_dialog(q, wanted, take),
        )

    def exchange(self) -> None:
        """F9: the lines chosen come back and the customer takes other items; only the difference is settled."""
        wanted = self._ready(self.tr("exchange"))
        if wanted is not None:
            start_exchange(self, wanted)

    def _refund_without_receipt(self) -> None:
        assert self.customer is not None
        missing = [n for n, c in self.choices.items() if not c.reason]
        if missing:
            self.current = str(missing[0])
            self._show()
            self.error(self.tr("Choose a reason for each item (F5) before the refund."))
            return
        cid, items = self.customer[0], self._without_receipt(for_display=False)

        def take(s: Any, a: Any, _code: str | None) -> Any:
            return returns.take_no_receipt_return(s, a, cid, items)

        self.ctx.ops.read(
            lambda s: returns.quote_no_receipt(s, cid, items), lambda q: self._refund_dialog(q, [], take)
        )

    def _refund_dialog(self, q: Any, wanted: list[ReturnLineIn], take: Any = None) -> None:
        order_id = self.original.order_id if self.original is not None else ""
        dlg = RefundDialog(self.ctx, q, order_id, wanted, self, take)
        if dlg.exec() and dlg.result_value is not None:
            self.done = dlg.result_value
            printer = self.ctx.services.get("printer")
            if printer is not None:
                if self.done.open_drawer:
                    printer.open_drawer()  # cash back: the drawer opens as the return receipt starts printing
                printer.wake()
            self.original, self.choices, self.quoted = None, {}, None
            self.customer, self.items = None, []
            self.current, self.chosen = None, False
            self._show()
            self.ctx.messages.show_notice(
                self.tr("Return {0}: {1} refunded.").format(self.done.number, self.money(self.done.total))
            )
        dlg.deleteLater()
        self.focus_scan()
