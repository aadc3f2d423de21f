"""Migrations and tables stay in step, go both ways, and an unmigrated database is refused."""

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
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
