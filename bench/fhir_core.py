"""Core FHIR REST benchmark: ingest, read, create and update on PostgreSQL, as one JSON report.

Recreates a PostgreSQL database, migrates it with `shafa db upgrade`, starts `shafa serve`,
loads the synthetic clinical dataset through transaction Bundles (the ingest measurement), then
drives each REST scenario with wrk and its Lua scripts in bench/lua. CPU is read from /proc for
the server's process tree and for the PostgreSQL processes serving the benchmark database.
Run `python bench/fhir_core.py --help`; bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import orjson
from sqlalchemy.engine import make_url

from shafa.synthetic import clinical
from shafa.synthetic.clinical import (
    ENCOUNTERS_PER_PATIENT,
    MEDICATION_REQUESTS_PER_PATIENT,
    OBSERVATIONS_PER_PATIENT,
    RESOURCES_PER_PATIENT,
    SHARED_SIZE,
    encounter_id,
    medication_request_id,
    observation_id,
    patient_id,
    polyclinic_id,
    transaction_bundles,
)

LUA_DIR = Path(__file__).resolve().parent / "lua"
WRK_SCENARIOS = ("read", "create", "update")
FHIR_JSON = "application/fhir+json"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# "postgres: [cluster: ]user database host(port) state" names a client backend's database.
BACKEND_TITLE = re.compile(r"postgres: (?:[^:\s]+: )?\S+ (\S+) (?:\[local\]|\S+\(\d+\))")


def log(message: str) -> None:
    """Progress goes to stderr so stdout carries only the JSON report."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- CPU accounting from /proc -------------------------------------------------------------


def _processes() -> dict[int, tuple[int, str, int, int]]:
    """Every live process: pid -> (parent pid, comm, own CPU ticks, reaped children's ticks)."""
    found = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # it exited while we looked
        # comm sits in parentheses and may contain spaces; the fields after it are fixed.
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
        found[int(entry.name)] = (int(fields[1]), comm, utime + stime, cutime + cstime)
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def server_cpu_seconds(root: int) -> float:
    """CPU seconds of the server process and all its descendants, living or reaped."""
    processes = _processes()
    tree, frontier = set(), {root}
    while frontier:
        tree |= frontier
        frontier = {pid for pid, (parent, *_) in processes.items() if parent in frontier} - tree
    return sum(sum(processes[pid][2:]) for pid in tree if pid in processes) / CLOCK_TICKS


def postgres_cpu_seconds(database: str) -> float:
    """CPU seconds of PostgreSQL working for `database`, living backends and exited ones.

    Live backends of other databases are left out, as other work may share this PostgreSQL;
    the checkpointer, WAL writer and the like work for every database and count. Backends
    that exited are known only through the postmaster, which reaps them: counting its reaped
    time keeps connection churn (a pool opening and closing connections) in the figure, at the
    price of also counting other databases' connections that close during a run.
    """
    ticks = 0
    for pid, (_, comm, own, reaped) in _processes().items():
        if comm != "postgres":
            continue
        title = _cmdline(pid)
        backend = BACKEND_TITLE.match(title)
        if backend is None or backend.group(1) == database:
            ticks += own
        if not title.startswith("postgres:"):
            ticks += reaped  # the postmaster
    return ticks / CLOCK_TICKS


@dataclass
class CpuMeter:
    """Server, database and load-generator CPU consumed between `start` and `stop`."""

    server_pid: int
    database: str
    server: float = 0.0
    db: float = 0.0
    loadgen: float = 0.0

    @staticmethod
    def _loadgen() -> float:
        # wrk runs as a waited-for child, the Python ingest client as this very process.
        own, children = (
            resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
        )
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def start(self) -> None:
        """Take the 'before' readings."""
        self.server = server_cpu_seconds(self.server_pid)
        self.db = postgres_cpu_seconds(self.database)
        self.loadgen = self._loadgen()

    def stop(self, operations: int) -> dict[str, float]:
        """CPU milliseconds per operation since `start`."""
        per_op = 1000 / max(operations, 1)
        return {
            "server_cpu_ms_per_op": round(
                (server_cpu_seconds(self.server_pid) - self.server) * per_op, 3
            ),
            "db_cpu_ms_per_op": round((postgres_cpu_seconds(self.database) - self.db) * per_op, 3),
            "loadgen_cpu_ms_per_op": round((self._loadgen() - self.loadgen) * per_op, 3),
        }


