"""Engine, sessions and schema migration of the central store.

SQLite (the default, `sqlite:///central.db`) is opened in WAL mode with foreign keys on, and every transaction
starts with `BEGIN IMMEDIATE` so the database has a single writer: two pushes never read the same feed seq.
PostgreSQL (any `postgresql+psycopg://` URL) serialises feed seqs with `SELECT ... FOR UPDATE` instead.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_DATABASE_URL = "sqlite:///central.db"
DATABASE_URL_ENV = "COUNTERLINE_CENTRAL_DATABASE_URL"
READONLY_OPTION = "counterline_readonly"
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
PING_IDLE_SECONDS = 5.0  # a pooled PostgreSQL connection idle this long is pinged before it is handed out


def database_url(explicit: str | None = None) -> str:
    """The URL given, else the environment's, else the SQLite default; `postgresql://` means psycopg 3."""
    url = explicit or os.environ.get(DATABASE_URL_ENV) or DEFAULT_DATABASE_URL
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def make_engine(url: str | None = None) -> Engine:
    """An engine for the URL; raises `sqlalchemy.exc.ArgumentError` for a malformed one."""
    resolved = make_url(database_url(url))
    if resolved.get_backend_name() == "sqlite":
        engine = create_engine(resolved, connect_args={"timeout": 30, "check_same_thread": False})
        _make_sqlite_single_writer(engine)
        return engine
    # One connection per API worker thread (FastAPI runs handlers on a pool of 40): with SQLAlchemy's default of
    # 5 + 10, twenty terminals pushing to one store queued for connections and got HTTP 500s.
    engine = create_engine(resolved, pool_size=10, max_overflow=30, pool_timeout=60)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before it is handed out only when it sat idle in the pool for PING_IDLE_SECONDS
    (pool_pre_ping pinged at every checkout: a round trip and 3-4% of a web order's Python time under load).

    A connection the server dropped while idle (a restart, a failover, an idle timeout) is found dead by the ping,
    replaced by a fresh one and the request goes on, as with pool_pre_ping. A connection checked in less than
    PING_IDLE_SECONDS ago is used without one; if the server went away in that window the statement fails (the
    transaction rolls back, nothing is committed) and SQLAlchemy, seeing a disconnect, invalidates every pooled
    connection of that moment, so only requests already under way see it."""

    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        # `info` lives as long as the DBAPI connection: a fresh connection has none and needs no ping.
        at = record.info.get("checked_in_at")
        if at is None or time.monotonic() - at < PING_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out another (a new one when none is left).
            raise exc.DisconnectionError(f"pooled connection failed its ping: {error}") from error


def _make_sqlite_single_writer(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (pysqlite's own BEGIN is deferred).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers take a deferred BEGIN: in WAL mode they never wait for, nor block, the writer.
        readonly = connection.get_execution_options().get(READONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine, readonly: bool = False) -> sessionmaker[Session]:
    """Sessions for writing (the default) or for reading only, which on SQLite do not take the write lock."""
    bind = engine.execution_options(**{READONLY_OPTION: True}) if readonly else engine
    return sessionmaker(bind, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    """Alembic configuration pointing at the migrations shipped inside this package (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url(url).replace("%", "%%"))
    return config


def migrate(url: str | None = None, engine: Engine | None = None) -> None:
    """Bring the database at `url` (or `engine`'s) to the newest schema revision."""
    config = alembic_config(url)
    owned = engine is None
    engine = engine or make_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        if owned:
            engine.dispose()
