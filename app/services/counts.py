"""Cycle counts: a manager sets up a count of a location (some departments or items of it, or all it holds), an
associate counts it by scanning, a manager reviews the variances and posts them as count movements with a reason.

Sales go on while a shelf is counted, so each line keeps the stock as it stood at the moment the item was first
counted (`expected`), with the positions that say what "then" was: the last local ledger seq (`ledger_seq`) and the
central feed cursor the till had applied (`feed_seq`). The variance is counted − expected, whatever sold since.

A stand-alone terminal posts each variance as a `count` movement of its own ledger. A terminal enrolled with a
central store posts a `stock.count` event per line instead (counted quantity, `as_of_seq`, and this till's movements
made after the moment of counting): the central works out the same variance against its own ledger
(`sync.central.ledger.count_baseline`) and the till's stock follows through the feed, so the count is in one ledger
once, not twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from app.db.models import (
    CentralStock,
    CountLine,
    CycleCount,
    Location,
    Product,
    StaffUser,
    StockBalance,
    StockMovement,
)
from app.db.types import utcnow
from app.domain import barcodes
from app.domain.permissions import Permission
from app.services import audit, catalog, outbox, settings, staff, stock
from app.services.base import Actor, Changes, UserError, here


@dataclass(frozen=True)
class CountLineView:
    product_id: str
    sku: str
    name: str
    unit: str
    counted: Decimal | None
    expected: Decimal | None
    counted_at: datetime | None
    posted_qty: Decimal | None
    price: Decimal = Decimal(0)

    @property
    def variance(self) -> Decimal | None:
        if self.counted is None or self.expected is None:
            return None
        return self.counted - self.expected

    @property
    def variance_value(self) -> Decimal:
        """The variance at shelf price (what the manager weighs before posting)."""
        return ((self.variance or Decimal(0)) * self.price).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class CountView:
    id: str
    title: str
    location_code: str
    location_name: str
    status: str
    departments: tuple[str, ...]
    skus: tuple[str, ...]
    lines: tuple[CountLineView, ...]
    last_sku: str | None = None  # the line the last scan counted
    changes: Changes | None = None

    @property
    def left(self) -> int:
        return sum(1 for line in self.lines if line.counted is None)

    @property
    def counted_lines(self) -> int:
        return sum(1 for line in self.lines if line.counted is not None)


@dataclass(frozen=True)
class CountSummary:
    id: str
    title: str
    location_code: str
    status: str
    lines: int
    counted: int
    created_at: datetime


def _enrolled(session: Session) -> bool:
    return bool(settings.get(session, "sync.central_url"))


def _count(session: Session, count_id: str) -> CycleCount:
    count = session.get(CycleCount, count_id)
    if count is None:
        raise UserError("That count is no longer there: choose another from the list.")
    return count


def _open(session: Session, count_id: str) -> CycleCount:
    count = _count(session, count_id)
    if count.status != "open":
        raise UserError(f"This count is {count.status}: nothing more can be counted in it.")
    return count


def _signed_in(session: Session, actor: Actor) -> StaffUser:
    user = session.get(StaffUser, actor.user_id)
    if user is None or not user.active:
        raise UserError("You are signed out: sign in again.")
    return user


def _view(session: Session, count: CycleCount, last_sku: str | None = None) -> CountView:
    loc = session.get(Location, count.location_id)
    assert loc is not None
    rows = session.execute(
        select(CountLine, Product)
        .join(Product, Product.id == CountLine.product_id)
        .where(CountLine.count_id == count.id)
        .order_by(Product.sku)
    ).all()
    lines = tuple(
        CountLineView(
            p.id,
            p.sku,
            p.name,
            p.unit,
            line.counted,
            line.expected,
            line.counted_at,
            line.posted_qty,
            p.price,
        )
        for line, p in rows
    )
    scope = count.scope or {}
    return CountView(
        count.id,
        count.title,
        loc.code,
        loc.name,
        count.status,
        tuple(scope.get("departments") or ()),
        tuple(scope.get("skus") or ()),
        lines,
        last_sku,
    )


def _stock_now(session: Session, product: Product, loc: Location) -> Decimal:
    """The location's stock as this terminal knows it right now (the store's, where enrolled)."""
    view = stock.store_view(session, product.id)
    if view is not None:
        return next((qty for code, _name, qty, _reserved in view if code == loc.code), Decimal(0))
    return stock.on_hand(session, product.id, loc.id)


def _in_scope(session: Session, loc: Location, departments: list[str], skus: list[str]) -> list[Product]:
    if departments or skus:
        q = select(Product).where(Product.active.is_(True))
        conds = []
        if departments:
            conds.append(Product.department.in_(departments))
        if skus:
            conds.append(Product.sku.in_(skus))
        return list(session.scalars(q.where(or_(*conds)).order_by(Product.sku)))
    # The whole location: what it holds by this terminal's records (the central's word where enrolled).
    if _enrolled(session):
        held = select(CentralStock.sku).where(CentralStock.location == loc.code, CentralStock.on_hand != 0)
        return list(session.scalars(select(Product).where(Product.sku.in_(held)).order_by(Product.sku)))
    held_ids = select(StockBalance.product_id).where(
        StockBalance.location_id == loc.id, StockBalance.on_hand != 0
    )
    return list(session.scalars(select(Product).where(Product.id.in_(held_ids)).order_by(Product.sku)))


def setup(
    session: Session,
    actor: Actor,
    location_code: str,
    departments: list[str] | None = None,
    skus: list[str] | None = None,
    title: str = "",
) -> CountView:
    """A manager sets up a count of one location: of some departments or items, or (neither given) of all it holds
    and whatever else is found there."""
    staff.require(session, actor, Permission.STOCK_ADJUST, f"set up a count of {location_code}")
    loc = stock.location(session, location_code.strip())
    depts = sorted({d.strip() for d in departments or [] if d.strip()})
    wanted = sorted({s.strip().upper() for s in skus or [] if s.strip()})
    known = set(session.scalars(select(Product.sku).where(Product.sku.in_(wanted)))) if wanted else set()
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise UserError(f"No item {', '.join(unknown)} in the catalog: check the SKU.")
    products = _in_scope(session, loc, depts, wanted)
    if (depts or wanted) and not products:
        raise UserError("Nothing in the catalog matches that count: choose other departments or items.")
    named = [*depts, *wanted]
    parts = [f"{len(depts)} departments" if depts else "", f"{len(wanted)} items" if wanted else ""]
    what = ", ".join(named) if len(named) <= 2 else " + ".join(p for p in parts if p)
    what = what or "everything"
    count = CycleCount(
        location_id=loc.id,
        scope={"departments": depts, "skus": wanted},
        title=title.strip() or f"{loc.name}: {what}",
        status="open",
        created_by=actor.user_id,
        created_at=utcnow(),
        reason="",
    )
    session.add(count)
    session.flush()
    for p in products:
        session.add(CountLine(count_id=count.id, product_id=p.id))
    session.flush()
    audit.record(
        session, actor.user_id, "count.setup", "count", count.id, {"location": loc.code, "scope": count.scope}
    )
    return _view(session, count)


def open_counts(session: Session) -> list[CountSummary]:
    counted = func.count(CountLine.counted)
    rows = session.execute(
        select(CycleCount, Location.code, func.count(CountLine.id), counted)
        .join(Location, Location.id == CycleCount.location_id)
        .join(CountLine, CountLine.count_id == CycleCount.id, isouter=True)
        .where(CycleCount.status == "open")
        .group_by(CycleCount.id, Location.code)
        .order_by(CycleCount.created_at)
    ).all()
    return [CountSummary(c.id, c.title, code, c.status, n, k, c.created_at) for c, code, n, k in rows]


def view(session: Session, count_id: str) -> CountView:
    return _view(session, _count(session, count_id))


def _line_for(session: Session, count: CycleCount, product: Product) -> CountLine:
    line = session.scalar(
        select(CountLine).where(CountLine.count_id == count.id, CountLine.product_id == product.id)
    )
    if line is not None:
        return line
    scope = count.scope or {}
    if scope.get("departments") or scope.get("skus"):
        raise UserError(
            f"{product.sku} {product.name} is not in this count: set it aside and scan the next item."
        )
    line = CountLine(count_id=count.id, product_id=product.id)  # found at the location: counted too
    session.add(line)
    return line


def _take_snapshot(session: Session, line: CountLine, product: Product, loc: Location, actor: Actor) -> None:
    """The stock this line is measured against: as it stands now, with the positions that say when now was."""
    line.expected = _stock_now(session, product, loc)
    line.ledger_seq = int(session.scalar(select(func.coalesce(func.max(StockMovement.seq), 0))) or 0)
    line.feed_seq = int(settings.get(session, "sync.cursor") or 0)
    line.counted_at = utcnow()
    line.counted_by = actor.user_id


def scan(
    session: Session, actor: Actor, count_id: str, code: barcodes.ScanResult | str, qty: Decimal | None = None
) -> CountView:
    """Count what one scan stands for: a case code its pack, a weight label its weight, anything else one. A weighed
    item scanned without a weight needs `qty` (its weight keyed or read from the scale)."""
    _signed_in(session, actor)
    count = _open(session, count_id)
    found = catalog.find_scan(session, catalog.read_scan(session, code))
    product = session.get(Product, found.product.id)
    assert product is not None
    if qty is not None:
        if qty <= 0:
            raise UserError("Key a quantity above zero.")
        units = qty
    elif found.needs_weight:
        raise UserError(f"{product.name} is sold by weight: put it on the scale or key its weight (F3).")
    else:
        units = found.qty
    loc = session.get(Location, count.location_id)
    assert loc is not None
    line = _line_for(session, count, product)
    if line.counted is None:
        _take_snapshot(session, line, product, loc, actor)
        line.counted = Decimal(0)
    line.counted = line.counted + units
    session.flush()
    return _view(session, count, last_sku=product.sku)


def set_counted(session: Session, actor: Actor, count_id: str, sku: str, counted: Decimal) -> CountView:
    """Key a line's counted quantity (a recount, or what is too many to scan); the moment of counting stands."""
    _signed_in(session, actor)
    count = _open(session, count_id)
    if counted < 0:
        raise UserError("A count cannot be below zero.")
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise UserError(f"No item {sku} in the catalog.")
    loc = session.get(Location, count.location_id)
    assert loc is not None
    line = _line_for(session, count, product)
    if line.counted is None:
        _take_snapshot(session, line, product, loc, actor)
    line.counted = counted
    session.flush()
    audit.record(
        session, actor.user_id, "count.keyed", "count", count.id, {"sku": sku, "counted": str(counted)}
    )
    return _view(session, count, last_sku=sku)


