"""The database: one async engine a process, and the two kinds of transaction the store uses."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from shafa.config import Settings

_WRITE = "shafa_write"


def create_engine(settings: Settings) -> AsyncEngine:
    """An async engine for SHAFA_DATABASE_URL, tuned for its dialect."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(url, connect_args={"timeout": 30})
        _tune_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_pool_overflow,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                # JIT compilation pays off for long analytic queries, never for ours.
                "jit": "off",
                # asyncpg prepares every statement; by default PostgreSQL still re-plans the
                # first five runs and then keeps re-planning any statement whose generic plan it
                # guesses dearer, such as the one-statement write with its array parameters
                # (0.8 ms of planning for a 0.3 ms insert). The store's statements are key
                # lookups and inserts whose plans do not depend on the values.
                "plan_cache_mode": "force_generic_plan",
            }
        },
    )


def _tune_sqlite(engine: AsyncEngine) -> None:
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin (SQLAlchemy's
        # documented recipe for pysqlite), so writers can take the lock up front below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL lets readers go on while one writer writes. FULL syncs every commit: NORMAL
        # would survive a process crash but could lose the last acknowledged writes on a power
        # failure. Foreign keys are off by default in SQLite.
        for pragma in (
            "journal_mode=WAL",
            "synchronous=FULL",
            "foreign_keys=ON",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A write transaction takes SQLite's write lock at BEGIN: two deferred transactions that
        # both read and then write would otherwise fail with "database is locked" instead of
        # waiting, and a read-then-write check (conditional create) could race.
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return  # single_statement: each statement commits by itself
        if options.get(_WRITE):
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("BEGIN")


@asynccontextmanager
async def write_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A transaction that may write; committed when the block ends without an exception."""
    async with engine.connect() as conn:
        await conn.execution_options(**{_WRITE: True})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction (a consistent snapshot)."""
    async with engine.connect() as conn, conn.begin():
        yield conn


# Search criteria are skewed: status=active matches most MedicationRequests, subject=X a
# handful. A generic plan cannot tell them apart and may start from the wrong index, turning a
# 0.2 ms search into 50 ms at 20,000 resources and seconds at millions: searches pay for
# planning each statement with its values instead.
_PLAN_FOR_VALUES = "SET LOCAL plan_cache_mode = force_custom_plan"


async def plan_for_values(conn: AsyncConnection) -> None:
    """Plan the rest of this open transaction's statements for their actual values."""
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql(_PLAN_FOR_VALUES)


@asynccontextmanager
async def search_transaction(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction whose statements are planned for their values.

    On PostgreSQL the driver opens it and sets the plan mode in one round trip, with SQLAlchemy
    kept out of transaction control (AUTOCOMMIT, as in single_statement); the statements run
    inside it all the same, through SQLAlchemy or straight to the driver.
    """
    async with engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            async with conn.begin():
                yield conn
            return
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        driver = (await conn.get_raw_connection()).driver_connection
        assert driver is not None
        await driver.execute(f"BEGIN READ ONLY; {_PLAN_FOR_VALUES}")
        try:
            yield conn
        except BaseException:
            try:
                await driver.execute("ROLLBACK")
            except Exception:
                # The pool would not roll back a transaction it did not open: never hand on a
                # connection that may still be inside this one.
                await conn.invalidate()
            raise
        await driver.execute("COMMIT")


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one read statement, outside any explicit transaction.

    One statement is atomic by itself; skipping BEGIN and COMMIT saves two round trips on
    every read by id, the most frequent request there is.
    """
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
