"""The disability registry's rules over determinations, and which one is in force. Pure."""

from typing import Any

import pytest

from shafa.registries.disability_rules import (
    DisabilityGroup,
    current,
    determination,
    determination_issues,
)
from tests.registries.builders import determination as recorded
from tests.registries.test_licence_rules import at


def _issues(resource: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i.code, i.expression[0]) for i in determination_issues(resource)]


def test_a_complete_determination_keeps_every_rule() -> None:
    assert _issues(recorded("d1", "leyla")) == []
    assert _issues(recorded("d1", "leyla", "under-18", review=None, cause="Q90.0")) == []


def test_other_observations_are_not_this_registrys_business() -> None:
    blood_pressure = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
    }
    assert _issues(blood_pressure) == []
    assert determination(blood_pressure) is None


def test_a_determination_needs_patient_group_start_cause_and_commission() -> None:
    bare = recorded("d1", "leyla", cause=None, start=None, review=None, commission=None)
    bare["subject"] = {"reference": "Group/households"}
    del bare["valueCodeableConcept"]
    assert _issues(bare) == [
        ("required", "Observation.subject"),
        ("required", "Observation.value"),
        ("required", "Observation.effective"),
        ("required", "Observation.component"),
        ("required", "Observation.performer"),
    ]
    assert determination(bare) is None


@pytest.mark.parametrize("review", ["2020-01-01", "2019-06-01"])
def test_the_review_date_comes_after_the_start(review: str) -> None:
    assert _issues(recorded("d1", "leyla", start="2020-01-01", review=review)) == [
        ("business-rule", "Observation.effective.end")
    ]


def test_the_group_comes_from_the_value_set_and_the_cause_is_an_icd10_code() -> None:
    assert _issues(recorded("d1", "leyla", "group-4")) == [("code-invalid", "Observation.value")]
    assert determination(recorded("d1", "leyla", "group-4")) is None
    # Unknown codes, national modifications and codes with subdivisions (not valid for coding).
    for bad in ["g80.1", "G8", "G80.123", "80.1", "G80-1", "Z99.7", "S14.11", "G80", "A00-A09"]:
        assert _issues(recorded("d1", "leyla", cause=bad)) == [
            ("code-invalid", "Observation.component[0].value")
        ], bad
    for good in ["G80.1", "Q90.0", "U07.1", "I64"]:
        assert _issues(recorded("d1", "leyla", cause=good)) == [], good
    uncoded = recorded("d1", "leyla")
    uncoded["component"][0]["valueCodeableConcept"] = {"text": "cerebral palsy"}
    assert _issues(uncoded) == [("required", "Observation.component[0].value")]


def test_the_determination_in_force_is_the_latest_started_one_within_its_dates() -> None:
    first = determination(
        recorded("d1", "leyla", "group-2", start="2020-01-01", review="2022-01-01")
    )
    second = determination(
        recorded("d2", "leyla", "group-3", start="2021-06-01", review="2023-01-01")
    )
    withdrawn = determination(
        recorded(
            "d3", "leyla", "group-1", start="2022-06-01", review=None, status="entered-in-error"
        )
    )
    lifelong = determination(recorded("d4", "leyla", "group-1", start="2024-01-01", review=None))
    held = [d for d in (first, second, withdrawn, lifelong) if d is not None]
    assert len(held) == 4
    assert current(held, at("2019-12-31")) is None
    assert current(held, at("2020-06-01")) == first
    assert current(held, at("2021-07-01")) == second  # a later decision replaces an earlier one
    assert current(held, at("2022-01-01T23:00")) == second
    assert current(held, at("2023-01-01T12:00")) == second  # through the review day
    assert current(held, at("2023-01-02")) is None  # withdrawn d3 does not count
    assert current(held, at("2050-01-01")) == lifelong
    assert lifelong is not None and lifelong.group is DisabilityGroup.GROUP_I
    assert first is not None and (first.cause, first.commission) == ("G80.1", "baku-commission")
