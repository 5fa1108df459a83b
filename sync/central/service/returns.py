"""The central store's authority over returns: what is left to take back of a sale or web order, the refusal of a
return that goes over, the review item for one that went over offline, web orders returned at a desk, and the
rolling no-receipt limit per customer.

What a return may take, over all the returns of one sale (at any till of any store, in the order they reach here):
- of each item (sku), at most what the sale sold of it minus what every earlier return took back;
- of each tender kind, at most what that kind paid, except store credit, which may take what the other tenders
  cannot (the refund rule's last resort), and an exchange's credit (it paid the exchange's new sale); and in all,
  at most what the sale's payments came to. A sale paid in part by an exchange credit counts that part as cash.
A web order's lines bound its items; its payments are the storefront's, so no tender is checked for it, and only
an order handed over (collected or shipped) has anything to take back.

Online or offline. A till says in the event (`offline: true`, protocol.SaleCompleted) that it decided without the
central store. A return decided online that goes over is refused with the reason the till shows (another till's
return reached here first); the till asks `returnable` before it decides, so that is a race of seconds. A return
decided offline happened on what its till knew: its goods moved and its money went back, so the central store
records it as it is (its movements applied once, like every event: by its id) and parks each thing it went over as a
`return_over` review item (StockException, listed by service.review) for a person to settle. A return of a sale the
central store has not received yet is refused online ("not synced yet") and parked the same way offline.

The no-receipt limit (`no_receipt_check`): a customer may return without a receipt at most
`returns.no_receipt_items` units and `returns.no_receipt_amount` of refunds in the last `returns.no_receipt_days`
days, over every store of the chain (central settings; defaults below). The till asks before such a return; a till
that cannot ask applies its own rule (the Returns desk's, stated there) and the central store counts the return
when it arrives, parking it for review when it went over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger, notices
from sync.central.ledger import Rejected
from sync.central.models import (
    AppliedEvent,
    CentralSetting,
    OrderStatusHistory,
    Return,
    Sale,
    StockException,
    Terminal,
    WebOrder,
    utcnow,
)

_ZERO = Decimal(0)
# The tender that may take what the others cannot (the refund rule's last resort).
LAST_RESORT = "store_credit"
# An exchange's credit (app.domain.refunds): on a return, the part of its refund that paid the exchange's new sale,
# bounded with the total (it went to no one tender); on a sale, paid as cash for that sale's own returns.
_EXCHANGE = "exchange"
NO_RECEIPT_DEFAULTS: dict[str, Any] = {
    "returns.no_receipt_items": 5,
    "returns.no_receipt_amount": "150.00",
    "returns.no_receipt_days": 30,
}
HANDED_OVER = (protocol.lifecycle.OrderState.COLLECTED, protocol.lifecycle.OrderState.SHIPPED)


def central_setting(session: Session, key: str) -> Any:
    row = session.get(CentralSetting, key)
    return row.value if row is not None else NO_RECEIPT_DEFAULTS.get(key)


def set_central_setting(session: Session, key: str, value: Any) -> None:
    row = session.get(CentralSetting, key)
    if row is None:
        session.add(CentralSetting(key=key, value=value, updated_at=utcnow()))
    else:
        row.value = value
        row.updated_at = utcnow()


@dataclass
class Returnable:
    """What one sale or web order sold and paid, and what its returns took back and refunded so far."""

    kind: str  # "sale" or "web_order"
    id: uuid.UUID
    number: str
    status: str = "completed"
    sold: dict[str, Decimal] = field(default_factory=dict)
    returned: dict[str, Decimal] = field(default_factory=dict)
    paid: dict[str, Decimal] | None = None  # None: not known here (a web order)
    refunded: dict[str, Decimal] = field(default_factory=dict)

    def left(self, sku: str) -> Decimal:
        return max(_ZERO, self.sold.get(sku, _ZERO) - self.returned.get(sku, _ZERO))

    def payload(self) -> dict[str, Any]:
        paid = self.paid or {}
        return {
            "kind": self.kind,
            "id": str(self.id),
            "number": self.number,
            "status": self.status,
            "lines": [
                {
                    "sku": sku,
                    "sold": ledger.qty_text(qty),
                    "returned": ledger.qty_text(self.returned.get(sku, _ZERO)),
                    "left": ledger.qty_text(self.left(sku)),
                }
                for sku, qty in sorted(self.sold.items())
            ],
            "tenders": None
            if self.paid is None
            else [
                {
                    "kind": kind,
                    "paid": ledger.money_text(amount),
                    "refunded": ledger.money_text(self.refunded.get(kind, _ZERO)),
                    "left": ledger.money_text(max(_ZERO, amount - self.refunded.get(kind, _ZERO))),
                }
                for kind, amount in sorted(paid.items())
            ],
            "paid": None if self.paid is None else ledger.money_text(sum(paid.values(), _ZERO)),
            "refunded": ledger.money_text(sum(self.refunded.values(), _ZERO)),
        }


def _said(qty: Decimal) -> str:
    """A quantity as a person reads it in a reason: 1, 0.5, 2.25."""
    text = format(Decimal(qty).normalize(), "f")
    return text if text != "-0" else "0"


def _items(lines: list[Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for line in lines:
        sku = str(line["sku"]) if isinstance(line, dict) else line.sku
        qty = Decimal(str(line["qty"])) if isinstance(line, dict) else line.qty
        out[sku] = out.get(sku, _ZERO) + abs(qty)
    return out


def _tenders(payments: list[Any]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for pay in payments:
        kind = str(pay["kind"]) if isinstance(pay, dict) else pay.kind
        amount = Decimal(str(pay["amount"])) if isinstance(pay, dict) else pay.amount
        out[kind] = out.get(kind, _ZERO) + abs(amount)
    return out


def _add(into: dict[str, Decimal], more: dict[str, Decimal]) -> None:
    for key, value in more.items():
        into[key] = into.get(key, _ZERO) + value


def _maybe_locked(stmt: Any, lock: bool) -> Any:
    return stmt.with_for_update() if lock else stmt


def returnable(
    session: Session, original_id: uuid.UUID, web_order: bool = False, lock: bool = False
) -> Returnable | None:
    """The sale (or web order) `original_id` with what its returns so far took back; None when not known here.
    `lock` takes its row lock first, so two stores' returns of one sale are judged one after the other."""
    state: Returnable
    if web_order:
        order = session.scalar(_maybe_locked(select(WebOrder).where(WebOrder.id == original_id), lock))
        if order is None:
            return None
        state = Returnable("web_order", order.id, order.number, status=order.status)
        for line in order.lines:
            if line.state != "unavailable":
                _add(state.sold, {line.sku: line.qty})
        for sku, qty in _refused(session, order.id).items():  # never taken: never to be taken back
            state.sold[sku] = max(_ZERO, state.sold.get(sku, _ZERO) - qty)
        column = Return.web_order_id
    else:
        sale = session.scalar(_maybe_locked(select(Sale).where(Sale.id == original_id), lock))
        if sale is None:
            return None
        state = Returnable("sale", sale.id, sale.number)
        state.sold = _items(sale.document.get("lines") or [])
        state.paid = _tenders(sale.document.get("payments") or [])
        if _EXCHANGE in state.paid:
            state.paid["cash"] = state.paid.get("cash", _ZERO) + state.paid.pop(_EXCHANGE)
        column = Return.original_order_id
    session.flush()
    for doc in session.scalars(select(Return.document).where(column == original_id)):
        _add(state.returned, _items(doc.get("lines") or []))
        _add(state.refunded, _tenders(doc.get("payments") or []))
    return state


