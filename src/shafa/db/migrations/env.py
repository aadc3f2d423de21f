"""Alembic environment: runs migrations over the async engine of sqlalchemy.url."""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

import shafa.security.tables  # noqa: F401 (declares the OAuth2 tables on the same metadata)
from shafa.db.tables import metadata
from shafa.prescriptions import tables as _prescriptions_tables  # noqa: F401 (joins metadata)
from shafa.registries import medicines_tables as _medicines_tables  # noqa: F401 (joins metadata)
from shafa.registries import tables as _registries_tables  # noqa: F401 (its tables join metadata)
from shafa.registries.citizens import tables as _citizens_tables  # noqa: F401 (the FIN index)
from shafa.registries.mpi import tables as _mpi_tables  # noqa: F401 (the patient index's tables)
from shafa.security import tables as _security_tables  # noqa: F401 (its tables join metadata)

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("sqlalchemy.url is not set; run migrations through `shafa db`")
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    asyncio.run(_run_online())