def post(
    session: Session, actor: Actor, count_id: str, reason: str, uncounted_as_zero: bool = False
) -> CountView:
    """A manager posts the variances with a reason: count movements (or count events to the central store)."""
    count = _open(session, count_id)
    staff.require(session, actor, Permission.STOCK_ADJUST, f"post count {count.title}")
    if not reason.strip():
        raise UserError("Give a reason for posting the count.")
    loc = session.get(Location, count.location_id)
    assert loc is not None
    lines = list(session.scalars(select(CountLine).where(CountLine.count_id == count.id)))
    if not any(line.counted is not None for line in lines):
        raise UserError("Nothing is counted yet: scan the items first.")
    uncounted = [line for line in lines if line.counted is None]
    if uncounted and not uncounted_as_zero:
        raise UserError(
            f"{len(uncounted)} items are not counted yet: count them, or post them as none on the shelf."
        )
    enrolled = _enrolled(session)
    h = here(session)
    products = {
        p.id: p for p in session.scalars(select(Product).where(Product.id.in_([x.product_id for x in lines])))
    }
    posted: dict[str, str] = {}
    for line in lines:
        product = products[line.product_id]
        if line.counted is None:  # none found: counted zero, as of now
            _take_snapshot(session, line, product, loc, actor)
            line.counted = Decimal(0)
        assert line.expected is not None
        variance = line.counted - line.expected
        line.posted_qty = variance
        posted[product.sku] = str(variance)
        if enrolled:
            later = session.scalars(
                select(StockMovement.id).where(
                    StockMovement.product_id == product.id,
                    StockMovement.location_id == loc.id,
                    StockMovement.seq > (line.ledger_seq or 0),
                )
            )
            outbox.emit(
                session,
                "stock.count",
                {
                    "sku": product.sku,
                    "location": loc.code,
                    "counted": str(line.counted),
                    "as_of_seq": line.feed_seq or 0,
                    "local_movements_after": list(later),
                    "store": h.store_code,
                },
            )
        elif variance:
            stock.record_movements(
                session,
                [stock.MovementIn(product.id, loc.id, variance, "count")],
                "count",
                count.id,
                actor.user_id,
            )
    count.status = "posted"
    count.posted_by = actor.user_id
    count.posted_at = utcnow()
    count.reason = reason.strip()[:200]
    session.flush()
    audit.record(
        session,
        actor.user_id,
        "count.posted",
        "count",
        count.id,
        {"location": loc.code, "reason": count.reason, "variances": posted, "approval": actor.approval_id},
    )
    return replace(_view(session, count), changes=Changes(stock=True, outbox=enrolled))


