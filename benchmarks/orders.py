# ruff: noqa: E402
"""Web order capture and routing at chain scale on PostgreSQL: routed orders per second, p99 of one routing
transaction, beside plain INSERTs of the same rows, and the 50-orders-for-10-units case.

    .venv/bin/python benchmarks/orders.py [--quick] [--orders N] [--threads T]

Everything is real: a fresh `counterline_bench_<hex>` database on the local PostgreSQL (dropped at the end), migrated
with the central store's own migrations; 20 stores with coordinates, a catalog, stock received through
`sync.central.stock.receive` at every store. Each order is one transaction through `service.place_order` (the
storefront API's own call, less HTTP): products with their prices read in one query; a pickup locks its store, a
ship order chooses its plan without locks and then locks only the plan's stores (id order) and checks it again
under them; the stock levels locked and read, the rule applied, the lines reserved, the trace, the history row,
the customer's notice and the feed changes written (one statement, `sync.central.order_write`). Orders are 3-line, half for pickup at a random store, half
shipped to a random point.

1. Routing: N orders from T threads at once in this one process; orders per second over the wall time, and
   p50/p99 of one transaction; then this process's CPU time per order (time.process_time: the Python side, which
   a shared machine's load inflates far less than the wall time), the statements each order sent by fulfilment
   (BEGIN and COMMIT not counted) and the machine's load average. Then N other orders from P worker processes of T threads each (`--processes`, 2 by
   default), as `counterline-central serve --workers P` runs the API: threads of one process share its GIL, so the
   first run measures Python as much as the central; the second measures it as deployed.
2. Baseline: the same number of orders as plain INSERTs (an order row and its 3 line rows into plain tables, one
   transaction per order, same threads): what the database costs with no routing at all.
3. Contention: 50 orders at once, from 50 threads, for an item with 10 available at one store: the wall time, and
   that exactly 10 were reserved and the rest refused (no deadlock, availability never below zero).
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
import queue
import random
import secrets
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psycopg
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from sync import protocol
from sync.central import routing, service, stock
from sync.central.db import make_engine, make_sessionmaker, migrate
from sync.central.models import Product, StockLevel

PG_ROLE = "counterline_test"  # the tests' own role (LOGIN CREATEDB, not a superuser), made by `make postgres`
PG_ADMIN = f"host=127.0.0.1 port=5432 user={PG_ROLE} dbname=postgres connect_timeout=3"
STORES = 20
LINES = 3
# Around the British Isles: stores and ship-to points scattered over this box.
LAT, LON = (50.5, 55.5), (-4.5, 0.5)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Database:
    """A fresh database for one run, dropped at the end."""

    def __init__(self) -> None:
        self.name = f"counterline_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"postgresql+psycopg://{PG_ROLE}@127.0.0.1:5432/{self.name}"
        self.engine = make_engine(
            self.url
        )  # 10 + 30 connections: enough for the 50 threads of the contention case
        migrate(self.url, engine=self.engine)
        self.sessions: sessionmaker[Session] = make_sessionmaker(self.engine)

    def drop(self) -> None:
        self.engine.dispose()
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def setup_chain(db: Database, skus: int, rng: random.Random) -> list[str]:
    with db.sessions.begin() as s:
        service.set_tax_class(s, "std", "0.20", "Standard")
        for n in range(1, STORES + 1):
            store = service.create_store(s, f"S{n:02d}", f"Store {n}")
            store.latitude = round(rng.uniform(*LAT), 4)
            store.longitude = round(rng.uniform(*LON), 4)
        rows = [
            f"P{i:05d},Product {i},{rng.randint(100, 5000) / 100:.2f},std,general,,no" for i in range(skus)
        ]
        service.import_catalog(s, "sku,name,price,tax_class,department,barcodes,weighed\n" + "\n".join(rows))
    names = [f"P{i:05d}" for i in range(skus)]
    for n in range(1, STORES + 1):
        with db.sessions.begin() as s:
            stock.receive(s, f"S{n:02d}", [stock.StockLine(sku, Decimal(100_000)) for sku in names])
    return names


def make_request(rng: random.Random, skus: list[str]) -> protocol.OrderRequest:
    ship = rng.random() < 0.5
    body: dict[str, Any] = {
        "store": f"S{rng.randint(1, STORES):02d}",
        "fulfilment": "ship" if ship else "pickup",
        "lines": [{"sku": sku, "qty": str(rng.randint(1, 3))} for sku in rng.sample(skus, LINES)],
        "customer": {"name": "Bench Customer", "email": "bench@example.com"},
    }
    if ship:
        body["ship_to"] = {
            "latitude": str(round(rng.uniform(*LAT), 4)),
            "longitude": str(round(rng.uniform(*LON), 4)),
        }
    return protocol.OrderRequest.model_validate(body)


def run_threads(threads: int, jobs: list[Callable[[], None]]) -> tuple[float, list[float], int]:
    """Run the jobs on `threads` threads; wall time, each job's time, and how many raised."""
    times: list[float] = []
    failures = 0
    lock = threading.Lock()

    def timed(job: Callable[[], None]) -> None:
        nonlocal failures
        t0 = time.perf_counter()
        try:
            job()
        except Exception:
            with lock:
                failures += 1
            return
        with lock:
            times.append(time.perf_counter() - t0)

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(timed, jobs))
    return time.perf_counter() - start, times, failures


