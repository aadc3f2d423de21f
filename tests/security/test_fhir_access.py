"""The FHIR API asks for an access token and does only what its scopes grant (SMART v2).

A hospital system, a laboratory system and a read-only reporting system call the guarded API
with their own tokens; every attempt past their scopes is refused, audited, and changes nothing.
"""

import asyncio
from datetime import timedelta

import httpx
import pytest

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.fhir.store import now
from shafa.security import audit
from shafa.security.keys import signing_key
from shafa.security.tokens import Audience, issue_access_token
from tests.conftest import REGISTRY_KEEPER_SCOPE
from tests.security.conftest import Realm

FHIR = "application/fhir+json"
PATIENT = {"resourceType": "Patient", "id": "leyla", "gender": "female"}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "bp",
    "status": "final",
    "code": {"text": "blood pressure"},
    "subject": {"reference": "Patient/leyla"},
}


def _token(realm: Realm, scope: str) -> str:
    client_id, secret = realm.add_client(f"system {scope}", scope)
    assert secret is not None
    granted = realm.client_credentials(client_id, secret)
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def _fhir(realm: Realm, token: str | None) -> httpx.Client:
    headers = {"Content-Type": FHIR} | ({"Authorization": f"Bearer {token}"} if token else {})
    return httpx.Client(base_url=realm.server.base, headers=headers, timeout=60)


@pytest.fixture
def hospital(guarded: Realm) -> httpx.Client:
    """The hospital system: every interaction on every type, the registries' too; it also
    loads the data."""
    client = _fhir(guarded, _token(guarded, REGISTRY_KEEPER_SCOPE))
    for resource in (PATIENT, OBSERVATION):
        url = f"/{resource['resourceType']}/{resource['id']}"
        assert client.put(url, json=resource).status_code == 201
    return client


def _refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["resourceType"] == "OperationOutcome"
    assert "Bearer" in response.headers["www-authenticate"]


def _count(realm: Realm, res_type: str) -> int:
    with _fhir(realm, _token(realm, "system/*.s")) as reader:
        return int(reader.get(f"/{res_type}", params={"_summary": "count"}).json()["total"])


def test_without_a_token_only_the_capability_statement_and_discovery_answer(
    guarded: Realm, hospital: httpx.Client
) -> None:
    anonymous = _fhir(guarded, None)
    for url in ("/Patient/leyla", "/Patient", "/Patient/leyla/_history", "/_history"):
        _refused(anonymous.get(url), 401)
    _refused(anonymous.post("/Patient", json=PATIENT), 401)
    _refused(anonymous.post("", json={"resourceType": "Bundle", "type": "batch"}), 401)
    assert anonymous.get("/metadata").status_code == 200
    assert anonymous.get("/.well-known/smart-configuration").status_code == 200


def test_forged_expired_and_foreign_tokens_are_401(guarded: Realm, hospital: httpx.Client) -> None:
    good = _token(guarded, "system/*.cruds")
    # Verified once, the good token is kept by the worker: its forgeries must still be checked.
    assert _fhir(guarded, good).get("/Patient/leyla").status_code == 200
    header, payload, signature = good.split(".")
    forgeries = {
        "alg none": f"{header}.{payload}.",
        "tampered": f"{header}.{payload[:-4]}AAAA.{signature}",
        "garbage": "not-a-token",
    }
    for name, token in forgeries.items():
        _refused(_fhir(guarded, token).get("/Patient/leyla"), 401), name

    async def expired_and_foreign() -> tuple[str, str]:
        engine = create_engine(Settings(database_url=guarded.database.url))
        try:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
        finally:
            await engine.dispose()
        audience = guarded.audience
        stale, _ = issue_access_token(key, audience, subject="x", client_id="x",
                                      scope="system/*.cruds", now=now() - timedelta(hours=2),
                                      lifetime=timedelta(minutes=10))  # fmt: skip
        other = Audience(audience.issuer, "https://elsewhere.example/fhir", "ES256")
        foreign, _ = issue_access_token(key, other, subject="x", client_id="x",
                                        scope="system/*.cruds", now=now(),
                                        lifetime=timedelta(minutes=10))  # fmt: skip
        return stale, foreign

    stale, foreign = asyncio.run(expired_and_foreign())
    _refused(_fhir(guarded, stale).get("/Patient/leyla"), 401)
    _refused(_fhir(guarded, foreign).get("/Patient/leyla"), 401)
    assert _fhir(guarded, good).get("/Patient/leyla").status_code == 200


