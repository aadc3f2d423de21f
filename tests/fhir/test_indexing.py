"""Search-index extraction, checked against FHIR R4 search.html and the official examples."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from shafa.db.tables import idx_composite
from shafa.fhir.indexing import (
    COMPOSITE_COLUMNS,
    DATE_MAX,
    DATE_MIN,
    NARRATIVE_WORDS,
    IndexRows,
    composite_key,
    composite_parts,
    composite_sources,
    extract,
    narrative_words,
    normalise_text,
    of_type_params,
    reference_constraint,
    token_constraint,
)
from shafa.fhir.searchparams import all_resource_types, param_by_url, params_for

EXAMPLES = sorted((Path(__file__).parent.parent / "data" / "fhir-examples").glob("*.json"))
KINDS = ("string", "token", "date", "number", "quantity", "uri", "reference")


def _example(name: str) -> dict[str, Any]:
    path = Path(__file__).parent.parent / "data" / "fhir-examples" / name
    return json.loads(path.read_text(), parse_float=Decimal)


def _rows(rows: IndexRows, kind: str, param: str) -> list[tuple[Any, ...]]:
    return [row[1:] for row in getattr(rows, kind) if row[0] == param]


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, micro: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, micro, tzinfo=UTC)


# --- date (search.html#date: a value is the range its precision covers) --------------------------


@pytest.mark.parametrize(
    ("birth_date", "low", "high"),
    [
        ("2020", _utc(2020, 1, 1), _utc(2020, 12, 31, 23, 59, 59, 999999)),
        ("2020-02", _utc(2020, 2, 1), _utc(2020, 2, 29, 23, 59, 59, 999999)),
        ("2020-12", _utc(2020, 12, 1), _utc(2020, 12, 31, 23, 59, 59, 999999)),
        ("2020-01-02", _utc(2020, 1, 2), _utc(2020, 1, 2, 23, 59, 59, 999999)),
        ("9999", _utc(9999, 1, 1), DATE_MAX),
    ],
)
def test_date_covers_its_precision(birth_date: str, low: datetime, high: datetime) -> None:
    rows = extract({"resourceType": "Patient", "birthDate": birth_date})
    assert _rows(rows, "date", "birthdate") == [(low, high)]


@pytest.mark.parametrize(
    ("moment", "low", "high"),
    [
        (
            "2020-01-02T10:00:00+04:00",
            _utc(2020, 1, 2, 6),
            _utc(2020, 1, 2, 6, 0, 0, 999999),
        ),
        (
            "2020-01-02T23:30:00-02:00",
            _utc(2020, 1, 3, 1, 30),
            _utc(2020, 1, 3, 1, 30, 0, 999999),
        ),
        ("2020-01-02T10:00:00Z", _utc(2020, 1, 2, 10), _utc(2020, 1, 2, 10, 0, 0, 999999)),
        # No time zone: taken as UTC. No seconds: the whole minute.
        ("2020-01-02T10:30", _utc(2020, 1, 2, 10, 30), _utc(2020, 1, 2, 10, 30, 59, 999999)),
        (
            "2020-01-02T10:00:00.5Z",
            _utc(2020, 1, 2, 10, 0, 0, 500000),
            _utc(2020, 1, 2, 10, 0, 0, 599999),
        ),
        (
            "2020-01-02T10:00:00.123456789Z",
            _utc(2020, 1, 2, 10, 0, 0, 123456),
            _utc(2020, 1, 2, 10, 0, 0, 123456),
        ),
        ("0001-01-01T00:30:00+01:00", DATE_MIN, DATE_MIN),
    ],
)
def test_date_time_converts_to_utc(moment: str, low: datetime, high: datetime) -> None:
    rows = extract({"resourceType": "Observation", "effectiveDateTime": moment})
    assert _rows(rows, "date", "date") == [(low, high)]


def test_period_open_ends() -> None:
    started = extract({"resourceType": "Encounter", "period": {"start": "2021-03-04"}})
    assert _rows(started, "date", "date") == [(_utc(2021, 3, 4), DATE_MAX)]
    ended = extract({"resourceType": "Encounter", "period": {"end": "2021-03-04"}})
    assert _rows(ended, "date", "date") == [(DATE_MIN, _utc(2021, 3, 4, 23, 59, 59, 999999))]


def test_timing_is_its_outer_limits() -> None:
    observation = {
        "resourceType": "Observation",
        "effectiveTiming": {
            "event": ["2021-05-01T08:00:00Z", "2021-05-03"],
            "repeat": {"boundsPeriod": {"start": "2021-04-30", "end": "2021-05-02"}},
        },
    }
    rows = extract(observation)
    assert _rows(rows, "date", "date") == [
        (_utc(2021, 4, 30), _utc(2021, 5, 3, 23, 59, 59, 999999))
    ]


def test_invalid_dates_are_skipped() -> None:
    rows = extract({"resourceType": "Patient", "birthDate": "2021-02-30"})
    assert rows.date == []


# --- string (search.html#string) -----------------------------------------------------------------


def test_normalise_text_strips_case_accents_and_extra_space() -> None:
    assert normalise_text("Ĥélène  Dupont") == "helene dupont"
    assert normalise_text("  Jürgen\tMÜLLER ") == "jurgen muller"


def test_human_name_parts_are_separate_values() -> None:
    patient = {
        "resourceType": "Patient",
        "name": [{"family": "Dupont", "given": ["Ĥélène", "Marie"], "prefix": ["Dr"]}],
    }
    rows = extract(patient)
    assert _rows(rows, "string", "name") == [
        ("dupont", "Dupont"),
        ("helene", "Ĥélène"),
        ("marie", "Marie"),
        ("dr", "Dr"),
    ]
    assert _rows(rows, "string", "given") == [("helene", "Ĥélène"), ("marie", "Marie")]


def test_address_parts_are_separate_values() -> None:
    patient = {
        "resourceType": "Patient",
        "address": [{"line": ["1 Rue Haute"], "city": "Genève", "postalCode": "1204"}],
    }
    rows = extract(patient)
    assert _rows(rows, "string", "address") == [
        ("1 rue haute", "1 Rue Haute"),
        ("geneve", "Genève"),
        ("1204", "1204"),
    ]
    assert _rows(rows, "string", "address-city") == [("geneve", "Genève")]


def test_strings_are_truncated() -> None:
    rows = extract({"resourceType": "Organization", "name": "A" * 300})
    ((normalised, exact),) = _rows(rows, "string", "name")
    assert (normalised, exact) == ("a" * 255, "A" * 255)


# --- token (search.html#token) -------------------------------------------------------------------


def test_boolean_token() -> None:
    rows = extract({"resourceType": "Patient", "active": False})
    assert _rows(rows, "token", "active") == [(None, "false", None)]


def test_identifier_token_has_type_text() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"system": "urn:oid:1.2.36", "value": "12345", "type": {"text": "Medical Record"}}
        ],
    }
    rows = extract(patient)
    assert _rows(rows, "token", "identifier") == [("urn:oid:1.2.36", "12345", "medical record")]


def test_codeable_concept_tokens_and_text() -> None:
    condition = {
        "resourceType": "Condition",
        "code": {
            "coding": [{"system": "http://snomed.info/sct", "code": "39065001", "display": "Burn"}],
            "text": "Burnt Éar",
        },
    }
    rows = extract(condition)
    assert _rows(rows, "token", "code") == [
        ("http://snomed.info/sct", "39065001", "burn"),
        (None, None, "burnt ear"),
    ]


def test_coding_token() -> None:
    encounter = {
        "resourceType": "Encounter",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
    }
    assert _rows(extract(encounter), "token", "class") == [
        ("http://terminology.hl7.org/CodeSystem/v3-ActCode", "IMP", None)
    ]


def test_contact_point_token_is_its_value() -> None:
    patient = {
        "resourceType": "Patient",
        "telecom": [
            {"system": "phone", "value": "+41 22 000 00 00", "use": "work"},
            {"system": "email", "value": "h@example.org"},
        ],
    }
    rows = extract(patient)
    assert _rows(rows, "token", "phone") == [(None, "+41 22 000 00 00", None)]
    assert _rows(rows, "token", "email") == [(None, "h@example.org", None)]
    assert _rows(rows, "token", "telecom") == [
        (None, "+41 22 000 00 00", None),
        (None, "h@example.org", None),
    ]


@pytest.mark.parametrize(
    ("deceased", "expected"),
    [
        ({}, "false"),
        ({"deceasedBoolean": False}, "false"),
        ({"deceasedBoolean": True}, "true"),
        ({"deceasedDateTime": "2015-02-14"}, "true"),
    ],
)
def test_deceased_token(deceased: dict[str, Any], expected: str) -> None:
    # `Patient.deceased.exists() and Patient.deceased != false` is a boolean on every Patient.
    rows = extract({"resourceType": "Patient", **deceased})
    assert _rows(rows, "token", "deceased") == [(None, expected, None)]


def test_long_codes_are_truncated() -> None:
    rows = extract(
        {"resourceType": "Patient", "identifier": [{"system": "s" * 600, "value": "v" * 300}]}
    )
    assert _rows(rows, "token", "identifier") == [("s" * 512, "v" * 255, None)]


# --- number, quantity, uri ---------------------------------------------------------------------


def test_number_from_integers_and_decimals() -> None:
    sequence = {"resourceType": "MolecularSequence", "variant": [{"start": 10, "end": 20}]}
    rows = extract(sequence)
    assert _rows(rows, "number", "variant-start") == [(Decimal(10),)]
    risk = {
        "resourceType": "RiskAssessment",
        "prediction": [{"probabilityDecimal": Decimal("0.02")}, {"probabilityRange": {}}],
    }
    assert _rows(extract(risk), "number", "probability") == [(Decimal("0.02"),)]


def test_quantity_with_system_and_code() -> None:
    observation = {
        "resourceType": "Observation",
        "valueQuantity": {
            "value": Decimal("185.5"),
            "unit": "lbs",
            "system": "http://unitsofmeasure.org",
            "code": "[lb_av]",
        },
    }
    rows = extract(observation)
    assert _rows(rows, "quantity", "value-quantity") == [
        (Decimal("185.5"), "http://unitsofmeasure.org", "[lb_av]", "lbs")
    ]


def test_choice_type_as_quantity_ignores_other_types() -> None:
    observation = {"resourceType": "Observation", "valueString": "185 lbs"}
    rows = extract(observation)
    assert _rows(rows, "quantity", "value-quantity") == []
    assert _rows(rows, "string", "value-string") == [("185 lbs", "185 lbs")]


def test_money_and_range_quantities() -> None:
    charge = {
        "resourceType": "ChargeItem",
        "priceOverride": {"value": Decimal("40.00"), "currency": "EUR"},
    }
    assert _rows(extract(charge), "quantity", "price-override") == [
        (Decimal("40.00"), "urn:iso:std:iso:4217", "EUR", None)
    ]
    value_set = {
        "resourceType": "ValueSet",
        "useContext": [
            {
                "code": {"code": "age"},
                "valueRange": {"low": {"value": 18, "unit": "a"}, "high": {"value": 65}},
            }
        ],
    }
    assert _rows(extract(value_set), "quantity", "context-quantity") == [
        (Decimal(18), None, None, "a"),
        (Decimal(65), None, None, None),
    ]


def test_uri_and_meta_params() -> None:
    value_set = {
        "resourceType": "ValueSet",
        "url": "http://example.org/fhir/ValueSet/x",
        "meta": {
            "profile": ["http://hl7.org/fhir/StructureDefinition/shareablevalueset"],
            "source": "http://example.org/feed",
            "tag": [{"system": "http://example.org/tags", "code": "test"}],
            "security": [{"system": "http://example.org/sec", "code": "R"}],
            "lastUpdated": "2020-01-01T00:00:00Z",
        },
        "id": "x",
    }
    rows = extract(value_set)
    assert _rows(rows, "uri", "url") == [("http://example.org/fhir/ValueSet/x",)]
    assert _rows(rows, "uri", "_profile") == [
        ("http://hl7.org/fhir/StructureDefinition/shareablevalueset",)
    ]
    assert _rows(rows, "uri", "_source") == [("http://example.org/feed",)]
    assert _rows(rows, "token", "_tag") == [("http://example.org/tags", "test", None)]
    assert _rows(rows, "token", "_security") == [("http://example.org/sec", "R", None)]
    # _id and _lastUpdated are columns of the store, not index rows.
    assert _rows(rows, "token", "_id") == []
    assert _rows(rows, "date", "_lastUpdated") == []


# --- reference (search.html#reference) -----------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ({"reference": "Practitioner/f201"}, [("Practitioner", "f201", None)]),
        ({"reference": "Practitioner/f201/_history/3"}, [("Practitioner", "f201", None)]),
        (
            {"reference": "http://other.org/fhir/Practitioner/9"},
            [("Practitioner", "9", "http://other.org/fhir/Practitioner/9")],
        ),
        (
            {"reference": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a"},
            [(None, None, "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a")],
        ),
        ({"reference": "urn:oid:1.2.3"}, [(None, None, "urn:oid:1.2.3")]),
        (
            {"reference": "http://example.org/staff?id=9"},
            [(None, None, "http://example.org/staff?id=9")],
        ),
        ({"reference": "#practitioner1"}, []),
        ({"identifier": {"system": "http://x.org", "value": "9"}}, []),
        ({"display": "Dr Nobody"}, []),
    ],
)
def test_reference_forms(reference: dict[str, Any], expected: list[tuple[Any, ...]]) -> None:
    rows = extract({"resourceType": "Encounter", "participant": [{"individual": reference}]})
    assert _rows(rows, "reference", "participant") == expected


def test_canonical_reference_keeps_its_version() -> None:
    care_plan = {
        "resourceType": "CarePlan",
        "instantiatesCanonical": ["http://example.org/fhir/PlanDefinition/diabetes|2.1"],
    }
    assert _rows(extract(care_plan), "reference", "instantiates-canonical") == [
        (None, None, "http://example.org/fhir/PlanDefinition/diabetes|2.1")
    ]


def test_resolve_is_patient_keeps_patient_references_only() -> None:
    for subject, patients in (
        ({"reference": "Patient/p1"}, [("Patient", "p1", None)]),
        ({"reference": "Group/g1"}, []),
    ):
        rows = extract({"resourceType": "Observation", "subject": subject})
        assert _rows(rows, "reference", "patient") == patients
        assert _rows(rows, "reference", "subject") == [
            (subject["reference"].split("/")[0], subject["reference"].split("/")[1], None)
        ]


def test_bundle_first_resource_is_a_reference() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "document",
        "entry": [{"resource": {"resourceType": "Composition", "id": "c1"}}],
    }
    assert _rows(extract(bundle), "reference", "composition") == [("Composition", "c1", None)]


# --- the whole resource --------------------------------------------------------------------------


def test_identical_rows_are_written_once() -> None:
    patient = {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:x", "value": "1"}, {"system": "urn:x", "value": "1"}],
        "name": [{"given": ["Ann", "Ann"]}],
    }
    rows = extract(patient)
    assert _rows(rows, "token", "identifier") == [("urn:x", "1", None)]
    assert _rows(rows, "string", "given") == [("ann", "Ann")]


def test_values_of_unexpected_shape_are_skipped() -> None:
    odd = {
        "resourceType": "Patient",
        "birthDate": "yesterday",
        "name": ["Ann", {"given": [None, 3]}],
        "telecom": [{"system": ["phone"], "value": {"nested": True}}],
        "identifier": [{"type": "MR", "value": 7}],
        "managingOrganization": {"reference": 42},
        "address": [{"line": [None]}],
        "active": "yes",
    }
    rows = extract(odd)
    assert rows.date == []
    assert _rows(rows, "string", "name") == [("ann", "Ann")]
    assert _rows(rows, "token", "active") == [(None, "yes", None)]


def test_unknown_or_missing_resource_type_gives_no_rows() -> None:
    assert extract({"name": "x"}) == IndexRows()
    assert extract({"resourceType": "NoSuchType"}) == IndexRows()
    assert extract({"resourceType": ["Patient"]}) == IndexRows()


def test_composite_components_are_indexed_params_of_the_same_type() -> None:
    for resource_type in all_resource_types():
        params = params_for(resource_type)
        for param in params.values():
            for url, _expression in param.components:
                component = param_by_url(url)
                assert component is not None, url
                assert params.get(component.code) == component
                assert component.type not in ("composite", "special")


def test_bundle_bases_are_resource_types() -> None:
    for resource_type in all_resource_types():
        for param in params_for(resource_type).values():
            assert set(param.base) <= all_resource_types() | {"Resource", "DomainResource"}


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda path: path.stem)
def test_official_examples_give_well_formed_rows(example: Path) -> None:
    resource = json.loads(example.read_text(), parse_float=Decimal)
    rows = extract(resource)
    known = params_for(resource["resourceType"])
    for kind in KINDS:
        for row in getattr(rows, kind):
            assert (row[0] == "_text" and kind == "string") or known[row[0]].type == kind
        assert len(set(getattr(rows, kind))) == len(getattr(rows, kind))
    words = [row[1] for row in rows.string if row[0] == "_text"]
    assert len(words) <= NARRATIVE_WORDS
    assert all(word.isalnum() or "_" in word for word in words)
    assert bool(words) == bool(resource.get("text", {}).get("div"))
    for row in rows.composite:
        assert known[row[0]].type == "composite" or row[0] in of_type_params(
            resource["resourceType"]
        )
    assert len(set(rows.composite)) == len(rows.composite)
    for _param, normalised, exact in rows.string:
        assert 0 < len(normalised) <= 255 and 0 < len(exact) <= 255
    for _param, low, high in rows.date:
        assert low.tzinfo is UTC and high.tzinfo is UTC and low <= high
    for _param, *token in rows.token:
        assert any(token)
    for _param, target_type, target_id, url in rows.reference:
        assert (target_type is None) == (target_id is None)
        assert target_type is not None or url is not None


def test_patient_example_rows() -> None:
    rows = extract(_example("patient-example.json"))
    assert _rows(rows, "string", "family") == [("chalmers", "Chalmers"), ("windsor", "Windsor")]
    assert _rows(rows, "token", "gender") == [(None, "male", None)]
    assert _rows(rows, "token", "identifier") == [("urn:oid:1.2.36.146.595.217.0.1", "12345", None)]
    assert _rows(rows, "date", "birthdate") == [
        (_utc(1974, 12, 25), _utc(1974, 12, 25, 23, 59, 59, 999999))
    ]
    assert _rows(rows, "reference", "organization") == [("Organization", "1", None)]


def test_observation_example_rows() -> None:
    rows = extract(_example("observation-example.json"))
    assert ("http://loinc.org", "29463-7", "body weight") in _rows(rows, "token", "code")
    assert _rows(rows, "quantity", "value-quantity") == [
        (Decimal(185), "http://unitsofmeasure.org", "[lb_av]", "lbs")
    ]
    assert _rows(rows, "reference", "patient") == [("Patient", "example", None)]


def test_registry_has_resource_params_with_expressions_only() -> None:
    params = params_for("Patient")
    assert {"_id", "_lastUpdated", "_profile", "_security", "_source", "_tag"} <= set(params)
    assert not {"_text", "_content", "_query"} & set(params)
    patient = params_for("Observation")["patient"]
    assert (patient.type, patient.targets) == ("reference", ("Patient",))
    assert "Observation" in patient.base and patient.url.startswith("http://hl7.org/fhir/")
    combo = params_for("Observation")["code-value-quantity"]
    assert combo.components == (
        ("http://hl7.org/fhir/SearchParameter/clinical-code", "code"),
        ("http://hl7.org/fhir/SearchParameter/Observation-value-quantity", "value.as(Quantity)"),
    )


# --- composite (search.html#composite: all components within one element) ------------------------

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"


def _blood_pressure() -> dict[str, Any]:
    def component(code: str, value: int) -> dict[str, Any]:
        return {
            "code": {"coding": [{"system": LOINC, "code": code}]},
            "valueQuantity": {"value": Decimal(value), "system": UCUM, "code": "mm[Hg]"},
        }

    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "85354-9"}], "text": "Blood pressure"},
        "component": [component("8480-6", 120), component("8462-4", 80)],
    }


def _composite(rows: IndexRows, param: str) -> set[tuple[Any, ...]]:
    """(hash, {column: value}) of the param's composite rows, as sortable tuples."""
    found = set()
    for row in rows.composite:
        if row[0] == param:
            columns = zip(COMPOSITE_COLUMNS, row[2:], strict=True)
            found.add((row[1], tuple(sorted((k, v) for k, v in columns if v is not None))))
    return found


