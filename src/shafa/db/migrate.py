"""Alembic, driven from code: upgrade, and the check that refuses an unmigrated database."""

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import AsyncEngine


def alembic_config(database_url: str) -> Config:
    """An Alembic Config for the packaged migrations and the given database."""
    config = Config()
    config.set_main_option("script_location", str(resources.files("shafa.db") / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database up to the given revision (default: the newest)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the database down to the given revision."""
    command.downgrade(alembic_config(database_url), revision)


class DatabaseNotMigrated(RuntimeError):
    """The database is not at the newest migration; the message says how to fix it."""


async def ensure_migrated(engine: AsyncEngine, database_url: str) -> None:
    """Raise DatabaseNotMigrated unless the database is at the head revision."""
    head = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
    if current != head:
        state = "has no Shafa tables" if current is None else f"is at revision {current}"
        raise DatabaseNotMigrated(
            f"The database {state}, but this Shafa needs revision {head}. "
            "Run `shafa db upgrade` (with the same SHAFA_DATABASE_URL) and start again."
        )
