"""The central service as several processes against one PostgreSQL (`counterline-central serve --workers 2`, and
two servers on two ports as two hosts would run): exactly-once holds through killed terminals and a faulty network,
and a change committed in one process wakes a pull waiting in another."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sync.central import feedwait
from tests.sync.conftest import _empty_postgres
from tests.sync.fleet import Hub, Till, serve_on_loopback
from tests.sync.test_client import converge_through_faults
from tests.sync.test_loopback import KILLS, kill_terminals_at_random

pytestmark = pytest.mark.postgres


def api_processes(base: str) -> int:
    """How many worker processes the `serve` listening at `base` runs (its children, bar multiprocessing's
    resource tracker)."""
    port = base.rsplit(":", 1)[1]
    parents = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmd and port.encode() in cmd:
            parents.append(pid)
    assert len(parents) == 1, parents
    workers = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        ppid = stat.rsplit(")", 1)[1].split()[1]
        if ppid == parents[0] and b"resource_tracker" not in cmd:
            workers += 1
    return workers


@pytest.fixture
def two_workers(pg_url: str) -> Iterator[tuple[Hub, str]]:
    _empty_postgres(pg_url)
    hub = Hub.start(pg_url)
    try:
        with serve_on_loopback(pg_url, workers=2) as base:
            assert api_processes(base) == 2
            yield hub, base
    finally:
        hub.close()


def test_terminals_killed_at_random_with_the_central_as_two_processes(
    two_workers: tuple[Hub, str], tmp_path: Path
) -> None:
    kill_terminals_at_random(*two_workers, tmp_path, max(20, KILLS // 2))


@pytest.mark.parametrize("seed", [1, 2])
def test_sync_converges_through_faults_with_the_central_as_two_processes(
    two_workers: tuple[Hub, str], tmp_path: Path, seed: int
) -> None:
    hub, base = two_workers
    # A transport that opens a connection per request, so requests spread over both processes.
    fresh = httpx.HTTPTransport(limits=httpx.Limits(max_keepalive_connections=0))
    converge_through_faults(hub, tmp_path, seed, fresh, base)


def test_a_change_committed_in_one_process_wakes_a_pull_waiting_in_another(
    pg_url: str, tmp_path: Path
) -> None:
    _empty_postgres(pg_url)
    hub = Hub.start(pg_url)
    try:
        with serve_on_loopback(pg_url) as a, serve_on_loopback(pg_url) as b:
            pusher = Till.enrol(hub, tmp_path / "p", "S1", "T1", transport=httpx.HTTPTransport(), base=a)
            waiter = Till.enrol(hub, tmp_path / "w", "S1", "T2", transport=httpx.HTTPTransport(), base=b)
            pusher.sync()
            waiter.sync()
            with waiter.client() as c:
                cursor = c.pull(0, limit=1000).next_cursor
            answer: list[int] = []

            def wait(seconds: float) -> None:
                with httpx.Client(base_url=b, timeout=60) as http:
                    r = http.get(
                        "/v1/pull",
                        params={"cursor": cursor, "wait": seconds},
                        headers={"Authorization": f"Bearer {waiter.token}"},
                    )
                    answer.append(len(r.json()["changes"]))

            # A first wait that ends empty: process b now LISTENs, and re-checks the database by itself only every
            # LISTENING_RECHECK_S, so the pull below is woken by a NOTIFY from process a or not soon at all.
            wait(3)
            assert answer == [0]
            thread = threading.Thread(target=wait, args=(30,))
            started = time.monotonic()
            thread.start()
            time.sleep(0.5)  # the pull is waiting in process b (an early push is still a change it returns)
            pusher.receive("A1", 5)
            pusher.sync()
            thread.join(60)
            waited = time.monotonic() - started
            assert answer[1:] and answer[1] > 0, "the waiting pull got no change"
            assert waited < feedwait.LISTENING_RECHECK_S - 5, (
                f"the pull in the other process was not woken by the change ({waited:.1f} s)"
            )
    finally:
        hub.close()
