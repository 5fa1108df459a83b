"""The central service in its own process on loopback (uvicorn, as `counterline-central serve` runs it): the
terminal's command line end to end, and terminals killed with SIGKILL at random points of push and pull."""

from __future__ import annotations

import os
import random
import signal
import stat
import sys
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.db.models import Order
from sync.client import SyncError
from tests.sync.fleet import Hub, Till, applied_ids, check_converged, serve_on_loopback
from ui.main import main as counterline

KILLS = int(os.environ.get("COUNTERLINE_SYNC_KILLS", "200"))


@pytest.fixture
def served(db_url: str) -> Iterator[tuple[Hub, str]]:
    hub = Hub.start(db_url)
    try:
        with serve_on_loopback(db_url) as base:
            yield hub, base
    finally:
        hub.close()


def test_enrol_and_sync_from_the_command_line(
    served: tuple[Hub, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub, base = served
    data = str(tmp_path / "till")
    assert counterline(["--data-dir", data, "sync"]) == 2
    assert "not enrolled" in capsys.readouterr().err
    assert counterline(["--data-dir", data, "enrol", base, "WRONG-CODE-0000", "--admin-pin", "123456"]) == 1
    assert "unknown, used or expired" in capsys.readouterr().err
    assert counterline(["--data-dir", data, "enrol", "ftp://x", "ABCD", "--admin-pin", "123456"]) == 2
    assert "not an http" in capsys.readouterr().err
    code = hub.enrolment_code("S1", "T7")
    assert counterline(["--data-dir", data, "enrol", base, code.lower(), "--admin-pin", "123456"]) == 0
    out = capsys.readouterr().out
    assert "terminal T7 of store S1" in out and "created user 'admin'" in out
    token = Path(data) / "terminal-token"
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert counterline(["--data-dir", data, "sync"]) == 0
    assert "received 8 changes" in capsys.readouterr().out  # the catalog, and the first admin made here
    # The trail checked here and against what the central store received of it.
    assert counterline(["--data-dir", data, "audit", "verify"]) == 0
    out = capsys.readouterr().out
    assert "audit chain intact" in out and "the central store holds" in out and "PROBLEM" not in out
    # The same code cannot be used twice.
    assert (
        counterline(["--data-dir", str(tmp_path / "other"), "enrol", base, code, "--admin-pin", "123456"])
        == 1
    )


def _child(tills: list[Till], seed: int) -> None:
    """Sell, take returns and sync until killed; each fork works on fresh connections."""
    for till in tills:
        till.factory.kw["bind"].dispose(close=False)
        till.transport = httpx.HTTPTransport()
    rng = random.Random(seed)
    while True:
        till = rng.choice(tills)
        r = rng.random()
        if r < 0.35:
            till.sell(rng.choice(["A1", "C3"]), rng.randint(1, 2))
        elif r < 0.45:
            till.take_return("A1")
        else:
            try:
                till.sync(push_batch=rng.choice([1, 3, 25]), pull_page=rng.choice([1, 4, 50]))
            except SyncError:
                pass


def test_terminals_killed_at_random_points_lose_nothing_and_apply_nothing_twice(
    served: tuple[Hub, str], tmp_path: Path
) -> None:
    kill_terminals_at_random(*served, tmp_path, KILLS)


def kill_terminals_at_random(hub: Hub, base: str, tmp_path: Path, kills: int) -> None:
    """Two tills sell, take returns and sync in a child process SIGKILLed at a random point, `kills` times; then
    nothing is lost and nothing applied twice."""
    tills = [
        Till.enrol(hub, tmp_path / f"t{n}", "S1", f"T{n}", transport=httpx.HTTPTransport(), base=base)
        for n in (1, 2)
    ]
    for till in tills:
        till.sync()
        till.open_shift()
        till.receive("A1", 50)
    rng = random.Random(20261129)
    # Kill delays follow how fast this machine sells and syncs, so a loaded CI runner still gets kills in the
    # middle of real work rather than in the child's first milliseconds.
    started = time.perf_counter()
    tills[0].sell("C3")
    tills[0].sync()
    step = time.perf_counter() - started
    finished_early = 0
    kill = 0
    while kill < kills or (_sales(tills) < 5 and kill < 3 * kills):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child never returns
            try:
                _child(tills, kill)
            except BaseException:
                traceback.print_exc()
                sys.stderr.flush()
                os._exit(3)
            os._exit(0)
        time.sleep(rng.uniform(0.2, 2.5) * step)
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        if not os.WIFSIGNALED(status):
            finished_early += 1
            assert os.WEXITSTATUS(status) == 0, f"kill {kill}: the terminal process failed (see stderr)"
        kill += 1
    assert finished_early == 0
    for till in tills:
        till.factory.kw["bind"].dispose()
        for _ in range(20):
            try:
                till.sync(push_batch=200, pull_page=500)
                break
            except SyncError:
                time.sleep(0.2)
    check_converged(hub, tills)
    assert _sales(tills) >= 5 and len(applied_ids(hub)) >= 20, (
        "the killed terminals did too little to mean anything"
    )


def _sales(tills: list[Till]) -> int:
    sales = 0
    for till in tills:
        with till.factory() as s:
            sales += s.scalar(select(func.count()).select_from(Order).where(Order.status == "completed")) or 0
    return sales
