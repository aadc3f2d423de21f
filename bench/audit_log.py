"""Audit log micro-benchmark: record_now by number of hash chains, and the batching
AuditRecorder by flush interval and batch size, as JSON.

For each run it recreates a PostgreSQL database, migrates it, and has --recorders coroutines
(one process, one engine, the pool the server uses) record in a loop for --seconds, each record
a doctor's read of one patient: with audit.record_now for each chain count in --chains, then
with one audit.AuditRecorder(wait=True, as the FHIR API records) for each interval,batch-size
pair in --batched. It reports the records a second, latency percentiles of one record, and the
CPU per record of this process (the Python side a server worker would pay, the recorder's task
included) and of PostgreSQL, then checks the chains with audit.verify.
bench/README.md explains the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy.engine import make_url

from fhir_core import _percentile, log, postgres_cpu_seconds, recreate_database
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
from shafa.security import audit


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _entry(n: int) -> audit.AuditRecord:
    patient = f"pat-{n % 10_000}"
    return audit.AuditRecord(
        action=audit.Action.READ,
        recorded=datetime.now(UTC),
        user_id=f"dr-{n % 50}",
        display="Dr Leyla Aliyeva",
        role="doctor",
        organisation="clinic-1",
        patients=(patient,),
        resources=(f"Observation/obs-{n}/_history/1",),
        purpose="TREAT",
        source_ip="10.1.2.3",
        user_agent="Mozilla/5.0 (X11; Linux x86_64)",
        request_id=f"req-{n}",
    )


async def measure(
    database_url: str,
    chains: int,
    recorders: int,
    seconds: float,
    batched: tuple[float, int] | None = None,
) -> dict:
    """Run the recorders against a fresh database with `chains` chains.

    batched: (flush interval in seconds, batch size) of an AuditRecorder; None for record_now.
    """
    await recreate_database(database_url)
    await asyncio.to_thread(migrate.upgrade, database_url)
    audit.CHAINS = chains
    settings = Settings(database_url=database_url, database_pool_size=recorders)
    engine = create_engine(settings)
    name = make_url(database_url).database or ""
    latencies: list[float] = []
    counter = 0
    batcher = None
    record: Callable[[audit.AuditRecord], Awaitable[str]] = partial(audit.record_now, engine)
    if batched is not None:
        batcher = audit.AuditRecorder(engine, interval=batched[0], batch_size=batched[1])
        record = batcher.record
    try:
        await record(_entry(0))  # warm the pool and the statement cache
        deadline = time.monotonic() + seconds

        async def recorder() -> None:
            nonlocal counter
            while time.monotonic() < deadline:
                counter += 1
                started = time.perf_counter()
                await record(_entry(counter))
                latencies.append(time.perf_counter() - started)

        own, db, started = _own_cpu(), postgres_cpu_seconds(name), time.monotonic()
        await asyncio.gather(*(recorder() for _ in range(recorders)))
        if batcher is not None:
            await batcher.close()
        elapsed = time.monotonic() - started
        own, db = _own_cpu() - own, postgres_cpu_seconds(name) - db
        async with engine.connect() as conn:
            verified = await audit.verify(conn)
    finally:
        await engine.dispose()
    done = len(latencies)
    latencies.sort()
    return {
        "design": "record_now" if batched is None else "AuditRecorder",
        "interval_ms": None if batched is None else batched[0] * 1000,
        "batch_size": None if batched is None else batched[1],
        "chains": chains,
        "recorders": recorders,
        "records": done,
        "records_per_s": round(done / elapsed),
        "p50_ms": round(_percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(_percentile(latencies, 99) * 1000, 2),
        "python_cpu_ms_per_record": round(own * 1000 / done, 3),
        "db_cpu_ms_per_record": round(db * 1000 / done, 3),
        "intact": verified.intact and verified.records == done + 1,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--database-url", default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench_audit"
    )
    parser.add_argument("--chains", default="1,4,16", help="Chain counts to compare.")
    parser.add_argument(
        "--batched",
        default="1:256,2:256,5:256,2:8",
        help="AuditRecorder runs over 16 chains: interval_ms:batch_size pairs, comma-separated"
        " ('' for none).",
    )
    parser.add_argument("--recorders", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args()
    runs = []
    for chains in (int(n) for n in args.chains.split(",")):
        log(f"{chains} chain(s), {args.recorders} recorders, {args.seconds} s")
        runs.append(asyncio.run(measure(args.database_url, chains, args.recorders, args.seconds)))
    for pair in filter(None, args.batched.split(",")):
        interval_ms, batch_size = pair.split(":")
        log(
            f"AuditRecorder every {interval_ms} ms or {batch_size} records,"
            f" {args.recorders} recorders"
        )
        batched = (float(interval_ms) / 1000, int(batch_size))
        runs.append(
            asyncio.run(measure(args.database_url, 16, args.recorders, args.seconds, batched))
        )
    print(json.dumps({"benchmark": "audit_log", "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
