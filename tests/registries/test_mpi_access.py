"""Who may match and merge, on the server that asks every request for a token (SQLite and
PostgreSQL): $match is a search of patients' data, scope-checked and audited naming whom it
showed; merging needs write access to every type and, for a person, the registry
administrator's role."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from shafa.fhir.store import now
from shafa.security import accounts, audit
from shafa.security.keys import signing_key
from shafa.security.rules import Role
from shafa.security.tokens import issue_access_token
from tests.conftest import REGISTRY_KEEPER_SCOPE
from tests.registries.test_mpi_api import REGISTRY, citizen, graded, match, merge
from tests.security.conftest import Realm, guarded, guarded_server  # noqa: F401 (fixtures)

FHIR = "application/fhir+json"


class Registry:
    """The guarded server with the test registry, a system and two people's tokens."""

    def __init__(self, realm: Realm) -> None:
        self.realm = realm
        self.system = self.client(self.system_token(REGISTRY_KEEPER_SCOPE))
        for resource in (
            {"resourceType": "Organization", "id": "ministry"},
            {"resourceType": "Practitioner", "id": "keeper"},
            {"resourceType": "Practitioner", "id": "doctor"},
            *REGISTRY,
            citizen("eli-ru", "Aliyev", "Ali", "1985-07-03"),
        ):
            url = f"/{resource['resourceType']}/{resource['id']}"
            assert self.system.put(url, json=resource).status_code == 201
        self.users = {
            name: realm.run(
                lambda engine, name=name, role=role: accounts.add_staff(
                    engine,
                    username=name,
                    password="a long enough secret phrase",
                    role=role,
                    display_name=name.title(),
                    organization="Organization/ministry",
                    practitioner=f"Practitioner/{name}",
                    now=now(),
                )
            ).identity.user_id
            for name, role in (("keeper", Role.REGISTRY_ADMIN), ("doctor", Role.DOCTOR))
        }

    def client(self, token: str) -> httpx.Client:
        headers = {"Content-Type": FHIR, "Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.realm.server.base, headers=headers, timeout=60)

    def system_token(self, scope: str) -> str:
        client_id, secret = self.realm.add_client(f"client {scope}", scope)
        assert secret is not None
        return str(self.realm.client_credentials(client_id, secret).json()["access_token"])

    def person(self, name: str) -> httpx.Client:
        async def issue(engine: Any) -> str:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
            token, _ = issue_access_token(
                key,
                self.realm.audience,
                subject=str(self.users[name]),
                client_id="registry-app",
                scope="user/*.cruds",
                now=now(),
                lifetime=timedelta(minutes=10),
                fhir_user=f"Practitioner/{name}",
            )
            return token

        return self.client(self.realm.run(issue))

    def log(self, **filters: Any) -> list[audit.StoredRecord]:
        async def read(engine: Any) -> list[audit.StoredRecord]:
            async with engine.connect() as conn:
                return (await audit.search_log(conn, limit=100, **filters)).records

        return self.realm.run(read)


@pytest.fixture
def registry(guarded: Realm) -> Registry:  # noqa: F811 (the fixture imported above)
    return Registry(guarded)


def test_match_needs_patient_search_and_is_audited_naming_whom_it_showed(
    registry: Registry,
) -> None:
    asked = citizen(None, "Əliyev", "Əli")
    observations_only = registry.client(registry.system_token("system/Observation.rs"))
    assert match(observations_only, asked).status_code == 403
    searcher = registry.client(registry.system_token("system/Patient.rs"))
    assert [g[0] for g in graded(match(searcher, asked))] == ["eli", "eli-ru"]
    (record,) = [r for r in registry.log(action=audit.Action.SEARCH) if r.entry.patients]
    assert set(record.entry.patients) == {"eli", "eli-ru"}
    assert set(record.entry.resources) == {"Patient/eli", "Patient/eli-ru"}


def test_the_registry_administrator_merges_a_doctor_may_not(registry: Registry) -> None:
    refused = merge(registry.person("doctor"), "eli-ru", "eli")
    assert refused.status_code == 403
    assert "registry administrator" in refused.json()["issue"][0]["diagnostics"]
    patient_writer = registry.client(registry.system_token("system/Patient.cruds"))
    assert merge(patient_writer, "eli-ru", "eli").status_code == 403  # moves other types too
    assert registry.system.get("/Patient/eli-ru").json().get("link") is None
    done = merge(registry.person("keeper"), "eli-ru", "eli")
    assert done.status_code == 200, done.text
    (record,) = [
        r
        for r in registry.log(action=audit.Action.UPDATE)
        if (r.entry.reason or "").startswith("merge ")
    ]
    assert record.entry.role == "registry-admin"
    assert record.entry.user_id == str(registry.users["keeper"])
    assert set(record.entry.patients) == {"eli", "eli-ru"}
