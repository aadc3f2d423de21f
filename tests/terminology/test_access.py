"""Reference data behind the usual scope checks: any token that may read CodeSystem or
ValueSet uses the terminology; none leaves an audit record, as no patient's data is in it."""

import asyncio

import httpx
from sqlalchemy import func, select

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.security.tables import audit_log
from tests.security.conftest import Realm
from tests.terminology.conftest import DIAGNOSIS, ICD10, outcome, parameter


def _client(realm: Realm, scope: str | None) -> httpx.Client:
    headers = {}
    if scope is not None:
        client_id, secret = realm.add_client(f"system {scope}", scope)
        assert secret is not None
        token = realm.client_credentials(client_id, secret).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
    return httpx.Client(base_url=realm.server.base, headers=headers, timeout=60)


def _audit_records(realm: Realm) -> int:
    async def count() -> int:
        engine = create_engine(Settings(database_url=realm.database.url))
        try:
            async with engine.connect() as conn:
                return int((await conn.scalar(select(func.count()).select_from(audit_log))) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_a_token_that_reads_terminology_uses_it_without_audit_records(guarded: Realm) -> None:
    pharmacy = _client(guarded, "system/CodeSystem.rs system/ValueSet.rs")
    before = _audit_records(guarded)
    expanded = pharmacy.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "filter": "asthma"})
    assert expanded.status_code == 200, expanded.text
    looked = pharmacy.get("/CodeSystem/$lookup", params={"system": ICD10, "code": "J45.0"})
    assert parameter(looked.json(), "display") == "Predominantly allergic asthma"
    checked = pharmacy.get(
        "/ValueSet/$validate-code", params={"url": DIAGNOSIS, "system": ICD10, "code": "J45.0"}
    )
    assert parameter(checked.json(), "result") is True
    assert pharmacy.get("/CodeSystem/icd-10", params={"_summary": "true"}).status_code == 200
    outcome(pharmacy.get("/CodeSystem/$lookup", params={"system": ICD10, "code": "NOPE"}), 404)
    assert _audit_records(guarded) == before


def test_without_a_token_or_the_scopes_the_terminology_is_refused(guarded: Realm) -> None:
    outcome(_client(guarded, None).get("/ValueSet/$expand", params={"url": DIAGNOSIS}), 401)
    labs = _client(guarded, "system/Observation.cruds")
    outcome(labs.get("/ValueSet/$expand", params={"url": DIAGNOSIS}), 403)
    outcome(labs.get("/CodeSystem/$lookup", params={"system": ICD10, "code": "J45"}), 403)
    everything = _client(guarded, "system/*.rs")
    assert everything.get("/ValueSet/$expand", params={"url": DIAGNOSIS}).status_code == 200
