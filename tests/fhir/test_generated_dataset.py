"""A generated clinical data set of many patients, loaded through transactions, hangs together."""

import json
from collections import Counter

import httpx

from shafa.synthetic import clinical

PATIENTS = 120


def load(fhir: httpx.Client) -> list[dict]:
    """Post the data set as transaction Bundles; return every resource sent."""
    sent = []
    for bundle in clinical.transaction_bundles(PATIENTS, per_bundle=250, seed=3):
        response = fhir.post("", content=json.dumps(bundle))
        assert response.status_code == 200, response.text[:500]
        statuses = {e["response"]["status"] for e in response.json()["entry"]}
        assert statuses <= {"201 Created", "200 OK"}
        sent.extend(e["resource"] for e in bundle["entry"])
    return sent


def test_every_resource_is_stored_and_every_reference_resolves(fhir: httpx.Client) -> None:
    sent = load(fhir)
    by_type = Counter(r["resourceType"] for r in sent)
    assert by_type["Patient"] == PATIENTS

    for res_type, count in by_type.items():
        found = fhir.get(f"/{res_type}", params={"_count": 0}).json()
        assert found["total"] == count, res_type

    stored = {f"{r['resourceType']}/{r['id']}" for r in sent}
    references = {
        value
        for r in sent
        for key in ("subject", "encounter")
        if (value := (r.get(key) or {}).get("reference"))
    }
    assert references and references <= stored
    for reference in sorted(references)[:40]:
        assert fhir.get(f"/{reference}").status_code == 200


def test_a_patients_records_are_found_by_reference_and_identifier(fhir: httpx.Client) -> None:
    sent = load(fhir)
    patient = next(r for r in sent if r["resourceType"] == "Patient")
    fin = patient["identifier"][0]["value"]
    reference = f"Patient/{patient['id']}"
    own = [r for r in sent if (r.get("subject") or {}).get("reference") == reference]

    by_fin = fhir.get("/Patient", params={"identifier": f"{clinical.FIN_SYSTEM}|{fin}"}).json()
    assert [e["resource"]["id"] for e in by_fin["entry"]] == [patient["id"]]

    for res_type in ("Encounter", "Observation", "MedicationRequest"):
        expected = sorted(r["id"] for r in own if r["resourceType"] == res_type)
        result = fhir.get(f"/{res_type}", params={"subject": reference}).json()
        assert sorted(e["resource"]["id"] for e in result["entry"]) == expected


def test_loading_the_same_data_again_changes_nothing(fhir: httpx.Client) -> None:
    load(fhir)
    before = fhir.get("/_history", params={"_count": 0}).json()["total"]
    load(fhir)
    after = fhir.get("/_history", params={"_count": 0}).json()["total"]
    assert after == before
    patient = fhir.get(f"/Patient/{clinical.patient_id(1)}").json()
    assert patient["meta"]["versionId"] == "1"
