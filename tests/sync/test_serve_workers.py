"""`counterline-central serve --workers N`: bad counts are refused with a sentence (the 2-process runs are in
test_two_processes.py)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from sync.central import cli, service, serving
from sync.central.db import DATABASE_URL_ENV, make_engine, migrate


@pytest.mark.parametrize("workers", ["0", "-1", str(serving.MAX_WORKERS + 1)])
def test_a_bad_worker_count_is_refused(
    workers: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    code = cli.main(["--database-url", url, "serve", "--port", "18999", "--workers", workers])
    err = capsys.readouterr().err
    assert code == cli.EXIT_BAD_INPUT
    assert "--workers is 1 to" in err and "Traceback" not in err


@pytest.fixture
def frozen_heap_restored() -> Iterator[None]:
    """These tests freeze this process's heap and set its collector's thresholds as the server would its own: the
    heap goes back to the collector and the thresholds as they were after."""
    gc.unfreeze()
    thresholds = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_a_single_process_server_settles_its_start_up_heap_before_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frozen_heap_restored: None
) -> None:
    import uvicorn

    served: list[int] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(gc.get_freeze_count()))
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert cli.main(["--database-url", url, "serve", "--port", "18999"]) == 0
    # What start-up made is out of the generations a full collection walks when the first request comes, and the
    # young generation waits for more than a push's batch allocates in a moment.
    assert served and served[0] > 10_000
    assert gc.get_threshold()[0] == serving.YOUNG_COLLECTION


def test_each_worker_process_settles_its_start_up_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, frozen_heap_restored: None
) -> None:
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(url)
    migrate(engine=engine)
    engine.dispose()
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    assert gc.get_freeze_count() == 0
    app = serving.worker_app()
    assert app.routes and gc.get_freeze_count() > 10_000


@pytest.fixture
def gate_restored() -> Iterator[None]:
    """`worker_app` sets how many pushes of a store this process works on at once: back to a lone process's after."""
    yield
    service.serve_as_one_of(1)


@pytest.mark.parametrize(
    ("told", "places"),
    [
        (None, service.PUSHES_PER_STORE),
        ("1", service.PUSHES_PER_STORE),
        ("2", service.PUSHES_PER_STORE_OF_SEVERAL),
        ("8", service.PUSHES_PER_STORE_OF_SEVERAL),
        ("two", service.PUSHES_PER_STORE),
    ],
)
def test_a_worker_told_it_is_one_of_several_works_on_fewer_pushes_of_a_store_at_once(
    told: str | None,
    places: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    frozen_heap_restored: None,
    gate_restored: None,
) -> None:
    """`serve --workers N` tells each worker N (`serving.WORKERS_ENV`); one of several takes a store's pushes one at a
    time, so they overlap across the processes instead of taking turns on one interpreter. A process alone (or told
    nothing it can read) keeps three."""
    url = f"sqlite:///{tmp_path / 'central.db'}"
    engine = make_engine(url)
    migrate(engine=engine)
    engine.dispose()
    monkeypatch.setenv(DATABASE_URL_ENV, url)
    if told is None:
        monkeypatch.delenv(serving.WORKERS_ENV, raising=False)
    else:
        monkeypatch.setenv(serving.WORKERS_ENV, told)
    service.serve_as_one_of(5 if places == service.PUSHES_PER_STORE else 1)  # the other way round before
    serving.worker_app()
    assert service.pushes_per_store() == places
    assert service.PUSHES_PER_STORE_OF_SEVERAL < service.PUSHES_PER_STORE


def test_serve_tells_its_workers_how_many_they_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    seen: list[str | None] = []
    # `serve` sets both for its workers in this process's environment: back as they were after.
    monkeypatch.delenv(serving.WORKERS_ENV, raising=False)
    monkeypatch.delenv(DATABASE_URL_ENV, raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: seen.append(os.environ.get(serving.WORKERS_ENV)))
    url = f"sqlite:///{tmp_path / 'central.db'}"
    assert cli.main(["--database-url", url, "serve", "--port", "18999", "--workers", "3"]) == 0
    assert seen == ["3"]
