"""The health workforce registry over real HTTP, on SQLite and PostgreSQL.

The licensing authority licenses Dr Aysel (general practice) and Dr Rauf (cardiology); the
registry refuses what breaks its rules and writes nothing of it; a licence number is one
doctor's; the e-prescription rules ask licence_standing whether a doctor may prescribe now.
"""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from shafa import registries
from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.fhir.errors import FhirError
from shafa.registries import codes, workforce
from shafa.registries.workforce import StandingStatus
from tests.conftest import Database
from tests.registries.builders import country, licence, practitioner, role, suspension
from tests.registries.conftest import call, count, load, refused


def at(text: str) -> datetime:
    """An aware UTC moment."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture
def registry(fhir: httpx.Client) -> httpx.Client:
    """The FHIR API over a database holding the country's organisations."""
    load(fhir, country())
    return fhir


def _put(fhir: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    return fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)


# --- rules ------------------------------------------------------------------------------------


def test_a_licence_ending_before_it_starts_is_refused_and_nothing_is_written(
    registry: httpx.Client,
) -> None:
    backwards = practitioner("rauf", licence("AZ-200", start="2025-01-01", end="2024-12-31"))
    where = "Practitioner.qualification[0].period"
    refused(registry.post("/Practitioner", json=backwards), 422, where)
    refused(_put(registry, backwards), 422, where)
    assert count(registry, "Practitioner") == 0
    assert registry.get("/Practitioner/rauf").status_code == 404
    # $validate tells the same without storing anything.
    outcome = registry.post("/Practitioner/$validate", json=backwards).json()
    assert [i["expression"] for i in outcome["issue"]] == [[where]]


def test_a_patch_that_breaks_a_licence_is_refused_and_the_licence_stays(
    registry: httpx.Client,
) -> None:
    assert _put(registry, practitioner("aysel", licence("AZ-100"))).status_code == 201
    patch = [{"op": "replace", "path": "/qualification/0/code/coding/0/code", "value": "magic"}]
    response = registry.patch(
        "/Practitioner/aysel", json=patch, headers={"Content-Type": "application/json-patch+json"}
    )
    refused(response, 422, "Practitioner.qualification[0].code")
    stored = registry.get("/Practitioner/aysel").json()
    assert stored["meta"]["versionId"] == "1"
    assert stored["qualification"][0]["code"]["coding"][0]["code"] == "general-practice"


def test_a_licence_without_number_speciality_or_issuer_is_refused(registry: httpx.Client) -> None:
    bare = {
        "identifier": [{"system": codes.PRACTITIONER_LICENCE}],
        "code": {"text": "cardiology"},
        "period": {"start": "2020"},
    }
    refused(
        registry.post("/Practitioner", json=practitioner("rauf", bare)),
        422,
        "Practitioner.qualification[0].identifier",
        "Practitioner.qualification[0].code",
        "Practitioner.qualification[0].issuer",
    )
    assert count(registry, "Practitioner") == 0


def test_a_role_needs_its_practitioner_and_organisation(registry: httpx.Client) -> None:
    orphan = role("gp", "aysel", "polyclinic-1")
    del orphan["organization"]
    refused(_put(registry, orphan), 422, "PractitionerRole.organization")
    backwards = role("gp", "aysel", "polyclinic-1", start="2025-01-01", end="2024-01-01")
    refused(_put(registry, backwards), 422, "PractitionerRole.period")
    assert count(registry, "PractitionerRole") == 0
    assert _put(registry, role("gp", "aysel", "polyclinic-1")).status_code == 201


# --- one doctor a licence number --------------------------------------------------------------


def test_a_licence_number_is_one_doctors(registry: httpx.Client, database: Database) -> None:
    assert _put(registry, practitioner("aysel", licence("AZ-100"))).status_code == 201
    why = refused(
        registry.post("/Practitioner", json=practitioner("rauf", licence("AZ-100", "cardiology"))),
        422,
        "Practitioner.qualification[0].identifier",
    )
    assert "AZ-100" in why and "Practitioner/aysel" in why
    refused(_put(registry, practitioner("rauf", licence("AZ-100"))), 422)
    assert count(registry, "Practitioner") == 1
    # Aysel may store her own licence again, and add another.
    renewed = practitioner("aysel", licence("AZ-100", end="2030-01-01"), licence("AZ-101"))
    assert _put(registry, renewed).status_code == 200
    # A number given up is free for another doctor; one deleted with its holder too.
    assert _put(registry, practitioner("aysel", licence("AZ-101"))).status_code == 200
    assert _put(registry, practitioner("rauf", licence("AZ-100"))).status_code == 201
    assert registry.delete("/Practitioner/aysel").status_code == 200
    assert _put(registry, practitioner("tural", licence("AZ-101"))).status_code == 201
    standing = call(database, lambda c: workforce.licence_standing(c, "tural", at("2026-01-01")))
    assert standing.licences[0].number == "AZ-101"


