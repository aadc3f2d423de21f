"""The compiled FHIRPath subset, against fhirpathpy (the reference engine) and the spec."""

import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import fhirpathpy
import pytest
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from shafa.fhir.fhirpath import (
    compile_branches,
    compile_path,
    compile_relative,
    fallback_expressions,
    parse_literal_reference,
)
from shafa.fhir.searchparams import all_resource_types, params_for

EXAMPLES = sorted((Path(__file__).parent.parent / "data" / "fhir-examples").glob("*.json"))

# What `resolve()` returns for the oracle: a stub of the type the reference text names, which is
# all `resolve() is Patient` looks at. Written apart from the code under test on purpose.
_REFERENCE_TYPE = re.compile(r"(?:.*/)?([A-Z][A-Za-z]+)/[^/]+(?:/_history/[^/]+)?")


def _resolve(inputs: list[Any]) -> list[Any]:
    targets = []
    for item in inputs:
        reference = item.get("reference") if isinstance(item, dict) else item
        match = _REFERENCE_TYPE.fullmatch(reference) if isinstance(reference, str) else None
        if match:
            targets.append(ResourceNode.create_node({"resourceType": match.group(1)}))
    return targets


_ORACLE_OPTIONS = {"userInvocationTable": {"resolve": {"fn": _resolve, "arity": {0: []}}}}


def _oracle_expression(expression: str, resource_type: str) -> str:
    """The expression as fhirpathpy must be asked it to mean what FHIR R4 search means by it.

    fhirpathpy finds nothing for `Resource.id` on a Patient, although Resource is the supertype
    of every resource, so the type is spelled out. R4 expressions apply `as` to collections
    (`Observation.component.value as Quantity`), an error in FHIRPath N1 that fhirpathpy raises
    while servers (HAPI) read it as ofType(), as the compiled subset does: ofType() is asked.
    """
    expression = re.sub(r"\b(?:Resource|DomainResource)\.", f"{resource_type}.", expression)
    expression = re.sub(r"\(([\w.]+) as (\w+)\)", r"\1.ofType(\2)", expression)
    return expression.replace(".as(", ".ofType(")


def _canonical(values: list[Any]) -> list[str]:
    def plain(value: Any) -> Any:
        return float(value) if isinstance(value, Decimal) else str(value)

    return sorted(json.dumps(value, sort_keys=True, default=plain) for value in values)


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_compiled_paths_match_fhirpathpy_on_official_examples(example: Path) -> None:
    text = example.read_text()
    resource = json.loads(text, parse_float=Decimal)
    resource_type = resource["resourceType"]
    as_floats = json.loads(text)  # fhirpathpy computes with floats
    mismatches = []
    for code, param in params_for(resource_type).items():
        ours = compile_path(param.expression, resource_type)(resource)
        theirs = fhirpathpy.evaluate(
            as_floats,
            _oracle_expression(param.expression, resource_type),
            model=models["r4"],
            options=_ORACLE_OPTIONS,
        )
        if _canonical(ours) != _canonical(theirs):
            mismatches.append((code, param.expression, ours, theirs))
    assert mismatches == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_composite_components_match_fhirpathpy_element_by_element(example: Path) -> None:
    # Each component is a path from one element of the composite's expression
    # (search.html#composite); the oracle is asked for it as (branch)[i].select(component).
    text = example.read_text()
    resource = json.loads(text, parse_float=Decimal)
    resource_type = resource["resourceType"]
    as_floats = json.loads(text)
    mismatches = []
    for code, param in params_for(resource_type).items():
        if param.type != "composite":
            continue
        branch_texts = [
            b.strip() for b in param.expression.split("|") if b.strip().startswith(resource_type)
        ]
        branches = compile_branches(param.expression, resource_type)
        assert len(branches) == len(branch_texts), (code, param.expression)
        for branch, branch_text in zip(branches, branch_texts, strict=True):
            elements = branch.evaluate([resource], resource)
            for index, element in enumerate(elements):
                for _url, expression in param.components:
                    ours = compile_relative(expression, resource_type, branch.type_name).evaluate(
                        [element], resource
                    )
                    theirs = fhirpathpy.evaluate(
                        as_floats,
                        f"({branch_text})[{index}].select({_oracle_expression(expression, '')})",
                        context={"resource": as_floats},
                        model=models["r4"],
                    )
                    if _canonical(ours) != _canonical(theirs):
                        mismatches.append((code, index, expression, ours, theirs))
    assert mismatches == []


