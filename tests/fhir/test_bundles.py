"""Transactions and batches POSTed to the FHIR base, as FHIR R4 (http.html#transaction, bundle.html)
describes them: one behaviour a test, over real HTTP.
"""

import base64
import json
import re
from typing import Any

import httpx
import pytest

IDENT = "http://example.org/fhir/mrn"
NS = "urn:uuid:8d5f0d6e-6b53-4b2a-9c1e-0000000000"  # + two digits: a urn:uuid fullUrl


# --- helpers ---------------------------------------------------------------------------------


def uuid(n: int) -> str:
    return f"{NS}{n:02d}"


def patient(mrn: str | None = None, **fields: Any) -> dict[str, Any]:
    resource: dict[str, Any] = {"resourceType": "Patient", "name": [{"family": "Mammadova"}]}
    if mrn is not None:
        resource["identifier"] = [{"system": IDENT, "value": mrn}]
    return resource | fields


def observation(subject: str, **fields: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "heart rate"},
        "subject": {"reference": subject},
        "valueQuantity": {"value": 72, "unit": "/min"},
    } | fields


def post_entry(resource: dict[str, Any], full_url: str | None = None, **request: str) -> Any:
    entry: dict[str, Any] = {
        "resource": resource,
        "request": {"method": "POST", "url": resource["resourceType"]} | request,
    }
    if full_url:
        entry["fullUrl"] = full_url
    return entry


def bundle(kind: str, *entries: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def send(fhir: httpx.Client, kind: str, *entries: dict[str, Any]) -> httpx.Response:
    return fhir.post("", json=bundle(kind, *entries))


def committed(fhir: httpx.Client, kind: str, *entries: dict[str, Any]) -> list[dict[str, Any]]:
    """Send a bundle that must succeed; the response entries."""
    response = send(fhir, kind, *entries)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "Bundle"
    assert body["type"] == f"{kind}-response"
    assert len(body["entry"]) == len(entries)
    return body["entry"]


def create(fhir: httpx.Client, resource: dict[str, Any]) -> dict[str, Any]:
    response = fhir.post(f"/{resource['resourceType']}", json=resource)
    assert response.status_code == 201, response.text
    return response.json()


def read(fhir: httpx.Client, reference: str) -> dict[str, Any]:
    response = fhir.get(f"/{reference}")
    assert response.status_code == 200, response.text
    return response.json()


def located(entry: dict[str, Any]) -> tuple[str, str, str]:
    """(type, id, version) from an entry's response.location (relative or absolute)."""
    location = entry["response"]["location"]
    match = re.search(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})/_history/([^/]+)$", location)
    assert match, location
    return match.group(1), match.group(2), match.group(3)


def status(entry: dict[str, Any]) -> int:
    """The code at the start of an entry's response.status ("201 Created" gives 201)."""
    return int(entry["response"]["status"].split()[0])


def versions(fhir: httpx.Client) -> int:
    """How many resource versions the whole server holds (system history, every page)."""
    total = 0
    response = fhir.get("/_history", params={"_count": 100})
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        total += len(page.get("entry", []))
        following = [link["url"] for link in page.get("link", []) if link["relation"] == "next"]
        if not following:
            return total
        response = fhir.get(following[0])


def failure(response: httpx.Response, *mentions: str) -> dict[str, Any]:
    """A 4xx answer carrying an OperationOutcome whose error issues name each of `mentions`."""
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    errors = [i for i in body["issue"] if i["severity"] in ("error", "fatal")]
    assert errors, body
    said = json.dumps([[i.get("expression"), i.get("diagnostics")] for i in errors])
    for mention in mentions:
        assert mention in said, (mention, body)
    return body


# --- transactions -----------------------------------------------------------------------------


