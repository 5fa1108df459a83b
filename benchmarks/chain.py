# ruff: noqa: E402
"""The central service at chain scale on PostgreSQL: many stores pushing at once, and many idle tills waiting.

    .venv/bin/python benchmarks/chain.py [--quick] [--workers N]

Everything is real: a fresh `counterline_bench_<hex>` database on the local PostgreSQL (dropped at the end) and
`counterline-central serve --workers N` in its own processes on a loopback port. The tills here are HTTP clients
only (enrolled through the service, their batches built in the shape `app.services.sales` gives them), so the
figures are the central service's, not the tills' SQLite.

1. Stores x tills: 1, 10 and 100 stores of 5 tills each (quick: 1, 2 and 4 stores) push their queued sales all at
   once, each till from its own thread, in batches of the agent's PUSH_BATCH. A store's lock serializes its own
   tills only, so events/s should grow with the number of stores until the machine is busy. The baseline inserts
   the same payloads into a plain table (uuid key, jsonb payload) with psycopg `executemany`, one thread per till
   (at most 20 connections), one transaction per batch: the ratio is push time / plain INSERT time.
2. Idle tills: 1,000 tills (quick: 100) over the stores long-poll GET /v1/pull?wait=...; the requests per second
   the central serves while nobody sells, and its CPU. Then a change (a receipt pushed at one store) and the time
   until each waiting till of that store has it, a few stores in turn.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the `sync` package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from uuid6 import uuid7

from app.ids import new_id
from benchmarks.sync import (
    TAX,
    free_port,
    postgres_database,
    receive_stock,
    run_concurrently,
    sale_payload,
    server_errors,
    small_catalog_csv,
)
from sync import protocol
from sync.agent import PUSH_BATCH
from sync.central import service
from sync.central.db import make_engine, make_sessionmaker, migrate
from sync.central.models import Store, Terminal
from sync.client import wait_until_serving

ROOT = Path(__file__).resolve().parents[1]
IDLE_PER_STORE = 20  # idle tills per store (a change at a store reaches this many waiting tills)


@dataclass(frozen=True)
class Sizes:
    stores: tuple[int, ...]
    tills_per_store: int
    events: int  # per till
    idle_tills: int
    idle_seconds: float
    wait: float  # the long-poll's wait


FULL = Sizes(stores=(1, 10, 100), tills_per_store=5, events=200, idle_tills=1000, idle_seconds=30, wait=25)
QUICK = Sizes(stores=(1, 2, 4), tills_per_store=5, events=100, idle_tills=100, idle_seconds=8, wait=5)


def log(message: str) -> None:
    print(f"  .. {message}", flush=True)


@contextmanager
def serve(url: str, workers: int, log_path: Path) -> Iterator[tuple[str, int]]:
    """`counterline-central serve --workers N` on a free loopback port; yields its base URL and supervisor pid."""
    port = free_port()
    cmd = [sys.executable, "-m", "sync.central.cli", "serve", "--database-url", url]
    cmd += ["--port", str(port), "--workers", str(workers)]
    with log_path.open("w") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_serving(base, lambda: proc.poll() is None, timeout_s=60)
            yield base, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (the API workers), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(entry) == pid or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


# ---------------------------------------------------------------- the chain


@dataclass
class Till:
    store: str
    code: str
    token: str
    terminal_id: int
    bodies: list[bytes] = field(default_factory=list)
    payloads: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def open_stores(
    factory: sessionmaker[Session], codes: list[str], tills: int, prefix: str = "T"
) -> list[Till]:
    """The stores (made if new) and `tills` enrolled terminals of each, through the service."""
    out = []
    with factory.begin() as s:
        known = set(s.scalars(select(Store.code)))
        for code in codes:
            if code not in known:
                service.create_store(s, code, f"Store {code}")
    for code in codes:
        for k in range(tills):
            name = f"{prefix}{k + 1}"
            with factory.begin() as s:
                one_time = service.issue_enrolment_code(s, code, name)
                enrolled = service.enroll(s, one_time, f"till {name}")
            with factory() as s:
                tid = s.scalar(
                    select(Terminal.id).join(Store).where(Store.code == code, Terminal.code == name)
                )
            assert tid is not None
            out.append(Till(code, name, enrolled.token, tid))
    return out


def queue_sales(till: Till, n: int, seed: int) -> None:
    """`n` sales as the till would push them, in request bodies of PUSH_BATCH events."""
    events = []
    for k in range(n):
        payload = sale_payload(till, f"{till.store}-{till.code}-{k + 1:06d}", seed + k * 3)  # type: ignore[arg-type]
        event_id = new_id()
        till.payloads.append((event_id, payload))
        events.append(
            {
                "id": event_id,
                "type": protocol.SALE_COMPLETED,
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": payload,
            }
        )
    for i in range(0, n, PUSH_BATCH):
        till.bodies.append(json.dumps({"events": events[i : i + PUSH_BATCH]}).encode())


# ---------------------------------------------------------------- 1. stores x tills


@dataclass
class Row:
    stores: int
    tills: int
    events: int
    seconds: float
    plain: float
    retries: int


def push_all(base: str, till: Till) -> int:
    """Send every body; a 5xx or a lost connection is sent again (the answer then says duplicate). Retries."""
    retries = 0
    headers = {"Authorization": f"Bearer {till.token}", "Content-Type": "application/json"}
    with httpx.Client(base_url=base, timeout=httpx.Timeout(900.0, connect=10.0)) as http:
        for body in till.bodies:
            while True:
                try:
                    r = http.post("/v1/push", content=body, headers=headers)
                except httpx.TransportError:
                    retries += 1
                    continue
                if r.status_code >= 500 or r.status_code == 429:
                    retries += 1
                    continue
                assert r.status_code == 200, r.text[:300]
                statuses = {x["status"] for x in r.json()["results"]}
                assert statuses <= {"applied", "duplicate"}, r.text[:300]
                break
    return retries


# The baseline's connections at most: one per till of a 100-store row would be 500, over PostgreSQL's default
# max_connections (100); on 2 cores more writers than this gain nothing.
PLAIN_CONNECTIONS = 20


def plain_insert(url: str, tills: list[Till]) -> float:
    """The same payloads into a plain table, one thread and connection per till (at most PLAIN_CONNECTIONS, each
    then taking its share of the tills in turn), one transaction per batch."""
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS plain_events")
        conn.execute("CREATE TABLE plain_events (id uuid PRIMARY KEY, payload jsonb NOT NULL)")

    def insert_rows(share: list[Till]) -> None:
        with psycopg.connect(dsn, autocommit=True) as conn:
            for till in share:
                for i in range(0, len(till.payloads), PUSH_BATCH):
                    with conn.transaction(), conn.cursor() as cur:
                        cur.executemany(
                            "INSERT INTO plain_events (id, payload) VALUES (%s, %s)",
                            [(eid, Jsonb(p)) for eid, p in till.payloads[i : i + PUSH_BATCH]],
                        )

    writers = min(len(tills), PLAIN_CONNECTIONS)
    seconds, _ = run_concurrently([tills[k::writers] for k in range(writers)], insert_rows)
    return seconds


def matrix_row(
    factory: sessionmaker[Session], url: str, base: str, sizes: Sizes, n_stores: int, seen: set[str]
) -> Row:
    codes = [f"M{n_stores}S{k + 1}" for k in range(n_stores)]
    tills = open_stores(factory, codes, sizes.tills_per_store)
    for code in codes:
        receive_stock(factory, next(t.terminal_id for t in tills if t.store == code))
    for k, till in enumerate(tills):
        queue_sales(till, sizes.events, seed=k)
    seen.update(codes)
    seconds, retries = run_concurrently(tills, lambda t: push_all(base, t))
    plain = plain_insert(url, tills)
    return Row(n_stores, len(tills), len(tills) * sizes.events, seconds, plain, sum(retries))


# ---------------------------------------------------------------- 2. idle tills


@dataclass
class Idle:
    tills: int
    seconds: float
    requests: int
    cpu: float
    arrivals: list[float]
    changes: int


async def idle_tills(base: str, tills: list[Till], heads: dict[str, int], sizes: Sizes, pid: int) -> Idle:
    """Every till long-polls from its store's head; counts what the central serves while nobody sells, then
    times a change at a few stores to the tills of each."""
    served = 0
    got: dict[str, list[float]] = {}
    limits = httpx.Limits(max_connections=len(tills) + 10, max_keepalive_connections=len(tills) + 10)
    timeout = httpx.Timeout(sizes.wait + 60, connect=30)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=timeout) as http:

        async def till_loop(till: Till) -> None:
            nonlocal served
            cursor = heads[till.store]
            headers = {"Authorization": f"Bearer {till.token}"}
            while True:
                try:
                    r = await http.get(
                        "/v1/pull", params={"cursor": cursor, "wait": sizes.wait}, headers=headers
                    )
                except httpx.TransportError:
                    await asyncio.sleep(0.5)
                    continue
                served += 1
                page = r.json()
                if page["changes"]:
                    got.setdefault(till.store, []).append(time.perf_counter())
                cursor = page["next_cursor"]

        tasks = [asyncio.create_task(till_loop(t)) for t in tills]
        await asyncio.sleep(min(5.0, sizes.wait / 2))  # every till is waiting now
        served = 0
        cpu0 = cpu_seconds(pid)
        start = time.perf_counter()
        await asyncio.sleep(sizes.idle_seconds)
        seconds = time.perf_counter() - start
        requests, cpu = served, cpu_seconds(pid) - cpu0
        # A change at a few stores in turn: a receipt pushed by the first till of the store.
        arrivals: list[float] = []
        stores = sorted({t.store for t in tills})[:5]
        for code in stores:
            pusher = next(t for t in tills if t.store == code)
            waiting = sum(1 for t in tills if t.store == code)
            got.pop(code, None)
            event = {
                "id": str(uuid7()),
                "type": protocol.STOCK_MOVEMENT,
                "occurred_at": datetime.now(UTC).isoformat(),
                "payload": {
                    "id": new_id(),
                    "sku": "P00001",
                    "location": "floor",
                    "qty": "1.000",
                    "kind": "receipt",
                },
            }
            sent = time.perf_counter()
            r = await http.post(
                "/v1/push", json={"events": [event]}, headers={"Authorization": f"Bearer {pusher.token}"}
            )
            assert r.status_code == 200 and r.json()["results"][0]["status"] == "applied", r.text
            deadline = time.perf_counter() + sizes.wait + 10
            while len(got.get(code, [])) < waiting and time.perf_counter() < deadline:
                await asyncio.sleep(0.005)
            arrivals += [t - sent for t in got.get(code, [])]
            await asyncio.sleep(0.5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return Idle(len(tills), seconds, requests, cpu, arrivals, len(stores))


# ---------------------------------------------------------------- main


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run (a minute or two)")
    ap.add_argument("--workers", type=int, default=2, help="API processes (default 2)")
    ap.add_argument("--idle-only", action="store_true", help="only the idle tills")
    ap.add_argument("--events", type=int, help="sales per pushing till (default 200, quick 100)")
    ap.add_argument("--idle-tills", type=int, help="idle tills (default 1,000, quick 100)")
    ap.add_argument("--stores", help="the rows of the matrix, e.g. 1,10,30 (default 1,10,100; quick 1,2,4)")
    args = ap.parse_args()
    sizes = QUICK if args.quick else FULL
    try:
        stores = tuple(int(n) for n in args.stores.split(",")) if args.stores else sizes.stores
    except ValueError:
        ap.error(f"--stores is numbers separated by commas, e.g. 1,10,100 (not {args.stores!r})")
    if any(n < 1 for n in stores):
        ap.error("--stores: each row needs at least 1 store")
    sizes = replace(
        sizes,
        stores=stores,
        events=args.events or sizes.events,
        idle_tills=args.idle_tills or sizes.idle_tills,
    )
    print(
        f"chain benchmark ({'quick' if args.quick else 'full'}): stores {', '.join(map(str, sizes.stores))} x "
        f"{sizes.tills_per_store} tills x {sizes.events} sales; {sizes.idle_tills:,} idle tills; "
        f"{args.workers} API process(es)",
        flush=True,
    )
    rows: list[Row] = []
    with postgres_database() as url:
        engine = make_engine(url)
        work = Path(os.environ.get("TMPDIR", "/tmp")) / f"counterline-chain-{os.getpid()}.log"
        try:
            migrate(engine=engine)
            factory = make_sessionmaker(engine)
            with factory.begin() as s:
                service.set_tax_class(s, TAX[0], str(TAX[1]), "Standard")
                service.import_catalog(s, small_catalog_csv())
            seen: set[str] = set()
            with serve(url, args.workers, work) as (base, pid):
                for n in () if args.idle_only else sizes.stores:
                    log(f"{n} store(s) x {sizes.tills_per_store} tills pushing")
                    rows.append(matrix_row(factory, url, base, sizes, n, seen))
                    r = rows[-1]
                    log(f"{r.events:,} events in {r.seconds:.1f} s ({r.events / r.seconds:,.0f}/s)")
                per_store = IDLE_PER_STORE
                idle_codes = [f"I{k + 1}" for k in range(max(1, sizes.idle_tills // per_store))]
                log(f"enrolling {sizes.idle_tills:,} idle tills in {len(idle_codes)} stores")
                idle = open_stores(factory, idle_codes, per_store, prefix="I")
                with factory() as s:
                    heads = {st.code: st.feed_seq for st in s.scalars(select(Store))}
                log(f"idle for {sizes.idle_seconds:.0f} s, long-poll wait {sizes.wait:.0f} s")
                try:
                    quiet = asyncio.run(idle_tills(base, idle, heads, sizes, pid))
                except BaseException:
                    print(work.read_text(errors="replace")[-3000:])
                    raise
            errors = server_errors(work)
        finally:
            engine.dispose()
            work.unlink(missing_ok=True)

    print()
    print(
        f"1. Stores x tills pushing at once ({args.workers} API processes, PostgreSQL, {PUSH_BATCH} per push)"
    )
    print(
        f"   {'stores':>6} {'tills':>6} {'events':>8} {'seconds':>8} {'events/s':>9} {'plain s':>8} {'ratio':>6}"
    )
    for r in rows:
        print(
            f"   {r.stores:>6} {r.tills:>6} {r.events:>8,} {r.seconds:>8.2f} {r.events / r.seconds:>9,.0f} "
            f"{r.plain:>8.2f} {r.seconds / r.plain:>5.1f}x"
            + (f"  ({r.retries} retried)" if r.retries else "")
        )
    print(f"2. Idle tills long-polling (wait {sizes.wait:.0f} s), nobody selling")
    print(
        f"   tills {quiet.tills:,}: {quiet.requests / quiet.seconds:,.1f} requests/s served over {quiet.seconds:.0f} s"
    )
    print(f"   central CPU {quiet.cpu / quiet.seconds * 100:.1f}% of one core (all its processes)")
    expected = min(quiet.tills, IDLE_PER_STORE) * quiet.changes
    if quiet.arrivals:
        print(
            f"   change to tills: {len(quiet.arrivals)} of {expected} waiting tills got it; p50 "
            f"{statistics.median(quiet.arrivals) * 1000:.0f} ms, p95 {pct(quiet.arrivals, 0.95) * 1000:.0f} ms, "
            f"max {max(quiet.arrivals) * 1000:.0f} ms (from sending the push)"
        )
    for error, n in errors.most_common(3):
        print(f"   server error: {n} x {error}")
    ok = len(quiet.arrivals) == expected and not errors
    if not ok:
        print("FAILED: a waiting till missed the change, or the server logged errors")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
