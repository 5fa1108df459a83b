"""The local database engine: pragmas, writers that queue with BEGIN IMMEDIATE, readers that never wait."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

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


def test_the_migrations_build_what_the_models_describe(empty_db: sessionmaker[Session]) -> None:
    """Every model change comes with its migration: the migrated schema and the models do not differ."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from app.db.models import Base, made_on

    engine = empty_db.kw["bind"]
    with engine.connect() as conn:
        # The full-text index over product names (an FTS5 table and its shadow tables) is the migrations' own.
        def modelled(name: str | None, kind: str, _parent: object) -> bool:
            return not (kind == "table" and (name or "").startswith("product_search"))

        def here(obj: object, *_: object) -> bool:  # an index made on another dialect only is not looked for
            return made_on(obj, conn.dialect.name)

        opts = {"compare_type": False, "include_name": modelled, "include_object": here}
        context = MigrationContext.configure(conn, opts=opts)
        assert compare_metadata(context, Base.metadata) == []
