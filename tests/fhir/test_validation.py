"""Structural validation against the R4 JSON Schema, with errors that say where."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from shafa.fhir.errors import FhirError, Issue
from shafa.fhir.validation import add_rule, check_id, check_resource, remove_rule

EXAMPLES = Path(__file__).parent.parent / "data" / "fhir-examples"


def expressions(resource: object, expected_type: str | None = None) -> list[str]:
    with pytest.raises(FhirError) as caught:
        check_resource(resource, expected_type)
    assert caught.value.status == 400
    return [e for issue in caught.value.issues for e in issue.expression]


def test_every_official_example_is_valid() -> None:
    for path in EXAMPLES.glob("*.json"):
        check_resource(json.loads(path.read_text(), parse_float=Decimal))


def test_an_extension_on_a_primitive_the_schema_forgot_is_accepted() -> None:
    # The official schema lacks ElementDefinition.type._profile; R4 json.html#primitive allows it.
    definition = json.loads((EXAMPLES / "structuredefinition-example-composition.json").read_text())
    check_resource(definition)


def test_errors_point_at_the_element() -> None:
    bad = {"resourceType": "Patient", "birthDate": "1990-13-45", "name": [{"given": [1]}]}
    assert expressions(bad) == ["Patient.birthDate", "Patient.name[0].given[0]"]


def test_errors_inside_a_contained_resource_point_into_it() -> None:
    bad = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "contained": [{"resourceType": "Patient", "id": "p", "gender": "x"}],
    }
    assert expressions(bad) == ["Observation.contained[0].gender"]


def test_unknown_elements_and_types_are_refused() -> None:
    assert expressions({"resourceType": "Patient", "colour": "blue"}) == ["Patient"]
    assert expressions({"resourceType": "Patientt"}) == ["resourceType"]
    assert expressions({"resourceType": "Patient"}, "Observation") == ["resourceType"]
    assert expressions(["not", "an", "object"]) == []


@pytest.mark.parametrize("good", ["a", "A.b-9", "x" * 64, "123"])
def test_ids_that_follow_the_rule(good: str) -> None:
    assert check_id(good) == good


@pytest.mark.parametrize("bad", ["", "x" * 65, "a_b", "a b", "a/b", "é"])
def test_ids_that_break_the_rule(bad: str) -> None:
    with pytest.raises(FhirError):
        check_id(bad)


def _no_future_dead(resource: dict) -> list[Issue]:
    if resource.get("deceasedDateTime", "") > "2024":
        return [Issue("business-rule", "Not dead yet", expression=("Patient.deceasedDateTime",))]
    return []


def test_a_domain_rule_refuses_with_422_and_names_the_element() -> None:
    # A date the registries' own rules (installed by any server of the test run) accept.
    dead_later = {"resourceType": "Patient", "deceasedDateTime": "2025-01-01"}
    check_resource(dead_later)  # no rule installed: only the structure counts
    add_rule("Patient", _no_future_dead)
    try:
        with pytest.raises(FhirError) as caught:
            check_resource(dead_later)
        assert caught.value.status == 422
        assert caught.value.issues[0].expression == ("Patient.deceasedDateTime",)
        check_resource({"resourceType": "Patient", "deceasedDateTime": "2020-01-01"})
        check_resource({"resourceType": "Observation", "status": "final", "code": {}})
    finally:
        remove_rule("Patient", _no_future_dead)
    check_resource(dead_later)