def _row(*constraints: str, **columns: Any) -> tuple[Any, ...]:
    return composite_key(constraints), tuple(sorted(columns.items()))


def _mm_hg(value: int) -> dict[str, Any]:
    return {"value": Decimal(value), "system": UCUM, "code": "mm[Hg]"}


def test_composite_rows_pair_values_of_one_element_only() -> None:
    rows = _composite(extract(_blood_pressure()), "component-code-value-quantity")
    assert rows == {
        _row(token_constraint(None, "8480-6"), **_mm_hg(120)),
        _row(token_constraint(LOINC, "8480-6"), **_mm_hg(120)),
        _row(token_constraint(LOINC, None), **_mm_hg(120)),
        _row(token_constraint(None, "8462-4"), **_mm_hg(80)),
        _row(token_constraint(LOINC, "8462-4"), **_mm_hg(80)),
        _row(token_constraint(LOINC, None), **_mm_hg(80)),
    }  # and no row pairs the systolic code with the diastolic value


def test_combo_composites_are_the_observation_and_its_components() -> None:
    # combo-code-value-quantity is code-value-quantity | component-code-value-quantity: its
    # values are searched in their rows, not stored twice.
    observation = _blood_pressure() | {"valueQuantity": _mm_hg(1)}
    rows = extract(observation)
    assert _composite(rows, "combo-code-value-quantity") == set()
    assert _composite(rows, "code-value-quantity") == {
        _row(token_constraint(None, "85354-9"), **_mm_hg(1)),
        _row(token_constraint(LOINC, "85354-9"), **_mm_hg(1)),
        _row(token_constraint(LOINC, None), **_mm_hg(1)),
    }
    assert composite_sources("Observation", "combo-code-value-quantity") == (
        "code-value-quantity",
        "component-code-value-quantity",
    )
    assert composite_sources("Observation", "combo-code-value-concept") == (
        "code-value-concept",
        "component-code-value-concept",
    )
    assert composite_sources("Observation", "code-value-quantity") == ("code-value-quantity",)


