"""Who may load and read the register as CSV, on a server that asks for tokens as production
does: a system whose scopes allow the writes, and a registry administrator; not a doctor, not a
read-only system, not someone without a token. Every refusal changes nothing."""

from collections.abc import Iterator
from datetime import timedelta
from importlib import resources as package_data
from typing import Any

import httpx
import pytest

from shafa.config import Settings
from shafa.db.engine import write_transaction
from shafa.fhir import store
from shafa.fhir.store import now
from shafa.security import accounts
from shafa.security.keys import signing_key
from shafa.security.rules import Role
from shafa.security.tokens import issue_access_token
from tests.conftest import Database, LiveServer
from tests.security.conftest import Realm

REGISTER = "/registries/medicines"
CSV = "".join(
    package_data.files("shafa.registries")
    .joinpath("data/medicines.csv")
    .read_text("utf-8")
    .splitlines(keepends=True)[:4]
)


@pytest.fixture(scope="session")
def tokens_server(database: Database) -> Iterator[LiveServer]:
    """A live server that asks every request for an access token."""
    with LiveServer(Settings(database_url=database.url, fhir_auth_required=True)) as live:
        yield live


@pytest.fixture
def realm(tokens_server: LiveServer, database: Database) -> Iterator[Realm]:
    """That server over an emptied database."""
    database.truncate()
    with httpx.Client(base_url=f"http://127.0.0.1:{tokens_server.port}", timeout=60) as http:
        yield Realm(tokens_server, database, http)


def _system(realm: Realm, scope: str) -> str:
    client_id, secret = realm.add_client(f"system {scope}", scope)
    assert secret is not None
    granted = realm.client_credentials(client_id, secret)
    assert granted.status_code == 200, granted.text
    return str(granted.json()["access_token"])


def _person(realm: Realm, name: str, role: Role, scope: str = "user/*.cruds") -> str:
    """A token as the authorization-code grant gives a member of staff's app."""

    async def issue(engine: Any) -> str:
        async with write_transaction(engine) as conn:
            await store.apply_writes(
                conn,
                [
                    store.Write(
                        "Organization", "ministry", {"resourceType": "Organization"}, "PUT"
                    ),
                    store.Write("Practitioner", name, {"resourceType": "Practitioner"}, "PUT"),
                ],
                now(),
            )
        staff = await accounts.add_staff(
            engine,
            username=name,
            password="a long enough secret phrase",
            role=role,
            display_name=name.title(),
            organization="Organization/ministry",
            practitioner=f"Practitioner/{name}",
            now=now(),
        )
        async with engine.begin() as conn:
            key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
        token, _ = issue_access_token(
            key,
            realm.audience,
            subject=str(staff.identity.user_id),
            client_id="registry-app",
            scope=scope,
            now=now(),
            lifetime=timedelta(minutes=10),
            fhir_user=f"Practitioner/{name}",
        )
        return token

    return realm.run(issue)


def _upload(realm: Realm, token: str | None) -> httpx.Response:
    headers = {"Content-Type": "text/csv"} | ({"Authorization": f"Bearer {token}"} if token else {})
    return realm.http.post(REGISTER, content=CSV.encode(), headers=headers)


def _count(realm: Realm) -> int:
    token = _system(realm, "system/Medication.s")
    answer = realm.http.get(
        "/fhir/Medication",
        params={"_summary": "count"},
        headers={"Authorization": f"Bearer {token}"},
    )
    return int(answer.json()["total"])


def test_without_a_token_nothing_is_loaded_or_read(realm: Realm) -> None:
    refused = _upload(realm, None)
    assert refused.status_code == 401
    assert refused.json()["resourceType"] == "OperationOutcome"
    assert "Bearer" in refused.headers["www-authenticate"]
    assert realm.http.get(REGISTER).status_code == 401
    assert _upload(realm, "not-a-token").status_code == 401
    assert _count(realm) == 0


def test_a_system_loads_the_register_when_its_scopes_allow_the_writes(realm: Realm) -> None:
    reader = _system(realm, "system/Medication.rs system/MedicationKnowledge.rs")
    refused = _upload(realm, reader)
    assert refused.status_code == 403, refused.text
    assert "creating Medication" in refused.text
    assert _count(realm) == 0
    writer = _system(
        realm, "system/Medication.cru system/MedicationKnowledge.cru system/Organization.c"
    )
    assert _upload(realm, writer).status_code == 200
    assert _count(realm) == 3
    exported = realm.http.get(REGISTER, headers={"Authorization": f"Bearer {reader}"})
    assert exported.status_code == 200 and exported.text == CSV


def test_a_registry_administrator_loads_it_and_a_doctor_may_not(realm: Realm) -> None:
    doctor = _person(realm, "aysel", Role.DOCTOR)
    refused = _upload(realm, doctor)
    assert refused.status_code == 403
    assert "Only registry administrators" in refused.text
    assert _count(realm) == 0
    admin = _person(realm, "leyla", Role.REGISTRY_ADMIN)
    assert _upload(realm, admin).status_code == 200, _upload(realm, admin).text
    assert _count(realm) == 3
