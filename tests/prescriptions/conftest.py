"""The country the e-Prescription tests stand on, on SQLite and PostgreSQL.

Polyclinic 1 and Pharmacy 7 under the Baku union. Dr Aysel is a licensed general practitioner
at Polyclinic 1, Dr Rauf a cardiologist there, Dr Kamal's licence is suspended, Nigar is a
nurse and Samir a pharmacist at Pharmacy 7. Leyla (FIN 5LEY123, a woman born in 1990) is
Polyclinic 1's patient; Tural (FIN 7TUR456) is a man; Ali is recorded as deceased. The register
holds the shipped products of a few INNs (medicines_csv.shipped()).
"""

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.db.tables import resources
from shafa.prescriptions import schemas
from shafa.prescriptions.dosage import Regimen
from shafa.prescriptions.tables import prescriptions
from shafa.registries import medicines, medicines_csv
from shafa.registries.citizens.rules import FIN_SYSTEM
from shafa.registries.medicines_rules import DOSE_FORM, INN, UCUM, Amount, Strength
from shafa.security import audit
from shafa.security.rules import Role
from tests.conftest import Database
from tests.registries.builders import (
    country,
    licence,
    organization,
    practitioner,
    role,
    suspension,
)
from tests.registries.conftest import load

T = TypeVar("T")
MOMENT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INNS = frozenset(
    {"amoxicillin", "omeprazole", "drotaverine", "morphine", "warfarin", "acetylsalicylic acid"}
)
AMOXIL = "4760009000048"  # Amoxil 500 mg hard capsules, 20
DEVA = "4760077000018"  # Amoksisilin-Deva 500 mg hard capsules, 16
OMEZ = "4760001000015"  # Omez (omeprazole) 20 mg capsules, 30
NO_SPA = "4760007000026"  # No-Spa (drotaverine) 40 mg tablets, suspended
MST = "4760100000015"  # MST Continus (morphine) 10 mg prolonged-release tablets, 20: narcotic
LEYLA_FIN, TURAL_FIN = "5LEY123", "7TUR456"


def patient(fhir_id: str, fin: str | None, sex: str, birth: str, **more: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"family": fhir_id.title(), "given": ["Test"]}],
        "gender": sex,
        "birthDate": birth,
        "managingOrganization": {"reference": "Organization/polyclinic-1"},
    } | more
    if fin:
        resource["identifier"] = [{"system": FIN_SYSTEM, "value": fin}]
    return resource


def people() -> list[dict[str, Any]]:
    """The organisations, health workers and citizens of the tests."""
    return [
        *country(),
        organization("pharmacy-7", "pharmacy", part_of="baku-union"),
        practitioner("aysel", licence("GP-1")),
        role("aysel-at-1", "aysel", "polyclinic-1"),
        practitioner("rauf", licence("CA-1", "cardiology")),
        role("rauf-at-1", "rauf", "polyclinic-1", speciality="cardiology"),
        practitioner(
            "kamal", licence("GP-2", suspensions=[suspension("2025-01-01", "under investigation")])
        ),
        practitioner("nigar", licence("NU-1", "nursing")),
        practitioner("samir", licence("PH-1", "pharmacy")),
        patient("leyla", LEYLA_FIN, "female", "1990-04-01"),
        patient("tural", TURAL_FIN, "male", "1985-07-03"),
        patient("ali", None, "male", "1950-01-01", deceasedBoolean=True),
    ]


def amoxicillin(
    patient_id: str = "leyla",
    *,
    quantity: Decimal | int = 40,
    unit: str = "{capsule}",
    strength: str = "500 mg/{capsule}",
    inn: str = "amoxicillin",
    form: str = "capsule-hard",
    icd10: str = "J01.9",
    requester: str | None = "aysel",
    **more: Any,
) -> dict[str, Any]:
    """A draft MedicationRequest by INN: 1 capsule 3 times a day for 7 days."""
    regimen = Regimen(Amount.parse(f"1 {unit}"), 3, Decimal(1), "d", "oral", Decimal(7), "d")
    draft: dict[str, Any] = {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "contained": [
            {
                "resourceType": "Medication",
                "id": "med",
                "form": {"coding": [{"system": DOSE_FORM, "code": form}]},
                "ingredient": [
                    {
                        "itemCodeableConcept": {"coding": [{"system": INN, "code": inn}]},
                        "strength": Strength.of(strength).ratio(),
                    }
                ],
            }
        ],
        "medicationReference": {"reference": "#med"},
        "subject": {"reference": f"Patient/{patient_id}"},
        "reasonCode": [{"coding": [{"system": "http://hl7.org/fhir/sid/icd-10", "code": icd10}]}],
        "dosageInstruction": [regimen.fhir("en")],
        "dispenseRequest": {
            "quantity": {"value": quantity, "system": UCUM, "code": unit},
        },
    } | more
    if requester:
        draft["requester"] = {"reference": f"Practitioner/{requester}"}
    return draft