class StatementCount:
    """Statements sent per order, by fulfilment (each thread counts its own; BEGIN and COMMIT are not counted)."""

    def __init__(self, db: Database) -> None:
        self.local = threading.local()
        self.lock = threading.Lock()
        self.per: dict[str, list[int]] = {}
        event.listen(db.engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.local.n = getattr(self.local, "n", 0) + 1

    def around(self, fulfilment: str, job: Callable[[], None]) -> None:
        before = getattr(self.local, "n", 0)
        job()
        with self.lock:
            self.per.setdefault(fulfilment, []).append(self.local.n - before)

    def text(self) -> str:
        return ", ".join(f"{k} {sum(v) / len(v):.1f}" for k, v in sorted(self.per.items()))


def routing_run(
    db: Database,
    requests: list[protocol.OrderRequest],
    threads: int,
    counts: StatementCount | None = None,
) -> tuple[float, list[float], int]:
    def place(request: protocol.OrderRequest) -> Callable[[], None]:
        def job() -> None:
            with db.sessions.begin() as s:
                service.place_order(s, request)

        if counts is None:
            return job
        return lambda: counts.around(request.fulfilment, job)

    return run_threads(threads, [place(r) for r in requests])


def _process_share(
    url: str, requests: list[protocol.OrderRequest], threads: int, ready: Any, results: Any
) -> None:
    """One worker process's share of the routing run (as `serve --workers N` runs the API): its own engine and
    connections, `threads` threads, warmed up on 10 orders of its own; then it waits for every other process and
    puts its start and end (wall clock), each transaction's time and how many raised."""
    engine = make_engine(url)
    try:
        sessions = make_sessionmaker(engine)

        def place(request: protocol.OrderRequest) -> Callable[[], None]:
            def job() -> None:
                with sessions.begin() as s:
                    service.place_order(s, request)

            return job

        run_threads(threads, [place(r) for r in requests[:10]])
        ready.wait()
        start = time.time()
        _, times, failures = run_threads(threads, [place(r) for r in requests[10:]])
        results.put((start, time.time(), times, failures))
    finally:
        engine.dispose()


def routing_processes(
    db: Database, requests: list[protocol.OrderRequest], processes: int, threads: int
) -> tuple[float, list[float], int]:
    """The routing run split over `processes` worker processes of `threads` threads each (no GIL shared between
    them): the wall time from the first process's start to the last one's end, each transaction's time, failures.
    Each process warms up on 10 orders of its share first (not counted)."""
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(processes)
    results = ctx.Queue()
    workers = [
        ctx.Process(target=_process_share, args=(db.url, requests[i::processes], threads, ready, results))
        for i in range(processes)
    ]
    for w in workers:
        w.start()
    out = []
    while len(out) < len(
        workers
    ):  # a worker that died (its traceback is on stderr) fails the run, not hangs it
        try:
            out.append(results.get(timeout=5))
        except queue.Empty:
            dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"a routing worker process ended with exit code {dead[0]}") from None
    for w in workers:
        w.join()
    wall = max(end for _, end, _, _ in out) - min(start for start, _, _, _ in out)
    return wall, [t for _, _, times, _ in out for t in times], sum(f for _, _, _, f in out)


