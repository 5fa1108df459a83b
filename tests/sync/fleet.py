"""A chain for sync tests: the real central service (in process, or over a fault-injecting transport) and terminals,
each with its own migrated SQLite database, enrolled through the real client and selling through the real services.

Where this batch has no local service yet (returns, counts, pickups: they come with their workstations) the
terminal writes the fact the way those services will: ledger rows and the outbox event in one transaction.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from app.db.engine import make_engine, make_sessionmaker, migrate
from app.db.models import Location, Order, OutboxEvent, Product, StaffUser, StockBalance
from app.db.models import StockMovement as LocalMovement
from app.db.types import utcnow
from app.domain import staff_proof
from app.ids import new_id
from app.services import outbox, sales, shifts, staff, stock
from app.services.base import Actor
from sync import protocol, replica
from sync.agent import Syncer
from sync.central import ledger, service
from sync.central import stock as central_stock
from sync.central.api import create_app, sessions_of
from sync.central.models import AppliedEvent, StockLevel
from sync.central.models import Location as CLocation
from sync.central.models import Product as CProduct
from sync.central.models import StockMovement as CMovement
from sync.client import Client, wait_until_serving

if TYPE_CHECKING:
    from conftest import Central

BASE = "http://127.0.0.1"
SKUS = ("A1", "C3")
BARCODE = {"A1": "4006381333931", "C3": "5012345678900"}


# ---------------------------------------------------------------- faults on the wire


class Offline(httpx.ConnectError):
    pass


class FaultTransport(httpx.BaseTransport):
    """Wraps a transport and, at random, loses the request, loses the answer after the server acted, answers 500,
    times out, sends the request twice, or first replays an earlier request (a late duplicate batch)."""

    def __init__(self, inner: httpx.BaseTransport, rng: random.Random, rate: float = 0.3) -> None:
        self.inner = inner
        self.rng = rng
        self.rate = rate
        self.offline = False
        self.seen: list[httpx.Request] = []
        self.faults: dict[str, int] = defaultdict(int)

    def _copy(self, request: httpx.Request) -> httpx.Request:
        return httpx.Request(request.method, request.url, headers=request.headers, content=request.content)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.offline:
            self.faults["offline"] += 1
            raise Offline("network is down")
        if request.method == "POST":
            self.seen.append(self._copy(request))
        if self.rng.random() >= self.rate:
            return self.inner.handle_request(request)
        fault = self.rng.choice(
            ["drop_request", "drop_response", "http_500", "timeout", "duplicate", "replay"]
        )
        self.faults[fault] += 1
        if fault == "drop_request":
            raise httpx.ConnectError("connection refused (injected)")
        if fault == "timeout":
            raise httpx.ReadTimeout("read timed out (injected)")
        if fault == "http_500":
            return httpx.Response(500, json={"detail": "injected server error"})
        if fault == "drop_response":
            self.inner.handle_request(request).read()
            raise httpx.RemoteProtocolError("server closed the connection before answering (injected)")
        if fault == "duplicate":
            self.inner.handle_request(self._copy(request)).read()
            return self.inner.handle_request(request)
        # replay: an earlier batch arrives again before this one (reordered, duplicated delivery)
        if len(self.seen) > 1:
            self.inner.handle_request(self._copy(self.rng.choice(self.seen[:-1]))).read()
        return self.inner.handle_request(request)


# ---------------------------------------------------------------- the chain

CATALOG_CSV = (
    "sku,name,price,tax_class,department,barcodes,weighed\n"
    "A1,Apple juice 1l,2.50,std,drinks,4006381333931 4006381333948:6,no\n"
    "B2,Bananas,1.99,std,fruit,,yes\n"
    "C3,Coffee 500g,6.40,std,grocery,5012345678900,no\n"
)


@dataclass
class Hub:
    app: Any
    sessions: sessionmaker[Session]
    testclient: TestClient

    @classmethod
    def start(cls, url: str, stores: tuple[str, ...] = ("S1", "S2")) -> Hub:
        app = create_app(url)
        factory = sessions_of(app)
        with factory.begin() as s:
            service.set_tax_class(s, "std", "0.20", "Standard")
            for code in stores:
                service.create_store(s, code, f"Store {code}")
            service.import_catalog(s, CATALOG_CSV)
        return cls(app, factory, TestClient(app, raise_server_exceptions=False))

    @property
    def transport(self) -> httpx.BaseTransport:
        transport: httpx.BaseTransport = self.testclient._transport
        return transport

    def close(self) -> None:
        self.testclient.close()
        self.app.state.engine.dispose()

    def enrolment_code(self, store: str, terminal: str) -> str:
        with self.sessions.begin() as s:
            return service.issue_enrolment_code(s, store, terminal)

    def place_order(self, store: str, sku: str, qty: str = "1") -> dict[str, Any]:
        with self.sessions.begin() as s:
            order = service.place_order(
                s,
                protocol.OrderRequest(
                    store=store, lines=[protocol.OrderLineRequest(sku=sku, qty=Decimal(qty))]
                ),
            )
            return service.order_payload(order)

    def cancel(self, ident: str) -> None:
        with self.sessions.begin() as s:
            service.cancel_order(s, ident)

    def feed_a_change_no_till_can_apply(self, store: str = "S1") -> int:
        """Put in the store's feed a change a till cannot take (from before the central checked what it takes: a sale
        whose line has no quantity), then a price change after it (A1 at 2.75); returns the feed's head."""
        with self.sessions.begin() as s:
            shop = service.get_store(s, store)
            bad: dict[str, Any] = {"number": f"{store}-T9-000001", "terminal": "T9"}
            bad.update(
                completed_at=datetime.now(UTC).isoformat(), lines=[{"sku": "A1", "unit_price": "2.50"}]
            )
            ledger.emit(s, shop.id, protocol.CHANGE_SALE, str(uuid7()), bad)
            service.import_catalog(
                s,
                "sku,name,price,tax_class,department,barcodes,weighed\nA1,Apple juice 1l,2.75,std,drinks,,no\n",
            )
            head: int = shop.feed_seq
            return head