def _refused(session: Session, order_id: uuid.UUID) -> dict[str, Decimal]:
    """What the customer refused at the pickup counter, per item: the hand-over's receipt (protocol.HandoverReceipt,
    in the `order.status` change to collected that the order's history names). One that does not read refuses
    nothing."""
    payload = session.scalar(
        select(AppliedEvent.payload)
        .join(OrderStatusHistory, OrderStatusHistory.event_id == AppliedEvent.event_id)
        .where(OrderStatusHistory.order_id == order_id, OrderStatusHistory.to_status == "collected")
        .limit(1)
    )
    if not isinstance(payload, dict) or payload.get("receipt") is None:
        return {}
    try:
        receipt = protocol.HandoverReceipt.model_validate(payload["receipt"])
    except ValidationError:
        return {}
    out: dict[str, Decimal] = {}
    for sku, _name, qty in receipt.refused:
        _add(out, {sku: qty})
    return out


def return_overs(state: Returnable, p: protocol.SaleCompleted) -> list[dict[str, Any]]:
    """What return `p` takes beyond what is left of `state`, one entry per item or tender (empty: it fits)."""
    found: list[dict[str, Any]] = []
    if state.kind == "web_order" and state.status not in HANDED_OVER:
        found.append(
            {"sku": "", "reason": f"web order {state.number} is {state.status}: nothing was handed over"}
        )
    for sku, qty in _items(p.lines).items():
        left = state.left(sku)
        if qty > left:
            sold = state.sold.get(sku, _ZERO)
            found.append(
                {
                    "sku": sku,
                    "qty": ledger.qty_text(qty - left),
                    "reason": f"{sku}: {_said(qty)} taken back, {_said(left)} left of {_said(sold)} sold on "
                    f"{state.number}",
                }
            )
    if state.paid is not None:
        refunds = _tenders(p.payments)
        for kind, amount in sorted(refunds.items()):
            if kind in (LAST_RESORT, _EXCHANGE):
                continue
            left = state.paid.get(kind, _ZERO) - state.refunded.get(kind, _ZERO)
            if amount > left:
                found.append(
                    {
                        "sku": "",
                        "tender": kind,
                        "amount": ledger.money_text(amount - max(left, _ZERO)),
                        "reason": f"{kind} refund of {ledger.money_text(amount)}: {ledger.money_text(max(left, _ZERO))} "
                        f"left of {ledger.money_text(state.paid.get(kind, _ZERO))} paid on {state.number}",
                    }
                )
        total = sum(refunds.values(), _ZERO)
        left_total = sum(state.paid.values(), _ZERO) - sum(state.refunded.values(), _ZERO)
        if total > left_total:
            found.append(
                {
                    "sku": "",
                    "tender": "all",
                    "amount": ledger.money_text(total - max(left_total, _ZERO)),
                    "reason": f"refunds of {ledger.money_text(total)}: {ledger.money_text(max(left_total, _ZERO))} "
                    f"left of what {state.number} was paid",
                }
            )
    return found


