"""The till's SQLite database (PIN hashes, customers, the audit trail) is readable by its user only: the file and its
-wal and -shm files are created 0600 whatever the umask, and a file left wider by an older version is narrowed."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app.db.engine import make_engine, make_sessionmaker, migrate


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: files come out 0644 unless made otherwise
    yield
    os.umask(old)


def test_a_new_database_and_its_wal_and_shm_files_are_0600(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "counterline.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
        with make_sessionmaker(engine).begin() as s:
            s.execute(text("CREATE TABLE t (x INTEGER)"))
            s.execute(text("INSERT INTO t VALUES (1)"))
        wal, shm = tmp_path / "counterline.db-wal", tmp_path / "counterline.db-shm"
        assert wal.exists() and shm.exists()  # WAL mode, connection still open
        assert {p.name: mode(p) for p in (path, wal, shm)} == {
            "counterline.db": 0o600,
            "counterline.db-wal": 0o600,
            "counterline.db-shm": 0o600,
        }
    finally:
        engine.dispose()


def test_a_database_left_readable_by_others_is_narrowed_when_opened(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "counterline.db"
    for p in (path, tmp_path / "counterline.db-wal"):
        p.touch()
        p.chmod(0o644)
    engine = make_engine(f"sqlite:///{path}")
    try:
        assert mode(path) == 0o600 and mode(tmp_path / "counterline.db-wal") == 0o600
        with engine.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_in_memory_databases_are_left_alone(tmp_path: Path) -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
    engine.dispose()