@dataclass
class Till:
    """One terminal: its database, its actor (the first admin), an open shift and a syncer."""

    name: str
    store: str
    factory: sessionmaker[Session]
    token: str
    transport: httpx.BaseTransport
    actor: Actor = field(default=Actor(""))
    url: str = ""
    base: str = BASE

    @classmethod
    def enrol(
        cls,
        hub: Hub,
        folder: Path,
        store: str,
        terminal: str,
        transport: httpx.BaseTransport | None = None,
        base: str = BASE,
    ) -> Till:
        folder.mkdir(parents=True, exist_ok=True)
        url = f"sqlite:///{folder / 'terminal.db'}"
        engine = make_engine(url)
        migrate(engine)
        factory = make_sessionmaker(engine)
        transport = transport or hub.transport
        # Enrolment is a person at the till with a code: done once, on a working link.
        clean = transport.inner if isinstance(transport, FaultTransport) else transport
        with Client(base, transport=clean) as c:
            enrolled = c.enroll(hub.enrolment_code(store, terminal), f"till {terminal}")
        with factory.begin() as s:
            replica.setup_store(s, enrolled, base)
            staff.create_first_admin(s, "123456")
        till = cls(f"{store}/{terminal}", store, factory, enrolled.token, transport, url=url, base=base)
        with factory() as s:
            admin = s.scalars(select(StaffUser.id)).one()
            till.actor = Actor(admin, key=staff_proof.pin_key(admin, "123456"))
        return till

    def client(self) -> Client:
        return Client(self.base, self.token, transport=self.transport, timeout=5)

    def sync(self, push_batch: int = 7, pull_page: int = 5) -> None:
        with self.client() as c:
            Syncer(self.factory, c, push_batch=push_batch, pull_page=pull_page).sync_once()

    def open_shift(self) -> None:
        with self.factory.begin() as s:
            if shifts.current_shift(s) is None:
                shifts.open_shift(s, self.actor, Decimal("100"))

    def sell(self, sku: str, qty: int = 1) -> str:
        """A counter sale through the real sales service; returns its receipt number."""
        self.open_shift()
        with self.factory.begin() as s:
            sale = sales.start_sale(s, self.actor)
            product = s.scalars(select(Product).where(Product.sku == sku)).one()
            sales.add_product(s, self.actor, sale.id, product.id, Decimal(qty))
            view = sales.add_tender(s, self.actor, sale.id, "cash", Decimal("100"))
            return sales.complete_sale(s, self.actor, view.id).sale.number

    def park(self, sku: str, qty: int = 1) -> str:
        """Ring up a sale and park it; returns the parked number."""
        self.open_shift()
        with self.factory.begin() as s:
            sale = sales.start_sale(s, self.actor)
            product = s.scalars(select(Product).where(Product.sku == sku)).one()
            sales.add_product(s, self.actor, sale.id, product.id, Decimal(qty))
            return sales.park(s, self.actor, sale.id)

    def recall_and_complete(self, number: str) -> Decimal:
        """Recall a parked sale here, pay it in cash and complete it; returns its total."""
        self.open_shift()
        with self.factory.begin() as s:
            view = sales.recall(s, self.actor, number)
            view = sales.add_tender(s, self.actor, view.id, "cash", view.total)
            return sales.complete_sale(s, self.actor, view.id).sale.total

    def take_return(self, sku: str, qty: int = 1, original_order_id: str | None = None) -> str:
        """A return to the floor, written as the returns service will: ledger row and event together; returns
        the return's id."""
        with self.factory.begin() as s:
            product = s.scalars(select(Product).where(Product.sku == sku)).one()
            floor = stock.sellable_location(s)
            order_id = new_id()
            rows = stock.record_movements(
                s, [stock.MovementIn(product.id, floor.id, Decimal(qty), "return")], "return", order_id, None
            )
            outbox.emit(
                s,
                protocol.RETURN_COMPLETED,
                {
                    "order_id": order_id,
                    "number": f"R-{order_id[-6:]}",
                    "store": self.store,
                    "terminal": self.name,
                    "lines": [
                        {
                            "sku": sku,
                            "qty": str(-qty),
                            "unit_price": str(product.price),
                            "amount": str(-product.price * qty),
                            "tax": "0",
                        }
                    ],
                    "movements": stock.movement_payload(s, rows),
                    "original_order_id": original_order_id,
                    "completed_at": utcnow().isoformat(),
                },
            )
            return order_id

    def waiting_orders(self) -> list[str]:
        with self.factory() as s:
            return list(
                s.scalars(
                    select(Order.id)
                    .where(Order.channel == "web", Order.status == "new")
                    .order_by(Order.number)
                )
            )

    def hand_over(self, order_id: str) -> None:
        """A pickup handed over, written as the pickup service will: the order's goods leave the floor, and the
        status change carries those movements."""
        with self.factory.begin() as s:
            order = s.get(Order, order_id)
            assert order is not None
            floor = stock.sellable_location(s)
            rows = stock.record_movements(
                s,
                [
                    stock.MovementIn(line.product_id, floor.id, -line.qty, "fulfilment")
                    for line in order.lines
                    if line.product_id
                ],
                "order",
                order.id,
                self.actor.user_id,
            )
            outbox.emit(
                s,
                protocol.ORDER_STATUS,
                {
                    "order_id": order.id,
                    "from": order.status,
                    "to": "collected",
                    "by": self.name,
                    "movements": stock.movement_payload(s, rows),
                },
            )
            order.status = "collected"

    def count(self, sku: str, counted: int) -> None:
        """A shelf count of the floor, as of the feed position this terminal has applied."""
        with self.factory.begin() as s:
            outbox.emit(
                s,
                protocol.STOCK_COUNT,
                {"sku": sku, "location": "floor", "counted": str(counted), "as_of_seq": replica.cursor(s)},
            )

    def receive(self, sku: str, qty: int) -> None:
        with self.factory.begin() as s:
            product = s.scalars(select(Product).where(Product.sku == sku)).one()
            stock.adjust(s, self.actor, product.id, "floor", Decimal(qty), "receipt", "delivery")

    def ledger(self) -> dict[tuple[str, str], Decimal]:
        with self.factory() as s:
            rows = s.execute(
                select(Product.sku, Location.code, StockBalance.on_hand)
                .join(Product, Product.id == StockBalance.product_id)
                .join(Location, Location.id == StockBalance.location_id)
            ).all()
        return {(sku, loc): qty for sku, loc, qty in rows}

    def movement_ids(self) -> set[str]:
        with self.factory() as s:
            return set(s.scalars(select(LocalMovement.id)))

    def outbox_pending(self) -> int:
        with self.factory() as s:
            return outbox.counts(s).get("pending", 0)

    def refused(self) -> list[tuple[str, str | None]]:
        with self.factory() as s:
            return [
                (e.type, e.error)
                for e in s.scalars(select(OutboxEvent).where(OutboxEvent.status == "rejected"))
            ]

    def outbox(self) -> dict[str, str]:
        with self.factory() as s:
            return dict(s.execute(select(OutboxEvent.id, OutboxEvent.status)).all())


