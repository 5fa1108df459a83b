# ruff: noqa: E402
"""Sync protocol at scale on PostgreSQL: concurrent push, first pull of a big catalog, catch-up after a day offline.

    .venv/bin/python benchmarks/sync.py [--quick] [--push-only] [--terminals N] [--stores N] [--workers N]

Everything is real: a fresh `counterline_bench_<hex>` database on the local PostgreSQL (dropped at the end), the
central API served by uvicorn in its own process on a loopback port, and terminals with their own migrated SQLite
files in a temporary folder, enrolled through `sync.client.Client` and synced by `sync.agent.Syncer`.

1. Concurrent push: each terminal's outbox is filled with `sale.completed` events (rows written directly, in the
   shape `app.services.sales` gives them), then all terminals push at once, each from its own thread. The baseline
   inserts the same payloads into a plain table (uuid key, jsonb payload) with psycopg `executemany`, as many
   threads, one transaction per batch of the push batch size: what the server would cost if applying an event
   were just storing it. A second baseline writes every row the push inserted (the sale, its applied event, feed
   changes, movements and report facts: about 13 rows a 3-line sale) again with plain COPY into tables of the
   same shape, same threads and batches: what the push's rows cost with nothing decided about them.
2. First pull: a store opened (`service.create_store`) before a catalog of N products arrived; products, prices,
   barcodes and the store's `product` changes are bulk inserted (faster still than `service.import_catalog`, which
   writes 100,000 products to every store's feed in about 30 s) and sample payloads are checked against `service.product_payload`. A fresh terminal of
   the store then pulls the whole feed.
3. Catch-up: a terminal sells through the real sales service while offline; meanwhile another terminal of its
   store pushes its own sales, prices change and web orders come in. One `sync_once` round is timed.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder's own helper, when run as a script (a worker process it spawns imports this file without the folder
# on sys.path, and never calls main).
if __name__ == "__main__":
    import _machine

# Run as a script, this file's folder comes first on sys.path and its name would hide the `sync` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from app.db.engine import make_engine as make_local_engine
from app.db.engine import make_sessionmaker as make_local_sessionmaker
from app.db.engine import migrate as migrate_local
from app.db.models import OutboxEvent, StaffUser
from app.db.models import Product as LocalProduct
from app.demo import ean13
from app.ids import new_id
from app.services import catalog as catalog_service
from app.services import outbox, sales, shifts, staff
from app.services.base import Actor
from sync import protocol, replica
from sync.agent import PUSH_BATCH, Syncer
from sync.central import ledger, service
from sync.central.db import make_engine, make_sessionmaker, migrate
from sync.central.models import AppliedEvent, Barcode, FeedChange, Price, Product, Store, Terminal
from sync.client import DEFAULT_TIMEOUT, Client, Retryable, wait_until_serving

# the tests' own role (LOGIN CREATEDB, not a superuser), made by `make postgres`
PG_ROLE = "counterline_test"
PG_ADMIN = f"host=127.0.0.1 port=5432 user={PG_ROLE} dbname=postgres connect_timeout=3"
TAX = ("std", Decimal("0.20"))
SMALL_CATALOG = 200  # products the sales sell from
LINES_PER_SALE = 3
STOCK_PER_SKU = 10_000_000
WEB_ORDERS = 20
REPRICED = 50
BENCH_TIMEOUT = httpx.Timeout(900.0, connect=5.0)


@dataclass(frozen=True)
class Sizes:
    terminals: int
    events: int  # per terminal
    stores: int
    catalog: int
    catchup: int


FULL = Sizes(terminals=20, events=5_000, stores=1, catalog=100_000, catchup=2_000)
QUICK = Sizes(terminals=4, events=200, stores=1, catalog=10_000, catchup=200)


def log(message: str) -> None:
    print(f"  .. {message}", flush=True)


# ---------------------------------------------------------------- database and server


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh database for this run, dropped (FORCE) however the run ends."""
    admin = psycopg.connect(PG_ADMIN, autocommit=True)
    name = f"counterline_bench_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{PG_ROLE}@127.0.0.1:5432/{name}"
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


SERVER_PIDS: dict[str, int] = {}  # base URL -> the uvicorn process serving it


def cpu_seconds_of(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    """A process and its descendants now (`serve --workers N`: the supervisor and its workers), from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return found


def total_cpu_seconds(pids: list[int]) -> float:
    """CPU time these processes have used so far (one that ended in the meantime is not counted)."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds_of(pid)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            pass
    return total


def peak_resident_mb(pid: int) -> float:
    """A process's peak resident memory so far (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def dsn(url: str) -> str:
    """psycopg's connection string for a SQLAlchemy PostgreSQL URL."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def postgres_cpu_seconds(url: str) -> float:
    """CPU time the PostgreSQL backends serving the benchmark's database have used so far (the server is local;
    a backend that ended in the meantime is not counted)."""
    dbname = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        pids = [
            row[0] for row in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (dbname,))
        ]
    return total_cpu_seconds(pids)


