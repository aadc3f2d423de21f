"""Composite parameters and token :of-type (R4 search.html#composite, #token).

Expectations come from the spec: a composite matches when all its components match within one
element of its expression (the same Observation.component), each `$`-separated part taken as
its own parameter's type takes it; :of-type asks for an Identifier's type and value together.
"""

import httpx
import pytest

from tests.fhir.helpers import found, put

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
SCT = "http://snomed.info/sct"
V2 = "http://terminology.hl7.org/CodeSystem/v2-0203"
SYSTOLIC, DIASTOLIC = "8480-6", "8462-4"


def _quantity(value: int, code: str) -> dict:
    return {"value": value, "unit": code, "system": UCUM, "code": code}


def _coded(code: str, system: str = LOINC) -> dict:
    return {"coding": [{"system": system, "code": code}]}


def _blood_pressure(oid: str, systolic: int, diastolic: int) -> dict:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": _coded("85354-9"),
        "subject": {"reference": "Patient/ann"},
        "component": [
            {"code": _coded(SYSTOLIC), "valueQuantity": _quantity(systolic, "mm[Hg]")},
            {"code": _coded(DIASTOLIC), "valueQuantity": _quantity(diastolic, "mm[Hg]")},
        ],
    }


def _observation(oid: str, **value: object) -> dict:
    """An Observation coded LOINC x with the given value[x]."""
    observation = {"resourceType": "Observation", "id": oid, "status": "final"}
    return observation | {"code": _coded("x")} | value


@pytest.fixture
def vitals(fhir: httpx.Client) -> httpx.Client:
    put(fhir, {"resourceType": "Patient", "id": "ann"})
    put(fhir, _blood_pressure("bp", 120, 80))
    put(fhir, _blood_pressure("bp-low", 100, 55))
    weight = _observation("weight", valueQuantity=_quantity(72, "kg"))
    put(fhir, weight | {"code": _coded("29463-7")})
    put(fhir, _observation("hiv", valueCodeableConcept=_coded("260373001", SCT)))
    put(fhir, _observation("onset", valueDateTime="2024-05-17"))
    put(fhir, _observation("note", valueString="Slightly elevated; a$b"))
    return fhir


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{SYSTOLIC}$80", set()),  # 80 is the diastolic component's value, not the systolic's
        (f"{DIASTOLIC}$80", {"bp"}),
        (f"{SYSTOLIC}$gt100", {"bp"}),
        (f"{LOINC}|{SYSTOLIC}$ge100", {"bp", "bp-low"}),
        (f"{DIASTOLIC}$lt60", {"bp-low"}),
        (f"{LOINC}|{DIASTOLIC}$80|{UCUM}|mm[Hg]", {"bp"}),
        (f"{DIASTOLIC}$80||mm[Hg]", {"bp"}),
        (f"{DIASTOLIC}$80||kg", set()),
        (f"{LOINC}|$lt60", {"bp-low"}),  # any LOINC code
        (f"|{DIASTOLIC}$80", set()),  # a code without a system: these have one
        (f"http://other.org|{DIASTOLIC}$80", set()),
        (f"{SYSTOLIC}$gt110,{DIASTOLIC}$lt60", {"bp", "bp-low"}),
    ],
)
def test_component_code_value_quantity_matches_within_one_component(
    vitals: httpx.Client, value: str, expected: set[str]
) -> None:
    assert found(vitals, "Observation", {"component-code-value-quantity": value}) == expected


def test_repeated_composites_are_anded(vitals: httpx.Client) -> None:
    name = "component-code-value-quantity"
    both = [(name, f"{SYSTOLIC}$gt110"), (name, f"{DIASTOLIC}$lt90")]
    assert found(vitals, "Observation", both) == {"bp"}
    none = [(name, f"{SYSTOLIC}$gt110"), (name, f"{DIASTOLIC}$lt60")]
    assert found(vitals, "Observation", none) == set()


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("code-value-quantity", "29463-7$72", {"weight"}),
        ("code-value-quantity", f"{LOINC}|29463-7$gt80", set()),
        ("code-value-quantity", f"{SYSTOLIC}$120", set()),  # a component is not the Observation
        ("combo-code-value-quantity", "29463-7$72|http://unitsofmeasure.org|kg", {"weight"}),
        ("combo-code-value-quantity", f"{SYSTOLIC}$gt110", {"bp"}),
        ("combo-code-value-quantity", f"{SYSTOLIC}$80", set()),
        ("code-value-concept", f"x${SCT}|260373001", {"hiv"}),
        ("code-value-concept", "x$260373001", {"hiv"}),
        ("code-value-concept", f"{LOINC}|x${SCT}|", {"hiv"}),
        ("code-value-concept", "x$260385009", set()),
        ("code-value-concept", "y$260373001", set()),
        ("combo-code-value-concept", f"{LOINC}|x$260373001", {"hiv"}),
        ("code-value-date", "x$2024-05", {"onset"}),
        ("code-value-date", "x$2024-05-17", {"onset"}),
        ("code-value-date", "x$lt2024-06", {"onset"}),
        ("code-value-date", "x$gt2024-06", set()),
        ("code-value-date", "x$2024-06", set()),
        ("code-value-string", "x$slightly", {"note"}),
        ("code-value-string", "x$SLIGHTLY ELEV", {"note"}),
        ("code-value-string", "x$elevated", set()),  # string matching is starts-with
        ("code-value-string", r"x$slightly elevated; a\$b", {"note"}),
    ],
)
def test_each_composite_takes_its_components_types(
    vitals: httpx.Client, name: str, value: str, expected: set[str]
) -> None:
    assert found(vitals, "Observation", {name: value}) == expected