def central_ledger(hub: Hub, store: str) -> dict[tuple[str, str], Decimal]:
    """On-hand per (sku, location) of one store as the central store's level rows hold it; checks each level
    against the sum of its ledger on the way."""
    with hub.sessions() as s:
        store_row = service.get_store(s, store)
        rows = s.execute(
            select(StockLevel, CLocation, CProduct)
            .join(CProduct, CProduct.id == StockLevel.product_id)
            .join(CLocation, CLocation.id == StockLevel.location_id)
            .where(StockLevel.store_id == store_row.id)
        ).all()
        out: dict[tuple[str, str], Decimal] = {}
        for level, loc, prod in rows:
            summed = ledger.ledger_on_hand(s, loc, prod)
            assert summed == level.on_hand, f"{prod.sku}@{loc.code}: level {level.on_hand}, ledger {summed}"
            if level.on_hand:
                out[(prod.sku, loc.code)] = level.on_hand
        return out


def applied_ids(hub: Hub) -> list[str]:
    with hub.sessions() as s:
        return [str(i) for i in s.scalars(select(AppliedEvent.event_id))]


def central_counts(hub: Hub, store: str) -> dict[tuple[str, str], Decimal]:
    """What stock counts changed, per (sku, location) of one store: central adjustments with no terminal row."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    with hub.sessions() as s:
        store_row = service.get_store(s, store)
        rows = s.execute(
            select(CProduct.sku, CLocation.code, CMovement.qty)
            .join(CProduct, CProduct.id == CMovement.product_id)
            .join(CLocation, CLocation.id == CMovement.location_id)
            .where(CMovement.store_id == store_row.id, CMovement.kind == "count")
        ).all()
    for sku, loc, qty in rows:
        out[(sku, loc)] += qty
    return out


def central_movement_ids(hub: Hub) -> list[str]:
    with hub.sessions() as s:
        return [str(i) for i in s.scalars(select(CMovement.id).where(CMovement.kind != "count"))]


def check_converged(hub: Hub, tills: list[Till]) -> None:
    """No event lost, none applied twice, and every store's central on-hand equals the sum of its terminals'."""
    local_events: set[str] = set()
    for till in tills:
        statuses = till.outbox()
        assert set(statuses.values()) <= {"sent"}, f"{till.name}: {till.refused()}"
        local_events |= set(statuses)
    applied = applied_ids(hub)
    assert len(applied) == len(set(applied))
    assert set(applied) == local_events
    local_moves: set[str] = set()
    for till in tills:
        local_moves |= till.movement_ids()
    moved = central_movement_ids(hub)
    assert len(moved) == len(set(moved))
    assert set(moved) == local_moves
    for store in {t.store for t in tills}:
        expected = central_counts(hub, store)
        for till in tills:
            if till.store == store:
                for key, qty in till.ledger().items():
                    expected[key] += qty
        assert central_ledger(hub, store) == {k: v for k, v in expected.items() if v}


# ---------------------------------------------------------------- the service on loopback


@contextlib.contextmanager
def serve_on_loopback(database_url: str, workers: int = 1) -> Iterator[str]:
    """`counterline-central serve` in its own process (or `workers` processes) on a free loopback port; yields its
    base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sync.central.cli",
            "serve",
            "--database-url",
            database_url,
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_serving(base, lambda: proc.poll() is None)
        except RuntimeError as exc:
            proc.terminate()
            err = proc.communicate(timeout=10)[1].decode() if proc.stderr else ""
            raise RuntimeError(f"{exc}: {err[-2000:]}") from None
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---------------------------------------------------------------- a split ship order

SPLIT_CUSTOMER = {"name": "Ann Lee", "email": "ann@example.test", "address": "1 Elm St"}


def place_split_order(central: Central, customer: dict[str, str] | None = SPLIT_CUSTOMER) -> str:
    """A ship order of S1 that routing splits over two stores (3 x A1 held at S1 only, 1 x C3 at S2 only), placed
    through the service; its id. `customer`: None for an order without one (no notices can go out)."""
    with central.sessions.begin() as s:
        central_stock.receive(s, "S1", [central_stock.StockLine("A1", Decimal(10))])
        central_stock.receive(s, "S2", [central_stock.StockLine("C3", Decimal(10))])
        body: dict[str, Any] = {
            "store": "S1",
            "fulfilment": "ship",
            "lines": [{"sku": "A1", "qty": "3"}, {"sku": "C3", "qty": "1"}],
        }
        if customer is not None:
            body["customer"] = customer
        order = service.place_order(s, protocol.OrderRequest.model_validate(body))
        assert [ln.location.store.code for ln in order.lines] == ["S1", "S2"]  # two shipments, two stores
        return str(order.id)
