"""Stock as facts: append-only signed movements, each tied to its cause; on-hand is derived.

`stock_balances` is kept in the same transaction as each movement so on-hand per location is one indexed read.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import String, cast, func, insert, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from app.db.models import (
    CentralStock,
    Location,
    OutboxEvent,
    Product,
    StockBalance,
    StockMinimum,
    StockMovement,
)
from app.db.types import utcnow
from app.domain.permissions import Permission
from app.ids import new_id
from app.services import audit, outbox, settings, staff
from app.services.base import Actor, Changes, UserError, here

KINDS = ("sale", "return", "receipt", "adjustment", "count", "transfer", "fulfilment", "central")


# The ledger's tables, written with core statements: nothing reads them back as ORM rows in the same transaction.
_MOVEMENTS = StockMovement.metadata.tables[StockMovement.__tablename__]
_BALANCES = StockBalance.metadata.tables[StockBalance.__tablename__]


@dataclass(frozen=True)
class MovementIn:
    product_id: str
    location_id: str
    qty: Decimal
    kind: str


def _upsert_balances(session: Session, deltas: dict[tuple[str, str], Decimal]) -> None:
    """Add each delta to its (product, location) balance, creating the row where missing: one statement."""
    if not deltas:
        return
    session.execute(
        _upsert_statement(session.get_bind().dialect.name),
        [{"product_id": p, "location_id": loc, "on_hand": qty} for (p, loc), qty in sorted(deltas.items())],
    )


@lru_cache(maxsize=4)
def _upsert_statement(dialect: str) -> Any:
    """The balances' upsert, built once per dialect: `excluded` makes an alias of the table, with new columns,
    each time it is asked for (a sale completed built it again, and left it for the cyclic collector)."""
    ins = (pg_insert if dialect == "postgresql" else sqlite_insert)(_BALANCES)
    return ins.on_conflict_do_update(
        index_elements=["product_id", "location_id"],
        set_={"on_hand": ins.table.c.on_hand + ins.excluded.on_hand},
    )


def record_movements(
    session: Session, movements: list[MovementIn], cause_type: str, cause_id: str, user_id: str | None
) -> list[StockMovement]:
    """Write movements and their balances; the caller's transaction also writes the cause and its event."""
    values: list[dict[str, Any]] = []
    deltas: dict[tuple[str, str], Decimal] = {}
    for m in movements:
        if m.kind not in KINDS:
            raise ValueError(f"unknown movement kind {m.kind}")
        if m.qty == 0:
            continue
        values.append(
            {
                "id": new_id(),
                "product_id": m.product_id,
                "location_id": m.location_id,
                "qty": m.qty,
                "kind": m.kind,
                "cause_type": cause_type,
                "cause_id": cause_id,
                "user_id": user_id,
                "created_at": utcnow(),
            }
        )
        key = (m.product_id, m.location_id)
        deltas[key] = deltas.get(key, Decimal(0)) + m.qty
    if values:
        # What the caller added first (a new location, say) is written before the rows that name it.
        session.flush()
        # One executemany on the table, not one INSERT ... RETURNING per row through the unit of work (a sale of 8
        # lines wrote 8 statements), nor the ORM's bulk path (a third of the cost of writing a sale's stock). The
        # rows handed back carry every written field but their seq, which no caller reads.
        session.execute(insert(_MOVEMENTS), values)
    _upsert_balances(session, deltas)
    return [StockMovement(**v) for v in values]


def location(session: Session, code: str) -> Location:
    h = here(session)
    loc = session.scalar(select(Location).where(Location.store_id == h.store_id, Location.code == code))
    if loc is None:
        raise UserError(f"This store has no location {code}.")
    return loc


def sellable_location(session: Session) -> Location:
    """Where counter sales take stock from: the sales floor, or else the first sellable location by code."""
    h = here(session)
    loc = session.scalar(
        select(Location)
        .where(Location.store_id == h.store_id, Location.sellable.is_(True))
        .order_by((Location.kind != "floor"), Location.code)
    )
    if loc is None:
        raise UserError("This store has no sellable location: set up the store first.")
    return loc