def test_transaction_posts_are_linked_through_their_urn_uuid_full_urls(fhir: httpx.Client) -> None:
    # The observation comes first and points at a patient and an encounter listed after it.
    entries = committed(
        fhir,
        "transaction",
        post_entry(
            observation(
                uuid(1),
                encounter={"reference": uuid(2)},
                extension=[
                    {
                        "url": "http://example.org/fhir/StructureDefinition/seen-by",
                        "valueReference": {"reference": uuid(1)},
                    }
                ],
            ),
            uuid(3),
        ),
        post_entry(patient("T1"), uuid(1)),
        post_entry(
            {
                "resourceType": "Encounter",
                "status": "finished",
                "class": {
                    "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                    "code": "AMB",
                },
                "subject": {"reference": uuid(1)},
            },
            uuid(2),
        ),
    )

    assert [status(e) for e in entries] == [201, 201, 201]
    assert all(e["response"]["status"].startswith("201 Created") for e in entries)
    (obs_type, obs_id, obs_v), (pat_type, pat_id, pat_v), (enc_type, enc_id, enc_v) = [
        located(e) for e in entries
    ]
    assert (obs_type, pat_type, enc_type) == ("Observation", "Patient", "Encounter")
    assert obs_v == pat_v == enc_v == "1"
    stored = read(fhir, f"Observation/{obs_id}")
    assert stored["subject"]["reference"] == f"Patient/{pat_id}"
    assert stored["encounter"]["reference"] == f"Encounter/{enc_id}"
    assert stored["extension"][0]["valueReference"]["reference"] == f"Patient/{pat_id}"
    assert read(fhir, f"Encounter/{enc_id}")["subject"]["reference"] == f"Patient/{pat_id}"
    assert read(fhir, f"Patient/{pat_id}")["identifier"][0]["value"] == "T1"
    assert "urn:uuid" not in json.dumps(stored)


def test_transaction_put_delete_patch_and_get_entries(fhir: httpx.Client) -> None:
    kept = create(fhir, patient("KEEP"))
    doomed = create(fhir, patient("DOOMED"))
    patched = create(fhir, patient("PATCHED", gender="male"))
    ops = [{"op": "replace", "path": "/gender", "value": "female"}]
    binary = {
        "resourceType": "Binary",
        "contentType": "application/json-patch+json",
        "data": base64.b64encode(json.dumps(ops).encode()).decode(),
    }

    entries = committed(
        fhir,
        "transaction",
        {
            "fullUrl": f"Patient/{kept['id']}",
            "resource": kept | {"active": True},
            "request": {"method": "PUT", "url": f"Patient/{kept['id']}"},
        },
        {"request": {"method": "DELETE", "url": f"Patient/{doomed['id']}"}},
        {"resource": binary, "request": {"method": "PATCH", "url": f"Patient/{patched['id']}"}},
        {"request": {"method": "GET", "url": f"Patient/{patched['id']}"}},
        {
            "resource": patient(id="brand-new"),
            "request": {"method": "PUT", "url": "Patient/brand-new"},
        },
    )

    assert [status(e) for e in entries[:1]] == [200]
    assert status(entries[1]) in (200, 204)
    assert status(entries[2]) == 200
    assert status(entries[3]) == 200
    assert status(entries[4]) == 201
    assert entries[3]["resource"]["gender"] == "female"  # the GET ran after the PATCH
    assert read(fhir, f"Patient/{kept['id']}")["active"] is True
    assert read(fhir, f"Patient/{kept['id']}")["meta"]["versionId"] == "2"
    assert fhir.get(f"/Patient/{doomed['id']}").status_code == 410
    assert read(fhir, f"Patient/{patched['id']}")["gender"] == "female"
    assert read(fhir, "Patient/brand-new")["meta"]["versionId"] == "1"


def test_a_get_in_a_transaction_sees_what_the_posts_created(fhir: httpx.Client) -> None:
    entries = committed(
        fhir,
        "transaction",
        {"request": {"method": "GET", "url": f"Patient?identifier={IDENT}|ORDER"}},
        post_entry(patient("ORDER"), uuid(1)),
    )

    assert status(entries[0]) == 200
    assert status(entries[1]) == 201
    found = entries[0]["resource"]
    assert found["resourceType"] == "Bundle"
    assert found["type"] == "searchset"
    _, pid, _ = located(entries[1])
    assert [e["resource"]["id"] for e in found.get("entry", [])] == [pid]