def morphine(patient_id: str = "leyla", requester: str = "aysel") -> dict[str, Any]:
    """20 MST Continus 10 mg: 1 tablet twice a day for 10 days."""
    draft = amoxicillin(
        patient_id,
        quantity=20,
        unit="{tablet}",
        strength="10 mg/{tablet}",
        inn="morphine",
        form="prolonged-release-tablet",
        icd10="C50.9",
        requester=requester,
    )
    regimen = Regimen(Amount.parse("1 {tablet}"), 2, Decimal(1), "d", "oral", Decimal(10), "d")
    draft["dosageInstruction"] = [regimen.fhir("en")]
    return draft


def caller(name: str, role_: Role, organization_id: str | None) -> schemas.Caller:
    """A person calling the verbs directly, as a route would build them."""
    return schemas.Caller(
        role_,
        name,
        organization_id,
        audit.AuditRecord(action=audit.Action.CREATE, user_id=name, display=name.title()),
    )


AYSEL = caller("aysel", Role.DOCTOR, "polyclinic-1")
RAUF = caller("rauf", Role.DOCTOR, "polyclinic-1")
KAMAL = caller("kamal", Role.DOCTOR, "polyclinic-1")
NIGAR = caller("nigar", Role.NURSE, "polyclinic-1")
SAMIR = caller("samir", Role.PHARMACIST, "pharmacy-7")


@dataclass
class World:
    """The country loaded in an emptied database of one backend."""

    database: Database

    def run(self, work: Callable[[AsyncEngine], Awaitable[T]]) -> T:
        """Run work with an engine over the database."""

        async def go() -> T:
            engine = create_engine(Settings(database_url=self.database.url))
            try:
                return await work(engine)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def counts(self) -> dict[str, int]:
        """Live resources by type, and prescriptions rows: what a refusal must leave as it was."""

        async def count(engine: AsyncEngine) -> dict[str, int]:
            async with engine.connect() as conn:
                rows = await conn.execute(
                    select(resources.c.res_type, func.count())
                    .where(resources.c.deleted.is_(False))
                    .group_by(resources.c.res_type)
                )
                found = {row[0]: int(row[1]) for row in rows}
                found["prescriptions"] = int(
                    (await conn.execute(select(func.count()).select_from(prescriptions))).scalar()
                    or 0
                )
                table = await conn.execute(select(prescriptions.c.dispensed))
                found["dispensed"] = int(sum(Decimal(r[0]) for r in table))
                return found

        return self.run(count)

    def row(self, number: str) -> Any:
        async def read(engine: AsyncEngine) -> Any:
            async with engine.connect() as conn:
                query = select(prescriptions).where(prescriptions.c.number == number)
                return (await conn.execute(query)).first()

        return self.run(read)

    def medication_id(self, gtin: str) -> str:
        async def read(engine: AsyncEngine) -> str:
            async with engine.connect() as conn:
                found = await medicines.product(conn, gtin, MOMENT)
                assert found is not None
                return found.medication_id

        return self.run(read)


def register(world: World) -> None:
    """The shipped register's products of INNS."""
    rows = [row for row in medicines_csv.shipped() if row[1].ingredients[0].inn in INNS]

    async def go(engine: AsyncEngine) -> None:
        async with write_transaction(engine) as conn:
            await medicines.import_rows(conn, rows, MOMENT)

    world.run(go)


@pytest.fixture
def world(fhir: httpx.Client, database: Database) -> Iterator[World]:
    """The country and the register in an emptied database (the unguarded server's write
    checks keep the register's tables)."""
    load(fhir, people())
    found = World(database)
    register(found)
    yield found
