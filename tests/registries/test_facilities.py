"""The facilities registry over real HTTP, on SQLite and PostgreSQL.

The Ministry of Health heads the tree; the Baku regional union sits under it, with Polyclinic 1,
Pharmacy 7 (private) and the Central Laboratory under the union; Ganja's union holds a hospital.
"""

import asyncio
from typing import Any

import httpx
import pytest

from shafa import registries
from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.fhir.errors import FhirError
from shafa.registries import facilities
from shafa.registries.facilities import StandingStatus
from tests.conftest import Database
from tests.registries.builders import country, facility_licence, organization, ref, suspension
from tests.registries.conftest import call, count, load, refused
from tests.registries.test_workforce import at

PHARMACY_7 = organization(
    "pharmacy-7",
    "pharmacy",
    part_of="baku-union",
    ownership="private",
    licences=[
        facility_licence(
            "PH-0007",
            start="2021-01-01",
            end="2025-12-31",
            suspensions=[suspension("2023-02-01", "Storage conditions breached", "2023-03-31")],
        )
    ],
)


@pytest.fixture
def registry(fhir: httpx.Client) -> httpx.Client:
    """The FHIR API over a database holding the country's tree of organisations."""
    load(
        fhir,
        [
            *country(),
            PHARMACY_7,
            organization("central-lab", "laboratory", part_of="baku-union"),
            organization("ganja-union", "regional-union", part_of="ministry"),
            organization("ganja-hospital", "hospital", part_of="ganja-union"),
        ],
    )
    return fhir


def _put(fhir: httpx.Client, resource: dict[str, Any]) -> httpx.Response:
    return fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)


def _version(fhir: httpx.Client, reference: str) -> str:
    return str(fhir.get(f"/{reference}").json()["meta"]["versionId"])


# --- rules ------------------------------------------------------------------------------------


def test_organisations_of_unknown_kind_or_part_of_themselves_are_refused(
    registry: httpx.Client,
) -> None:
    before = count(registry, "Organization")
    refused(
        registry.post("/Organization", json=organization("x", "spaceport")),
        422,
        "Organization.type[0]",
    )
    refused(_put(registry, organization("x", "hospital", part_of="x")), 422, "Organization.partOf")
    assert count(registry, "Organization") == before


def test_a_facility_licence_ending_before_it_starts_is_refused(registry: httpx.Client) -> None:
    backwards = organization(
        "pharmacy-8",
        "pharmacy",
        licences=[facility_licence("PH-0008", start="2025-01-01", end="2024-01-01")],
    )
    refused(_put(registry, backwards), 422, "Organization.identifier[0].period")
    assert registry.get("/Organization/pharmacy-8").status_code == 404


