"""The engines: writers reuse plans, searches plan each statement for its values."""

import asyncio

from shafa.config import Settings
from shafa.db.engine import create_engine, create_search_engine
from tests.conftest import Database


async def _plan_modes(settings: Settings) -> tuple[str, str] | None:
    engine, search_engine = create_engine(settings), create_search_engine(settings)
    try:
        if search_engine is None:
            return None
        async with engine.connect() as writer, search_engine.connect() as searcher:
            show = "SHOW plan_cache_mode"
            return (
                (await writer.exec_driver_sql(show)).scalar_one(),
                (await searcher.exec_driver_sql(show)).scalar_one(),
            )
    finally:
        await engine.dispose()
        if search_engine is not None:
            await search_engine.dispose()


def test_searches_plan_for_their_values_and_the_store_reuses_plans(database: Database) -> None:
    modes = asyncio.run(_plan_modes(Settings(database_url=database.url)))
    if database.backend == "sqlite":
        assert modes is None  # SQLite plans every statement with its values: one engine
    else:
        assert modes == ("force_generic_plan", "force_custom_plan")
