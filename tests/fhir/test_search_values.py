"""Date, number and quantity search with prefixes, and :missing, as R4 search.html defines them.

Expectations are worked out from the spec's range rules by hand, not from the implementation:
a date stands for the whole range its precision covers (1990 is all of 1990), eq means the search
range contains the target's, gt means the range above the search value overlaps the target's.
"""

import httpx
import pytest

from tests.fhir.helpers import found, put

BIRTH_DATES = {"a": "1990-05-17", "b": "1990-05", "c": "1990", "d": "1991-01-01", "e": "1989-12-31"}


@pytest.fixture
def patients(fhir: httpx.Client) -> httpx.Client:
    for pid, born in BIRTH_DATES.items():
        put(fhir, {"resourceType": "Patient", "id": pid, "birthDate": born})
    put(fhir, {"resourceType": "Patient", "id": "unborn"})
    return fhir


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("1990", {"a", "b", "c"}),
        ("1990-05", {"a", "b"}),
        ("1990-05-17", {"a"}),
        ("eq1990-05", {"a", "b"}),
        ("ne1990", {"d", "e"}),
        ("gt1990-05", {"c", "d"}),
        ("lt1990-05-17", {"b", "c", "e"}),
        ("ge1990-05-17", {"a", "b", "c", "d"}),
        ("le1990-05-17", {"a", "b", "c", "e"}),
        ("sa1990-05", {"d"}),
        ("eb1990-05", {"e"}),
        ("1990-05-17,1991", {"a", "d"}),
    ],
)
def test_birthdate_prefixes_follow_the_range_rules(
    patients: httpx.Client, query: str, expected: set[str]
) -> None:
    assert found(patients, "Patient", {"birthdate": query}) == expected


def test_repeated_date_parameters_are_anded(patients: httpx.Client) -> None:
    response = patients.get("/Patient", params=[("birthdate", "ge1990"), ("birthdate", "lt1991")])
    assert {e["resource"]["id"] for e in response.json()["entry"]} == {"a", "b", "c"}


def test_missing_finds_the_patients_without_a_birth_date(patients: httpx.Client) -> None:
    assert found(patients, "Patient", {"birthdate:missing": "true"}) == {"unborn"}
    assert found(patients, "Patient", {"birthdate:missing": "false"}) == set(BIRTH_DATES)


def test_a_time_with_an_offset_is_searched_in_utc(fhir: httpx.Client) -> None:
    put(
        fhir,
        {
            "resourceType": "Observation",
            "id": "late",
            "status": "final",
            "code": {"text": "pulse"},
            "effectiveDateTime": "2024-05-17T02:00:00+04:00",  # 2024-05-16T22:00Z
        },
    )
    assert found(fhir, "Observation", {"date": "2024-05-16"}) == {"late"}
    assert found(fhir, "Observation", {"date": "2024-05-17"}) == set()
    assert found(fhir, "Observation", {"date": "2024-05-16T22:00:00Z"}) == {"late"}


def test_an_open_period_reaches_into_the_future(fhir: httpx.Client) -> None:
    put(
        fhir,
        {
            "resourceType": "Encounter",
            "id": "open",
            "status": "in-progress",
            "class": {"code": "IMP"},
            "period": {"start": "2024-01-10"},
        },
    )
    assert found(fhir, "Encounter", {"date": "gt2030"}) == {"open"}
    assert found(fhir, "Encounter", {"date": "2024-01"}) == set()  # not contained: no end
    assert found(fhir, "Encounter", {"date": "lt2024-01-11"}) == {"open"}
    assert found(fhir, "Encounter", {"date": "eb2024-01-10"}) == set()


def test_ap_finds_dates_near_the_value(patients: httpx.Client) -> None:
    # 10% of the ~36 years between now and 1990 is ~3.6 years either side.
    assert found(patients, "Patient", {"birthdate": "ap1992"}) == set(BIRTH_DATES)
    assert found(patients, "Patient", {"birthdate": "ap2010"}) == set()


@pytest.fixture
def assessments(fhir: httpx.Client) -> httpx.Client:
    for rid, probability in (("half", "0.5"), ("more", "0.55"), ("most", "0.61")):
        body = (
            f'{{"resourceType":"RiskAssessment","id":"{rid}","status":"final",'
            f'"subject":{{"reference":"Patient/p"}},'
            f'"prediction":[{{"probabilityDecimal":{probability}}}]}}'
        )
        assert fhir.put(f"/RiskAssessment/{rid}", content=body).status_code in (200, 201)
    return fhir


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("0.5", {"half"}),  # [0.45, 0.55)
        ("0.50", {"half"}),  # [0.495, 0.505)
        ("0.6", {"more", "most"}),  # [0.55, 0.65)
        ("gt0.5", {"more", "most"}),
        ("ge0.55", {"more", "most"}),
        ("le0.55", {"half", "more"}),
        ("lt0.55", {"half"}),
        ("ne0.5", {"more", "most"}),
        ("ap0.6", {"more", "most"}),  # [0.54, 0.66]
    ],
)
def test_number_precision_and_prefixes(
    assessments: httpx.Client, query: str, expected: set[str]
) -> None:
    assert found(assessments, "RiskAssessment", {"probability": query}) == expected


@pytest.fixture
def measurements(fhir: httpx.Client) -> httpx.Client:
    ucum = "http://unitsofmeasure.org"
    for oid, value, code in (("mg", "5.4", "mg"), ("g", "5.5", "g"), ("big", "100", "mg")):
        body = (
            f'{{"resourceType":"Observation","id":"{oid}","status":"final",'
            f'"code":{{"text":"dose"}},"valueQuantity":{{"value":{value},"unit":"{code}",'
            f'"system":"{ucum}","code":"{code}"}}}}'
        )
        assert fhir.put(f"/Observation/{oid}", content=body).status_code in (200, 201)
    return fhir


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("5.4|http://unitsofmeasure.org|mg", {"mg"}),
        ("5.4||mg", {"mg"}),
        ("5.4", {"mg"}),
        ("gt5", {"mg", "g", "big"}),
        ("lt10|http://unitsofmeasure.org|mg", {"mg"}),
        ("ge100||mg", {"big"}),
        ("5.5|http://unitsofmeasure.org|mg", set()),
    ],
)
def test_quantity_values_units_and_prefixes(
    measurements: httpx.Client, query: str, expected: set[str]
) -> None:
    assert found(measurements, "Observation", {"value-quantity": query}) == expected


@pytest.mark.parametrize(
    ("res_type", "params"),
    [
        ("Patient", {"birthdate": "notadate"}),
        ("Patient", {"birthdate": "2024-13"}),
        ("RiskAssessment", {"probability": "many"}),
        ("Observation", {"value-quantity": "5|mg"}),
        ("Patient", {"birthdate:missing": "maybe"}),
        ("Patient", {"birthdate:exact": "1990"}),
        ("Patient", {"identifier": "|"}),
    ],
)
def test_bad_values_are_a_400_naming_the_parameter(
    fhir: httpx.Client, res_type: str, params: dict[str, str]
) -> None:
    response = fhir.get(f"/{res_type}", params=params)
    assert response.status_code == 400
    issue = response.json()["issue"][0]
    name = next(iter(params)).split(":")[0]
    assert name in issue["diagnostics"] or name in " ".join(issue.get("expression", []))
