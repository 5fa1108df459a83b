"""The benchmarks keep up with the code they measure: `make bench` failed on the sync benchmark after the push
gained its audit anchor and the product change its scale code, and on bundle.py when no bundle was built.

Only the cheap parts are run here (the benchmarks themselves take minutes); the loaded module is benchmarks/sync.py.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import select

from sync.central import service
from sync.central.db import make_engine, make_sessionmaker
from sync.central.models import FeedChange, Store
from sync.client import Client
from tests.sync.conftest import _empty_postgres

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def load(name: str) -> ModuleType:
    """A benchmark script as a module (under another name: `sync` is the package)."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_the_timed_client_is_called_as_the_agent_calls_the_client() -> None:
    timed = load("sync").TimedClient
    for method in ("push", "pull"):
        assert inspect.signature(getattr(timed, method)) == inspect.signature(getattr(Client, method)), method


@pytest.mark.postgres
def test_the_bulk_catalog_publishes_what_the_service_would(pg_url: str) -> None:
    bench = load("sync")
    _empty_postgres(pg_url)
    engine = make_engine(pg_url)
    try:
        factory = make_sessionmaker(engine)
        with factory.begin() as s:
            service.set_tax_class(s, bench.TAX[0], str(bench.TAX[1]), "Standard")
            service.create_store(s, "N1", "New store")
        bench.bulk_catalog(factory, 3, "N1")  # checks its feed rows against service.product_payload itself
        with factory() as s:
            store = s.scalars(select(Store).where(Store.code == "N1")).one()
            changes = s.scalars(select(FeedChange).where(FeedChange.store_id == store.id)).all()
        assert len([c for c in changes if c.type == "product"]) == 3
    finally:
        engine.dispose()


def test_run_all_skips_a_benchmark_whose_subject_is_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run_all = load("run_all")
    monkeypatch.setitem(run_all.NEEDS, "bundle", (f"{tmp_path.name}-not-built/counterline", "make dist"))
    monkeypatch.setattr(sys, "argv", ["run_all.py", "bundle"])
    assert run_all.main() == 0
    out = capsys.readouterr().out
    assert "skipped" in out and "make dist" in out


def test_the_sale_benchmark_times_completions_and_a_plain_baseline_of_as_many_rows(db_path: Path) -> None:
    """benchmarks/sell.py's completion figures on the demo store: it failed at its baseline's first insert when
    migration 0019 gave the orders triggers that look into a table the baseline did not copy."""
    import random
    from decimal import Decimal

    from app.db.engine import make_engine as make_till_engine
    from app.db.engine import make_sessionmaker as make_till_sessionmaker
    from app.db.models import Barcode
    from app.services import shifts

    sell = load("sell")
    engine = make_till_engine(f"sqlite:///{db_path}")
    factory = make_till_sessionmaker(engine)
    with factory() as s:
        codes = list(s.scalars(select(Barcode.code).limit(40)))
    with factory.begin() as s:  # as the benchmark's Sell window does first
        shifts.open_shift(s, sell.cashier(factory), Decimal("100.00"))
    done = sell.completions(factory, codes, 3, 4, random.Random(1))
    engine.dispose()
    plain, rows = sell.plain_sqlite(db_path, db_path.with_name("plain.db"), done.order_id, 3)
    assert len(done.samples) == len(plain) == 3
    assert rows == done.rows  # the same rows written by each
