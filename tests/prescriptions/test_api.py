"""The e-Prescription operations over real HTTP on the server that asks for tokens, as
production runs it (SQLite and PostgreSQL): Dr Aysel prescribes at Polyclinic 1, Samir finds
and dispenses the prescription at Pharmacy 7 by its number and Leyla's FIN."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from shafa.db.engine import write_transaction
from shafa.fhir import jsonio
from shafa.fhir.store import now
from shafa.prescriptions import routes
from shafa.prescriptions.schemas import NUMBER_SYSTEM
from shafa.registries import medicines, medicines_csv
from shafa.registries.medicines_rules import INN
from shafa.security import accounts
from shafa.security.keys import signing_key
from shafa.security.rules import ROLE_SCOPE_CEILING, Role
from shafa.security.tokens import issue_access_token
from tests.conftest import REGISTRY_KEEPER_SCOPE
from tests.prescriptions.conftest import AMOXIL, INNS, LEYLA_FIN, TURAL_FIN, amoxicillin, people
from tests.security.conftest import Realm, guarded, guarded_server  # noqa: F401 (fixtures)

FHIR = "application/fhir+json"
STAFF = {
    "aysel": (Role.DOCTOR, "polyclinic-1"),
    "samir": (Role.PHARMACIST, "pharmacy-7"),
    "nigar": (Role.NURSE, "polyclinic-1"),
}


class Pharmacy:
    """The guarded server holding the country, the register and the staff's accounts."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        client_id, secret = realm.add_client("Registry", REGISTRY_KEEPER_SCOPE)
        assert secret is not None
        token = realm.client_credentials(client_id, secret).json()["access_token"]
        self.system = self.client(token)
        for resource in people():
            url = f"/{resource['resourceType']}/{resource['id']}"
            answer = self.system.put(url, json=resource)
            assert answer.status_code == 201, answer.text
        rows = [row for row in medicines_csv.shipped() if row[1].ingredients[0].inn in INNS]

        async def register(engine: Any) -> None:
            async with write_transaction(engine) as conn:
                await medicines.import_rows(conn, rows, now())

        realm.run(register)
        self.users = {
            name: realm.run(
                lambda engine, name=name, role=role, org=org: accounts.add_staff(
                    engine,
                    username=name,
                    password="a long enough secret phrase",
                    role=role,
                    display_name=name.title(),
                    organization=f"Organization/{org}",
                    practitioner=f"Practitioner/{name}",
                    now=now(),
                )
            ).identity.user_id
            for name, (role, org) in STAFF.items()
        }

    def client(self, token: str) -> httpx.Client:
        headers = {"Content-Type": FHIR, "Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.realm.server.base, headers=headers, timeout=60)

    def as_(self, name: str) -> httpx.Client:
        """A client with the token the authorization-code grant gives the person's app: the
        most their role allows (security.rules.ROLE_SCOPE_CEILING)."""
        scope = str(ROLE_SCOPE_CEILING[STAFF[name][0]])

        async def issue(engine: Any) -> str:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
            token, _ = issue_access_token(
                key,
                self.realm.audience,
                subject=str(self.users[name]),
                client_id="app",
                scope=scope,
                now=now(),
                lifetime=timedelta(minutes=10),
                fhir_user=f"Practitioner/{name}",
            )
            return token

        return self.client(self.realm.run(issue))


@pytest.fixture
def pharmacy(guarded: Realm) -> Pharmacy:  # noqa: F811 (the fixture imported above)
    return Pharmacy(guarded)


def parameters(*parameter: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameter)}


def value(answer: dict[str, Any], name: str) -> Any:
    found = [p for p in answer["parameter"] if p["name"] == name]
    assert len(found) == 1, (name, answer)
    part = found[0]
    return next(v for k, v in part.items() if k.startswith("value") or k == "resource")


def prescribe(client: httpx.Client, draft: dict[str, Any], *more: dict[str, Any]) -> Any:
    body = parameters({"name": "medicationRequest", "resource": draft}, *more)
    # jsonio writes the draft's Decimals as JSON numbers, as a FHIR client would.
    return client.post("/MedicationRequest/$prescribe", content=jsonio.dumps(body))


def pack(gtin: str, packs: int = 1, **more: Any) -> dict[str, Any]:
    parts = [{"name": "gtin", "valueString": gtin}, {"name": "packs", "valueInteger": packs}]
    parts += [{"name": k, "valueString": v} for k, v in more.items()]
    return {"name": "pack", "part": parts}


def test_the_operations_are_in_the_capability_statement(pharmacy: Pharmacy) -> None:
    statement = pharmacy.realm.http.get("/fhir/metadata").json()
    (rest,) = statement["rest"]
    (request,) = [r for r in rest["resource"] if r["type"] == "MedicationRequest"]
    names = {o["name"] for o in request.get("operation", [])}
    assert {op.name for op in routes.OPERATIONS} <= names


