"""Prefix searches use their index whatever the database's default collation (PostgreSQL)."""

import asyncio
from collections.abc import Iterator

import asyncpg
import pytest

from shafa.db import migrate
from tests.conftest import create_pg_database, drop_pg_database

# A linguistic default, as a database created on an en_US system gets; ICU ships with PostgreSQL.
LINGUISTIC = "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8' TEMPLATE template0"
FAMILY_PREFIX = (
    "EXPLAIN SELECT resource_pk FROM idx_string"
    " WHERE res_type = 'Patient' AND param = 'family' AND value LIKE 'hasanov001%'"
)


@pytest.fixture
def linguistic_database() -> Iterator[tuple[str, str]]:
    url, dsn = create_pg_database(LINGUISTIC)
    yield url, dsn
    drop_pg_database(dsn)


async def _plan(dsn: str) -> str:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("TRUNCATE idx_string")
        surnames = ["aliyev", "aliyeva", "mammadov", "huseynov", "hasanov", "quliyev"]
        await conn.copy_records_to_table(
            "idx_string",
            records=[
                (number, "Patient", "family", f"{surnames[number % 6]}{number:05d}", "x")
                for number in range(20000)
            ],
            columns=["resource_pk", "res_type", "param", "value", "exact"],
        )
        await conn.execute("ANALYZE idx_string")
        return "\n".join(row[0] for row in await conn.fetch(FAMILY_PREFIX))
    finally:
        await conn.close()


def test_a_prefix_search_is_an_index_range_under_a_linguistic_collation(
    linguistic_database: tuple[str, str],
) -> None:
    url, dsn = linguistic_database
    migrate.upgrade(url, "0002")  # before the columns were byte-ordered
    before = asyncio.run(_plan(dsn))
    assert "(value)::text >=" not in before, before  # LIKE cannot become a range: every row is read
    migrate.upgrade(url)
    after = asyncio.run(_plan(dsn))
    assert "Index Cond" in after and "(value)::text >= 'hasanov001'" in after, after