def test_missing_composites(vitals: httpx.Client) -> None:
    with_values = {"bp", "bp-low", "weight"}
    assert found(vitals, "Observation", {"combo-code-value-quantity:missing": "false"}) == (
        with_values
    )
    assert found(vitals, "Observation", {"combo-code-value-quantity:missing": "true"}) == {
        "hiv",
        "onset",
        "note",
    }
    assert found(vitals, "Observation", {"code-value-date:missing": "false"}) == {"onset"}


@pytest.mark.parametrize(
    "params",
    [
        {"component-code-value-quantity": SYSTOLIC},  # one part of two
        {"component-code-value-quantity": f"{SYSTOLIC}$60$mm"},  # three parts
        {"component-code-value-quantity": f"{SYSTOLIC}$"},
        {"component-code-value-quantity": f"{SYSTOLIC}$sixty"},
        {"component-code-value-quantity": f"{SYSTOLIC}$60|mm[Hg]"},
        {"component-code-value-quantity": "a|b|c$60"},
        {"code-value-date": "x$notadate"},
        {"code-value-date": "x$2024-13"},
        {"code-value-quantity:exact": "x$1"},
        {"code-value-quantity:missing": "perhaps"},
    ],
)
def test_bad_composite_values_are_a_400_naming_the_parameter(
    vitals: httpx.Client, params: dict[str, str]
) -> None:
    response = vitals.get("/Observation", params=params)
    assert response.status_code == 400, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    name = next(iter(params)).split(":")[0]
    issue = outcome["issue"][0]
    assert name in issue["diagnostics"] or name in " ".join(issue.get("expression", []))


def test_updates_and_deletes_leave_no_stale_composite_rows(vitals: httpx.Client) -> None:
    name = "component-code-value-quantity"
    put(vitals, _blood_pressure("bp", 140, 80))
    assert found(vitals, "Observation", {name: f"{SYSTOLIC}$120"}) == set()
    assert found(vitals, "Observation", {name: f"{SYSTOLIC}$140"}) == {"bp"}
    weight = _observation("weight", valueString="not weighed") | {"code": _coded("29463-7")}
    put(vitals, weight)
    assert found(vitals, "Observation", {"code-value-quantity": "29463-7$72"}) == set()
    assert vitals.delete("/Observation/bp").status_code == 200
    assert found(vitals, "Observation", {name: f"{DIASTOLIC}$80"}) == set()
    assert found(vitals, "Observation", {"combo-code-value-quantity": f"{SYSTOLIC}$140"}) == set()


def test_conditional_delete_by_a_composite(vitals: httpx.Client) -> None:
    response = vitals.delete(
        "/Observation", params={"component-code-value-quantity": "8462-4$lt60"}
    )
    assert response.status_code == 200
    assert vitals.get("/Observation/bp-low").status_code == 410
    assert vitals.get("/Observation/bp").status_code == 200


def test_transactions_index_composites(fhir: httpx.Client) -> None:
    entries = []
    for number in range(70):  # enough rows for COPY on PostgreSQL
        observation = _blood_pressure("x", 100 + number, 60)
        del observation["id"]
        entries.append(
            {
                "fullUrl": f"urn:uuid:00000000-0000-0000-0000-{number:012d}",
                "resource": observation,
                "request": {"method": "POST", "url": "Observation"},
            }
        )
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    response = fhir.post("", json=bundle)
    assert response.status_code == 200, response.text
    params = {"component-code-value-quantity": f"{SYSTOLIC}$ge160", "_summary": "count"}
    assert fhir.get("/Observation", params=params).json()["total"] == 10
    locations = [e["response"]["location"].split("/_history")[0] for e in response.json()["entry"]]
    deletion = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{"request": {"method": "DELETE", "url": url}} for url in locations[:65]],
    }
    assert fhir.post("", json=deletion).status_code == 200
    assert fhir.get("/Observation", params=params).json()["total"] == 5


def test_chains_and_has_take_composites(vitals: httpx.Client) -> None:
    has = {"_has:Observation:subject:component-code-value-quantity": f"{SYSTOLIC}$gt110"}
    assert found(vitals, "Patient", has) == {"ann"}
    none = {"_has:Observation:subject:component-code-value-quantity": f"{SYSTOLIC}$gt150"}
    assert found(vitals, "Patient", none) == set()


