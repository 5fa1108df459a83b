"""Pickup and curbside orders at the store: the queue, prepare, ready, hand over, no-shows.

Each function is one transaction. Scanning the items is the shared verification engine's
(`app.services.verification.scan`); every state change goes through `verification.move`, which asks the one
lifecycle and writes the `order.status` event for the central store in the same transaction.

The goods, in the ledger (movements caused by the order, cause type "pickup"):
- ready: from where each line is held (the sales floor) to the store's staging location ("staging", made here at
  first use), carried by the `ready` event;
- collected: out of staging (or the floor, for an order handed over without being made ready first) as a sale; a
  line the customer refuses goes back from staging to the floor. Carried by the `collected` event, so the central
  reduces its stock once, whenever the till reaches it;
- put back (a no-show, or an order cancelled or expired at the central after it was made ready): staging to the
  floor, carried by the `expired` event, or as plain stock movements when the central already closed the order.

A short pick or a damaged item is handed back to the central (event `order.handback`), which routes the line again.
The pickup code is checked here, against the verifier the central put in the order's feed payload: it works with the
central out of reach, and is used once because a collected order is final.

The queue, finding orders and the plain views (QueueRow, PrepView, Done, ...) live in
`app.services.pickup_queue`; this module re-exports them, so callers import `pickup` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Location, Order, OrderLine, Payment, PickupRecord
from app.documents.bag_label import (
    BagLabelData,
    HandoverData,
    HandoverLine,
    build_bag_label,
    build_handover_receipt,
)
from app.domain import barcodes, lifecycle, prefixes
from app.domain import pickup as codes
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, outbox, printing, staff, stock, verification
from app.services import pickup_payment as payment
from app.services.base import Actor, UserError, here, now
from app.services.pickup_queue import (  # noqa: F401  re-exported: callers import the queue from pickup
    CAUSE,
    DEFAULT_HOLD_DAYS,
    DEFAULT_PROMISE_MINUTES,
    FULFILMENTS,
    RECENT_DAYS,
    STAGING,
    Done,
    PickLine,
    PrepView,
    QueueRow,
    S,
    _collector,
    _customer,
    _ext,
    _hold_until,
    _int_setting,
    _line_location,
    _live,
    _paid,
    _promised,
    _staged,
    by_code,
    find,
    queue,
)

HANDBACK_EVENT = "order.handback"
HANDBACK_REASONS = ("short", "damaged")


# ---------------------------------------------------------------- the order and its staging


def _pickup_order(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.channel != "web" or order.fulfilment not in FULFILMENTS:
        raise UserError("No such pickup order on this terminal: sync, then look it up again.")
    return order


def _record(session: Session, order: Order) -> PickupRecord:
    rec = session.get(PickupRecord, order.id)
    if rec is None:
        rec = PickupRecord(order_id=order.id)
        session.add(rec)
    return rec


def staging_location(session: Session) -> Location:
    """The store's staging location for orders made ready, made at first use."""
    h = here(session)
    loc = session.scalar(select(Location).where(Location.store_id == h.store_id, Location.code == STAGING))
    if loc is None:
        loc = Location(id=new_id(), store_id=h.store_id, code=STAGING, name="Pickup staging", kind=STAGING)
        session.add(loc)
        session.flush()
    return loc


def _home(session: Session, order: Order, line: OrderLine) -> Location:
    """Where a line's goods are held in this store: the central's routing says, else the sales floor."""
    code = None
    for ext_line in _ext(order).get("lines") or []:
        if (
            isinstance(ext_line, dict)
            and ext_line.get("sku") == line.sku
            and ext_line.get("store") in (None, here(session).store_code)
        ):
            code = ext_line.get("location")
            break
    if code and code != STAGING:
        loc = session.scalar(
            select(Location).where(Location.store_id == here(session).store_id, Location.code == str(code))
        )
        if loc is not None:
            return loc
    return stock.sellable_location(session)


# ---------------------------------------------------------------- prepare


def _returns_to(session: Session, order: Order, staged: bool) -> str:
    if staged:
        return f"the items are in {STAGING}: put them back on the floor (Put back)"
    places = sorted({_line_location(order, ln) for ln in _live(order)})
    return "put the items back: " + ", ".join(places) if places else ""