@contextmanager
def central_server(url: str, log_path: Path, workers: int = 1) -> Iterator[str]:
    """The API under uvicorn in its own process (its own GIL, as on a real server), made as `serve --workers`
    makes each worker (`worker_app`: the database migrated before, the start-up heap settled), with `workers`
    worker processes behind one port as `serve --workers N` runs them; its output goes to `log_path` so
    `server_errors` can count what went wrong."""
    port = free_port()
    # As `serve --workers N` tells its workers how many they are (`serving.WORKERS_ENV`).
    env = dict(os.environ, COUNTERLINE_CENTRAL_DATABASE_URL=url, COUNTERLINE_CENTRAL_WORKERS=str(workers))
    cmd = [sys.executable, "-m", "uvicorn", "sync.central.serving:worker_app", "--factory"]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    # From the repo root: `-m` puts the working folder first on sys.path, and benchmarks/ would hide `sync`.
    log_file = log_path.open("w")
    proc = subprocess.Popen(
        cmd, env=env, cwd=Path(__file__).resolve().parents[1], stdout=log_file, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = proc.pid
    try:
        wait_until_serving(base, lambda: proc.poll() is None, timeout_s=60)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_file.close()


def server_errors(log_path: Path) -> Counter[str]:
    """The last line of every traceback the server logged (an unhandled exception is an HTTP 500)."""
    found: Counter[str] = Counter()
    for line in log_path.read_text(errors="replace").splitlines():
        if line and not line[0].isspace() and not line.startswith(("ERROR:", "Traceback", "During handling")):
            if "Error" in line.split(":", 1)[0] or "Exception" in line.split(":", 1)[0]:
                found[line.split(" (Background on this error", 1)[0][:120]] += 1
    return found


def applied_count(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).select_from(AppliedEvent)) or 0


# ---------------------------------------------------------------- catalog and stores


def sku(i: int) -> str:
    return f"P{i:05d}"


def price_of(i: int) -> Decimal:
    return Decimal(99 + (i * 37) % 900) / 100


def small_catalog_csv() -> str:
    rows = ["sku,name,price,tax_class,department,barcodes,weighed"]
    for i in range(SMALL_CATALOG):
        rows.append(f"{sku(i)},Item {i},{price_of(i)},{TAX[0]},dept{i % 8},{ean13(f'5410{i:08d}')},no")
    return "\n".join(rows) + "\n"


def receive_stock(factory: sessionmaker[Session], terminal_id: int) -> None:
    """Stock on the floor of the terminal's store for every small-catalog sku, through the real push path."""
    events = [
        protocol.Event(
            id=uuid7(),
            type=protocol.STOCK_MOVEMENT,
            occurred_at=datetime.now(UTC),
            payload={
                "id": new_id(),
                "sku": sku(i),
                "location": "floor",
                "qty": f"{STOCK_PER_SKU}.000",
                "kind": "receipt",
            },
        )
        for i in range(SMALL_CATALOG)
    ]
    results = service.push(factory, terminal_id, events)
    assert all(r.status == "applied" for r in results), [r for r in results if r.status != "applied"][:3]