def baseline_run(
    db: Database, requests: list[protocol.OrderRequest], threads: int
) -> tuple[float, list[float], int]:
    dsn = f"host=127.0.0.1 port=5432 user={PG_ROLE} dbname={db.name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE plain_orders (id uuid PRIMARY KEY, store text, fulfilment text, customer jsonb)"
        )
        conn.execute(
            "CREATE TABLE plain_order_lines (id bigserial PRIMARY KEY, order_id uuid REFERENCES plain_orders(id),"
            " sku text, qty numeric(14,3), location text, state text)"
        )
    local = threading.local()

    def connection() -> psycopg.Connection[Any]:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = psycopg.connect(dsn)
        return conn

    def insert(request: protocol.OrderRequest) -> Callable[[], None]:
        def job() -> None:
            conn = connection()
            oid = uuid7()
            with conn.transaction():
                conn.execute(
                    "INSERT INTO plain_orders VALUES (%s, %s, %s, %s)",
                    (
                        oid,
                        request.store,
                        request.fulfilment,
                        psycopg.types.json.Jsonb({"name": "Bench Customer"}),
                    ),
                )
                with conn.cursor() as cur:
                    cur.executemany(
                        "INSERT INTO plain_order_lines (order_id, sku, qty, location, state)"
                        " VALUES (%s, %s, %s, 'floor', 'reserved')",
                        [(oid, ln.sku, ln.qty) for ln in request.lines],
                    )

        return job

    return run_threads(threads, [insert(r) for r in requests])