def test_a_get_in_a_transaction_sees_what_a_later_listed_put_wrote(fhir: httpx.Client) -> None:
    existing = create(fhir, patient("P"))

    entries = committed(
        fhir,
        "transaction",
        {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}},
        {
            "resource": existing | {"gender": "other"},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
        },
    )

    assert entries[0]["resource"]["gender"] == "other"
    assert entries[0]["resource"]["meta"]["versionId"] == "2"


def test_deletes_run_before_posts_in_a_transaction(fhir: httpx.Client) -> None:
    old = create(fhir, patient("SWAP"))

    # The conditional create is listed first, but the delete runs first: nothing matches then.
    entries = committed(
        fhir,
        "transaction",
        post_entry(
            patient("SWAP", gender="female"), uuid(1), ifNoneExist=f"identifier={IDENT}|SWAP"
        ),
        {"request": {"method": "DELETE", "url": f"Patient/{old['id']}"}},
    )

    assert status(entries[0]) == 201
    _, new_id, _ = located(entries[0])
    assert new_id != old["id"]
    assert fhir.get(f"/Patient/{old['id']}").status_code == 410
    assert read(fhir, f"Patient/{new_id}")["gender"] == "female"


def test_conditional_create_in_a_transaction_reuses_the_match(fhir: httpx.Client) -> None:
    existing = create(fhir, patient("CC1"))

    entries = committed(
        fhir,
        "transaction",
        post_entry(patient("CC1", gender="male"), uuid(1), ifNoneExist=f"identifier={IDENT}|CC1"),
        post_entry(observation(uuid(1)), uuid(2)),
    )

    assert status(entries[0]) == 200
    assert status(entries[1]) == 201
    _, obs_id, _ = located(entries[1])
    assert (
        read(fhir, f"Observation/{obs_id}")["subject"]["reference"] == f"Patient/{existing['id']}"
    )
    assert read(fhir, f"Patient/{existing['id']}") == existing
    assert versions(fhir) == 2  # the existing patient and the new observation


def test_a_conditional_reference_resolves_to_its_one_match(fhir: httpx.Client) -> None:
    target = create(fhir, patient("REF1"))
    create(fhir, patient("REF2"))

    entries = committed(
        fhir,
        "transaction",
        post_entry(observation(f"Patient?identifier={IDENT}|REF1"), uuid(1)),
    )

    _, obs_id, _ = located(entries[0])
    assert read(fhir, f"Observation/{obs_id}")["subject"]["reference"] == f"Patient/{target['id']}"


@pytest.mark.parametrize("matches", [0, 2], ids=["no-match", "two-matches"])
def test_a_conditional_reference_without_exactly_one_match_fails_the_transaction(
    fhir: httpx.Client, matches: int
) -> None:
    for _ in range(matches):
        create(fhir, patient("AMBIG"))

    response = send(
        fhir,
        "transaction",
        post_entry(patient("BYSTANDER"), uuid(1)),
        post_entry(observation(f"Patient?identifier={IDENT}|AMBIG"), uuid(2)),
    )

    failure(response)
    assert versions(fhir) == matches


def test_two_entries_for_the_same_resource_fail_the_transaction(fhir: httpx.Client) -> None:
    response = send(
        fhir,
        "transaction",
        {"resource": patient(id="twice"), "request": {"method": "PUT", "url": "Patient/twice"}},
        {
            "resource": patient(id="twice", gender="male"),
            "request": {"method": "PUT", "url": "Patient/twice"},
        },
    )

    failure(response)
    assert versions(fhir) == 0


def third_entry_schema_error(existing: dict[str, Any]) -> dict[str, Any]:
    return post_entry(patient("BAD", birthDate="1990-13-45"), uuid(3))


