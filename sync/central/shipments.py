"""Shipments at the central store: the boxes of a ship order handed to a carrier, one tracking number each.

`create_shipments(session, terminal, ident, request, carrier) -> protocol.ShipmentResponse` is what
`POST /v1/orders/{ident}/shipments` runs (the caller owns the transaction):

- the order must be this terminal's store's or hold lines there (a split order: each store ships its own part;
  any other is not even named: 404), a ship order (409), and not final (shipped, cancelled: 409) when a box is new;
- each box is known by its SSCC: a box sent before is answered from the shipments table, with the same tracking
  number, without asking the carrier again (the same SSCC with other contents, or of another order, is 409);
- what the boxes hold is checked against the order: only its skus, never more than this store holds for it, over
  all its boxes so far (422);
- new boxes are numbered per store under the store's row lock (ledger.lock_store), so two tills packing at once
  never get the same serial; the carrier (sync.central.carriers) gives each its tracking number;
- the tracking numbers are added to the order's customer access record, so the "shipped" notice written when the
  order's `order.status` event moves it to shipped lists them all, once.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync import protocol
from sync.central import ledger, order_parts, service
from sync.central.carriers import MAX_TRACKING, Carrier, CarrierError, ShipmentBox, ShipmentOrder
from sync.central.models import Location, OrderAccess, Shipment, Terminal, WebOrder

MAX_LABEL_LINES = 4
MAX_LABEL_LINE = 60


def _ship_to(order: WebOrder) -> tuple[str, ...]:
    customer = order.customer or {}
    address = str(customer.get("address") or "")
    parts = [part.strip() for line in address.splitlines() for part in line.split(",")]
    return (str(customer.get("name") or ""), *[part for part in parts if part])


def _lines_json(lines: list[protocol.ShipmentLine]) -> list[dict[str, str]]:
    return sorted(
        ({"sku": line.sku, "qty": f"{line.qty.normalize():f}"} for line in lines), key=lambda d: d["sku"]
    )


def _info(row: Shipment, order: ShipmentOrder, created: bool) -> protocol.ShipmentInfo:
    return protocol.ShipmentInfo(
        sscc=row.sscc,
        tracking=row.tracking,
        carrier=row.carrier,
        service=row.service,
        weight=row.weight,
        package_type=row.package_type,
        ship_from=list(order.ship_from),
        ship_to=list(order.ship_to),
        label_lines=[str(line) for line in row.label_lines or []],
        created=created,
    )


def _checked_answer(answer: Any, sscc: str) -> None:
    """A carrier's answer fit to store and print, or the box is refused (never a half-made label)."""
    tracking = getattr(answer, "tracking", None)
    if not (
        isinstance(tracking, str)
        and 0 < len(tracking) <= MAX_TRACKING
        and tracking.isascii()
        and tracking.isalnum()
    ):
        raise service.CentralError(f"the carrier gave box {sscc} no usable tracking number")
    if not isinstance(answer.service, str) or len(answer.service) > 64 or len(answer.carrier) > 64:
        raise service.CentralError(f"the carrier's answer for box {sscc} is not one a label can print")
    lines = answer.label_lines
    if len(lines) > MAX_LABEL_LINES or any(len(line) > MAX_LABEL_LINE or "\x00" in line for line in lines):
        raise service.CentralError(f"the carrier's label text for box {sscc} does not fit a label")


