"""Receiving deliveries by scan, and sending goods to another store: the Stock workstation's receiving and transfers.

The central store sends the store its expected deliveries (purchase orders, transfers from other stores) with their
lines and the SSCC of any sealed case or pallet. At the back door:

- a case or pallet SSCC receives its whole contents at once (the case is sealed: what it holds is what the
  delivery says); a case already received, or one the delivery does not name, is refused;
- items are counted one by one through the shared verification rules (`app.domain.verification`, as at Pickup and
  Pack): an item the delivery does not name, or one more than it says, is refused; the associate may then take it
  in anyway (`take_in`), and it is kept as a discrepancy;
- closing posts one `receipt` movement per product into the backroom or the floor and sends the central store one
  `delivery.received` event with what was received and the differences (short, over, unexpected).

Each scan is one transaction; the counts survive a restart. A transfer out takes goods out of a location here
(`transfer` movements) and sends one `transfer.sent` event; the central store makes it a delivery at the other store.

Shelf labels for new prices are not printed at receiving: deliveries carry no prices (a price changes through the
catalog), so no delivery changes one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Delivery, DeliveryLine, Product
from app.db.types import utcnow
from app.domain import barcodes, verification
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, catalog, numbers, outbox, staff, stock
from app.services.base import Actor, UserError, here

RECEIVE_INTO = ("backroom", "floor")


@dataclass(frozen=True)
class DeliverySummary:
    id: str
    number: str
    kind: str
    source: str
    lines: int
    expected: Decimal
    received: Decimal


@dataclass(frozen=True)
class ReceiveLine:
    line_id: str
    sku: str
    name: str
    expected: Decimal
    received: Decimal
    sscc: str | None

    @property
    def difference(self) -> Decimal:
        return self.received - self.expected


@dataclass(frozen=True)
class Refused:
    """A scan the rules refused: what it would take in, if the associate takes it in anyway (`take_in`)."""

    sku: str
    name: str
    units: Decimal
    reason: str  # not_in_order, too_many, pack_too_big


@dataclass(frozen=True)
class ReceiveView:
    id: str
    number: str
    kind: str
    source: str
    status: str
    lines: list[ReceiveLine]
    verdict: str | None = None  # of the last scan: a verification verdict, "case", or a refusal
    message: str = ""
    line_id: str | None = None  # the line the last scan touched
    refused: Refused | None = None

    @property
    def left(self) -> Decimal:
        return sum((max(Decimal(0), ln.expected - ln.received) for ln in self.lines), Decimal(0))

    @property
    def discrepancies(self) -> list[ReceiveLine]:
        return [ln for ln in self.lines if ln.difference != 0]


@dataclass(frozen=True)
class Closed:
    number: str
    location: str
    received: Decimal
    discrepancies: list[dict[str, str]]


# ---------------------------------------------------------------- reading


def expected(session: Session) -> list[DeliverySummary]:
    """Deliveries this store is waiting for, oldest first."""
    rows = session.scalars(
        select(Delivery).where(Delivery.status == "expected").order_by(Delivery.created_at, Delivery.number)
    ).all()
    return [
        DeliverySummary(
            d.id,
            d.number,
            d.kind,
            d.source,
            len(d.lines),
            sum((ln.qty for ln in d.lines), Decimal(0)),
            sum((ln.received for ln in d.lines), Decimal(0)),
        )
        for d in rows
    ]


def find_delivery(session: Session, text: str) -> str:
    """The id of the expected delivery with this number (as typed or scanned)."""
    number = text.strip()
    d = session.scalar(select(Delivery).where(Delivery.number == number))
    if d is None:
        raise UserError(f"No item has the code {number}, and no delivery {number} is expected here.")
    if d.status != "expected":
        raise UserError(f"Delivery {number} is already received.")
    return d.id


def _delivery(session: Session, delivery_id: str) -> Delivery:
    d = session.get(Delivery, delivery_id)
    if d is None:
        raise UserError("No such delivery on this terminal: sync, then look again.")
    return d


def _open(session: Session, delivery_id: str) -> Delivery:
    d = _delivery(session, delivery_id)
    if d.status == "received_elsewhere":
        raise UserError(f"Delivery {d.number} was received at another till.")
    if d.status != "expected":
        raise UserError(f"Delivery {d.number} is already received.")
    return d


def _view(
    d: Delivery,
    verdict: str | None = None,
    message: str = "",
    line_id: str | None = None,
    refused: Refused | None = None,
) -> ReceiveView:
    return ReceiveView(
        d.id,
        d.number,
        d.kind,
        d.source,
        d.status,
        [ReceiveLine(ln.id, ln.sku, ln.name, ln.qty, ln.received, ln.sscc) for ln in d.lines],
        verdict,
        message,
        line_id,
        refused,
    )


def progress(session: Session, delivery_id: str) -> ReceiveView:
    return _view(_delivery(session, delivery_id))


# ---------------------------------------------------------------- scanning


def _rule_lines(d: Delivery) -> list[verification.Line]:
    """The delivery's lines as the verification rules see them (an item taken in unexpected is not one)."""
    return [verification.Line(ln.id, ln.sku, ln.name, ln.qty) for ln in d.lines if ln.qty > 0]


