"""How fast `shafa demo` builds a synthetic country into PostgreSQL, as JSON.

It recreates the database, migrates it and runs `shafa demo --citizens N` as an operator would,
timing the whole command and measuring the CPU of the loader (the command and its worker
processes) and of PostgreSQL for that database. It reports resources a second, the CPU per
resource of each side, and the counts of each resource type.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url

from fhir_core import _connect, log, postgres_cpu_seconds, recreate_database

ROOT = Path(__file__).resolve().parent.parent


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _shafa(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SHAFA_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "shafa", *args], env=env, capture_output=True, text=True, check=True
    )


async def _counts(database_url: str) -> dict[str, int]:
    connection = await _connect(database_url, make_url(database_url).database)
    try:
        rows = await connection.fetch(
            "SELECT res_type, count(*) FROM resources GROUP BY res_type ORDER BY 2 DESC"
        )
        return {row[0]: row[1] for row in rows}
    finally:
        await connection.close()


def main() -> None:
    """One load, and its figures, as JSON on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_country"
    )
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=None, help="loader processes")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    database = make_url(args.database_url).database
    asyncio.run(recreate_database(args.database_url))
    _shafa("db", "upgrade", database_url=args.database_url)
    log(f"loading {args.citizens:,} citizens into {database}")
    command = ["demo", "--citizens", str(args.citizens), "--seed", str(args.seed)]
    if args.workers:
        command += ["--workers", str(args.workers)]
    loader_before, database_before = _children_cpu(), postgres_cpu_seconds(database)
    started = time.perf_counter()
    loaded = _shafa(*command, database_url=args.database_url)
    seconds = time.perf_counter() - started
    loader_cpu = _children_cpu() - loader_before
    database_cpu = postgres_cpu_seconds(database) - database_before
    counts = asyncio.run(_counts(args.database_url))
    resources = sum(counts.values())
    match = re.search(r"\(([\d,]+) resources/s\)", loaded.stdout)
    report = {
        "benchmark": "demo_country",
        "citizens": args.citizens,
        "resources": resources,
        "seconds": round(seconds, 1),
        "resources_per_s": round(resources / seconds),
        "reported_by_command_per_s": int(match.group(1).replace(",", "")) if match else None,
        "loader_cpu_us_per_resource": round(loader_cpu / resources * 1e6, 1),
        "db_cpu_us_per_resource": round(database_cpu / resources * 1e6, 1),
        "cores": os.cpu_count(),
        "load_average_at_end": [round(load, 2) for load in os.getloadavg()],
        "counts": counts,
    }
    document = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
