"""The e-Prescription cycle: prescribe with every check, then dispense at a pharmacy, as JSON.

    cd bench && PYTHONPATH=../src ../.venv/bin/python prescription_cycle.py --citizens 20000

It recreates a PostgreSQL database, migrates it and loads the synthetic country of --citizens
people (the shipped product register included, and the country's own past prescriptions). Then
--tasks coroutines of one process, each with its own connections from one engine, run the
cycle for --seconds: a citizen's GP prescribes loratadine 10 mg tablets by INN (a diagnosis in
ICD-10, a structured dosage, 30 tablets) through `actions.prescribe` with every check against
the citizen's record, and a pharmacist of the citizen's district dispenses one registered pack
of 30 through `actions.dispense` (number + FIN, GS1 data, the single conditional UPDATE). This
is the server's work without HTTP: the report gives cycles a second, the latency percentiles of
each verb, and the CPU a cycle of this process and of PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import time
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url

from fhir_core import _percentile, log, postgres_cpu_seconds, recreate_database
from shafa import registries
from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
from shafa.db.tables import resources
from shafa.fhir import jsonio, store
from shafa.prescriptions import actions, schemas
from shafa.prescriptions.dosage import Regimen
from shafa.prescriptions.schemas import Line
from shafa.registries.citizens.rules import FIN_SYSTEM
from shafa.registries.medicines_rules import DOSE_FORM, INN, UCUM, Amount, Strength
from shafa.security import audit
from shafa.security.rules import Role
from shafa.synthetic import load

PACK = "4760033000212"  # a registered pack of 30 loratadine 10 mg tablets


def _draft(patient_id: str, gp: str) -> dict[str, Any]:
    regimen = Regimen(Amount.parse("1 {tablet}"), 1, Decimal(1), "d", "oral", Decimal(30), "d")
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med",
                "form": {"coding": [{"system": DOSE_FORM, "code": "tablet"}]},
                "ingredient": [
                    {
                        "itemCodeableConcept": {"coding": [{"system": INN, "code": "loratadine"}]},
                        "strength": Strength.of("10 mg/{tablet}").ratio(),
                    }
                ],
            }
        ],
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "requester": {"reference": f"Practitioner/{gp}"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": "J30.4"}]}],
        "dosageInstruction": [regimen.fhir("az")],
        "dispenseRequest": {"quantity": {"value": 30, "system": UCUM, "code": "{tablet}"}},
    }


def _caller(role: Role, practitioner: str, organization: str) -> schemas.Caller:
    agent = audit.AuditRecord(action=audit.Action.CREATE, user_id=practitioner, display="bench")
    return schemas.Caller(role, practitioner, organization, agent)


async def _people(url: str) -> tuple[list[tuple[str, str, str, str]], dict[str, str]]:
    """(patient id, FIN, GP, polyclinic) of every adult citizen, and a pharmacist of each
    district's first pharmacy by district code."""
    engine = create_engine(Settings(database_url=url))
    citizens, pharmacists = [], {}
    try:
        async with engine.connect() as conn:
            query = select(resources.c.res_type, resources.c.content).where(
                resources.c.res_type.in_(["Patient", "PractitionerRole"]),
                resources.c.deleted.is_(False),
            )
            for res_type, content in await conn.execute(query):
                found = jsonio.parse(content)
                if res_type == "PractitionerRole":
                    who = found["practitioner"]["reference"].split("/")[1]
                    where = found["organization"]["reference"].split("/")[1]
                    if who.startswith("ph-"):
                        pharmacists.setdefault(where, who)
                    continue
                if found["birthDate"] > "2006-01-01" or "generalPractitioner" not in found:
                    continue
                fin = next(i["value"] for i in found["identifier"] if i["system"] == FIN_SYSTEM)
                citizens.append(
                    (
                        found["id"],
                        fin,
                        found["generalPractitioner"][0]["reference"].split("/")[1],
                        found["managingOrganization"]["reference"].split("/")[1],
                    )
                )
    finally:
        await engine.dispose()
    return citizens, pharmacists