def bulk_catalog(factory: sessionmaker[Session], n: int, store_code: str) -> None:
    """`n` more products with a price and a barcode each, in bulk, and a `product` change for each in the feed of
    `store_code` only, as `service.create_store` would have written it (`service.catalog_payloads`)."""
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with factory.begin() as s:
        store = ledger.lock_store(s, service.get_store(s, store_code).id)
        first = (s.scalar(select(func.max(Product.id))) or 0) + 1
        seq = store.feed_seq
        step = 10_000
        for start in range(0, n, step):
            ids = range(first + start, first + min(n, start + step))
            products = [
                {
                    "id": pid,
                    "sku": f"C{pid:07d}",
                    "name": f"Catalog item {pid}",
                    "tax_class": TAX[0],
                    "department": f"dept{pid % 20}",
                    "weighed": False,
                    "scale_code": None,
                    "active": True,
                    "updated_at": yesterday,
                }
                for pid in ids
            ]
            codes = {pid: ean13(f"549{pid:09d}") for pid in ids}
            s.execute(insert(Product), products)
            s.execute(
                insert(Barcode), [{"code": codes[pid], "product_id": pid, "pack_qty": 1} for pid in ids]
            )
            s.execute(
                insert(Price),
                [{"product_id": pid, "price": price_of(pid), "effective_from": yesterday} for pid in ids],
            )
            changes = []
            for pid, p in zip(ids, products, strict=True):
                seq += 1
                payload = {
                    "sku": p["sku"],
                    "name": p["name"],
                    "price": ledger.money_text(price_of(pid)),
                    "tax_class": p["tax_class"],
                    "department": p["department"],
                    "barcodes": [{"code": codes[pid], "pack_qty": 1}],
                    "weighed": p["weighed"],
                    "scale_code": p["scale_code"],
                    "active": p["active"],
                }
                changes.append(
                    {
                        "store_id": store.id,
                        "seq": seq,
                        "type": protocol.CHANGE_PRODUCT,
                        "key": p["sku"],
                        "payload": payload,
                    }
                )
            s.execute(insert(FeedChange), changes)
        store.feed_seq = seq
        for table in ("products", "prices"):
            s.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
            )
    # The rows written here must be what the service itself would have published for these products.
    with factory() as s:
        for pid in (first, first + n // 2, first + n - 1):
            product = s.get(Product, pid)
            assert product is not None
            change = s.scalar(
                select(FeedChange).where(FeedChange.store_id == store.id, FeedChange.key == product.sku)
            )
            assert change is not None and change.payload == service.product_payload(s, product), change


def terminal_id(factory: sessionmaker[Session], store: str, code: str) -> int:
    with factory() as s:
        tid = s.scalar(
            select(Terminal.id)
            .join(Store, Store.id == Terminal.store_id)
            .where(Store.code == store, Terminal.code == code)
        )
        assert tid is not None
        return tid


# ---------------------------------------------------------------- terminals


@dataclass
class Till:
    store: str
    code: str
    factory: sessionmaker[Session]
    token: str
    base: str
    payloads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def client(self) -> TimedClient:
        # A long read timeout, so the figures measure the server rather than the retries (see the batch latency).
        return TimedClient(self.base, self.token, timeout=BENCH_TIMEOUT)


class TimedClient(Client):
    """The real client, noting how long each push and pull call took (as a till sees it, HTTP included)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.push_seconds: list[float] = []
        self.pull_seconds: list[float] = []

    def push(
        self, events: list[protocol.Event], audit_head: protocol.AuditAnchor | None = None
    ) -> protocol.PushResponse:
        start = time.perf_counter()
        try:
            return super().push(events, audit_head)
        finally:
            self.push_seconds.append(time.perf_counter() - start)

    def pull(
        self, cursor: int, limit: int = 500, first: bool = False, wait: float = 0
    ) -> protocol.PullResponse:
        start = time.perf_counter()
        try:
            return super().pull(cursor, limit, first, wait)
        finally:
            self.pull_seconds.append(time.perf_counter() - start)


def local_template(folder: Path) -> Path:
    """One migrated terminal database to copy, since running the migrations for every till takes seconds."""
    path = folder / "template.db"
    engine = make_local_engine(f"sqlite:///{path}")
    migrate_local(engine)
    engine.dispose()
    return path


def enrol(
    central: sessionmaker[Session], base: str, template: Path, folder: Path, store: str, code: str
) -> Till:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "terminal.db"
    shutil.copy(template, path)
    factory = make_local_sessionmaker(make_local_engine(f"sqlite:///{path}"))
    with central.begin() as s:
        one_time = service.issue_enrolment_code(s, store, code)
    with Client(base) as c:
        enrolled = c.enroll(one_time, f"till {code}")
    with factory.begin() as s:
        replica.setup_store(s, enrolled, base)
    return Till(store, code, factory, enrolled.token, base)


def sale_payload(till: Till, number: str, first_sku: int) -> dict[str, Any]:
    """A `sale.completed` payload as `app.services.sales` writes it: lines, cash payment, totals, movements."""
    lines, movements = [], []
    total = Decimal(0)
    for k in range(LINES_PER_SALE):
        i = (first_sku + k) % SMALL_CATALOG
        price = price_of(i)
        tax = (price * TAX[1] / (1 + TAX[1])).quantize(Decimal("0.01"))
        total += price
        lines.append(
            {
                "sku": sku(i),
                "name": f"Item {i}",
                "qty": "1.000",
                "unit_price": str(price),
                "amount": str(price),
                "tax": str(tax),
                "tax_class": TAX[0],
            }
        )
        movements.append(
            {"id": new_id(), "sku": sku(i), "location": "floor", "qty": "-1.000", "kind": "sale"}
        )
    return {
        "order_id": new_id(),
        "number": number,
        "store": till.store,
        "terminal": till.code,
        "completed_at": datetime.now(UTC).isoformat(),
        "lines": lines,
        "payments": [{"kind": "cash", "amount": str(total)}],
        "totals": {"subtotal": str(total), "discount_total": "0.00", "total": str(total), "change": "0.00"},
        "movements": movements,
    }


def fill_outbox(till: Till, n: int, seed: int) -> None:
    """`n` queued sales in the till's outbox, written straight into the table (one transaction)."""
    now = datetime.now(UTC)
    rows = []
    for k in range(n):
        payload = sale_payload(till, f"{till.store}-{till.code}-{k + 1:06d}", seed + k * LINES_PER_SALE)
        event_id = new_id()
        till.payloads.append((event_id, payload))
        rows.append(
            {
                "id": event_id,
                "type": protocol.SALE_COMPLETED,
                "payload": payload,
                "created_at": now,
                "status": "pending",
                "attempts": 0,
            }
        )
    with till.factory.begin() as s:
        s.execute(insert(OutboxEvent), rows)


def pending_count(till: Till) -> int:
    with till.factory() as s:
        return outbox.counts(s).get("pending", 0)


# ---------------------------------------------------------------- 1. concurrent push


@dataclass
class PushFigures:
    events: int
    seconds: float
    retries: int
    retry_reasons: list[tuple[str, int]]
    batch_p50: float
    batch_max: float
    rejected: int


def run_concurrently(work: list[Any], fn: Any) -> tuple[float, list[Any]]:
    """Run `fn(item)` for every item on its own thread, all released at once; wall time from release to last."""
    gate = threading.Barrier(len(work) + 1)
    out: list[Any] = [None] * len(work)
    errors: list[BaseException] = []

    def body(k: int, item: Any) -> None:
        gate.wait()
        try:
            out[k] = fn(item)
        except BaseException as exc:  # reported after the join
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(k, item)) for k, item in enumerate(work)]
    for t in threads:
        t.start()
    gate.wait()
    start = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed, out