def prepare_view(session: Session, order_id: str, outcome: verification.VerifyView | None = None) -> PrepView:
    order = _pickup_order(session, order_id)
    base = outcome or verification.progress(session, order_id)
    done = {x.line_id: x for x in base.lines}
    lines = []
    for ln in _live(order):
        x = done.get(ln.id)
        lines.append(
            PickLine(
                ln.id,
                ln.line_no,
                ln.sku,
                ln.name,
                _line_location(order, ln),
                ln.qty,
                ln.scanned_qty,
                bool(x and x.done),
            )
        )
    lines.sort(key=lambda p: (p.location, p.name, p.line_no))  # the walk: one location after the other
    left = sum((max(Decimal(0), p.qty - p.scanned) for p in lines if not p.done), Decimal(0))
    staged = bool(_staged(session, [order.id]))
    closed = order.status in (S.CANCELLED, S.EXPIRED)
    return PrepView(
        order_id=order.id,
        number=order.number,
        status=order.status,
        fulfilment=order.fulfilment,
        customer=order.customer_name or str(_customer(order).get("name") or ""),
        lines=lines,
        left=left,
        complete=base.complete,
        staged=staged,
        paid=_paid(order),
        collector=_collector(order),
        verdict=base.verdict,
        message=base.message,
        line_id=base.line_id,
        returns_to=_returns_to(session, order, staged) if closed else "",
    )


def scan(session: Session, actor: Actor, order_id: str, code: barcodes.ScanResult | str) -> PrepView:
    """One item scanned for the order, through the shared verification engine (a refusal writes nothing)."""
    order = _pickup_order(session, order_id)
    if order.status == S.READY:
        raise UserError(f"Order {order.number} is ready: hand it over (F10), nothing more to scan.")
    return prepare_view(session, order_id, verification.scan(session, actor, order_id, code))


def hand_back(
    session: Session, actor: Actor, order_id: str, line_id: str, missing: Decimal, reason: str
) -> PrepView:
    """A short pick or a damaged item: the line loses what is missing here, and the central routes it again."""
    order = _pickup_order(session, order_id)
    staff.require(session, actor, Permission.PICKUP, f"hand back a line of order {order.number}")
    if order.status not in (S.NEW, S.PICKING):
        raise UserError(
            f"Order {order.number} is {lifecycle.words(order.status)}: lines are handed back while picking."
        )
    if reason not in HANDBACK_REASONS:
        raise UserError("Say whether the item is missing (short) or damaged.")
    line = next((ln for ln in _live(order) if ln.id == line_id), None)
    if line is None:
        raise UserError("Choose the line that is short or damaged.")
    if missing <= 0 or missing > line.qty:
        raise UserError(f"{line.name}: between 1 and {line.qty.normalize():f} can be handed back.")
    if missing == line.qty and len(_live(order)) == 1:
        raise UserError(
            f"Nothing of order {order.number} would be left: ask the office to cancel it at the central instead."
        )
    line.qty -= missing
    line.scanned_qty = min(line.scanned_qty, line.qty)
    line.amount = (line.unit_price * line.qty).quantize(Decimal("0.01"))
    if line.qty == 0:
        line.voided = True
    outbox.emit(
        session,
        HANDBACK_EVENT,
        {"order_id": order.id, "line_no": line.line_no, "missing": str(missing), "reason": reason},
    )
    if order.status == S.NEW:
        verification.move(session, order, S.PICKING)
    audit.record(
        session,
        actor.user_id,
        "pickup.hand_back",
        "order",
        order.id,
        {"line": line.line_no, "sku": line.sku, "missing": str(missing), "reason": reason},
    )
    return prepare_view(session, order_id)


def ready(session: Session, actor: Actor, order_id: str, bags: int = 1) -> Done:
    """Every item scanned: the goods move to staging, the order is ready (the central sends the ready notice and
    the pickup code), and a bag label prints for each bag."""
    order = _pickup_order(session, order_id)
    staff.require(session, actor, Permission.PICKUP, f"make order {order.number} ready")
    if not lifecycle.may_move(order.status, S.READY, order.fulfilment):
        raise UserError(f"Order {order.number} is {lifecycle.words(order.status)}: it cannot be made ready.")
    view = verification.progress(session, order_id)
    if not view.complete:
        left = sum((x.qty - x.scanned for x in view.lines if not x.done), Decimal(0))
        raise UserError(
            f"{left.normalize():f} item(s) of order {order.number} still to scan: scan them, or hand back what "
            "is short (F6)."
        )
    if bags < 1 or bags > 20:
        raise UserError("Between 1 and 20 bags.")
    staging = staging_location(session)
    moves: list[stock.MovementIn] = []
    for ln in _live(order):
        if ln.product_id is None:
            continue
        home = _home(session, order, ln)
        moves.append(stock.MovementIn(ln.product_id, home.id, -ln.qty, "transfer"))
        moves.append(stock.MovementIn(ln.product_id, staging.id, ln.qty, "transfer"))
    rows = stock.record_movements(session, moves, CAUSE, order.id, actor.user_id)
    payload = stock.movement_payload(session, rows) if rows else []
    at = now()
    # The moment and the promise travel with the change, so the central's pickup figures are the till's own.
    minutes = _int_setting(session, "pickup.promise_minutes", DEFAULT_PROMISE_MINUTES)
    facts = {"ready_at": at.isoformat(), "promised_at": _promised(session, order, minutes).isoformat()}
    verification.move(session, order, S.READY, {**facts, "movements": payload} if payload else facts)
    _record(session, order).ready_at = at
    job = _bag_labels(session, order, bags)
    audit.record(session, actor.user_id, "pickup.ready", "order", order.id, {"bags": bags})
    return Done(order.id, order.number, order.status, f"Order {order.number} is ready: label printed.", job)