# --- database and server -------------------------------------------------------------------


async def _connect(database_url: str, database: str | None = None) -> asyncpg.Connection:
    """An asyncpg connection to the server of database_url (to another database if named)."""
    url = make_url(database_url)
    return await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=database or url.database,
    )


async def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark database, connecting to the `postgres` database."""
    url = make_url(database_url)
    connection = await _connect(database_url, "postgres")
    try:
        name = url.database.replace('"', '""')
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()


async def vacuum_analyze(database_url: str) -> None:
    """VACUUM ANALYZE and CHECKPOINT after the bulk load, as an operator would.

    Without it the planner has no statistics and every first read of a row writes its hint
    bits, which would be charged to the read scenario.
    """
    connection = await _connect(database_url)
    try:
        await connection.execute("VACUUM ANALYZE")
        # Write out what the load dirtied now, not during the scenarios that follow.
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def shafa_command() -> str:
    """The `shafa` executable of this virtualenv, else the one on PATH."""
    beside = Path(sys.executable).parent / "shafa"
    found = str(beside) if beside.exists() else shutil.which("shafa")
    if found is None:
        sys.exit("`shafa` not found: run from the project's virtualenv (pip install -e .)")
    return found


def start_server(args: argparse.Namespace, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start `shafa serve` in its own process group and wait until it answers HTTP."""
    command = [
        shafa_command(),
        "serve",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--workers",
        str(args.workers),
    ]
    log(f"starting {' '.join(command)} (log: {log_path})")
    with open(log_path, "wb") as server_log:
        server = subprocess.Popen(
            command, env=env, stdout=server_log, stderr=subprocess.STDOUT, start_new_session=True
        )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"the server exited with {server.returncode}:\n{_tail(log_path)}")
        try:
            # Any answer will do: readiness is the socket serving HTTP, not a given route.
            httpx.get(f"{base_url(args)}/metadata", timeout=2)
            return server
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    stop_server(server)
    sys.exit(f"the server did not answer HTTP within 90 s:\n{_tail(log_path)}")