def push_all(till: Till) -> tuple[dict[str, int], list[str], list[float]]:
    """Push until nothing is pending; a Retryable is retried at once (the agent would back off first).

    Returns the outbox's final counts by status, the reasons of the retries and the latency of every push call.
    """
    retries: list[str] = []
    client = till.client()
    with client:
        syncer = Syncer(till.factory, client)
        while True:
            try:
                syncer.push_pending()
            except Retryable as exc:
                retries.append(str(exc))
                continue
            with till.factory() as s:
                counts = outbox.counts(s)
            if not counts.get("pending"):
                return counts, retries, client.push_seconds


def concurrent_push(tills: list[Till]) -> PushFigures:
    seconds, results = run_concurrently(tills, push_all)
    latencies = [x for r in results for x in r[2]]
    reasons = Counter(reason[:90] for r in results for reason in r[1])
    return PushFigures(
        events=sum(r[0].get("sent", 0) for r in results),
        seconds=seconds,
        retries=sum(reasons.values()),
        retry_reasons=reasons.most_common(3),
        batch_p50=statistics.median(latencies),
        batch_max=max(latencies),
        rejected=sum(r[0].get("rejected", 0) for r in results),
    )


def plain_insert(url: str, tills: list[Till]) -> float:
    """Baseline: the same payloads into `plain_events (id uuid primary key, payload jsonb)`, one thread and one
    connection per till, psycopg executemany, one transaction per batch of PUSH_BATCH rows."""
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE plain_events (id uuid PRIMARY KEY, payload jsonb NOT NULL)")

    def insert_rows(till: Till) -> None:
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            rows = till.payloads
            for i in range(0, len(rows), PUSH_BATCH):
                with conn.transaction(), conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO plain_events (id, payload) VALUES (%s, %s)",
                        [(eid, Jsonb(p)) for eid, p in rows[i : i + PUSH_BATCH]],
                    )

    seconds, _ = run_concurrently(tills, insert_rows)
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM plain_events").fetchone()
        assert row is not None and row[0] == sum(len(t.payloads) for t in tills)
    return seconds


# The tables a push of sales inserts into (its UPDATEs of stock levels, stores and terminals are left out).
PUSHED_TABLES = (
    "sales",
    "applied_events",
    "change_feed",
    "stock_movements",
    "tender_facts",
    "sale_facts",
    "sale_line_facts",
    "discount_facts",
)


def transaction_id(url: str) -> int:
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        row = conn.execute("SELECT txid_current()").fetchone()
        assert row is not None
        return int(row[0])