def on_hand(session: Session, product_id: str, location_id: str | None = None) -> Decimal:
    q = select(func.coalesce(func.sum(StockBalance.on_hand), 0)).where(StockBalance.product_id == product_id)
    if location_id:
        q = q.where(StockBalance.location_id == location_id)
    return Decimal(session.scalar(q) or 0)


def on_hand_by_location(session: Session, product_id: str) -> list[tuple[str, str, Decimal]]:
    """Stock per location as this terminal best knows it: (code, name, on hand).

    A terminal enrolled with a central store shows the store's stock (every till's sales, deliveries and web orders)
    as of the last sync, plus what this till did that has not reached the central store yet; a stand-alone
    terminal (the demo) shows its own ledger.
    """
    view = store_view(session, product_id)
    if view is not None:
        return [(code, name, qty) for code, name, qty, _reserved in view]
    rows = session.execute(
        select(Location.code, Location.name, func.coalesce(StockBalance.on_hand, 0))
        .join(
            StockBalance,
            (StockBalance.location_id == Location.id) & (StockBalance.product_id == product_id),
            isouter=True,
        )
        .order_by(Location.code)
    ).all()
    return [(c, n, Decimal(q)) for c, n, q in rows]


def _unsent(session: Session, sku: str | None = None) -> dict[tuple[str, str], Decimal]:
    """This till's movements not sent to the central store yet, summed per (SKU, location): of one SKU, or all."""
    q = select(OutboxEvent.payload).where(
        OutboxEvent.status == "pending", OutboxEvent.type.in_(_MOVING_EVENTS)
    )
    if sku is not None:
        # Only the unsent events that name this SKU are read and parsed (a till offline for a day holds hundreds,
        # and the Sell screen asks on every scan); the exact match is made below.
        q = q.where(cast(OutboxEvent.payload, String).contains(f'"{sku}"', autoescape=True))
    unsent: dict[tuple[str, str], Decimal] = {}
    for payload in session.scalars(q):
        payload = payload or {}
        moves = payload.get("movements") if "movements" in payload else [payload]
        for m in moves or []:
            if isinstance(m, dict) and "qty" in m and (sku is None or m.get("sku") == sku):
                key = (str(m.get("sku")), str(m.get("location")))
                unsent[key] = unsent.get(key, Decimal(0)) + Decimal(str(m["qty"]))
    return unsent


def store_view(session: Session, product_id: str) -> list[tuple[str, str, Decimal, Decimal]] | None:
    """(code, name, on hand, reserved for web orders) per location from the central store's last word plus this
    till's unsent movements; None where the terminal is not enrolled with a central store."""
    if not settings.get(session, "sync.central_url"):
        return None
    product = session.get(Product, product_id)
    if product is None:
        return None
    central = {
        row.location: row
        for row in session.scalars(select(CentralStock).where(CentralStock.sku == product.sku))
    }
    unsent = {location: qty for (_sku, location), qty in _unsent(session, product.sku).items()}
    out = []
    for code, name in session.execute(select(Location.code, Location.name).order_by(Location.code)).all():
        row = central.get(code)
        on_hand = (row.on_hand if row else Decimal(0)) + unsent.get(code, Decimal(0))
        out.append((code, name, on_hand, row.reserved if row else Decimal(0)))
    return out


