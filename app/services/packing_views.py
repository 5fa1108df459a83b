"""What the Pack bench reads: its plain views (the order at the bench, its boxes, the queue, the parcels and
shipments, the bench's figures) and the read-only queries that answer them.

The bench's actions (boxes, scans, confirming by hand, packing, shipping) are in `app.services.packing`, which
re-exports everything here: callers import `packing` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db.models import Order, OrderLine, PackBox, PackBoxItem, PackFigures, Product
from app.domain import barcodes, lifecycle, prefixes
from app.services import catalog, settings, verification
from app.services.base import UserError

CAPTURE_FIELDS = ("lot", "expiry", "serial")
DEFAULT_PACKAGE_TYPES = ("small_box", "medium_box", "large_box", "envelope")  # as the carrier names them


@dataclass(frozen=True)
class Capture:
    """A unit's lot, expiry and serial number, from the scan's GS1 data or typed by the packer."""

    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None

    def merged(self, other: Capture) -> Capture:
        return Capture(self.lot or other.lot, self.expiry or other.expiry, self.serial or other.serial)

    def given(self) -> set[str]:
        return {name for name in CAPTURE_FIELDS if getattr(self, name)}


@dataclass(frozen=True)
class ItemView:
    sku: str
    name: str
    qty: Decimal
    lot: str | None
    expiry: date | None
    serial: str | None
    by_hand: bool


@dataclass(frozen=True)
class BoxView:
    id: str
    box_no: int
    package_type: str
    sscc: str
    weight_kg: Decimal | None
    tracking: str | None
    items: list[ItemView]

    @property
    def units(self) -> Decimal:
        return sum((i.qty for i in self.items), Decimal(0))


@dataclass(frozen=True)
class BenchView:
    """The order at the bench: its lines' progress (the verification engine's view), its boxes (the last is the one
    being filled), and what the last scan did: `refused` with `message`, or `needs` (lot, expiry, serial) for the
    line `needs_line`, when nothing was counted until they are given."""

    order: verification.VerifyView
    boxes: list[BoxView]
    ship_to: str = ""
    refused: bool = False
    message: str = ""
    needs: tuple[str, ...] = ()
    needs_line: str | None = None
    needs_code: str | None = None  # the scan to send again with the capture
    label_job: str | None = None  # the SSCC label queued when a box was started here
    line_needs: dict[str, tuple[str, ...]] = field(default_factory=dict)  # line id -> lot, expiry, serial

    @property
    def box(self) -> BoxView | None:
        return self.boxes[-1] if self.boxes else None

    @property
    def left(self) -> Decimal:
        return sum((max(Decimal(0), ln.qty - ln.scanned) for ln in self.order.lines), Decimal(0))


@dataclass(frozen=True)
class QueuedOrder:
    order_id: str
    number: str
    customer: str
    status: str
    lines: int
    units: Decimal
    created_at: datetime


@dataclass(frozen=True)
class Parcel:
    """One box as the carrier is asked to ship it: its contents as (sku, qty)."""

    box_id: str
    sscc: str
    package_type: str
    weight_kg: Decimal
    lines: list[tuple[str, Decimal]]


@dataclass(frozen=True)
class Shipment:
    """What the carrier answered for one box (through the central store): its label's facts."""

    sscc: str
    tracking: str
    carrier: str = ""
    service: str = ""
    ship_from: tuple[str, ...] = ()
    ship_to: tuple[str, ...] = ()
    label_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Packed:
    """An order packed: what to ask the carrier for (one parcel per box)."""

    order_id: str
    number: str
    parcels: list[Parcel]
    ship_to: str


@dataclass(frozen=True)
class Shipped:
    order_id: str
    number: str
    tracking: list[str]
    jobs: list[str] = field(default_factory=list)  # the shipping labels and packing slips queued


@dataclass(frozen=True)
class BenchFigures:
    """What Reports shows of the bench over a period."""

    orders: int
    seconds_per_order: Decimal | None
    scans: int
    scans_per_minute: Decimal | None
    errors: int
    approvals: int