def _bag_labels(session: Session, order: Order, bags: int) -> str:
    items = int(sum((ln.qty for ln in _live(order)), Decimal(0)))
    first = ""
    for bag in range(1, bags + 1):
        doc = build_bag_label(
            BagLabelData(order.number, order.customer_name or "", order.fulfilment, items, bag, bags)
        )
        job = printing.enqueue(
            session, "bag_label", doc.to_json(), f"Bag label {order.number} {bag}/{bags}", order.id, "label"
        )
        first = first or job
    return first


def reprint_label(session: Session, actor: Actor, order_id: str) -> Done:
    order = _pickup_order(session, order_id)
    staff.require(session, actor, Permission.PICKUP, f"print the bag label of order {order.number}")
    job = _bag_labels(session, order, 1)
    return Done(order.id, order.number, order.status, f"Bag label of {order.number} printed.", job)


# ---------------------------------------------------------------- hand over


def check_code(session: Session, order_id: str, code: str) -> bool:
    """Whether `code` is the order's pickup code (checked here, offline or not)."""
    order = _pickup_order(session, order_id)
    return codes.verify(prefixes.without(prefixes.PICKUP, code), _ext(order).get("pickup"))


def _same_name(a: str, b: str) -> bool:
    def norm(x: str) -> str:
        return " ".join(x.casefold().split())

    return bool(norm(a)) and norm(a) == norm(b)


def _check_hand_over(
    session: Session,
    actor: Actor,
    order_id: str,
    code: str | None,
    id_name: str | None,
    refused: Sequence[str],
) -> tuple[Order, str, str, list[OrderLine], set[str]]:
    """Every check of a hand-over, writing nothing: the order, how the customer was checked and who took it, the
    order's lines and those refused."""
    order = _pickup_order(session, order_id)
    staff.require(session, actor, Permission.PICKUP, f"hand over order {order.number}")
    if order.status == S.COLLECTED:
        raise UserError(f"Order {order.number} was already collected: nothing to hand over.")
    if order.status in (S.CANCELLED, S.EXPIRED):
        raise UserError(
            f"Order {order.number} is {lifecycle.words(order.status)}: do not hand it over; put the goods back."
        )
    if not lifecycle.may_move(order.status, S.COLLECTED, order.fulfilment):
        raise UserError(f"Order {order.number} is {lifecycle.words(order.status)}: it cannot be handed over.")
    customer = order.customer_name or str(_customer(order).get("name") or "")
    collector = _collector(order)
    if code:
        verifier = _ext(order).get("pickup")
        if not verifier:
            raise UserError(
                f"This till has no pickup code for order {order.number} yet (the central has not confirmed it "
                "ready): check the customer's ID instead."
            )
        if not codes.verify(prefixes.without(prefixes.PICKUP, code), verifier):
            raise UserError(
                f"That is not the pickup code of order {order.number}: check it with the customer, or check "
                "their ID."
            )
        method, who = "code", customer
    elif id_name:
        if not (_same_name(id_name, customer) or (collector and _same_name(id_name, collector))):
            named = customer + (f" or {collector}" if collector else "")
            raise UserError(
                f"The name on the ID must be the one on order {order.number} ({named}): do not hand it over."
            )
        method, who = "id", id_name.strip()
    else:
        raise UserError("Check the pickup code or the customer's ID first.")
    live = _live(order)
    refused_ids = set(refused)
    if refused_ids - {ln.id for ln in live}:
        raise UserError("A refused line is not in this order.")
    if all(ln.id in refused_ids for ln in live):
        raise UserError(
            f"The customer refuses every line: nothing is handed over. Put order {order.number} back instead."
        )
    return order, method, who, live, refused_ids