def judge_return(session: Session, terminal: Terminal, p: protocol.SaleCompleted) -> list[dict[str, Any]]:
    """Whether return `p` may be recorded: raises Rejected (decided online and over, with the reason), or returns
    what it went over (decided offline: it stands and each entry becomes a review item; empty when it fits)."""
    problems: list[dict[str, Any]] = []
    for original, web in ((p.original_order_id, False), (p.web_order_id, True)):
        if original is None or (not web and original == p.web_order_id):
            continue  # a web order's return may name it as its original too: it is judged as the web order
        state = returnable(session, original, web_order=web, lock=True)
        what = "web order" if web else "sale"
        if state is None:
            problems.append(
                {"sku": "", "reason": f"{what} {original} is not known to the central store (not synced yet)"}
            )
            continue
        problems += return_overs(state, p)
    if p.original_order_id is None and p.web_order_id is None and p.customer_id is not None:
        why = no_receipt_refusal(session, p.customer_id, _items(p.lines), _tenders(p.payments))
        if why is not None:
            problems.append({"sku": "", "reason": why})
    if problems and not p.offline:
        raise Rejected("return refused: " + "; ".join(str(x["reason"]) for x in problems))
    return problems


def record_return(
    session: Session,
    terminal: Terminal,
    ev: protocol.Event,
    p: protocol.SaleCompleted,
    problems: list[dict[str, Any]],
) -> Return:
    """Write the return (with what it went over, if anything, parked for review) and mark its web order."""
    items = _items(p.lines)
    refunded = sum(_tenders(p.payments).values(), _ZERO)
    row = Return(
        id=p.order_id,
        store_id=terminal.store_id,
        terminal_id=terminal.id,
        number=p.number,
        original_order_id=p.original_order_id,
        web_order_id=p.web_order_id,
        customer_id=p.customer_id,
        items=sum(items.values(), _ZERO),
        refunded=refunded,
        over=bool(problems),
        total=p.totals.total,
        document=ev.payload,
        occurred_at=ev.occurred_at,
    )
    session.add(row)
    for problem in problems:
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind="return_over",
                sku=str(problem.get("sku") or ""),
                location="",
                detail={**problem, "return": p.number, "terminal": terminal.code},
                event_id=ev.id,
            )
        )
    session.flush()
    if p.web_order_id is not None:
        order = session.get(WebOrder, p.web_order_id)
        if order is not None:
            _mark_web_order(session, order, row, items, refunded, terminal)
    return row


