"""The Pack bench: a shipped web order is scanned unit by unit into its boxes, weighed, packed and shipped.

Counting is the shared verification engine's (`app.services.verification.scan`): this module adds what the bench
needs around it, each call one transaction:

- **start**: the order by its scanned number (pick list or slip), or the next of the bench's queue (ship orders at
  this store, oldest first);
- **boxes**: a box is started with its package type and gets an SSCC made here (its label is queued at once), or
  takes a pre-printed SSCC that was scanned (AI 00). Every unit a scan counts goes into the box being filled, with
  its lot, expiry and serial number when the product needs them (`needs_capture`): taken from the scan's GS1 data,
  or the scan is answered with what is missing and nothing is counted until it is given;
- **no silent bypass**: a unit whose barcode will not read is confirmed by hand only with a second person's
  approval (`Permission.PACK_BY_HAND`, never the packer's own role) and a reason, one line at a time, in the audit
  trail;
- **weight** per box; **packed** once every line is scanned and every box weighed; **shipped** with the carrier's
  tracking numbers (one per box): the stock leaves the packing location and the change goes to the central store
  through `verification.move`, with the movements and the tracking numbers;
- **figures** per order (time, scans, errors caught, approvals used) for Reports: `figures`.

Which products need a lot, expiry or serial number is the store setting `pack.capture`: a mapping from a SKU or a
department code to the list of what it needs, e.g. ``{"pharmacy": ["lot", "expiry"], "TV-55": ["serial"]}``.

The bench's plain views and read-only queries (view, find, queue, figures, ...) live in
`app.services.packing_views`; this module re-exports them, so callers import `packing` only.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Approval, Order, OrderLine, PackBox, PackBoxItem, PackFigures
from app.documents import labels
from app.documents.model import Barcode, Document, Text
from app.domain import barcodes, lifecycle
from app.domain.permissions import Permission
from app.services import audit, catalog, numbers, printing, settings, staff, stock, verification
from app.services.base import Actor, PermissionDenied, UserError, here, now
from app.services.packing_views import (
    CAPTURE_FIELDS,
    DEFAULT_PACKAGE_TYPES,
    BenchFigures,
    BenchView,
    BoxView,
    Capture,
    ItemView,
    Packed,
    Parcel,
    QueuedOrder,
    Shipment,
    Shipped,
    _boxes,
    _order,
    _ship_to,
    _view,
    figures,
    find,
    needs_capture,
    next_in_queue,
    package_types,
    queue,
    view,
    words,
)

__all__ = [
    # the bench's views and read-only queries (app.services.packing_views)
    "CAPTURE_FIELDS",
    "DEFAULT_PACKAGE_TYPES",
    "BenchFigures",
    "BenchView",
    "BoxView",
    "Capture",
    "ItemView",
    "Packed",
    "Parcel",
    "QueuedOrder",
    "Shipment",
    "Shipped",
    "figures",
    "find",
    "needs_capture",
    "next_in_queue",
    "package_types",
    "queue",
    "view",
    "words",
    # the bench's actions (here)
    "DEFAULT_SSCC_PREFIX",
    "MAX_BOX_KG",
    "confirm_by_hand",
    "pack",
    "scan",
    "set_weight",
    "ship",
    "start_box",
]

DEFAULT_SSCC_PREFIX = "0614141"  # GS1's example company prefix; a store sets its own in `pack.sscc_prefix`
MAX_BOX_KG = Decimal("70")


def _figures(session: Session, actor: Actor, order_id: str) -> PackFigures:
    row = session.get(PackFigures, order_id)
    if row is None:
        row = PackFigures(
            order_id=order_id, user_id=actor.user_id, started_at=now(), scans=0, errors=0, approvals=0
        )
        session.add(row)
    return row


# ---------------------------------------------------------------- boxes


def _next_sscc(session: Session) -> str:
    prefix = str(settings.get(session, "pack.sscc_prefix") or DEFAULT_SSCC_PREFIX)
    serial = int(numbers.next_number(session, "sscc", width=9).rsplit("-", 1)[-1])
    # The terminal's number goes into the serial reference, so two benches never make the same SSCC.
    terminal = here(session).terminal_code
    room = 16 - len(prefix)
    term = int(terminal) if terminal.isdigit() else sum(map(ord, terminal))
    return labels.make_sscc(prefix, (term % 100) * 10 ** (room - 2) + serial % 10 ** (room - 2))


def _sscc_label(order: Order, box: PackBox) -> Document:
    return Document(
        kind="label",
        width_chars=labels.SHIPPING_LABEL_WIDTH,
        blocks=[
            Text(f"Order {order.number}", bold=True),
            Text(f"Box {box.box_no} - {words(box.package_type)}"),
            Text("SSCC", bold=True),
            Barcode(labels.sscc_element_string(box.sscc), "gs1_128"),
        ],
    )


def start_box(
    session: Session, actor: Actor, order_id: str, package_type: str, sscc: str | None = None
) -> BenchView:
    """Start the next box of the order: with a pre-printed SSCC that was scanned, or one made here whose label is
    queued at once (it goes on the box before anything goes in)."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"pack order {order.number}")
    if not lifecycle.is_open(order.status) or order.status == lifecycle.OrderState.PACKED:
        raise UserError(f"Order {order.number} is {lifecycle.words(order.status)}: no more boxes.")
    if package_type not in package_types(session):
        raise UserError("Choose the package type from the list.")
    boxes = _boxes(session, order_id)
    if boxes and not boxes[-1].items:
        raise UserError(f"Box {boxes[-1].box_no} is still empty: fill it before starting another.")
    if sscc is not None:
        try:
            labels.sscc_element_string(sscc)
        except ValueError:
            raise UserError(f"SSCC {sscc} does not check: scan the label again.") from None
        if session.scalar(select(PackBox.id).where(PackBox.sscc == sscc)) is not None:
            raise UserError(f"SSCC {sscc} is already on another box: use a new label.")
    box = PackBox(
        order_id=order.id,
        box_no=len(boxes) + 1,
        package_type=package_type,
        sscc=sscc or _next_sscc(session),
        sscc_scanned=sscc is not None,
        created_at=now(),
    )
    session.add(box)
    session.flush()
    _figures(session, actor, order.id)
    job = None
    if sscc is None:
        doc = _sscc_label(order, box).to_json()
        job = printing.enqueue(
            session, "label", doc, f"SSCC {order.number} box {box.box_no}", order.id, "label"
        )
    audit.record(
        session,
        actor.user_id,
        "pack.box_started",
        "order",
        order.id,
        {"box": box.box_no, "sscc": box.sscc, "package": box.package_type, "scanned": sscc is not None},
    )
    return _view(session, order, label_job=job)


