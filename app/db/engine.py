"""Engine, sessions and migrations of the terminal's local database.

SQLite is opened in WAL mode with `synchronous=FULL` (a committed sale survives a power cut), foreign keys on and a
busy timeout. Writers begin with `BEGIN IMMEDIATE` so the counter and the sync agent queue for the write lock
instead of failing on a lock upgrade mid-transaction. Any other SQLAlchemy URL (PostgreSQL) works as it is.

The database file holds staff PIN hashes, customers and the audit trail: it is created readable and writable by its
user only (0600), and a file found with wider rights is narrowed. SQLite gives its -wal and -shm files the rights of
the database file; those found already there are narrowed too.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.orm import Session, sessionmaker

BUSY_TIMEOUT_MS = 10_000
MIGRATIONS = Path(__file__).with_name("migrations")
FILE_MODE = 0o600
log = logging.getLogger(__name__)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def _sqlite_file(url: str) -> Path | None:
    """The database file an SQLite URL names, or None for an in-memory database (or a `file:` URI)."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def protect_file(path: Path) -> None:
    """Create the database file as 0600 before SQLite does, and narrow it and its -wal/-shm files if wider."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        pass
    except OSError:  # no folder yet, or not ours to create: SQLite says so in its own words
        return
    else:
        os.close(fd)
    for p in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(p.stat().st_mode)
            if mode & ~FILE_MODE:
                p.chmod(mode & FILE_MODE)
        except FileNotFoundError:
            continue
        except OSError as e:  # someone else's file: it still opens; say so in the log
            log.warning("cannot make %s readable by its user only: %s", p, e)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; SQLite gets the pragmas and BEGIN IMMEDIATE described above."""
    if url.startswith("sqlite"):
        path = _sqlite_file(url)
        if path is not None:
            protect_file(path)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection: Any, _record: Any) -> None:
            # Take transaction control from pysqlite so BEGIN is ours to emit.
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
            conn.exec_driver_sql(f"BEGIN {mode}")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def make_read_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions for reads only: on SQLite they begin DEFERRED, so a read never waits behind a writer (WAL)."""
    return sessionmaker(engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)


def reads_only(session: Session) -> bool:
    """Whether a session is one of `make_read_sessionmaker`'s: a write in it may fail (SQLite began DEFERRED)."""
    return bool(session.get_bind().get_execution_options().get("sqlite_begin") == "DEFERRED")


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the database to the newest schema (the app calls this at every start)."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def schema_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