def test_a_read_only_system_reads_and_searches_and_changes_nothing(
    guarded: Realm, hospital: httpx.Client
) -> None:
    reporting = _fhir(guarded, _token(guarded, "system/Patient.rs"))
    assert reporting.get("/Patient/leyla").json()["gender"] == "female"
    assert reporting.get("/Patient", params={"gender": "female"}).json()["total"] == 1
    assert reporting.get("/Patient/leyla/_history").status_code == 200
    _refused(reporting.post("/Patient", json=PATIENT | {"id": "x"}), 403)
    _refused(reporting.put("/Patient/leyla", json=PATIENT | {"gender": "male"}), 403)
    _refused(reporting.delete("/Patient/leyla"), 403)
    _refused(reporting.get("/Observation/bp"), 403)  # another type
    _refused(reporting.get("/Observation", params={"subject": "Patient/leyla"}), 403)
    _refused(reporting.get("/_history"), 403)  # every type at once
    assert hospital.get("/Patient/leyla").json()["gender"] == "female"


def test_bundles_are_refused_whole_when_one_entry_is_past_the_scopes(
    guarded: Realm, hospital: httpx.Client
) -> None:
    laboratory = _fhir(guarded, _token(guarded, "system/Observation.cru"))
    before = _count(guarded, "Patient")
    own = {"resource": OBSERVATION | {"id": "new"}}
    own["request"] = {"method": "PUT", "url": "Observation/new"}
    sneaky = {
        "resource": PATIENT | {"id": "sneaky"},
        "request": {"method": "POST", "url": "Patient"},
    }
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [own, sneaky]}
    _refused(laboratory.post("", json=transaction), 403)
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "GET", "url": "Patient/leyla"}}]}  # fmt: skip
    _refused(laboratory.post("", json=batch), 403)
    assert _count(guarded, "Patient") == before
    assert hospital.get("/Observation/new").status_code == 404  # nothing of it was written
    allowed = {"resourceType": "Bundle", "type": "transaction", "entry": transaction["entry"][:1]}
    assert laboratory.post("", json=allowed).status_code == 200


TURAL = {"resourceType": "Patient", "id": "tural", "gender": "male"}
TURAL_BP = OBSERVATION | {"id": "tural-bp", "subject": {"reference": "Patient/tural"}}


def _patient_token(realm: Realm, scope: str, patient: str | None) -> str:
    """A token as the authorization-code grant would give a citizen's app: signed by the
    server's own key, bound to one patient."""

    async def issue() -> str:
        engine = create_engine(Settings(database_url=realm.database.url))
        try:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
        finally:
            await engine.dispose()
        token, _ = issue_access_token(key, realm.audience, subject="citizen-app",
                                      client_id="citizen-app", scope=scope, now=now(),
                                      lifetime=timedelta(minutes=10), patient=patient)  # fmt: skip
        return token

    return asyncio.run(issue())


@pytest.fixture
def leylas_app(guarded: Realm, hospital: httpx.Client) -> httpx.Client:
    """Leyla's app: patient/*.rs bound to Leyla; Tural's data sits beside hers."""
    for resource in (TURAL, TURAL_BP):
        url = f"/{resource['resourceType']}/{resource['id']}"
        assert hospital.put(url, json=resource).status_code == 201
    medication = {"resourceType": "Medication", "id": "m1", "code": {"text": "ramipril"}}
    assert hospital.put("/Medication/m1", json=medication).status_code == 201
    return _fhir(guarded, _patient_token(guarded, "patient/*.rs", "leyla"))


def _ids(bundle: dict) -> set[str]:
    return {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]
            if e.get("search", {}).get("mode") != "outcome"}  # fmt: skip


def test_a_patients_app_reads_only_her_compartment(leylas_app: httpx.Client) -> None:
    assert leylas_app.get("/Patient/leyla").status_code == 200
    assert leylas_app.get("/Observation/bp").status_code == 200
    assert leylas_app.get("/Observation/bp/_history/1").status_code == 200
    # Another patient's data and patient data never stored: one answer.
    for url in (
        "/Patient/tural",
        "/Observation/tural-bp",
        "/Observation/tural-bp/_history/1",
        "/Observation/nothing-here",
        "/Observation/tural-bp/_history",
    ):
        _refused(leylas_app.get(url), 403), url  # fmt: skip
    # What belongs to nobody (the formulary, the directory) her app may show beside her record.
    assert leylas_app.get("/Medication/m1").status_code == 200
    assert leylas_app.get("/Medication/nothing-here").status_code == 404


