"""Helpers of the terminology tests, and the guarded server for the access tests."""

import httpx

from tests.security.conftest import guarded, guarded_server  # noqa: F401 (fixtures)

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ATC = "http://www.whocc.no/atc"
UCUM = "http://unitsofmeasure.org"
ADMIN = "https://fhir.shafa.az/CodeSystem/az-admin-division"
DIAGNOSIS = "https://fhir.shafa.az/ValueSet/icd-10-diagnosis"


def outcome(response: httpx.Response, status: int) -> str:
    """Assert an OperationOutcome with this status; its first diagnostics."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return str(body["issue"][0]["diagnostics"])


def parameter(parameters: dict, name: str) -> object:
    """The value of a Parameters resource's first parameter of that name."""
    for p in parameters["parameter"]:
        if p["name"] == name:
            return next(v for k, v in p.items() if k.startswith("value"))
    raise AssertionError(f"no parameter {name} in {parameters}")


def properties(parameters: dict) -> list[tuple[str, object]]:
    """(code, value) of every property of a $lookup answer."""
    found = []
    for p in parameters["parameter"]:
        if p["name"] == "property":
            parts = {part["name"]: part for part in p["part"]}
            value = next(v for k, v in parts["value"].items() if k.startswith("value"))
            found.append((parts["code"]["valueCode"], value))
    return found


def codes(expansion: dict) -> list[str]:
    """The codes an expanded ValueSet contains, in order."""
    return [c["code"] for c in expansion["expansion"].get("contains", [])]