def below_minimum(session: Session) -> list[tuple[str, str, Decimal, Decimal]]:
    """(SKU, name, on hand, minimum) of the active products whose stock at the store (every location) is negative
    or below their minimum (app.db StockMinimum: the product's own, else the store's for every product). The stock
    is the store's as the central store last said plus this till's unsent movements (as Lookup shows it), or, on a
    terminal not enrolled with a central store, its own ledger. The database gives the few that qualify; the
    products whose unsent movements may change that are read too, and judged here (app.domain.figures.stock_rows)."""
    default = session.scalar(select(StockMinimum.qty).where(StockMinimum.sku == "*")) or Decimal(0)
    unsent: dict[str, Decimal] = {}
    if settings.get(session, "sync.central_url"):
        for (sku, _location), qty in _unsent(session).items():
            unsent[sku] = unsent.get(sku, Decimal(0)) + qty
        have = (
            select(CentralStock.sku.label("sku"), func.sum(CentralStock.on_hand).label("qty"))
            .group_by(CentralStock.sku)
            .subquery()
        )
        joined = have.c.sku == Product.sku
    else:
        have = (
            select(StockMovement.product_id.label("product_id"), func.sum(StockMovement.qty).label("qty"))
            .group_by(StockMovement.product_id)
            .subquery()
        )
        joined = have.c.product_id == Product.id
    on_hand = func.coalesce(have.c.qty, 0)
    minimum = func.coalesce(StockMinimum.qty, type_coerce(default, StockMinimum.qty.type))
    q = (
        select(
            Product.sku,
            Product.name,
            type_coerce(on_hand, have.c.qty.type),
            type_coerce(minimum, StockMinimum.qty.type),
        )
        .outerjoin(have, joined)
        .outerjoin(StockMinimum, StockMinimum.sku == Product.sku)
        .where(Product.active.is_(True), or_(on_hand < 0, on_hand < minimum, Product.sku.in_(sorted(unsent))))
    )
    return [
        (sku, name, Decimal(qty or 0) + unsent.get(sku, Decimal(0)), Decimal(least or 0))
        for sku, name, qty, least in session.execute(q)
    ]


# Outbox events whose payload carries stock movements (a list under "movements", or one movement itself).
_MOVING_EVENTS = (
    "sale.completed",
    "return.completed",
    "stock.movement",
    "order.status",
    "delivery.received",
    "transfer.sent",
)


def ledger_on_hand(session: Session, product_id: str, location_id: str) -> Decimal:
    """On-hand summed from the ledger itself (what the balance must always equal)."""
    q = select(func.coalesce(func.sum(StockMovement.qty), 0)).where(
        StockMovement.product_id == product_id, StockMovement.location_id == location_id
    )
    return Decimal(session.scalar(q) or 0)


def movement_payload(
    session: Session,
    rows: list[StockMovement],
    skus: dict[str, str] | None = None,
    locations: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Movements as they go on the wire: by SKU and location code, never by local keys. A caller that holds them
    already passes `skus` (product id -> SKU) and `locations` (location id -> code); whatever is missing is read."""
    skus = dict(skus or {})
    want = {r.product_id for r in rows} - skus.keys()
    if want:
        skus.update(session.execute(select(Product.id, Product.sku).where(Product.id.in_(want))).all())
    locs = dict(locations or {})
    if {r.location_id for r in rows} - locs.keys():
        locs.update(session.execute(select(Location.id, Location.code)).all())
    return [
        {
            "id": r.id,
            "sku": skus[r.product_id],
            "location": locs[r.location_id],
            "qty": str(r.qty),
            "kind": r.kind,
        }
        for r in rows
    ]


def adjust(
    session: Session, actor: Actor, product_id: str, location_code: str, qty: Decimal, kind: str, reason: str
) -> Changes:
    """A receipt of goods or an adjustment, by hand: permission, ledger row, outbox event and audit entry."""
    approval = staff.require(session, actor, Permission.STOCK_ADJUST, f"{kind} {qty}")
    if kind not in ("receipt", "adjustment"):
        raise UserError("Only receipts and adjustments are entered by hand.")
    if not reason.strip():
        raise UserError("Give a reason for the stock change.")
    loc = location(session, location_code)
    cause = new_id()
    rows = record_movements(
        session, [MovementIn(product_id, loc.id, qty, kind)], "manual", cause, actor.user_id
    )
    for movement in movement_payload(session, rows):  # one event per movement, as the protocol has it
        outbox.emit(session, "stock.movement", {**movement, "reason": reason})
    audit.record(
        session,
        actor.user_id,
        f"stock.{kind}",
        "product",
        product_id,
        {"qty": str(qty), "location": location_code, "reason": reason, "approval": approval},
    )
    return Changes(stock=True, outbox=True)