def test_her_searches_never_find_another_patients_data(leylas_app: httpx.Client) -> None:
    def found(url: str, **params: str) -> set[str]:
        answer = leylas_app.get(url, params=params)
        assert answer.status_code == 200, answer.text
        return _ids(answer.json())

    assert found("/Observation") == {"Observation/bp"}
    assert found("/Observation", subject="Patient/tural") == set()
    assert found("/Patient") == {"Patient/leyla"}
    assert found("/Observation", **{"subject.gender": "male"}) == set()  # a chain to Tural
    assert found("/Patient", **{"_has:Observation:subject:status": "final"}) == {"Patient/leyla"}
    assert found("/Observation", _include="Observation:subject") == {
        "Observation/bp",
        "Patient/leyla",
    }
    assert found("/Patient", _revinclude="Observation:subject") == {
        "Patient/leyla",
        "Observation/bp",
    }
    counted = leylas_app.get("/Observation", params={"_summary": "count"}).json()
    assert counted["total"] == 1
    assert found("/Observation/_history") == {"Observation/bp"}
    assert found("/_history") == {"Observation/bp", "Patient/leyla", "Medication/m1"}


def test_her_app_cannot_write_or_post_bundles(leylas_app: httpx.Client) -> None:
    _refused(leylas_app.put("/Patient/leyla", json=PATIENT | {"gender": "other"}), 403)
    _refused(leylas_app.post("/Observation", json=OBSERVATION | {"id": "x"}), 403)
    batch = {"resourceType": "Bundle", "type": "batch",
             "entry": [{"request": {"method": "GET", "url": "Patient/tural"}}]}  # fmt: skip
    _refused(leylas_app.post("", json=batch), 403)
    transaction = batch | {"type": "transaction"}
    _refused(leylas_app.post("", json=transaction), 403)


def test_her_app_reaches_no_one_else_through_operations_or_the_audit_log(
    leylas_app: httpx.Client, hospital: httpx.Client
) -> None:
    parameter = [{"name": "reason", "valueString": "I want to see his record"}]
    reason = {"resourceType": "Parameters", "parameter": parameter}
    _refused(leylas_app.post("/Patient/tural/$break-glass", json=reason), 403)
    assert hospital.get("/Observation/tural-bp").status_code == 200  # an access to Tural's data
    hers = leylas_app.get("/AuditEvent", params={"patient": "tural"})
    assert hers.status_code == 200 and _ids(hers.json()) == set()
    mine = leylas_app.get("/AuditEvent").json()
    assert all(
        entity["what"]["reference"] != "Patient/tural"
        for entry in mine.get("entry", [])
        for entity in entry["resource"].get("entity", [])
        if "reference" in entity.get("what", {})
    )


def test_a_patient_token_without_its_patient_is_refused(
    guarded: Realm, hospital: httpx.Client
) -> None:
    unbound = _fhir(guarded, _patient_token(guarded, "patient/*.rs", None))
    _refused(unbound.get("/Observation"), 403)
    _refused(unbound.get("/Patient/leyla"), 403)


def test_refusals_are_audited(guarded: Realm, hospital: httpx.Client) -> None:
    reporting = _fhir(guarded, _token(guarded, "system/Patient.rs"))
    _refused(reporting.get("/Observation/bp"), 403)
    _refused(_fhir(guarded, None).get("/Patient/leyla"), 401)

    async def refusals() -> list[audit.StoredRecord]:
        engine = create_engine(Settings(database_url=guarded.database.url))
        try:
            async with engine.connect() as conn:
                page = await audit.search_log(conn, action=audit.Action.ACCESS_REFUSED)
        finally:
            await engine.dispose()
        return page.records

    found = asyncio.run(refusals())
    codes = {(record.entry.outcome_code, record.entry.resources) for record in found}
    assert ("403", ("Observation/bp",)) in codes
    assert ("401 missing", ("Patient/leyla",)) in codes