def create_shipments(
    session: Session,
    terminal: Terminal,
    ident: str,
    request: protocol.ShipmentRequest,
    carrier: Carrier,
) -> protocol.ShipmentResponse:
    order = service.find_order(session, ident)
    if order.store_id != terminal.store_id and terminal.store_id not in order_parts.stores_of(session, order):
        raise service.NotFound(f"no web order {ident!r}")  # no line of it here: not even named
    if order.fulfilment != "ship":
        raise service.Conflict(f"order {order.number} is a {order.fulfilment} order: nothing to ship")
    # Each store sends its own part (a split order's lines are held at several stores); its boxes are numbered
    # one at a time under its lock.
    store = ledger.lock_store(session, terminal.store_id)
    facts = ShipmentOrder(
        number=order.number,
        store_id=store.id,
        store_code=store.code,
        ship_from=(store.name,),
        ship_to=_ship_to(order),
        email=str((order.customer or {}).get("email") or ""),
        phone=str((order.customer or {}).get("phone") or ""),
    )
    ssccs = [box.sscc for box in request.boxes]
    known = {row.sscc: row for row in session.scalars(select(Shipment).where(Shipment.sscc.in_(ssccs)))}
    new_boxes = []
    for box in request.boxes:
        row = known.get(box.sscc)
        if row is None:
            new_boxes.append(box)
        elif row.order_id != order.id:
            raise service.Conflict(f"box {box.sscc} was shipped with another order")
        elif row.lines != _lines_json(box.lines) or row.weight != box.weight:
            raise service.Conflict(f"box {box.sscc} was shipped before with other contents or weight")
    if new_boxes:
        if order.status in protocol.ORDER_FINAL_STATES:
            raise service.Conflict(f"order {order.number} is already {order.status}")
        _check_contents(session, order, store.id, new_boxes)
    serial = session.scalar(select(func.max(Shipment.serial)).where(Shipment.store_id == store.id)) or 0
    made: dict[str, Shipment] = {}
    for box in new_boxes:
        serial += 1
        try:
            answer = carrier.create_shipment(
                facts,
                ShipmentBox(
                    sscc=box.sscc,
                    weight_kg=box.weight,
                    package_type=box.package_type,
                    lines=tuple((line.sku, line.qty) for line in box.lines),
                    serial=serial,
                ),
            )
        except CarrierError as exc:
            raise service.CentralError(f"box {box.sscc}: {exc}") from exc
        _checked_answer(answer, box.sscc)
        row = Shipment(
            order_id=order.id,
            store_id=store.id,
            terminal_id=terminal.id,
            serial=serial,
            sscc=box.sscc,
            carrier=answer.carrier,
            tracking=answer.tracking,
            service=answer.service,
            weight=box.weight,
            package_type=box.package_type,
            lines=_lines_json(box.lines),
            label_lines=list(answer.label_lines),
        )
        session.add(row)
        made[box.sscc] = row
    if made:
        access = session.get(OrderAccess, order.id)
        if access is not None:
            extra = [row.tracking for row in made.values() if row.tracking not in access.tracking]
            access.tracking = [*access.tracking, *extra]
        try:
            session.flush()
        except IntegrityError as exc:  # the same SSCC sent for another store's order at this very moment
            raise service.Conflict(
                "a box of this request was shipped by another till at the same time"
            ) from exc
    shipments = [
        _info(made[sscc], facts, True) if sscc in made else _info(known[sscc], facts, False) for sscc in ssccs
    ]
    return protocol.ShipmentResponse(order_id=order.id, order_number=order.number, shipments=shipments)


def _check_contents(
    session: Session, order: WebOrder, store_id: int, boxes: list[protocol.ShipmentBoxRequest]
) -> None:
    """Refuse a sku the order does not have here, or more of it than this store holds for the order."""
    held: dict[str, Decimal] = defaultdict(Decimal)
    for order_line in order.lines:
        location = session.get(Location, order_line.location_id)
        if order_line.state == "reserved" and location is not None and location.store_id == store_id:
            held[order_line.sku] += order_line.qty
    shipped: dict[str, Decimal] = defaultdict(Decimal)
    for lines in session.scalars(select(Shipment.lines).where(Shipment.order_id == order.id)):
        for item in lines:
            shipped[str(item["sku"])] += Decimal(str(item["qty"]))
    for box in boxes:
        for line in box.lines:
            if line.sku not in held:
                raise service.CentralError(
                    f"box {box.sscc}: order {order.number} has no {line.sku} to ship here"
                )
            shipped[line.sku] += line.qty
            if shipped[line.sku] > held[line.sku]:
                raise service.CentralError(
                    f"box {box.sscc}: {shipped[line.sku].normalize()} of {line.sku} would be shipped, "
                    f"order {order.number} has {held[line.sku].normalize()}"
                )
