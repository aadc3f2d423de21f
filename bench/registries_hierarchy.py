"""The facilities hierarchy on 10,000 organisations: load, tree queries and guarded writes, as JSON.

In a fresh database of each backend in --backends it loads the synthetic clinical records of
--patients patients, then a country's tree: the ministry, its agencies, --unions regional
unions, and under each union --per-union hospitals, polyclinics and pharmacies, with
laboratories under the hospitals (four levels). Both go through store.apply_writes in batches
of 500, as transaction Bundles do, with the registries' write checks installed (the partOf
cycle check and the licence-number check). Then it times, --repeat times each, in one process:

- descendants of the ministry (every organisation), of one union, and of one union's pharmacies;
- ancestors of a laboratory (three levels up);
- an update of one pharmacy (moved to another union), with its write checks and without;
- licence_standing of one pharmacy.

bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from sqlalchemy.engine import make_url

from fhir_core import (
    BACKEND_TITLE,
    CLOCK_TICKS,
    _cmdline,
    _percentile,
    _processes,
    log,
    recreate_database,
    vacuum_analyze,
)
from shafa import registries
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine, read_transaction, write_transaction
from shafa.fhir import store
from shafa.registries import codes, facilities
from shafa.synthetic import clinical

BATCH = 500
MOMENT = datetime(2026, 6, 1, tzinfo=UTC)


def _organization(fhir_id: str, kind: str, part_of: str | None, **extra: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": fhir_id,
        "active": True,
        "name": fhir_id,
        "type": [{"coding": [{"system": codes.ORGANIZATION_TYPE, "code": kind}]}],
    }
    if part_of:
        resource["partOf"] = {"reference": f"Organization/{part_of}"}
    return resource | extra


def _pharmacy_licence(number: str) -> list[dict[str, Any]]:
    return [
        {
            "system": codes.FACILITY_LICENCE,
            "value": number,
            "type": {"coding": [{"system": codes.LICENSED_ACTIVITY, "code": "pharmaceutical"}]},
            "period": {"start": "2024-01-01", "end": "2029-12-31"},
            "assigner": {"reference": "Organization/agency-1"},
        }
    ]


def country(unions: int, per_union: int) -> list[dict[str, Any]]:
    """The tree: per union, per_union facilities (5% hospitals, 20% polyclinics, 55%
    pharmacies, 20% laboratories under the hospitals)."""
    tree = [_organization("ministry", "ministry", None)]
    tree += [_organization(f"agency-{a}", "agency", "ministry") for a in range(1, 5)]
    for u in range(1, unions + 1):
        union = f"union-{u}"
        tree.append(_organization(union, "regional-union", "ministry"))
        hospitals = max(1, per_union * 5 // 100)
        polyclinics = per_union * 20 // 100
        laboratories = per_union * 20 // 100
        pharmacies = per_union - hospitals - polyclinics - laboratories
        tree += [_organization(f"{union}-h{n}", "hospital", union) for n in range(hospitals)]
        tree += [_organization(f"{union}-c{n}", "polyclinic", union) for n in range(polyclinics)]
        tree += [
            _organization(
                f"{union}-p{n}", "pharmacy", union, identifier=_pharmacy_licence(f"PH-{u}-{n}")
            )
            for n in range(pharmacies)
        ]
        tree += [
            _organization(f"{union}-l{n}", "laboratory", f"{union}-h{n % hospitals}")
            for n in range(laboratories)
        ]
    return tree


def _cpu_seconds(database: str | None) -> float:
    """CPU seconds of this process (with the SQLite driver's thread) and, on PostgreSQL, of the
    live backends serving database: the work itself, less sensitive than wall time to what
    else runs on a shared machine. Reaped backends are left out (the pool keeps its
    connections open throughout); the reading of /proc is left out of this process's share."""
    ticks = 0
    if database is not None:
        for pid, (_parent, comm, own, _reaped) in _processes().items():
            backend = BACKEND_TITLE.match(_cmdline(pid)) if comm == "postgres" else None
            if backend is not None and backend.group(1) == database:
                ticks += own
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime + ticks / CLOCK_TICKS


async def _timed(
    repeat: int, database: str | None, work: Callable[[], Awaitable[Any]]
) -> dict[str, Any]:
    """Run work repeat times (after one warm-up run): latency percentiles and CPU a run in ms,
    and what the last run returned, counted."""
    found = await work()
    latencies = []
    cpu = _cpu_seconds(database)
    for _ in range(repeat):
        started = time.perf_counter()
        found = await work()
        latencies.append((time.perf_counter() - started) * 1000)
    # This process's time is read last at the start and first at the end (see _cpu_seconds).
    usage = resource.getrusage(resource.RUSAGE_SELF)
    own = usage.ru_utime + usage.ru_stime
    cpu = _cpu_seconds(database) - cpu
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu -= usage.ru_utime + usage.ru_stime - own
    latencies.sort()
    return {
        "results": len(found) if isinstance(found, list) else str(found.status),
        "p50_ms": round(_percentile(latencies, 50), 2),
        "p99_ms": round(_percentile(latencies, 99), 2),
        "cpu_ms": round(cpu * 1000 / repeat, 2),
    }


async def _load(engine: Any, stored: Iterable[dict[str, Any]]) -> int:
    """Store the resources through the store in batches; how many."""
    loaded = 0
    batch: list[store.Write] = []
    for item in [*stored, None]:
        if item is not None:
            batch.append(store.Write(item["resourceType"], item["id"], item, "PUT"))
        if len(batch) == BATCH or (item is None and batch):
            async with write_transaction(engine) as conn:
                await store.apply_writes(conn, batch, store.now())
            loaded += len(batch)
            batch = []
    return loaded


async def measure(
    database_url: str, unions: int, per_union: int, patients: int, repeat: int
) -> dict[str, Any]:
    """Load the clinical records and the tree into a fresh database and time the queries and
    writes."""
    await asyncio.to_thread(migrate.upgrade, database_url)
    registries.install()
    engine = create_engine(Settings(database_url=database_url))
    database = make_url(database_url).database if engine.dialect.name == "postgresql" else None
    tree = country(unions, per_union)
    try:
        # Other data first, so that the tables and indexes hold what a real database holds
        # besides the registry (encounters, observations, prescriptions and their references).
        records = await _load(engine, clinical.generate(patients)) if patients else 0
        started = time.perf_counter()
        cpu = _cpu_seconds(database)
        await _load(engine, tree)
        loaded = time.perf_counter() - started
        cpu = _cpu_seconds(database) - cpu
        if engine.dialect.name == "postgresql":
            await vacuum_analyze(database_url)
        report: dict[str, Any] = {
            "backend": engine.dialect.name,
            "organizations": len(tree),
            "other_resources": records,
            "load_seconds": round(loaded, 2),
            "load_per_second": round(len(tree) / loaded),
            "load_cpu_ms_per_organization": round(cpu * 1000 / len(tree), 2),
        }
        async with read_transaction(engine) as conn:
            report["descendants_of_ministry"] = await _timed(
                repeat, database, lambda: facilities.descendants(conn, "ministry")
            )
            report["descendants_of_union"] = await _timed(
                repeat, database, lambda: facilities.descendants(conn, "union-1")
            )
            report["pharmacies_of_union"] = await _timed(
                repeat, database, lambda: facilities.descendants(conn, "union-1", kind="pharmacy")
            )
            report["ancestors_of_laboratory"] = await _timed(
                repeat, database, lambda: facilities.ancestors(conn, "union-1-l0")
            )
            report["licence_standing"] = await _timed(
                repeat,
                database,
                lambda: facilities.licence_standing(conn, "union-1-p0", MOMENT),
            )
        moves = iter(range(10**9))

        async def move_pharmacy() -> list[Any]:
            union = f"union-{next(moves) % unions + 1}"
            pharmacy = _organization(
                "union-1-p0", "pharmacy", union, identifier=_pharmacy_licence("PH-1-0")
            )
            async with write_transaction(engine) as conn:
                write = store.Write("Organization", "union-1-p0", pharmacy, "PUT")
                return await store.apply_writes(conn, [write], store.now())

        report["update_pharmacy_with_checks"] = await _timed(repeat, database, move_pharmacy)
        # The same without the registries' write checks, for what they cost.
        for res_type, check in registries.write_checks():
            store.remove_write_check(res_type, check)
        try:
            report["update_pharmacy_without_checks"] = await _timed(repeat, database, move_pharmacy)
        finally:
            registries.install()
        return report
    finally:
        await engine.dispose()


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench_registries",
        help="the PostgreSQL database to recreate",
    )
    parser.add_argument("--unions", type=int, default=10)
    parser.add_argument("--per-union", type=int, default=1000)
    parser.add_argument(
        "--patients",
        type=int,
        default=10000,
        help="synthetic patients whose records (10 resources each) load first",
    )
    parser.add_argument("--repeat", type=int, default=50)
    return parser.parse_args()


def main() -> None:
    """Run each backend, print the JSON report."""
    args = parse_args()
    reports = []
    with TemporaryDirectory() as workdir:
        for backend in args.backends.split(","):
            if backend == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(workdir) / 'registries.db'}"
            else:
                url = args.database_url
                asyncio.run(recreate_database(url))
            log(f"{backend}: loading {args.unions} unions of {args.per_union} facilities")
            reports.append(
                asyncio.run(measure(url, args.unions, args.per_union, args.patients, args.repeat))
            )
    json.dump({"machine_cores": os.cpu_count(), "runs": reports}, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
