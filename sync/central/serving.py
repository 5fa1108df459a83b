"""Serving the central's API (`counterline-central serve`): in one process, or as `--workers N` processes behind one
port, each told how many they are; and the heap each settles before its first request."""

from __future__ import annotations

import gc
import os
from typing import TYPE_CHECKING

from sync.central import notices, service
from sync.central.db import DATABASE_URL_ENV, make_engine, make_sessionmaker, migrate

if TYPE_CHECKING:
    from fastapi import FastAPI


def serve(
    url: str, host: str, port: int, docs: bool | None = None, send_notices: bool = False, workers: int = 1
) -> int:
    """Serve the API on `host:port`: in this process, or as `workers` worker processes behind one port (the
    database migrated once, here, before any of them starts)."""
    import uvicorn

    from sync.central.api import DOCS_ENV, create_app, sessions_of

    if not 0 < port < 65536:
        raise service.CentralError(f"port {port} is out of range")
    if not 1 <= workers <= MAX_WORKERS:
        raise service.CentralError(f"--workers is 1 to {MAX_WORKERS} (it is {workers})")
    if workers > 1:
        # Each worker is a process of its own (uvicorn's supervisor shares the listening socket and restarts a
        # worker that dies); the database is migrated once, here, before any of them starts.
        engine = make_engine(url)
        try:
            migrate(engine=engine)
        finally:
            engine.dispose()
        os.environ[DATABASE_URL_ENV] = url
        os.environ[WORKERS_ENV] = str(workers)  # each worker shares a store's pushes with the others
        if docs is not None:
            os.environ[DOCS_ENV] = "1" if docs else "0"
        if send_notices:  # one sender for all workers, in the supervisor
            notices.start_background(make_sessionmaker(make_engine(url)), notices.transport_from_env())
        uvicorn.run(
            f"{__name__}:worker_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # A worker still importing on a busy machine is not hung: uvicorn's 5 s restarted them in a loop.
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
        )
        return 0
    app = create_app(url, docs=docs)
    if send_notices:  # a daemon thread beside the server: it ends with the process
        notices.start_background(sessions_of(app), notices.transport_from_env())
    settle_heap()
    uvicorn.run(app, host=host, port=port)
    return 0


def settle_heap() -> None:
    """Once the app is built, before the first request: what start-up made (modules, the models' metadata, the
    validators, the cached statements) lives as long as the process, so it leaves the collector's generations.
    A full collection then walks only what requests made: it was ~10% of a push's Python time, walking the whole
    start-up heap each time (benchmarks/sync.py measures the central's CPU per event).

    The young generation is collected every `YOUNG_COLLECTION` allocations instead of 700: a push's batch holds
    what it read and staged until it commits, so each young collection walked objects still in use, and the
    batches of eight tills at once were collected 1,400 times for 8,000 events (0.7-0.9 s of 5-6 s of CPU). What a
    request leaves is freed by its references (the sessions no longer make cycles: `ledger._current`), so few
    objects wait for the collector meanwhile."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION, *gc.get_threshold()[1:])


YOUNG_COLLECTION = 50_000


MAX_WORKERS = 64
WORKER_HEALTHCHECK_S = 60
# How many worker processes `serve --workers N` started, as it tells them (not a setting: `serve` writes it for its
# workers, and a process serving alone never reads it): each works on fewer pushes of a store at once than a
# process serving alone (`service.serve_as_one_of`).
WORKERS_ENV = "COUNTERLINE_CENTRAL_WORKERS"


def worker_app() -> FastAPI:
    """The API in one worker process of `serve --workers N` (the database URL from the environment, migrated by
    the supervisor already)."""
    from sync.central.api import create_app

    try:
        workers = int(os.environ.get(WORKERS_ENV, "1"))
    except ValueError:
        workers = 1
    service.serve_as_one_of(workers)
    app = create_app(run_migrations=False)
    settle_heap()
    return app