def test_composite_without_every_component_has_no_rows() -> None:
    observation = _blood_pressure()
    observation["component"][0] = {"code": {"text": "systolic"}, "valueString": "high"}
    rows = extract(observation)
    assert {dict(row[1])["value"] for row in _composite(rows, "component-code-value-quantity")} == {
        Decimal(80)
    }
    assert _composite(rows, "code-value-quantity") == set()


def _coded(value: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Observation", "code": {"coding": [{"code": "x"}]}, **value}


def test_composite_dates_and_strings() -> None:
    any_x = token_constraint(None, "x")
    dated = _composite(extract(_coded({"valueDateTime": "2024-05"})), "code-value-date")
    end = _utc(2024, 5, 31, 23, 59, 59, 999999)
    assert _row(any_x, low=_utc(2024, 5, 1), high=end) in dated
    text = _composite(extract(_coded({"valueString": "Héllo  World"})), "code-value-string")
    assert _row(any_x, text="hello world") in text


def test_two_exact_components_hash_each_combination_of_their_constraints() -> None:
    sct = "http://snomed.info/sct"
    concept = {"valueCodeableConcept": {"coding": [{"system": sct, "code": "1"}], "text": "a"}}
    coded = _composite(extract(_coded(concept)), "code-value-concept")
    x = [token_constraint(None, "x"), token_constraint("", "x")]  # no system: none for system|
    one = [token_constraint(None, "1"), token_constraint(sct, "1"), token_constraint(sct, None)]
    assert coded == {_row(a, b) for a in x for b in one}


def test_composite_number_components_fill_two_columns() -> None:
    sequence = {
        "resourceType": "MolecularSequence",
        "coordinateSystem": 0,
        "referenceSeq": {"chromosome": {"coding": [{"code": "1"}]}},
        "variant": [{"start": 10, "end": 20}],
    }
    rows = _composite(extract(sequence), "chromosome-variant-coordinate")
    assert _row(token_constraint(None, "1"), value=Decimal(10), value2=Decimal(20)) in rows
    parts = composite_parts("MolecularSequence", "chromosome-variant-coordinate")
    assert [part.columns for part in parts] == [(), ("value",), ("value2",)]


def test_relationship_pairs_the_target_with_the_relation() -> None:
    # The R4 bundle swaps the two components' expressions; they are paired as later versions do.
    document = {
        "resourceType": "DocumentReference",
        "status": "current",
        "content": [{"attachment": {"url": "http://x"}}],
        "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/old"}}],
    }
    rows = _composite(extract(document), "relationship")
    target = reference_constraint("DocumentReference", "old", None)
    assert _row(target, token_constraint(None, "replaces")) in rows


