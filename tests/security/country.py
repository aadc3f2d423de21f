"""A country in miniature for the access tests: Leyla is registered at clinic A (Dr Aysel's)
and sees a psychiatrist at the mental-health centre, whom her privacy Consent alone lets see
her mental-health data; Tural is nobody's patient yet; Dr Bəxtiyar works at clinic B."""

from datetime import timedelta
from typing import Any

import httpx

from shafa.fhir.store import now
from shafa.security import accounts
from shafa.security.keys import signing_key
from shafa.security.rules import Role
from shafa.security.tokens import issue_access_token
from tests.conftest import REGISTRY_KEEPER_SCOPE
from tests.security.conftest import Realm

FHIR = "application/fhir+json"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
PSY = {"system": f"{TERMINOLOGY}/v3-ActCode", "code": "PSY"}
LOINC = "http://loinc.org"


def observation(fhir_id: str, patient: str, code: str, **extra: Any) -> dict[str, Any]:
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
    observation("leyla-bp", "leyla", "8480-6"),
    observation("leyla-mood", "leyla", "44261-6", meta={"security": [PSY]}),
    observation("tural-bp", "tural", "8480-6"),
    observation("tural-hiv", "tural", "75622-1"),
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
        client_id, secret = realm.add_client("Registry", REGISTRY_KEEPER_SCOPE)
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