def test_union_branches_compile_apart_with_their_element_types() -> None:
    branches = compile_branches("Observation | Observation.component", "Observation")
    assert [b.type_name for b in branches] == ["Observation", "Observation_Component"]
    observation = {"resourceType": "Observation", "component": [{"code": {"text": "a"}}]}
    assert branches[1].evaluate([observation], observation) == [{"code": {"text": "a"}}]
    shared = compile_branches("CodeSystem.useContext | ValueSet.useContext", "ValueSet")
    assert [b.type_name for b in shared] == ["UsageContext"]
    assert [b.type_name for b in compile_branches("Patient.identifier", "Patient")] == [
        "Identifier"
    ]


def test_relative_paths_start_at_the_element_and_resource_is_the_root() -> None:
    sequence = {
        "resourceType": "MolecularSequence",
        "referenceSeq": {"chromosome": {"text": "1"}},
        "variant": [{"start": 10, "end": 20}],
    }
    element = sequence["variant"][0]
    start = compile_relative("start", "MolecularSequence", "MolecularSequence_Variant")
    assert start.evaluate([element], sequence) == [10]
    chromosome = compile_relative(
        "%resource.referenceSeq.chromosome", "MolecularSequence", "MolecularSequence_Variant"
    )
    assert chromosome.evaluate([element], sequence) == [{"text": "1"}]
    value = compile_relative("value.as(Quantity)", "Observation", "Observation_Component")
    assert value.evaluate([{"valueQuantity": {"value": 3}}, {"valueString": "x"}], {}) == [
        {"value": 3}
    ]
    assert value.entry_keys == {"valueQuantity"}


def test_every_composite_compiles_for_each_of_its_branches() -> None:
    for resource_type in all_resource_types():
        for param in params_for(resource_type).values():
            if param.type == "composite":
                branches = compile_branches(param.expression, resource_type)
                assert branches, (resource_type, param.code)
                for branch in branches:
                    assert branch.type_name is not None
                    for _url, expression in param.components:
                        compile_relative(expression, resource_type, branch.type_name)


def test_examples_cover_many_types() -> None:
    assert len(EXAMPLES) == 72
    assert len({json.loads(path.read_text())["resourceType"] for path in EXAMPLES}) >= 65


def test_every_bundle_expression_compiles_without_fallback() -> None:
    compiled = set()
    for resource_type in all_resource_types():
        for param in params_for(resource_type).values():
            compile_path(param.expression, resource_type)
            compiled.add((resource_type, param.expression))
    assert compiled.isdisjoint(fallback_expressions())


def test_choice_element_reads_every_type_and_as_reads_one() -> None:
    observation = {
        "resourceType": "Observation",
        "valueQuantity": {"value": Decimal("72"), "unit": "kg"},
        "component": [{"valueString": "high"}, {"valueQuantity": {"value": 3}}],
    }
    assert compile_path("Observation.value", "Observation")(observation) == [
        {"value": Decimal("72"), "unit": "kg"}
    ]
    assert compile_path("Observation.value as string", "Observation")(observation) == []
    assert compile_path("(Observation.component.value as Quantity)", "Observation")(
        observation
    ) == [{"value": 3}]
    assert compile_path("Observation.component.value.ofType(string)", "Observation")(
        observation
    ) == ["high"]
    assert compile_path("Observation.component.value", "Observation")(observation) == [
        "high",
        {"value": 3},
    ]


def test_as_quantity_keeps_quantity_profiles() -> None:
    condition = {"resourceType": "Condition", "onsetAge": {"value": 52, "unit": "a"}}
    assert compile_path("Condition.onset.as(Quantity)", "Condition")(condition) == [
        {"value": 52, "unit": "a"}
    ]
    assert compile_path("Condition.onset.as(Range)", "Condition")(condition) == []


def test_choice_inside_a_datatype() -> None:
    code_system = {
        "resourceType": "CodeSystem",
        "useContext": [
            {"code": {"code": "age"}, "valueRange": {"low": {"value": 18}}},
            {"code": {"code": "focus"}, "valueCodeableConcept": {"text": "diabetes"}},
        ],
    }
    path = compile_path("(CodeSystem.useContext.value as CodeableConcept)", "CodeSystem")
    assert path(code_system) == [{"text": "diabetes"}]