async def _cycles(url: str, args: argparse.Namespace) -> dict[str, Any]:
    citizens, pharmacists = await _people(url)
    random.Random(args.seed).shuffle(citizens)
    pharmacy_of = {pharmacy.rsplit("-", 1)[0]: pharmacy for pharmacy in pharmacists}
    engine = create_engine(Settings(database_url=url))
    registries.install()
    prescribe_ms: list[float] = []
    dispense_ms: list[float] = []
    refused: dict[str, int] = {}
    queue = iter(citizens)
    deadline = time.perf_counter() + args.seconds

    async def task() -> None:
        for patient_id, fin, gp, clinic in queue:
            if time.perf_counter() >= deadline:
                return
            district = clinic.removeprefix("polyclinic-").rsplit("-", 1)[0]
            pharmacy = pharmacy_of.get(f"pharmacy-{district}") or next(iter(pharmacists))
            started = time.perf_counter()
            try:
                prescribed = await actions.prescribe(
                    engine,
                    _caller(Role.DOCTOR, gp, clinic),
                    schemas.read_draft(_draft(patient_id, gp)),
                    store.now(),
                )
            except Exception as error:  # a blocking finding, say: counted, not timed
                refused[type(error).__name__] = refused.get(type(error).__name__, 0) + 1
                continue
            middle = time.perf_counter()
            await actions.dispense(
                engine,
                _caller(Role.PHARMACIST, pharmacists[pharmacy], pharmacy),
                prescribed.number,
                fin,
                [Line(PACK, 1, f"SN{random.getrandbits(40):x}", "L2026", date(2028, 1, 31))],
                store.now(),
                receipt=f"R-{prescribed.number}",
            )
            ended = time.perf_counter()
            prescribe_ms.append((middle - started) * 1000)
            dispense_ms.append((ended - middle) * 1000)

    database = make_url(url).database or ""
    own, pg = _own_cpu(), postgres_cpu_seconds(database)
    started = time.perf_counter()
    try:
        await asyncio.gather(*(task() for _ in range(args.tasks)))
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    cycles = len(prescribe_ms)
    prescribe_ms.sort()
    dispense_ms.sort()
    return {
        "cycles": cycles,
        "seconds": round(seconds, 1),
        "cycles_per_s": round(cycles / seconds, 1),
        "prescribe_p50_ms": round(_percentile(prescribe_ms, 50), 1),
        "prescribe_p99_ms": round(_percentile(prescribe_ms, 99), 1),
        "dispense_p50_ms": round(_percentile(dispense_ms, 50), 1),
        "dispense_p99_ms": round(_percentile(dispense_ms, 99), 1),
        "python_cpu_ms_per_cycle": round((_own_cpu() - own) * 1000 / max(cycles, 1), 2),
        "db_cpu_ms_per_cycle": round(
            (postgres_cpu_seconds(database) - pg) * 1000 / max(cycles, 1), 2
        ),
        "refused": refused,
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    """Load the country, run the cycles, print the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default="postgresql+asyncpg://postgres@127.0.0.1:5432/shafa_bench_rx",
    )
    parser.add_argument("--citizens", type=int, default=20_000)
    parser.add_argument("--tasks", type=int, default=8, help="concurrent cycles")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output")
    args = parser.parse_args()
    asyncio.run(recreate_database(args.database_url))
    migrate.upgrade(args.database_url)
    log(f"loading {args.citizens:,} citizens")
    loaded = load.load(Settings(database_url=args.database_url), args.citizens, args.seed)
    report = {
        "benchmark": "prescription_cycle",
        "citizens": args.citizens,
        "resources": loaded.resources,
        "tasks": args.tasks,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        **asyncio.run(_cycles(args.database_url, args)),
    }
    document = json.dumps(report, indent=2)
    if args.output:
        with open(args.output, "w") as out:
            out.write(document + "\n")
    print(document)


if __name__ == "__main__":
    main()