def check_payment(
    session: Session,
    actor: Actor,
    order_id: str,
    *,
    code: str | None = None,
    id_name: str | None = None,
    refused: Sequence[str] = (),
    tenders: Sequence[payment.TenderTaken] = (),
) -> payment.PayView:
    """Before an unpaid order is handed over: the customer checked (as `hand_over` checks), what is due for the
    lines taken, and where the tenders entered so far leave it (Sell's rules; nothing is written)."""
    order, _, _, live, refused_ids = _check_hand_over(session, actor, order_id, code, id_name, refused)
    if _paid(order):
        raise UserError(f"Order {order.number} is paid already: hand it over.")
    staff.require(session, actor, Permission.SELL, f"take the payment of order {order.number}")
    return payment.check(session, order, payment.due(live, sorted(refused_ids)), tenders)


def hand_over(
    session: Session,
    actor: Actor,
    order_id: str,
    *,
    code: str | None = None,
    id_name: str | None = None,
    refused: Sequence[str] = (),
    signature: list[list[list[int]]] | None = None,
    tenders: Sequence[payment.TenderTaken] = (),
) -> Done:
    """The customer collects: checked by pickup code or by ID with the name confirmed (the customer, or the
    collector named on the order). An order not paid yet is paid here with `tenders` (Sell's, for the lines
    taken; see `app.services.pickup_payment`), in this transaction. The goods leave staging as a sale (once: a
    collected order is final), lines refused go back to the floor, and a hand-over receipt prints."""
    order, method, who, live, refused_ids = _check_hand_over(session, actor, order_id, code, id_name, refused)
    customer = order.customer_name or str(_customer(order).get("name") or "")
    paid_now: list[Payment] = []
    if not _paid(order):
        if not tenders:
            raise UserError(f"Order {order.number} is not paid yet: take the payment (F10) to hand it over.")
        staff.require(session, actor, Permission.SELL, f"take the payment of order {order.number}")
        paid_now = payment.take(session, order, payment.due(live, sorted(refused_ids)), tenders)
    elif tenders:
        raise UserError(f"Order {order.number} is paid already: take no payment for it.")
    staged = _staged(session, [order.id]).get(order.id, {})
    staging = staging_location(session) if staged else None
    moves: list[stock.MovementIn] = []
    for ln in live:
        if ln.product_id is None:
            continue
        home = _home(session, order, ln)
        in_staging = staged.get(ln.product_id, Decimal(0)) >= ln.qty
        if in_staging:
            staged[ln.product_id] -= ln.qty
        if ln.id in refused_ids:
            if in_staging and staging is not None:
                moves.append(stock.MovementIn(ln.product_id, staging.id, -ln.qty, "transfer"))
                moves.append(stock.MovementIn(ln.product_id, home.id, ln.qty, "transfer"))
            continue
        src = staging.id if in_staging and staging is not None else home.id
        moves.append(stock.MovementIn(ln.product_id, src, -ln.qty, "sale"))
    rows = stock.record_movements(session, moves, CAUSE, order.id, actor.user_id)
    payload = stock.movement_payload(session, rows) if rows else []
    receipt = _receipt_facts(live, refused_ids, paid_now, order.change_given, order.total)
    for ln in live:
        # Not taken, so not sold: the reports count only what was (the order's total already leaves it out), and
        # the returns desk cannot refund what the customer never had.
        if ln.id in refused_ids:
            ln.voided = True
    extra: dict[str, Any] = {"receipt": receipt}
    if payload:
        extra["movements"] = payload
    order.completed_at = now()
    extra["handed_at"] = order.completed_at.isoformat()  # the central's pickup figures are the till's own
    verification.move(session, order, S.COLLECTED, extra)
    rec = _record(session, order)
    rec.handed_at = order.completed_at
    rec.method = method
    rec.collector = who
    rec.refused = sorted(refused_ids) or None
    rec.signature = signature or None
    rec.user_id = actor.user_id
    h = here(session)
    doc = build_handover_receipt(
        HandoverData(
            number=order.number,
            store=h.store_code,
            customer=customer,
            checked_by="pickup code" if method == "code" else f"ID check: {who}",
            when=order.completed_at.astimezone(ZoneInfo(h.timezone)).strftime("%d/%m/%Y %H:%M"),
            terminal=h.terminal_code,
            lines=[HandoverLine(ln.name, ln.qty, ln.id in refused_ids) for ln in live],
            signed=bool(signature),
            payments=[(p.kind, p.tendered) for p in paid_now],
            paid=order.total if paid_now else None,
            change=order.change_given if paid_now else Decimal(0),
        )
    )
    job = printing.enqueue(session, "handover", doc.to_json(), f"Hand-over {order.number}", order.id)
    audit.record(
        session,
        actor.user_id,
        "pickup.collected",
        "order",
        order.id,
        {
            "method": method,
            "collector": who,
            "refused": len(refused_ids),
            "signed": bool(signature),
            **({"payments": [[p.kind, str(p.amount)] for p in paid_now]} if paid_now else {}),
        },
    )
    taken = len(live) - len(refused_ids)
    msg = f"Order {order.number} handed over ({taken} line{'s' if taken != 1 else ''})"
    if refused_ids:
        msg += f"; {len(refused_ids)} refused, back to the floor"
    if paid_now:
        msg += f"; paid {order.total}" + (f", change {order.change_given}" if order.change_given else "")
    return Done(
        order.id,
        order.number,
        order.status,
        msg + ".",
        job,
        open_drawer=any(p.kind == "cash" for p in paid_now),
    )


