"""Bulk inserts: PostgreSQL's COPY where it pays, plain executemany elsewhere.

A transaction Bundle writes tens of thousands of index rows; as INSERTs they cost ~70 us a row on
PostgreSQL, through COPY a few. COPY runs on the transaction's own connection, so it commits or
rolls back with everything else.
"""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.types import UtcDateTime, naive_utc


class DuplicateKey(Exception):
    """A row collided with a unique constraint; the transaction must be rolled back."""


# Below this many rows a multi-row INSERT beats COPY's extra round trips.
COPY_THRESHOLD = 64


def _copy_records(
    table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Sequence[Sequence[Any]]:
    """Rows as COPY takes them: it bypasses bind processing, and UtcDateTime stores naive UTC."""
    datetimes = [i for i, name in enumerate(columns) if isinstance(table.c[name].type, UtcDateTime)]
    if not datetimes:
        return rows
    records = []
    for row in rows:
        record = list(row)
        for i in datetimes:
            record[i] = naive_utc(record[i])
        records.append(record)
    return records


async def insert_rows(
    conn: AsyncConnection, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Insert rows (tuples in the order of columns) into table, inside conn's transaction."""
    if not rows:
        return
    if conn.dialect.name == "postgresql" and len(rows) >= COPY_THRESHOLD:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        try:
            await driver.copy_records_to_table(
                table.name,
                records=_copy_records(table, columns, rows),
                columns=list(columns),
            )
        except Exception as error:
            if type(error).__name__ == "UniqueViolationError":  # asyncpg's, raised unwrapped
                raise DuplicateKey(str(error)) from error
            raise
        return
    try:
        await conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
    except IntegrityError as error:
        raise DuplicateKey(str(error)) from error


async def next_keys(conn: AsyncConnection, table: Table, column: str, count: int) -> list[int]:
    """count new values of an autoincrement key (PostgreSQL sequences), in one round trip."""
    sequence = func.pg_get_serial_sequence(table.name, column)
    result = await conn.execute(
        select(func.nextval(sequence)).select_from(func.generate_series(1, count))
    )
    return [int(value) for value in result.scalars()]
