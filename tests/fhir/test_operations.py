"""$validate and the CapabilityStatement tell the truth."""

import httpx
import pytest

from shafa.fhir import searchparams
from shafa.fhir.resource_types import RESOURCE_TYPES

VALID = {"resourceType": "Patient", "birthDate": "1990-01-02", "gender": "female"}


def test_validate_reports_a_valid_resource_as_valid_and_stores_nothing(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient/$validate", json=VALID)
    assert response.status_code == 200
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert [i["severity"] for i in outcome["issue"]] == ["information"]
    assert fhir.get("/Patient").json()["total"] == 0


def test_validate_lists_what_is_wrong_and_where(fhir: httpx.Client) -> None:
    bad = VALID | {"birthDate": "1990-13-45", "gender": "x"}
    outcome = fhir.post("/Patient/$validate", json=bad).json()
    errors = [i for i in outcome["issue"] if i["severity"] == "error"]
    assert {e["expression"][0] for e in errors} == {"Patient.birthDate", "Patient.gender"}


def test_validate_takes_a_parameters_wrapper_with_a_mode(fhir: httpx.Client) -> None:
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "resource", "resource": VALID},
            {"name": "mode", "valueCode": "update"},
        ],
    }
    outcome = fhir.post("/Patient/$validate", json=wrapped).json()
    assert any(i["expression"] == ["Patient.id"] for i in outcome["issue"])  # update needs an id


def test_validate_against_an_instance_checks_the_id(fhir: httpx.Client) -> None:
    outcome = fhir.post("/Patient/p1/$validate", json=VALID | {"id": "p2"}).json()
    assert any(i["severity"] == "error" for i in outcome["issue"])
    ok = fhir.post("/Patient/p1/$validate", json=VALID | {"id": "p1"}).json()
    assert [i["severity"] for i in ok["issue"]] == ["information"]


def test_validate_refuses_an_unknown_mode(fhir: httpx.Client) -> None:
    wrapped = {"resourceType": "Parameters", "parameter": [{"name": "mode", "valueCode": "upsert"}]}
    assert fhir.post("/Patient/$validate", json=wrapped).status_code == 400


@pytest.mark.parametrize("res_type", ["Observation", "Bundle", "StructureDefinition", "Binary"])
def test_validate_works_on_any_type(fhir: httpx.Client, res_type: str) -> None:
    outcome = fhir.post(f"/{res_type}/$validate", json={"resourceType": res_type}).json()
    assert outcome["resourceType"] == "OperationOutcome"


STRICT = {"Prefer": "handling=strict"}


def test_the_capability_statement_lists_every_type_and_only_working_search_parameters(
    fhir: httpx.Client,
) -> None:
    statement = fhir.get("/metadata").json()
    assert statement["fhirVersion"] == "4.0.1"
    described = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert set(described) == RESOURCE_TYPES
    values = {
        "token": "x",
        "string": "x",
        "reference": "Patient/x",
        "uri": "http://x",
        "date": "ge2020-01-01",
        "number": "gt1.5",
        "quantity": "le5.4|http://unitsofmeasure.org|mg",
    }
    for res_type in ("Patient", "Observation", "MedicationRequest", "Encounter", "Group"):
        for param in described[res_type]["searchParam"]:
            if param["type"] == "composite":  # a value of each component's type, joined by $
                components = searchparams.params_for(res_type)[param["name"]].components
                types = [searchparams.param_by_url(url).type for url, _ in components]
                value = "$".join(values[kind] for kind in types)
            else:
                value = values[param["type"]]
            # Strict: a parameter the server would leave out with a warning is a 400 here.
            response = fhir.get(f"/{res_type}", params={param["name"]: value}, headers=STRICT)
            assert response.status_code == 200, (res_type, param["name"], response.text)
            if ":of-type" in param["documentation"]:
                of_type = {f"{param['name']}:of-type": "http://x|MR|1"}
                assert fhir.get(f"/{res_type}", params=of_type, headers=STRICT).status_code == 200
    assert "_text" in {p["name"] for p in described["Patient"]["searchParam"]}
    assert "_text" not in {p["name"] for p in described["Bundle"]["searchParam"]}
    assert fhir.get("/Bundle", params={"_text": "x"}, headers=STRICT).status_code == 400
    observation = {p["name"]: p for p in described["Observation"]["searchParam"]}
    assert observation["component-code-value-quantity"]["type"] == "composite"
    assert ":of-type" in observation["identifier"]["documentation"]
    assert ":of-type" not in observation["code"]["documentation"]
    interactions = {i["code"] for i in described["Patient"]["interaction"]}
    assert {
        "read",
        "vread",
        "update",
        "patch",
        "delete",
        "create",
        "history-instance",
    } <= interactions
    assert {i["code"] for i in statement["rest"][0]["interaction"]} == {
        "transaction",
        "batch",
        "history-system",
    }


def test_the_capability_statement_lists_includes_that_work(fhir: httpx.Client) -> None:
    described = {r["type"]: r for r in fhir.get("/metadata").json()["rest"][0]["resource"]}
    medication_request = described["MedicationRequest"]
    assert "MedicationRequest:subject" in medication_request["searchInclude"]
    assert "MedicationRequest:*" in medication_request["searchInclude"]
    assert "MedicationRequest:subject" in described["Patient"]["searchRevInclude"]
    for include in medication_request["searchInclude"]:
        response = fhir.get("/MedicationRequest", params={"_include": include})
        assert response.status_code == 200, (include, response.text)
    for include in described["Patient"]["searchRevInclude"][:40]:
        response = fhir.get("/Patient", params={"_revinclude": include})
        assert response.status_code == 200, (include, response.text)


def test_last_updated_is_searchable_as_the_capability_statement_says(fhir: httpx.Client) -> None:
    created = fhir.post("/Patient", json={"resourceType": "Patient"}).json()
    stamp = created["meta"]["lastUpdated"]
    day = stamp[:10]
    ids = {
        e["resource"]["id"]
        for e in fhir.get("/Patient", params={"_lastUpdated": day}).json()["entry"]
    }
    assert created["id"] in ids
    assert fhir.get("/Patient", params={"_lastUpdated": f"gt{stamp}"}).json()["entry"] == []
    assert fhir.get("/Patient", params={"_lastUpdated": "lt2000"}).json()["entry"] == []
    assert fhir.get("/Patient", params={"_lastUpdated": "yesterday"}).status_code == 400
