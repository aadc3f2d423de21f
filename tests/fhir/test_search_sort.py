"""_sort on several keys, ascending and descending (R4 search.html#sort)."""

import httpx
import pytest

PEOPLE = [
    # id, family, birthDate, gender
    ("p1", "Quliyev", "1985-03-02", "male"),
    ("p2", "Əliyeva", "1990-07-11", "female"),
    ("p3", "Məmmədov", "1978-12-30", "male"),
    ("p4", "Əliyeva", "1979-01-05", "female"),
    ("p5", "Hüseynov", None, "male"),
]


@pytest.fixture
def people(fhir: httpx.Client) -> httpx.Client:
    for pid, family, born, gender in PEOPLE:
        patient = {
            "resourceType": "Patient",
            "id": pid,
            "name": [{"family": family}],
            "gender": gender,
        }
        if born:
            patient["birthDate"] = born
        assert fhir.put(f"/Patient/{pid}", json=patient).status_code == 201
    return fhir


def order(fhir: httpx.Client, sort: str, **params: str) -> list[str]:
    response = fhir.get("/Patient", params={"_sort": sort, **params})
    assert response.status_code == 200, response.text
    return [e["resource"]["id"] for e in response.json()["entry"]]


def test_sort_by_birth_date_ascending_puts_the_undated_last(people: httpx.Client) -> None:
    assert order(people, "birthdate") == ["p3", "p4", "p1", "p2", "p5"]


def test_sort_descending_with_a_minus(people: httpx.Client) -> None:
    assert order(people, "-birthdate") == ["p2", "p1", "p4", "p3", "p5"]


def test_sort_by_two_keys(people: httpx.Client) -> None:
    # gender (female before male), then the youngest first within each.
    assert order(people, "gender,-birthdate") == ["p2", "p4", "p1", "p3", "p5"]
    # Within the two Əliyeva, the oldest first.
    by_name = order(people, "family,birthdate")
    assert by_name.index("p4") + 1 == by_name.index("p2")


def test_sort_by_id_and_last_updated(people: httpx.Client) -> None:
    assert order(people, "-_id") == ["p5", "p4", "p3", "p2", "p1"]
    assert order(people, "_lastUpdated") == ["p1", "p2", "p3", "p4", "p5"]


def test_sort_applies_across_pages(people: httpx.Client) -> None:
    first = order(people, "birthdate", _count="2")
    second = order(people, "birthdate", _count="2", _offset="2")
    assert first + second == ["p3", "p4", "p1", "p2"]


@pytest.mark.parametrize("sort", ["colour", "-", "birthdate,nothing"])
def test_sort_by_something_unknown_is_a_400(people: httpx.Client, sort: str) -> None:
    response = people.get("/Patient", params={"_sort": sort})
    assert response.status_code == 400
    assert "_sort" in response.json()["issue"][0]["diagnostics"]