def _mark_web_order(
    session: Session,
    order: WebOrder,
    row: Return,
    items: dict[str, Decimal],
    refunded: Decimal,
    terminal: Terminal,
) -> None:
    state = returnable(session, order.id, web_order=True)
    assert state is not None
    whole = all(state.left(sku) == 0 for sku in state.sold)
    order.returned = "whole" if whole else "part"
    order.updated_at = utcnow()
    notices.order_refunded(
        session,
        order,
        str(row.id),
        items=ledger.qty_text(sum(items.values(), _ZERO)),
        refunded=ledger.money_text(refunded),
        store=terminal.store.name,
    )


# ---------------------------------------------------------------- returns without a receipt


def no_receipt_window(
    session: Session, customer_id: uuid.UUID, now: datetime | None = None
) -> dict[str, Any]:
    """What the customer returned without a receipt in the rolling window, chain-wide, and the limits."""
    days = int(central_setting(session, "returns.no_receipt_days"))
    since = (now or utcnow()) - timedelta(days=days)
    items, refunded = session.execute(
        select(func.coalesce(func.sum(Return.items), 0), func.coalesce(func.sum(Return.refunded), 0)).where(
            Return.customer_id == customer_id,
            Return.original_order_id.is_(None),
            Return.web_order_id.is_(None),
            Return.occurred_at >= since,
        )
    ).one()
    return {
        "customer_id": str(customer_id),
        "days": days,
        "items": Decimal(items),  # summed as the columns' own types: Decimal already
        "refunded": Decimal(refunded),
        "max_items": Decimal(str(central_setting(session, "returns.no_receipt_items"))),
        "max_amount": Decimal(str(central_setting(session, "returns.no_receipt_amount"))),
    }


def no_receipt_refusal(
    session: Session, customer_id: uuid.UUID, items: dict[str, Decimal], refunds: dict[str, Decimal]
) -> str | None:
    """Why a no-receipt return of `items` refunding `refunds` goes over the customer's rolling limit (None: fits)."""
    w = no_receipt_window(session, customer_id)
    qty = sum(items.values(), _ZERO)
    amount = sum(refunds.values(), _ZERO)
    if w["items"] + qty > w["max_items"]:
        return (
            f"no-receipt limit: {_said(w['items'])} item(s) returned without a receipt in the last "
            f"{w['days']} days, at most {_said(w['max_items'])}"
        )
    if w["refunded"] + amount > w["max_amount"]:
        return (
            f"no-receipt limit: {ledger.money_text(w['refunded'])} refunded without a receipt in the last "
            f"{w['days']} days, at most {ledger.money_text(w['max_amount'])}"
        )
    return None


def no_receipt_payload(
    session: Session, customer_id: uuid.UUID, qty: Decimal, amount: Decimal
) -> dict[str, Any]:
    """The answer to a till asking before a no-receipt return: allowed or not, why, and what is left."""
    w = no_receipt_window(session, customer_id)
    why = no_receipt_refusal(session, customer_id, {"": qty}, {"": amount})
    return {
        "customer_id": w["customer_id"],
        "allowed": why is None,
        "reason": why,
        "days": w["days"],
        "items_used": ledger.qty_text(w["items"]),
        "amount_used": ledger.money_text(w["refunded"]),
        "items_left": ledger.qty_text(max(_ZERO, w["max_items"] - w["items"])),
        "amount_left": ledger.money_text(max(_ZERO, w["max_amount"] - w["refunded"])),
    }
