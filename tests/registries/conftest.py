"""What the registry tests share: the live server (tests/conftest.py) and a way to call the
registries' service functions on its database, as other contexts call them."""

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.config import Settings
from shafa.db.engine import create_engine, read_transaction
from shafa.fhir.store import now
from shafa.security.keys import signing_key
from shafa.security.tokens import issue_access_token
from tests.conftest import Database

# guarded: the server that asks for tokens, as production does, over an emptied database.
from tests.security.conftest import Realm, guarded, guarded_server  # noqa: F401 (fixtures)
from tests.security.conftest import realm as realm

T = TypeVar("T")


def call(database: Database, service: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run a service function in a read transaction on the test database."""

    async def go() -> T:
        engine = create_engine(Settings(database_url=database.url))
        try:
            async with read_transaction(engine) as conn:
                return await service(conn)
        finally:
            await engine.dispose()

    return asyncio.run(go())


def load(fhir: httpx.Client, resources: Iterable[dict[str, Any]]) -> None:
    """Store the resources in one transaction Bundle, or fail the test."""
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"{r['resourceType']}/{r['id']}"}}
            for r in resources
        ],
    }
    response = fhir.post("", json=bundle)
    assert response.status_code == 200, response.text


def count(fhir: httpx.Client, res_type: str) -> int:
    """How many live resources of the type the server holds."""
    response = fhir.get(f"/{res_type}", params={"_summary": "count"})
    assert response.status_code == 200, response.text
    return int(response.json()["total"])


def refused(response: httpx.Response, status: int, *expressions: str) -> str:
    """Assert an OperationOutcome refusal naming the elements; its diagnostics, joined."""
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    named = [e for issue in outcome["issue"] for e in issue.get("expression", ())]
    for expression in expressions:
        assert expression in named, (expression, named)
    return " ".join(issue["diagnostics"] for issue in outcome["issue"])


# --- the guarded API, as production runs it ---------------------------------------------------


def system_client(realm: Realm, scope: str) -> httpx.Client:
    """A FHIR client of a system registered with the scope, holding its token."""
    client_id, secret = realm.add_client(f"system {scope}", scope)
    assert secret is not None
    granted = realm.client_credentials(client_id, secret)
    assert granted.status_code == 200, granted.text
    return _client(realm, str(granted.json()["access_token"]))


def citizen_app(realm: Realm, patient: str) -> httpx.Client:
    """A FHIR client of a citizen's app (patient/*.rs bound to the patient), holding the token
    the authorization-code grant would give it, signed by the server's own key."""

    async def issue() -> str:
        engine = create_engine(Settings(database_url=realm.database.url))
        try:
            async with engine.begin() as conn:
                key = await signing_key(conn, now(), "ES256", timedelta(hours=1))
        finally:
            await engine.dispose()
        token, _claims = issue_access_token(
            key,
            realm.audience,
            subject=f"citizen-{patient}",
            client_id="citizen-app",
            scope="patient/*.rs",
            now=now(),
            lifetime=timedelta(minutes=10),
            patient=patient,
        )
        return token

    return _client(realm, asyncio.run(issue()))


def _client(realm: Realm, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=realm.server.base,
        headers={"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"},
        timeout=60,
    )
