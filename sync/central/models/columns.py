"""The central's column types (money in cents, quantities in thousandths, tax rates in millionths, UTC moments),
the declarative base every table of the central is defined on, and `table_of` for plain statements."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKeyConstraint, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Scaled(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True
    scale = 100

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        scaled = (Decimal(value) * self.scale).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return int(scaled)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        places = Decimal(1).scaleb(-len(str(self.scale)) + 1)
        return (Decimal(int(value)) / self.scale).quantize(places)


class Money(_Scaled):
    """Decimal money with 2 places, stored as integer cents."""

    cache_ok = True
    scale = 100


class Qty(_Scaled):
    """Decimal quantity with 3 places (pieces or kilograms), stored as integer thousandths."""

    cache_ok = True
    scale = 1000


class Rate(_Scaled):
    """A tax rate as a fraction with 6 places (0.088750 is 8.875 %), stored as integer millionths.

    A rate with more places is refused, never rounded: a rounded rate taxes every sale at it wrongly."""

    cache_ok = True
    scale = 1_000_000

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is not None and (Decimal(value) * self.scale) % 1:
            raise ValueError(f"tax rate {value} has more than 6 decimal places; it is not rounded")
        return super().process_bind_param(value, dialect)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC (naive on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def sqlite_key(column: str, referred: str) -> ForeignKeyConstraint:
    """A foreign key of `column` to `referred`.id that only SQLite keeps: a table every pushed sale appends to
    (migration 0027 says why PostgreSQL does not; each id in it is one the central has just read)."""
    return ForeignKeyConstraint([column], [f"{referred}.id"]).ddl_if(dialect="sqlite")


def made_on(obj: object, dialect: str) -> bool:
    """Whether a schema object is made on this dialect (false for a key declared `.ddl_if` another one, as
    `sqlite_key` makes): what a comparison of the models with a database of that dialect should include (Alembic's
    does not read `ddl_if`). The till's schema has the same rule (`app.db.models.made_on`)."""
    only = getattr(obj, "_ddl_if", None)
    return only is None or only.dialect in (None, dialect)


def table_of(model: type[Base]) -> Table:
    """A model's table, for plain statements (no unit of work: one statement, nothing tracked)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table