def test_a_facility_licence_number_is_one_facilitys(registry: httpx.Client) -> None:
    copycat = organization("pharmacy-8", "pharmacy", licences=[facility_licence("PH-0007")])
    why = refused(_put(registry, copycat), 422, "Organization.identifier[0].value")
    assert "Organization/pharmacy-7" in why
    assert registry.get("/Organization/pharmacy-8").status_code == 404
    # The licence can be found by its number, as any Identifier.
    found = registry.get("/Organization", params={"identifier": "PH-0007"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["pharmacy-7"]


def test_a_location_has_coordinates_on_earth_and_the_organisation_running_it(
    registry: httpx.Client,
) -> None:
    site = {
        "resourceType": "Location",
        "id": "pharmacy-7-site",
        "status": "active",
        "name": "Pharmacy 7, Nizami street",
        "address": {"line": ["Nizami küçəsi 7"], "city": "Bakı", "country": "AZ"},  # noqa: RUF001 (Azerbaijani dotless i)
        "position": {"latitude": 40.3777, "longitude": 49.8520},
        "managingOrganization": ref("Organization", "pharmacy-7"),
    }
    assert _put(registry, site).status_code == 201
    found = registry.get("/Location", params={"organization": "Organization/pharmacy-7"}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["pharmacy-7-site"]
    refused(
        _put(registry, site | {"position": {"latitude": 140.3777, "longitude": 49.8520}}),
        422,
        "Location.position.latitude",
    )
    assert _version(registry, "Location/pharmacy-7-site") == "1"


# --- the tree ---------------------------------------------------------------------------------


def test_partof_cycles_are_refused_however_far_up(registry: httpx.Client) -> None:
    # The ministry under one of its own polyclinics: three steps round.
    under_polyclinic = organization("ministry", "ministry", part_of="polyclinic-1")
    why = refused(_put(registry, under_polyclinic), 422, "Organization.partOf")
    assert "cycle" in why
    under_union = organization("baku-union", "regional-union", part_of="pharmacy-7")
    refused(_put(registry, under_union), 422, "Organization.partOf")
    assert _version(registry, "Organization/ministry") == "1"
    assert "partOf" not in registry.get("/Organization/ministry").json()
    # Moving a facility elsewhere in the tree is no cycle.
    moved = organization("central-lab", "laboratory", part_of="ganja-union")
    assert _put(registry, moved).status_code == 200


def test_a_transaction_closing_a_cycle_between_new_organisations_is_refused_whole(
    registry: httpx.Client,
) -> None:
    before = count(registry, "Organization")
    entries = [
        {
            "resource": organization(a, "hospital", part_of=b),
            "request": {"method": "PUT", "url": f"Organization/{a}"},
        }
        for a, b in (("east", "west"), ("west", "east"))
    ]
    response = registry.post(
        "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    refused(response, 422)
    assert count(registry, "Organization") == before


def test_descendants_and_ancestors(registry: httpx.Client, database: Database) -> None:
    def under(root: str, kind: str | None = None) -> list[str]:
        return call(database, lambda c: facilities.descendants(c, root, kind=kind))

    def above(organization_id: str) -> list[str]:
        return call(database, lambda c: facilities.ancestors(c, organization_id))

    assert under("baku-union") == ["central-lab", "pharmacy-7", "polyclinic-1"]
    assert under("baku-union", "pharmacy") == ["pharmacy-7"]
    assert under("ministry", "hospital") == ["ganja-hospital"]
    assert under("ministry")[:4] == [
        "baku-commission",
        "baku-union",
        "ganja-union",
        "licensing-authority",
    ]  # nearest first, then by id
    assert len(under("ministry")) == 8
    assert under("pharmacy-7") == []
    assert under("nowhere") == []
    assert above("pharmacy-7") == ["baku-union", "ministry"]
    assert above("ministry") == []
    # A FHIR client reads the same tree a level at a time, or a few levels at once.
    children = registry.get("/Organization", params={"partof": "Organization/baku-union"})
    assert sorted(e["resource"]["id"] for e in children.json()["entry"]) == under("baku-union")
    levels = registry.get(
        "/Organization",
        params={"_id": "ministry", "_revinclude:iterate": "Organization:partof", "_count": "100"},
    )
    assert len(levels.json()["entry"]) == 1 + len(under("ministry"))
    # The tree follows the resources: a move, a deletion.
    assert (
        _put(registry, organization("pharmacy-7", "pharmacy", part_of="ganja-union")).status_code
        == 200
    )
    assert registry.delete("/Organization/central-lab").status_code == 200
    assert under("baku-union") == ["polyclinic-1"]
    assert under("ganja-union") == ["ganja-hospital", "pharmacy-7"]
    assert above("pharmacy-7") == ["ganja-union", "ministry"]


def test_two_concurrent_moves_cannot_close_a_cycle_between_them(
    registry: httpx.Client, database: Database
) -> None:
    """Polyclinic 1 under the laboratory, and the laboratory under Polyclinic 1, at once: each
    alone is no cycle; the second to commit must see the first's edge."""
    registries.install()
    moment = store.now()

    def move(fhir_id: str, kind: str, under: str) -> store.Write:
        return store.Write(
            "Organization", fhir_id, organization(fhir_id, kind, part_of=under), "PUT"
        )

    async def race() -> None:
        engine = create_engine(Settings(database_url=database.url))
        try:

            async def second() -> None:
                async with write_transaction(engine) as conn:
                    await store.apply_writes(
                        conn, [move("central-lab", "laboratory", "polyclinic-1")], moment
                    )

            async with write_transaction(engine) as first:
                await store.apply_writes(
                    first, [move("polyclinic-1", "polyclinic", "central-lab")], moment
                )
                late = asyncio.create_task(second())
                await asyncio.sleep(0.5)
                assert not late.done()
            with pytest.raises(store.WriteRejected) as lost:
                await late
            assert lost.value.status == 422
        finally:
            await engine.dispose()

    asyncio.run(race())
    assert call(database, lambda c: facilities.ancestors(c, "polyclinic-1"))[:2] == [
        "central-lab",
        "baku-union",
    ]
    assert _version(registry, "Organization/central-lab") == "1"


# --- standing ---------------------------------------------------------------------------------


def test_a_pharmacys_licence_standing_at_each_moment(
    registry: httpx.Client, database: Database
) -> None:
    def standing(moment: str) -> facilities.Standing:
        return call(database, lambda c: facilities.licence_standing(c, "pharmacy-7", at(moment)))

    assert standing("2020-06-01").status is StandingStatus.UNLICENSED
    active = standing("2022-06-01")
    assert active.licensed and active.activities == {"pharmaceutical"}
    assert standing("2023-02-15").status is StandingStatus.SUSPENDED
    assert standing("2023-04-01").status is StandingStatus.ACTIVE
    assert standing("2026-01-01").status is StandingStatus.EXPIRED
    assert (
        call(
            database, lambda c: facilities.licence_standing(c, "central-lab", at("2022-01-01"))
        ).status
        is StandingStatus.UNLICENSED
    )
    with pytest.raises(FhirError) as unknown:
        call(database, lambda c: facilities.licence_standing(c, "nowhere", at("2022-01-01")))
    assert unknown.value.status == 404


def test_the_tree_follows_moves_late_parents_and_deletions(
    registry: httpx.Client, database: Database
) -> None:
    def above(organization_id: str) -> list[str]:
        return call(database, lambda c: facilities.ancestors(c, organization_id))

    # A clinic stored before the union it belongs to: the union's place reaches it later.
    assert (
        _put(registry, organization("new-clinic", "polyclinic", part_of="new-union")).status_code
        == 201
    )
    assert above("new-clinic") == ["new-union"]
    assert (
        _put(registry, organization("new-union", "regional-union", part_of="ministry")).status_code
        == 201
    )
    assert above("new-clinic") == ["new-union", "ministry"]
    # A union moves with everything under it.
    assert (
        _put(
            registry, organization("baku-union", "regional-union", part_of="ganja-union")
        ).status_code
        == 200
    )
    assert above("pharmacy-7") == ["baku-union", "ganja-union", "ministry"]
    assert "pharmacy-7" in call(database, lambda c: facilities.descendants(c, "ganja-union"))
    # A renamed union stays where it is, and so does what is under it.
    renamed = organization("baku-union", "regional-union", part_of="ganja-union") | {
        "name": "Baku union"
    }
    assert _put(registry, renamed).status_code == 200
    assert above("pharmacy-7") == ["baku-union", "ganja-union", "ministry"]
    # A laboratory that becomes a diagnostic centre is found as one.
    assert call(database, lambda c: facilities.descendants(c, "ministry", kind="laboratory")) == [
        "central-lab"
    ]
    centre = organization("central-lab", "diagnostic-centre", part_of="baku-union")
    assert _put(registry, centre).status_code == 200
    assert call(database, lambda c: facilities.descendants(c, "ministry", kind="laboratory")) == []
    assert call(
        database, lambda c: facilities.descendants(c, "baku-union", kind="diagnostic-centre")
    ) == ["central-lab"]
    # A deleted union leaves its units part of it, and no longer of what it was part of.
    assert registry.delete("/Organization/baku-union").status_code == 200
    assert above("pharmacy-7") == ["baku-union"]
    assert "pharmacy-7" not in call(database, lambda c: facilities.descendants(c, "ministry"))


def test_a_unit_added_while_its_union_moves_lands_under_the_unions_new_place(
    registry: httpx.Client, database: Database
) -> None:
    registries.install()
    moment = store.now()

    async def race() -> None:
        engine = create_engine(Settings(database_url=database.url))
        try:

            async def add_pharmacy() -> None:
                pharmacy = organization("pharmacy-9", "pharmacy", part_of="baku-union")
                async with write_transaction(engine) as conn:
                    write = store.Write("Organization", "pharmacy-9", pharmacy, "PUT")
                    await store.apply_writes(conn, [write], moment)

            moved = organization("baku-union", "regional-union", part_of="ganja-union")
            async with write_transaction(engine) as first:
                write = store.Write("Organization", "baku-union", moved, "PUT")
                await store.apply_writes(first, [write], moment)
                late = asyncio.create_task(add_pharmacy())
                await asyncio.sleep(0.5)
                assert not late.done()
            await late
        finally:
            await engine.dispose()

    asyncio.run(race())
    assert call(database, lambda c: facilities.ancestors(c, "pharmacy-9")) == [
        "baku-union",
        "ganja-union",
        "ministry",
    ]
