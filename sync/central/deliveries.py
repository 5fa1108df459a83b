"""Expected deliveries at the stores: purchase orders from suppliers and transfers between stores, received by scan.

A delivery names its receiving store, its lines and, where the goods travel in sealed cases or on pallets, the SSCC
of each (several lines may share one). It reaches the store's feed as a `delivery` change, and the store's tills
receive against it. The store's `delivery.received` posts the receipt movements (the till's own movement ids, so
exactly once) and keeps the differences it found; the delivery is then `received`, and its tills are told.

A transfer takes the goods out of the sending store at once (a `transfer` movement) and makes an expected delivery
at the other store: the goods are in transit, in neither store's stock, until that store receives them. A till's
transfer is applied under its own store's lock; the delivery reaches the other store's feed after that push
(`publish_pending`, its own transaction, one store lock at a time), so two stores sending to each other never
wait on each other's locks.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from sync import protocol
from sync.central import ledger, stock
from sync.central.ledger import Rejected
from sync.central.models import (
    Delivery,
    DeliveryLine,
    Product,
    StockException,
    Store,
    Terminal,
    utcnow,
)

EXPECT_COLUMNS = ("sku", "qty")
_SSCC = re.compile(r"^[0-9]{18}$")


def delivery_payload(delivery: Delivery, source_code: str | None = None) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "number": delivery.number,
        "kind": delivery.kind,
        "source": delivery.source,
        "status": delivery.status,
        "lines": [
            {
                "line_no": ln.line_no,
                "sku": ln.sku,
                "qty": ledger.qty_text(ln.qty),
                "sscc": ln.sscc,
            }
            for ln in delivery.lines
        ],
    }


def _emit(session: Session, delivery: Delivery) -> None:
    ledger.emit(
        session, delivery.store_id, protocol.CHANGE_DELIVERY, str(delivery.id), delivery_payload(delivery)
    )
    delivery.published = True


def _new(
    session: Session,
    store: Store,
    number: str,
    kind: str,
    source: str,
    lines: Sequence[tuple[Product, Decimal, str | None]],
    from_store: Store | None = None,
    delivery_id: uuid.UUID | None = None,
) -> Delivery:
    number = number.strip()
    if not number or len(number) > 40:
        raise stock.StockError("a delivery's number is 1 to 40 characters")
    if session.scalar(select(Delivery.id).where(Delivery.store_id == store.id, Delivery.number == number)):
        raise stock.StockError(f"store {store.code} already expects a delivery {number}")
    delivery = Delivery(
        id=delivery_id or uuid7(),
        store_id=store.id,
        number=number,
        kind=kind,
        source=source[:200],
        from_store_id=from_store.id if from_store else None,
        status="expected",
        published=False,
        discrepancies=[],
        created_at=utcnow(),
    )
    for n, (product, qty, sscc) in enumerate(lines, start=1):
        delivery.lines.append(
            DeliveryLine(line_no=n, product_id=product.id, sku=product.sku, qty=qty, sscc=sscc)
        )
    session.add(delivery)
    return delivery


# ---------------------------------------------------------------- purchase orders


def expect_delivery(session: Session, store_code: str, text: str, supplier: str, number: str) -> Delivery:
    """A purchase order the store is to receive, from a CSV `sku,qty[,sscc]` (one line per product and case)."""
    supplier = supplier.strip()
    if not supplier:
        raise stock.StockError("name the supplier")
    store = stock._store(session, store_code)
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    if columns[:2] != list(EXPECT_COLUMNS):
        raise stock.StockError(
            f"the first line must be the columns sku,qty[,sscc] (it is {','.join(columns)})"
        )
    rows: list[tuple[str, Decimal, str | None]] = []
    for number_, row in enumerate(reader, start=2):
        sku = (row.get("sku") or "").strip()
        if not sku:
            raise stock.StockError(f"line {number_}: the sku is required")
        qty = stock.parse_qty(row.get("qty") or "", f"line {number_} ({sku})")
        sscc = (row.get("sscc") or "").strip() or None
        if sscc is not None and not _SSCC.match(sscc):
            raise stock.StockError(f"line {number_}: SSCC {sscc!r} is not 18 digits")
        rows.append((sku, qty, sscc))
    if not rows:
        raise stock.StockError("the file has no lines")
    products = stock._products(session, (sku for sku, _, _ in rows))
    stock._lock_stores(session, [store])
    delivery = _new(session, store, number, "purchase", supplier, [(products[s], q, c) for s, q, c in rows])
    session.flush()
    _emit(session, delivery)
    return delivery


# ---------------------------------------------------------------- transfers


def transfer(
    session: Session,
    from_store: str,
    to_store: str,
    lines: Sequence[stock.StockLine],
    *,
    from_location: str = "floor",
    reference: str = "",
) -> Delivery:
    """Send stock from one store to another (the operator's `transfer`): out of the one now, expected at the other
    until it is received there. Only what is on hand and not reserved for web orders can leave."""
    if not lines:
        raise stock.StockError("a transfer needs at least one line")
    source, target = stock._store(session, from_store), stock._store(session, to_store)
    if source.id == target.id:
        raise stock.StockError("a transfer goes from one store to another")
    out_of = stock._location(session, source, from_location)
    products = stock._products(session, (ln.sku for ln in lines))
    stock._lock_stores(session, [source, target], products.values())
    doc = stock._document(session, "transfer", source, reference, "", len(lines), to=target)
    with ledger.set_wise(session):
        for ln in lines:
            product = products[ln.sku]
            stock.leaving(session, source, out_of, product, ln.qty)
            ledger.record_movement(
                session,
                movement_id=uuid7(),
                location=out_of,
                product=product,
                qty=-ln.qty,
                kind="transfer",
                cause_type="transfer",
                cause_id=str(doc.id),
            )
    number = reference.strip() or f"TR-{source.code}-{str(doc.id)[-8:]}"
    delivery = _new(
        session,
        target,
        number,
        "transfer",
        source.code,
        [(products[ln.sku], ln.qty, None) for ln in lines],
        from_store=source,
    )
    session.flush()
    _emit(session, delivery)  # both stores are locked here, in id order
    return delivery


def transfer_sent(session: Session, terminal: Terminal, ev: protocol.Event, p: protocol.TransferSent) -> None:
    """A till sent goods to another store (its movements are applied by the caller): the other store expects
    them. The goods have left, so a transfer to a store the central does not know stands, flagged for a person."""
    for m in p.movements:
        if m.kind != "transfer" or m.qty >= 0:
            raise Rejected(f"a transfer's movements take goods out: {m.sku} {m.kind} {m.qty}")
    source = terminal.store
    target = session.scalar(select(Store).where(Store.code == p.to_store.strip().upper()))
    if target is None or target.id == source.id:
        why = "no such store" if target is None else "sent to its own store"
        for m in p.movements:
            session.add(
                StockException(
                    store_id=source.id,
                    kind="transfer_nowhere",
                    sku=m.sku,
                    location=m.location,
                    detail={
                        "transfer": p.number,
                        "to": p.to_store,
                        "why": why,
                        "qty": ledger.qty_text(m.qty),
                    },
                    event_id=ev.id,
                )
            )
        return
    totals: dict[str, Decimal] = {}
    for m in p.movements:
        totals[m.sku] = totals.get(m.sku, Decimal(0)) - m.qty
    products = {sku: _product(session, sku) for sku in totals}
    if session.get(Delivery, p.transfer_id) is not None:
        raise Rejected(f"transfer {p.number} is already recorded")
    _new(
        session,
        target,
        p.number,
        "transfer",
        source.code,
        [(products[sku], qty, None) for sku, qty in totals.items()],
        from_store=source,
        delivery_id=p.transfer_id,  # the till's id: the same transfer, whoever looks at it
    )


def _product(session: Session, sku: str) -> Product:
    cache = ledger.tx_cache(session, "products")
    product: Product | None = cache.get(sku)
    if product is None:
        product = session.scalar(select(Product).where(Product.sku == sku))
        if product is None:
            raise Rejected(f"unknown sku {sku!r}")
        cache[sku] = product
    return product


def publish_pending(factory: sessionmaker[Session]) -> int:
    """Put deliveries not yet in their store's feed into it, one store (and its lock) per transaction; returns
    how many. Called after each push, so a till's transfer reaches the other store at its next pull."""
    with factory() as session:
        stores = sorted(set(session.scalars(select(Delivery.store_id).where(Delivery.published.is_(False)))))
    done = 0
    for store_id in stores:
        with factory.begin() as session:
            ledger.lock_store(session, store_id)
            for delivery in session.scalars(
                select(Delivery)
                .where(Delivery.store_id == store_id, Delivery.published.is_(False))
                .order_by(Delivery.created_at)
            ):
                _emit(session, delivery)
                done += 1
    return done


# ---------------------------------------------------------------- receiving


def check_received(p: protocol.DeliveryReceived) -> None:
    """The report adds up: receipt movements only, into the named location, as much of each product as received."""
    received: dict[str, Decimal] = {}
    for line in p.lines:
        received[line.sku] = received.get(line.sku, Decimal(0)) + line.received
    moved: dict[str, Decimal] = {}
    for m in p.movements:
        if m.kind != "receipt" or m.qty <= 0:
            raise Rejected(
                f"a delivery's movements are receipts that bring goods in: {m.sku} {m.kind} {m.qty}"
            )
        if m.location != p.location:
            raise Rejected(f"movement of {m.sku} goes to {m.location}, the receipt to {p.location}")
        moved[m.sku] = moved.get(m.sku, Decimal(0)) + m.qty
    wanted = {sku: qty for sku, qty in received.items() if qty}
    if moved != wanted:
        raise Rejected(f"the receipt movements {_txt(moved)} do not match what was received {_txt(wanted)}")


def _txt(q: dict[str, Decimal]) -> str:
    return ", ".join(f"{k} {ledger.qty_text(v)}" for k, v in sorted(q.items())) or "nothing"


def delivery_received(
    session: Session, terminal: Terminal, ev: protocol.Event, p: protocol.DeliveryReceived
) -> Delivery:
    """Record what the store received of its delivery and the differences (the caller posts the movements).
    A delivery already received (two tills, offline) keeps its first report; the second's goods stand, flagged."""
    delivery = session.get(Delivery, p.delivery_id)
    if delivery is None or delivery.store_id != terminal.store_id:
        raise Rejected(f"no delivery {p.delivery_id} expected at this store")
    if delivery.status == "received":
        for m in p.movements:
            session.add(
                StockException(
                    store_id=terminal.store_id,
                    kind="delivery_received_twice",
                    sku=m.sku,
                    location=m.location,
                    detail={
                        "delivery": delivery.number,
                        "terminal": terminal.code,
                        "qty": ledger.qty_text(m.qty),
                    },
                    event_id=ev.id,
                )
            )
        return delivery
    expected: dict[str, Decimal] = {}
    for ln in delivery.lines:
        expected[ln.sku] = expected.get(ln.sku, Decimal(0)) + ln.qty
    received: dict[str, Decimal] = {}
    for line in p.lines:
        received[line.sku] = received.get(line.sku, Decimal(0)) + line.received
    # Each line gets what was received of its product, in line order; what is left over goes on the last.
    left = dict(received)
    for ln in delivery.lines:
        take = min(ln.qty, left.get(ln.sku, Decimal(0)))
        ln.received = take
        left[ln.sku] = left.get(ln.sku, Decimal(0)) - take
    for ln in reversed(delivery.lines):
        if left.get(ln.sku, Decimal(0)) > 0:
            ln.received = (ln.received or Decimal(0)) + left[ln.sku]
            left[ln.sku] = Decimal(0)
    differences = []
    for sku in sorted(set(expected) | set(received)):
        want, got = expected.get(sku, Decimal(0)), received.get(sku, Decimal(0))
        if want == got:
            continue
        kind = "unexpected" if want == 0 else "over" if got > want else "short"
        differences.append(
            {"sku": sku, "expected": ledger.qty_text(want), "received": ledger.qty_text(got), "kind": kind}
        )
    delivery.discrepancies = differences
    delivery.status = "received"
    delivery.received_at = ev.occurred_at
    delivery.received_event_id = ev.id
    _emit(session, delivery)  # the store's own feed: its other tills see it received
    return delivery


def differences(session: Session, store_code: str | None = None) -> list[dict[str, str]]:
    """Received deliveries whose store found something else than expected, for the operator."""
    q = (
        select(Delivery, Store)
        .join(Store, Store.id == Delivery.store_id)
        .where(Delivery.status == "received")
        .order_by(Delivery.received_at)
    )
    if store_code:
        q = q.where(Store.code == store_code.strip().upper())
    out = []
    for delivery, store in session.execute(q).all():
        for d in delivery.discrepancies or []:
            out.append(
                {"store": store.code, "delivery": delivery.number, **{k: str(v) for k, v in d.items()}}
            )
    return out


# ---------------------------------------------------------------- the operator's commands


def add_commands(sub: Any, common: Any) -> None:
    """The `expect-delivery` and `deliveries` commands (the parser of sync.central.cli)."""
    expect = sub.add_parser(
        "expect-delivery",
        parents=[common],
        help="a purchase order a store is to receive, from a CSV sku,qty[,sscc]",
    )
    expect.add_argument("store")
    expect.add_argument("file")
    expect.add_argument("--supplier", required=True)
    expect.add_argument("--number", required=True, help="the purchase order's number")
    listing = sub.add_parser(
        "delivery-differences", parents=[common], help="what stores found that their deliveries did not say"
    )
    listing.add_argument("--store", default=None)


def run_expect(factory: sessionmaker[Session], args: Any) -> int:
    from pathlib import Path

    try:
        text = Path(args.file).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise stock.StockError(f"{args.file} is not UTF-8 text") from exc
    with factory.begin() as s:
        d = expect_delivery(s, args.store, text, args.supplier, args.number)
        print(f"{args.store.upper()} expects {d.number} from {d.source}: {len(d.lines)} line(s)")
    return 0


def run_differences(factory: sessionmaker[Session], args: Any) -> int:
    with factory() as s:
        rows = differences(s, args.store)
    for r in rows:
        print(
            f"{r['store']:<6} {r['delivery']:<20} {r['sku']:<12} {r['kind']:<10} expected {r['expected']}, received {r['received']}"
        )
    if not rows:
        print("no differences")
    return 0


def run_transfer(factory: sessionmaker[Session], args: Any, lines: list[stock.StockLine]) -> int:
    with factory.begin() as s:
        d = transfer(
            s,
            args.from_store,
            args.to_store,
            lines,
            from_location=args.from_location,
            reference=args.reference,
        )
        print(
            f"transferred {len(d.lines)} line(s) from {args.from_store.upper()} to {args.to_store.upper()}: "
            f"in transit as delivery {d.number} until received there"
        )
    return 0
