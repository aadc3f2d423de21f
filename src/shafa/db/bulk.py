"""Bulk inserts: PostgreSQL's COPY where it pays, plain executemany elsewhere.

A transaction Bundle writes tens of thousands of index rows; as INSERTs they cost ~70 us a row on
PostgreSQL, through COPY a few. COPY runs on the transaction's own connection, so it commits or
rolls back with everything else.
"""

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Index, Table, exists, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.schema import CreateIndex, DropIndex

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


def secondary_indexes(tables: Iterable[Table]) -> list[Index]:
    """The non-unique indexes of tables, as declared: what a bulk load may build after its rows.

    Unique ones stay: they are what refuses a duplicate as it comes.
    """
    return [index for table in tables for index in table.indexes if not index.unique]


async def drop_if_empty(conn: AsyncConnection, indexes: Sequence[Index]) -> bool:
    """Drop indexes (PostgreSQL) if every table they index is empty; True if they were.

    Building a B-tree once over sorted rows costs a fraction of keeping it row by row, which is
    why pg_restore loads first and indexes after; on a table that holds rows already the build
    would redo what exists, so only an empty table is loaded so. The caller builds them again
    with create_indexes, whatever happens to the load.
    """
    if conn.dialect.name != "postgresql" or not indexes:
        return False
    for table in {index.table for index in indexes if index.table is not None}:
        if (await conn.execute(select(exists().select_from(table)))).scalar_one():
            return False
    for index in indexes:
        await conn.execute(DropIndex(index, if_exists=True))
    return True


async def create_indexes(engine: AsyncEngine, indexes: Sequence[Index], connections: int) -> None:
    """Build the indexes missing from the database, over several connections at once.

    IF NOT EXISTS: building every declared index also heals a load that was killed before it
    rebuilt what it dropped.
    """
    queue = list(indexes)

    async def build() -> None:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # A sort in memory rather than in runs on disk; this session only.
            await conn.execute(text("SET maintenance_work_mem = '256MB'"))
            while queue:
                await conn.execute(CreateIndex(queue.pop(0), if_not_exists=True))

    await asyncio.gather(*(build() for _ in range(max(1, connections))))