def test_composites_of_other_resource_types(fhir: httpx.Client) -> None:
    put(
        fhir,
        {
            "resourceType": "Group",
            "id": "women",
            "type": "person",
            "actual": False,
            "characteristic": [
                {"code": {"text": "gender"}, "valueCodeableConcept": _coded("female", "g")},
                {"code": _coded("age", "a"), "valueBoolean": True, "exclude": False},
            ],
        },
    )
    assert found(fhir, "Group", {"characteristic-value": "a|age$true"}) == {"women"}
    assert found(fhir, "Group", {"characteristic-value": "age$female"}) == set()
    put(
        fhir,
        {
            "resourceType": "MolecularSequence",
            "id": "seq",
            "coordinateSystem": 0,
            "referenceSeq": {"chromosome": _coded("1", "chr"), "windowStart": 0, "windowEnd": 99},
            "variant": [{"start": 10, "end": 20}, {"start": 50, "end": 60}],
        },
    )
    coordinate = "chromosome-variant-coordinate"
    assert found(fhir, "MolecularSequence", {coordinate: "1$ge10$le20"}) == {"seq"}
    assert found(fhir, "MolecularSequence", {coordinate: "chr|1$gt40$lt70"}) == {"seq"}
    assert found(fhir, "MolecularSequence", {coordinate: "1$le10$ge60"}) == set()  # two variants
    put(
        fhir,
        {
            "resourceType": "DocumentReference",
            "id": "new",
            "status": "current",
            "content": [{"attachment": {"url": "http://example.org/new.pdf"}}],
            "relatesTo": [{"code": "replaces", "target": {"reference": "DocumentReference/old"}}],
        },
    )
    relationship = "relationship"
    assert found(fhir, "DocumentReference", {relationship: "DocumentReference/old$replaces"}) == {
        "new"
    }
    assert found(fhir, "DocumentReference", {relationship: "old$replaces"}) == {"new"}
    assert found(fhir, "DocumentReference", {relationship: "old$appends"}) == set()
    put(
        fhir,
        {
            "resourceType": "ValueSet",
            "id": "adults",
            "status": "active",
            "useContext": [
                {"code": {"code": "age"}, "valueRange": {"low": {"value": 18, "code": "a"}}},
                {"code": {"code": "focus"}, "valueCodeableConcept": _coded("123", SCT)},
            ],
        },
    )
    assert found(fhir, "ValueSet", {"context-type-quantity": "age$ge18"}) == {"adults"}
    assert found(fhir, "ValueSet", {"context-type-quantity": "focus$ge18"}) == set()
    assert found(fhir, "ValueSet", {"context-type-value": f"focus${SCT}|123"}) == {"adults"}
    assert found(fhir, "ValueSet", {"context-type-value": "age$123"}) == set()


@pytest.fixture
def identified(fhir: httpx.Client) -> httpx.Client:
    def identifier(code: str, value: str) -> dict:
        return {"type": _coded(code, V2), "system": "urn:hospital", "value": value}

    patient = {
        "resourceType": "Patient",
        "id": "ann",
        "identifier": [identifier("MR", "123"), identifier("DL", "456")],
    }
    put(fhir, patient)
    put(fhir, {"resourceType": "Patient", "id": "bob", "identifier": [identifier("MR", "456")]})
    put(
        fhir,
        {
            "resourceType": "Observation",
            "id": "o",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": "Patient/ann"},
        },
    )
    return fhir


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (f"{V2}|MR|123", {"ann"}),
        (f"{V2}|DL|456", {"ann"}),
        (f"{V2}|MR|456", {"bob"}),  # ann's 456 is of another type
        (f"{V2}|MR|123,{V2}|MR|456", {"ann", "bob"}),
        ("http://other.org|MR|123", set()),
        ("|MR|123", set()),  # a type coding without a system: these have one
    ],
)
def test_of_type_matches_type_and_value_of_one_identifier(
    identified: httpx.Client, value: str, expected: set[str]
) -> None:
    assert found(identified, "Patient", {"identifier:of-type": value}) == expected


def test_of_type_in_a_chain(identified: httpx.Client) -> None:
    chain = "subject:Patient.identifier:of-type"
    assert found(identified, "Observation", {chain: f"{V2}|MR|123"}) == {"o"}
    assert found(identified, "Observation", {chain: f"{V2}|MR|456"}) == set()


@pytest.mark.parametrize("value", [f"{V2}|MR", "123", f"{V2}||123", f"{V2}|MR|"])
def test_bad_of_type_values_are_a_400(identified: httpx.Client, value: str) -> None:
    response = identified.get("/Patient", params={"identifier:of-type": value})
    assert response.status_code == 400
    assert "identifier:of-type" in response.json()["issue"][0]["expression"][0]


def test_an_identifier_changed_by_an_update_is_found_by_its_new_type(
    identified: httpx.Client,
) -> None:
    patient = {
        "resourceType": "Patient",
        "id": "ann",
        "identifier": [{"type": _coded("PPN", V2), "value": "123"}],
    }
    put(identified, patient)
    assert found(identified, "Patient", {"identifier:of-type": f"{V2}|MR|123"}) == set()
    assert found(identified, "Patient", {"identifier:of-type": f"{V2}|PPN|123"}) == {"ann"}
