"""Alembic environment of the central store: migrations run on the connection `migrate()` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from sync.central import report_facts  # noqa: F401  (its tables and index are on the same metadata)
from sync.central.models import Base, made_on

config = context.config
target_metadata = Base.metadata


def _made_here(obj: object, *_: object) -> bool:
    return made_on(obj, context.get_context().dialect.name)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=_made_here,
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own:
        context.configure(
            connection=own,
            target_metadata=target_metadata,
            render_as_batch=True,
            include_object=_made_here,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations_online()
