"""Professionals see the data of the patients in their care, as the data itself says; the
patient's Consent hides what it hides; break-the-glass opens one patient, stated and flagged.

The country in miniature: Leyla is registered at clinic A (Dr Aysel's) and sees a psychiatrist
at the mental-health centre; Tural is nobody's patient yet. Dr Bəxtiyar works at clinic B.
Every assertion is made through the guarded FHIR API with the professional's own token.
"""

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from shafa.fhir.store import now
from shafa.security import accounts, audit
from shafa.security.keys import signing_key
from shafa.security.rules import Role
from shafa.security.tables import break_glass, care_links
from shafa.security.tokens import issue_access_token
from tests.security.conftest import Realm

FHIR = "application/fhir+json"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
PSY = {"system": f"{TERMINOLOGY}/v3-ActCode", "code": "PSY"}
LOINC = "http://loinc.org"


def _observation(fhir_id: str, patient: str, code: str, **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
    } | extra


DIRECTORY = [
    {"resourceType": "Organization", "id": "clinic-a", "name": "Clinic A"},
    {"resourceType": "Organization", "id": "clinic-b", "name": "Clinic B"},
    {"resourceType": "Organization", "id": "mind", "name": "Mental health centre"},
    {"resourceType": "Organization", "id": "ministry", "name": "Ministry"},
    {"resourceType": "Practitioner", "id": "aysel"},
    {"resourceType": "Practitioner", "id": "bextiyar"},
    {"resourceType": "Practitioner", "id": "psychiatrist"},
    {"resourceType": "Practitioner", "id": "pharmacist"},
    {"resourceType": "Practitioner", "id": "analyst"},
]
RECORDS = [
    {"resourceType": "Patient", "id": "leyla",
     "managingOrganization": {"reference": "Organization/clinic-a"}},
    {"resourceType": "Patient", "id": "tural", "gender": "male"},
    _observation("leyla-bp", "leyla", "8480-6"),
    _observation("leyla-mood", "leyla", "44261-6", meta={"security": [PSY]}),
    _observation("tural-bp", "tural", "8480-6"),
    _observation("tural-hiv", "tural", "75622-1"),
    {
        "resourceType": "Encounter",
        "id": "leyla-at-mind",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/leyla"},
        "serviceProvider": {"reference": "Organization/mind"},
    },
    {
        "resourceType": "Consent",
        "id": "leyla-privacy",
        "status": "active",
        "scope": {"coding": [{"system": f"{TERMINOLOGY}/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": LOINC, "code": "59284-0"}]}],
        "patient": {"reference": "Patient/leyla"},
        "policyRule": {"coding": [{"system": f"{TERMINOLOGY}/v3-ActCode", "code": "OPTIN"}]},
        "provision": {
            "type": "permit",
            "provision": [
                {
                    "type": "deny",
                    "securityLabel": [PSY],
                    "provision": [
                        {"type": "permit", "actor": [{
                            "role": {"coding": [{"system": f"{TERMINOLOGY}/v3-ParticipationType",
                                                 "code": "CST"}]},
                            "reference": {"reference": "Organization/mind"},
                        }]},
                    ],
                }
            ],
        },
    },
]  # fmt: skip

STAFF = {
    "aysel": (Role.DOCTOR, "clinic-a"),
    "bextiyar": (Role.DOCTOR, "clinic-b"),
    "psychiatrist": (Role.DOCTOR, "mind"),
    "pharmacist": (Role.PHARMACIST, "clinic-b"),
    "analyst": (Role.ANALYST, "ministry"),
}


class Country:
    """The guarded server with the data above, and a FHIR client for each professional."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.users: dict[str, int] = {}
        client_id, secret = realm.add_client("Registry", "system/*.cruds")
        assert secret is not None
        token = realm.client_credentials(client_id, secret).json()["access_token"]
        self.system = self.fhir(token)
        for resource in DIRECTORY + RECORDS:
            url = f"/{resource['resourceType']}/{resource['id']}"
            answer = self.system.put(url, json=resource)
            assert answer.status_code == 201, answer.text
        for name, (role, organization) in STAFF.items():
            self.users[name] = realm.run(
                lambda engine, name=name, role=role, org=organization: accounts.add_staff(
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

    def fhir(self, token: str) -> httpx.Client:
        headers = {"Content-Type": FHIR, "Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.realm.server.base, headers=headers, timeout=60)

    def token_of(self, name: str, scope: str = "user/*.cruds") -> str:
        """A token as the authorization-code grant gives a professional's app."""

        async def issue(engine: Any) -> str:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
            token, _ = issue_access_token(
                key,
                self.realm.audience,
                subject=str(self.users[name]),
                client_id="ehr",
                scope=scope,
                now=now(),
                lifetime=timedelta(minutes=10),
                fhir_user=f"Practitioner/{name}",
            )
            return token

        return self.realm.run(issue)

    def as_(self, name: str) -> httpx.Client:
        return self.fhir(self.token_of(name))


