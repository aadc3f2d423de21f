"""An independent FHIR client from PyPI (fhirpy) works against a live `shafa serve`."""

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fhirpy import SyncFHIRClient
from fhirpy.base.exceptions import OperationOutcome, ResourceNotFound

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.fhir.store import now
from shafa.security import oauth
from tests.conftest import REGISTRY_KEEPER_SCOPE, Database, free_port

FIN = "https://fhir.shafa.az/sid/fin"


@dataclass(frozen=True)
class Served:
    """A `shafa serve` process: its FHIR base, and a system's access token for it."""

    base: str
    authorization: str

    def client(self) -> SyncFHIRClient:
        """fhirpy, presenting the token as any SMART backend service would."""
        return SyncFHIRClient(self.base, authorization=self.authorization)


async def _register_system(url: str) -> tuple[str, str]:
    engine = create_engine(Settings(database_url=url))
    try:
        client, secret = await oauth.add_client(engine, "fhirpy", REGISTRY_KEEPER_SCOPE, now())
    finally:
        await engine.dispose()
    assert secret is not None
    return client.client_id, secret


@pytest.fixture
def served(database: Database) -> Iterator[Served]:
    """`shafa serve` as its own process, tokens required, over a fresh database of each backend."""
    database.truncate()
    client_id, secret = asyncio.run(_register_system(database.url))
    port = free_port()
    env = os.environ | {"SHAFA_DATABASE_URL": database.url, "SHAFA_FHIR_AUTH_REQUIRED": "true"}
    process = subprocess.Popen(
        [sys.executable, "-m", "shafa", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/fhir"
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                if httpx.get(f"{base}/metadata", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                pytest.fail(f"shafa serve did not start: {output}")
            time.sleep(0.1)
        granted = httpx.post(
            f"http://127.0.0.1:{port}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
        assert granted.status_code == 200, granted.text
        assert httpx.get(f"{base}/Patient").status_code == 401  # without the token
        yield Served(base, f"Bearer {granted.json()['access_token']}")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_fhirpy_does_crud_history_and_a_transaction(served: Served) -> None:
    client = served.client()

    patient = client.resource(
        "Patient",
        identifier=[{"system": FIN, "value": "5ABC123"}],
        name=[{"family": "Əliyev", "given": ["Rəşad"]}],
        birthDate="1984-03-02",
    )
    patient.save()
    assert patient.id
    assert patient["meta"]["versionId"] == "1"

    found = client.resources("Patient").search(identifier=f"{FIN}|5ABC123").fetch()
    assert [p.id for p in found] == [patient.id]

    patient["gender"] = "male"
    patient.save()
    fetched = client.reference("Patient", patient.id).to_resource()
    assert fetched["gender"] == "male"
    assert fetched["meta"]["versionId"] == "2"

    history = client.execute(f"Patient/{patient.id}/_history", method="get")
    assert [e["resource"]["meta"]["versionId"] for e in history["entry"]] == ["2", "1"]

    response = client.execute(
        "",
        method="post",
        data={
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:6a0d6e7c-4c4f-4e53-9c43-4a3c5d1f8a10",
                    "resource": {
                        "resourceType": "Encounter",
                        "status": "finished",
                        "class": {"code": "AMB"},
                        "subject": {"reference": f"Patient/{patient.id}"},
                    },
                    "request": {"method": "POST", "url": "Encounter"},
                },
                {
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": "Body temperature"},
                        "subject": {"reference": f"Patient/{patient.id}"},
                        "encounter": {"reference": "urn:uuid:6a0d6e7c-4c4f-4e53-9c43-4a3c5d1f8a10"},
                        "valueQuantity": {"value": 36.6, "unit": "Cel"},
                    },
                    "request": {"method": "POST", "url": "Observation"},
                },
            ],
        },
    )
    assert [e["response"]["status"] for e in response["entry"]] == ["201 Created", "201 Created"]
    observation_id = response["entry"][1]["response"]["location"].split("/")[1]
    observation = client.reference("Observation", observation_id).to_resource()
    encounter_id = response["entry"][0]["response"]["location"].split("/")[1]
    assert observation["encounter"]["reference"] == f"Encounter/{encounter_id}"

    observation.delete()
    with pytest.raises(ResourceNotFound):
        client.reference("Observation", observation_id).to_resource()

    with pytest.raises(OperationOutcome):
        client.resource("Patient", birthDate="not-a-date").save()


def test_fhirpy_searches_with_chains_includes_sorting_and_paging(served: Served) -> None:
    client = served.client()
    clinic = client.resource("Organization", name="Mərkəzi Klinika")
    clinic.save()
    patients = []
    for number in range(3):
        patient = client.resource(
            "Patient",
            identifier=[{"system": FIN, "value": f"9FEN00{number}"}],
            birthDate=f"198{number}-06-01",
            managingOrganization={"reference": f"Organization/{clinic.id}"},
        )
        patient.save()
        patients.append(patient)
    for patient in patients:
        for status in ("active", "stopped"):
            client.resource(
                "MedicationRequest",
                status=status,
                intent="order",
                medicationCodeableConcept={"text": "amoxicillin 500 mg"},
                subject={"reference": f"Patient/{patient.id}"},
            ).save()

    chained = (
        client.resources("MedicationRequest")
        .search(**{"subject:Patient.identifier": f"{FIN}|9FEN001", "status": "active"})
        .fetch()
    )
    assert [m["subject"]["reference"] for m in chained] == [f"Patient/{patients[1].id}"]

    with_subjects = (
        client.resources("MedicationRequest")
        .search(status="active")
        .include("MedicationRequest", "subject")
        .fetch_raw()
    )
    modes = [e["search"]["mode"] for e in with_subjects["entry"]]
    assert modes.count("match") == 3
    assert modes.count("include") == 3

    youngest_first = client.resources("Patient").search(organization=clinic.id).sort("-birthdate")
    assert [p["birthDate"] for p in youngest_first.fetch()] == [
        "1982-06-01",
        "1981-06-01",
        "1980-06-01",
    ]

    everything = client.resources("MedicationRequest").limit(2).fetch_all()  # follows next links
    assert len(everything) == 6
    assert len({m.id for m in everything}) == 6

    assert client.resources("Patient").search(birthdate__ge="1981-01-01").count() == 2
