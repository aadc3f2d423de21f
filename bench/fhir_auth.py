"""What access control and audit cost: reads and searches with and without them, one run.

Over a database fhir_search.py loaded (default: its 1,000,000 resources), it starts `shafa
serve` with tokens off (no access control, no audit), drives reads by id and identifier
searches with wrk, stops it, starts it again with tokens required, registers a
`system/*.cruds` client, takes a token at the token endpoint and drives the same scenarios with
it: each request then verifies its token, checks its scopes and leaves an audit record, committed
before the answer leaves. Then, on the same server, a doctor of polyclinic-1 does the same with
a token of their own, reading their polyclinic's patients: each request also carries the
care-relationship and Consent conditions. The JSON report gives the three runs, their ratios to
the run without tokens, and the audit records each wrote.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from fhir_core import (
    CpuMeter,
    add_server_and_data_arguments,
    base_url,
    log,
    prepare,
    run_wrk,
    start_server,
    stop_server,
    write_read_ids,
)
from fhir_search import SEARCHES, write_queries
from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.fhir.store import now
from shafa.security import accounts, oauth
from shafa.security.keys import signing_key
from shafa.security.rules import Role
from shafa.security.tables import audit_log
from shafa.security.tokens import Audience, issue_access_token
from shafa.synthetic.clinical import RESOURCES_PER_PATIENT


async def _audit_records(database_url: str) -> int:
    engine = create_engine(Settings(database_url=database_url))
    try:
        async with engine.connect() as conn:
            return int(
                (await conn.execute(select(func.count()).select_from(audit_log))).scalar_one()
            )
    finally:
        await engine.dispose()


async def _doctor_token(database_url: str, audience: Audience, clinic: str) -> str:
    """A doctor of the clinic: their Practitioner, their account, and a token as the
    authorization-code grant would give their EHR."""
    engine = create_engine(Settings(database_url=database_url))
    moment = now()
    try:
        async with write_transaction(engine) as conn:
            practitioner = {"resourceType": "Practitioner", "id": "bench-doctor"}
            await store.apply_writes(
                conn, [store.Write("Practitioner", "bench-doctor", practitioner, "PUT")], moment
            )
        username = f"bench-doctor-{secrets.token_hex(4)}"
        added = await accounts.add_staff(
            engine,
            username=username,
            password=secrets.token_urlsafe(24),
            role=Role.DOCTOR,
            display_name="Bench Doctor",
            organization=f"Organization/{clinic}",
            practitioner="Practitioner/bench-doctor",
            now=moment,
        )
        async with engine.begin() as conn:
            key = await signing_key(conn, moment, audience.algorithm, timedelta(hours=1))
    finally:
        await engine.dispose()
    token, _ = issue_access_token(
        key,
        audience,
        subject=str(added.identity.user_id),
        client_id="bench-ehr",
        scope="user/*.cruds",
        now=moment,
        lifetime=timedelta(hours=1),
        fhir_user="Practitioner/bench-doctor",
    )
    return token


async def _register(database_url: str) -> tuple[str, str]:
    engine = create_engine(Settings(database_url=database_url))
    try:
        client, secret = await oauth.add_client(engine, "bench", "system/*.cruds", now())
    finally:
        await engine.dispose()
    assert secret is not None
    return client.client_id, secret


CLINIC = "polyclinic-1"  # the doctor's organisation: a fifth of the patients are registered there


def _scenarios(
    args: argparse.Namespace,
    env: dict[str, str],
    meter: CpuMeter,
    token: str,
    clinic: str | None = None,
) -> dict[str, Any]:
    patients = math.ceil(args.resources / RESOURCES_PER_PATIENT)
    shared = {**env, "SHAFA_BENCH_THREADS": "1", "SHAFA_BENCH_TOKEN": token}
    read_ids = write_read_ids(args, patients, clinic=clinic)
    read_env = {**shared, "SHAFA_BENCH_IDS": str(read_ids)}
    search_env = {**shared, "SHAFA_BENCH_QUERIES": str(args.queries)}
    results = {}
    for name, scenario, scenario_env in (
        ("read", "read", read_env),
        ("search_identifier", "search", search_env),
    ):
        warm = argparse.Namespace(**{**vars(args), "seconds": 3})
        run_wrk(warm, scenario, scenario_env, meter)  # pools open, caches fill
        results[name] = run_wrk(args, scenario, scenario_env, meter)
        log(f"{name} (token: {bool(token)}): {results[name]['ops_per_s']}/s")
    return results


def main() -> None:
    """Both runs, and the ratio, as one JSON report on stdout."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_search_1000k",
        help="a database loaded by bench/fhir_search.py",
    )
    parser.add_argument("--resources", type=int, default=1_000_000, help="its dataset size")
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--connections", type=int, default=32, help="as fhir_core.py")
    parser.add_argument("--threads", type=int, default=1, choices=(1,))
    parser.add_argument("--samples", type=int, default=5000)
    add_server_and_data_arguments(parser, port=8767)
    args = parser.parse_args()
    args.searches = [SEARCHES[0]]  # patient_identifier
    prepare(args)
    database = args.database_url.rsplit("/", 1)[1]
    args.queries = write_queries(args, args.database_url, "auth")[SEARCHES[0]]
    report: dict[str, Any] = {
        "database": database,
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "wrk": {"connections": args.connections, "seconds": args.seconds},
    }
    for label, required in (("without_tokens", "false"), ("with_tokens", "true")):
        env = {
            **os.environ,
            "SHAFA_DATABASE_URL": args.database_url,
            "SHAFA_FHIR_AUTH_REQUIRED": required,
        }
        server = start_server(args, env, args.workdir / f"server-auth-{label}.log")
        try:
            token = ""
            if required == "true":
                client_id, secret = asyncio.run(_register(args.database_url))
                granted = httpx.post(
                    base_url(args).removesuffix("/fhir") + "/oauth2/token",
                    data={"grant_type": "client_credentials"},
                    auth=(client_id, secret),
                )
                granted.raise_for_status()
                token = granted.json()["access_token"]
            audited = asyncio.run(_audit_records(args.database_url))
            meter = CpuMeter(server.pid, database)
            report[label] = _scenarios(args, env, meter, token)
            report[label]["audit_records_written"] = (
                asyncio.run(_audit_records(args.database_url)) - audited
            )
            if required == "true":
                root = base_url(args).removesuffix("/fhir")
                audience = Audience(root, base_url(args), "ES256")
                doctor = asyncio.run(_doctor_token(args.database_url, audience, CLINIC))
                audited = asyncio.run(_audit_records(args.database_url))
                report["doctor"] = _scenarios(args, env, meter, doctor, CLINIC)
                report["doctor"]["audit_records_written"] = (
                    asyncio.run(_audit_records(args.database_url)) - audited
                )
        finally:
            stop_server(server)
    for run in ("with_tokens", "doctor"):
        report[f"throughput_{run}_over_without"] = {
            name: round(
                report[run][name]["ops_per_s"] / report["without_tokens"][name]["ops_per_s"], 3
            )
            for name in report["without_tokens"]
            if name != "audit_records_written"
        }
    document = json.dumps(report, indent=2)
    if args.output:
        Path(args.output).write_text(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