@pytest.fixture
def country(guarded: Realm) -> Country:
    return Country(guarded)


def _ids(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in answer.json().get("entry", [])
        if e.get("search", {}).get("mode") != "outcome"
    }


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_doctor_sees_her_organisations_patients_and_nobody_elses(country: Country) -> None:
    aysel = country.as_("aysel")
    answer = aysel.get("/Observation/leyla-bp")
    assert answer.status_code == 200, answer.text
    assert aysel.get("/Observation/leyla-bp/_history/1").status_code == 200
    for url in ("/Observation/tural-bp", "/Observation/tural-bp/_history/1",
                "/Observation/tural-bp/_history", "/Observation/never-stored"):  # fmt: skip
        _refused(aysel.get(url))
    # She finds any citizen to start caring for them, but not their data.
    assert aysel.get("/Patient/tural").status_code == 200
    assert _ids(aysel.get("/Observation")) == {"Observation/leyla-bp"}
    assert aysel.get("/Observation", params={"_summary": "count"}).json()["total"] == 1
    assert _ids(aysel.get("/Observation", params={"code": "75622-1"})) == set()
    has = {"_has:Observation:subject:code": "75622-1"}
    assert _ids(aysel.get("/Patient", params=has)) == set()
    revinclude = {"_id": "tural", "_revinclude": "Observation:subject"}
    assert _ids(aysel.get("/Patient", params=revinclude)) == {"Patient/tural"}
    chain = {"subject:Patient.gender": "male"}
    assert _ids(aysel.get("/Observation", params=chain)) == set()
    assert _ids(aysel.get("/Observation/_history")) == {"Observation/leyla-bp"}
    assert "Observation/tural-bp" not in _ids(aysel.get("/_history"))
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/tural-bp"}},
        {"request": {"method": "GET", "url": "Observation?code=8480-6"}},
    ]}  # fmt: skip
    answer = aysel.post("", json=bundle).json()
    assert answer["entry"][0]["response"]["status"].startswith("403")
    found = {e["resource"]["id"] for e in answer["entry"][1]["resource"].get("entry", [])}
    assert found == {"leyla-bp"}


def test_the_patients_consent_hides_mental_health_from_all_but_her_psychiatrists(
    country: Country,
) -> None:
    aysel, psychiatrist = country.as_("aysel"), country.as_("psychiatrist")
    _refused(aysel.get("/Observation/leyla-mood"))
    hers = {"subject": "Patient/leyla"}
    assert _ids(aysel.get("/Observation", params=hers)) == {"Observation/leyla-bp"}
    assert aysel.get("/Observation", params=hers | {"_summary": "count"}).json()["total"] == 1
    assert psychiatrist.get("/Observation/leyla-mood").status_code == 200
    assert _ids(psychiatrist.get("/Observation", params={"subject": "Patient/leyla"})) == {
        "Observation/leyla-bp",
        "Observation/leyla-mood",
    }
    # Withdrawn, the Consent hides nothing any more.
    consent = country.system.get("/Consent/leyla-privacy").json()
    withdrawn = consent | {"status": "inactive"}
    assert country.system.put("/Consent/leyla-privacy", json=withdrawn).status_code == 200
    assert aysel.get("/Observation/leyla-mood").status_code == 200


def test_a_care_relationship_opens_the_record_and_ends_after_the_care(country: Country) -> None:
    bextiyar = country.as_("bextiyar")
    _refused(bextiyar.get("/Observation/leyla-bp"))
    visit = {
        "resourceType": "Encounter",
        "id": "leyla-at-b",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/leyla"},
        "serviceProvider": {"reference": "Organization/clinic-b"},
    }
    assert bextiyar.put("/Encounter/leyla-at-b", json=visit).status_code == 201
    assert bextiyar.get("/Observation/leyla-bp").status_code == 200
    long_ago = {"start": "2020-01-01T09:00:00Z", "end": "2020-01-01T10:00:00Z"}
    finished = visit | {"status": "finished", "period": long_ago}
    assert bextiyar.put("/Encounter/leyla-at-b", json=finished).status_code == 403
    # Finished long ago by the clinic's system: the relationship has ended.
    assert country.system.put("/Encounter/leyla-at-b", json=finished).status_code == 200
    _refused(bextiyar.get("/Observation/leyla-bp"))


