"""The shipped CodeSystems and ValueSets at /fhir: read, search by url, read-only, listed in the
CapabilityStatement; clients' own CodeSystems and ValueSets stored beside them."""

import httpx

from tests.terminology.conftest import ADMIN, DIAGNOSIS, ICD10, outcome


def test_read_the_shipped_code_systems_and_value_sets(fhir: httpx.Client) -> None:
    icd = fhir.get("/CodeSystem/icd-10")
    assert icd.status_code == 200, icd.text
    resource = icd.json()
    assert (resource["url"], resource["content"], resource["hierarchyMeaning"]) == (
        ICD10, "complete", "is-a"
    )  # fmt: skip
    assert resource["count"] == 12542
    chapter = resource["concept"][9]
    assert chapter["code"] == "X"
    assert any(block["code"] == "J40-J47" for block in chapter["concept"])
    summary = fhir.get("/CodeSystem/icd-10", params={"_summary": "true"}).json()
    assert "concept" not in summary and summary["url"] == ICD10
    admin = fhir.get("/CodeSystem/az-admin-division").json()
    assert admin["hierarchyMeaning"] == "part-of" and admin["language"] == "az"
    diagnosis = fhir.get("/ValueSet/icd-10-diagnosis").json()
    assert diagnosis["url"] == DIAGNOSIS
    assert diagnosis["compose"]["include"][0]["filter"] == [
        {"property": "notSelectable", "op": "=", "value": "false"}
    ]
    outcome(fhir.get("/CodeSystem/nope"), 404)


def test_search_by_url_finds_shipped_and_stored_resources(fhir: httpx.Client) -> None:
    found = fhir.get("/CodeSystem", params={"url": ICD10, "_summary": "true"}).json()
    assert found["total"] == 1
    assert found["entry"][0]["fullUrl"].endswith("/CodeSystem/icd-10")
    assert "concept" not in found["entry"][0]["resource"]
    listed = fhir.get("/ValueSet", params={"_summary": "true", "_count": "50"}).json()
    assert {"icd-10-diagnosis", "atc-substance", "icd-10-all", "az-admin-division-all"} <= {
        e["resource"]["id"] for e in listed["entry"]
    }
    named = fhir.get("/CodeSystem", params={"name": "azadmin", "_elements": "url"}).json()
    assert [e["resource"]["url"] for e in named["entry"]] == [ADMIN]
    counted = fhir.get("/ValueSet", params={"_summary": "count"}).json()
    assert counted["total"] >= 6
    # A client's own value set is stored and found beside them.
    mine = {
        "resourceType": "ValueSet",
        "id": "mine",
        "url": "https://clinic.example/vs/x",
        "status": "draft",
    }
    assert fhir.put("/ValueSet/mine", json=mine).status_code == 201
    both = fhir.get(
        "/ValueSet", params={"status": "draft,active", "_summary": "true", "_count": "50"}
    ).json()
    assert "mine" in {e["resource"]["id"] for e in both["entry"]}
    only_mine = fhir.get("/ValueSet", params={"url": "https://clinic.example/vs/x"}).json()
    assert only_mine["total"] == 1
    # A parameter the built-ins cannot be matched on leaves them out.
    assert fhir.get("/CodeSystem", params={"date": "ge2000"}).json()["total"] == 0


def test_the_shipped_resources_are_read_only(fhir: httpx.Client) -> None:
    resource = fhir.get("/ValueSet/icd-10-diagnosis").json()
    assert "built into the server" in outcome(
        fhir.put("/ValueSet/icd-10-diagnosis", json=resource), 405
    )
    outcome(fhir.delete("/CodeSystem/icd-10"), 405)
    patch = [{"op": "replace", "path": "/status", "value": "retired"}]
    outcome(
        fhir.patch(
            "/CodeSystem/atc", json=patch, headers={"Content-Type": "application/json-patch+json"}
        ),
        405,
    )
    copy = {
        "resourceType": "CodeSystem",
        "url": ICD10,
        "status": "active",
        "content": "not-present",
    }
    assert "built-in CodeSystem" in outcome(fhir.post("/CodeSystem", json=copy), 422)
    # Nor in a transaction, which writes without the router's checks of each URL.
    mine = {"resourceType": "CodeSystem", "id": "atc", "url": "urn:mine", "status": "active",
            "content": "not-present"}  # fmt: skip
    entry = {"resource": mine, "request": {"method": "PUT", "url": "CodeSystem/atc"}}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [entry]}
    assert "built into the server" in outcome(fhir.post("", json=bundle), 422)
    assert fhir.get("/CodeSystem/icd-10").status_code == 200


def test_the_capability_statement_lists_the_operations(fhir: httpx.Client) -> None:
    statement = fhir.get("/metadata").json()
    by_type = {r["type"]: r for r in statement["rest"][0]["resource"]}
    assert {op["name"] for op in by_type["CodeSystem"]["operation"]} >= {"lookup", "validate-code"}
    assert {op["name"] for op in by_type["ValueSet"]["operation"]} >= {"expand", "validate-code"}
    expand = next(op for op in by_type["ValueSet"]["operation"] if op["name"] == "expand")
    assert expand["definition"] == "http://hl7.org/fhir/OperationDefinition/ValueSet-expand"
