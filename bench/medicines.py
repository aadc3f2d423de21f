"""The medicinal product register at 10,000 products: CSV import, equivalents and product
lookups, and their query plans, as JSON.

Recreates the database (PostgreSQL by default; a sqlite+aiosqlite URL works too), migrates it,
and loads --products registered packs: the shipped register's packs over and over, each copy
with a registration number and GTINs of its own, through medicines.import_rows in transactions
of --per-import packs. Then, on one connection, --lookups calls each of equivalents() (for the
substance, strength and form of a random pack), product() by GTIN and product() by Medication
id, and reports latency percentiles, and the plans of the two lookup statements (which must
probe indexes, never scan). bench/README.md explains the figures.

    .venv/bin/python bench/medicines.py --products 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from biip.checksums import gs1_standard_check_digit
from sqlalchemy.engine import make_url

from fhir_core import _percentile, log, recreate_database, vacuum_analyze
from shafa import registries
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine, read_transaction, write_transaction
from shafa.registries import medicines, medicines_csv
from shafa.registries.medicines import _BY_GTIN, _EQUIVALENTS
from shafa.registries.medicines_entry import Entry
from shafa.registries.medicines_rules import equivalence, gtin14

MOMENT = datetime(2026, 11, 22, 12, tzinfo=UTC)


def packs(count: int) -> list[Entry]:
    """count registered packs: the shipped ones again and again, each number and GTIN new."""
    text = resources.files("shafa.registries").joinpath("data/medicines.csv").read_text("utf-8")
    shipped = [entry for _line, entry in medicines_csv.parse(text)]
    made = []
    item = 0
    for n in range(count):
        base = shipped[n % len(shipped)]
        codes = []
        for _gtin in base.gtins:
            item += 1
            payload = f"47699{item:07d}"
            codes.append(payload + str(gs1_standard_check_digit(payload)))
        made.append(replace(base, registration_number=f"AZ-B-{n:06d}", gtins=tuple(codes)))
    return made


async def _plan(conn: object, statement: object, params: dict) -> list[str]:
    """The plan lines of a statement with its parameters bound."""
    compiled = statement.compile(dialect=conn.dialect)  # type: ignore[attr-defined]
    names = compiled.positiontup or ()
    values = tuple(params.get(name, compiled.params.get(name)) for name in names)
    if conn.dialect.name == "sqlite":  # type: ignore[attr-defined]
        rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)  # type: ignore[attr-defined]
        return [str(row[-1]) for row in rows]
    rows = await conn.exec_driver_sql(f"EXPLAIN ANALYZE {compiled}", values)  # type: ignore[attr-defined]
    return [str(row[0]) for row in rows]


async def run(args: argparse.Namespace) -> dict:
    """Load, look up, report."""
    url = args.database_url
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        await asyncio.to_thread(Path(make_url(url).database or "").unlink, missing_ok=True)
    else:
        await recreate_database(url)
    await asyncio.to_thread(migrate.upgrade, url)
    registries.install()
    engine = create_engine(Settings(database_url=url))
    entries = packs(args.products)
    log(f"importing {len(entries)} packs, {args.per_import} a transaction")
    started = time.perf_counter()
    for start in range(0, len(entries), args.per_import):
        chunk = entries[start : start + args.per_import]
        async with write_transaction(engine) as conn:
            await medicines.import_rows(conn, list(enumerate(chunk, start=2)), MOMENT)
    import_seconds = time.perf_counter() - started
    if backend != "sqlite":
        await vacuum_analyze(url)
    rng = random.Random(args.seed)
    sample = [rng.choice(entries) for _ in range(args.lookups)]
    report: dict = {
        "backend": backend,
        "load_average": os.getloadavg()[0],
        "products": len(entries),
        "import_seconds": round(import_seconds, 1),
        "import_products_per_second": round(len(entries) / import_seconds),
    }
    async with read_transaction(engine) as conn:
        ids = [
            product.medication_id
            for entry in sample[:50]
            if (product := await medicines.product(conn, entry.gtins[0], MOMENT)) is not None
        ]
        for name, call in (
            ("equivalents", lambda e: medicines.equivalents(
                conn, [i.inn for i in e.ingredients], [i.strength for i in e.ingredients],
                e.dose_form, MOMENT)),
            ("product_by_gtin", lambda e: medicines.product(conn, e.gtins[-1], MOMENT)),
            ("product_by_id", lambda _e: medicines.product(conn, rng.choice(ids), MOMENT)),
        ):  # fmt: skip
            latencies, found = [], 0
            cpu = time.process_time()
            for entry in sample:
                began = time.perf_counter()
                answer = await call(entry)
                latencies.append((time.perf_counter() - began) * 1000)
                found += len(answer) if isinstance(answer, list) else int(answer is not None)
            cpu = time.process_time() - cpu
            latencies.sort()
            report[name] = {
                "calls": len(latencies),
                "p50_ms": round(_percentile(latencies, 50), 2),
                "p99_ms": round(_percentile(latencies, 99), 2),
                "python_cpu_ms_per_call": round(cpu / len(latencies) * 1000, 2),
                "mean_answers": round(found / len(latencies), 1),
            }
            log(f"{name}: {report[name]}")
        probe = sample[0]
        substance, strength, form = equivalence(probe.ingredients, probe.dose_form)
        plans = {
            "equivalents": await _plan(
                conn,
                _EQUIVALENTS,
                {
                    "substance": substance,
                    "strength": strength,
                    "dose_form": form,
                    "moment": MOMENT.replace(tzinfo=None),
                },
            ),
            "product_by_gtin": await _plan(conn, _BY_GTIN, {"gtin": gtin14(probe.gtins[0])}),
        }
    report["plans"] = plans
    report["scans"] = [
        line.strip()
        for lines in plans.values()
        for line in lines
        if "Seq Scan" in line or line.startswith("SCAN")
    ]
    await engine.dispose()
    return report


def main() -> None:
    """Parse the options, run, print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench_medicines",
    )
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--per-import", type=int, default=1_000)
    parser.add_argument("--lookups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=1)
    print(json.dumps(asyncio.run(run(parser.parse_args())), indent=2))


if __name__ == "__main__":
    main()
