"""Sell's dialogs: Pay (take payments until the sale is paid, then complete it), the sale or line discount (F5),
product search (F2) and the customer (F6). Each acts through one service call and names what it acts on."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes, tenders
from app.domain.money import parse_money
from app.services import customers, sales
from app.services.sales import Completed, LineView, SaleView
from ui.balance_lookup import BalanceLookup
from ui.context import AppContext
from ui.widgets import FormDialog, ProductPicker, confirm, current_key, enter_presses, fill_choices

if TYPE_CHECKING:
    from ui.screens.sell import SellScreen
    from ui.workstation import Workstation


class TenderDialog(QDialog):
    """Take payments until the sale is paid, then complete it (one transaction) and close. `complete` closes the
    paid sale (`sales.complete_sale` unless given: an exchange at the Returns desk takes its return with it); what
    it returned is `result_value`."""

    def __init__(
        self,
        ctx: AppContext,
        sale: SaleView,
        parent: Workstation,
        complete: Callable[[Any, Any, str], Any] | None = None,
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.sale = sale
        self.screen_ = parent
        self.complete = complete or sales.complete_sale
        self.lookup = BalanceLookup(ctx, self)
        self.completed: Completed | None = None
        self.result_value: Any = None
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
        self.error.clear()
        self._remove(pid)

    def _remove(self, payment_id: str) -> None:
        """Take the payment back (Sell: at once, in its own transaction)."""
        sid = self.sale.id
        self.ctx.ops.run(
            lambda s, a: sales.remove_tender(s, a, sid, payment_id), self.refresh, self.error.setText
        )

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
        self.error.clear()
        # Store credit and gift cards: the central store's balance first, when it can be asked (ui.balance_lookup).
        # (The Pickup screen's pay view has no customer: its store credit is spent on this till's view.)
        account = ref if kind == "gift_card" else getattr(self.sale, "customer_id", None)
        self.lookup.ask(kind, account, lambda: self._take(kind, amount, last4, approval, ref))

    def _take(
        self, kind: str, amount: Decimal, last4: str | None, approval: str | None, ref: str | None
    ) -> None:
        """Take one payment (Sell: at once, in its own transaction; the last one completes the sale). The Pickup
        screen's Pay dialog collects them instead and pays with the hand-over (ui.screens.pickup_pay)."""
        sid = self.sale.id

        def work(s: Any, a: Any) -> Any:
            sale = sales.add_tender(
                s, a, sid, kind, amount, card_last4=last4, approval_code=approval, reference=ref
            )
            if sale.fully_paid:
                return self.complete(s, a, sid)
            return sale

        def done(result: Any) -> None:
            if isinstance(result, SaleView):
                self.refresh(result)
                return
            self.result_value = result
            self.completed = result if isinstance(result, Completed) else None
            self.accept()

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
