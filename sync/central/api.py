"""HTTP API of the central store (FastAPI): enrolment, push, pull, web orders and status.

Terminals authenticate with the bearer token they got at enrolment and only ever see or write their own store;
the storefront authenticates with an API key in `X-Api-Key`. Handlers are plain `def` functions: FastAPI runs
them on its worker threads, each with its own session.
"""

import logging
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync import protocol
from sync.central import (
    balances,
    carriers,
    curbside,
    feedwait,
    ledger,
    notices,
    office_web,
    routing,
    service,
    shipments,
    status_page,
)
from sync.central.db import make_engine, make_sessionmaker, migrate
from sync.central.models import Location, Product, StockLevel, Terminal

_bearer = HTTPBearer(auto_error=False)
_api_key = APIKeyHeader(name="X-Api-Key", auto_error=False)

_STATUS_FOR = {
    service.Forbidden: 403,
    service.NotFound: 404,
    service.Conflict: 409,
    service.SnapshotNeeded: protocol.SNAPSHOT_NEEDED_STATUS,
}


DOCS_ENV = "COUNTERLINE_CENTRAL_DOCS"
FEED_DATABASE_URL_ENV = "COUNTERLINE_CENTRAL_FEED_DATABASE_URL"


@dataclass(frozen=True)
class Caller:
    """A terminal as its bearer token names it, and which of its enrolments that token came from."""

    terminal: Terminal
    generation: int


log = logging.getLogger(__name__)


