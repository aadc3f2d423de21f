"""Column types that behave the same on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


def naive_utc(value: Any) -> Any:
    """UtcDateTime's bind processing for values sent to the driver directly (COPY, asyncpg
    arrays): an aware datetime as naive UTC; any other value as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as naive UTC.

    SQLite has no time zones and compares timestamps as text, so every instant is normalised to
    UTC before it is stored; reads hand back aware datetimes so the code never mixes the two.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UtcDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # SQLite rows read through raw SQL
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)