def test_every_composite_fits_the_composite_columns() -> None:
    assert [c.name for c in idx_composite.columns][2:] == ["param", "hash", *COMPOSITE_COLUMNS]
    for resource_type in all_resource_types():
        for code, param in params_for(resource_type).items():
            if param.type == "composite":
                parts = composite_parts(resource_type, code)
                assert len(parts) == len(param.components)
                assert parts[0].columns == ()  # the first component is always matched exactly


def test_identifier_types_are_indexed_with_their_identifier_for_of_type() -> None:
    v2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
    patient = {
        "resourceType": "Patient",
        "identifier": [
            {"type": {"coding": [{"system": v2, "code": "MR"}]}, "value": "123"},
            {"type": {"coding": [{"system": v2, "code": "DL"}, {"code": "local"}]}, "value": "456"},
            {"type": {"text": "no coding"}, "value": "789"},
        ],
    }

    def of_type(system: str, code: str, value: str) -> tuple[Any, ...]:
        return _row(token_constraint(system, code), token_constraint(None, value))

    assert _composite(extract(patient), "identifier") == {
        of_type(v2, "MR", "123"),
        of_type(v2, "DL", "456"),
        of_type("", "local", "456"),
    }  # and not MR with 456
    assert "identifier" in of_type_params("Patient")
    assert "code" not in of_type_params("Observation")


def test_narrative_words_are_distinct_normalised_and_capped() -> None:
    div = "<div><p>Chest PAIN, chest pain &lt;3 days&gt;</p><br/>Hüseynov</div>"
    narrated = {"resourceType": "Observation", "text": {"status": "generated", "div": div}}
    assert narrative_words(narrated) == ["chest", "pain", "3", "days", "huseynov"]
    long = " ".join(f"w{number}" for number in range(NARRATIVE_WORDS + 50))
    narrated["text"]["div"] = f"<div>{long}</div>"
    assert narrative_words(narrated) == [f"w{number}" for number in range(NARRATIVE_WORDS)]
    assert narrative_words({"resourceType": "Observation", "text": "not a narrative"}) == []
