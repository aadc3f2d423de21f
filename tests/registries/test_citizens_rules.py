"""The citizens registry's rules over a Patient, as plain functions over plain values."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001, RUF003

from datetime import date
from typing import Any

import pytest

from shafa.registries.citizens import rules
from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from shafa.terminology import admin_division

TODAY = date(2026, 3, 2)


def patient(**elements: Any) -> dict[str, Any]:
    return {"resourceType": "Patient", **elements}


def fin(value: Any) -> dict[str, Any]:
    return {"system": FIN_SYSTEM, "value": value}


def where(issues: list) -> list[str]:
    return [expression for issue in issues for expression in issue.expression]


def test_a_well_kept_citizen_breaks_no_rule() -> None:
    leyla = patient(
        identifier=[fin("5ABC123"), {"system": "urn:oid:1.2.3", "value": "mrn-7"}],
        name=[
            {"use": "official", "family": "Məmmədova", "given": ["Leyla", "Əli qızı"]},
            {
                "use": "official",
                "family": "Мамедова",
                "given": ["Лейла"],
                "extension": [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}],
            },
        ],
        birthDate="1990-05-17",
        deceasedDateTime="2026-03-02T08:00:00+04:00",
        telecom=[
            {"system": "phone", "value": "+994 50 123 45 67"},
            {"system": "email", "value": "x"},
        ],
        address=[{"city": "Bakı", "postalCode": "AZ1000", "country": "AZ"}],
    )
    assert rules.patient_issues(leyla, TODAY) == []
    assert rules.patient_issues(patient(), TODAY) == []


@pytest.mark.parametrize("value", ["5ABC123", "0000000", "ZZZZZZZ", "1234567", "7XYZ890"])
def test_a_fin_is_seven_digits_and_capitals(value: str) -> None:
    assert rules.fin_problem(value) is None
    assert rules.fin_issues(patient(identifier=[fin(value)])) == []


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("5ABC12", "has 6 characters, not 7"),
        ("5ABC1234", "has 8 characters, not 7"),
        ("", "has 0 characters"),
        ("5abc123", "must be written in capitals: 5ABC123"),
        ("5ABCI23", "the letter I or O"),
        ("5OBC123", "the letter I or O"),
        ("5ABC-12", "only digits and Latin capital letters"),
        ("5ƏBC123", "only digits and Latin capital letters"),
        ("5\u0410BC123", "only digits and Latin capital letters"),  # a Cyrillic А
        ("5IOXIO1", "the letter I or O"),
    ],
)
def test_anything_else_is_refused_and_said_how_to_put_right(value: str, said: str) -> None:
    issues = rules.fin_issues(patient(identifier=[{"use": "usual"}, fin(value)]))
    assert len(issues) == 1 and said in issues[0].diagnostics
    assert issues[0].code == "value"
    assert where(issues) == ["Patient.identifier[1].value"]


def test_a_fin_system_without_a_value_and_a_second_fin_are_refused() -> None:
    assert where(rules.fin_issues(patient(identifier=[{"system": FIN_SYSTEM}]))) == [
        "Patient.identifier[0].value"
    ]
    two = rules.fin_issues(patient(identifier=[fin("5ABC123"), fin("7XYZ890")]))
    assert where(two) == ["Patient.identifier[1]"] and "one FIN for life" in two[0].diagnostics
    # Other identifiers, and identifiers of odd shape, are not the registry's.
    odd = patient(identifier=[{"system": "urn:x", "value": "5abc"}, "x", {"value": 3}])
    assert rules.fin_issues(odd) == []


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("1990", (date(1990, 1, 1), date(1990, 12, 31))),
        ("2024-02", (date(2024, 2, 1), date(2024, 2, 29))),
        ("1990-05-17", (date(1990, 5, 17), date(1990, 5, 17))),
        ("1990-05-17T23:30:00-05:00", (date(1990, 5, 17), date(1990, 5, 17))),
        ("2021-02-30", None),
        ("yesterday", None),
        (None, None),
    ],
)
def test_a_date_spans_the_days_its_precision_covers(text: Any, span: Any) -> None:
    assert rules.date_span(text) == span


@pytest.mark.parametrize(
    ("elements", "expected"),
    [
        ({"birthDate": "2026-03-02"}, []),  # born today
        ({"birthDate": "2026"}, []),  # this year
        ({"birthDate": "2026-03-03"}, ["Patient.birthDate"]),
        ({"birthDate": "2027"}, ["Patient.birthDate"]),
        ({"deceasedDateTime": "2026-03-03"}, ["Patient.deceasedDateTime"]),
        ({"birthDate": "1990-05-17", "deceasedDateTime": "1990-05-17T01:00:00Z"}, []),
        ({"birthDate": "1990-05", "deceasedDateTime": "1990"}, []),  # may be the same year
        (
            {"birthDate": "1990-05-17", "deceasedDateTime": "1990-05-16"},
            ["Patient.deceasedDateTime"],
        ),
        ({"birthDate": "1990", "deceasedDateTime": "1989-12-31"}, ["Patient.deceasedDateTime"]),
        ({"birthDate": "1990", "deceasedBoolean": True}, []),
    ],
)
def test_no_birth_or_death_after_today_and_no_death_before_birth(
    elements: dict, expected: list[str]
) -> None:
    issues = rules.life_issues(patient(**elements), TODAY)
    assert where(issues) == expected
    assert all(issue.code == "business-rule" for issue in issues)


def _named(name: dict) -> list[str]:
    return where(rules.name_issues(patient(name=[{"family": "Əliyev"}, name])))


def _in(language: str, **parts: Any) -> dict:
    return {"extension": [{"url": LANGUAGE_EXTENSION, "valueCode": language}], **parts}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ({"family": "Əliyev", "given": ["İlham", "Heydər oğlu"], "text": "Əliyev İlham"}, []),
        ({"family": "O'Neil-Smith", "prefix": ["Dr."]}, []),
        ({"family": "Алиев"}, ["Patient.name[1].family"]),
        ({"given": ["Anar", "Илья"]}, ["Patient.name[1].given[1]"]),
        (_in("ru", family="Алиев", given=["Ильхам"]), []),
        (_in("ru-Cyrl", family="Алиев"), []),
        (_in("az-Cyrl", family="Әлијев"), []),
        (_in("az", family="Алиев"), ["Patient.name[1].family"]),
        (_in("ru", family="Aliyev"), ["Patient.name[1].family"]),
        (_in("az-Latn", family="Əliyev"), []),
        (_in("zh", family="李"), []),  # a script the registry does not know: not its to judge
        (_in("sr-Cyrl", family="Алиев"), []),
        (_in("not a tag!", family="Əliyev"), ["Patient.name[1].extension"]),
    ],
)
def test_a_name_is_written_in_the_script_of_its_language(name: dict, expected: list[str]) -> None:
    assert _named(name) == expected


def test_the_message_says_how_to_give_another_spelling() -> None:
    (issue,) = rules.name_issues(patient(name=[{"family": "Алиев"}]))
    assert "Latin letters" in issue.diagnostics and LANGUAGE_EXTENSION in issue.diagnostics


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("+994 50 123 45 67", None),
        ("+994501234567", None),
        ("(012) 498-21-33", None),
        ("(03) 5555 6473", None),
        ("112", None),
        ("+41 22 000 00 00", None),
        ("+994 50 123 45 6", "has 8 digits after +994"),
        ("+994 50 123 45 678", "has 10 digits after +994"),
        ("12", "at least 3"),
        ("+1 234 567 890 123 456", "at most 15"),
        ("call me", "may hold only digits"),
        ("050 123 45 67 ext 2", "may hold only digits"),
    ],
)
def test_a_phone_number_is_digits_and_usual_separators(value: str, problem: str | None) -> None:
    found = rules.phone_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found)
    issues = rules.phone_issues(patient(telecom=[{"system": "sms", "value": value}]))
    assert where(issues) == ([] if problem is None else ["Patient.telecom[0].value"])


def test_only_phone_numbers_are_judged_as_phone_numbers() -> None:
    telecom = [{"system": "email", "value": "a@b"}, {"system": "phone"}, {"value": "x"}]
    assert rules.phone_issues(patient(telecom=telecom)) == []


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ({"postalCode": "AZ1000", "country": "AZ"}, []),
        ({"postalCode": "AZ 2000", "country": "Azərbaycan"}, []),
        ({"postalCode": "1000", "country": "AZE"}, ["Patient.address[0].postalCode"]),
        ({"postalCode": "AZ100", "country": "az"}, ["Patient.address[0].postalCode"]),
        ({"postalCode": "1204", "country": "CH"}, []),
        ({"postalCode": "anything"}, []),  # no country: not known to be in Azerbaijan
        ({"country": "AZ"}, []),
    ],
)
def test_an_address_in_azerbaijan_has_an_azerpost_code(address: dict, expected: list[str]) -> None:
    assert where(rules.address_issues(patient(address=[address]))) == expected


def _in_division(code: str, system: str = admin_division.URL) -> dict:
    extension = {
        "url": rules.ADMIN_DIVISION_EXTENSION,
        "valueCoding": {"system": system, "code": code},
    }
    return {"country": "AZ", "extension": [extension]}


@pytest.mark.parametrize(
    ("code", "system", "refused"),
    [
        ("AZ-QBA", admin_division.URL, False),  # Quba district
        ("AZ-BA-NSM", admin_division.URL, False),  # Nəsimi, a district of Baku
        ("AZ-GA", admin_division.URL, False),  # Gəncə city
        ("AZ-NX", admin_division.URL, False),  # the autonomous republic
        ("ER-01", admin_division.URL, True),  # an economic region: nobody lives at one
        ("AZ-XYZ", admin_division.URL, True),  # no such unit
        ("AZ-QBA", "urn:iso:std:iso:3166:-2", True),  # another system
    ],
)
def test_an_address_is_placed_on_the_official_administrative_division(
    code: str, system: str, refused: bool
) -> None:
    issues = rules.address_issues(patient(address=[_in_division(code, system)]))
    assert where(issues) == (["Patient.address[0].extension[0].valueCoding"] if refused else [])
    assert all(issue.code == "code-invalid" for issue in issues)