def _case(d: Delivery, sscc: str) -> ReceiveView:
    mine = [ln for ln in d.lines if ln.sscc == sscc]
    if not mine:
        return _view(
            d,
            "case_unknown",
            f"Case {sscc} is not in delivery {d.number}: open it and scan the items one by one.",
        )
    if any(ln.received for ln in mine):
        return _view(d, "case_again", f"Case {sscc} is already received: put it aside.", mine[0].id)
    for ln in mine:
        ln.received = ln.qty
    units = sum((ln.qty for ln in mine), Decimal(0))
    words = ", ".join(f"{ln.name} {_qty(ln.qty)}" for ln in mine)
    return _view(d, "case", f"Case {sscc} received whole: {words} ({_qty(units)} items).", mine[-1].id)


def scan(session: Session, actor: Actor, delivery_id: str, code: barcodes.ScanResult | str) -> ReceiveView:
    """Count one scan against the delivery: a case SSCC receives its contents, an item counts through the
    verification rules. A refused scan writes nothing; `refused` says what `take_in` would take."""
    d = _open(session, delivery_id)
    result = catalog.read_scan(session, code)
    if isinstance(result, barcodes.Sscc) or (
        isinstance(result, barcodes.Gs1) and result.sscc and not result.gtin14
    ):
        sscc = result.sscc
        assert sscc is not None
        return _case(d, sscc)
    found = catalog.find_scan(session, result)
    if found.needs_weight:
        raise UserError(f"{found.product.name} is weighed: scan its scale label, which carries the weight.")
    units = found.qty  # a case code counts its pack, a scale label its weight
    scanned = {ln.id: ln.received for ln in d.lines}
    outcome = verification.apply_scan(_rule_lines(d), scanned, found.product.sku, units)
    if not outcome.accepted:
        refused = Refused(found.product.sku, found.product.name, units, outcome.verdict.value)
        hint = " Take it in anyway (F6) to keep it as a difference."
        return _view(d, outcome.verdict.value, outcome.message + hint, outcome.line_id, refused)
    for ln in d.lines:
        ln.received = outcome.scanned.get(ln.id, ln.received)
    return _view(d, outcome.verdict.value, outcome.message, outcome.line_id)


def take_in(
    session: Session, actor: Actor, delivery_id: str, sku: str, units: Decimal, reason: str = ""
) -> ReceiveView:
    """Take in what the rules refused (an item the delivery does not name, one more than it says): it is
    received, kept as a difference, and in the audit trail."""
    d = _open(session, delivery_id)
    if units <= 0:
        raise UserError("Nothing to take in.")
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise UserError(f"{sku} is not in the catalog: it cannot be taken in.")
    mine = [ln for ln in d.lines if ln.sku == sku]
    if mine:
        line = mine[-1]
        line.received += units
        kind = "over"
    else:
        line = DeliveryLine(
            id=new_id(),
            line_no=max((ln.line_no for ln in d.lines), default=0) + 1,
            sku=sku,
            product_id=product.id,
            name=product.name,
            qty=Decimal(0),
            received=units,
        )
        d.lines.append(line)
        kind = "unexpected"
    session.flush()
    audit.record(
        session,
        actor.user_id,
        "delivery.take_in",
        "delivery",
        d.id,
        {"number": d.number, "sku": sku, "qty": str(units), "kind": kind, "reason": reason.strip()},
    )
    words = "not in the delivery" if kind == "unexpected" else "more than the delivery says"
    return _view(d, kind, f"{product.name}: {_qty(units)} taken in, {words}; kept as a difference.", line.id)


def restart(session: Session, actor: Actor, delivery_id: str, reason: str) -> ReceiveView:
    """Count the delivery again from nothing (a mix-up): items taken in unexpected are dropped too."""
    d = _open(session, delivery_id)
    if not reason.strip():
        raise UserError("Say why the delivery is counted again.")
    for ln in list(d.lines):
        if ln.qty == 0:
            d.lines.remove(ln)
        else:
            ln.received = Decimal(0)
    audit.record(session, actor.user_id, "delivery.recount", "delivery", d.id, {"reason": reason.strip()})
    return _view(d)


# ---------------------------------------------------------------- closing


