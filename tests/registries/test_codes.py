"""The code systems the registries ship: valid FHIR, every concept named in az, en and ru."""

import pytest

from shafa.fhir.validation import check_resource
from shafa.registries import codes, medicines_codes

SHIPPED = [
    codes.SPECIALITY,
    codes.ORGANIZATION_TYPE,
    codes.OWNERSHIP,
    codes.LICENSED_ACTIVITY,
    codes.DISABILITY_GROUP,
    codes.REGISTRY_OBSERVATION,
]


def test_every_code_system_the_rules_use_is_shipped_and_nothing_else() -> None:
    medicines = list(medicines_codes.code_systems())
    assert len(medicines) == len(medicines_codes.FILES)
    assert sorted(codes.code_systems()) == sorted(SHIPPED + medicines)


@pytest.mark.parametrize("url", SHIPPED)
def test_each_is_a_valid_complete_code_system_named_in_three_languages(url: str) -> None:
    system = codes.code_systems()[url]
    assert check_resource(system, "CodeSystem") is system
    assert system["content"] == "complete" and system["count"] == len(system["concept"])
    assert len(codes.codes(url)) == len(system["concept"])  # no code twice
    for concept in system["concept"]:
        names = {d["language"]: d["value"] for d in concept["designation"]}
        assert sorted(names) == sorted(codes.LANGUAGES), concept["code"]
        assert all(name.strip() for name in names.values()), concept["code"]
        assert names["en"] == concept["display"]


def test_display_names_a_concept_in_the_language_asked() -> None:
    assert codes.display(codes.ORGANIZATION_TYPE, "pharmacy", "az") == "Aptek"
    assert codes.display(codes.ORGANIZATION_TYPE, "pharmacy", "ru") == "Аптека"
    assert codes.display(codes.DISABILITY_GROUP, "group-1") == "Disability group I"
    assert codes.display(codes.SPECIALITY, "cardiology", "fr") == "Cardiology"
    assert codes.display(codes.SPECIALITY, "astrology") is None
