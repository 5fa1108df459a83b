"""Fixtures for the central store tests: a migrated database on SQLite and on PostgreSQL, an app in process, and
a seeded chain (tax class, catalog, two stores, an enrolled terminal).

SQLite: one migrated template per session, copied into each test's tmp_path. PostgreSQL (127.0.0.1:5432, as the
tests' own role `counterline_test`: LOGIN CREATEDB, not a superuser, no password from loopback only; `make postgres`
makes it): one fresh `counterline_test_<random>` database per session, emptied between tests and dropped at the end;
tests on it carry the `postgres` mark. A server that cannot be reached FAILS them (`make test`
starts or installs PostgreSQL first); only `COUNTERLINE_SKIP_POSTGRES=1`, set by hand on a machine without it, skips
them, and the skip says so.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sync.central import service
from sync.central.api import create_app, sessions_of
from sync.central.db import migrate
from sync.central.models import Base

PG_ROLE = "counterline_test"
PG_ADMIN = f"host=127.0.0.1 port=5432 user={PG_ROLE} dbname=postgres connect_timeout=3"

CATALOG_CSV = (
    "sku,name,price,tax_class,department,barcodes,weighed\n"
    "A1,Apple juice 1l,2.50,std,drinks,4006381333931 4006381333948:6,no\n"
    "B2,Bananas,1.99,std,fruit,,yes\n"
    "C3,Coffee 500g,6.40,std,grocery,5012345678900,no\n"
)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "central.db"
    migrate(f"sqlite:///{path}")
    return path


@contextmanager
def _pg_database(make: Callable[[str], None]) -> Iterator[str]:
    """A fresh database of the tests' role, made by `make(url)`, dropped at the end."""
    if os.environ.get("COUNTERLINE_SKIP_POSTGRES") == "1":
        pytest.skip("COUNTERLINE_SKIP_POSTGRES=1: PostgreSQL tests not run on this machine")
    try:
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL on 127.0.0.1:5432 does not let the tests' role {PG_ROLE} in: {exc}"
            " (run `make postgres` as root, or `sudo make system` once)"
        )
    name = f"counterline_test_{secrets.token_hex(6)}"
    admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{PG_ROLE}@127.0.0.1:5432/{name}"
    try:
        make(url)
        yield url
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A central store's database on PostgreSQL, migrated."""
    with _pg_database(migrate) as url:
        yield url


@pytest.fixture(scope="session")
def till_pg_url() -> Iterator[str]:
    """A till's database on PostgreSQL (any SQLAlchemy URL works for a till), migrated and seeded as the demo."""
    from app import demo
    from app.db.engine import make_engine, make_sessionmaker
    from app.db.engine import migrate as migrate_till

    def make(url: str) -> None:
        engine = make_engine(url)
        migrate_till(engine)
        with make_sessionmaker(engine).begin() as s:
            demo.seed(s, products=60)
        engine.dispose()

    with _pg_database(make) as url:
        yield url


def _empty_postgres(url: str) -> None:
    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "central.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url: str = request.getfixturevalue("pg_url")
    _empty_postgres(url)
    return url


@dataclass
class Central:
    """A central store app in process with a seeded chain."""

    url: str
    client: TestClient
    sessions: sessionmaker[Session]
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, terminal: str = "S1/T1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[terminal]}"}

    def enrol(self, store: str, terminal: str) -> str:
        with self.sessions.begin() as s:
            code = service.issue_enrolment_code(s, store, terminal)
        response = self.client.post("/v1/enroll", json={"code": code, "terminal_name": f"till {terminal}"})
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        self.tokens[f"{store}/{terminal}"] = token
        return token

    def push(self, events: list[dict[str, Any]], terminal: str = "S1/T1") -> list[dict[str, Any]]:
        response = self.client.post("/v1/push", json={"events": events}, headers=self.auth(terminal))
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def pull_all(
        self, cursor: int = 0, terminal: str = "S1/T1", limit: int = 500
    ) -> tuple[list[dict[str, Any]], int]:
        changes: list[dict[str, Any]] = []
        while True:
            response = self.client.get(
                "/v1/pull", params={"cursor": cursor, "limit": limit}, headers=self.auth(terminal)
            )
            assert response.status_code == 200, response.text
            page = response.json()
            changes += page["changes"]
            cursor = page["next_cursor"]
            if not page["more"]:
                return changes, cursor


@pytest.fixture
def central(db_url: str) -> Iterator[Central]:
    app = create_app(db_url)
    factory = sessions_of(app)
    with factory.begin() as s:
        service.set_tax_class(s, "std", "0.20", "Standard")
        service.create_store(s, "S1", "High Street")
        service.create_store(s, "S2", "Station")
        service.import_catalog(s, CATALOG_CSV)
    with TestClient(app) as client:
        hub = Central(url=db_url, client=client, sessions=factory)
        hub.enrol("S1", "T1")
        hub.enrol("S1", "T2")
        hub.enrol("S2", "T1")
        yield hub
    app.state.engine.dispose()
