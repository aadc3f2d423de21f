"""Token :not and :text, uri :below and :above (R4 search.html#token, #uri)."""

import httpx
import pytest

from tests.fhir.helpers import found, put

LOINC = "http://loinc.org"
BASE = "https://fhir.shafa.az/ValueSet"


@pytest.fixture
def observations(fhir: httpx.Client) -> httpx.Client:
    vital = {"coding": [{"code": "vital-signs"}]}
    for oid, status, code, display, category in (
        ("pulse", "final", "8867-4", "Heart rate", vital),
        ("sugar", "preliminary", "2339-0", "Glucose [Mass/volume] in Blood", None),
        ("other", "amended", "718-7", "Hemoglobin", None),
    ):
        observation = {
            "resourceType": "Observation",
            "id": oid,
            "status": status,
            "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        }
        if category:
            observation["category"] = [category]
        put(fhir, observation)
    return fhir


def test_not_excludes_the_code_and_keeps_resources_without_one(observations: httpx.Client) -> None:
    assert found(observations, "Observation", {"status:not": "final"}) == {"sugar", "other"}
    assert found(observations, "Observation", {"category:not": "vital-signs"}) == {"sugar", "other"}


def test_text_searches_the_display(observations: httpx.Client) -> None:
    assert found(observations, "Observation", {"code:text": "heart"}) == {"pulse"}
    assert found(observations, "Observation", {"code:text": "GLUCOSE,hemo"}) == {"sugar", "other"}


@pytest.mark.parametrize("modifier", ["in", "not-in", "below", "above", "of-type"])
def test_token_modifiers_that_need_terminology_are_a_400(
    observations: httpx.Client, modifier: str
) -> None:
    response = observations.get("/Observation", params={f"code:{modifier}": "x"})
    assert response.status_code == 400
    assert f"code:{modifier}" in response.json()["issue"][0]["expression"][0]


@pytest.fixture
def value_sets(fhir: httpx.Client) -> httpx.Client:
    for vid, url in (("icd", f"{BASE}/icd10/chapter1"), ("atc", f"{BASE}/atc")):
        put(fhir, {"resourceType": "ValueSet", "id": vid, "url": url, "status": "active"})
    return fhir


def test_uri_exact_below_and_above(value_sets: httpx.Client) -> None:
    assert found(value_sets, "ValueSet", {"url": f"{BASE}/atc"}) == {"atc"}
    assert found(value_sets, "ValueSet", {"url": f"{BASE}/icd10"}) == set()
    assert found(value_sets, "ValueSet", {"url:below": f"{BASE}/icd10"}) == {"icd"}
    assert found(value_sets, "ValueSet", {"url:below": BASE}) == {"icd", "atc"}
    above = {"url:above": f"{BASE}/icd10/chapter1/block-A00"}
    assert found(value_sets, "ValueSet", above) == {"icd"}


def test_escaped_separators_belong_to_the_value(fhir: httpx.Client) -> None:
    # R4 search.html#escaping: \| and \, are a value's own characters, at every level of parsing.
    put(
        fhir,
        {
            "resourceType": "Patient",
            "id": "odd",
            "identifier": [{"system": "urn:x", "value": "12|34,5"}],
            "name": [{"family": "Smith, Jr"}],
        },
    )
    assert found(fhir, "Patient", {"identifier": r"urn:x|12\|34\,5"}) == {"odd"}
    assert found(fhir, "Patient", {"identifier": r"12\|34\,5,other"}) == {"odd"}
    assert found(fhir, "Patient", {"family": r"smith\, jr"}) == {"odd"}
