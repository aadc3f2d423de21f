"""What a search answers with: lenient or strict handling, _total, _summary=count, _elements,
_count and paging (R4 search.html#errors, #total, #summary, #elements)."""

import httpx
import pytest

SUBSETTED = "SUBSETTED"


@pytest.fixture
def seven(fhir: httpx.Client) -> httpx.Client:
    for number in range(7):
        patient = {
            "resourceType": "Patient",
            "id": f"p{number}",
            "gender": "female" if number % 2 else "male",
            "birthDate": f"198{number}-01-01",
            "name": [{"family": "Əliyeva" if number % 2 else "Əliyev"}],
        }
        assert fhir.put(f"/Patient/p{number}", json=patient).status_code == 201
    return fhir


def outcome(bundle: dict) -> dict | None:
    entries = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    return entries[0]["resource"] if entries else None


def test_an_unknown_parameter_is_ignored_with_a_warning(seven: httpx.Client) -> None:
    bundle = seven.get("/Patient", params={"gender": "male", "colour": "blue"}).json()
    matches = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    assert len(matches) == bundle["total"] == 4
    warning = outcome(bundle)
    assert warning is not None
    assert warning["issue"][0]["severity"] == "warning"
    assert "colour" in warning["issue"][0]["diagnostics"]
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "colour" not in self_link
    assert "gender=male" in self_link


def test_strict_handling_refuses_an_unknown_parameter(seven: httpx.Client) -> None:
    response = seven.get(
        "/Patient", params={"colour": "blue"}, headers={"Prefer": "handling=strict"}
    )
    assert response.status_code == 400
    assert "colour" in response.json()["issue"][0]["diagnostics"]


def test_a_known_search_has_no_outcome_entry(seven: httpx.Client) -> None:
    bundle = seven.get("/Patient", params={"gender": "female"}).json()
    assert outcome(bundle) is None
    assert bundle["total"] == 3


def test_total_none_leaves_the_total_out(seven: httpx.Client) -> None:
    bundle = seven.get("/Patient", params={"_total": "none"}).json()
    assert "total" not in bundle
    assert len(bundle["entry"]) == 7
    assert seven.get("/Patient", params={"_total": "some"}).status_code == 400


def test_summary_count_gives_the_total_alone(seven: httpx.Client) -> None:
    bundle = seven.get("/Patient", params={"_summary": "count", "gender": "male"}).json()
    assert bundle["total"] == 4
    assert bundle["entry"] == []
    assert [link["relation"] for link in bundle["link"]] == ["self", "first"]


def test_elements_keeps_only_the_named_elements_and_marks_them_subsetted(
    seven: httpx.Client,
) -> None:
    bundle = seven.get("/Patient", params={"_id": "p1", "_elements": "birthDate"}).json()
    (entry,) = bundle["entry"]
    resource = entry["resource"]
    assert set(resource) == {"resourceType", "id", "meta", "birthDate"}
    assert SUBSETTED in [tag["code"] for tag in resource["meta"]["tag"]]
    # The stored resource is untouched.
    assert "name" in seven.get("/Patient/p1").json()


@pytest.mark.parametrize("count", ["-1", "many"])
def test_a_bad_count_is_a_400(seven: httpx.Client, count: str) -> None:
    response = seven.get("/Patient", params={"_count": count})
    assert response.status_code == 400
    assert "_count" in response.json()["issue"][0]["diagnostics"]


def test_next_links_walk_every_match_once(seven: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = f"{seven.base_url}/Patient?_count=3&name=Əliyev"
    pages = 0
    while url:
        bundle = seven.get(url).json()
        seen += [e["resource"]["id"] for e in bundle["entry"]]
        url = next((link["url"] for link in bundle["link"] if link["relation"] == "next"), None)
        pages += 1
    assert pages == 3
    assert sorted(seen) == [f"p{n}" for n in range(7)]


def test_elements_keeps_the_mandatory_elements_too(fhir: httpx.Client) -> None:
    observation = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "pulse"},
        "valueQuantity": {"value": 72, "unit": "/min"},
    }
    assert fhir.put("/Observation/o1", json=observation).status_code == 201
    (entry,) = fhir.get("/Observation", params={"_elements": "valueQuantity"}).json()["entry"]
    assert set(entry["resource"]) == {"resourceType", "id", "meta", "code", "valueQuantity"}


