"""The bulk loader: what it leaves in PostgreSQL is what API writes would."""

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest
from tests.conftest import create_pg_database, drop_pg_database

from shafa.config import Settings
from shafa.db import bulk, migrate
from shafa.db.engine import create_engine, write_transaction
from shafa.db.tables import idx_token
from shafa.synthetic import load


@pytest.fixture
def empty_pg() -> Iterator[tuple[str, str]]:
    """A freshly migrated PostgreSQL database of this test's own: (URL, DSN)."""
    url, dsn = create_pg_database()
    migrate.upgrade(url)
    yield url, dsn
    drop_pg_database(dsn)


async def _fetch(dsn: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch(query))
    finally:
        await conn.close()


INDEX_DEFINITIONS = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"


def test_a_load_into_an_empty_database_builds_again_the_indexes_it_loads_without(
    empty_pg: tuple[str, str],
) -> None:
    url, dsn = empty_pg
    migrated = set(asyncio.run(_fetch(dsn, INDEX_DEFINITIONS)))

    loaded = load.load(Settings(database_url=url), 40, seed=2, workers=1)

    assert loaded.resources > 400
    assert set(asyncio.run(_fetch(dsn, INDEX_DEFINITIONS))) == migrated
    # The registries kept their facts as for an API write: folded names, the master patient
    # index's blocking keys.
    (folded,) = asyncio.run(_fetch(dsn, "SELECT count(*) FROM idx_string WHERE folded <> ''"))
    (keyed,) = asyncio.run(_fetch(dsn, "SELECT count(DISTINCT patient_id) FROM mpi_keys"))
    assert folded[0] > 40
    assert keyed[0] == 40


def test_indexes_of_a_table_that_holds_rows_are_not_dropped(empty_pg: tuple[str, str]) -> None:
    url, dsn = empty_pg
    load.load(Settings(database_url=url), 3, seed=2, workers=1)
    before = set(asyncio.run(_fetch(dsn, INDEX_DEFINITIONS)))

    async def drop() -> bool:
        engine = create_engine(Settings(database_url=url))
        try:
            async with write_transaction(engine) as conn:
                return await bulk.drop_if_empty(conn, bulk.secondary_indexes([idx_token]))
        finally:
            await engine.dispose()

    assert asyncio.run(drop()) is False
    assert set(asyncio.run(_fetch(dsn, INDEX_DEFINITIONS))) == before
