"""Statements sent straight to asyncpg when no transaction is open.

SQLAlchemy's execution context (parameter processing, result metadata, transaction state) costs
more than a primary-key lookup or a one-statement insert itself. Outside a transaction (an
AUTOCOMMIT connection, see engine.single_statement) there is no transaction state to keep in
step, so the hottest statements go to the driver directly, compiled once. Everywhere else, and
on SQLite, they run through SQLAlchemy as usual; callers see the same rows either way.
"""

from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import Executable
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.bulk import DuplicateKey
from shafa.db.types import naive_utc


def _outside_transaction_on_postgresql(conn: AsyncConnection) -> bool:
    sync = conn.sync_connection
    return (
        conn.dialect.name == "postgresql"
        and sync is not None
        and sync.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
    )


@cache
def _compiled(statement: Executable) -> tuple[str, tuple[str, ...]]:
    """The statement as asyncpg takes it: $n placeholders, and the parameter names in order."""
    compiled = statement.compile(dialect=asyncpg_dialect.dialect())  # type: ignore[attr-defined]
    return compiled.string, tuple(compiled.positiontup or ())


def _aware(value: Any) -> Any:
    # UtcDateTime's result processing: every timestamp column of Shafa holds UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


async def fetch_one(
    conn: AsyncConnection, statement: Executable, params: Mapping[str, Any]
) -> Mapping[str, Any] | None:
    """The first row of statement as a mapping of column name to value, or None.

    A unique violation is raised as DuplicateKey, whichever way the statement went.
    """
    if not _outside_transaction_on_postgresql(conn):
        try:
            row = (await conn.execute(statement, dict(params))).first()
        except IntegrityError as error:
            raise DuplicateKey(str(error)) from error
        return None if row is None else dict(row._mapping)
    sql, names = _compiled(statement)
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    try:
        record = await driver.fetchrow(sql, *(naive_utc(params[name]) for name in names))
    except asyncpg.UniqueViolationError as error:
        raise DuplicateKey(str(error)) from error
    return None if record is None else {key: _aware(value) for key, value in record.items()}
