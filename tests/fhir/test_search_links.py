"""Following references in search: chained parameters (R4 search.html#chaining), to find
prescriptions by their patient's FIN or by the organisation managing that patient, and
_include/_revinclude (search.html#include) to bring the linked resources along."""

import httpx
import pytest

from tests.fhir.helpers import found, put

FIN = "https://fhir.shafa.az/sid/fin"


@pytest.fixture
def clinic(fhir: httpx.Client) -> httpx.Client:
    put(fhir, {"resourceType": "Organization", "id": "central", "name": "Mərkəzi Klinika"})
    put(fhir, {"resourceType": "Organization", "id": "north", "name": "Şimal Poliklinikası"})  # noqa: RUF001
    for pid, fin, org in (("p1", "5ABC123", "central"), ("p2", "7XYZ987", "north")):
        put(
            fhir,
            {
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": FIN, "value": fin}],
                "managingOrganization": {"reference": f"Organization/{org}"},
            },
        )
    for mid, pid, status in (
        ("m1", "p1", "active"),
        ("m2", "p2", "active"),
        ("m3", "p1", "stopped"),
    ):
        put(
            fhir,
            {
                "resourceType": "MedicationRequest",
                "id": mid,
                "status": status,
                "intent": "order",
                "medicationCodeableConcept": {"text": "metformin 500 mg"},
                "subject": {"reference": f"Patient/{pid}"},
            },
        )
    return fhir


def test_a_typed_chain_finds_prescriptions_by_the_patients_fin(clinic: httpx.Client) -> None:
    query = {"subject:Patient.identifier": f"{FIN}|5ABC123"}
    assert found(clinic, "MedicationRequest", query) == {"m1", "m3"}


def test_an_untyped_chain_tries_every_target_type(clinic: httpx.Client) -> None:
    assert found(clinic, "MedicationRequest", {"subject.identifier": "7XYZ987"}) == {"m2"}


def test_a_chain_combines_with_other_criteria(clinic: httpx.Client) -> None:
    query = {"subject:Patient.identifier": f"{FIN}|5ABC123", "status": "active"}
    assert found(clinic, "MedicationRequest", query) == {"m1"}


def test_two_links_away(clinic: httpx.Client) -> None:
    query = {"subject:Patient.organization.name": "mərkəzi"}
    assert found(clinic, "MedicationRequest", query) == {"m1", "m3"}
    query = {"subject:Patient.organization:Organization.name": "şimal"}
    assert found(clinic, "MedicationRequest", query) == {"m2"}


def test_a_deleted_target_no_longer_matches(clinic: httpx.Client) -> None:
    assert clinic.delete("/Patient/p2").status_code in (200, 204)
    assert found(clinic, "MedicationRequest", {"subject.identifier": "7XYZ987"}) == set()


@pytest.mark.parametrize(
    "name",
    [
        "status.code",  # status is a token, not a reference
        "subject:Observation.code",  # subject cannot point to an Observation
        "subject:Patient.colour",  # Patient has no such parameter
        "subject:Patient.gender.name",  # gender is no reference to chain through
    ],
)
def test_a_chain_that_cannot_be_followed_is_a_400(clinic: httpx.Client, name: str) -> None:
    response = clinic.get("/MedicationRequest", params={name: "x"})
    assert response.status_code == 400, response.text
    assert name.split(".")[0] in response.json()["issue"][0]["diagnostics"]


def entries(fhir: httpx.Client, res_type: str, params: dict[str, str] | list) -> dict[str, set]:
    response = fhir.get(f"/{res_type}", params=params)
    assert response.status_code == 200, response.text
    by_mode: dict[str, set] = {"match": set(), "include": set()}
    for entry in response.json()["entry"]:
        resource = entry["resource"]
        by_mode[entry["search"]["mode"]].add(f"{resource['resourceType']}/{resource['id']}")
    return by_mode


def test_include_brings_the_subject_along(clinic: httpx.Client) -> None:
    result = entries(
        clinic, "MedicationRequest", {"_id": "m1", "_include": "MedicationRequest:subject"}
    )
    assert result == {"match": {"MedicationRequest/m1"}, "include": {"Patient/p1"}}


