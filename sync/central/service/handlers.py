"""Applying one pushed event, one handler per event kind: sales, returns, stock movements and counts, order
status changes, parked sales, customers and staff."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import literal, select, union_all
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import balances, deliveries, ledger, order_parts, roles, routing
from sync.central.ledger import Rejected
from sync.central.models import (
    FeedChange,
    Location,
    Notice,
    ParkedSale,
    Product,
    Return,
    Sale,
    StaffMember,
    StockException,
    Terminal,
    WebOrder,
    utcnow,
)
from sync.central.service import returns
from sync.central.service.base import CentralError
from sync.central.service.order_state import _number_free, _numbers_held, _set_status, order_payload

# Locations a till makes at first use, never sellable, so the central makes them too when the till's first
# movement into one arrives: pickup staging (app.services.pickup.STAGING), and where returns go that cannot be sold
# (app.services.returns.views: quarantine, return to vendor).
_STAGING = "staging"
_MADE_AT_FIRST_USE = {_STAGING: "Pickup staging", "quarantine": "Quarantine", "rtv": "Return to vendor"}


def _location(session: Session, store_id: int, code: str) -> Location:
    cache = ledger.tx_cache(session, "locations")
    loc: Location | None = cache.get((store_id, code))
    if loc is None:
        loc = session.scalar(select(Location).where(Location.store_id == store_id, Location.code == code))
        if loc is None and code in _MADE_AT_FIRST_USE:
            loc = Location(store_id=store_id, code=code, name=_MADE_AT_FIRST_USE[code], sellable=False)
            session.add(loc)
            session.flush()
        if loc is None:
            raise Rejected(f"unknown location {code!r}")
        cache[(store_id, code)] = loc
    return loc


def _product(session: Session, sku: str) -> Product:
    cache = ledger.tx_cache(session, "products")
    product: Product | None = cache.get(sku)
    if product is None:
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise Rejected(f"unknown sku {sku!r}")
        cache[sku] = product
    return product


_Payload = TypeVar("_Payload", bound=BaseModel)


def _payload(session: Session, ev: protocol.Event, model: type[_Payload]) -> _Payload:
    """The event's payload as `model`: the one a push parsed when it judged the event (`judge.check_event`), or
    parsed now."""
    parsed = ledger.tx_cache(session, "payloads").get(ev.id)
    if type(parsed) is model:
        return parsed
    return model.model_validate(ev.payload)


def _apply(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    handler = _HANDLERS.get(ev.type)
    if handler is None:
        raise Rejected(f"unknown event type {ev.type!r}")
    handler(session, terminal, ev)


def _apply_movements(
    session: Session,
    terminal: Terminal,
    ev: protocol.Event,
    movements: list[protocol.Movement],
    cause_id: str,
) -> None:
    for m in movements:
        location = _location(session, terminal.store_id, m.location)
        product = _product(session, m.sku)
        level = ledger.record_movement(
            session,
            movement_id=m.id,
            location=location,
            product=product,
            qty=m.qty,
            kind=m.kind,
            cause_type=ev.type,
            cause_id=cause_id,
            event_id=ev.id,
            terminal_id=terminal.id,
        )
        if m.qty < 0:
            ledger.flag_oversell(session, location, product, level, ev.id, f"{ev.type} {cause_id}")


def _flag_movements(
    session: Session,
    terminal: Terminal,
    ev: protocol.Event,
    kind: str,
    movements: list[protocol.Movement],
    detail: dict[str, Any],
) -> None:
    """Goods moved in a way a person must look at (they stand in the ledger): one exception per movement."""
    for m in movements:
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind=kind,
                sku=m.sku,
                location=m.location,
                detail={**detail, "terminal": terminal.code, "qty": ledger.qty_text(m.qty)},
                event_id=ev.id,
            )
        )


def _known_sales(session: Session) -> dict[uuid.UUID, bool]:
    """Whether a sale id is recorded already, for this transaction (a batch fills it in one query)."""
    return ledger.tx_cache(session, "sales")


def _sale(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = _payload(session, ev, protocol.SaleCompleted)
    if ev.id not in _written_first(session) and not _sale_row(session, terminal, ev):
        # The same parked sale recalled and completed at two tills while they were offline: both customers left
        # with goods, so the movements stand and a person is asked to look at the second payment.
        _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
        _flag_movements(session, terminal, ev, "sale_completed_twice", p.movements, {"sale": p.number})
        return
    _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
    _emit_document(session, terminal, ev, protocol.CHANGE_SALE, str(p.order_id))


def _sale_row(session: Session, terminal: Terminal, ev: protocol.Event) -> bool:
    """Add the sale of a `sale.completed` event (set-wise in a push's batch); False, adding nothing, when that sale
    is recorded already (completed a second time). Its number must be free of returns and web orders."""
    p = _payload(session, ev, protocol.SaleCompleted)
    known = _known_sales(session)
    if p.order_id not in known:
        known[p.order_id] = session.get(Sale, p.order_id) is not None
    if known[p.order_id]:
        return False
    _number_free(session, p.number, Sale)
    sale = {
        "id": p.order_id,
        "store_id": terminal.store_id,
        "terminal_id": terminal.id,
        "number": p.number,
        "total": p.totals.total,
        "document": ev.payload,
        "occurred_at": ev.occurred_at,
    }
    ledger.add_row(session, Sale, sale)
    _kept_whole(session).add(ev.id)
    known[p.order_id] = True
    return True


def _written_first(session: Session) -> set[uuid.UUID]:
    """The events of this transaction whose sale and applied event a push's batch wrote before it took the store's
    lock (`batch._write_first`): neither their handler nor `batch._applied` adds them again."""
    return ledger.tx_set(session, "written_first")


def _kept_whole(session: Session) -> set[uuid.UUID]:
    """The events of this transaction whose whole payload a handler stored as a document (a sale's or a return's):
    their applied event does not keep it again (`batch._applied`)."""
    return ledger.tx_set(session, "kept_whole")


def _prefetch_numbers(session: Session, events: list[protocol.Event]) -> None:
    """Which sale and return numbers of a batch a sale, return or web order holds already: one query for all."""
    numbers = {
        str(e.payload["number"])
        for e in events
        if e.type in (protocol.SALE_COMPLETED, protocol.RETURN_COMPLETED)
        and isinstance(e.payload.get("number"), str)
    }
    if not numbers:
        return
    holders = _numbers_held(session)
    for number in numbers:
        holders.setdefault(number, set())
    for chunk in ledger.chunks(session, sorted(numbers)):
        held = union_all(
            *(
                select(other.number, literal(other.__name__)).where(
                    ledger.among(session, other.number, chunk)
                )
                for other in (Sale, Return, WebOrder)
            )
        )
        for number, holder in session.execute(held).all():
            holders[number].add(holder)


def _emit_document(
    session: Session, terminal: Terminal, ev: protocol.Event, change_type: str, key: str
) -> None:
    """A completed sale or return goes to the store's feed, so every till of the store can find it (a return at
    the desk of a sale rung up at another till). Its movements stay out: stock travels as stock changes."""
    payload = _documents(session).pop(ev.id, None) or _document(terminal, ev)
    ledger.emit(session, terminal.store_id, change_type, key, payload)


def _document(terminal: Terminal, ev: protocol.Event) -> dict[str, Any]:
    payload = {k: v for k, v in ev.payload.items() if k != "movements"}
    payload["terminal"] = terminal.code  # who pushed it, as the central store knows it
    if not payload.get("completed_at"):
        payload["completed_at"] = ev.occurred_at.isoformat()
    return payload


def _document_ahead(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """Make the feed payload of the event's document and serialise it now, for `_emit_document` to send as it is:
    a push's batch does this before it takes the store's lock, which is then held for neither."""
    payload = _document(terminal, ev)
    ledger.note_json(session, payload, json.dumps(payload))
    _documents(session)[ev.id] = payload


def _documents(session: Session) -> dict[uuid.UUID, dict[str, Any]]:
    """The documents of this transaction made ahead (`_document_ahead`), by event id."""
    return ledger.tx_cache(session, "documents")


def _return(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = _payload(session, ev, protocol.SaleCompleted)
    if any(m.qty < 0 for m in p.movements):
        raise Rejected("a return's movements must be positive")
    if session.get(Return, p.order_id) is not None:
        raise Rejected(f"return {p.order_id} is already recorded")
    _number_free(session, p.number, Return)
    # The central store's authority (service.returns): over what is left, refused when decided online; decided
    # offline, it stands and what it went over is parked for review.
    problems = returns.judge_return(session, terminal, p)
    returns.record_return(session, terminal, ev, p, problems)
    _kept_whole(session).add(ev.id)
    _apply_movements(session, terminal, ev, p.movements, str(p.order_id))
    _emit_document(session, terminal, ev, protocol.CHANGE_RETURN, str(p.order_id))


def _stock_movement(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    m = _payload(session, ev, protocol.StockMovement)
    _apply_movements(session, terminal, ev, [m], str(m.id))


def _delivery_received(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.DeliveryReceived.model_validate(ev.payload)
    deliveries.check_received(p)
    delivery = deliveries.delivery_received(session, terminal, ev, p)
    _apply_movements(session, terminal, ev, p.movements, str(delivery.id))


def _transfer_sent(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.TransferSent.model_validate(ev.payload)
    deliveries.transfer_sent(session, terminal, ev, p)
    _apply_movements(session, terminal, ev, p.movements, str(p.transfer_id))


def _stock_count(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.StockCount.model_validate(ev.payload)
    location = _location(session, terminal.store_id, p.location)
    product = _product(session, p.sku)
    if p.as_of_seq > terminal.store.feed_seq:
        raise Rejected(f"as_of_seq {p.as_of_seq} is beyond the store's feed ({terminal.store.feed_seq})")
    baseline = ledger.count_baseline(
        session, location, product, p.as_of_seq, terminal.id, p.local_movements_after
    )
    adjustment = p.counted - baseline
    if adjustment != 0:
        # The count event's own id names the adjustment it causes, so a count is one ledger row at most.
        ledger.record_movement(
            session,
            movement_id=ev.id,
            location=location,
            product=product,
            qty=adjustment,
            kind="count",
            cause_type=ev.type,
            cause_id=str(ev.id),
            event_id=ev.id,
            terminal_id=terminal.id,
        )


def _order_status(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.OrderStatusChange.model_validate(ev.payload)
    order = session.get(WebOrder, p.order_id)
    if order is not None and p.to == "shipped" and order_parts.in_parts(session, order, terminal.store_id):
        # One store's part of a split ship order (sync.central.order_parts): only its lines are released.
        moved = order  # bound for the closure
        order_parts.ship_part(
            session,
            order,
            terminal.store_id,
            p.by,
            ev.id,
            p.tracking,
            lambda: _apply_movements(session, terminal, ev, p.movements, str(moved.id)),
        )
        return
    if order is None or order.store_id != terminal.store_id:
        raise Rejected(f"no web order {p.order_id} in this store")
    if p.to not in protocol.ORDER_STATES:
        raise Rejected(f"unknown order status {p.to!r}")
    if p.to == order.status:
        return
    if order.status in protocol.ORDER_FINAL_STATES:
        if not p.movements:
            raise Rejected(f"order {order.number} is already {order.status}")
        # The store handed goods over (offline, or before the cancellation reached it): the goods have moved, so
        # the movements stand, and a person is asked to sort out the order.
        _apply_movements(session, terminal, ev, p.movements, str(order.id))
        detail = {"order": order.number, "status": order.status, "store_says": p.to}
        _flag_movements(session, terminal, ev, "order_conflict", p.movements, detail)
        return
    if not protocol.may_move_order(order.status, p.to, order.fulfilment):
        # The one lifecycle (app.domain.lifecycle) has no such move. An older step arriving after a later one
        # changes nothing; goods that moved anyway stand and are flagged, like a hand-over after a cancellation.
        if p.movements:
            _apply_movements(session, terminal, ev, p.movements, str(order.id))
            detail = {"order": order.number, "status": order.status, "store_says": p.to}
            _flag_movements(session, terminal, ev, "order_conflict", p.movements, detail)
            return
        if protocol.may_move_order(p.to, order.status, order.fulfilment):
            return
        raise Rejected(f"order {order.number} is {order.status}: it cannot become {p.to}")
    _set_status(session, order, p.to, p.by, ev.id, p.tracking)
    _apply_movements(session, terminal, ev, p.movements, str(order.id))
    if p.to == "ready":
        _reservation_to_staging(session, terminal, order, p.movements)
    if p.to == "collected":
        _handover_receipt(session, order, ev.payload.get("receipt"))
    change = protocol.CHANGE_ORDER_CANCELLED if p.to == "cancelled" else protocol.CHANGE_ORDER
    ledger.emit(session, order.store_id, change, str(order.id), order_payload(order))


def _handover_receipt(session: Session, order: WebOrder, raw: Any) -> None:
    """What the till handed over and was paid goes into the customer's picked-up notice (a receipt by e-mail);
    paid at the counter, the order is paid. A receipt that does not read is left out: the hand-over stands."""
    if raw is None:
        return
    try:
        receipt = protocol.HandoverReceipt.model_validate(raw)
    except ValidationError:
        return
    if receipt.paid is not None:
        order.paid = True
    notice = session.scalar(
        select(Notice).where(
            Notice.order_id == order.id, Notice.kind == "picked_up", Notice.state == "pending"
        )
    )
    if notice is not None:
        notice.facts = {**(notice.facts or {}), "receipt": receipt.model_dump(mode="json")}


def _reservation_to_staging(
    session: Session, terminal: Terminal, order: WebOrder, movements: list[protocol.Movement]
) -> None:
    """A pickup made ready moved its goods to the store's staging location: the reservation follows them, so the
    floor's availability (on hand less reserved) does not count them twice until the order is collected."""
    staged = {m.sku for m in movements if m.location == _STAGING and m.qty > 0}
    if not staged:
        return
    staging = _location(session, terminal.store_id, _STAGING)
    for ln in order.lines:
        if ln.state != "reserved" or ln.sku not in staged or ln.location_id == staging.id:
            continue
        held = session.get(Location, ln.location_id)
        if held is None or held.store_id != terminal.store_id:
            continue
        product = _product(session, ln.sku)
        ledger.change_reserved(session, held, product, -ln.qty)
        ledger.change_reserved(session, staging, product, ln.qty)
        ln.location_id = staging.id
        ln.location = staging


