"""The FHIR R4 RESTful API as the specification (http.html) describes it, over real HTTP.

Each test tells one story: what a client does, what the server must answer (status, headers,
body), and, for a request the server must refuse, that nothing was written.
"""

import json
import re
import time
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

ID_RE = re.compile(r"[A-Za-z0-9\-.]{1,64}")
IDENT = "http://example.org/fhir/mrn"


# --- helpers ---------------------------------------------------------------------------------


def patient(**fields: Any) -> dict[str, Any]:
    """A small valid Patient."""
    return {"resourceType": "Patient", "name": [{"family": "Aliyev", "given": ["Murad"]}]} | fields


def with_mrn(value: str, **fields: Any) -> dict[str, Any]:
    """A Patient carrying the identifier IDENT|value."""
    return patient(identifier=[{"system": IDENT, "value": value}], **fields)


def create(fhir: httpx.Client, resource: dict[str, Any]) -> dict[str, Any]:
    """POST a resource that must be accepted; the stored resource."""
    response = fhir.post(f"/{resource['resourceType']}", json=resource)
    assert response.status_code == 201, response.text
    return response.json()


def put(fhir: httpx.Client, resource: dict[str, Any], **headers: str) -> httpx.Response:
    """PUT a resource (which carries its id) to its own URL."""
    return fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource, headers=headers)