def contention_run(db: Database) -> tuple[float, int, int, Decimal]:
    """50 pickup orders at once at S01 for 1 unit each of an item with 10 available there."""
    with db.sessions.begin() as s:
        service.import_catalog(
            s, "sku,name,price,tax_class,department,barcodes,weighed\nRARE,Rare item,9.99,std,general,,no"
        )
    with db.sessions.begin() as s:
        stock.receive(s, "S01", [stock.StockLine("RARE", Decimal(10))])
    request = protocol.OrderRequest.model_validate(
        {"store": "S01", "fulfilment": "pickup", "lines": [{"sku": "RARE", "qty": "1"}]}
    )
    barrier = threading.Barrier(50)
    outcomes: list[str] = []
    lock = threading.Lock()

    def job() -> None:
        barrier.wait()
        try:
            with db.sessions.begin() as s:
                service.place_order(s, request)
            result = "placed"
        except routing.Unavailable:
            result = "refused"
        except Exception as exc:  # a deadlock would show here
            result = f"error: {type(exc).__name__}"
        with lock:
            outcomes.append(result)

    start = time.perf_counter()
    threads = [threading.Thread(target=job) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - start
    errors = [o for o in outcomes if o.startswith("error")]
    if errors:
        raise SystemExit(f"contention: {len(errors)} orders failed: {errors[:3]}")
    with db.sessions() as s:
        rare = s.scalar(select(Product.id).where(Product.sku == "RARE"))
        reserved = sum(
            s.scalars(select(StockLevel.reserved).where(StockLevel.product_id == rare)), Decimal(0)
        )
        negative = s.scalar(
            select(StockLevel.product_id).where(StockLevel.reserved > StockLevel.on_hand).limit(1)
        )
        if negative is not None:
            raise SystemExit("contention: more reserved than on hand")
    return wall, outcomes.count("placed"), outcomes.count("refused"), reserved


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="a small run (300 orders, 500 products)")
    parser.add_argument("--orders", type=int, default=None)
    parser.add_argument("--threads", type=int, default=4, help="threads (of each process, with --processes)")
    parser.add_argument(
        "--processes",
        type=int,
        default=2,
        help="worker processes of the second routing run, as `serve --workers N` (0: that run is left out)",
    )
    parser.add_argument("--skus", type=int, default=None)
    args = parser.parse_args(argv)
    print(_machine.speed_line(), flush=True)
    orders = args.orders or (300 if args.quick else 3000)
    skus = args.skus or (500 if args.quick else 5000)
    rng = random.Random(7)
    try:
        db = Database()
    except psycopg.OperationalError as exc:
        print(
            f"orders: PostgreSQL on 127.0.0.1:5432 is not reachable as {PG_ROLE} ({exc}); run `make postgres`"
        )
        return 2
    try:
        t0 = time.perf_counter()
        names = setup_chain(db, skus, rng)
        print(
            f"setup: {STORES} stores, {skus} products, stock at every store ({time.perf_counter() - t0:.1f} s)"
        )
        requests = [make_request(rng, names) for _ in range(orders)]
        # Warm up: connections, plans, caches.
        routing_run(db, requests[:20], args.threads)
        counts = StatementCount(db)
        cpu0 = time.process_time()
        wall, times, failed = routing_run(db, requests, args.threads, counts)
        cpu = time.process_time() - cpu0
        placed = len(times)
        print(
            f"routing, 1 process: {placed} orders ({failed} refused) from {args.threads} threads in {wall:.2f} s: "
            f"{placed / wall:.0f} orders/s; one transaction p50 {statistics.median(times) * 1000:.1f} ms, "
            f"p99 {percentile(times, 99) * 1000:.1f} ms (goal: >= 300 orders/s, p99 < 100 ms)"
        )
        print(
            f"routing, 1 process: {cpu / max(placed, 1) * 1000:.2f} ms of this process's CPU per order; statements "
            f"per order: {counts.text()}; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
        pwall = None
        if args.processes > 0:
            more = [make_request(rng, names) for _ in range(orders + 10 * args.processes)]
            pwall, ptimes, pfailed = routing_processes(db, more, args.processes, args.threads)
            print(
                f"routing, {args.processes} processes x {args.threads} threads: {len(ptimes)} orders ({pfailed} "
                f"refused) in {pwall:.2f} s: {len(ptimes) / pwall:.0f} orders/s; one transaction p50 "
                f"{statistics.median(ptimes) * 1000:.1f} ms, p99 {percentile(ptimes, 99) * 1000:.1f} ms"
            )
        bwall, btimes, _ = baseline_run(db, requests, args.threads)
        print(
            f"baseline: the same {len(btimes)} orders as plain INSERTs in {bwall:.2f} s: {len(btimes) / bwall:.0f} "
            f"orders/s; p50 {statistics.median(btimes) * 1000:.1f} ms, p99 {percentile(btimes, 99) * 1000:.1f} ms; "
            f"routing costs {wall / bwall:.1f}x plain inserts"
            + (f" ({pwall / bwall:.1f}x from {args.processes} processes)" if pwall is not None else "")
        )
        cwall, won, lost, reserved = contention_run(db)
        print(
            f"contention: 50 orders at once for 10 units: {won} placed, {lost} refused, {reserved:.0f} reserved, "
            f"in {cwall * 1000:.0f} ms"
        )
        if won != 10 or reserved != 10:
            print("contention: FAILED, expected exactly 10 reservations")
            return 1
    finally:
        db.drop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