def test_a_transaction_giving_one_number_to_two_doctors_is_refused_whole(
    registry: httpx.Client,
) -> None:
    entries = [
        {
            "resource": practitioner(name, licence("AZ-300")),
            "request": {"method": "POST", "url": "Practitioner"},
        }
        for name in ("aysel", "rauf")
    ]
    response = registry.post(
        "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    why = refused(response, 422, "Bundle.entry[1].resource.qualification[0].identifier")
    assert "AZ-300" in why
    assert count(registry, "Practitioner") == 0


def test_a_batch_refuses_only_the_entry_that_takes_a_held_number(registry: httpx.Client) -> None:
    entries = [
        {
            "resource": practitioner(name, licence("AZ-400")),
            "request": {"method": "PUT", "url": f"Practitioner/{name}"},
        }
        for name in ("aysel", "rauf")
    ]
    response = registry.post("", json={"resourceType": "Bundle", "type": "batch", "entry": entries})
    assert response.status_code == 200, response.text
    statuses = [e["response"]["status"] for e in response.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1] == "422"
    assert count(registry, "Practitioner") == 1


# --- standing: what the e-prescription rules ask ----------------------------------------------


def test_a_doctors_standing_at_each_moment(registry: httpx.Client, database: Database) -> None:
    rauf = practitioner(
        "rauf",
        licence(
            "AZ-200",
            "cardiology",
            start="2020-01-01",
            end="2025-12-31",
            suspensions=[suspension("2023-03-01", "Disciplinary inquiry", "2023-09-30")],
        ),
    )
    load(registry, [rauf, role("rauf-cardio", "rauf", "polyclinic-1", speciality="cardiology")])

    def standing(moment: str) -> workforce.Standing:
        return call(database, lambda c: workforce.licence_standing(c, "rauf", at(moment)))

    assert standing("2019-06-01").status is StandingStatus.UNLICENSED
    active = standing("2022-06-01")
    assert active.status is StandingStatus.ACTIVE and active.licensed
    assert active.specialities == {"cardiology"}
    assert active.organizations == {"polyclinic-1"}
    suspended = standing("2023-05-01")
    assert suspended.status is StandingStatus.SUSPENDED and not suspended.licensed
    assert suspended.specialities == frozenset()
    assert suspended.licences[0].suspension_at(at("2023-05-01")).reason == "Disciplinary inquiry"
    assert standing("2024-01-01").status is StandingStatus.ACTIVE
    assert standing("2026-01-01").status is StandingStatus.EXPIRED


def test_a_suspension_recorded_later_takes_effect_from_its_date(
    registry: httpx.Client, database: Database
) -> None:
    load(registry, [practitioner("aysel", licence("AZ-100"))])
    patch = [
        {
            "op": "add",
            "path": "/qualification/0/extension",
            "value": [suspension("2026-02-01", "Licence fee unpaid")],
        }
    ]
    response = registry.patch(
        "/Practitioner/aysel", json=patch, headers={"Content-Type": "application/json-patch+json"}
    )
    assert response.status_code == 200, response.text

    def status(moment: str) -> StandingStatus:
        found = call(database, lambda c: workforce.licence_standing(c, "aysel", at(moment)))
        return found.status

    assert status("2026-01-31") is StandingStatus.ACTIVE
    assert status("2026-02-01") is StandingStatus.SUSPENDED
    # A suspension without its reason is refused.
    no_reason = [{"op": "remove", "path": "/qualification/0/extension/0/extension/1"}]
    response = registry.patch(
        "/Practitioner/aysel",
        json=no_reason,
        headers={"Content-Type": "application/json-patch+json"},
    )
    refused(response, 422, "Practitioner.qualification[0].extension[0]")


def test_the_standing_of_someone_unknown_or_deleted_is_an_error(
    registry: httpx.Client, database: Database
) -> None:
    with pytest.raises(FhirError) as unknown:
        call(database, lambda c: workforce.licence_standing(c, "nobody", at("2026-01-01")))
    assert unknown.value.status == 404
    load(registry, [practitioner("aysel", licence("AZ-100"))])
    assert registry.delete("/Practitioner/aysel").status_code == 200
    with pytest.raises(FhirError) as deleted:
        call(database, lambda c: workforce.licence_standing(c, "aysel", at("2026-01-01")))
    assert deleted.value.status == 410


# --- concurrency ----------------------------------------------------------------------------
#
# On PostgreSQL the second insert of a number waits on the primary key for the first writer's
# transaction to end; on SQLite the second writer waits at BEGIN IMMEDIATE. Either way it then
# finds the number taken.


def test_two_concurrent_writes_of_one_number_cannot_both_succeed(
    registry: httpx.Client, database: Database
) -> None:
    registries.install()
    moment = store.now()

    def write(name: str) -> store.Write:
        return store.Write("Practitioner", name, practitioner(name, licence("AZ-500")), "PUT")

    async def race() -> None:
        engine = create_engine(Settings(database_url=database.url))
        try:

            async def second() -> None:
                async with write_transaction(engine) as conn:
                    await store.apply_writes(conn, [write("rauf")], moment)

            async with write_transaction(engine) as first:
                await store.apply_writes(first, [write("aysel")], moment)
                late = asyncio.create_task(second())
                await asyncio.sleep(0.5)
                # Rauf's write waits for Aysel's transaction to end.
                assert not late.done()
            with pytest.raises(store.WriteRejected) as lost:
                await late
            assert lost.value.status == 422
            assert "Practitioner/aysel" in str(lost.value)
        finally:
            await engine.dispose()

    asyncio.run(race())
    assert count(registry, "Practitioner") == 1
    assert registry.get("/Practitioner/rauf").status_code == 404


def test_a_burst_of_requests_for_one_number_licenses_exactly_one_doctor(
    registry: httpx.Client, server: Any, database: Database
) -> None:

    async def burst() -> list[int]:
        async with httpx.AsyncClient(
            base_url=server.base, headers={"Content-Type": "application/fhir+json"}, timeout=60
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.put(
                        f"/Practitioner/doctor-{n}",
                        json=practitioner(f"doctor-{n}", licence("AZ-600")),
                    )
                    for n in range(12)
                )
            )
        return [answer.status_code for answer in answers]

    for _round in range(3):
        statuses = asyncio.run(burst())
        assert sorted(statuses) == [201] + [422] * 11 or sorted(statuses) == [200] + [422] * 11
    assert count(registry, "Practitioner") == 1