def test_an_included_resource_appears_once(clinic: httpx.Client) -> None:
    result = entries(
        clinic,
        "MedicationRequest",
        {"subject": "Patient/p1", "_include": "MedicationRequest:subject:Patient"},
    )
    assert result["match"] == {"MedicationRequest/m1", "MedicationRequest/m3"}
    assert result["include"] == {"Patient/p1"}


def test_revinclude_brings_what_points_at_the_matches(clinic: httpx.Client) -> None:
    response = clinic.get(
        "/Patient", params={"_id": "p1", "_revinclude": "MedicationRequest:subject"}
    )
    bundle = response.json()
    assert bundle["total"] == 1  # included resources are not counted
    modes = {(e["search"]["mode"], e["resource"]["id"]) for e in bundle["entry"]}
    assert modes == {("match", "p1"), ("include", "m1"), ("include", "m3")}


def test_iterate_follows_the_included_resources_further(clinic: httpx.Client) -> None:
    params = [
        ("_id", "m1"),
        ("_include", "MedicationRequest:subject"),
        ("_include:iterate", "Patient:organization"),
    ]
    result = entries(clinic, "MedicationRequest", params)
    assert result["include"] == {"Patient/p1", "Organization/central"}
    without = [
        ("_id", "m1"),
        ("_include", "MedicationRequest:subject"),
        ("_include", "Patient:organization"),
    ]
    assert entries(clinic, "MedicationRequest", without)["include"] == {"Patient/p1"}


def test_include_of_every_reference_with_a_star(clinic: httpx.Client) -> None:
    result = entries(clinic, "Patient", {"_id": "p2", "_include": "Patient:*"})
    assert result["include"] == {"Organization/north"}


def test_a_deleted_resource_is_not_included(clinic: httpx.Client) -> None:
    assert clinic.delete("/Organization/north").status_code in (200, 204)
    result = entries(clinic, "Patient", {"_id": "p2", "_include": "Patient:organization"})
    assert result["include"] == set()


@pytest.mark.parametrize(
    "include",
    [
        "MedicationRequest:status",  # not a reference
        "Unknown:subject",  # not a type
        "MedicationRequest:subject:Observation",  # subject cannot point there
        "MedicationRequest",  # no parameter
    ],
)
def test_an_include_that_cannot_be_followed_is_a_400(clinic: httpx.Client, include: str) -> None:
    response = clinic.get("/MedicationRequest", params={"_include": include})
    assert response.status_code == 400, response.text
    assert "_include" in response.json()["issue"][0]["diagnostics"]


def test_has_finds_patients_by_what_points_at_them(clinic: httpx.Client) -> None:
    assert found(clinic, "Patient", {"_has:MedicationRequest:subject:status": "stopped"}) == {"p1"}
    assert found(clinic, "Patient", {"_has:MedicationRequest:subject:status": "active"}) == {
        "p1",
        "p2",
    }


def test_has_nests_and_combines(clinic: httpx.Client) -> None:
    # Organisations managing a patient who has a stopped prescription.
    query = {"_has:Patient:organization:_has:MedicationRequest:subject:status": "stopped"}
    assert found(clinic, "Organization", query) == {"central"}
    both = {"_has:MedicationRequest:subject:status": "active", "identifier": "7XYZ987"}
    assert found(clinic, "Patient", both) == {"p2"}


@pytest.mark.parametrize(
    "name",
    [
        "_has:MedicationRequest:status:code",  # status is not a reference
        "_has:Observation:subject:colour",  # no such parameter on Observation
        "_has:Organization:partof:name",  # partof cannot point to a Patient
        "_has:MedicationRequest",  # incomplete
    ],
)
def test_a_has_that_cannot_be_followed_is_a_400(clinic: httpx.Client, name: str) -> None:
    response = clinic.get("/Patient", params={name: "x"})
    assert response.status_code == 400, response.text