def same_rows_insert(url: str, since_xid: int, tills: list[Till]) -> tuple[float, int]:
    """Baseline: every row the push inserted (each table in PUSHED_TABLES, rows written after transaction
    `since_xid`), read back and written again with plain COPY into tables of the same shape (columns, defaults,
    indexes; no triggers, no foreign keys), as many threads as tills, one transaction per batch of PUSH_BATCH
    events writing its share of every table: what the push's rows cost with nothing decided about them.
    Returns the seconds and the number of rows."""
    chunks = max(1, sum(len(t.payloads) for t in tills) // PUSH_BATCH)
    # xmin is the 32-bit id of the inserting transaction; a fresh database is far from wrapping. Rows are read as
    # text, as COPY gives them, and written back the same way: no value is converted on the client.
    since = since_xid % 2**32
    with psycopg.connect(dsn(url), autocommit=True) as conn:
        data: dict[str, list[tuple[Any, ...]]] = {}
        for table in PUSHED_TABLES:
            conn.execute(f"CREATE TABLE plain_{table} (LIKE {table} INCLUDING DEFAULTS INCLUDING INDEXES)")
            with (
                conn.cursor() as cur,
                cur.copy(
                    f"COPY (SELECT * FROM {table} WHERE xmin::text::bigint > {since}) TO STDOUT"
                ) as copy,
            ):
                data[table] = list(copy.rows())
    work = [list(range(k, chunks, len(tills))) for k in range(len(tills))]

    def copy_chunks(mine: list[int]) -> None:
        with psycopg.connect(dsn(url), autocommit=True) as conn:
            for c in mine:
                with conn.transaction(), conn.cursor() as cur:
                    for table, rows in data.items():
                        part = rows[c * len(rows) // chunks : (c + 1) * len(rows) // chunks]
                        with cur.copy(f"COPY plain_{table} FROM STDIN") as copy:
                            for row in part:
                                copy.write_row(row)

    seconds, _ = run_concurrently(work, copy_chunks)
    return seconds, sum(len(rows) for rows in data.values())


# ---------------------------------------------------------------- 3. catch-up


@dataclass
class CatchUpFigures:
    sales: int
    pushed: int
    pulled: int
    seconds: float
    push_seconds: float
    pull_http_seconds: float
    sell_seconds: float


def sell_offline(till: Till, n: int) -> None:
    """`n` counter sales of LINES_PER_SALE items each, through the real sales service, one transaction each."""
    with till.factory.begin() as s:
        staff.create_first_admin(s, "123456")
    with till.factory() as s:
        actor = Actor(s.scalars(select(StaffUser.id)).one())
        products = list(
            s.scalars(select(LocalProduct.id).where(LocalProduct.sku.like("P%")).order_by(LocalProduct.sku))
        )
    assert len(products) == SMALL_CATALOG, f"the till has {len(products)} of {SMALL_CATALOG} products"
    with till.factory.begin() as s:
        shifts.open_shift(s, actor, Decimal("100"))
    for k in range(n):
        with till.factory.begin() as s:
            sale = sales.start_sale(s, actor)
            view = None
            for j in range(LINES_PER_SALE):
                view = sales.add_product(s, actor, sale.id, products[(k * 7 + j) % SMALL_CATALOG]).sale
            assert view is not None
            paid = sales.add_tender(s, actor, sale.id, "cash", view.total)
            sales.complete_sale(s, actor, paid.id)


def catch_up(
    central: sessionmaker[Session], base: str, template: Path, folder: Path, n: int
) -> CatchUpFigures:
    store = "C1"
    with central.begin() as s:
        service.create_store(s, store, "Catch-up store")
    offline = enrol(central, base, template, folder / "cu", store, "CU")
    other = enrol(central, base, template, folder / "ot", store, "OT")
    receive_stock(central, terminal_id(central, store, "OT"))
    for till in (offline, other):
        with till.client() as c:
            Syncer(till.factory, c).sync_once()
    log(f"catch-up: {n} real sales on the offline till")
    start = time.perf_counter()
    sell_offline(offline, n)
    sell_seconds = time.perf_counter() - start
    # The day goes on at the central store: the other till's sales, new prices, web orders.
    fill_outbox(other, n, seed=11)
    with other.client() as c:
        Syncer(other.factory, c).push_pending()
    csv_rows = ["sku,name,price,tax_class,department,barcodes,weighed"]
    for i in range(REPRICED):
        csv_rows.append(
            f"{sku(i)},Item {i},{price_of(i) + 1},{TAX[0]},dept{i % 8},{ean13(f'5410{i:08d}')},no"
        )
    with central.begin() as s:
        service.import_catalog(s, "\n".join(csv_rows) + "\n")
        for i in range(WEB_ORDERS):
            order = protocol.OrderRequest(
                store=store, lines=[protocol.OrderLineRequest(sku=sku(i), qty=Decimal(1))]
            )
            service.place_order(s, order)
    with offline.factory() as s:
        queued = outbox.counts(s).get("pending", 0)
    c = offline.client()
    with c:
        start = time.perf_counter()
        report = Syncer(offline.factory, c).sync_once()
        seconds = time.perf_counter() - start
        push_seconds, pull_http = sum(c.push_seconds), sum(c.pull_seconds)
    assert report.rejected == 0, f"{report.rejected} events rejected"
    assert report.pushed == queued, (report.pushed, queued)
    assert pending_count(offline) == 0
    return CatchUpFigures(n, report.pushed, report.pulled, seconds, push_seconds, pull_http, sell_seconds)


# ---------------------------------------------------------------- 2. first pull


@dataclass
class PullFigures:
    products: int
    changes: int
    seconds: float
    http_seconds: float  # in pull calls: the server's query and JSON, and the wire
    setup_seconds: float
    replay: PullFigures | None = None  # the same first pull replaying the feed page by page (no snapshot)
    rss_start_mb: float = 0.0  # the till process's resident memory before its first sync
    rss_peak_mb: float = 0.0  # and at its highest during it
    cpu_seconds: float = 0.0  # the till process's CPU time in the sync (its share of a busy machine aside)
    server_cpu_seconds: float = 0.0  # the central's (uvicorn) CPU time meanwhile


def first_pull(
    central: sessionmaker[Session],
    base: str,
    template: Path,
    folder: Path,
    n: int,
    replay: bool = False,
    expected_extra: int = SMALL_CATALOG,
) -> PullFigures:
    """A fresh till of a new store syncs for the first time (a snapshot), in a process of its own so its resident
    memory is its own; with `replay`, another fresh till replays the feed page by page, as before snapshots."""
    start = time.perf_counter()
    with central.begin() as s:
        service.create_store(s, "N1", "New store")
    bulk_catalog(central, n, "N1")
    setup_seconds = time.perf_counter() - start
    runs = [True, False] if replay else [True]
    figures: list[PullFigures] = []
    for k, snapshots in enumerate(runs):
        till = enrol(central, base, template, folder / f"new{k}", "N1", f"T{k + 1}")
        path = str(till.factory.kw["bind"].url.database)
        server_cpu = cpu_seconds_of(SERVER_PIDS[base])
        with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
            pulled, seconds, http_seconds, rss, cpu = pool.submit(
                _till_first_sync, path, base, till.token, snapshots
            ).result()
        server_cpu = cpu_seconds_of(SERVER_PIDS[base]) - server_cpu
        with till.factory() as s:
            products = s.scalar(select(func.count()).select_from(LocalProduct)) or 0
            found = catalog_service.search(s, "catalog item 7")
        assert products == n + expected_extra, (products, n + expected_extra)
        assert found, "the search index does not find the products of the first sync"
        figures.append(
            PullFigures(products, pulled, seconds, http_seconds, setup_seconds, None, *rss, cpu, server_cpu)
        )
    if replay:
        return replace(figures[0], replay=figures[1])
    return figures[0]


def _resident_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _till_first_sync(
    path: str, base: str, token: str, snapshots: bool
) -> tuple[int, float, float, tuple[float, float], float]:
    """In the till's own process: its first sync, timed, with its resident memory before and at peak."""
    factory = make_local_sessionmaker(make_local_engine(f"sqlite:///{path}"))
    with factory() as s:  # connect and load what the till loads anyway before the sync starts
        s.scalar(select(func.count()).select_from(LocalProduct))
    before = _resident_mb()
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.05):
            peak[0] = max(peak[0], _resident_mb())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    c = TimedClient(base, token, timeout=BENCH_TIMEOUT)
    with c:
        start, cpu = time.perf_counter(), time.process_time()
        pulled, _cursor = Syncer(factory, c, snapshots=snapshots).pull_changes()
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    sampler.join()
    peak[0] = max(peak[0], _resident_mb())
    return pulled, seconds, sum(c.pull_seconds), (before, peak[0]), cpu


def pull_rows(pull: PullFigures) -> list[tuple[str, str, str]]:
    rows = [
        ("2. First pull", f"{pull.products:,} products, fresh SQLite", "snapshot, then the feed after it"),
        ("  changes applied", f"{pull.changes:,}", ""),
        (
            "  time",
            f"{pull.seconds:.2f} s ({pull.changes / pull.seconds:,.0f} changes/s)",
            f"CPU: till {pull.cpu_seconds:.1f} s, central {pull.server_cpu_seconds:.1f} s; in pull calls {pull.http_seconds:.2f} s (snapshot streamed while applied)",
        ),
        (
            "  till resident memory",
            f"{pull.rss_peak_mb:.0f} MB peak",
            f"{pull.rss_start_mb:.0f} MB before the sync, +{pull.rss_peak_mb - pull.rss_start_mb:.0f} MB",
        ),
    ]
    if pull.replay is not None:
        old = pull.replay
        rows += [
            (
                "  replaying the feed instead",
                f"{old.seconds:.2f} s",
                f"CPU: till {old.cpu_seconds:.1f} s, central {old.server_cpu_seconds:.1f} s; in pull calls {old.http_seconds:.2f} s, "
                f"applying {old.seconds - old.http_seconds:.2f} s; "
                f"{old.rss_peak_mb:.0f} MB peak; snapshot {old.seconds / pull.seconds:.1f}x faster",
            )
        ]
    rows.append(
        ("  (central catalog set-up, not timed)", f"{pull.setup_seconds:.2f} s", "bulk insert + feed rows")
    )
    return rows


def catch_up_rows(catch: CatchUpFigures) -> list[tuple[str, str, str]]:
    return [
        (
            "3. Catch-up after a day offline",
            f"{catch.sales:,} real sales queued",
            f"sold in {catch.sell_seconds:.1f} s",
        ),
        ("  events pushed / changes pulled", f"{catch.pushed:,} / {catch.pulled:,}", ""),
        (
            "  one sync_once round",
            f"{catch.seconds:.2f} s",
            f"push {catch.push_seconds:.2f} s, pull calls {catch.pull_http_seconds:.2f} s",
        ),
    ]


def print_rows(rows: list[tuple[str, str, str]]) -> None:
    """The report: one figure a line, names and values in aligned columns, a note after."""
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {note}".rstrip())


def first_pull_main(n: int, replay: bool) -> int:
    """Only the first pull of `n` products, on a fresh central (PostgreSQL, uvicorn)."""
    print(f"sync benchmark: first pull of a {n:,}-product catalog", flush=True)
    with tempfile.TemporaryDirectory(prefix="counterline-sync-") as tmp, postgres_database() as url:
        folder = Path(tmp)
        engine = make_engine(url)
        try:
            migrate(engine=engine)
            central = make_sessionmaker(engine)
            with central.begin() as s:
                service.set_tax_class(s, TAX[0], str(TAX[1]), "Standard")
            template = local_template(folder)
            server_log = folder / "central.log"
            with central_server(url, server_log) as base:
                pull = first_pull(central, base, template, folder, n, replay, expected_extra=0)
            errors = server_errors(server_log)
        finally:
            engine.dispose()
    print_rows(pull_rows(pull) + [("server errors", f"{k} x", e) for e, k in errors.most_common(3)])
    return 1 if errors else 0


# ---------------------------------------------------------------- main


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run (about a minute)")
    ap.add_argument("--terminals", type=int, help="pushing terminals (default 20, quick 4)")
    ap.add_argument(
        "--events", type=int, help="queued events per pushing terminal (default 5,000, quick 200)"
    )
    ap.add_argument(
        "--stores", type=int, help="spread the pushing terminals over this many stores (default 1)"
    )
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="the central's API worker processes, as `serve --workers N` runs them (default 1)",
    )
    ap.add_argument(
        "--catalog", type=int, help="products in the first pull (default 100,000, quick 10,000; try 1000000)"
    )
    ap.add_argument(
        "--first-pull-only", action="store_true", help="run only the first pull (phase 2), on a fresh central"
    )
    ap.add_argument(
        "--push-only",
        action="store_true",
        help="run only the concurrent push and its plain INSERT baseline (phase 1), no catch-up or first pull",
    )
    ap.add_argument(
        "--replay",
        action="store_true",
        help="also time the first pull replaying the feed page by page, as before snapshots (slow at 1,000,000)",
    )
    args = ap.parse_args()
    print(_machine.speed_line(), flush=True)
    sizes = QUICK if args.quick else FULL
    if args.catalog:
        sizes = replace(sizes, catalog=args.catalog)
    if args.first_pull_only:
        return first_pull_main(sizes.catalog, args.replay)
    sizes = Sizes(
        args.terminals or sizes.terminals,
        args.events or sizes.events,
        min(args.stores or sizes.stores, args.terminals or sizes.terminals),
        sizes.catalog,
        sizes.catchup,
    )
    print(
        f"sync benchmark ({'quick' if args.quick else 'full'}): {sizes.terminals} terminals x {sizes.events:,} "
        f"events in {sizes.stores} store(s), {sizes.catalog:,}-product catalog, catch-up of {sizes.catchup:,} sales",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="counterline-sync-") as tmp, postgres_database() as url:
        folder = Path(tmp)
        engine = make_engine(url)
        try:
            migrate(engine=engine)
            central = make_sessionmaker(engine)
            push_stores = [f"S{k + 1}" for k in range(sizes.stores)]
            with central.begin() as s:
                service.set_tax_class(s, TAX[0], str(TAX[1]), "Standard")
                service.import_catalog(s, small_catalog_csv())
                for code in push_stores:
                    service.create_store(s, code, f"Store {code}")
            template = local_template(folder)
            server_log = folder / "central.log"
            with central_server(url, server_log, args.workers) as base:
                log(f"enrolling {sizes.terminals} terminals and queueing {sizes.events:,} sales each")
                tills = [
                    enrol(
                        central, base, template, folder / f"t{k}", push_stores[k % sizes.stores], f"T{k + 1}"
                    )
                    for k in range(sizes.terminals)
                ]
                for code in push_stores:
                    first = next(t for t in tills if t.store == code)
                    receive_stock(central, terminal_id(central, code, first.code))
                for k, till in enumerate(tills):
                    fill_outbox(till, sizes.events, seed=k)
                log("pushing")
                before = applied_count(central)
                xid_before = transaction_id(url)
                push_cpu, till_cpu = total_cpu_seconds(process_tree(SERVER_PIDS[base])), time.process_time()
                pg_cpu = postgres_cpu_seconds(url)
                push = concurrent_push(tills)
                push_cpu, till_cpu = (
                    total_cpu_seconds(process_tree(SERVER_PIDS[base])) - push_cpu,
                    time.process_time() - till_cpu,
                )
                pg_cpu = postgres_cpu_seconds(url) - pg_cpu
                central_mb = max(peak_resident_mb(pid) for pid in process_tree(SERVER_PIDS[base]))
                load = os.getloadavg()[0]
                applied = applied_count(central) - before
                push_errors = server_errors(server_log)
                log(f"pushed {push.events:,} in {push.seconds:.1f} s; plain insert baseline")
                plain = plain_insert(url, tills)
                same_rows, same_count = same_rows_insert(url, xid_before, tills)
                catch, pull = None, None
                if not args.push_only:
                    catch = catch_up(central, base, template, folder, sizes.catchup)
                    log(
                        f"caught up in {catch.seconds:.1f} s; the {sizes.catalog:,}-product catalog and its "
                        "first pull"
                    )
                    pull = first_pull(central, base, template, folder, sizes.catalog, args.replay)
            later_errors = server_errors(server_log) - push_errors
        finally:
            engine.dispose()

    expected = sizes.terminals * sizes.events
    read_timeout = DEFAULT_TIMEOUT.read or 0.0
    over = " (over the client's default read timeout)" if push.batch_max > read_timeout else ""
    rows = [
        ("1. Concurrent push", f"{sizes.terminals} terminals x {sizes.events:,} sales", ""),
        (
            "  layout",
            f"{sizes.stores} store(s), {LINES_PER_SALE} lines per sale",
            f"PostgreSQL, uvicorn, {args.workers} API worker process(es)",
        ),
        (
            "  events pushed / applied_events added",
            f"{push.events:,} / {applied:,}",
            f"expected {expected:,}",
        ),
        ("  wall time", f"{push.seconds:.2f} s", ""),
        (
            "  central CPU (uvicorn processes)",
            f"{push_cpu * 1000 / max(push.events, 1):.2f} ms/event",
            f"{push_cpu:.1f} s in all; PostgreSQL's own CPU not counted",
        ),
        (
            "  central peak resident memory",
            f"{central_mb:.0f} MB",
            "the largest uvicorn process, to the end of the push",
        ),
        (
            "  PostgreSQL CPU (its backends)",
            f"{pg_cpu * 1000 / max(push.events, 1):.2f} ms/event",
            f"{pg_cpu:.1f} s in all, the backends of the benchmark's database",
        ),
        (
            "  tills' CPU (this process)",
            f"{till_cpu * 1000 / max(push.events, 1):.2f} ms/event",
            f"load average {load:.1f} at the end of the push (2 cores)",
        ),
        ("  throughput", f"{push.events / push.seconds:,.0f} events/s", ""),
        (
            f"  push call ({PUSH_BATCH} events) p50 / max",
            f"{push.batch_p50:.2f} s / {push.batch_max:.2f} s",
            f"client default read timeout {read_timeout:.0f} s{over}",
        ),
        ("  push calls retried / events rejected", f"{push.retries} / {push.rejected}", ""),
        *[("    retried because", f"{n} x", reason) for reason, n in push.retry_reasons],
        *[("    server error during push", f"{n} x", error) for error, n in push_errors.most_common(3)],
        (
            "  plain INSERT baseline",
            f"{plain:.2f} s ({expected / plain:,.0f} rows/s)",
            f"same payloads, uuid + jsonb, executemany, 1 txn per {PUSH_BATCH}",
        ),
        ("  ratio push time / plain insert time", f"{push.seconds / plain:,.1f}x", ""),
        (
            "  plain COPY of the same rows",
            f"{same_rows:.2f} s ({same_count:,} rows)",
            f"every row the push inserted, {len(PUSHED_TABLES)} tables, same threads and batches",
        ),
        ("  ratio push time / same rows' COPY", f"{push.seconds / same_rows:,.1f}x", "what deciding costs"),
    ]
    if pull is not None:
        rows += pull_rows(pull)
    if catch is not None:
        rows += catch_up_rows(catch)
    rows += [("server errors in phases 2-3", f"{n} x", error) for error, n in later_errors.most_common(3)]
    print_rows(rows)
    ok = applied == push.events == expected and push.rejected == 0
    if not ok:
        print(f"FAILED: {applied:,} applied events for {push.events:,} pushed ({expected:,} expected)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
