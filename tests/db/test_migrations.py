"""Migrations and tables stay in step, go both ways, and an unmigrated database is refused."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, select

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine, write_transaction
from shafa.db.tables import INDEX_TABLE_ORDER, idx_composite, idx_string, resources
from shafa.fhir import indexing, jsonio, store
from tests.conftest import BACKENDS, Database, create_pg_database, drop_pg_database


def test_tables_and_migrations_are_in_step(database: Database) -> None:
    # alembic check fails when autogenerate would write a new migration.
    command.check(migrate.alembic_config(database.url))


@pytest.fixture(params=BACKENDS)
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend that no server uses."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    url, dsn = create_pg_database()
    yield url
    drop_pg_database(dsn)


def test_upgrade_down_to_nothing_and_up_again(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))
    migrate.downgrade(scratch_url, "base")
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))


def test_serve_refuses_an_unmigrated_database_and_names_the_fix(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    result = subprocess.run(
        [sys.executable, "-m", "shafa", "serve", "--port", "1"],
        env=os.environ | {"SHAFA_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "shafa db upgrade" in result.stderr
    assert "no Shafa tables" in result.stderr


def test_the_app_refuses_to_start_when_behind(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'behind.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")

    async def check() -> None:
        engine = create_engine(Settings(database_url=url))
        try:
            await migrate.ensure_migrated(engine, url)
        finally:
            await engine.dispose()

    with pytest.raises(migrate.DatabaseNotMigrated, match="shafa db upgrade"):
        asyncio.run(check())


BLOOD_PRESSURE = {
    "resourceType": "Observation",
    "id": "bp",
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "component": [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "mm"},
        }
    ],
}


async def _masks(url: str) -> dict[str, int]:
    """Each resource's index_mask, by id."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            masks = await conn.execute(select(resources.c.fhir_id, resources.c.index_mask))
            return {row.fhir_id: row.index_mask for row in masks}
    finally:
        await engine.dispose()


async def _narrative_words(url: str) -> list[tuple]:
    """The _text rows (resource id, word) of idx_string."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            s = idx_string.c
            query = (
                select(resources.c.fhir_id, s.value)
                .join(resources, resources.c.pk == s.resource_pk)
                .where(s.param == "_text")
            )
            return sorted(tuple(row) for row in await conn.execute(query))
    finally:
        await engine.dispose()


async def _composite_rows(url: str) -> tuple[list[tuple], dict[str, int]]:
    """The idx_composite rows (param, hash, value) and each resource's index_mask."""
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            x = idx_composite.c
            rows = await conn.execute(select(x.param, x.hash, x.value))
            return sorted(tuple(row) for row in rows), await _masks(url)
    finally:
        await engine.dispose()


def test_upgrade_indexes_the_composites_of_resources_stored_before(scratch_url: str) -> None:
    migrate.upgrade(scratch_url, "0001")
    now = datetime.now(UTC)
    narrated = {"resourceType": "Observation", "id": "told", "status": "final"}
    narrated |= {
        "code": {"text": "x"},
        "text": {"status": "generated", "div": "<div>Raised BP</div>"},
    }
    stored = {"bp": BLOOD_PRESSURE, "gone": BLOOD_PRESSURE | {"id": "gone"}, "told": narrated}

    async def store_at_0001() -> None:
        # As the store of revision 0001 left them: no composite rows, no composite bit.
        engine = create_engine(Settings(database_url=scratch_url))
        try:
            async with engine.begin() as conn:
                for fhir_id, resource in stored.items():
                    deleted = fhir_id == "gone"
                    await conn.execute(
                        resources.insert().values(
                            res_type="Observation",
                            fhir_id=fhir_id,
                            version=1,
                            last_updated=now,
                            deleted=deleted,
                            index_mask=0,
                            content=None if deleted else json.dumps(resource),
                        )
                    )
        finally:
            await engine.dispose()

    asyncio.run(store_at_0001())
    migrate.upgrade(scratch_url)
    rows, masks = asyncio.run(_composite_rows(scratch_url))
    expected = indexing.extract(jsonio.parse(json.dumps(BLOOD_PRESSURE))).composite
    assert rows == sorted((row[0], row[1], row[2]) for row in expected)
    assert {row[0] for row in rows} == {"component-code-value-quantity"}
    bit = 1 << INDEX_TABLE_ORDER.index("composite")
    string_bit = 1 << INDEX_TABLE_ORDER.index("string")
    assert masks == {"bp": bit, "gone": 0, "told": string_bit}
    assert asyncio.run(_narrative_words(scratch_url)) == [("told", "bp"), ("told", "raised")]

    migrate.downgrade(scratch_url, "0001")
    assert asyncio.run(_masks(scratch_url)) == {"bp": 0, "gone": 0, "told": string_bit}
    assert asyncio.run(_narrative_words(scratch_url)) == []
    migrate.upgrade(scratch_url)

    async def update_bp() -> None:
        # The store finds the rows the upgrade wrote through the bit, and replaces them.
        engine = create_engine(Settings(database_url=scratch_url))
        try:
            async with write_transaction(engine) as conn:
                changed = BLOOD_PRESSURE | {"component": []}
                write = store.Write("Observation", "bp", changed, "PUT")
                await store.apply_writes(conn, [write], store.now())
        finally:
            await engine.dispose()

    asyncio.run(update_bp())
    rows, masks = asyncio.run(_composite_rows(scratch_url))
    assert rows == []
    assert masks["bp"] & bit == 0


async def _table_names(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_accounts_go_down_to_0005_and_up_again(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    assert {"users", "sessions"} <= asyncio.run(_table_names(scratch_url))
    migrate.downgrade(scratch_url, "0005")
    tables = asyncio.run(_table_names(scratch_url))
    assert "resources" in tables
    assert not {"users", "sessions"} & tables
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))