# ---------------------------------------------------------------- reading


def _order(session: Session, order_id: str) -> Order:
    order = session.get(Order, order_id)
    if order is None or order.channel != "web" or order.fulfilment != "ship":
        raise UserError("No such order to ship on this terminal: sync, then scan its number again.")
    return order


def _boxes(session: Session, order_id: str) -> list[PackBox]:
    return list(session.scalars(select(PackBox).where(PackBox.order_id == order_id).order_by(PackBox.box_no)))


def _box_views(session: Session, order: Order) -> list[BoxView]:
    """The order's boxes with what is in them: units of one line with the same lot, expiry and serial summed (read
    as plain rows, not one object per scan: a 200-unit order answered every scan in time that grew with it)."""
    names = {ln.id: ln.name for ln in order.lines}
    items: dict[str, list[ItemView]] = {}
    rows = session.execute(
        select(
            PackBoxItem.box_id,
            PackBoxItem.line_id,
            PackBoxItem.sku,
            func.sum(PackBoxItem.qty),
            PackBoxItem.lot,
            PackBoxItem.expiry,
            PackBoxItem.serial,
            PackBoxItem.by_hand,
        )
        .join(PackBox, PackBox.id == PackBoxItem.box_id)
        .where(PackBox.order_id == order.id)
        .group_by(
            PackBoxItem.box_id,
            PackBoxItem.line_id,
            PackBoxItem.sku,
            PackBoxItem.lot,
            PackBoxItem.expiry,
            PackBoxItem.serial,
            PackBoxItem.by_hand,
        )
        .order_by(func.min(PackBoxItem.seq))
    ).all()
    for box_id, line_id, sku, qty, lot, expiry, serial, by_hand in rows:
        items.setdefault(box_id, []).append(
            ItemView(sku, names.get(line_id, sku), Decimal(qty), lot, expiry, serial, bool(by_hand))
        )
    boxes = session.execute(
        select(
            PackBox.id,
            PackBox.box_no,
            PackBox.package_type,
            PackBox.sscc,
            PackBox.weight_kg,
            PackBox.tracking,
        )
        .where(PackBox.order_id == order.id)
        .order_by(PackBox.box_no)
    ).all()
    return [BoxView(i, n, t, c, w, tr, items.get(i, [])) for i, n, t, c, w, tr in boxes]


def _ship_to(order: Order) -> str:
    ext = order.external if isinstance(order.external, dict) else {}
    customer = ext.get("customer") if isinstance(ext.get("customer"), dict) else {}
    address = ext.get("ship_to") or ext.get("address") or (customer or {}).get("address") or ""
    return str(address) if isinstance(address, str) else ""


def _view(
    session: Session, order: Order, verified: verification.VerifyView | None = None, **what: Any
) -> BenchView:
    """The bench's view; `verified` is the engine's answer to the last scan (its verdict and the line it counted)."""
    boxes = _box_views(session, order)
    progress = verified or verification.progress(session, order.id)
    needs: dict[str, tuple[str, ...]] = {}
    if settings.get(session, "pack.capture"):
        departments = dict(
            session.execute(
                select(Product.id, Product.department).where(
                    Product.id.in_({ln.product_id for ln in order.lines if ln.product_id})
                )
            ).all()
        )
        for ln in order.lines:
            wanted = needs_capture(session, ln.sku, departments.get(ln.product_id or ""))
            if wanted:
                needs[ln.id] = wanted
    return BenchView(progress, boxes, ship_to=_ship_to(order), line_needs=needs, **what)


def view(session: Session, order_id: str) -> BenchView:
    return _view(session, _order(session, order_id))


def package_types(session: Session) -> list[str]:
    configured = settings.get(session, "pack.package_types")
    if isinstance(configured, list) and configured and all(isinstance(x, str) for x in configured):
        return list(configured)
    return list(DEFAULT_PACKAGE_TYPES)


