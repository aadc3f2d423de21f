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
    # asyncpg prepares every statement; by default PostgreSQL still re-plans the first five runs
    # and then keeps re-planning any statement whose generic plan it guesses dearer, such as the
    # one-statement write with its array parameters (0.8 ms of planning for a 0.3 ms insert).
    # The store's statements are key lookups and inserts whose plans do not depend on the
    # values.
    return _postgresql_engine(
        settings.database_url,
        settings.database_pool_size,
        settings.database_pool_overflow,
        "force_generic_plan",
    )


def create_search_engine(settings: Settings) -> AsyncEngine | None:
    """PostgreSQL: the engine searches run on, its sessions planning each statement anew.

    Search criteria are skewed: status=active matches most MedicationRequests, subject=X a
    handful. A generic plan cannot tell them apart and may start from the wrong index, turning
    a 0.2 ms search into 50 ms at 20,000 resources and seconds at millions; searches pay the
    planning instead (0.1-0.2 ms). A pool of its own, rather than a SET in each search's
    transaction, saves the BEGIN and COMMIT around searches. None on SQLite, which plans every
    statement for its values anyway.
    """
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return None
    return _postgresql_engine(
        settings.database_url,
        settings.database_search_pool_size,
        settings.database_search_pool_overflow,
        "force_custom_plan",
    )


def _postgresql_engine(url: str, pool_size: int, overflow: int, plan_mode: str) -> AsyncEngine:
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=overflow,
        pool_pre_ping=False,
        connect_args={
            "server_settings": {
                # JIT compilation pays off for long analytic queries, never for ours.
                "jit": "off",
                "plan_cache_mode": plan_mode,
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


async def plan_for_values(conn: AsyncConnection) -> None:
    """Plan the rest of this open transaction's statements for their actual values.

    For the searches that run inside another transaction (GET entries of a Bundle); see
    create_search_engine for why.
    """
    if conn.dialect.name == "postgresql":
        await conn.exec_driver_sql("SET LOCAL plan_cache_mode = force_custom_plan")


@asynccontextmanager
async def search_connection(
    engine: AsyncEngine, search_engine: AsyncEngine | None
) -> AsyncIterator[AsyncConnection]:
    """A connection for the statements of one search.

    On PostgreSQL a connection of the search engine, outside any transaction: READ COMMITTED
    gives each statement its own snapshot inside a transaction too, so BEGIN and COMMIT would
    be two round trips for nothing. On SQLite a read transaction, one snapshot for them all.
    """
    if search_engine is None:
        async with read_transaction(engine) as conn:
            yield conn
        return
    async with search_engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


@asynccontextmanager
async def single_statement(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for one read statement, outside any explicit transaction.

    One statement is atomic by itself; skipping BEGIN and COMMIT saves two round trips on
    every read by id, the most frequent request there is.
    """
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn
