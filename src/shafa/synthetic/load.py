"""Loading a synthetic country: the facilities first, then households in parallel chunks.

The bulk path writes through the store's own apply_writes (the same versions, index rows and
care relationships an API write makes) in large batches, straight on database connections:
no HTTP, no per-request validation (the generator's output is validated in its tests). On
PostgreSQL several processes each load a range of households over their own connection; the
country is the same however it is split (see country.households). SQLite has one writer, so
it loads in this process. Into an empty PostgreSQL database the secondary indexes are built
after the rows (docs/demo-country.md, "The bulk path").
"""

from __future__ import annotations

import asyncio
import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import text

from shafa import registries
from shafa.config import Settings
from shafa.db import bulk
from shafa.db.engine import create_engine, write_transaction
from shafa.db.tables import INDEX_TABLES, resource_versions, resources
from shafa.fhir import store
from shafa.registries import medicines, medicines_csv
from shafa.security.tables import care_links
from shafa.synthetic import country

BATCH = 2000  # resources a transaction
CHUNK = 500  # households a worker takes at a time (~1,800 citizens, ~18,000 resources)
# Transactions a worker keeps going at once: while PostgreSQL takes in one batch, the worker
# makes the next, rather than each side waiting for the other. Households are independent, so
# their batches may commit in any order.
IN_FLIGHT = 2

Progress = Callable[[int], None]  # told how many more resources are in

# Into an empty database these are loaded without them and built after (bulk.drop_if_empty); the
# checks the load makes as it goes read only unique indexes, which stay.
DEFERRED_INDEXES = bulk.secondary_indexes(
    (resources, resource_versions, *INDEX_TABLES.values(), care_links)
)


@dataclass(frozen=True)
class Loaded:
    """What a load wrote, and how fast."""

    citizens: int
    resources: int
    seconds: float

    @property
    def per_second(self) -> float:
        """Resources a second over the whole load."""
        return self.resources / self.seconds if self.seconds else 0.0