def third_entry_unknown_urn(existing: dict[str, Any]) -> dict[str, Any]:
    return post_entry(observation("urn:uuid:00000000-0000-4000-8000-00000000dead"), uuid(3))


def third_entry_stale_if_match(existing: dict[str, Any]) -> dict[str, Any]:
    return {
        "resource": existing | {"gender": "female"},
        "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"7"'},
    }


@pytest.mark.parametrize(
    "third",
    [third_entry_schema_error, third_entry_unknown_urn, third_entry_stale_if_match],
    ids=["schema-error", "unknown-urn-uuid", "stale-if-match"],
)
def test_a_transaction_with_one_bad_entry_writes_nothing(fhir: httpx.Client, third: Any) -> None:
    existing = create(fhir, patient("EXISTS"))
    doomed = create(fhir, patient("DOOMED"))

    response = send(
        fhir,
        "transaction",
        post_entry(patient("NEW1"), uuid(1)),
        post_entry(observation(uuid(1)), uuid(2)),
        third(existing),
        {"request": {"method": "DELETE", "url": f"Patient/{doomed['id']}"}},
        {
            "resource": existing | {"active": True},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}"},
        }
        if third is not third_entry_stale_if_match
        else post_entry(patient("NEW2"), uuid(4)),
    )

    failure(response)
    assert versions(fhir) == 2
    assert read(fhir, f"Patient/{existing['id']}") == existing
    assert read(fhir, f"Patient/{doomed['id']}") == doomed
    failure(response, "Bundle.entry[2]")  # the outcome says which entry failed


# --- batches ----------------------------------------------------------------------------------


def test_a_batch_answers_each_entry_on_its_own(fhir: httpx.Client) -> None:
    existing = create(fhir, patient("B0"))

    entries = committed(
        fhir,
        "batch",
        post_entry(patient("B1")),
        {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
        {
            "resource": patient(id="batch-put"),
            "request": {"method": "PUT", "url": "Patient/batch-put"},
        },
        {
            "resource": existing | {"active": True},
            "request": {"method": "PUT", "url": f"Patient/{existing['id']}", "ifMatch": 'W/"9"'},
        },
        {"request": {"method": "GET", "url": f"Patient/{existing['id']}"}},
    )

    assert status(entries[0]) == 201
    assert status(entries[1]) == 404
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert status(entries[2]) == 201
    assert status(entries[3]) == 412
    assert entries[3]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert status(entries[4]) == 200
    assert entries[4]["resource"] == existing
    _, new_id, _ = located(entries[0])
    assert read(fhir, f"Patient/{new_id}")["identifier"][0]["value"] == "B1"
    assert read(fhir, "Patient/batch-put")["id"] == "batch-put"
    assert read(fhir, f"Patient/{existing['id']}") == existing
    assert versions(fhir) == 3


def test_an_invalid_resource_in_a_batch_fails_only_its_own_entry(fhir: httpx.Client) -> None:
    entries = committed(
        fhir,
        "batch",
        post_entry(patient("B1")),
        post_entry(patient("B2", gender="not-a-gender")),
        post_entry(patient("B3")),
    )

    assert status(entries[0]) == 201
    assert status(entries[1]) in (400, 422)
    assert entries[1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert "gender" in json.dumps(entries[1]["response"]["outcome"])
    assert status(entries[2]) == 201
    assert versions(fhir) == 2


# --- other bundles at the base ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["collection", "document"])
def test_a_bundle_that_is_no_transaction_or_batch_is_refused_at_the_base(
    fhir: httpx.Client, kind: str
) -> None:
    response = send(fhir, kind, {"fullUrl": uuid(1), "resource": patient("C")})

    failure(response)
    assert response.status_code in (400, 422)
    assert versions(fhir) == 0


def test_a_resource_that_is_no_bundle_is_refused_at_the_base(fhir: httpx.Client) -> None:
    response = fhir.post("", json=patient("NOTBUNDLE"))

    failure(response)
    assert versions(fhir) == 0
