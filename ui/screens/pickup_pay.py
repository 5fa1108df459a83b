"""Paying an unpaid web order at the pickup counter: Sell's Pay dialog (`TenderDialog`: the same tender list,
amounts, quick cash buttons, card and gift card fields, taking a mistaken payment back), with one difference.

Sell writes each payment at once on the open sale; here nothing is written until the order is paid in full. Each
tender is checked as it is entered (`pickup.check_payment`: Sell's rules, the gift card's balance tried and
given back), and the last one hands the order over with all its payments in one transaction
(`pickup.hand_over(..., tenders=...)`), so the hand-over happens exactly when, and only when, it is paid. A
refusal (a gift card spent meanwhile, a shift closed) shows in the dialog and nothing is taken."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from PySide6.QtWidgets import QLabel, QVBoxLayout

from app.services import pickup
from app.services.pickup_payment import PayView, TenderTaken
from ui.context import AppContext
from ui.screens.sell_dialogs import TenderDialog
from ui.workstation import Workstation

Check = Callable[[Any, Any, Sequence[TenderTaken]], PayView]
Finish = Callable[[Any, Any, Sequence[TenderTaken]], pickup.Done]


class PickupPayDialog(TenderDialog):
    """Take the payment of an order at its hand-over; `result_value` is the hand-over's `pickup.Done`."""

    def __init__(
        self, ctx: AppContext, view: PayView, parent: Workstation, check: Check, finish: Finish
    ) -> None:
        self.taken: list[TenderTaken] = []
        self.check = check
        self.finish = finish
        super().__init__(ctx, view, parent)  # type: ignore[arg-type]  # a PayView reads like a SaleView
        self.setObjectName("pickupPay")
        self.setWindowTitle(self.tr("Payment at pickup"))
        heading = QLabel(
            self.tr(
                "Order {0}: paid at pickup, for the items the customer takes. It is handed over when paid."
            ).format(view.number)
        )
        heading.setWordWrap(True)
        lay = self.layout()
        assert isinstance(lay, QVBoxLayout)
        lay.insertWidget(0, heading)

    def _take(
        self, kind: str, amount: Decimal, last4: str | None, approval: str | None, ref: str | None
    ) -> None:
        new = [*self.taken, TenderTaken(kind, amount, last4, approval, ref)]
        self._settle(new)

    def _remove(self, payment_id: str) -> None:
        new = [t for i, t in enumerate(self.taken) if str(i) != payment_id]
        self._settle(new)

    def _settle(self, new: list[TenderTaken]) -> None:
        check, finish = self.check, self.finish

        def work(s: Any, a: Any) -> PayView | pickup.Done:
            view = check(s, a, new)
            return finish(s, a, new) if view.fully_paid else view

        def done(result: PayView | pickup.Done) -> None:
            self.taken = new
            if isinstance(result, PayView):
                self.refresh(result)  # type: ignore[arg-type]
                return
            self.result_value = result
            self.accept()

        self.take.setEnabled(False)

        def refused(message: str) -> None:
            self.take.setEnabled(True)
            self.error.setText(message)
            self.ctx.sounds.bad()

        def finished(result: PayView | pickup.Done) -> None:
            self.take.setEnabled(True)
            done(result)

        self.ctx.ops.run(work, finished, refused)
