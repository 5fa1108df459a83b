"""Stock adjustments with a reason code: damaged, expired, stolen (stock out) and found (stock in).

Each is one ledger movement of kind `adjustment`, a `stock.movement` event to the central store and an audit entry,
as `app.services.stock.adjust` writes them. Anyone signed in may record one; one worth more than the setting
`stock.adjust_approval_above` at shelf price needs the stock-adjust permission (a manager, or a manager's approval).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.models import Location, Product, StaffUser
from app.domain import barcodes
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, catalog, outbox, settings, staff, stock
from app.services.base import Actor, Changes, UserError

# Reason code -> the sign of the movement it makes.
REASONS: dict[str, int] = {"damaged": -1, "expired": -1, "stolen": -1, "found": 1}


@dataclass(frozen=True)
class Adjusted:
    movement_id: str
    sku: str
    name: str
    location: str
    qty: Decimal  # signed, as posted
    value: Decimal
    reason: str
    approval_id: str | None
    on_hand: Decimal  # at the location afterwards, by this terminal's view
    changes: Changes


@dataclass(frozen=True)
class ItemAt:
    """What a scan found, for the screen to show before the quantity and reason are chosen."""

    product_id: str
    sku: str
    name: str
    unit: str
    price: Decimal
    qty: Decimal  # what the scan stands for (a case's pack, a label's weight)
    needs_weight: bool


def threshold(session: Session) -> Decimal:
    return settings.get_decimal(session, "stock.adjust_approval_above")


def find(session: Session, code: barcodes.ScanResult | str) -> ItemAt:
    found = catalog.find_scan(session, catalog.read_scan(session, code))
    p = found.product
    return ItemAt(p.id, p.sku, p.name, p.unit, p.price, found.qty, found.needs_weight)


def record(
    session: Session,
    actor: Actor,
    product_id: str,
    location_code: str,
    qty: Decimal,
    reason: str,
    note: str = "",
) -> Adjusted:
    """Record `qty` (positive) as damaged, expired, stolen or found at a location."""
    user = session.get(StaffUser, actor.user_id)
    if user is None or not user.active:
        raise UserError("You are signed out: sign in again.")
    if reason not in REASONS:
        raise UserError("Choose a reason: damaged, expired, stolen or found.")
    if qty <= 0:
        raise UserError("Key a quantity above zero.")
    product = session.get(Product, product_id)
    if product is None:
        raise UserError("That product is no longer in the catalog.")
    if not product.weighed and qty != qty.to_integral_value():
        raise UserError(f"{product.name} is counted in whole pieces.")
    loc = stock.location(session, location_code)
    value = (qty * product.price).quantize(Decimal("0.01"))
    signed = qty * REASONS[reason]
    what = f"{reason} {qty} x {product.sku}"
    approval = None
    if value > threshold(session):
        approval = staff.require(session, actor, Permission.STOCK_ADJUST, what)
    cause = new_id()
    rows = stock.record_movements(
        session,
        [stock.MovementIn(product.id, loc.id, signed, "adjustment")],
        "adjustment",
        cause,
        actor.user_id,
    )
    text = f"{reason}: {note.strip()}" if note.strip() else reason
    for movement in stock.movement_payload(session, rows):
        outbox.emit(session, "stock.movement", {**movement, "reason": text[:500]})
    audit.record(
        session,
        actor.user_id,
        "stock.adjustment",
        "product",
        product.id,
        {
            "qty": str(signed),
            "location": loc.code,
            "reason": reason,
            "note": note.strip(),
            "value": str(value),
            "approval": approval,
        },
    )
    on_hand = next(
        (q for code, _n, q in stock.on_hand_by_location(session, product.id) if code == loc.code), Decimal(0)
    )
    return Adjusted(
        rows[0].id,
        product.sku,
        product.name,
        loc.code,
        signed,
        value,
        reason,
        approval,
        on_hand,
        Changes(stock=True, outbox=True),
    )


def locations(session: Session) -> list[tuple[str, str]]:
    """(code, name) of the store's locations, for the screen's choice."""
    return [(c, n) for c, n in session.execute(select(Location.code, Location.name).order_by(Location.code))]
