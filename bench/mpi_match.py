"""Patient/$match against a registry of a million citizens: p99 under 100 ms is the target.

Loads (or reuses) a PostgreSQL database of synthetic citizens (shafa.synthetic.citizens:
Azerbaijani names, birth dates, districts, phones, FINs, and 2 % near-duplicates) through the
transaction endpoint, every Patient passing the master patient index's write check as in
production; then checks the answers on a sample (the person a near-duplicate copies comes
first; a new person gets no certain match) and drives $match with wrk (bench/lua/match.lua), a
different new citizen's Parameters body a request: half near-duplicates of loaded people, half
people not in the registry. Prints one JSON report. Run with --help.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson

from fhir_core import (
    FHIR_JSON,
    CpuMeter,
    _connect,
    _percentile,
    log,
    prepare,
    recreate_database,
    run_wrk,
    shafa_command,
    stop_server,
    vacuum_analyze,
)
from shafa.synthetic import citizens

SAMPLE = 300  # queries whose answers are checked before the timed run


async def _count(database_url: str, sql: str) -> int:
    try:
        connection = await _connect(database_url)
    except Exception:  # no such database yet
        return 0
    try:
        return int(await connection.fetchval(sql))
    except Exception:  # no such table yet
        return 0
    finally:
        await connection.close()


def _bundles(patients: int, per_bundle: int, seed: int) -> Iterator[bytes]:
    entries: list[dict[str, Any]] = []
    for resource in citizens.registry(patients, seed):
        url = f"Patient/{resource['id']}"
        entries.append({"resource": resource, "request": {"method": "PUT", "url": url}})
        if len(entries) == per_bundle:
            yield orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})
            entries = []
    if entries:
        yield orjson.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries})


# After these many Bundles, ANALYZE, as autovacuum would (it is off on the benchmark machines):
# without statistics PostgreSQL plans the FIN check (fhir.unique) as a scan of every FIN,
# which made the load slow down as it grew.
ANALYZE_AFTER = frozenset({2, 20, 100, 300, 600})


async def _analyze(database_url: str) -> None:
    connection = await _connect(database_url)
    try:
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def _post_all(
    url: str, bundles: Iterator[bytes], connections: int, database_url: str
) -> list[float]:
    latencies: list[float] = []

    async def worker(start_after: float) -> None:
        await asyncio.sleep(start_after)
        async with httpx.AsyncClient(timeout=900) as client:
            for body in bundles:  # one iterator shared: each Bundle is sent once
                started = time.perf_counter()
                answer = await client.post(url, content=body, headers={"Content-Type": FHIR_JSON})
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    raise RuntimeError(f"transaction got {answer.status_code}: {answer.text[:600]}")
                if len(latencies) % 50 == 0:
                    log(f"{len(latencies)} bundles loaded")
                if len(latencies) in ANALYZE_AFTER:
                    await _analyze(database_url)

    await asyncio.gather(*(worker(0.25 * n) for n in range(connections)))
    return latencies


def ingest(args: argparse.Namespace, meter: CpuMeter) -> dict[str, Any]:
    """Load the registry through transactions of --per-bundle Patients."""
    log(f"ingesting {args.patients} Patients, {args.ingest_connections} connections")
    meter.start()
    started = time.perf_counter()
    latencies = asyncio.run(
        _post_all(
            f"http://{args.host}:{args.port}/fhir",
            _bundles(args.patients, args.per_bundle, args.seed),
            args.ingest_connections,
            args.database_url,
        )
    )
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "patients": args.patients,
        "seconds": round(elapsed, 1),
        "patients_per_s": round(args.patients / elapsed, 1),
        "bundle_p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        **meter.stop(args.patients),
    }


def start_server(args: argparse.Namespace, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """`shafa serve` in its own process group, once it answers: fhir_core's, but patient with
    a machine others load too (each worker builds the CapabilityStatement on first asking)."""
    command = [shafa_command(), "serve", "--host", args.host, "--port", str(args.port)]
    command += ["--workers", str(args.workers)]
    log(f"starting {' '.join(command)} (log: {log_path})")
    with open(log_path, "wb") as server_log:
        server = subprocess.Popen(
            command, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}: see {log_path}")
        try:
            httpx.get(f"http://{args.host}:{args.port}/fhir/metadata", timeout=60)
            return server
        except httpx.TransportError:
            time.sleep(1)
    stop_server(server)
    sys.exit(f"the server did not answer HTTP within 600 s: see {log_path}")


def _parameters(patient: dict[str, Any]) -> dict[str, Any]:
    patient = {key: value for key, value in patient.items() if key != "id"}
    return {"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": patient}]}


def queries(args: argparse.Namespace) -> list[tuple[dict[str, Any], str | None]]:
    """(Parameters body, the Patient id that should come first or None) for new citizens: half
    near-duplicates of loaded people (each variation in turn), half people not loaded."""
    rng = random.Random(args.seed + 1)
    found: list[tuple[dict[str, Any], str | None]] = []
    while len(found) < args.queries:
        if len(found) % 2:
            number = args.patients + 1 + len(found)  # never loaded
            found.append((_parameters(citizens.patient(citizens.person(number, args.seed))), None))
            continue
        number = rng.randrange(1, args.patients + 1)
        if citizens.is_duplicate(number, args.seed):
            continue
        variation = citizens.VARIATIONS[len(found) // 2 % len(citizens.VARIATIONS)]
        copy = citizens.near_duplicate(
            citizens.person(number, args.seed), variation, "query", random.Random(number)
        )
        found.append((_parameters(copy), citizens.patient_id(number)))
    return found


def check_answers(base: str, sample: list[tuple[dict[str, Any], str | None]]) -> dict[str, Any]:
    """How the answers to a sample look: the copied person first, and no certain match for
    someone not in the registry."""
    first = missed = certain_strangers = strangers = 0
    grades: dict[str, int] = {}
    with httpx.Client(timeout=60) as client:
        for body, expected in sample:
            answer = client.post(f"{base}/Patient/$match", json=body)
            if answer.status_code != 200:
                sys.exit(f"$match answered {answer.status_code}: {answer.text[:600]}")
            entries = [e for e in answer.json()["entry"] if e["search"]["mode"] == "match"]
            top = entries[0]["resource"]["id"] if entries else None
            if expected is None:
                strangers += 1
                certain_strangers += any(
                    e["search"]["extension"][0]["valueCode"] == "certain" for e in entries
                )
                continue
            if top == expected:
                first += 1
                grade = entries[0]["search"]["extension"][0]["valueCode"]
                grades[grade] = grades.get(grade, 0) + 1
            else:
                missed += 1
    return {
        "near_duplicates_checked": first + missed,
        "copied_person_first": first,
        "grade_of_copied_person": grades,
        "new_people_checked": strangers,
        "new_people_with_a_certain_match": certain_strangers,
    }


def main() -> None:
    """Load or reuse the registry, check $match, time it, print the report."""
    args = parse_args()
    prepare(args)
    database = args.database_url.rsplit("/", 1)[1]
    env = {
        **os.environ,
        "SHAFA_DATABASE_URL": args.database_url,
        "SHAFA_FHIR_AUTH_REQUIRED": "false",
    }
    loaded = asyncio.run(
        _count(args.database_url, "SELECT count(*) FROM mpi_patients")
    ) + asyncio.run(_count(args.database_url, "SELECT count(*) FROM mpi_merges"))
    patients_stored = asyncio.run(
        _count(
            args.database_url,
            "SELECT count(*) FROM resources WHERE res_type = 'Patient' AND NOT deleted",
        )
    )
    report: dict[str, Any] = {
        "machine_cores": os.cpu_count(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "database": database,
        "server_workers": args.workers,
    }
    fresh = patients_stored != args.patients or loaded == 0
    if fresh:
        log(f"database {database} holds {patients_stored} Patients; loading {args.patients}")
        asyncio.run(recreate_database(args.database_url))
    subprocess.run([shafa_command(), "db", "upgrade"], env=env, check=True, stdout=sys.stderr)
    server = start_server(args, env, args.workdir / "server-mpi.log")
    try:
        meter = CpuMeter(server.pid, database)
        if fresh:
            report["ingest"] = ingest(args, meter)
            log("vacuum analyze")
            asyncio.run(vacuum_analyze(args.database_url))
        report["dataset"] = {
            "patients": asyncio.run(
                _count(
                    args.database_url,
                    "SELECT count(*) FROM resources WHERE res_type = 'Patient' AND NOT deleted",
                )
            ),
            "blocking_keys": asyncio.run(
                _count(args.database_url, "SELECT count(*) FROM mpi_keys")
            ),
            "open_review_items": asyncio.run(
                _count(args.database_url, "SELECT count(*) FROM mpi_reviews WHERE status = 'open'")
            ),
        }
        base = f"http://{args.host}:{args.port}/fhir"
        asked = queries(args)
        report["answers"] = check_answers(base, asked[:SAMPLE])
        bodies = args.workdir / "match-bodies.ndjson"
        bodies.write_bytes(b"\n".join(orjson.dumps(body) for body, _ in asked) + b"\n")
        wrk_env = {**env, "SHAFA_BENCH_BODIES": str(bodies), "SHAFA_BENCH_THREADS": "1"}
        # Unmeasured, 10 s: the pools open their connections, and the pages of 6.5 million keys
        # and a million Patients are read in, as in a running server.
        run_wrk(argparse.Namespace(**{**vars(args), "seconds": 10}), "match", wrk_env, meter)
        report["match"] = run_wrk(args, "match", wrk_env, meter)
        log(f"$match: {report['match']['ops_per_s']}/s p99 {report['match']['p99_ms']} ms")
    finally:
        stop_server(server)
    document = json.dumps(report, indent=2, ensure_ascii=False)
    if args.output:
        args.output.write_text(document + "\n")
    print(document)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_mpi_1000k"
    )
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=18097)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--per-bundle", type=int, default=1000, help="Patients a transaction")
    parser.add_argument("--ingest-connections", type=int, default=4)
    parser.add_argument("--queries", type=int, default=5000, help="distinct $match bodies")
    parser.add_argument("--seconds", type=int, default=20, help="duration of the wrk run")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/shafa-bench-mpi"))
    parser.add_argument("--output", type=Path, help="also write the JSON report here")
    return parser.parse_args()


if __name__ == "__main__":
    main()
