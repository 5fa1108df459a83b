"""The local database engine: pragmas, writers that queue with BEGIN IMMEDIATE, readers that never wait."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from app.db.engine import make_engine, make_read_sessionmaker, make_sessionmaker


def test_pragmas_and_a_reader_beside_a_writer(db_path: Path) -> None:
    engine = make_engine(f"sqlite:///{db_path}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    writer = make_sessionmaker(engine)()
    writer.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: holds the write lock
    try:
        with make_read_sessionmaker(engine)() as reader:  # would wait 10 s and fail if it took the lock
            assert reader.execute(text("SELECT count(*) FROM products")).scalar()
    finally:
        writer.rollback()
        writer.close()
        engine.dispose()
