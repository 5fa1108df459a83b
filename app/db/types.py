"""Column types that keep money, quantities and time exact on SQLite and PostgreSQL.

Money is stored as integer minor units (cents), quantities as integer thousandths and tax rates as integer
millionths, so sums in SQL are exact on both databases; Python sees `Decimal`. Times are stored as UTC and come back timezone-aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class _ScaledDecimal(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True
    scale = 100
    places = Decimal("0.01")

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        d = Decimal(value).quantize(self.places, rounding=ROUND_HALF_UP)
        return int(d * self.scale)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return (Decimal(int(value)) / self.scale).quantize(self.places)


class Money(_ScaledDecimal):
    """A Decimal amount of money with 2 places, stored as integer cents."""

    cache_ok = True
    scale = 100
    places = Decimal("0.01")


class Qty(_ScaledDecimal):
    """A Decimal quantity with 3 places (pieces or kilograms), stored as integer thousandths."""

    cache_ok = True
    scale = 1000
    places = Decimal("0.001")


class Rate(_ScaledDecimal):
    """A tax rate as a fraction with 6 places (0.088750 is 8.875 %), stored as integer millionths.

    A rate with more places is refused, not rounded: a rounded rate taxes every sale at it wrongly."""

    cache_ok = True
    scale = 1_000_000
    places = Decimal("0.000001")

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is not None and Decimal(value) != Decimal(value).quantize(self.places):
            raise ValueError(f"tax rate {value} has more than 6 decimal places; it is not rounded")
        return super().process_bind_param(value, dialect)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored as UTC (naive on SQLite, timestamptz on PostgreSQL)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