def test_a_write_about_a_patient_not_in_ones_care_is_refused_and_changes_nothing(
    country: Country,
) -> None:
    bextiyar = country.as_("bextiyar")
    before = country.system.get("/Observation", params={"_summary": "count"}).json()["total"]
    _refused(bextiyar.post("/Observation", json=_observation("x", "tural", "8480-6")))
    _refused(bextiyar.put("/Observation/tural-bp", json=_observation("tural-bp", "tural", "1")))
    _refused(bextiyar.delete("/Observation/tural-bp"))
    # Moving someone's record to a patient of one's own is a write about both.
    _refused(bextiyar.put("/Observation/leyla-bp", json=_observation("leyla-bp", "tural", "1")))
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": _observation("y", "tural", "1"),
         "request": {"method": "POST", "url": "Observation"}},
    ]}  # fmt: skip
    _refused(bextiyar.post("", json=transaction))
    after = country.system.get("/Observation", params={"_summary": "count"}).json()["total"]
    assert after == before
    assert (
        country.system.get("/Observation/tural-bp").json()["code"]["coding"][0]["code"] == "8480-6"
    )


def test_break_the_glass_opens_one_patient_with_a_reason_and_is_flagged(
    country: Country,
) -> None:
    bextiyar = country.as_("bextiyar")
    _refused(bextiyar.get("/Observation/tural-hiv"))

    def glass(client: httpx.Client, reason: str, patient: str = "tural") -> httpx.Response:
        parameter = [{"name": "reason", "valueString": reason}]
        body = {"resourceType": "Parameters", "parameter": parameter}
        return client.post(f"/Patient/{patient}/$break-glass", json=body)

    assert glass(bextiyar, "urgent").status_code == 400  # too short to judge
    assert glass(bextiyar, "Unconscious in the emergency room", "nobody").status_code == 404
    _refused(glass(country.as_("pharmacist"), "I would like to see his record please"))
    opened = glass(bextiyar, "Unconscious in the emergency room, no relatives")
    assert opened.status_code == 200, opened.text
    assert bextiyar.get("/Observation/tural-hiv").status_code == 200
    assert _ids(bextiyar.get("/Observation", params={"subject": "Patient/tural"})) == {
        "Observation/tural-bp",
        "Observation/tural-hiv",
    }
    # One patient only: Leyla stays closed to him.
    _refused(bextiyar.get("/Observation/leyla-bp"))

    async def flagged(engine: Any) -> tuple[list[Any], list[audit.StoredRecord]]:
        async with engine.connect() as conn:
            rows = list(await conn.execute(select(break_glass)))
            page = await audit.search_log(conn, action=audit.Action.BREAK_GLASS)
        return rows, page.records

    rows, records = country.realm.run(flagged)
    assert [(r.patient_id, r.reviewed_at) for r in rows] == [("tural", None)]
    assert rows[0].user_id == country.users["bextiyar"]
    (record,) = records
    assert record.entry.purpose == "ETREAT"
    assert record.entry.reason == "Unconscious in the emergency room, no relatives"
    assert record.entry.patients == ("tural",)
    assert rows[0].audit_record == record.id


def test_roles_without_care_see_no_patient_data(country: Country) -> None:
    analyst = country.as_("analyst")
    assert _ids(analyst.get("/Observation")) == set()
    _refused(analyst.get("/Patient/leyla"))
    assert analyst.get("/Organization/clinic-a").status_code == 200
    # A pharmacist of clinic B has no relationship with Leyla either.
    _refused(country.as_("pharmacist").get("/Observation/leyla-bp"))


def test_a_locked_accounts_token_is_refused(country: Country) -> None:
    token = country.token_of("aysel")
    country.realm.run(lambda engine: accounts.lock(engine, "aysel", now()))
    answer = country.fhir(token).get("/Observation/leyla-bp")
    assert answer.status_code == 401, answer.text


def test_care_links_follow_the_resources_that_state_them(country: Country) -> None:
    async def links(engine: Any) -> set[tuple[str, str | None, str]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(care_links))
            return {(r.patient_id, r.organization_id, r.source_type) for r in rows}

    assert country.realm.run(links) == {
        ("leyla", "clinic-a", "Patient"),
        ("leyla", "mind", "Encounter"),
    }
    assert country.system.delete("/Encounter/leyla-at-mind").status_code == 200
    assert country.realm.run(links) == {("leyla", "clinic-a", "Patient")}