def _receipt_facts(
    live: Sequence[OrderLine], refused: set[str], paid: Sequence[Payment], change: Decimal, total: Decimal
) -> dict[str, Any]:
    """What the customer's picked-up notice says, as a receipt would: the lines taken and refused, and what was
    paid at the counter (sync.central.notices). Paid at the counter, the order is a sale of this till (the Z and
    the reports count it at its total, its lines taken at their amounts): the central's chain reports count what
    this till counted (`total`, `sold`: sync.central.report_sales)."""
    facts: dict[str, Any] = {
        "taken": [[ln.sku, ln.name, f"{ln.qty.normalize():f}"] for ln in live if ln.id not in refused],
        "refused": [[ln.sku, ln.name, f"{ln.qty.normalize():f}"] for ln in live if ln.id in refused],
        "paid": str(sum((p.amount for p in paid), Decimal(0))) if paid else None,
        "payments": [[p.kind, str(p.amount)] for p in paid],
        "change": str(change) if paid else None,
    }
    if paid:
        facts["total"] = str(total)
        facts["sold"] = [
            [ln.sku, ln.name, f"{ln.qty.normalize():f}", str(ln.amount)]
            for ln in live
            if ln.id not in refused
        ]
    return facts


# ---------------------------------------------------------------- no-shows and put back


def no_shows(session: Session, at: datetime | None = None) -> list[QueueRow]:
    """Ready orders past the hold window, and orders the central cancelled or expired with goods in staging."""
    return [r for r in queue(session, at) if r.no_show]


def put_back(session: Session, actor: Actor, order_id: str, at: datetime | None = None) -> Done:
    """The goods of a no-show (or of an order closed at the central) go back from staging to where they came
    from; an order still open here expires, and the central is told in the same event."""
    at = at or now()
    order = _pickup_order(session, order_id)
    staff.require(session, actor, Permission.PICKUP, f"put back order {order.number}")
    if order.status == S.COLLECTED:
        raise UserError(f"Order {order.number} was collected: there is nothing to put back.")
    staged = _staged(session, [order.id]).get(order.id, {})
    if lifecycle.is_open(order.status):
        days = _int_setting(session, "pickup.hold_days", DEFAULT_HOLD_DAYS)
        until = _hold_until(session, order, session.get(PickupRecord, order.id), days)
        if order.status != S.READY or at < until:
            raise UserError(
                f"Order {order.number} is {lifecycle.words(order.status)} and within its hold window: "
                "it is not a no-show yet."
            )
    elif not staged:
        raise UserError(
            f"Order {order.number} is {lifecycle.words(order.status)} and holds nothing in staging: "
            "nothing to put back."
        )
    staging = staging_location(session)
    moves: list[stock.MovementIn] = []
    by_product = {ln.product_id: ln for ln in _live(order) if ln.product_id}
    for product_id, qty in sorted(staged.items()):
        if qty <= 0:
            continue
        line = by_product.get(product_id)
        home = _home(session, order, line) if line is not None else stock.sellable_location(session)
        moves.append(stock.MovementIn(product_id, staging.id, -qty, "transfer"))
        moves.append(stock.MovementIn(product_id, home.id, qty, "transfer"))
    rows = stock.record_movements(session, moves, CAUSE, order.id, actor.user_id)
    payload = stock.movement_payload(session, rows) if rows else []
    if lifecycle.is_open(order.status):
        verification.move(session, order, S.EXPIRED, {"movements": payload} if payload else None)
    else:
        for movement in payload:  # the central already closed it: the goods move on their own
            outbox.emit(session, "stock.movement", {**movement, "reason": f"put back {order.number}"})
    _record(session, order).put_back_at = at
    audit.record(session, actor.user_id, "pickup.put_back", "order", order.id, {"status": order.status})
    return Done(order.id, order.number, order.status, f"Order {order.number}: goods back on the floor.")
