"""Migration 0009 fills the registries' tables from the resources stored before it."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
from shafa.db.tables import resources
from shafa.registries.tables import licence_numbers, organization_ancestors
from tests.conftest import BACKENDS, create_pg_database, drop_pg_database
from tests.registries.builders import facility_licence, licence, organization, practitioner


@pytest.fixture(params=BACKENDS)
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend that no server uses."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    url, dsn = create_pg_database()
    yield url
    drop_pg_database(dsn)


STORED: list[dict[str, Any] | tuple[str, str]] = [
    practitioner("aysel", licence("AZ-100"), licence("AZ-101", "paediatrics")),
    practitioner("rauf", licence("AZ-100")),  # stored twice before any check: the first keeps it
    ("Practitioner", "gone"),  # deleted
    organization("clinic", "polyclinic", part_of="union"),  # before its union
    organization("union", "regional-union", part_of="ministry"),
    organization("ministry", "ministry"),
    organization("pharmacy", "pharmacy", part_of="union", licences=[facility_licence("PH-1")]),
]


async def _store_at_0008(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.begin() as conn:
            for item in STORED:
                deleted = isinstance(item, tuple)
                res_type, fhir_id = (
                    item if isinstance(item, tuple) else (item["resourceType"], item["id"])
                )
                await conn.execute(
                    resources.insert().values(
                        res_type=res_type,
                        fhir_id=fhir_id,
                        version=1,
                        last_updated=datetime.now(UTC),
                        deleted=deleted,
                        index_mask=0,
                        content=None if deleted else json.dumps(item),
                    )
                )
    finally:
        await engine.dispose()


async def _rows(url: str) -> tuple[set[tuple], set[tuple]]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            numbers = {tuple(r) for r in await conn.execute(select(licence_numbers))}
            tree = {tuple(r) for r in await conn.execute(select(organization_ancestors))}
            return numbers, tree
    finally:
        await engine.dispose()


async def _tables(url: str) -> set[str]:
    engine = create_engine(Settings(database_url=url))
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def test_upgrade_derives_licence_numbers_and_the_tree_and_downgrade_drops_them(
    scratch_url: str,
) -> None:
    migrate.upgrade(scratch_url, "0008")
    asyncio.run(_store_at_0008(scratch_url))
    migrate.upgrade(scratch_url)
    numbers, tree = asyncio.run(_rows(scratch_url))
    worker = "https://fhir.shafa.az/sid/practitioner-licence"
    facility = "https://fhir.shafa.az/sid/facility-licence"
    assert numbers == {
        (worker, "AZ-100", "Practitioner", "aysel"),
        (worker, "AZ-101", "Practitioner", "aysel"),
        (facility, "PH-1", "Organization", "pharmacy"),
    }
    assert tree == {
        ("clinic", "union", 1, "polyclinic"),
        ("clinic", "ministry", 2, "polyclinic"),
        ("union", "ministry", 1, "regional-union"),
        ("pharmacy", "union", 1, "pharmacy"),
        ("pharmacy", "ministry", 2, "pharmacy"),
    }
    migrate.downgrade(scratch_url, "0008")
    tables = asyncio.run(_tables(scratch_url))
    assert not {"licence_numbers", "organization_ancestors"} & tables
    migrate.upgrade(scratch_url)