def cancel(session: Session, actor: Actor, count_id: str, reason: str) -> CountView:
    count = _open(session, count_id)
    staff.require(session, actor, Permission.STOCK_ADJUST, f"cancel count {count.title}")
    count.status = "cancelled"
    count.reason = reason.strip()[:200]
    audit.record(session, actor.user_id, "count.cancelled", "count", count.id, {"reason": count.reason})
    return _view(session, count)


def counted_location_products(session: Session, count_id: str) -> list[str]:
    """The product ids a count counted (for shelf labels of a counted location)."""
    return list(
        session.scalars(
            select(CountLine.product_id).where(CountLine.count_id == count_id, CountLine.counted.is_not(None))
        )
    )


def recent(session: Session, limit: int = 30) -> list[CountSummary]:
    """The newest counts of any status (open, posted, cancelled), newest first."""
    counted = func.count(CountLine.counted)
    rows = session.execute(
        select(CycleCount, Location.code, func.count(CountLine.id), counted)
        .join(Location, Location.id == CycleCount.location_id)
        .join(CountLine, CountLine.count_id == CycleCount.id, isouter=True)
        .group_by(CycleCount.id, Location.code)
        .order_by(CycleCount.created_at.desc())
        .limit(limit)
    ).all()
    return [CountSummary(c.id, c.title, code, c.status, n, k, c.created_at) for c, code, n, k in rows]


def from_central(
    session: Session, count_id: str, location_code: str, departments: list[str], skus: list[str], title: str
) -> None:
    """A count the central store set up for this store (a `count` change of its feed): added to the open counts,
    once; a count already here (the change pulled again) is left as it is."""
    if session.get(CycleCount, count_id) is not None:
        return
    h = here(session)
    loc = session.scalar(
        select(Location).where(Location.store_id == h.store_id, Location.code == location_code)
    )
    if loc is None:
        raise ValueError(f"this store has no location {location_code}")
    count = CycleCount(
        id=count_id,
        location_id=loc.id,
        scope={"departments": list(departments), "skus": list(skus)},
        title=title or f"{loc.name}: {', '.join([*departments, *skus]) or 'everything'} (central)",
        status="open",
        created_by=None,
        created_at=utcnow(),
        reason="",
    )
    session.add(count)
    session.flush()
    for p in _in_scope(session, loc, list(departments), list(skus)):
        session.add(CountLine(count_id=count.id, product_id=p.id))
    session.flush()