def close(session: Session, actor: Actor, delivery_id: str, into: str, note: str = "") -> Closed:
    """Close the receipt: one `receipt` movement per product received into `into` (backroom or floor), and one
    `delivery.received` event with what was received and the differences. Short lines need a note."""
    d = _open(session, delivery_id)
    approval = staff.require(session, actor, Permission.STOCK_ADJUST, f"receive delivery {d.number}")
    if into not in RECEIVE_INTO:
        raise UserError("Receive into the backroom or the floor.")
    location = stock.location(session, into)
    received: dict[str, Decimal] = {}
    wanted: dict[str, Decimal] = {}
    for ln in d.lines:
        received[ln.sku] = received.get(ln.sku, Decimal(0)) + ln.received
        wanted[ln.sku] = wanted.get(ln.sku, Decimal(0)) + ln.qty
    # By SKU now: a delivery may have reached this till before its products did.
    product_of: dict[str, str] = {
        sku: pid
        for sku, pid in session.execute(select(Product.sku, Product.id).where(Product.sku.in_(received)))
    }
    if not any(received.values()):
        raise UserError(f"Nothing of delivery {d.number} is received yet: scan its cases or items first.")
    missing = [sku for sku, q in received.items() if q and sku not in product_of]
    if missing:
        raise UserError(f"{', '.join(missing)} is not in this till's catalog: sync, then close again.")
    differences = [
        {
            "sku": sku,
            "expected": str(wanted[sku]),
            "received": str(received[sku]),
            "kind": "unexpected" if wanted[sku] == 0 else "over" if received[sku] > wanted[sku] else "short",
        }
        for sku in sorted(received)
        if received[sku] != wanted[sku]
    ]
    if any(x["kind"] == "short" for x in differences) and not note.strip():
        raise UserError("Some lines are short: say why (not delivered, damaged) to close with them short.")
    rows = stock.record_movements(
        session,
        [
            stock.MovementIn(product_of[sku], location.id, qty, "receipt")
            for sku, qty in sorted(received.items())
            if qty
        ],
        "delivery",
        d.id,
        actor.user_id,
    )
    outbox.emit(
        session,
        "delivery.received",
        {
            "delivery_id": d.id,
            "number": d.number,
            "location": into,
            "lines": [
                {"sku": sku, "expected": str(wanted[sku]), "received": str(received[sku])}
                for sku in sorted(received)
            ],
            "movements": stock.movement_payload(session, rows),
            "note": note.strip()[:500],
            "store": here(session).store_code,
        },
    )
    d.status = "received"
    d.location_code = into
    d.closed_at = utcnow()
    audit.record(
        session,
        actor.user_id,
        "delivery.received",
        "delivery",
        d.id,
        {
            "number": d.number,
            "into": into,
            "differences": differences,
            "note": note.strip(),
            "approval": approval,
        },
    )
    return Closed(d.number, into, sum(received.values(), Decimal(0)), differences)


# ---------------------------------------------------------------- transfers out


@dataclass(frozen=True)
class Picked:
    product_id: str
    sku: str
    name: str
    qty: Decimal


def pick(session: Session, code: barcodes.ScanResult | str) -> Picked:
    """What one scan puts on a transfer (a case code its pack)."""
    found = catalog.find_scan(session, catalog.read_scan(session, code))
    if found.product.weighed and found.needs_weight:
        raise UserError(f"{found.product.name} is weighed: scan its scale label.")
    return Picked(found.product.id, found.product.sku, found.product.name, found.qty)


@dataclass(frozen=True)
class Sent:
    transfer_id: str
    number: str
    to_store: str
    units: Decimal


def transfer_out(
    session: Session,
    actor: Actor,
    to_store: str,
    items: Sequence[tuple[str, Decimal]],
    from_location: str = "floor",
    note: str = "",
) -> Sent:
    """Send goods to another store (or back to the warehouse, a store of its own at the central): `transfer`
    movements out of `from_location` here, and one `transfer.sent` event; the other store receives them as an
    expected delivery."""
    h = here(session)
    target = to_store.strip().upper()
    if not target:
        raise UserError("Say which store the goods go to (its code).")
    if target == h.store_code.upper():
        raise UserError("The goods are already in this store: send them to another one.")
    totals: dict[str, Decimal] = {}
    for product_id, qty in items:
        if qty <= 0:
            raise UserError("Each item sent needs a quantity above 0.")
        totals[product_id] = totals.get(product_id, Decimal(0)) + qty
    if not totals:
        raise UserError("Scan the goods to send first.")
    approval = staff.require(session, actor, Permission.STOCK_ADJUST, f"transfer to {target}")
    location = stock.location(session, from_location)
    transfer_id = new_id()
    number = f"TR-{numbers.next_number(session, 'transfer')}"
    rows = stock.record_movements(
        session,
        [stock.MovementIn(pid, location.id, -qty, "transfer") for pid, qty in sorted(totals.items())],
        "transfer",
        transfer_id,
        actor.user_id,
    )
    outbox.emit(
        session,
        "transfer.sent",
        {
            "transfer_id": transfer_id,
            "number": number,
            "to_store": target,
            "movements": stock.movement_payload(session, rows),
            "note": note.strip()[:500],
            "store": h.store_code,
        },
    )
    units = sum(totals.values(), Decimal(0))
    audit.record(
        session,
        actor.user_id,
        "stock.transfer_out",
        "transfer",
        transfer_id,
        {"number": number, "to": target, "from": from_location, "units": str(units), "approval": approval},
    )
    return Sent(transfer_id, number, target, units)


def _qty(q: Decimal) -> str:
    return str(q.normalize()) if q == q.to_integral_value() else str(q)
