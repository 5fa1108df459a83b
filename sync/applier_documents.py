"""The documents of the store's other tills, as the change feed brings them: parked sales that become recallable
here, and completed sales and returns kept as records for the returns desk. A part of `sync.applier._Applier`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Customer, Order, OrderLine, Payment, Product, ReturnLine, StaffUser, Terminal
from app.db.types import utcnow
from app.ids import new_id
from app.services import settings
from sync import protocol


class DocumentChanges:
    """Handlers of parked sales, sales and returns (the applier holds the session and the per-page caches)."""

    s: Session
    terminal_code: str | None
    keep_since: datetime | None

    def _terminal_code(self) -> str:
        if self.terminal_code is None:  # read once per page, and only when a parked sale is in it
            self.terminal_code = self.s.scalar(select(Terminal.code).limit(1)) or ""
        return self.terminal_code

    def parked_sale(self, change: protocol.Change) -> None:
        """Another till's parked sale becomes recallable here; one recalled elsewhere leaves this till's list."""
        p = change.payload
        number = str(p["number"])
        me = self._terminal_code()
        local = self.s.scalar(select(Order).where(Order.parked_number == number))
        if p.get("status") == "recalled":
            if local is not None and local.status == "parked" and p.get("recalled_by") != me:
                local.status = "recalled_elsewhere"
            return
        if p.get("status") != "parked" or p.get("terminal") == me or local is not None:
            return  # our own, or already here
        order_id, receipt = p.get("order_id"), p.get("receipt_number")
        if not order_id or not receipt:
            return  # parked by a terminal that did not send the sale itself: it cannot be rebuilt here
        order = self.s.get(Order, str(order_id))
        if order is not None and order.status not in ("parked", "recalled_elsewhere"):
            return  # being rung up or finished at this till: this till's copy is the one that counts
        if order is None:
            order = Order(id=str(order_id), number=str(receipt), channel="counter", lines=[])
            self.s.add(order)
        customer_id = p.get("customer_id")
        if customer_id and self.s.get(Customer, customer_id) is None:
            customer_id = None  # a customer made at the other till and not known here yet: keep the name
        order.status = "parked"
        order.parked_number = number
        order.terminal_code = str(p.get("terminal") or "")
        order.owner_id = None
        order.customer_id = customer_id
        order.customer_name = p.get("customer_name")
        order.order_discount = p.get("order_discount")
        order.total = Decimal(str(p.get("total") or "0"))
        order.lines = self._lines(p.get("lines") or [])

    def document(self, change: protocol.Change) -> None:
        """A sale or return completed at another till of the store, kept here as it was completed there: the
        returns desk of any till finds it by its receipt number, and sees what was already taken back.

        It is a record, not work for this till: no stock movement (the store's stock comes as stock changes), no
        outbox event, no print job. Records older than `sync.keep_documents_days` are read past."""
        p = change.payload
        if p.get("terminal") == self._terminal_code() or self.s.get(Order, str(change.key)) is not None:
            return  # our own, or already here
        when = datetime.fromisoformat(str(p.get("completed_at") or p.get("occurred_at")))
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        if when < self._keep_since():
            return
        is_return = change.type == protocol.CHANGE_RETURN
        totals = p.get("totals") or {}
        customer_id = p.get("customer_id")
        if customer_id and self.s.get(Customer, customer_id) is None:
            customer_id = None  # not known here (yet): the name is kept
        owner_id = p.get("owner_id")
        if owner_id and self.s.get(StaffUser, owner_id) is None:
            owner_id = None  # staff of the store reach every till; one not here (yet) is left out
        order = Order(
            id=str(change.key),
            number=str(p["number"]),
            channel="return" if is_return else "counter",
            status="completed",
            terminal_code=str(p.get("terminal") or ""),
            customer_id=customer_id,
            customer_name=p.get("customer_name"),
            owner_id=owner_id,
            order_discount=p.get("order_discount"),
            original_order_id=str(p["original_order_id"]) if p.get("original_order_id") else None,
            subtotal=_money(totals.get("subtotal")),
            discount_total=_money(totals.get("discount_total")),
            tax_total=_money(totals.get("tax_total")),
            total=_money(totals.get("total")),
            rounding=_money(totals.get("rounding")),
            change_given=_money(totals.get("change")),
            created_at=when,
            completed_at=when,
            lines=self._lines(p.get("lines") or []),
            payments=[
                Payment(
                    id=new_id(),
                    kind=str(pay["kind"]),
                    amount=Decimal(str(pay["amount"])),
                    tendered=Decimal(str(pay["amount"])),
                    created_at=when,
                )
                for pay in p.get("payments") or []
            ],
        )
        self.s.add(order)
        if is_return:  # what the other till's desk decided per line: this till's returns figures count it too
            self.s.flush()
            for line, sent in zip(order.lines, p.get("lines") or [], strict=False):
                if sent.get("reason") and sent.get("condition") and sent.get("disposition"):
                    self.s.add(
                        ReturnLine(
                            order_line_id=line.id,
                            reason=str(sent["reason"]),
                            condition=str(sent["condition"]),
                            disposition=str(sent["disposition"]),
                        )
                    )

    def _lines(self, lines: list[dict[str, Any]]) -> list[OrderLine]:
        """Order lines as another till sent them (a parked or completed sale, a return)."""
        skus = {str(line["sku"]) for line in lines}
        ids = (
            dict(self.s.execute(select(Product.sku, Product.id).where(Product.sku.in_(skus))).all())
            if skus
            else {}
        )
        return [
            OrderLine(
                id=new_id(),
                line_no=int(line.get("line_no") or n),
                product_id=ids.get(str(line["sku"])),
                sku=str(line["sku"]),
                name=str(line.get("name") or line["sku"]),
                qty=Decimal(str(line["qty"])),
                unit=str(line.get("unit") or "ea"),
                unit_price=Decimal(str(line["unit_price"])),
                fixed_amount=None if line.get("fixed_amount") is None else Decimal(str(line["fixed_amount"])),
                price_override=line.get("price_override"),
                discount=line.get("discount"),
                tax_class=str(line.get("tax_class") or ""),
                tax_rate=Decimal(str(line.get("tax_rate") or "0")),
                amount=Decimal(str(line.get("amount") or "0")),
                tax=Decimal(str(line.get("tax") or "0")),
            )
            for n, line in enumerate(lines, start=1)
        ]

    def _keep_since(self) -> datetime:
        if self.keep_since is None:
            days = settings.get(self.s, "sync.keep_documents_days")
            self.keep_since = utcnow() - timedelta(days=float(days or 0))
        return self.keep_since


def _money(value: Any) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)
