"""The master patient index's pure rules: agreement levels on real Azerbaijani name pairs, the
Fellegi-Sunter weights and grades, blocking keys, and the reference moves of a merge."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import math
from typing import Any

import pytest

from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from shafa.registries.mpi import rules
from shafa.registries.mpi.rules import DEFAULT_MODEL, Features, Grade, Level

RUSSIAN = [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]


def person(
    family: str = "Əliyev",
    *given: str,
    birth: str | None = "1985-03-07",
    sex: str | None = "male",
    district: str | None = "Yasamal",
    phone: str | None = None,
    fin: str | None = None,
    russian: bool = False,
) -> Features:
    name: dict[str, Any] = {"family": family, "given": list(given or ("Əli",))}
    if russian:
        name["extension"] = RUSSIAN
    patient: dict[str, Any] = {"resourceType": "Patient", "name": [name]}
    if birth:
        patient["birthDate"] = birth
    if sex:
        patient["gender"] = sex
    if district:
        patient["address"] = [{"district": district}]
    if phone:
        patient["telecom"] = [{"system": "phone", "value": phone}]
    if fin:
        patient["identifier"] = [{"system": FIN_SYSTEM, "value": fin}]
    return rules.features(patient)


def family_level(a: str, b: str) -> str:
    return rules.name_level(person(a).family, person(b).family)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Əliyev", "Aliyev"),
        ("Əliyev", "Алиев"),
        ("Aliyev", "Aliev"),
        ("Hüseynov", "Guseynov"),
        ("Hüseynov", "Гусейнов"),
        ("Məmmədova", "Mamedova"),
        ("Məmmədov", "Мамедов"),
        ("Qasımov", "Гасымов"),
        ("Cəfərov", "Джафаров"),
    ],
)
def test_transliterations_of_one_surname_agree_once_folded(one: str, other: str) -> None:
    assert family_level(one, other) == Level.FOLDED


def test_the_same_spelling_is_exact_whatever_the_case() -> None:
    assert family_level("Əliyev", "ƏLİYEV") == Level.EXACT
    assert family_level("Hüseynov", "Hüseynov") == Level.EXACT


@pytest.mark.parametrize(("one", "other"), [("Hüseynov", "Hüsenov"), ("Məmmədov", "Məmmədvo")])
def test_a_dropped_or_swapped_letter_is_similar(one: str, other: str) -> None:
    assert family_level(one, other) == Level.SIMILAR


@pytest.mark.parametrize(("one", "other"), [("Əliyev", "Həsənov"), ("Məmmədov", "Quliyev")])
def test_other_surnames_differ(one: str, other: str) -> None:
    assert family_level(one, other) == Level.DIFFERENT


def test_a_missing_name_weighs_nothing() -> None:
    empty = rules.features({"resourceType": "Patient", "birthDate": "1985-03-07"})
    assert rules.name_level(empty.family, person().family) == Level.MISSING
    assert DEFAULT_MODEL.weight("family", Level.MISSING) == 0.0


@pytest.mark.parametrize(
    ("one", "other", "level"),
    [
        ("1985-03-07", "1985-03-07", Level.EXACT),
        ("1985-03-07", "1985-07-03", Level.TRANSPOSED),
        ("1985-03-07", "1985-03-17", Level.YEAR_MONTH),
        ("1985-03-07", "1958-03-07", Level.DAY_MONTH),
        ("1985-03-07", "1990-11-21", Level.DIFFERENT),
        ("1985", "1985-03-07", Level.YEAR_MONTH),
        ("1985-03", "1985-03-07", Level.YEAR_MONTH),
        (None, "1985-03-07", Level.MISSING),
    ],
)
def test_birth_dates_agree_in_part(one: str | None, other: str, level: str) -> None:
    assert rules.date_level(one, other) == level


def test_the_weight_is_the_sum_of_log2_m_over_u_of_each_field() -> None:
    a = person("Əliyev", "Əli", phone="+994 50 123 45 67")
    b = person("Aliyev", "Əli", birth="1985-07-03", district="Nəsimi", phone="050 123 45 67")
    match = rules.compare(a, b)
    assert match.levels == {
        "fin": Level.MISSING,
        "family": Level.FOLDED,
        "given": Level.EXACT,
        "patronymic": Level.MISSING,
        "birth_date": Level.TRANSPOSED,
        "sex": Level.EXACT,
        "district": Level.DIFFERENT,
        "phone": Level.EXACT,
    }
    p = DEFAULT_MODEL.probabilities
    expected = sum(
        math.log2(m / u)
        for m, u in (
            p["family"][Level.FOLDED],
            p["given"][Level.EXACT],
            p["birth_date"][Level.TRANSPOSED],
            p["sex"][Level.EXACT],
            p["district"][Level.DIFFERENT],
            p["phone"][Level.EXACT],
        )
    )
    assert match.weight == pytest.approx(expected)
    assert match.score == pytest.approx(1 / (1 + 2 ** -(expected + DEFAULT_MODEL.prior)))


def test_one_person_spelled_three_ways_is_a_certain_match() -> None:
    latin = person("Əliyev", "Əli", "Vaqif oğlu")
    for other in (
        person("Aliyev", "Ali", "Vagif ogly"),
        person("Алиев", "Али", "Вагиф оглы", russian=True),
    ):
        match = rules.compare(latin, other)
        assert match.levels["patronymic"] in (Level.FOLDED, Level.EXACT)
        assert match.grade is Grade.CERTAIN, match


def test_day_and_month_swapped_falls_in_the_review_band() -> None:
    match = rules.compare(person(), person(birth="1985-07-03"))
    assert match.grade is Grade.PROBABLE
    assert rules.in_review_band(match)


def test_twins_are_only_possibly_one_person() -> None:
    match = rules.compare(person("Əliyev", "Tural"), person("Əliyev", "Elvin"))
    assert match.grade is Grade.POSSIBLE
    assert match.score < 0.5


def test_strangers_are_no_match() -> None:
    match = rules.compare(
        person("Əliyev", "Tural", birth="1990-01-01"),
        person("Həsənova", "Leyla", birth="1972-06-30", sex="female", district="Quba"),
    )
    assert match.grade is None
    assert not rules.in_review_band(match)


def test_the_same_fin_is_certain_and_two_fins_certainly_not() -> None:
    same = rules.compare(person(fin="5ABC123"), person("Həsənov", fin="5ABC123", birth=None))
    assert (same.grade, same.score) == (Grade.CERTAIN, 1.0)
    other = rules.compare(person(fin="5ABC123"), person(fin="7XYZ890"))
    assert (other.grade, other.score) == (Grade.CERTAINLY_NOT, 0.0)
    assert not rules.in_review_band(other)
    assert not rules.in_review_band(same)  # the FIN decided: no one need look


def test_thresholds_grade_the_weight() -> None:
    m = DEFAULT_MODEL
    assert rules.grade_of(m.certain) is Grade.CERTAIN
    assert rules.grade_of(m.certain - 0.01) is Grade.PROBABLE
    assert rules.grade_of(m.probable) is Grade.PROBABLE
    assert rules.grade_of(m.possible) is Grade.POSSIBLE
    assert rules.grade_of(m.possible - 0.01) is None


def test_the_model_takes_overrides_and_refuses_nonsense() -> None:
    changed = DEFAULT_MODEL.merged(
        {"probabilities": {"family": {"exact": [0.9, 0.1]}}, "certain": 30}
    )
    assert changed.weight("family", Level.EXACT) == pytest.approx(math.log2(9))
    assert changed.certain == 30.0
    assert changed.weight("given", Level.EXACT) == DEFAULT_MODEL.weight("given", Level.EXACT)
    with pytest.raises(ValueError, match="not a compared field"):
        DEFAULT_MODEL.merged({"probabilities": {"shoe_size": {"exact": [0.9, 0.1]}}})
    with pytest.raises(ValueError, match="agreement level"):
        DEFAULT_MODEL.merged({"probabilities": {"family": {"nearly": [0.9, 0.1]}}})
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        DEFAULT_MODEL.merged({"probabilities": {"family": {"exact": [1.5, 0.1]}}})
    with pytest.raises(ValueError, match="thresholds"):
        DEFAULT_MODEL.merged({"possible": 40})


def test_features_read_patronymics_phones_and_districts() -> None:
    f = rules.features(
        {
            "resourceType": "Patient",
            "name": [{"family": "Əliyeva", "given": ["Leyla Vaqif qızı"]}],
            "telecom": [
                {"system": "phone", "value": "+994 50 123 45 67"},
                {"system": "email", "value": "leyla@example.az"},
                {"system": "sms", "value": "112"},
            ],
            "address": [{"city": "Bakı"}, {"district": "Nəsimi", "city": "Bakı"}],
            "gender": "other",
        }
    )
    assert f.given.spellings == {"leyla"}
    assert f.patronymic.spellings == {"vaqif"}
    assert f.phones == {"501234567"}
    assert f.districts == {rules.fold_name("Bakı"), rules.fold_name("Nəsimi")}
    assert f.sex is None
    assert Features.from_json(f.as_json()) == f


def test_a_near_duplicate_shares_a_blocking_key() -> None:
    original = person("Hüseynov", "Elvin", birth="1990-04-11")
    for copy in (
        person("Гусейнов", "Эльвин", birth="1990-04-11", russian=True),
        person("Hüseynov", "Elvin", birth="1990-11-04", sex=None),
        person("Hüsenov", "Elvin", birth="1990-04-11"),
        person("Hüseynov", "Elvin", birth=None),
    ):
        assert rules.blocking_keys(original) & rules.query_keys(copy), copy


def test_only_a_record_without_a_birth_date_looks_up_names_by_district() -> None:
    assert not any(key.startswith("gfa|") for key in rules.query_keys(person()))
    assert any(key.startswith("gfa|") for key in rules.query_keys(person(birth=None)))
    assert not any(key.startswith("ds|") for key in rules.query_keys(person(), broad=False))


def test_key_hashes_are_signed_64_bit_and_stable() -> None:
    value = rules.key_hash("fin|5ABC123")
    assert -(2**63) <= value < 2**63
    assert value == rules.key_hash("fin|5ABC123") != rules.key_hash("fin|5ABC124")


def test_references_move_to_the_survivor_and_back_exactly() -> None:
    observation = {
        "resourceType": "Observation",
        "subject": {"reference": "Patient/dup", "display": "Əli Əliyev"},
        "performer": [{"reference": "Practitioner/x"}, {"reference": "Patient/dup"}],
        "focus": [{"reference": "Patient/dup/_history/2"}],
        "contained": [{"resourceType": "Provenance", "patient": {"reference": "Patient/dup"}}],
    }
    paths = rules.reference_paths(observation, "Patient/dup")
    assert paths == [("subject",), ("performer", 1), ("contained", 0, "patient")]
    moved, changed = rules.moved_references(observation, paths, "Patient/dup", "Patient/keep")
    assert changed == paths
    assert moved["subject"] == {"reference": "Patient/keep", "display": "Əli Əliyev"}
    assert moved["focus"] == observation["focus"]  # a versioned reference names one version
    assert observation["subject"]["reference"] == "Patient/dup"  # the original is untouched
    back, returned = rules.moved_references(moved, paths, "Patient/keep", "Patient/dup")
    assert back == observation and returned == paths
    # A reference changed by hand since is left as it is.
    moved["subject"]["reference"] = "Patient/third"
    _, returned = rules.moved_references(moved, paths, "Patient/keep", "Patient/dup")
    assert returned == paths[1:]


def test_links_say_who_replaced_whom() -> None:
    duplicate = rules.with_link({"resourceType": "Patient"}, rules.REPLACED_BY, "keep")
    assert rules.replaced_by(duplicate) == "keep"
    assert rules.linked(duplicate, rules.REPLACES) == []
    assert rules.without_link(duplicate, rules.REPLACED_BY, "keep") == {"resourceType": "Patient"}
    assert rules.deceased({"deceasedDateTime": "2020-01-01"})
    assert rules.deceased({"deceasedBoolean": True})
    assert not rules.deceased({"deceasedBoolean": False})