def stop_server(server: subprocess.Popen) -> None:
    """Stop the server's process group: SIGTERM, then SIGKILL after 20 s."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def _tail(path: Path, lines: int = 30) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def base_url(args: argparse.Namespace) -> str:
    """The FHIR base the server serves."""
    return f"http://{args.host}:{args.port}/fhir"


# --- ingest --------------------------------------------------------------------------------


def bundle_file(args: argparse.Namespace, patients: int) -> Path:
    """The dataset's serialized transaction Bundles, one a line, generated once and reused.

    Generating and serializing happen before the clock starts, so ingest measures the server
    rather than this process competing with it for the two cores.
    """
    # The generator's own source is in the key, so a changed generator never reuses old data.
    key = hashlib.sha256(base_url(args).encode() + Path(clinical.__file__).read_bytes())
    key = key.hexdigest()[:8]
    path = args.workdir / f"bundles-p{patients}-b{args.per_bundle}-s{args.seed}-{key}.ndjson"
    if path.exists():
        return path
    log(f"generating {patients * RESOURCES_PER_PATIENT} resources into {path}")
    partial = path.with_suffix(".partial")
    with open(partial, "wb") as out:
        for bundle in transaction_bundles(
            patients, args.per_bundle, args.seed, base_url=base_url(args)
        ):
            out.write(orjson.dumps(bundle) + b"\n")
    partial.rename(path)
    return path


async def _post_bundles(url: str, lines: Iterator[bytes], concurrency: int) -> list[float]:
    latencies: list[float] = []

    async def worker(start_after: float) -> None:
        # Connections open one by one, while the earlier ones keep a server worker busy: the
        # uvicorn workers share one listening socket, and an idle worker's accept loop would
        # otherwise take every pending connection at once, leaving the other worker idle.
        await asyncio.sleep(start_after)
        async with httpx.AsyncClient(timeout=600) as client:
            await send_all(client)

    async def send_all(client: httpx.AsyncClient) -> None:
        # One shared iterator: coroutines take the next Bundle only between awaits.
        for line in lines:
            expected = line.count(b'"request":{"method":"PUT"')
            started = time.perf_counter()
            answer = await client.post(url, content=line, headers={"Content-Type": FHIR_JSON})
            latencies.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise RuntimeError(f"transaction got {answer.status_code}: {answer.text[:600]}")
            entries = orjson.loads(answer.content).get("entry", [])
            if len(entries) != expected or not all(
                entry["response"]["status"].startswith(("200", "201")) for entry in entries
            ):
                raise RuntimeError(f"transaction response is not all 200/201: {answer.text[:600]}")

    await asyncio.gather(*(worker(0.25 * number) for number in range(concurrency)))
    return latencies


def ingest(args: argparse.Namespace, patients: int, meter: CpuMeter) -> dict:
    """Load the dataset through the transaction endpoint and report the rate."""
    path = bundle_file(args, patients)
    resources = patients * RESOURCES_PER_PATIENT + SHARED_SIZE
    log(f"ingesting {resources} resources, {args.ingest_connections} connections")
    with open(path, "rb") as bundles:
        meter.start()
        started = time.perf_counter()
        latencies = asyncio.run(
            _post_bundles(base_url(args), iter(bundles), args.ingest_connections)
        )
        elapsed = time.perf_counter() - started
    cpu = meter.stop(resources)
    latencies.sort()
    return {
        "resources": resources,
        "bundles": len(latencies),
        "resources_per_bundle": args.per_bundle,
        "connections": args.ingest_connections,
        "seconds": round(elapsed, 2),
        "resources_per_s": round(resources / elapsed, 1),
        # An ingest operation is one resource, so its rate and CPU compare with create and
        # update; the latencies are of whole transaction requests.
        "ops_per_s": round(resources / elapsed, 1),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 1),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 1),
        **cpu,
    }


def _percentile(ordered: list[float], percent: float) -> float:
    return ordered[min(len(ordered) - 1, math.ceil(len(ordered) * percent / 100) - 1)]


# --- wrk scenarios -------------------------------------------------------------------------


def resource_urls(patient: int) -> list[str]:
    """`Type/id` of every resource the generator makes for that patient."""
    return [
        f"Patient/{patient_id(patient)}",
        *(f"Encounter/{encounter_id(patient, k)}" for k in range(1, ENCOUNTERS_PER_PATIENT + 1)),
        *(
            f"Observation/{observation_id(patient, k)}"
            for k in range(1, OBSERVATIONS_PER_PATIENT + 1)
        ),
        *(
            f"MedicationRequest/{medication_request_id(patient, k)}"
            for k in range(1, MEDICATION_REQUESTS_PER_PATIENT + 1)
        ),
    ]


def write_read_ids(
    args: argparse.Namespace, patients: int, count: int = 100_000, clinic: str | None = None
) -> Path:
    """A seeded sample of loaded `Type/id`s in the dataset's own mix, one a line; only of the
    patients registered at the clinic (a polyclinic id), when given."""
    rng = random.Random(args.seed)
    path = args.workdir / f"read-ids{'-' + clinic if clinic else ''}.txt"
    samples = min(count, patients * RESOURCES_PER_PATIENT)
    theirs = [n for n in range(1, patients + 1) if clinic and polyclinic_id(n) == clinic]

    def pick() -> int:
        return rng.choice(theirs) if clinic else rng.randrange(1, patients + 1)

    lines = [rng.choice(resource_urls(pick())) for _ in range(samples)]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(args: argparse.Namespace, scenario: str, env: dict[str, str], meter: CpuMeter) -> dict:
    """Run one Lua scenario for --seconds and report throughput, latency and CPU."""
    command = [
        "wrk",
        "--threads",
        str(args.threads),
        "--connections",
        str(args.connections),
        "--duration",
        f"{args.seconds}s",
        "--timeout",
        "30s",
        "--script",
        str(LUA_DIR / f"{scenario}.lua"),
        base_url(args),
    ]
    log(f"{scenario}: {' '.join(command)}")
    meter.start()
    finished = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    report_line = next(
        (line for line in finished.stdout.splitlines() if line.startswith("WRK_JSON ")), None
    )
    if finished.returncode != 0 or report_line is None:
        sys.exit(f"wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    report = json.loads(report_line.removeprefix("WRK_JSON "))
    requests = report["requests"]
    failed = {kind: count for kind, count in report["errors"].items() if count}
    return {
        "requests": requests,
        "ops_per_s": round(requests / (report["duration_us"] / 1e6), 1),
        "p50_ms": round(report["p50_us"] / 1000, 2),
        "p90_ms": round(report["p90_us"] / 1000, 2),
        "p99_ms": round(report["p99_us"] / 1000, 2),
        "max_ms": round(report["max_us"] / 1000, 2),
        **meter.stop(requests),
        **({"errors": failed, "first_error": report["first_error"]} if failed else {}),
    }


# --- the command line ----------------------------------------------------------------------


def add_server_and_data_arguments(parser: argparse.ArgumentParser, *, port: int) -> None:
    """The options every benchmark shares: the server it starts, the data set, the outputs."""
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=port)
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--per-bundle", type=int, default=500, help="entries a transaction")
    # Four, so that both of the two workers get work: a connection sticks to one worker.
    parser.add_argument("--ingest-connections", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path("/tmp/shafa-bench"),
        help="bundle cache, query and id lists, server logs",
    )
    parser.add_argument("--output", type=Path, help="also write the JSON report here")


def prepare(args: argparse.Namespace) -> None:
    """Check for wrk and make the work directory, before anything is loaded."""
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: install it with `apt-get update && apt-get install -y wrk`")
    args.workdir.mkdir(parents=True, exist_ok=True)


def parse_args() -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench"
    )
    parser.add_argument(
        "--resources",
        type=int,
        default=1_000_000,
        help=f"dataset size, rounded up to whole patients of {RESOURCES_PER_PATIENT} resources",
    )
    parser.add_argument("--seconds", type=int, default=20, help="duration of each wrk scenario")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--threads", type=int, default=1, choices=(1, 2), help="wrk threads")
    add_server_and_data_arguments(parser, port=8765)
    parser.add_argument(
        "--scenarios",
        default=",".join(WRK_SCENARIOS),
        help="comma-separated wrk scenarios to run after ingest",
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="skip recreate and ingest: the database already holds the dataset",
    )
    args = parser.parse_args()
    args.scenarios = [name for name in args.scenarios.split(",") if name]
    if unknown := set(args.scenarios) - set(WRK_SCENARIOS):
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {WRK_SCENARIOS}")
    return args


def main() -> None:
    """Run the whole benchmark and print one JSON report on stdout."""
    args = parse_args()
    prepare(args)
    patients = math.ceil(args.resources / RESOURCES_PER_PATIENT)
    database = make_url(args.database_url).database
    # The figures of issue 2 and 3 are of the store and search alone; with tokens, next.
    env = {
        **os.environ,
        "SHAFA_DATABASE_URL": args.database_url,
        "SHAFA_FHIR_AUTH_REQUIRED": "false",
    }

    if not args.reuse_database:
        log(f"recreating database {database}")
        asyncio.run(recreate_database(args.database_url))
        # Its output joins the progress on stderr: stdout is for the report alone.
        subprocess.run([shafa_command(), "db", "upgrade"], env=env, check=True, stdout=sys.stderr)
    report: dict = {
        "dataset_resources": patients * RESOURCES_PER_PATIENT + SHARED_SIZE,
        "dataset_patients": patients,
        "machine_cores": os.cpu_count(),
        # Other work on the machine skews every figure: a high start load flags a noisy run.
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "server_workers": args.workers,
        "wrk": {"connections": args.connections, "threads": args.threads, "seconds": args.seconds},
        "scenarios": {},
    }
    server = start_server(args, env, args.workdir / "server.log")
    try:
        meter = CpuMeter(server.pid, database)
        if not args.reuse_database:
            report["scenarios"]["ingest"] = ingest(args, patients, meter)
            log("vacuum analyze")
            asyncio.run(vacuum_analyze(args.database_url))
        wrk_env = {
            **env,
            "SHAFA_BENCH_IDS": str(write_read_ids(args, patients)),
            "SHAFA_BENCH_PATIENTS": str(patients),
            "SHAFA_BENCH_THREADS": str(args.threads),
        }
        for scenario in args.scenarios:
            report["scenarios"][scenario] = run_wrk(args, scenario, wrk_env, meter)
    finally:
        stop_server(server)
    document = json.dumps(report, indent=2)
    if args.output:
        args.output.write_text(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