def test_prescribe_find_dispense_over_http(pharmacy: Pharmacy) -> None:
    doctor, pharmacist = pharmacy.as_("aysel"), pharmacy.as_("samir")
    answer = prescribe(doctor, amoxicillin(requester=None))
    assert answer.status_code == 200, answer.text
    number = value(answer.json(), "number")
    request = value(answer.json(), "medicationRequest")
    assert request["requester"] == {"reference": "Practitioner/aysel"}
    assert value(answer.json(), "instruction").startswith("Gündə 3 dəfə")
    # The doctor finds it by its number; the pharmacist, who cares for nobody, does not ...
    search = {"identifier": f"{NUMBER_SYSTEM}|{number}"}
    assert doctor.get("/MedicationRequest", params=search).json()["total"] == 1
    assert pharmacist.get("/MedicationRequest", params=search).json().get("total", 0) == 0
    # ... but finds it with the number and the patient's FIN.
    ask = parameters(
        {"name": "number", "valueString": number.replace("-", "").lower()},
        {"name": "fin", "valueString": LEYLA_FIN},
    )
    found = pharmacist.post("/MedicationRequest/$find", json=ask)
    assert found.status_code == 200, found.text
    assert value(found.json(), "remaining")["value"] == 40
    assert value(found.json(), "status") == "active"
    wrong = parameters(
        {"name": "number", "valueString": number}, {"name": "fin", "valueString": TURAL_FIN}
    )
    assert pharmacist.post("/MedicationRequest/$find", json=wrong).status_code == 404
    handed = pharmacist.post(
        "/MedicationRequest/$dispense",
        json=parameters(
            {"name": "number", "valueString": number},
            {"name": "fin", "valueString": LEYLA_FIN},
            {"name": "receipt", "valueString": "EKASSA-0001"},
            pack(AMOXIL, 1, serial="SN-1", lot="L-7"),
        ),
    )
    assert handed.status_code == 200, handed.text
    assert value(handed.json(), "status") == "partially-dispensed"
    assert value(handed.json(), "remaining")["value"] == 20
    given = value(handed.json(), "medicationDispense")
    assert given["performer"][-1] == {"actor": {"reference": "Organization/pharmacy-7"}}
    # Too much at the instance level: refused, naming what is left.
    more = pharmacist.post(
        f"/MedicationRequest/{request['id']}/$dispense",
        json=parameters({"name": "fin", "valueString": LEYLA_FIN}, pack(AMOXIL, 2)),
    )
    assert more.status_code == 422, more.text
    assert "20 {capsule} left" in more.text


def test_who_may_call_what(pharmacy: Pharmacy) -> None:
    doctor, pharmacist, nurse = pharmacy.as_("aysel"), pharmacy.as_("samir"), pharmacy.as_("nigar")
    # A pharmacist's token grants no MedicationRequest create; a nurse's does, her role not.
    assert prescribe(pharmacist, amoxicillin()).status_code == 403
    assert prescribe(nurse, amoxicillin(requester=None)).status_code == 403
    number = value(prescribe(doctor, amoxicillin()).json(), "number")
    dispensed = doctor.post(
        "/MedicationRequest/$dispense",
        json=parameters(
            {"name": "number", "valueString": number},
            {"name": "fin", "valueString": LEYLA_FIN},
            pack(AMOXIL),
        ),
    )
    assert dispensed.status_code == 403
    cancelled = pharmacist.post(
        "/MedicationRequest/$cancel",
        json=parameters(
            {"name": "number", "valueString": number}, {"name": "reason", "valueString": "x"}
        ),
    )
    assert cancelled.status_code == 403


def test_a_blocking_finding_and_its_override_over_http(pharmacy: Pharmacy) -> None:
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": "leyla-penicillin",
        "patient": {"reference": "Patient/leyla"},
        "code": {"coding": [{"system": INN, "code": "amoxicillin"}]},
    }
    assert pharmacy.system.put("/AllergyIntolerance/leyla-penicillin", json=allergy).is_success
    doctor = pharmacy.as_("aysel")
    blocked = prescribe(doctor, amoxicillin())
    assert blocked.status_code == 422, blocked.text
    outcome = blocked.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["contained"][0]["resourceType"] == "DetectedIssue"
    key = outcome["issue"][0]["details"]["coding"][0]["code"]
    reason = "Skin test negative in January; benefits outweigh"
    override = {
        "name": "override",
        "part": [
            {"name": "finding", "valueString": key},
            {"name": "reason", "valueString": reason},
        ],
    }
    done = prescribe(doctor, amoxicillin(), override)
    assert done.status_code == 200, done.text
    issue = value(done.json(), "detectedIssue")
    assert issue["mitigation"][0]["action"]["text"] == reason
    stored = doctor.get(f"/DetectedIssue/{issue['id']}")
    assert stored.status_code == 200, stored.text


def test_the_prescriber_cancels_over_http(pharmacy: Pharmacy) -> None:
    doctor = pharmacy.as_("aysel")
    request = value(prescribe(doctor, amoxicillin()).json(), "medicationRequest")
    answer = doctor.post(
        f"/MedicationRequest/{request['id']}/$cancel",
        json=parameters({"name": "reason", "valueString": "Entered for the wrong patient"}),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "cancelled"
    read = doctor.get(f"/MedicationRequest/{request['id']}").json()
    assert read["statusReason"]["text"] == "Entered for the wrong patient"
    again = doctor.post(
        f"/MedicationRequest/{request['id']}/$cancel",
        json=parameters({"name": "reason", "valueString": "twice"}),
    )
    assert again.status_code == 409


def test_bad_parameters_are_refused(pharmacy: Pharmacy) -> None:
    doctor = pharmacy.as_("aysel")
    answer = doctor.post("/MedicationRequest/$prescribe", json={"resourceType": "Patient"})
    assert answer.status_code == 400
    bad = prescribe(doctor, amoxicillin(icd10="J01"))
    assert bad.status_code == 422
    assert bad.json()["issue"][0]["expression"] == ["MedicationRequest.reasonCode"]