def test_summary_data_drops_the_narrative_and_text_keeps_it(fhir: httpx.Client) -> None:
    patient = {
        "resourceType": "Patient",
        "id": "n1",
        "text": {
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">Nigar</div>',
        },
        "name": [{"family": "Quliyeva"}],
        "birthDate": "1992-04-04",
    }
    assert fhir.put("/Patient/n1", json=patient).status_code == 201
    (data,) = fhir.get("/Patient", params={"_summary": "data"}).json()["entry"]
    assert "text" not in data["resource"]
    assert data["resource"]["name"] == patient["name"]
    (text,) = fhir.get("/Patient", params={"_summary": "text"}).json()["entry"]
    assert set(text["resource"]) == {"resourceType", "id", "meta", "text"}
    for entry in (data, text):
        assert SUBSETTED in [tag["code"] for tag in entry["resource"]["meta"]["tag"]]


def link(bundle: dict, relation: str) -> str | None:
    return next((lk["url"] for lk in bundle["link"] if lk["relation"] == relation), None)


def test_pages_neither_skip_nor_repeat_while_others_write(fhir: httpx.Client) -> None:
    for number in range(10):
        assert (
            fhir.put(
                f"/Patient/q{number:02d}",
                json={"resourceType": "Patient", "id": f"q{number:02d}", "gender": "other"},
            ).status_code
            == 201
        )

    first = fhir.get("/Patient", params={"gender": "other", "_count": "3"}).json()
    seen = [e["resource"]["id"] for e in first["entry"]]
    assert seen == ["q00", "q01", "q02"]
    # Between pages: a resource already seen is deleted, a new one is created.
    assert fhir.delete("/Patient/q01").status_code in (200, 204)
    new = {"resourceType": "Patient", "id": "q10", "gender": "other"}
    assert fhir.put("/Patient/q10", json=new).status_code == 201

    url = link(first, "next")
    second = fhir.get(url).json()
    assert [e["resource"]["id"] for e in second["entry"]] == ["q03", "q04", "q05"]
    back = fhir.get(link(second, "previous")).json()
    assert [e["resource"]["id"] for e in back["entry"]] == ["q00", "q02"]

    while url:
        page = fhir.get(url).json()
        seen += [e["resource"]["id"] for e in page["entry"]]
        url = link(page, "next")
    assert seen == ["q00", "q01", "q02"] + [f"q{n:02d}" for n in range(3, 11)]


def test_a_cursor_that_is_not_ours_is_a_400(fhir: httpx.Client) -> None:
    response = fhir.get("/Patient", params={"_cursor": "sideways.3"})
    assert response.status_code == 400
    assert "_cursor" in response.json()["issue"][0]["diagnostics"]


def test_failed_searches_leave_no_transaction_behind(seven: httpx.Client) -> None:
    # Searches run on connections set up apart from the writers'. Were a failed search to hand
    # its connection back in a state of its own (inside a read-only transaction, say), a later
    # request on it would fail. More failures than the pools hold connections reach them all.
    for _ in range(40):
        bad = seven.get(
            "/Patient", params={"birthdate": "notadate"}, headers={"Prefer": "handling=strict"}
        )
        assert bad.status_code == 400
    for number in range(40):
        patient = {"resourceType": "Patient", "id": f"after{number}", "gender": "other"}
        assert seven.put(f"/Patient/after{number}", json=patient).status_code == 201
    assert seven.get("/Patient", params={"gender": "other"}).json()["total"] == 40