def create_app(
    database_url: str | None = None,
    engine: Engine | None = None,
    run_migrations: bool = True,
    docs: bool | None = None,
) -> FastAPI:
    """The API over the database at `database_url` (or `engine`), migrated to the newest schema first.

    The interactive docs (/docs, /redoc) and the schema (/openapi.json) are served only when asked for: `docs`,
    or COUNTERLINE_CENTRAL_DOCS=1 where `docs` is None. They tell anyone every endpoint and field."""
    engine = engine or make_engine(database_url)
    if run_migrations:
        migrate(engine=engine)
    factory = make_sessionmaker(engine)
    readers = make_sessionmaker(engine, readonly=True)
    # A chain's pulls may read a streaming replica (COUNTERLINE_CENTRAL_FEED_DATABASE_URL); all else, the primary.
    feed_url = os.environ.get(FEED_DATABASE_URL_ENV, "").strip()
    feed_engine = make_engine(feed_url) if feed_url else engine
    feed_readers = make_sessionmaker(feed_engine, readonly=True) if feed_url else readers
    if docs is None:
        docs = os.environ.get(DOCS_ENV, "") == "1"
    app = FastAPI(
        title="Counterline central store",
        version=str(protocol.PROTOCOL_VERSION),
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.add_middleware(BodyLimit, limit=protocol.MAX_BODY_BYTES)
    app.state.engine = engine
    app.state.sessions = factory
    # Who gives parcels their tracking numbers (COUNTERLINE_CARRIER; a test may set its own).
    app.state.carrier = carriers.from_settings()
    # Long-polling tills wait on this; every commit through `factory` that adds feed rows wakes them.
    feed = feedwait.FeedNotifier()
    feed.watch(factory)
    app.state.feed = feed
    app.router.on_shutdown.append(feed.close)
    if feed_engine is not engine:
        app.router.on_shutdown.append(feed_engine.dispose)

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # What was wrong and where, never the value sent: it may be megabytes, or text (a lone surrogate) that
        # cannot even be written back as JSON.
        errors = [
            {
                "loc": [_printable(str(p), 64) for p in e.get("loc", ())],
                "msg": _printable(str(e.get("msg")), 200),
            }
            for e in exc.errors()[:20]
        ]
        return JSONResponse(status_code=422, content={"detail": errors})

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    def _database_unavailable(_request: Request, exc: DBAPIError) -> JSONResponse:
        # The database's fault, not the request's (a lost connection, no connection left, a deadlock after the
        # push's own retries): 503, which a till sends again later; the connection to it stays open.
        log.warning("database unavailable: %s", (str(exc.orig or exc).splitlines() or ["?"])[0])
        return JSONResponse(
            {"detail": "the central store's database is unavailable; try again"}, status_code=503
        )

    @app.exception_handler(service.CentralError)
    def _central_error(_request: Request, exc: service.CentralError) -> JSONResponse:
        code = next((c for kind, c in _STATUS_FOR.items() if isinstance(exc, kind)), 422)
        content: dict[str, Any] = {"detail": str(exc)}
        alternatives = getattr(exc, "alternatives", None)  # routing.Unavailable: where else it could go
        if alternatives is not None:
            content["alternatives"] = alternatives
        return JSONResponse(status_code=code, content=content)

    def session() -> Iterator[Session]:
        with factory.begin() as s:
            yield s

    def reading() -> Iterator[Session]:
        with readers.begin() as s:
            yield s

    # The transaction commits before the response leaves, so a client never reads ahead of what was stored.
    Db = Annotated[Session, Depends(session, scope="function")]
    ReadDb = Annotated[Session, Depends(reading, scope="function")]

    def caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Caller:
        # Its own short transaction: SQLite has one writer, and push opens one transaction per event. Read on
        # every request, so a revoked or replaced token is refused from the next request on.
        token = credentials.credentials if credentials else ""
        with readers.begin() as s:
            found = service.terminal_for_token(s, token)
            if found is None:
                raise HTTPException(
                    401, "missing, unknown or revoked terminal token", headers={"WWW-Authenticate": "Bearer"}
                )
            return Caller(found, service.token_generation(found, token))

    def terminal(who: Annotated[Caller, Depends(caller)]) -> Terminal:
        return who.terminal

    def storefront(key: Annotated[str | None, Depends(_api_key)]) -> frozenset[str]:
        """The stores the storefront's key is for; 401 for a missing, unknown or revoked key."""
        with readers.begin() as s:
            scope = service.api_key_stores(s, key or "")
        if scope is None:
            raise HTTPException(401, "missing, unknown or revoked storefront API key")
        return scope

    @app.post("/v1/enroll")
    def enroll(body: protocol.EnrollRequest, s: Db) -> protocol.EnrollResponse:
        # service.enroll refuses control characters (a NUL cannot be stored on PostgreSQL) with 422.
        return service.enroll(s, body.code, body.terminal_name)

    @app.post("/v1/push")
    def push(body: protocol.PushBatch, who: Annotated[Caller, Depends(caller)]) -> protocol.PushResponse:
        if body.protocol_version > protocol.PROTOCOL_VERSION:
            raise HTTPException(400, f"protocol version {body.protocol_version} is newer than this server's")
        mine = (who.terminal.store_id, who.terminal.store.code)  # read with the token (`caller`)
        results = service.push(factory, who.terminal.id, body.events, who.generation, body.audit_head, mine)
        service.after_push(factory, body.events)
        return protocol.PushResponse(results=results)

    @app.get("/v1/pull")
    async def pull(
        who: Annotated[Terminal, Depends(terminal)],
        cursor: Annotated[int, Query(ge=0, le=protocol.MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=service.PULL_MAX_LIMIT)] = 500,
        store: str | None = None,
        first: bool | None = None,
        wait: Annotated[float, Query(ge=0, le=protocol.MAX_PULL_WAIT_S)] = 0,
    ) -> protocol.PullResponse:
        """The store's changes after `cursor`. With `wait`, an empty answer is held until the store's feed moves
        or `wait` seconds pass (long-poll): the wait is a coroutine, so it holds no worker thread, connection or
        transaction; each look at the feed is a short read transaction on a worker thread."""
        if store is not None and store.upper() != who.store.code:
            raise service.Forbidden(f"this terminal belongs to store {who.store.code}")
        store_id = who.store_id

        def page() -> protocol.PullResponse:
            with feed_readers.begin() as s:
                return service.pull(s, store_id, cursor, limit, first)

        deadline = time.monotonic() + wait
        while True:
            seen = feed.version(store_id)
            answer = await run_in_threadpool(page)
            left = deadline - time.monotonic()
            if answer.changes or left <= 0:
                return answer
            feed.listen(engine)  # other processes' commits wake this one's waiters (PostgreSQL)
            # A lagging feed replica has the change only after the primary's NOTIFY: look again soon.
            recheck = feedwait.RECHECK_S if feed_url else feed.recheck_s
            await feed.wait(store_id, seen, min(left, recheck))

    @app.get("/v1/snapshot")
    def snapshot(who: Annotated[Terminal, Depends(terminal)]) -> StreamingResponse:
        """The store's catalog, stock and the rest of its feed as of a cursor, gzip-compressed JSON lines (see
        protocol.SNAPSHOT_FORMAT): a till's first sync, or one whose cursor is below the compacted feed."""
        return StreamingResponse(service.snapshot_stream(engine, who.store_id), media_type="application/gzip")

    @app.get("/v1/audit/head")
    def audit_head(s: ReadDb, who: Annotated[Caller, Depends(caller)]) -> protocol.AuditHead:
        return service.audit_head(s, who.terminal.id, who.generation)

    @app.get("/v1/stores/{code}/stock")
    def stock(code: str, s: ReadDb, who: Annotated[Terminal, Depends(terminal)]) -> list[dict[str, Any]]:
        if code.upper() != who.store.code:
            raise service.Forbidden(f"this terminal belongs to store {who.store.code}")
        rows = s.execute(
            select(StockLevel, Location, Product)
            .join(Location, Location.id == StockLevel.location_id)
            .join(Product, Product.id == StockLevel.product_id)
            .where(StockLevel.store_id == who.store_id)
            .order_by(Product.sku, Location.code)
        ).all()
        return [ledger.stock_payload(loc, prod, lvl) for lvl, loc, prod in rows]

    @app.get("/v1/balances/{kind}/{account}")
    def balance(
        kind: str, account: str, s: ReadDb, who: Annotated[Terminal, Depends(terminal)]
    ) -> dict[str, Any]:
        """A store credit (account: the customer's id) or gift card (its code) balance as the central store keeps it
        now, for a till about to spend it."""
        if kind not in protocol.BALANCE_KINDS or not 0 < len(account) <= 64:
            raise HTTPException(404, "no such balance: store_credit/<customer id> or gift_card/<code>")
        return balances.lookup(s, kind, account)

    @app.get("/v1/returns/no-receipt/{customer_id}")
    def no_receipt(
        customer_id: uuid.UUID,
        s: ReadDb,
        who: Annotated[Terminal, Depends(terminal)],
        qty: Annotated[Decimal, Query(ge=0, le=protocol.MAX_QTY)] = Decimal(0),
        amount: Annotated[Decimal, Query(ge=0, le=protocol.MAX_MONEY)] = Decimal(0),
    ) -> dict[str, Any]:
        """Before a return without a receipt: whether the customer's rolling limit (chain-wide) allows it."""
        return service.no_receipt_payload(s, customer_id, qty, amount)

    @app.get("/v1/returns/{original_id}")
    def returnable(
        original_id: uuid.UUID, s: ReadDb, who: Annotated[Terminal, Depends(terminal)], web: bool = False
    ) -> dict[str, Any]:
        """What is left to take back of a sale (or, with `web`, a web order), over every till's returns so far."""
        state = service.returnable(s, original_id, web_order=web)
        if state is None:
            what = "web order" if web else "sale"
            raise service.NotFound(f"{what} {original_id} is not known here (not synced yet)")
        return state.payload()

    @app.post("/v1/orders", status_code=201)
    def place_order(
        body: protocol.OrderRequest,
        s: Db,
        scope: Annotated[frozenset[str], Depends(storefront)],
        api_key: Annotated[str | None, Depends(_api_key)],
        response: Response,
        idempotency_key: Annotated[
            str | None, Header(alias="Idempotency-Key", min_length=1, max_length=128)
        ] = None,
    ) -> dict[str, Any]:
        """Place a web order; the same Idempotency-Key from the same storefront credential with the same body
        returns the order already placed (header Idempotent-Replayed: true), with another body it is refused
        (422); another credential's same key is another order."""
        service.require_store_scope(scope, body.store)
        key_scope = routing.idempotency_scope(s, api_key) if idempotency_key is not None else None
        if idempotency_key is not None:
            placed = routing.replayed(s, idempotency_key, body, key_scope)
            if placed is not None:
                response.headers["Idempotent-Replayed"] = "true"
                return service.order_payload(placed)
        return service.order_payload(service.place_order(s, body, idempotency_key, key_scope))

    @app.post("/v1/orders/{ident}/lines/{line_no}/handback")
    def hand_back(
        ident: str,
        line_no: int,
        body: protocol.HandBackRequest,
        s: Db,
        who: Annotated[Terminal, Depends(terminal)],
    ) -> dict[str, Any]:
        """A till of the store holding the line says it cannot fulfil it; the line is routed again."""
        order = routing.hand_back(
            s, ident, line_no, body.missing, body.reason, by=f"terminal {who.code}", store_id=who.store_id
        )
        return service.order_payload(order)

    @app.post("/v1/orders/{ident}/arrived")
    def order_arrived(
        ident: str,
        s: Db,
        scope: Annotated[frozenset[str], Depends(storefront)],
        body: protocol.ArrivalRequest | None = None,
    ) -> dict[str, Any]:
        """The customer of a pickup or curbside order has arrived (optional bay, car, note); every till of the
        store gets the order with `arrived_at` from its feed at once. The same call again changes nothing."""
        order = service.find_order(s, ident)
        try:
            service.require_store_scope(scope, order.store.code)
        except service.Forbidden:
            raise service.NotFound(f"no web order {ident!r}") from None  # another store's: not even named
        order, _changed = curbside.arrived(s, ident, body or protocol.ArrivalRequest())
        return service.order_payload(order)

    @app.post("/v1/orders/{ident}/cancel")
    def cancel_order(
        ident: str, s: Db, scope: Annotated[frozenset[str], Depends(storefront)]
    ) -> dict[str, Any]:
        order = service.find_order(s, ident)
        try:
            service.require_store_scope(scope, order.store.code)
        except service.Forbidden:
            raise service.NotFound(f"no web order {ident!r}") from None  # another store's: not even named
        return service.order_payload(service.cancel_order(s, ident))

    @app.post("/v1/orders/{ident}/shipments")
    def create_shipments(
        ident: str,
        body: protocol.ShipmentRequest,
        s: Db,
        who: Annotated[Terminal, Depends(terminal)],
    ) -> protocol.ShipmentResponse:
        """A till of the order's store hands boxes of a ship order to the carrier: one tracking number per box;
        a box (SSCC) sent again returns its first answer (see sync.central.shipments)."""
        carrier: carriers.Carrier = app.state.carrier
        return shipments.create_shipments(s, who, ident, body, carrier)

    @app.get("/v1/status")
    def status(
        s: ReadDb,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> protocol.StatusResponse:
        who = service.terminal_for_token(s, credentials.credentials if credentials else "")
        return protocol.StatusResponse(
            ok=True,
            protocol_version=protocol.PROTOCOL_VERSION,
            database=engine.dialect.name,
            store=who.store.code if who else None,
            feed_head=who.store.feed_seq if who else None,
        )

    @app.get("/o/{token}", include_in_schema=False)
    def order_page(
        token: str, s: ReadDb, code: Annotated[str | None, Query(max_length=32)] = None
    ) -> Response:
        """The customer's status page (the token is in every notice); the same 404 for any token not issued."""
        order = notices.order_for_token(s, token)
        if order is None:
            return Response("no such order page\n", status_code=404, media_type="text/plain")
        return Response(status_page.render(s, order, code), media_type="text/html", headers=_PAGE_HEADERS)

    office_web.register(app, readers)  # the chain's reports: GET /v1/reports/{name}, /office/reports
    return app


# The status page runs no script and loads nothing: its only style is inline and its QR an inline SVG.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def _printable(text: str, limit: int) -> str:
    """Text fit to send back as JSON whatever a client sent (lone surrogates escaped, NUL shown as \\0)."""
    return text.replace("\x00", "\\0").encode("utf-8", "backslashreplace").decode("utf-8")[:limit]


class BodyLimit:
    """Refuse a body larger than `limit` bytes with 413 before any of it is parsed or a token is looked up: by
    its Content-Length when it says, else by counting as it streams in (at most `limit` bytes are held)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _answer(send, 400, "Content-Length is not a number")
                return
            if declared > self.limit:
                await _answer(send, 413, self._too_large())
                return
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            if len(body) > self.limit:
                await _answer(send, 413, self._too_large())
                return
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        await self.app(scope, replay, send)

    def _too_large(self) -> str:
        return f"the request body is larger than {self.limit // 1024} KiB: send fewer events at a time"


async def _answer(send: Send, status: int, detail: str) -> None:
    await JSONResponse(status_code=status, content={"detail": detail})({"type": "http"}, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def sessions_of(app: FastAPI) -> sessionmaker[Session]:
    """The session factory an app made by `create_app` works with (for the CLI and tests)."""
    factory: sessionmaker[Session] = app.state.sessions
    return factory