def set_weight(session: Session, actor: Actor, order_id: str, box_id: str, kg: Decimal) -> BenchView:
    """A box's weight, typed or read from the scale."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"pack order {order.number}")
    box = session.get(PackBox, box_id)
    if box is None or box.order_id != order.id:
        raise UserError("That box is not of this order.")
    if box.tracking:
        raise UserError(f"Box {box.box_no} has shipped: its weight stays as labelled.")
    try:
        kg = Decimal(kg)
    except (InvalidOperation, TypeError):
        raise UserError("Enter the weight in kg, e.g. 1.250.") from None
    if not kg.is_finite() or kg <= 0 or kg > MAX_BOX_KG:
        raise UserError(f"A box weighs more than 0 and at most {MAX_BOX_KG} kg: weigh it again.")
    box.weight_kg = kg.quantize(Decimal("0.001"))
    return _view(session, order)


# ---------------------------------------------------------------- scanning


def _other_order(session: Session, order: Order, sku: str) -> str | None:
    """The number of another open ship order of this store that wants `sku`, if any (an item from the next tote)."""
    return session.scalar(
        select(Order.number)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.id != order.id,
            Order.channel == "web",
            Order.fulfilment == "ship",
            Order.status.in_([str(s) for s in lifecycle.OPEN_STATES]),
            OrderLine.sku == sku,
            OrderLine.voided.is_(False),
        )
        .order_by(Order.created_at)
        .limit(1)
    )


def _refused(session: Session, actor: Actor, order: Order, message: str) -> BenchView:
    fig = _figures(session, actor, order.id)
    fig.scans += 1
    fig.errors += 1
    return _view(session, order, refused=True, message=message)


def _serial_taken(session: Session, order: Order, serial: str) -> bool:
    return (
        session.scalar(
            select(PackBoxItem.seq)
            .join(PackBox, PackBox.id == PackBoxItem.box_id)
            .where(PackBox.order_id == order.id, PackBoxItem.serial == serial)
            .limit(1)
        )
        is not None
    )


def scan(
    session: Session,
    actor: Actor,
    order_id: str,
    code: barcodes.ScanResult | str,
    capture: Capture | None = None,
) -> BenchView:
    """Count one scanned unit (or case) into the box being filled. A wrong item, an over-scan or an item of another
    order is refused (`refused`, counted in the bench's errors); a unit that needs a lot, expiry or serial number the
    scan did not carry comes back with `needs` and is counted once they are given (`capture`)."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"pack order {order.number}")
    if order.status == lifecycle.OrderState.PACKED:
        raise UserError(f"Order {order.number} is packed: ship it (F10), nothing more goes in.")
    boxes = _boxes(session, order.id)
    if not boxes:
        raise UserError("Start a box first (F3): choose its package type, or scan a pre-printed SSCC label.")
    box = boxes[-1]
    result = catalog.read_scan(session, code)
    found = catalog.find_scan(session, result)
    sku = found.product.sku
    before = {ln.id: ln.scanned_qty for ln in order.lines}
    mine = [ln for ln in order.lines if ln.sku == sku and not ln.voided]
    if not mine:
        other = _other_order(session, order, sku)
        if other:
            return _refused(
                session,
                actor,
                order,
                f"{found.product.name} belongs to order {other}, not {order.number}: put it back with its order.",
            )
    open_lines = [ln for ln in mine if ln.scanned_qty < ln.qty or (ln.unit == "kg" and not ln.scanned_qty)]
    got = Capture(
        result.lot if isinstance(result, barcodes.Gs1) else None,
        result.expiry if isinstance(result, barcodes.Gs1) else None,
        result.serial if isinstance(result, barcodes.Gs1) else None,
    ).merged(capture or Capture())
    wanted = needs_capture(session, sku, found.product.department)
    if open_lines and wanted:
        missing = tuple(f for f in wanted if f not in got.given())
        if missing:
            return _view(
                session,
                order,
                needs=missing,
                needs_line=open_lines[0].id,
                needs_code=result.raw,
                message=f"{found.product.name}: enter its {', '.join(missing)}.",
            )
        if got.serial and _serial_taken(session, order, got.serial):
            return _refused(
                session,
                actor,
                order,
                f"{found.product.name} serial {got.serial} is already packed: this is the same unit again.",
            )
        if got.expiry and got.expiry < now().date():
            return _refused(
                session,
                actor,
                order,
                f"{found.product.name} expired on {got.expiry.isoformat()}: take one with a later date.",
            )
    outcome = verification.scan(session, actor, order.id, result)
    fig = _figures(session, actor, order.id)
    fig.scans += 1
    if outcome.verdict not in ("counted", "line_done", "order_done"):
        fig.errors += 1
        return _view(session, order, outcome, refused=True, message=outcome.message)
    _put(session, box, before, outcome, got)
    return _view(session, order, outcome, message=outcome.message)


def _put(
    session: Session,
    box: PackBox,
    was: dict[str, Decimal],
    after: verification.VerifyView,
    capture: Capture,
    by_hand: bool = False,
    approval_id: str | None = None,
    reason: str | None = None,
) -> None:
    """What the scan added to each line goes into the box (a case may fill two lines of one product)."""
    for ln in after.lines:
        added = ln.scanned - was.get(ln.line_id, Decimal(0))
        if added > 0:
            session.add(
                PackBoxItem(
                    box_id=box.id,
                    line_id=ln.line_id,
                    sku=ln.sku,
                    qty=added,
                    lot=(capture.lot or "")[:20] or None,
                    expiry=capture.expiry,
                    serial=(capture.serial or "")[:20] or None,
                    by_hand=by_hand,
                    approval_id=approval_id,
                    reason=reason,
                    created_at=now(),
                )
            )
    session.flush()


def _second_person(session: Session, actor: Actor, what: str) -> str:
    """A valid approval for PACK_BY_HAND that another person gave this user, used up now (and audited);
    PermissionDenied asks for one. The packer's own role never stands in for it, whatever the role: a second person
    must see the item."""
    appr = session.get(Approval, actor.approval_id) if actor.approval_id else None
    valid = int(settings.get(session, "approval.valid_minutes"))
    if (
        appr is None
        or appr.permission != Permission.PACK_BY_HAND
        or appr.requested_by != actor.user_id
        or appr.approved_by == actor.user_id
        or appr.used_at is not None
        or (now() - appr.created_at).total_seconds() > valid * 60
    ):
        raise PermissionDenied(
            str(Permission.PACK_BY_HAND), f"A second person must approve: confirm by hand ({what})."
        )
    appr.used_at = now()
    appr.used_for = what[:200]
    audit.record(
        session,
        actor.user_id,
        "approval.used",
        "approval",
        appr.id,
        {"permission": str(Permission.PACK_BY_HAND), "approved_by": appr.approved_by, "for": what},
    )
    return appr.id


def confirm_by_hand(
    session: Session,
    actor: Actor,
    order_id: str,
    line_id: str,
    reason: str,
    capture: Capture | None = None,
) -> BenchView:
    """One unit of `line_id` whose barcode will not read, counted into the box being filled: only with a second
    person's approval and a reason, written to the audit trail. One unit, one line, one approval."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"pack order {order.number}")
    if not reason.strip():
        raise UserError("Say why the item cannot be scanned (e.g. label torn).")
    line = next((ln for ln in order.lines if ln.id == line_id and not ln.voided), None)
    if line is None:
        raise UserError("Choose the line of the item first (Up/Down).")
    boxes = _boxes(session, order.id)
    if not boxes:
        raise UserError("Start a box first (F3): choose its package type, or scan a pre-printed SSCC label.")
    before = verification.progress(session, order.id)
    progress = next(ln for ln in before.lines if ln.line_id == line_id)
    was = {ln.line_id: ln.scanned for ln in before.lines}
    if progress.done:
        raise UserError(f"{line.name}: every one is already packed.")
    product = catalog.get(session, line.product_id) if line.product_id else None
    wanted = needs_capture(session, line.sku, product.department if product else None)
    got = capture or Capture()
    missing = tuple(f for f in wanted if f not in got.given())
    if missing:
        raise UserError(f"{line.name}: enter its {', '.join(missing)} from the item's label.")
    what = f"{line.sku} {line.name}, order {order.number}: {reason.strip()}"
    approval_id = _second_person(session, actor, what)
    # One unit (one piece; a weighed line counts whole), counted as a scan of it would be.
    units = line.qty if line.unit == "kg" else Decimal(1)
    line.scanned_qty = (line.scanned_qty or Decimal(0)) + units
    if order.status == lifecycle.OrderState.NEW:
        verification.move(session, order, lifecycle.OrderState.PICKING)
    after = verification.progress(session, order.id)
    _put(session, boxes[-1], was, after, got, True, approval_id, reason.strip()[:200])
    fig = _figures(session, actor, order.id)
    fig.approvals += 1
    audit.record(
        session,
        actor.user_id,
        "pack.by_hand",
        "order",
        order.id,
        {"line": line.id, "sku": line.sku, "reason": reason.strip(), "approval": approval_id},
    )
    return _view(session, order, message=f"{line.name}: confirmed by hand, approved.")


# ---------------------------------------------------------------- done


def pack(session: Session, actor: Actor, order_id: str) -> Packed:
    """Every line scanned and every box weighed: the order is packed (the central store hears it)."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"pack order {order.number}")
    boxes = _boxes(session, order.id)
    if order.status != lifecycle.OrderState.PACKED:
        progress = verification.progress(session, order.id)
        if not progress.complete:
            left = sum((max(Decimal(0), ln.qty - ln.scanned) for ln in progress.lines), Decimal(0))
            raise UserError(
                f"{left.normalize():f} still to scan: every unit is scanned before the order is packed."
            )
        if not boxes:
            raise UserError("Start a box first (F3).")
        empty = [b.box_no for b in boxes if not b.items]
        if empty:
            raise UserError(f"Box {empty[0]} is empty: scan items into it or leave it out.")
        unweighed = [b.box_no for b in boxes if b.weight_kg is None]
        if unweighed:
            raise UserError(f"Weigh box {unweighed[0]} (F4) before the order is packed.")
        fig = _figures(session, actor, order.id)
        fig.packed_at = now()
        # The bench's figures travel with the change: the central's pack figures are the bench's own.
        facts = {
            "started_at": fig.started_at.isoformat(),
            "packed_at": fig.packed_at.isoformat(),
            "scans": fig.scans,
            "errors": fig.errors,
            "approvals": fig.approvals,
        }
        verification.move(session, order, lifecycle.OrderState.PACKED, {"pack": facts})
        audit.record(
            session, actor.user_id, "order.packed", "order", order.id, {"boxes": [b.sscc for b in boxes]}
        )
    return Packed(
        order.id,
        order.number,
        [Parcel(b.id, b.sscc, b.package_type, b.weight_kg or Decimal(0), _contents(b)) for b in boxes],
        _ship_to(order),
    )


def _contents(box: PackBox) -> list[tuple[str, Decimal]]:
    qty: dict[str, Decimal] = {}
    for item in box.items:
        qty[item.sku] = qty.get(item.sku, Decimal(0)) + item.qty
    return list(qty.items())


def _pack_location(session: Session) -> Any:
    code = settings.get(session, "pack.location")
    return stock.location(session, str(code)) if code else stock.sellable_location(session)


def ship(session: Session, actor: Actor, order_id: str, shipments: list[Shipment]) -> Shipped:
    """The carrier took the order: one shipment (tracking number) per box, matched by SSCC. The stock leaves the
    packing location, the change goes to the central store with the movements and the tracking numbers, and each
    box's shipping label and packing slip are queued."""
    order = _order(session, order_id)
    staff.require(session, actor, Permission.PACK, f"ship order {order.number}")
    if order.status != lifecycle.OrderState.PACKED:
        raise UserError(f"Order {order.number} is {lifecycle.words(order.status)}: pack it first.")
    boxes = _boxes(session, order.id)
    by_sscc = {sh.sscc: sh for sh in shipments if sh.tracking.strip()}
    if sorted(by_sscc) != sorted(b.sscc for b in boxes):
        raise UserError(
            f"The carrier answered for {len(by_sscc)} of {len(boxes)} boxes: the order stays packed; ship it again."
        )
    tracking = [by_sscc[b.sscc].tracking.strip()[:40] for b in boxes]
    for box, number in zip(boxes, tracking, strict=True):
        box.tracking = number
    loc = _pack_location(session)
    rows = stock.record_movements(
        session,
        [
            stock.MovementIn(ln.product_id, loc.id, -ln.qty, "fulfilment")
            for ln in order.lines
            if ln.product_id and not ln.voided
        ],
        "order",
        order.id,
        actor.user_id,
    )
    verification.move(
        session,
        order,
        lifecycle.OrderState.SHIPPED,
        {"movements": stock.movement_payload(session, rows), "tracking": tracking},
    )
    jobs = _documents(session, order, boxes, by_sscc)
    audit.record(
        session,
        actor.user_id,
        "order.shipped",
        "order",
        order.id,
        {"tracking": tracking, "boxes": len(boxes)},
    )
    return Shipped(order.id, order.number, tracking, jobs)


def _address(lines: tuple[str, ...], fallback: labels.Address) -> labels.Address:
    return labels.address_from_lines(lines) if lines and lines[0].strip() else fallback


def _documents(
    session: Session, order: Order, boxes: list[PackBox], by_sscc: dict[str, Shipment]
) -> list[str]:
    h = here(session)
    to_here = labels.address_from_text(order.customer_name or "", _ship_to(order))
    names = {ln.id: (ln.sku, ln.name, ln.unit) for ln in order.lines}
    jobs = []
    for box in boxes:
        sh = by_sscc[box.sscc]
        ship_to = _address(sh.ship_to, to_here)
        label = labels.build_shipping_label(
            labels.ShippingLabelData(
                ship_to=ship_to,
                ship_from=_address(sh.ship_from, labels.Address(h.store_code, ())),
                order_number=order.number,
                sscc=box.sscc,
                tracking_number=sh.tracking,
                carrier=sh.carrier,
                service=sh.service,
                weight_text=labels.weight_text(box.weight_kg) if box.weight_kg else None,
                extra_lines=list(sh.label_lines),
            )
        )
        title = f"{order.number} box {box.box_no} of {len(boxes)}"
        jobs.append(printing.enqueue(session, "label", label.to_json(), f"Label {title}", order.id, "label"))
        qty: dict[str, Decimal] = {}
        for item in box.items:
            qty[item.line_id] = qty.get(item.line_id, Decimal(0)) + item.qty
        slip = labels.build_packing_slip(
            labels.PackingSlipData(
                order_number=order.number,
                order_date=order.created_at.date(),
                ship_to=ship_to,
                lines=[
                    labels.PackingLine(names[lid][0], names[lid][1], q, names[lid][2])
                    for lid, q in qty.items()
                ],
                store_name=h.store_code,
                parcel_text=f"Parcel {box.box_no} of {len(boxes)}",
                locale=h.locale,
            )
        )
        jobs.append(printing.enqueue(session, "packing_slip", slip.to_json(), f"Slip {title}", order.id))
    return jobs