def _order_handback(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """A till could not fulfil a line (short pick, damaged): released and routed again, as the API's hand-back."""
    p = protocol.OrderHandBack.model_validate(ev.payload)
    try:
        routing.hand_back(
            session,
            str(p.order_id),
            p.line_no,
            p.missing,
            p.reason,
            by=f"terminal {terminal.code}",
            store_id=terminal.store_id,
        )
    except CentralError as exc:
        raise Rejected(str(exc)) from exc


def _parked(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.ParkedSale.model_validate(ev.payload)
    parked = session.get(ParkedSale, (terminal.store_id, p.number))
    if parked is None:
        parked = ParkedSale(number=p.number, store_id=terminal.store_id, terminal="", status="", lines=[])
        session.add(parked)
    parked.terminal = p.terminal or terminal.code
    parked.status = "parked"
    parked.lines = list(ev.payload["lines"])
    parked.updated_at = utcnow()
    # The other terminals get all the parking terminal sent (sale id, receipt number, customer, discounts), so
    # any of them can recall it.
    _emit_parked(session, parked, extra=ev.payload)


def _recalled(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    p = protocol.SaleRecalled.model_validate(ev.payload)
    parked = session.get(ParkedSale, (terminal.store_id, p.number))
    if parked is None:
        raise Rejected(f"no parked sale {p.number} in this store")
    if parked.status == "recalled":
        # Two tills recalled it while one of them was offline: both had the customer at the counter. Nothing to
        # refuse (the till has moved on); a person sees it, and the goods are flagged if both complete it.
        session.add(
            StockException(
                store_id=terminal.store_id,
                kind="recalled_twice",
                sku="",
                location="",
                detail={"parked": p.number, "terminal": p.terminal or terminal.code},
                event_id=ev.id,
            )
        )
        return
    parked.status = "recalled"
    parked.updated_at = utcnow()
    _emit_parked(session, parked, recalled_by=p.terminal or terminal.code)


def _emit_parked(
    session: Session, parked: ParkedSale, recalled_by: str | None = None, extra: dict[str, Any] | None = None
) -> None:
    payload: dict[str, Any] = {
        **(extra or {}),
        "number": parked.number,
        "terminal": parked.terminal,
        "status": parked.status,
        "lines": parked.lines,
    }
    if recalled_by:
        payload["recalled_by"] = recalled_by
    ledger.emit(session, parked.store_id, protocol.CHANGE_PARKED_SALE, parked.number, payload)


def _customer(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """A customer made or changed at a till goes to the store's feed, for its other tills. Only that store's:
    emitting into another store's feed would take that store's lock while holding this one's (two stores pushing
    at once would deadlock); a chain-wide customer list needs a feed of its own."""
    c = protocol.CustomerSaved.model_validate(ev.payload)
    ledger.emit(session, terminal.store_id, protocol.CHANGE_CUSTOMER, str(c.id), c.model_dump(mode="json"))


def _staff(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """A staff user added or changed at a till goes to the store's feed: they sign in at every till of the store.
    The feed is the record; the newest change of a user, in feed order, is what every till ends up with.

    A terminal's token carries no authority over people: the change must name its actor (who made or approved
    it), and the actor must be, in this store's staff as the central store knows it, an active user whose role may
    give that role to that user (`roles.refusal`). The one exception is the first admin a till makes at its
    enrolment, before it knew any staff: accepted in the first push after an enrolment only."""
    u = protocol.StaffSaved.model_validate(ev.payload)
    current = session.get(StaffMember, (terminal.store_id, u.id))
    if u.bootstrap:
        if not (terminal.bootstrap_open and current is None and u.role == roles.FIRST_ADMIN_ROLE):
            raise Rejected(
                "a first admin is taken only from a till just enrolled, in its first push: add staff as a "
                "manager or admin of this store"
            )
        if u.pin_key is not None and not protocol.staff_proof.check(
            u.pin_key, str(ev.id), ev.payload, u.proof
        ):
            raise Rejected("staff change refused: its proof does not match the first admin's PIN key")
        changed_by = f"first admin of terminal {terminal.code}"
    else:
        if u.actor is None:
            raise Rejected("a staff change must name the manager or admin who made or approved it")
        actor = session.get(StaffMember, (terminal.store_id, u.actor.id))
        if actor is None or not actor.active:
            raise Rejected(f"staff change by {u.actor.id}, who is not an active user of this store")
        why = roles.refusal(actor.role, u.role, current.role if current is not None else None)
        if why is not None:
            raise Rejected(f"staff change refused: {why}")
        # Naming an actor is not being them: the proof is made with the actor's PIN key, which only a till where
        # they typed their PIN can derive. An actor whose PIN predates proofs is checked by role only.
        if actor.pin_key is not None and not protocol.staff_proof.check(
            actor.pin_key, str(ev.id), ev.payload, u.proof
        ):
            raise Rejected(
                f"staff change refused: it is not signed by {actor.username}'s PIN (sign in with the PIN to make it)"
            )
        changed_by = str(actor.user_id)
    if current is None:
        current = StaffMember(store_id=terminal.store_id, user_id=u.id)
        session.add(current)
    current.username = u.username
    current.role = u.role
    current.active = u.active
    if u.pin_key is not None:
        current.pin_key = u.pin_key
    current.changed_by = changed_by
    current.updated_at = utcnow()
    # What a till needs to sign the user in offline, and no more: not who made the change, and for a disabled
    # user no PIN hash or badge at all (nothing there to try PINs against).
    kept = {"id", "username", "display_name", "role", "pin_hash", "badge_code"}
    feed = u.model_dump(mode="json", include=kept)
    feed["active"] = u.active
    if not u.active:
        feed["pin_hash"] = DISABLED_PIN_HASH
        feed["badge_code"] = None
    scrub_staff_feed(session, terminal.store_id, str(u.id))
    ledger.emit(session, terminal.store_id, protocol.CHANGE_STAFF, str(u.id), feed)


# Sent for a disabled user instead of their PIN hash, and left in a user's older feed rows: no PIN matches it.
DISABLED_PIN_HASH = "disabled"


def scrub_staff_feed(session: Session, store_id: int, user_key: str) -> None:
    """Take the PIN hash and badge out of a user's earlier staff changes in the feed: a till that pulls from the
    start needs only the newest (it applies them in order), and an old hash is an old PIN to try offline."""
    for row in session.scalars(
        select(FeedChange).where(
            FeedChange.store_id == store_id,
            FeedChange.type == protocol.CHANGE_STAFF,
            FeedChange.key == user_key,
        )
    ):
        if row.payload.get("pin_hash") != DISABLED_PIN_HASH or row.payload.get("badge_code") is not None:
            row.payload = {**row.payload, "pin_hash": DISABLED_PIN_HASH, "badge_code": None}


def _balance_issued(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    balances.apply_change(session, terminal, ev, spent=False)


def _balance_spent(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """Never refused for want of money: the customer has left (sync.central.balances reconciles)."""
    balances.apply_change(session, terminal, ev, spent=True)


def _record_only(session: Session, terminal: Terminal, ev: protocol.Event) -> None:
    """Shifts, cash movements and audit entries are kept in applied_events; nothing else derives from them."""


_HANDLERS: dict[str, Callable[[Session, Terminal, protocol.Event], None]] = {
    protocol.SALE_COMPLETED: _sale,
    protocol.RETURN_COMPLETED: _return,
    protocol.STOCK_MOVEMENT: _stock_movement,
    protocol.STOCK_COUNT: _stock_count,
    protocol.ORDER_STATUS: _order_status,
    protocol.SALE_PARKED: _parked,
    protocol.SALE_RECALLED: _recalled,
    protocol.SHIFT_OPENED: _record_only,
    protocol.SHIFT_CLOSED: _record_only,
    protocol.CASH_PAID_IN: _record_only,
    protocol.CASH_PAID_OUT: _record_only,
    protocol.AUDIT_ENTRY: _record_only,
    protocol.CUSTOMER_SAVED: _customer,
    protocol.STAFF_SAVED: _staff,
    protocol.BALANCE_ISSUED: _balance_issued,
    protocol.BALANCE_SPENT: _balance_spent,
    protocol.ORDER_HANDBACK: _order_handback,
    protocol.DELIVERY_RECEIVED: _delivery_received,
    protocol.TRANSFER_SENT: _transfer_sent,
}
