"""An upgraded database answers as a new one: the Patients stored before the citizens registry
are found by their names' folding keys, and Patients that share a FIN stop the upgrade."""

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from alembic import command

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
from shafa.db.tables import INDEX_TABLE_ORDER, idx_string, idx_token, resources
from shafa.fhir import indexing, jsonio
from shafa.registries.citizens.rules import FIN_SYSTEM
from tests.conftest import BACKENDS, LiveServer, create_pg_database, drop_pg_database

BEFORE = "0011"


@pytest.fixture(params=BACKENDS)
def scratch_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend that no other server uses."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}"
        return
    url, dsn = create_pg_database()
    yield url
    drop_pg_database(dsn)


def _patient(fhir_id: str, fin: str, family: str) -> dict:
    return {
        "resourceType": "Patient",
        "id": fhir_id,
        "meta": {"versionId": "1", "lastUpdated": "2026-01-01T00:00:00Z"},
        "identifier": [{"system": FIN_SYSTEM, "value": fin}],
        "name": [{"family": family, "given": ["Test"]}],
    }


def _store_as_before(url: str, patients: list[dict]) -> None:
    """The Patients with their index rows as the store of revision BEFORE wrote them (strings
    and tokens, which is all these searches read), without a folded form."""

    async def store() -> None:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.begin() as conn:
                for patient in patients:
                    rows = indexing.extract(jsonio.parse(json.dumps(patient)))
                    mask = sum(
                        1 << bit
                        for bit, kind in enumerate(INDEX_TABLE_ORDER)
                        if kind in ("string", "token") and getattr(rows, kind)
                    )
                    pk = (
                        await conn.execute(
                            resources.insert()
                            .values(
                                res_type="Patient",
                                fhir_id=patient["id"],
                                version=1,
                                last_updated=datetime(2026, 1, 1, tzinfo=UTC),
                                deleted=False,
                                patient_id=patient["id"],
                                index_mask=mask,
                                content=json.dumps(patient),
                            )
                            .returning(resources.c.pk)
                        )
                    ).scalar_one()
                    common = {"resource_pk": pk, "res_type": "Patient"}
                    for param, value, exact in rows.string:
                        values = {"param": param, "value": value, "exact": exact}
                        await conn.execute(idx_string.insert().values(**common, **values))
                    for param, system, code, text in rows.token:
                        values = {"param": param, "system": system, "code": code, "text": text}
                        await conn.execute(idx_token.insert().values(**common, **values))
        finally:
            await engine.dispose()

    asyncio.run(store())


def test_names_stored_before_are_found_by_their_folding_keys(scratch_url: str) -> None:
    migrate.upgrade(scratch_url, BEFORE)
    _store_as_before(
        scratch_url,
        [_patient("ilham", "5ABC123", "Əliyev"), _patient("aysel", "7XYZ890", "Hüseynova")],
    )
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))
    settings = Settings(database_url=scratch_url, fhir_auth_required=False)
    with LiveServer(settings) as live, httpx.Client(base_url=live.base, timeout=60) as fhir:

        def ids(**params: str) -> set[str]:
            bundle = fhir.get("/Patient", params=params).json()
            return {entry["resource"]["id"] for entry in bundle.get("entry", [])}

        assert ids(name="Алиев") == {"ilham"} and ids(family="aliyev") == {"ilham"}
        assert ids(name="Гусейнова") == {"aysel"} and ids(phonetic="guseynova") == {"aysel"}
        # And the FIN each holds is theirs alone now.
        twin = _patient("twin", "5ABC123", "Əliyev")
        del twin["meta"]
        answer = fhir.put("/Patient/twin", json=twin)
        assert answer.status_code == 409 and "Patient/ilham" in answer.text

    migrate.downgrade(scratch_url, BEFORE)
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))


def test_patients_sharing_a_fin_stop_the_upgrade_and_are_named(scratch_url: str) -> None:
    migrate.upgrade(scratch_url, BEFORE)
    _store_as_before(
        scratch_url,
        [
            _patient("one", "5ABC123", "Əliyev"),
            _patient("other", "5ABC123", "Əliyeva"),
            _patient("alone", "7XYZ890", "Hüseynov"),
        ],
    )
    with pytest.raises(RuntimeError, match="FIN 5ABC123: Patient/one, Patient/other"):
        migrate.upgrade(scratch_url)
    # Nothing of the revision is left behind: the database is at BEFORE, and upgrades once the
    # keepers of the registry have put it right.
    engine_url = scratch_url

    async def fix() -> str | None:
        engine = create_engine(Settings(database_url=engine_url))
        try:
            async with engine.begin() as conn:
                await conn.execute(
                    idx_token.delete().where(
                        idx_token.c.code == "5ABC123",
                        idx_token.c.resource_pk.in_(
                            resources.select()
                            .with_only_columns(resources.c.pk)
                            .where(resources.c.fhir_id == "other")
                        ),
                    )
                )
            async with engine.connect() as conn:
                return await conn.run_sync(
                    lambda sync: sync.exec_driver_sql(
                        "SELECT version_num FROM alembic_version"
                    ).scalar()
                )
        finally:
            await engine.dispose()

    assert asyncio.run(fix()) == BEFORE
    migrate.upgrade(scratch_url)
    command.check(migrate.alembic_config(scratch_url))
