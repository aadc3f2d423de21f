"""Column types that behave the same on SQLite and PostgreSQL, and the ids stored in them."""

import os
import random
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Ids need to be unique, not secret: a generator seeded once from the OS, rather than a system
# call for every id (the audit log takes one for every request).
_id_bits = random.Random(os.urandom(32)).getrandbits  # noqa: S311 (ids grant nothing)


def uuid7() -> str:
    """A UUIDv7 (RFC 9562) in its text form: the Unix time in milliseconds, then 74 random bits.

    Time-ordered: rows inserted together fall on the last pages of an index on it.
    """
    value = (
        (time.time_ns() // 1_000_000) << 80
        | 0x7 << 76  # version
        | _id_bits(12) << 64
        | 0b10 << 62  # variant
        | _id_bits(62)
    )
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


def naive_utc(value: Any) -> Any:
    """UtcDateTime's bind processing for values sent to the driver directly (COPY, asyncpg
    arrays): an aware datetime as naive UTC; any other value as it is."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        # Most are UTC already (index rows, the write's moment): no conversion to make.
        if value.tzinfo is UTC:
            return value.replace(tzinfo=None)
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