def test_resolve_is_decided_by_the_reference_type() -> None:
    account = {
        "resourceType": "Account",
        "subject": [
            {"reference": "Patient/1"},
            {"reference": "Device/2"},
            {"reference": "http://other.org/fhir/Patient/3/_history/2"},
            {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
            {"reference": "#contained-patient"},
            {"identifier": {"value": "123"}},
        ],
    }
    path = compile_path("Account.subject.where(resolve() is Patient)", "Account")
    assert path(account) == [
        {"reference": "Patient/1"},
        {"reference": "http://other.org/fhir/Patient/3/_history/2"},
    ]


def test_where_with_equality() -> None:
    patient = {
        "resourceType": "Patient",
        "telecom": [
            {"system": "phone", "value": "555"},
            {"system": "email", "value": "a@b.org"},
            {"value": "no system"},
        ],
    }
    path = compile_path("Patient.telecom.where(system='email')", "Patient")
    assert path(patient) == [{"system": "email", "value": "a@b.org"}]


def test_union_keeps_branches_of_the_compiled_type_only() -> None:
    expression = "Account.subject.where(resolve() is Patient) | Patient.link.other | name"
    patient = {
        "resourceType": "Patient",
        "subject": [{"reference": "Patient/1"}],
        "link": [{"other": {"reference": "Patient/2"}}],
        "name": [{"family": "Chalmers"}],
    }
    assert compile_path(expression, "Patient")(patient) == [
        {"reference": "Patient/2"},
        {"family": "Chalmers"},
    ]


def test_union_removes_duplicates() -> None:
    patient = {"resourceType": "Patient", "name": [{"given": ["Jim", "Jim"]}]}
    assert compile_path("Patient.name.given | Practitioner.name.given", "Patient")(patient) == [
        "Jim"
    ]
    assert compile_path("Patient.name.given", "Patient")(patient) == ["Jim", "Jim"]


def test_resource_paths_apply_to_every_type() -> None:
    encounter = {"resourceType": "Encounter", "meta": {"profile": ["http://x.org/p"]}}
    assert compile_path("Resource.meta.profile", "Encounter")(encounter) == ["http://x.org/p"]


def test_indexer() -> None:
    bundle = {
        "resourceType": "Bundle",
        "entry": [{"resource": {"resourceType": "Composition", "id": "1"}}, {"resource": {}}],
    }
    assert compile_path("Bundle.entry[0].resource", "Bundle")(bundle) == [
        {"resourceType": "Composition", "id": "1"}
    ]


@pytest.mark.parametrize(
    ("patient", "expected"),
    [
        ({}, [False]),
        ({"deceasedBoolean": False}, [False]),
        ({"deceasedBoolean": True}, [True]),
        ({"deceasedDateTime": "2015-02-14T13:42:00+10:00"}, [True]),
    ],
)
def test_deceased_expression_three_valued_logic(
    patient: dict[str, Any], expected: list[bool]
) -> None:
    expression = "Patient.deceased.exists() and Patient.deceased != false"
    assert compile_path(expression, "Patient")({"resourceType": "Patient", **patient}) == expected


def test_nulls_of_primitive_extensions_are_no_values() -> None:
    # json.html#primitive: an array entry with only an extension is null in the value array.
    patient = {
        "resourceType": "Patient",
        "name": [{"given": ["Ann", None], "_given": [None, {"extension": []}]}],
    }
    assert compile_path("Patient.name.given", "Patient")(patient) == ["Ann"]


def test_expression_outside_the_subset_falls_back_to_fhirpathpy() -> None:
    expression = "Patient.name.given.first()"
    path = compile_path(expression, "Patient")
    assert path({"resourceType": "Patient", "name": [{"given": ["Ann", "Bo"]}]}) == ["Ann"]
    assert ("Patient", expression) in fallback_expressions()


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("Patient/123", ("Patient", "123")),
        ("Patient/123/_history/4", ("Patient", "123")),
        ("https://example.org/fhir/Observation/a.b-c", ("Observation", "a.b-c")),
        ("urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a", None),
        ("http://hl7.org/fhir/ValueSet|4.0.1", None),
        ("NotAType/1", None),
        ("#contained", None),
    ],
)
def test_parse_literal_reference(reference: str, expected: tuple[str, str] | None) -> None:
    assert parse_literal_reference(reference) == expected