def _batches(resources: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for resource in resources:
        batch.append(resource)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _write(
    settings: Settings,
    resources: Iterable[dict[str, Any]],
    moment: datetime,
    progress: Progress | None = None,
    *,
    in_flight: int = 1,
) -> int:
    """Write resources in transactions of BATCH, in_flight of them at a time."""
    engine = create_engine(settings)
    batches = _batches(resources, BATCH)
    written = 0

    async def writer() -> None:
        nonlocal written
        for batch in batches:  # shared: each batch goes to the next writer free
            writes = [store.Write(r["resourceType"], r["id"], r, "PUT") for r in batch]
            async with write_transaction(engine) as conn:
                await store.apply_writes(conn, writes, moment)
            written += len(batch)
            if progress is not None:
                progress(len(batch))

    try:
        with _no_collections():
            await asyncio.gather(*(writer() for _ in range(in_flight)))
    finally:
        await engine.dispose()
    return written


@contextmanager
def _no_collections() -> Iterator[None]:
    """No garbage collection while writing a chunk.

    A load allocates millions of short-lived tuples and dicts, which reference counting frees;
    the collector, run every 700 allocations and now and then over every object of the process
    (the compiled extractors, the country's plan), took a third of the extraction's time and
    found next to nothing: the memory of a load stays the same without it. It runs again
    between chunks, over what the chunk left, and not over what existed before (freeze).
    """
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@cache
def _plan(citizens: int, seed: int) -> country.Plan:
    return country.plan(citizens, seed)


def _load_chunk(job: tuple[str, int, int, int, int, str]) -> int:
    """In a worker process: write households [first, last) of the country."""
    database_url, citizens, seed, first, last, moment = job
    registries.install()  # a spawned process starts without the parent's
    plan = _plan(citizens, seed)
    resources = country.households(plan, first, last)
    settings = Settings(database_url=database_url)
    return asyncio.run(
        _write(settings, resources, datetime.fromisoformat(moment), in_flight=IN_FLIGHT)
    )


async def _register_medicines(
    settings: Settings, moment: datetime, progress: Progress | None = None
) -> int:
    """The shipped medicinal product register, as `shafa registry medicines import` loads it:
    the packs the country's prescriptions are dispensed from. Its resources written (a pack's
    Medication and MedicationKnowledge, and the holders' Organizations)."""
    engine = create_engine(settings)
    try:
        async with write_transaction(engine) as conn:
            imported = await medicines.import_rows(conn, medicines_csv.shipped(), moment)
    finally:
        await engine.dispose()
    written = imported.resources
    if progress is not None:
        progress(written)
    return written


def _chunks(plan: country.Plan) -> list[tuple[int, int]]:
    return [
        (first, min(first + CHUNK, plan.households)) for first in range(0, plan.households, CHUNK)
    ]


def load(
    settings: Settings,
    citizens: int,
    seed: int = 1,
    *,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Loaded:
    """Write the country of `citizens` people (and its facilities) into the database."""
    started = time.perf_counter()
    # The registries' rules of an API write: folded names, the master patient index, unique
    # FINs and licence numbers, the facility tree.
    registries.install()
    plan = _plan(citizens, seed)
    moment = store.now()
    postgresql = settings.database_url.startswith("postgresql")
    processes = 1 if not postgresql else workers or os.cpu_count() or 1
    if postgresql:
        asyncio.run(_defer_indexes(settings))
    try:
        written = _load_all(settings, citizens, seed, plan, moment, processes, progress)
    finally:
        if postgresql:
            asyncio.run(_build_indexes(settings, processes))
    if postgresql:
        asyncio.run(_analyze(settings))
    return Loaded(citizens, written, time.perf_counter() - started)


def _load_all(
    settings: Settings,
    citizens: int,
    seed: int,
    plan: country.Plan,
    moment: datetime,
    processes: int,
    progress: Progress | None,
) -> int:
    written = asyncio.run(_register_medicines(settings, moment, progress))
    written += asyncio.run(_write(settings, country.facility_resources(plan), moment, progress))
    analyzed = not settings.database_url.startswith("postgresql")
    for count in _household_chunks(settings, citizens, seed, plan, moment, processes, progress):
        written += count
        if not analyzed:
            # Statistics once the tables hold a chunk's rows: planned as empty, the master
            # patient index's lookups scan whole tables, at a cost that grows with every chunk.
            asyncio.run(_analyze(settings))
            analyzed = True
    return written


def _household_chunks(
    settings: Settings,
    citizens: int,
    seed: int,
    plan: country.Plan,
    moment: datetime,
    processes: int,
    progress: Progress | None,
) -> Iterator[int]:
    """Write the households chunk by chunk; how many resources each chunk was."""
    chunks = _chunks(plan)
    if processes == 1:
        # SQLite takes one writer at a time (BEGIN IMMEDIATE): a second would only wait.
        in_flight = IN_FLIGHT if settings.database_url.startswith("postgresql") else 1
        for first, last in chunks:
            households = country.households(plan, first, last)
            yield asyncio.run(_write(settings, households, moment, progress, in_flight=in_flight))
        return
    jobs = [(settings.database_url, citizens, seed, a, b, moment.isoformat()) for a, b in chunks]
    # spawn, not fork: a forked child would inherit this process's event loop and pools.
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for count in pool.imap_unordered(_load_chunk, jobs):
            if progress is not None:
                progress(count)
            yield count


async def _defer_indexes(settings: Settings) -> None:
    engine = create_engine(settings)
    try:
        async with write_transaction(engine) as conn:
            await bulk.drop_if_empty(conn, DEFERRED_INDEXES)
    finally:
        await engine.dispose()


async def _build_indexes(settings: Settings, connections: int) -> None:
    engine = create_engine(settings)
    try:
        await bulk.create_indexes(engine, DEFERRED_INDEXES, connections)
    finally:
        await engine.dispose()


async def _analyze(settings: Settings) -> None:
    """Fresh statistics, so the planner knows the tables are no longer empty."""
    engine = create_engine(settings)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text("ANALYZE"))
    finally:
        await engine.dispose()


def expected_resources(citizens: int, seed: int = 1) -> int:
    """How many resources the country of this size holds (for a progress bar's total)."""
    plan = _plan(citizens, seed)
    facilities = sum(1 for _ in country.facility_resources(plan))
    # ~10 a citizen; the exact count would mean generating everything twice.
    return facilities + citizens * 10
