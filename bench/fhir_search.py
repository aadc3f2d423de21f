"""FHIR search benchmark: the searches screens make most, at several dataset sizes, as JSON.

For each dataset size it loads (or reuses) a PostgreSQL database of synthetic clinical records
through bench/fhir_core.py's ingest, starts `shafa serve`, samples real values from the data,
checks that every search finds what it should, then drives each search with wrk
(bench/lua/search.lua) and times `_summary=count` over whole types. For the slowest search it
prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) of the SQL Shafa sends. Run with --help;
bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import asyncpg
import httpx
import orjson
from sqlalchemy.dialects import postgresql

from fhir_core import (
    CpuMeter,
    _connect,
    _percentile,
    add_server_and_data_arguments,
    ingest,
    log,
    prepare,
    recreate_database,
    run_wrk,
    shafa_command,
    start_server,
    stop_server,
    vacuum_analyze,
)
from shafa.fhir import search
from shafa.synthetic.clinical import FIN_SYSTEM, LOINC_SYSTEM, RESOURCES_PER_PATIENT, SHARED_SIZE

# name -> (resource type sampled, how a sampled resource becomes a query)
SEARCHES = ("patient_identifier", "patient_family_birthdate", "observation_subject_code_date")
SEARCHES += ("medication_request_active_include",)
COUNTED_TYPES = ("Patient", "Observation")
SAMPLES = 5000


def _patient_identifier(patient: dict) -> str:
    fin = next(i["value"] for i in patient["identifier"] if i["system"] == FIN_SYSTEM)
    return f"Patient?identifier={quote(FIN_SYSTEM, safe='')}%7C{fin}"


def _patient_family_birthdate(patient: dict) -> str:
    family = patient["name"][0]["family"]
    return f"Patient?family={quote(family)}&birthdate={patient['birthDate']}"


def _observation_subject_code_date(observation: dict) -> str:
    code = observation["code"]["coding"][0]["code"]
    # A week before the observation: the date criterion narrows, as a "recent results" screen.
    since = date.fromisoformat(observation["effectiveDateTime"][:10]) - timedelta(days=7)
    return (
        f"Observation?subject={observation['subject']['reference']}"
        f"&code={quote(LOINC_SYSTEM, safe='')}%7C{code}&date=ge{since.isoformat()}"
    )


def _medication_request_active_include(request: dict) -> str:
    return (
        f"MedicationRequest?subject={request['subject']['reference']}&status=active"
        "&_include=MedicationRequest:medication"
    )


QUERY_BUILDERS = {
    "patient_identifier": ("Patient", _patient_identifier),
    "patient_family_birthdate": ("Patient", _patient_family_birthdate),
    "observation_subject_code_date": ("Observation", _observation_subject_code_date),
    "medication_request_active_include": ("MedicationRequest", _medication_request_active_include),
}


async def _sample(database_url: str, res_type: str, count: int) -> list[dict]:
    """Live resources of res_type, drawn evenly over the table (TABLESAMPLE-free, seeded)."""
    connection = await _connect(database_url)
    try:
        await connection.execute("SELECT setseed(0.42)")
        rows = await connection.fetch(
            "SELECT content FROM resources WHERE res_type = $1 AND NOT deleted"
            " ORDER BY random() LIMIT $2",
            res_type,
            count,
        )
    finally:
        await connection.close()
    return [orjson.loads(row["content"]) for row in rows]


async def _dataset_size(database_url: str) -> int | None:
    """Live resources in the database, None when it does not exist or is not migrated."""
    try:
        connection = await _connect(database_url)
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        return int(await connection.fetchval("SELECT count(*) FROM resources WHERE NOT deleted"))
    except asyncpg.UndefinedTableError:
        return None
    finally:
        await connection.close()


def write_queries(args: argparse.Namespace, database_url: str, label: str) -> dict[str, Path]:
    """One file of sampled query paths a search, one query a line."""
    paths = {}
    for name in args.searches:
        res_type, build = QUERY_BUILDERS[name]
        sampled = asyncio.run(_sample(database_url, res_type, args.samples))
        path = args.workdir / f"queries-{label}-{name}.txt"
        path.write_text("".join(build(resource) + "\n" for resource in sampled))
        paths[name] = path
    return paths


def check_queries(base: str, name: str, path: Path, checks: int = 25) -> dict[str, float]:
    """Every checked query must find at least one match (and, with _include, the Medication)."""
    matches, included = [], []
    with httpx.Client(timeout=30) as client:
        for line in path.read_text().splitlines()[:checks]:
            answer = client.get(f"{base}/{line}")
            answer.raise_for_status()
            entries = answer.json().get("entry", [])
            modes = [entry["search"]["mode"] for entry in entries]
            matches.append(modes.count("match"))
            included.append(modes.count("include"))
            if not modes.count("match"):
                sys.exit(f"{name}: {line} found nothing; the bench would measure empty answers")
            if "_include" in line and not modes.count("include"):
                sys.exit(f"{name}: {line} included nothing")
    return {
        "mean_matches": round(sum(matches) / len(matches), 2),
        "mean_included": round(sum(included) / len(included), 2),
    }


def time_counts(base: str, res_type: str, repeats: int) -> dict[str, Any]:
    """`res_type?_summary=count`, one request at a time: latency is the figure here."""
    latencies = []
    with httpx.Client(timeout=60) as client:
        total = client.get(f"{base}/{res_type}?_summary=count").json()["total"]  # warm-up
        for _ in range(repeats):
            started = time.perf_counter()
            answer = client.get(f"{base}/{res_type}?_summary=count")
            latencies.append(time.perf_counter() - started)
            answer.raise_for_status()
    latencies.sort()
    return {
        "resources_counted": total,
        "requests": repeats,
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        "max_ms": round(latencies[-1] * 1000, 1),
    }


async def explain(database_url: str, query_line: str) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of the page query Shafa builds for one sampled search."""
    res_type, _, query = query_line.partition("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    found = search.criteria(res_type, [(k, v) for k, v in pairs if not k.startswith("_")])
    statement = search.select_matches(res_type, found).order_by(search.resources.c.pk).limit(51)
    sql = str(
        statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    )
    connection = await _connect(database_url)
    try:
        await connection.execute("SET jit = off")
        rows = await connection.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
    finally:
        await connection.close()
    return [row[0] for row in rows]


def run_size(args: argparse.Namespace, resources: int) -> dict[str, Any]:
    """Load or reuse the dataset of that size and run every search on it."""
    patients = math.ceil(resources / RESOURCES_PER_PATIENT)
    label = f"{patients * RESOURCES_PER_PATIENT // 1000}k"
    database_url = f"{args.database_prefix}_{label}"
    database = database_url.rsplit("/", 1)[1]
    expected = patients * RESOURCES_PER_PATIENT + SHARED_SIZE
    env = {**os.environ, "SHAFA_DATABASE_URL": database_url, "SHAFA_FHIR_AUTH_REQUIRED": "false"}
    loaded = asyncio.run(_dataset_size(database_url))
    report: dict[str, Any] = {"dataset_resources": expected, "database": database}
    if loaded != expected:
        log(f"{label}: database {database} holds {loaded}, loading {expected} resources")
        asyncio.run(recreate_database(database_url))
    # A reused database may be of an older revision. Its output joins the progress on stderr:
    # stdout is for the report alone.
    subprocess.run([shafa_command(), "db", "upgrade"], env=env, check=True, stdout=sys.stderr)
    server = start_server(args, env, args.workdir / f"server-{label}.log")
    try:
        meter = CpuMeter(server.pid, database)
        if loaded != expected:
            report["ingest"] = ingest(args, patients, meter)
        # After a load, or an upgrade that rewrote rows: without it the counts read the heap
        # (the visibility map is stale) and the planner has no statistics.
        log("vacuum analyze")
        asyncio.run(vacuum_analyze(database_url))
        base = f"http://{args.host}:{args.port}/fhir"
        query_files = write_queries(args, database_url, label)
        report["searches"] = {}
        for name, path in query_files.items():
            found = check_queries(base, name, path)
            wrk_env = {**env, "SHAFA_BENCH_QUERIES": str(path), "SHAFA_BENCH_THREADS": "1"}
            # Unmeasured: the pools open their connections, caches fill, as in a running server.
            run_wrk(argparse.Namespace(**{**vars(args), "seconds": 3}), "search", wrk_env, meter)
            measured = run_wrk(args, "search", wrk_env, meter)
            report["searches"][name] = {"example": path.read_text().split("\n", 1)[0]}
            report["searches"][name] |= found | measured
            log(f"{label} {name}: {measured['ops_per_s']}/s p99 {measured['p99_ms']} ms")
        report["summary_count"] = {
            res_type: time_counts(base, res_type, args.count_repeats) for res_type in COUNTED_TYPES
        }
        if report["searches"]:
            slowest = max(report["searches"], key=lambda n: report["searches"][n]["p99_ms"])
            example = report["searches"][slowest]["example"]
            report["explain_slowest"] = {
                "search": slowest,
                "query": example,
                "plan": asyncio.run(explain(database_url, example)),
            }
    finally:
        stop_server(server)
    return report


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-prefix",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_search",
        help="each size gets its own database: PREFIX_100k, PREFIX_1000k...",
    )
    parser.add_argument(
        "--resources",
        default="100000,1000000",
        help="comma-separated dataset sizes; a database already holding that size is reused",
    )
    parser.add_argument(
        "--searches",
        default=",".join(SEARCHES),
        help="comma-separated searches to drive with wrk; empty for the counts alone",
    )
    parser.add_argument("--seconds", type=int, default=20, help="duration of each wrk search")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, choices=(1,))
    parser.add_argument("--samples", type=int, default=SAMPLES, help="queries sampled a search")
    parser.add_argument("--count-repeats", type=int, default=50)
    add_server_and_data_arguments(parser, port=8766)
    args = parser.parse_args()
    args.searches = [name for name in args.searches.split(",") if name]
    if unknown := set(args.searches) - set(SEARCHES):
        parser.error(f"unknown searches {sorted(unknown)}; choose from {SEARCHES}")
    return args


def main() -> None:
    """Run every size and print one JSON report on stdout."""
    args = parse_args()
    prepare(args)
    report: dict[str, Any] = {
        "machine_cores": os.cpu_count(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "server_workers": args.workers,
        "wrk": {"connections": args.connections, "threads": args.threads, "seconds": args.seconds},
        "sizes": {},
    }
    for size in (int(value) for value in args.resources.split(",")):
        report["sizes"][str(size)] = run_size(args, size)
    document = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        args.output.write_text(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