def pages(fhir: httpx.Client, url: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a Bundle, following the `next` links to the end."""
    found = []
    response = fhir.get(url, params=params)
    for _ in range(1000):
        assert response.status_code == 200, response.text
        bundle = response.json()
        assert bundle["resourceType"] == "Bundle"
        found.append(bundle)
        following = [link["url"] for link in bundle.get("link", []) if link["relation"] == "next"]
        if not following:
            return found
        response = fhir.get(following[0])
    raise AssertionError("the next links never end")


def history(fhir: httpx.Client, url: str = "/_history", **params: Any) -> list[dict[str, Any]]:
    """Every entry of a history, all pages."""
    return [entry for page in pages(fhir, url, **params) for entry in page.get("entry", [])]


def version_of(entry: dict[str, Any]) -> tuple[str, str]:
    """(Type/id, versionId) of a history entry; a deletion's from its request and response."""
    if "resource" in entry:
        resource = entry["resource"]
        return f"{resource['resourceType']}/{resource['id']}", resource["meta"]["versionId"]
    url = entry["request"]["url"]
    match = re.search(r"([A-Za-z]+/[A-Za-z0-9\-.]+)(?:/_history/([A-Za-z0-9\-.]+))?$", url)
    assert match, url
    if match.group(2):
        return match.group(1), match.group(2)
    etag = re.fullmatch(r'W/"(.+)"', entry.get("response", {}).get("etag", ""))
    assert etag, entry
    return match.group(1), etag.group(1)


def nothing_written(fhir: httpx.Client) -> None:
    """The database holds no version of any resource."""
    assert history(fhir) == []


def outcome(response: httpx.Response, statuses: set[int], *mentions: str) -> dict[str, Any]:
    """The response is an error with one of `statuses` and an OperationOutcome whose error issues
    name each of `mentions` in their expression, location or diagnostics."""
    assert response.status_code in statuses, (response.status_code, response.text)
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    errors = [i for i in body["issue"] if i["severity"] in ("error", "fatal")]
    assert errors, body
    said = json.dumps(
        [[i.get("expression"), i.get("location"), i.get("diagnostics")] for i in errors]
    ).lower()
    for mention in mentions:
        assert mention.lower() in said, (mention, body)
    return body


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# --- create -----------------------------------------------------------------------------------


def test_create_assigns_an_id_and_version_one_and_says_where(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", json=patient(gender="male"))

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["resourceType"] == "Patient"
    assert body["gender"] == "male"
    assert ID_RE.fullmatch(body["id"])
    assert body["meta"]["versionId"] == "1"
    assert response.headers["Location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert response.headers["Location"].startswith("http")
    assert response.headers["ETag"] == 'W/"1"'
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    updated = instant(body["meta"]["lastUpdated"])
    assert abs((updated - modified).total_seconds()) < 1


def test_create_ignores_the_id_and_meta_the_client_sent(fhir: httpx.Client) -> None:
    sent = patient(
        id="chosen-by-client",
        meta={"versionId": "42", "lastUpdated": "2001-01-01T00:00:00Z"},
    )

    body = create(fhir, sent)

    assert body["id"] != "chosen-by-client"
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert instant(body["meta"]["lastUpdated"]).year >= 2024
    assert fhir.get("/Patient/chosen-by-client").status_code == 404
    assert fhir.get(f"/Patient/{body['id']}").json()["meta"]["versionId"] == "1"


def test_create_of_an_official_example_keeps_every_element(
    fhir: httpx.Client, examples_dir: Path
) -> None:
    sent = json.loads((examples_dir / "patient-example.json").read_text())

    body = create(fhir, sent)

    for key, value in sent.items():
        if key not in ("id", "meta"):
            assert body[key] == value, key


# --- read and vread ---------------------------------------------------------------------------


def test_read_returns_the_current_version_with_its_etag(fhir: httpx.Client) -> None:
    created = create(fhir, patient(birthDate="1980-02-29"))

    response = fhir.get(f"/Patient/{created['id']}")

    assert response.status_code == 200
    assert response.json() == created
    assert response.headers["ETag"] == 'W/"1"'
    assert "Last-Modified" in response.headers
    assert response.headers["Content-Type"].startswith("application/fhir+json")


def test_read_of_an_unknown_id_is_404(fhir: httpx.Client) -> None:
    response = fhir.get("/Patient/never-was")

    outcome(response, {404})


def test_vread_returns_an_old_version_after_an_update(fhir: httpx.Client) -> None:
    first = create(fhir, patient(gender="male"))
    assert put(fhir, first | {"gender": "female"}).status_code == 200

    old = fhir.get(f"/Patient/{first['id']}/_history/1")
    new = fhir.get(f"/Patient/{first['id']}/_history/2")

    assert old.status_code == 200
    assert old.json() == first
    assert old.headers["ETag"] == 'W/"1"'
    assert new.json()["gender"] == "female"
    assert new.headers["ETag"] == 'W/"2"'
    assert fhir.get(f"/Patient/{first['id']}/_history/3").status_code == 404


# --- update -----------------------------------------------------------------------------------


def test_update_makes_version_two(fhir: httpx.Client) -> None:
    first = create(fhir, patient())

    response = put(fhir, first | {"active": True})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == first["id"]
    assert body["active"] is True
    assert body["meta"]["versionId"] == "2"
    assert response.headers["ETag"] == 'W/"2"'
    assert "Last-Modified" in response.headers
    assert instant(body["meta"]["lastUpdated"]) >= instant(first["meta"]["lastUpdated"])
    assert fhir.get(f"/Patient/{first['id']}").json() == body


def test_update_with_a_new_client_id_creates_the_resource(fhir: httpx.Client) -> None:
    response = put(fhir, patient(id="client-picked-1"))

    assert response.status_code == 201, response.text
    assert response.json()["id"] == "client-picked-1"
    assert response.json()["meta"]["versionId"] == "1"
    assert response.headers["ETag"] == 'W/"1"'
    assert fhir.get("/Patient/client-picked-1").status_code == 200


def test_ids_of_letters_digits_dashes_and_dots_up_to_64_are_accepted(fhir: httpx.Client) -> None:
    for good_id in ("a.b-C.9", "x" * 64, "1", "A-Za.z0-9"):
        response = put(fhir, patient(id=good_id))

        assert response.status_code == 201, (good_id, response.text)
        assert fhir.get(f"/Patient/{good_id}").json()["id"] == good_id


def test_ids_outside_the_id_grammar_are_refused(fhir: httpx.Client) -> None:
    for bad_id in ("x" * 65, "a_b", "a b", "a:b"):
        response = fhir.put(f"/Patient/{bad_id}", json=patient(id=bad_id))

        outcome(response, {400, 422}, "id")
    nothing_written(fhir)


def test_update_with_an_id_that_differs_from_the_url_is_refused(fhir: httpx.Client) -> None:
    first = create(fhir, patient())

    response = fhir.put(f"/Patient/{first['id']}", json=first | {"id": "someone-else"})

    outcome(response, {400}, "id")
    assert fhir.get(f"/Patient/{first['id']}").json() == first
    assert fhir.get("/Patient/someone-else").status_code == 404


def test_update_without_an_id_in_the_body_is_refused(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    body = {k: v for k, v in first.items() if k != "id"} | {"active": False}

    response = fhir.put(f"/Patient/{first['id']}", json=body)

    outcome(response, {400}, "id")
    assert fhir.get(f"/Patient/{first['id']}").json() == first


# --- delete -----------------------------------------------------------------------------------


def test_delete_leaves_a_tombstone_in_history_and_410_on_read(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    pid = first["id"]

    deleted = fhir.delete(f"/Patient/{pid}")

    assert deleted.status_code in (200, 204), deleted.text
    read = fhir.get(f"/Patient/{pid}")
    assert read.status_code == 410
    entries = history(fhir, f"/Patient/{pid}/_history")
    assert len(entries) == 2
    assert entries[0]["request"]["method"] == "DELETE"  # newest first
    assert "resource" not in entries[0]
    assert version_of(entries[0]) == (f"Patient/{pid}", "2")
    assert entries[1]["resource"] == first
    assert fhir.get(f"/Patient/{pid}/_history/1").json() == first


def test_a_deleted_resource_comes_back_with_a_put(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    pid = first["id"]
    assert fhir.delete(f"/Patient/{pid}").status_code in (200, 204)

    response = put(fhir, patient(id=pid, gender="other"))

    assert response.status_code in (200, 201), response.text
    again = fhir.get(f"/Patient/{pid}")
    assert again.status_code == 200
    assert again.json()["gender"] == "other"
    assert again.json()["meta"]["versionId"] not in ("1", "2")
    assert len(history(fhir, f"/Patient/{pid}/_history")) == 3
    assert fhir.get(f"/Patient/{pid}/_history/1").json() == first


def test_deleting_a_deleted_resource_again_has_no_effect(fhir: httpx.Client) -> None:
    pid = create(fhir, patient())["id"]
    assert fhir.delete(f"/Patient/{pid}").status_code in (200, 204)

    again = fhir.delete(f"/Patient/{pid}")

    assert again.status_code in (200, 204)
    assert fhir.get(f"/Patient/{pid}").status_code == 410
    assert len(history(fhir, f"/Patient/{pid}/_history")) == 2


def test_vread_of_the_deletion_version_is_gone(fhir: httpx.Client) -> None:
    pid = create(fhir, patient())["id"]
    assert fhir.delete(f"/Patient/{pid}").status_code in (200, 204)

    response = fhir.get(f"/Patient/{pid}/_history/2")

    assert response.status_code in (404, 410)


def test_delete_of_a_resource_that_never_existed_is_harmless(fhir: httpx.Client) -> None:
    response = fhir.delete("/Patient/never-was")

    assert response.status_code in (200, 204, 404)
    assert fhir.get("/Patient/never-was").status_code == 404
    nothing_written(fhir)


# --- patch ------------------------------------------------------------------------------------


def json_patch(fhir: httpx.Client, url: str, ops: list[Any], **headers: str) -> httpx.Response:
    return fhir.patch(
        url,
        content=json.dumps(ops),
        headers={"Content-Type": "application/json-patch+json", **headers},
    )


def test_json_patch_changes_the_resource_and_makes_a_new_version(fhir: httpx.Client) -> None:
    first = create(fhir, patient(gender="male"))
    ops = [
        {"op": "replace", "path": "/gender", "value": "female"},
        {"op": "add", "path": "/birthDate", "value": "1975-05-05"},
        {"op": "remove", "path": "/name/0/given"},
    ]

    response = json_patch(fhir, f"/Patient/{first['id']}", ops)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["gender"] == "female"
    assert body["birthDate"] == "1975-05-05"
    assert body["name"] == [{"family": "Aliyev"}]
    assert body["meta"]["versionId"] == "2"
    assert response.headers["ETag"] == 'W/"2"'
    assert fhir.get(f"/Patient/{first['id']}").json() == body


def test_a_patch_that_would_make_the_resource_invalid_changes_nothing(fhir: httpx.Client) -> None:
    first = create(fhir, patient(gender="male"))

    response = json_patch(
        fhir, f"/Patient/{first['id']}", [{"op": "replace", "path": "/gender", "value": "banana"}]
    )

    outcome(response, {400, 422}, "gender")
    assert fhir.get(f"/Patient/{first['id']}").json() == first
    assert len(history(fhir)) == 1


def test_a_patch_whose_test_op_fails_changes_nothing(fhir: httpx.Client) -> None:
    first = create(fhir, patient(gender="male"))
    ops = [
        {"op": "test", "path": "/gender", "value": "female"},
        {"op": "replace", "path": "/gender", "value": "other"},
    ]

    response = json_patch(fhir, f"/Patient/{first['id']}", ops)

    outcome(response, {400, 409, 412, 422})
    assert fhir.get(f"/Patient/{first['id']}").json() == first


# --- If-Match (version-aware updates) ---------------------------------------------------------


def test_update_with_the_current_etag_in_if_match_succeeds(fhir: httpx.Client) -> None:
    first = create(fhir, patient())

    response = put(fhir, first | {"active": True}, **{"If-Match": 'W/"1"'})

    assert response.status_code == 200, response.text
    assert response.json()["meta"]["versionId"] == "2"


def test_update_with_a_stale_etag_is_412_and_changes_nothing(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    second = put(fhir, first | {"active": True}).json()

    response = put(fhir, first | {"active": False}, **{"If-Match": 'W/"1"'})

    outcome(response, {412})
    assert fhir.get(f"/Patient/{first['id']}").json() == second
    assert len(history(fhir)) == 2


def test_delete_and_patch_with_a_stale_etag_are_412(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    second = put(fhir, first | {"active": True}).json()
    url = f"/Patient/{first['id']}"

    deleting = fhir.delete(url, headers={"If-Match": 'W/"1"'})
    patching = json_patch(fhir, url, [{"op": "remove", "path": "/active"}], **{"If-Match": 'W/"1"'})

    outcome(deleting, {412})
    outcome(patching, {412})
    assert fhir.get(url).json() == second


def test_an_if_match_that_is_no_etag_is_refused(fhir: httpx.Client) -> None:
    first = create(fhir, patient())

    response = put(fhir, first | {"active": True}, **{"If-Match": "not an etag"})

    outcome(response, {400, 412}, "If-Match")
    assert fhir.get(f"/Patient/{first['id']}").json() == first


# --- conditional read -------------------------------------------------------------------------


def test_read_with_the_current_etag_in_if_none_match_is_304(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    url = f"/Patient/{first['id']}"

    unchanged = fhir.get(url, headers={"If-None-Match": 'W/"1"'})
    put(fhir, first | {"active": True})
    changed = fhir.get(url, headers={"If-None-Match": 'W/"1"'})

    assert unchanged.status_code == 304
    assert unchanged.content == b""
    assert changed.status_code == 200
    assert changed.json()["meta"]["versionId"] == "2"


# --- conditional create -----------------------------------------------------------------------


def conditional_post(fhir: httpx.Client, resource: dict[str, Any], query: str) -> httpx.Response:
    return fhir.post("/Patient", json=resource, headers={"If-None-Exist": query})


def test_conditional_create_with_no_match_creates(fhir: httpx.Client) -> None:
    response = conditional_post(fhir, with_mrn("A1"), f"identifier={IDENT}|A1")

    assert response.status_code == 201, response.text
    assert response.json()["identifier"][0]["value"] == "A1"
    assert len(history(fhir)) == 1


def test_conditional_create_with_one_match_returns_200_and_creates_nothing(
    fhir: httpx.Client,
) -> None:
    existing = create(fhir, with_mrn("A1"))

    response = conditional_post(fhir, with_mrn("A1", gender="male"), f"identifier={IDENT}|A1")

    assert response.status_code == 200, response.text
    assert len(history(fhir)) == 1
    assert fhir.get(f"/Patient/{existing['id']}").json() == existing


def test_conditional_create_with_two_matches_is_412_and_creates_nothing(
    fhir: httpx.Client,
) -> None:
    create(fhir, with_mrn("A1"))
    create(fhir, with_mrn("A1"))

    response = conditional_post(fhir, with_mrn("A1"), f"identifier={IDENT}|A1")

    outcome(response, {412})
    assert len(history(fhir)) == 2


# --- conditional update -----------------------------------------------------------------------


def conditional_put(fhir: httpx.Client, resource: dict[str, Any], value: str) -> httpx.Response:
    return fhir.put("/Patient", params={"identifier": f"{IDENT}|{value}"}, json=resource)


def test_conditional_update_with_no_match_creates(fhir: httpx.Client) -> None:
    response = conditional_put(fhir, with_mrn("B1"), "B1")

    assert response.status_code == 201, response.text
    body = response.json()
    assert ID_RE.fullmatch(body["id"])
    assert fhir.get(f"/Patient/{body['id']}").json() == body


def test_conditional_update_with_one_match_updates_it(fhir: httpx.Client) -> None:
    other = create(fhir, with_mrn("OTHER"))
    target = create(fhir, with_mrn("B1"))

    response = conditional_put(fhir, with_mrn("B1", gender="female"), "B1")

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == target["id"]
    assert body["gender"] == "female"
    assert body["meta"]["versionId"] == "2"
    assert fhir.get(f"/Patient/{other['id']}").json() == other
    assert len(history(fhir)) == 3


def test_conditional_update_with_many_matches_is_412_and_changes_nothing(
    fhir: httpx.Client,
) -> None:
    one = create(fhir, with_mrn("B1"))
    two = create(fhir, with_mrn("B1"))

    response = conditional_put(fhir, with_mrn("B1", gender="female"), "B1")

    outcome(response, {412})
    assert fhir.get(f"/Patient/{one['id']}").json() == one
    assert fhir.get(f"/Patient/{two['id']}").json() == two
    assert len(history(fhir)) == 2


# --- conditional delete -----------------------------------------------------------------------


def conditional_delete(fhir: httpx.Client, value: str) -> httpx.Response:
    return fhir.delete("/Patient", params={"identifier": f"{IDENT}|{value}"})


def test_conditional_delete_with_one_match_deletes_it(fhir: httpx.Client) -> None:
    other = create(fhir, with_mrn("OTHER"))
    target = create(fhir, with_mrn("C1"))

    response = conditional_delete(fhir, "C1")

    assert response.status_code in (200, 204), response.text
    assert fhir.get(f"/Patient/{target['id']}").status_code == 410
    assert fhir.get(f"/Patient/{other['id']}").json() == other


def test_conditional_delete_with_many_matches_is_refused_or_deletes_all(
    fhir: httpx.Client,
) -> None:
    one = create(fhir, with_mrn("C1"))
    two = create(fhir, with_mrn("C1"))

    response = conditional_delete(fhir, "C1")

    # R4: the server may delete all matches, or answer 412 when it does not.
    if response.status_code == 412:
        outcome(response, {412})
        assert fhir.get(f"/Patient/{one['id']}").json() == one
        assert fhir.get(f"/Patient/{two['id']}").json() == two
        assert len(history(fhir)) == 2
    else:
        assert response.status_code in (200, 204), response.text
        assert fhir.get(f"/Patient/{one['id']}").status_code == 410
        assert fhir.get(f"/Patient/{two['id']}").status_code == 410


def test_conditional_delete_with_no_match_changes_nothing(fhir: httpx.Client) -> None:
    other = create(fhir, with_mrn("OTHER"))

    response = conditional_delete(fhir, "C1")

    assert response.status_code in (200, 204, 404), response.text
    assert fhir.get(f"/Patient/{other['id']}").json() == other
    assert len(history(fhir)) == 1


# --- history ----------------------------------------------------------------------------------


def test_instance_history_lists_every_version_newest_first(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    put(fhir, first | {"active": True})
    put(fhir, first | {"active": False})

    response = fhir.get(f"/Patient/{first['id']}/_history")

    assert response.status_code == 200
    bundle = response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "history"
    versions = [e["resource"]["meta"]["versionId"] for e in bundle["entry"]]
    assert versions == ["3", "2", "1"]
    assert [e["request"]["method"] for e in bundle["entry"]] == ["PUT", "PUT", "POST"]
    assert bundle["entry"][2]["resource"] == first
    if "total" in bundle:
        assert bundle["total"] == 3


def make_versions(fhir: httpx.Client) -> set[tuple[str, str]]:
    """Three patients (one updated twice, one deleted) and an observation: every version made."""
    a = create(fhir, patient())
    put(fhir, a | {"active": True})
    put(fhir, a | {"active": False})
    b = create(fhir, patient())
    c = create(fhir, patient())
    assert fhir.delete(f"/Patient/{c['id']}").status_code in (200, 204)
    o = create(fhir, {"resourceType": "Basic", "code": {"text": "x"}})
    return {
        (f"Patient/{a['id']}", "1"),
        (f"Patient/{a['id']}", "2"),
        (f"Patient/{a['id']}", "3"),
        (f"Patient/{b['id']}", "1"),
        (f"Patient/{c['id']}", "1"),
        (f"Patient/{c['id']}", "2"),
        (f"Basic/{o['id']}", "1"),
    }


def test_type_history_pages_with_count_list_every_version_once(fhir: httpx.Client) -> None:
    made = make_versions(fhir)
    patients = {v for v in made if v[0].startswith("Patient/")}

    bundles = pages(fhir, "/Patient/_history", _count=2)

    assert len(bundles) == 3
    assert all(len(b.get("entry", [])) <= 2 for b in bundles)
    listed = [version_of(e) for b in bundles for e in b.get("entry", [])]
    assert len(listed) == len(set(listed))
    assert set(listed) == patients


def test_system_history_pages_with_count_list_every_version_once(fhir: httpx.Client) -> None:
    made = make_versions(fhir)

    bundles = pages(fhir, "/_history", _count=3)

    assert len(bundles) == 3
    listed = [version_of(e) for b in bundles for e in b.get("entry", [])]
    assert len(listed) == len(set(listed))
    assert set(listed) == made
    assert all(b["type"] == "history" for b in bundles)


def test_instance_history_pages_one_version_at_a_time(fhir: httpx.Client) -> None:
    first = create(fhir, patient())
    for n in range(4):
        put(fhir, first | {"birthDate": f"199{n}-01-01"})

    bundles = pages(fhir, f"/Patient/{first['id']}/_history", _count=1)

    assert [[e["resource"]["meta"]["versionId"] for e in b["entry"]] for b in bundles] == [
        ["5"],
        ["4"],
        ["3"],
        ["2"],
        ["1"],
    ]


def test_history_since_keeps_only_versions_at_or_after_the_instant(fhir: httpx.Client) -> None:
    old = create(fhir, patient())
    # Apart by more than the precision of lastUpdated, so _since can split them.
    time.sleep(0.01 if "." in old["meta"]["lastUpdated"] else 1.1)
    new = create(fhir, patient())
    newer = put(fhir, old | {"active": True}).json()
    since = new["meta"]["lastUpdated"]

    system = {version_of(e) for e in history(fhir, "/_history", _since=since)}
    typed = {version_of(e) for e in history(fhir, "/Patient/_history", _since=since)}
    instance = history(fhir, f"/Patient/{old['id']}/_history", _since=since)

    wanted = {(f"Patient/{new['id']}", "1"), (f"Patient/{old['id']}", "2")}
    assert system == wanted
    assert typed == wanted
    assert [e["resource"] for e in instance] == [newer]


# --- Prefer -----------------------------------------------------------------------------------


def test_prefer_return_is_found_among_other_preferences(fhir: httpx.Client) -> None:
    # RFC 7240: several preferences in one header, separated by commas.
    created = fhir.post(
        "/Patient", json=patient(), headers={"Prefer": "handling=lenient, return=minimal"}
    )
    assert created.status_code == 201
    assert created.content == b""


def test_prefer_return_minimal_gives_an_empty_body(fhir: httpx.Client) -> None:
    created = fhir.post("/Patient", json=patient(), headers={"Prefer": "return=minimal"})

    assert created.status_code == 201
    assert created.content == b""
    location = created.headers["Location"]
    assert created.headers["ETag"] == 'W/"1"'
    pid = location.split("/Patient/")[1].split("/")[0]
    stored = fhir.get(f"/Patient/{pid}").json()
    updated = put(fhir, stored | {"active": True}, Prefer="return=minimal")
    assert updated.status_code == 200
    assert updated.content == b""
    assert updated.headers["ETag"] == 'W/"2"'


def test_prefer_return_representation_gives_the_resource(fhir: httpx.Client) -> None:
    response = fhir.post(
        "/Patient", json=patient(gender="unknown"), headers={"Prefer": "return=representation"}
    )

    assert response.status_code == 201
    body = response.json()
    assert body["resourceType"] == "Patient"
    assert body["gender"] == "unknown"
    assert fhir.get(f"/Patient/{body['id']}").json() == body


def test_prefer_return_operationoutcome_gives_an_outcome(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", json=patient(), headers={"Prefer": "return=OperationOutcome"})

    assert response.status_code == 201
    assert response.json()["resourceType"] == "OperationOutcome"
    assert response.headers["Location"]
    assert len(history(fhir)) == 1


# --- what is stored is what was sent ----------------------------------------------------------

OBSERVATION_TEXT = """{
  "resourceType": "Observation",
  "status": "final",
  "code": {"text": "precise"},
  "valueQuantity": {"value": 1.50, "unit": "mg"},
  "component": [
    {"code": {"text": "long"}, "valueQuantity": {"value": 0.12345678901234567}},
    {"code": {"text": "exp"}, "valueQuantity": {"value": 100.000}}
  ]
}"""


def test_decimals_keep_their_precision_exactly(fhir: httpx.Client) -> None:
    created = fhir.post("/Observation", content=OBSERVATION_TEXT)
    assert created.status_code == 201, created.text
    oid = created.json()["id"]

    for text in (created.text, fhir.get(f"/Observation/{oid}").text):
        assert re.search(r'"value"\s*:\s*1\.50\s*[,}]', text), text
        assert re.search(r'"value"\s*:\s*0\.12345678901234567\s*[,}]', text), text
        assert re.search(r'"value"\s*:\s*100\.000\s*[,}]', text), text


def test_decimals_keep_their_precision_through_history(fhir: httpx.Client) -> None:
    oid = fhir.post("/Observation", content=OBSERVATION_TEXT).json()["id"]

    text = (
        fhir.get(f"/Observation/{oid}/_history").text
        + fhir.get(f"/Observation/{oid}/_history/1").text
    )

    assert len(re.findall(r'"value"\s*:\s*1\.50\s*[,}]', text)) == 2
    assert len(re.findall(r'"value"\s*:\s*0\.12345678901234567\s*[,}]', text)) == 2


def test_unknown_extensions_and_profile_claims_are_kept(fhir: httpx.Client) -> None:
    sent = patient(
        meta={"profile": ["http://example.org/fhir/StructureDefinition/az-patient"]},
        extension=[
            {
                "url": "http://example.org/fhir/StructureDefinition/favourite-colour",
                "valueString": "teal",
            },
            {
                "url": "http://example.org/fhir/StructureDefinition/nested",
                "extension": [{"url": "part", "valueDecimal": 2.5}],
            },
        ],
        birthDate="1970-01-01",
        _birthDate={
            "extension": [
                {"url": "http://example.org/fhir/StructureDefinition/time", "valueTime": "07:30:00"}
            ]
        },
    )

    body = create(fhir, sent)

    read = fhir.get(f"/Patient/{body['id']}").json()
    assert read["meta"]["profile"] == sent["meta"]["profile"]
    assert read["extension"] == sent["extension"]
    assert read["_birthDate"] == sent["_birthDate"]


# --- capability statement ---------------------------------------------------------------------


def test_metadata_is_a_capability_statement_for_fhir_4_0_1(fhir: httpx.Client) -> None:
    response = fhir.get("/metadata")

    assert response.status_code == 200
    statement = response.json()
    assert statement["resourceType"] == "CapabilityStatement"
    assert statement["fhirVersion"] == "4.0.1"
    assert statement["kind"] == "instance"
    assert any("json" in f for f in statement["format"])
    rest = statement["rest"][0]
    assert rest["mode"] == "server"
    patients = [r for r in rest["resource"] if r["type"] == "Patient"]
    assert len(patients) == 1
    codes = {i["code"] for i in patients[0]["interaction"]}
    assert {"read", "vread", "create", "update", "delete"} <= codes
    assert {"history-instance", "history-type"} & codes


# --- bad input: a 4xx with an OperationOutcome, and nothing written ---------------------------


def test_malformed_json_is_400(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", content=b'{"resourceType": "Patient", "gender": ')

    outcome(response, {400})
    nothing_written(fhir)


def test_a_body_that_is_no_json_object_is_400(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", content=b'["resourceType", "Patient"]')

    outcome(response, {400, 422})
    nothing_written(fhir)


def test_an_unknown_resource_type_in_the_body_is_refused(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", json={"resourceType": "Pateint", "gender": "male"})

    outcome(response, {400, 422}, "resourceType")
    nothing_written(fhir)


def test_a_body_type_other_than_the_url_type_is_refused(fhir: httpx.Client) -> None:
    response = fhir.post("/Patient", json={"resourceType": "Basic", "code": {"text": "x"}})

    outcome(response, {400, 422}, "resourceType")
    nothing_written(fhir)


@pytest.mark.parametrize(
    ("fields", "element"),
    [
        ({"birthDate": "1990-13-45"}, "birthDate"),
        ({"gender": "x"}, "gender"),
        ({"favouriteFood": "plov"}, "favouriteFood"),
        ({"name": {"family": "not-a-list"}}, "name"),
    ],
    ids=["bad-date", "bad-code", "unknown-element", "not-an-array"],
)
def test_a_schema_violation_is_refused_naming_the_element(
    fhir: httpx.Client, fields: dict[str, Any], element: str
) -> None:
    response = fhir.post("/Patient", json=patient(**fields))

    outcome(response, {400, 422}, element)
    nothing_written(fhir)


def test_a_schema_violation_on_update_changes_nothing(fhir: httpx.Client) -> None:
    first = create(fhir, patient())

    response = put(fhir, first | {"birthDate": "1990-13-45"})

    outcome(response, {400, 422}, "birthDate")
    assert fhir.get(f"/Patient/{first['id']}").json() == first
    assert len(history(fhir)) == 1


def test_an_unknown_resource_type_in_the_url_is_404(fhir: httpx.Client) -> None:
    read = fhir.get("/Pateint/1")
    created = fhir.post("/Pateint", json={"resourceType": "Pateint"})

    outcome(read, {404})
    outcome(created, {404})
    nothing_written(fhir)


def test_an_xml_body_is_415(fhir: httpx.Client) -> None:
    xml = b'<Patient xmlns="http://hl7.org/fhir"><gender value="male"/></Patient>'

    response = fhir.post("/Patient", content=xml, headers={"Content-Type": "application/fhir+xml"})

    outcome(response, {415})
    nothing_written(fhir)


def test_a_body_over_the_size_limit_is_413(fhir: httpx.Client) -> None:
    filler = "a" * (61 * 1024 * 1024)
    body = json.dumps(
        patient(
            text={
                "status": "generated",
                "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{filler}</div>',
            }
        )
    ).encode()

    response = fhir.post("/Patient", content=body)

    outcome(response, {413})
    nothing_written(fhir)


def test_a_50_megabyte_transaction_of_small_resources_is_accepted(fhir: httpx.Client) -> None:
    count = 5000
    padding = "p" * 9800
    entries = [
        {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            "resource": patient(
                identifier=[{"system": IDENT, "value": f"big-{n}"}],
                text={
                    "status": "generated",
                    "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{padding}</div>',
                },
            ),
            "request": {"method": "POST", "url": "Patient"},
        }
        for n in range(count)
    ]
    body = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": entries}).encode()
    assert 50_000_000 <= len(body) < 60 * 1024 * 1024

    response = fhir.post("", content=body)

    assert response.status_code == 200, response.text[:2000]
    result = response.json()
    assert result["type"] == "transaction-response"
    assert len(result["entry"]) == count
    assert all(e["response"]["status"].startswith("201") for e in result["entry"])
    for entry in (result["entry"][0], result["entry"][-1]):
        stored = fhir.get(entry["response"]["location"])
        assert stored.status_code == 200
        assert stored.json()["identifier"][0]["value"].startswith("big-")
