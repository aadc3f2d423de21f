"""_text: search in the narrative (R4 search.html#text), and _content, which Shafa does not do."""

# Azerbaijani narrative uses the dotless ı on purpose.
# ruff: noqa: RUF001, RUF003

import httpx
import pytest

from tests.fhir.helpers import found, put

STRICT = {"Prefer": "handling=strict"}


def _condition(fhir_id: str, div: str) -> dict:
    return {
        "resourceType": "Condition",
        "id": fhir_id,
        "subject": {"reference": "Patient/p1"},
        "text": {
            "status": "generated",
            "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{div}</div>',
        },
    }


@pytest.fixture
def narratives(fhir: httpx.Client) -> httpx.Client:
    put(fhir, _condition("pain", "<p>Severe <b>chest</b> pain after exercise</p>"))
    put(fhir, _condition("cough", "<p>Dry cough, <i>no</i> fever &amp; no chest pain</p>"))
    put(fhir, _condition("azeri", "<p>Ürək ağrısı, Əliyev həkimin müayinəsi</p>"))
    put(fhir, {"resourceType": "Condition", "id": "silent", "subject": {"reference": "Patient/p1"}})
    return fhir


def test_every_word_must_start_a_word_of_the_narrative(narratives: httpx.Client) -> None:
    assert found(narratives, "Condition", {"_text": "chest"}) == {"pain", "cough"}
    assert found(narratives, "Condition", {"_text": "pain chest"}) == {"pain", "cough"}
    assert found(narratives, "Condition", {"_text": "severe chest"}) == {"pain"}
    assert found(narratives, "Condition", {"_text": "exer"}) == {"pain"}  # a word's start
    assert found(narratives, "Condition", {"_text": "xercise"}) == set()  # not its middle
    assert found(narratives, "Condition", {"_text": "headache"}) == set()


def test_case_accents_and_markup_do_not_matter(narratives: httpx.Client) -> None:
    assert found(narratives, "Condition", {"_text": "CHEST"}) == {"pain", "cough"}
    # Accents go as in string search (ü as u, ğ as g); ə and ı are letters of their own, and
    # I lowers to i, not ı, until the transliteration of Azerbaijani comes.
    assert found(narratives, "Condition", {"_text": "ÜRƏK ağrı"}) == {"azeri"}
    assert found(narratives, "Condition", {"_text": "urək"}) == {"azeri"}
    # Tags are not words, and &amp; is the character it stands for.
    assert found(narratives, "Condition", {"_text": "div"}) == set()
    assert found(narratives, "Condition", {"_text": "amp"}) == set()
    assert found(narratives, "Condition", {"_text": "b"}) == set()


def test_comma_is_or_and_repeating_is_and(narratives: httpx.Client) -> None:
    assert found(narratives, "Condition", {"_text": "severe,fever"}) == {"pain", "cough"}
    response = narratives.get("/Condition", params=[("_text", "chest"), ("_text", "dry")])
    assert {e["resource"]["id"] for e in response.json()["entry"]} == {"cough"}


def test_an_update_replaces_the_words(narratives: httpx.Client) -> None:
    put(narratives, _condition("pain", "<p>Resolved</p>"))
    assert found(narratives, "Condition", {"_text": "severe"}) == set()
    assert found(narratives, "Condition", {"_text": "resolved"}) == {"pain"}
    assert narratives.delete("/Condition/cough").status_code in (200, 204)
    assert found(narratives, "Condition", {"_text": "chest"}) == set()


def test_text_joins_other_criteria_and_chains(narratives: httpx.Client) -> None:
    put(narratives, {"resourceType": "Patient", "id": "p1", "name": [{"family": "Əliyev"}]})
    assert found(narratives, "Condition", {"_text": "chest", "_id": "cough"}) == {"cough"}
    assert found(narratives, "Patient", {"_has:Condition:subject:_text": "fever"}) == {"p1"}


def test_bad_text_searches_are_400(narratives: httpx.Client) -> None:
    for params in ({"_text": "!!"}, {"_text:exact": "chest"}):
        response = narratives.get("/Condition", params=params)
        assert response.status_code == 400, params
        assert response.json()["issue"][0]["expression"][0].startswith("_text")


def test_content_is_not_supported_and_says_so(narratives: httpx.Client) -> None:
    # Searching every value of every resource needs a full-text engine Shafa does not run.
    lenient = narratives.get("/Condition", params={"_content": "chest"}).json()
    outcome = [e for e in lenient["entry"] if e["search"]["mode"] == "outcome"]
    assert outcome and "_content" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    assert lenient["total"] == 4  # left out, not applied
    strict = narratives.get("/Condition", params={"_content": "chest"}, headers=STRICT)
    assert strict.status_code == 400