def queue(session: Session, limit: int = 50) -> list[QueuedOrder]:
    """The bench's queue: open ship orders at this store not packed yet, oldest first."""
    rows = session.execute(
        select(
            Order.id,
            Order.number,
            Order.customer_name,
            Order.status,
            func.count(OrderLine.id),
            func.coalesce(func.sum(OrderLine.qty), 0),
            Order.created_at,
        )
        .join(OrderLine, OrderLine.order_id == Order.id)
        .where(
            Order.channel == "web",
            Order.fulfilment == "ship",
            Order.status.in_([str(lifecycle.OrderState.NEW), str(lifecycle.OrderState.PICKING)]),
            OrderLine.voided.is_(False),
        )
        .group_by(Order.id)
        .order_by(Order.created_at, Order.number)
        .limit(limit)
    ).all()
    return [QueuedOrder(i, n, c or "", s, int(k), Decimal(q), at) for i, n, c, s, k, q, at in rows]


def needs_capture(session: Session, sku: str, department: str | None) -> tuple[str, ...]:
    """What a unit of this product must be packed with (lot, expiry, serial), by the store setting `pack.capture`."""
    rule = settings.get(session, "pack.capture")
    if not isinstance(rule, dict) or not rule:
        return ()
    wanted: set[str] = set()
    for key in (sku, department):
        value = rule.get(key) if key else None
        if isinstance(value, list):
            wanted |= {str(v) for v in value if v in CAPTURE_FIELDS}
    return tuple(f for f in CAPTURE_FIELDS if f in wanted)


# ---------------------------------------------------------------- starting


def find(session: Session, code: barcodes.ScanResult | str) -> BenchView:
    """The order a scanned (or typed) order number names, ready at the bench."""
    result = catalog.read_scan(session, code)
    if isinstance(result, barcodes.InternalCode) and result.internal_kind == "order":
        number = prefixes.ORDER + result.value
    else:
        number = prefixes.ORDER + prefixes.without(prefixes.ORDER, result.raw)
    order = session.scalar(select(Order).where(Order.number == number, Order.channel == "web"))
    if order is None:
        raise UserError(f"No web order {number} on this terminal: sync, then scan it again.")
    if order.fulfilment != "ship":
        raise UserError(f"Order {number} is for {order.fulfilment}, not shipping: take it to Pickup.")
    if order.status == lifecycle.OrderState.PACKED:
        return _view(session, order, message=f"Order {number} is packed: ship it (F10).")
    if not lifecycle.is_open(order.status):
        raise UserError(f"Order {number} is {lifecycle.words(order.status)}: there is nothing to pack.")
    return _view(session, order)


def next_in_queue(session: Session) -> BenchView:
    waiting = queue(session, limit=1)
    if not waiting:
        raise UserError("No orders waiting to be packed.")
    return _view(session, _order(session, waiting[0].order_id))


def words(package_type: str) -> str:
    """A package type as a person reads it ("medium_box" -> "Medium box")."""
    return package_type.replace("_", " ").replace("-", " ").capitalize()


# ---------------------------------------------------------------- figures


def figures(session: Session, since: datetime | None = None, until: datetime | None = None) -> BenchFigures:
    """The bench over a period (orders packed in it): orders, average time per order from the first box to packed,
    scans per minute of that time, errors caught and approvals used."""
    q = select(PackFigures).where(PackFigures.packed_at.is_not(None))
    if since is not None:
        q = q.where(PackFigures.packed_at >= since)
    if until is not None:
        q = q.where(PackFigures.packed_at < until)
    rows = list(session.scalars(q))
    seconds = sum(
        (Decimal(str((r.packed_at - r.started_at).total_seconds())) for r in rows if r.packed_at), Decimal(0)
    )
    scans = sum(r.scans for r in rows)
    return BenchFigures(
        orders=len(rows),
        seconds_per_order=(seconds / len(rows)).quantize(Decimal("0.1")) if rows else None,
        scans=scans,
        scans_per_minute=(Decimal(scans) * 60 / seconds).quantize(Decimal("0.1")) if seconds > 0 else None,
        errors=sum(r.errors for r in rows),
        approvals=sum(r.approvals for r in rows),
    )
