"""The disability registry over real HTTP, on SQLite and PostgreSQL.

The Baku medical and social expert commission determines Leyla's disability: group II from
2020 until its review on 1 January 2027, for cerebral palsy (ICD-10 G80.1). Leyla reads her own
determination in her app; she cannot read Tural's.
"""

import httpx
import pytest

from shafa.registries import codes, disability
from shafa.registries.disability import DisabilityGroup
from tests.conftest import REGISTRY_KEEPER_SCOPE, Database
from tests.registries.builders import country, determination
from tests.registries.conftest import call, citizen_app, count, load, refused, system_client
from tests.registries.test_workforce import at
from tests.security.conftest import Realm

CITIZENS = [
    {"resourceType": "Patient", "id": "leyla", "gender": "female", "birthDate": "1990-04-12"},
    {"resourceType": "Patient", "id": "tural", "gender": "male", "birthDate": "2012-09-01"},
]
DETERMINATION = f"{codes.REGISTRY_OBSERVATION}|{codes.DISABILITY_DETERMINATION}"


@pytest.fixture
def registry(fhir: httpx.Client) -> httpx.Client:
    """The FHIR API over a database holding the country and two citizens."""
    load(fhir, [*country(), *CITIZENS])
    return fhir


def _put(fhir: httpx.Client, resource: dict) -> httpx.Response:
    return fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)


# --- rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "where"),
    [
        (determination("d", "leyla", "group-4"), "Observation.value"),
        (
            determination("d", "leyla", start="2024-01-01", review="2023-01-01"),
            "Observation.effective.end",
        ),
        (
            determination("d", "leyla", start="2024-01-01", review="2024-01-01"),
            "Observation.effective.end",
        ),
        (determination("d", "leyla", cause=None), "Observation.component"),
        (determination("d", "leyla", cause="cerebral palsy"), "Observation.component[0].value"),
        (determination("d", "leyla", commission=None), "Observation.performer"),
        (determination("d", "leyla", start=None, review=None), "Observation.effective"),
    ],
)
def test_a_determination_breaking_a_rule_is_refused_and_nothing_is_written(
    registry: httpx.Client, broken: dict, where: str
) -> None:
    refused(_put(registry, broken), 422, where)
    refused(registry.post("/Observation", json=broken), 422, where)
    assert count(registry, "Observation") == 0


def test_a_rule_breaking_entry_refuses_its_whole_transaction(registry: httpx.Client) -> None:
    entries = [
        {
            "resource": determination(f"d{n}", "leyla", group),
            "request": {"method": "PUT", "url": f"Observation/d{n}"},
        }
        for n, group in enumerate(("group-2", "group-9"))
    ]
    response = registry.post(
        "", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
    )
    refused(response, 422, "Bundle.entry[1].resource.value")
    assert count(registry, "Observation") == 0


# --- which group, valid now? ------------------------------------------------------------------


def test_the_group_in_force_at_each_moment(registry: httpx.Client, database: Database) -> None:
    load(
        registry,
        [
            determination(
                "leyla-2020", "leyla", "group-2", start="2020-01-01", review="2027-01-01"
            ),
            determination(
                "tural-2015", "tural", "under-18", start="2015-03-01", review="2030-09-01"
            ),
            determination(
                "tural-draft",
                "tural",
                "group-1",
                start="2015-03-01",
                review=None,
                status="preliminary",
            ),
        ],
    )

    def group(patient: str, moment: str) -> DisabilityGroup | None:
        return call(database, lambda c: disability.current_group(c, patient, at(moment)))

    assert group("leyla", "2019-12-31") is None
    assert group("leyla", "2026-06-01") is DisabilityGroup.GROUP_II
    assert group("leyla", "2027-01-01T18:00") is DisabilityGroup.GROUP_II  # the review day
    assert group("leyla", "2027-01-02") is None  # past the review date, until a new decision
    assert group("tural", "2026-06-01") is DisabilityGroup.UNDER_18  # not the preliminary one
    # The review decides group III from the review date on.
    load(
        registry,
        [determination("leyla-2027", "leyla", "group-3", start="2027-01-01", review="2030-01-01")],
    )
    assert group("leyla", "2027-01-01T18:00") is DisabilityGroup.GROUP_III
    assert group("leyla", "2028-01-01") is DisabilityGroup.GROUP_III
    found = call(database, lambda c: disability.current_determination(c, "leyla", at("2028-01-01")))
    assert found is not None
    assert (found.id, found.cause, found.commission) == ("leyla-2027", "G80.1", "baku-commission")
    # Entered in error: withdrawn.
    withdrawn = determination(
        "leyla-2027",
        "leyla",
        "group-3",
        start="2027-01-01",
        review="2030-01-01",
        status="entered-in-error",
    )
    assert _put(registry, withdrawn).status_code == 200
    assert group("leyla", "2028-01-01") is None
    assert len(call(database, lambda c: disability.determinations(c, "leyla"))) == 2
    assert group("nobody", "2028-01-01") is None


# --- who reads a determination ----------------------------------------------------------------


def test_a_citizen_reads_her_own_determination_and_not_anothers(guarded: Realm) -> None:
    commission = system_client(guarded, REGISTRY_KEEPER_SCOPE)
    load(
        commission,
        [
            *country(),
            *CITIZENS,
            determination("leyla-2020", "leyla", "group-2"),
            determination("tural-2015", "tural", "under-18"),
        ],
    )
    leyla = citizen_app(guarded, "leyla")
    mine = leyla.get("/Observation/leyla-2020")
    assert mine.status_code == 200, mine.text
    assert mine.json()["valueCodeableConcept"]["coding"][0]["code"] == "group-2"
    found = leyla.get("/Observation", params={"code": DETERMINATION}).json()
    assert [e["resource"]["id"] for e in found["entry"]] == ["leyla-2020"]
    assert (
        leyla.get("/Observation", params={"subject": "Patient/tural"}).json().get("entry", []) == []
    )
    refused(leyla.get("/Observation/tural-2015"), 403)
    # The commission that decided it is the directory's, which her app may show beside it.
    assert leyla.get("/Organization/baku-commission").status_code == 200
    # Reading is all: her app cannot record a determination, not even her own.
    refused(
        leyla.put("/Observation/leyla-2020", json=determination("leyla-2020", "leyla", "group-1")),
        403,
    )
