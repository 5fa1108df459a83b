"""Scanning every item of a web order before it leaves: the one service the Pickup and Pack workstations share.

Each scan is one transaction: the order line's `scanned_qty` is updated, or nothing is written and the refusal says
why. Counts survive a crash or a user switch, so a packer can stop mid-order and another carry on. Handing over and
labelling (which move the stock and tell the central store) are the workstations' own services.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from app.db.models import Order
from app.domain import barcodes, lifecycle, verification
from app.domain.permissions import Permission
from app.services import audit, catalog, outbox, staff
from app.services.base import Actor, UserError, here


@dataclass(frozen=True)
class LineProgress:
    line_id: str
    sku: str
    name: str
    qty: Decimal
    scanned: Decimal
    done: bool


@dataclass(frozen=True)
class VerifyView:
    order_id: str
    number: str
    status: str
    lines: list[LineProgress]
    complete: bool
    verdict: str | None = None  # of the last scan
    message: str = ""
    line_id: str | None = None  # the line the last scan touched


def _permission(order: Order) -> Permission:
    return Permission.PACK if order.fulfilment == "ship" else Permission.PICKUP


def _order(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.channel != "web":
        raise UserError("No such web order on this terminal: sync, then look it up again.")
    return order


def _lines(order: Order) -> list[verification.Line]:
    return [
        verification.Line(ln.id, ln.sku, ln.name, ln.qty, weighed=ln.unit == "kg")
        for ln in order.lines
        if not ln.voided
    ]


def _view(order: Order, outcome: verification.Outcome | None = None) -> VerifyView:
    lines = _lines(order)
    scanned = {ln.id: ln.scanned_qty for ln in order.lines}
    return VerifyView(
        order_id=order.id,
        number=order.number,
        status=order.status,
        lines=[
            LineProgress(
                x.line_id,
                x.sku,
                x.name,
                x.qty,
                scanned.get(x.line_id, Decimal(0)),
                verification.remaining(x, scanned) == 0,
            )
            for x in lines
        ],
        complete=verification.complete(lines, scanned),
        verdict=outcome.verdict.value if outcome else None,
        message=outcome.message if outcome else "",
        line_id=outcome.line_id if outcome else None,
    )


def move(
    session: Session, order: Order, to: lifecycle.OrderState, extra: dict[str, Any] | None = None
) -> None:
    """Move a web order to `to` if the lifecycle allows it, and tell the central store in the same transaction.
    `extra` goes with the change (protocol.OrderStatusChange: the stock `movements`, the carrier's `tracking`)."""
    if not lifecycle.may_move(order.status, to, order.fulfilment):
        raise UserError(
            f"Order {order.number} is {lifecycle.words(order.status)}: it cannot become {lifecycle.words(to)}."
        )
    outbox.emit(
        session,
        "order.status",
        {
            "order_id": order.id,
            "from": order.status,
            "to": str(to),
            "by": here(session).terminal_code,
            **(extra or {}),
        },
    )
    order.status = str(to)


def progress(session: Session, order_id: str) -> VerifyView:
    return _view(_order(session, order_id))


def scan(session: Session, actor: Actor, order_id: str, code: barcodes.ScanResult | str) -> VerifyView:
    """Count one scanned code against the order. A refused scan writes nothing and says why in `message`."""
    order = _order(session, order_id)
    staff.require(session, actor, _permission(order), f"verify order {order.number}")
    if not lifecycle.is_open(order.status):
        raise UserError(f"Order {order.number} is {order.status}: there is nothing to scan.")
    found = catalog.find_scan(session, catalog.read_scan(session, code))  # parsed once, by the router
    units = found.qty if not found.product.weighed else Decimal(1)
    scanned = {ln.id: ln.scanned_qty for ln in order.lines}
    outcome = verification.apply_scan(_lines(order), scanned, found.product.sku, units)
    if outcome.accepted:
        for ln in order.lines:
            ln.scanned_qty = outcome.scanned.get(ln.id, ln.scanned_qty)
        if order.status == lifecycle.OrderState.NEW:
            # Work has started: the central store (and the storefront) learn it, so a cancellation is checked.
            move(session, order, lifecycle.OrderState.PICKING)
        if outcome.verdict == verification.Verdict.ORDER_DONE:
            audit.record(
                session, actor.user_id, "order.verified", "order", order.id, {"number": order.number}
            )
    return _view(order, outcome)


def restart(session: Session, actor: Actor, order_id: str, reason: str) -> VerifyView:
    """Start the count again (items dropped, a mix-up): every line back to zero, with the reason in the audit."""
    order = _order(session, order_id)
    staff.require(session, actor, _permission(order), f"recount order {order.number}")
    if not reason.strip():
        raise UserError("Say why the order is counted again.")
    for ln in order.lines:
        ln.scanned_qty = Decimal(0)
    audit.record(session, actor.user_id, "order.recount", "order", order.id, {"reason": reason.strip()})
    return _view(order)
