"""Structured dosage: the R4 Dosage Shafa writes and reads, its text in az, en and ru with the
right plural forms, the daily dose, and whether a prescribed quantity fits the course."""

from decimal import Decimal
from typing import Any

import pytest

from shafa.fhir.errors import FhirError
from shafa.fhir.validation import check_resource
from shafa.prescriptions.dosage import (
    DosageError,
    QuantityProblem,
    Regimen,
    administrations,
    daily_dose,
    expected_quantity,
    instruction_text,
    number,
    parse,
    quantity_warning,
)
from shafa.registries.medicines_rules import Amount, Strength

D = Decimal


def amount(text: str) -> Amount:
    return Amount.parse(text)


def regimen(
    dose: str | None = "1 {tablet}",
    frequency: int = 3,
    period: str = "1 d",
    route: str = "oral",
    duration: str | None = "7 d",
    as_needed: bool = False,
) -> Regimen:
    every, unit = period.split()
    length, length_unit = duration.split() if duration else (None, None)
    return Regimen(
        dose=amount(dose) if dose else None,
        frequency=frequency,
        period=D(every),
        period_unit=unit,
        route=route,
        duration=D(length) if length else None,
        duration_unit=length_unit,
        as_needed=as_needed,
    )


def in_request(dosage: dict[str, Any]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "amoxicillin 500 mg capsule"},
        "dosageInstruction": [dosage],
    }


# --- the R4 Dosage ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "r",
    [
        regimen(),
        regimen(dose="500 mg", frequency=2, duration="2 wk"),
        regimen(dose="2 {actuation}", frequency=4, route="inhalation", duration=None,
                as_needed=True),
        regimen(dose=None, frequency=2, route="cutaneous", duration="10 d"),
        regimen(dose="1 {patch}", frequency=1, period="72 h", route="transdermal",
                duration="1 mo"),
        regimen(dose="10 [IU]", frequency=1, route="subcutaneous", duration="3 mo"),
        regimen(dose="0.5 {tablet}", frequency=1, period="1 wk", duration="12 wk"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("language", ["az", "en", "ru"])
def test_the_dosage_is_valid_r4_and_reads_back_as_written(r: Regimen, language: str) -> None:
    dosage = r.fhir(language)
    assert check_resource(in_request(dosage), "MedicationRequest")
    assert dosage["text"] == instruction_text(r, language)
    assert parse(dosage) == r
    assert dosage["route"]["coding"][0]["system"] == "http://snomed.info/sct"


def test_the_dosage_has_the_elements_r4_names() -> None:
    dosage = regimen().fhir()
    assert dosage["timing"]["repeat"] == {
        "frequency": 3,
        "period": D(1),
        "periodUnit": "d",
        "boundsDuration": {"value": D(7), "unit": "days",
                           "system": "http://unitsofmeasure.org", "code": "d"},
    }  # fmt: skip
    assert dosage["doseAndRate"] == [
        {"doseQuantity": {"value": D(1), "unit": "tablet",
                          "system": "http://unitsofmeasure.org", "code": "{tablet}"}}
    ]  # fmt: skip
    assert dosage["route"]["coding"][0]["code"] == "26643006"
    assert dosage["asNeededBoolean"] is False


def test_a_bad_period_unit_is_refused_by_the_fhir_schema_too() -> None:
    dosage = regimen().fhir()
    dosage["timing"]["repeat"]["periodUnit"] = "fortnight"
    with pytest.raises(FhirError):
        check_resource(in_request(dosage), "MedicationRequest")


@pytest.mark.parametrize(
    ("change", "where"),
    [
        (lambda d: d.pop("route"), "Dosage.route"),
        (lambda d: d.update(route={"coding": [{"system": "http://snomed.info/sct",
                                               "code": "1"}]}), "Dosage.route"),
        (lambda d: d.pop("timing"), "Dosage.timing"),
        (lambda d: d["timing"]["repeat"].update(periodUnit="s"), "Dosage.timing.repeat.period"),
        (lambda d: d["timing"]["repeat"].update(period=0), "Dosage.timing.repeat.period"),
        (lambda d: d["timing"]["repeat"].update(frequency=0), "Dosage.timing.repeat.frequency"),
        (lambda d: d["timing"]["repeat"].update(frequency=1.5),
         "Dosage.timing.repeat.frequency"),
        (lambda d: d["timing"]["repeat"].update(when=["MORN"]), "Dosage.timing.repeat.when"),
        (lambda d: d["timing"]["repeat"]["boundsDuration"].update(code="a"),
         "Dosage.timing.repeat.boundsDuration"),
        (lambda d: d["timing"]["repeat"]["boundsDuration"].update(value=-1),
         "Dosage.timing.repeat.boundsDuration"),
        (lambda d: d["timing"]["repeat"]["boundsDuration"].pop("system"),
         "Dosage.timing.repeat.boundsDuration"),
        (lambda d: d["doseAndRate"][0]["doseQuantity"].update(code="{spoon}"),
         "Dosage.doseAndRate[0].doseQuantity.code"),
        (lambda d: d["doseAndRate"][0]["doseQuantity"].update(code="mm[Hg]"),
         "Dosage.doseAndRate[0].doseQuantity.code"),
        (lambda d: d["doseAndRate"][0]["doseQuantity"].update(value=0),
         "Dosage.doseAndRate[0]"),
        (lambda d: d["doseAndRate"][0]["doseQuantity"].pop("system"),
         "Dosage.doseAndRate[0].doseQuantity"),
        (lambda d: d["doseAndRate"].append(d["doseAndRate"][0]), "Dosage.doseAndRate"),
        (lambda d: d["doseAndRate"][0].update(rateQuantity={"value": 1}), "Dosage.doseAndRate"),
        (lambda d: d.update(maxDosePerPeriod={}), "Dosage.maxDosePerPeriod"),
        (lambda d: d.update(asNeededBoolean="yes"), "Dosage.asNeeded"),
        (lambda d: d.update(asNeededCodeableConcept={"text": "pain"}),
         "Dosage.asNeededCodeableConcept"),
    ],
)  # fmt: skip
def test_what_shafa_cannot_prescribe_with_is_refused_naming_where(change: Any, where: str) -> None:
    dosage = regimen().fhir()
    change(dosage)
    with pytest.raises(DosageError) as raised:
        parse(dosage)
    assert where in [e for issue in raised.value.issues for e in issue.expression]


def test_a_dosage_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(DosageError):
        parse(["1 tablet"])


def test_several_problems_are_named_together() -> None:
    dosage = regimen().fhir()
    dosage.pop("route")
    dosage["timing"]["repeat"]["frequency"] = 0
    with pytest.raises(DosageError) as raised:
        parse(dosage)
    assert len(raised.value.issues) == 2


def test_a_regimen_checks_itself() -> None:
    with pytest.raises(DosageError, match="route"):
        regimen(route="by owl")
    with pytest.raises(DosageError, match="duration"):
        Regimen(amount("1 {tablet}"), 1, D(1), "d", "oral", D(7), None)
    with pytest.raises(DosageError, match="frequency"):
        regimen(frequency=True)  # type: ignore[arg-type]


# --- instruction text ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "en", "ru", "az"),
    [
        (regimen(), "1 tablet 3 times a day for 7 days, by mouth",
         "1 таблетка 3 раза в день в течение 7 дней, внутрь",
         "Gündə 3 dəfə 1 tablet, 7 gün ərzində, ağızdan"),
        (regimen(dose="2 {tablet}", frequency=1, duration="1 d"),
         "2 tablets once a day for 1 day, by mouth",
         "2 таблетки 1 раз в день в течение 1 дня, внутрь",
         "Gündə 1 dəfə 2 tablet, 1 gün ərzində, ağızdan"),
        (regimen(dose="5 {capsule}", frequency=2, duration="21 d"),
         "5 capsules twice a day for 21 days, by mouth",
         "5 капсул 2 раза в день в течение 21 дня, внутрь",
         "Gündə 2 dəfə 5 kapsul, 21 gün ərzində, ağızdan"),
        (regimen(dose="0.5 {tablet}", frequency=1, period="8 h", duration="3 d"),
         "0.5 tablets every 8 hours for 3 days, by mouth",
         "0,5 таблетки 1 раз в 8 часов в течение 3 дней, внутрь",
         "Hər 8 saatdan bir 0,5 tablet, 3 gün ərzində, ağızdan"),
        (regimen(dose="2 {actuation}", frequency=4, route="inhalation", duration=None,
                 as_needed=True),
         "2 puffs up to 4 times a day, inhaled, as needed",
         "2 ингаляции до 4 раз в день, ингаляционно, при необходимости",
         "Gündə ən çox 4 dəfə 2 inhalyasiya, inhalyasiya yolu ilə, ehtiyac olduqda"),
        (regimen(dose="1 {actuation}", frequency=2, route="nasal", duration="2 wk"),
         "1 spray twice a day for 2 weeks, in the nose",
         "1 впрыскивание 2 раза в день в течение 2 недель, в нос",
         "Gündə 2 dəfə 1 püskürtmə, 2 həftə ərzində, buruna"),
        (regimen(dose="1 {patch}", frequency=1, period="72 h", route="transdermal",
                 duration="1 mo"),
         "1 patch every 72 hours for 1 month, on the skin",
         "1 пластырь 1 раз в 72 часа в течение 1 месяца, трансдермально",
         "Hər 72 saatdan bir 1 plastır, 1 ay ərzində, dəri üzərinə"),
        (regimen(dose=None, frequency=2, route="cutaneous", duration="5 d"),
         "Twice a day for 5 days, on the skin",
         "2 раза в день в течение 5 дней, наружно",
         "Gündə 2 dəfə, 5 gün ərzində, dəri üzərinə"),
        (regimen(dose="100 ug", frequency=1, period="1 wk", duration="11 wk"),
         "100 micrograms once a week for 11 weeks, by mouth",
         "100 мкг 1 раз в неделю в течение 11 недель, внутрь",
         "Həftədə 1 dəfə 100 mkq, 11 həftə ərzində, ağızdan"),
        (regimen(dose="1 ug", frequency=22, period="2 d", duration="3 mo"),
         "1 microgram 22 times every 2 days for 3 months, by mouth",
         "1 мкг 22 раза в 2 дня в течение 3 месяцев, внутрь",
         "2 gündə 22 dəfə 1 mkq, 3 ay ərzində, ağızdan"),
        (regimen(dose="1 {tablet}", frequency=1, period="1 h", duration="12 h", as_needed=True),
         "1 tablet up to once an hour for 12 hours, by mouth, as needed",
         "1 таблетка до 1 раза в час в течение 12 часов, внутрь, при необходимости",
         "Saatda ən çox 1 dəfə 1 tablet, 12 saat ərzində, ağızdan, ehtiyac olduqda"),
        (regimen(dose="1 {suppository}", frequency=1, period="1 mo", route="rectal",
                 duration="1.5 mo"),
         "1 suppository once a month for 1.5 months, rectally",
         "1 суппозиторий 1 раз в месяц в течение 1,5 месяца, ректально",
         "Ayda 1 dəfə 1 şam, 1,5 ay ərzində, rektal"),
        (regimen(dose="1.5 mL", frequency=3, period="2 wk", route="intramuscular",
                 duration=None),
         "1.5 mL 3 times every 2 weeks, into a muscle",
         "1,5 мл 3 раза в 2 недели, внутримышечно",
         "2 həftədə 3 dəfə 1,5 ml, əzələdaxili"),
    ],
)  # fmt: skip
def test_instruction_text_in_three_languages(r: Regimen, en: str, ru: str, az: str) -> None:
    assert instruction_text(r, "en") == en
    assert instruction_text(r, "ru") == ru
    assert instruction_text(r, "az") == az


@pytest.mark.parametrize(
    ("count", "tablets", "times"),
    [
        (1, "таблетка", "раз"), (2, "таблетки", "раза"), (4, "таблетки", "раза"),
        (5, "таблеток", "раз"), (11, "таблеток", "раз"), (12, "таблеток", "раз"),
        (14, "таблеток", "раз"), (21, "таблетка", "раз"), (22, "таблетки", "раза"),
        (25, "таблеток", "раз"), (101, "таблетка", "раз"), (111, "таблеток", "раз"),
    ],
)  # fmt: skip
def test_russian_plural_forms_follow_cldr(count: int, tablets: str, times: str) -> None:
    r = regimen(dose=f"{count} {{tablet}}", frequency=count, duration=None)
    assert instruction_text(r, "ru") == f"{count} {tablets} {count} {times} в день, внутрь"


def test_the_text_is_read_from_a_fhir_dosage_too() -> None:
    assert instruction_text(regimen().fhir("az"), "en") == instruction_text(regimen(), "en")


def test_an_unknown_language_is_refused() -> None:
    with pytest.raises(ValueError, match="tr"):
        instruction_text(regimen(), "tr")


def test_numbers_are_written_as_each_language_writes_them() -> None:
    assert number(D("1000.50"), "en") == "1000.5"
    assert number(D("1000.50"), "ru") == "1000,5"
    assert number(D("2.0"), "az") == "2"


# --- daily dose and quantity -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("r", "daily"),
    [
        (regimen(), "3 {tablet}"),
        (regimen(dose="500 mg", frequency=1, period="8 h"), "1500 mg"),
        (regimen(dose="0.5 {tablet}", frequency=2), "1 {tablet}"),
        (regimen(dose="70 mg", frequency=1, period="1 wk"), "10 mg"),
        (regimen(dose="1 {patch}", frequency=1, period="72 h"), f"0.{'3' * 28} {{patch}}"),
        (regimen(dose="5 mL", frequency=4, as_needed=True), "20 mL"),
    ],
)  # fmt: skip
def test_the_daily_dose_is_in_the_dose_unit(r: Regimen, daily: str) -> None:
    assert str(daily_dose(r)) == daily


def test_no_dose_no_daily_dose_nor_quantity() -> None:
    r = regimen(dose=None, route="cutaneous")
    assert daily_dose(r) is None and expected_quantity(r) is None


@pytest.mark.parametrize(
    ("r", "count", "quantity"),
    [
        (regimen(), 21, "21 {tablet}"),
        (regimen(dose="2 {capsule}", frequency=1, period="8 h", duration="5 d"), 15,
         "30 {capsule}"),
        (regimen(frequency=1, period="3 d", duration="10 d"), 4, "4 {tablet}"),
        (regimen(frequency=1, period="1 mo", duration="3 mo"), 3, "3 {tablet}"),
        (regimen(frequency=1, period="1 wk", duration="1 mo"), 5, "5 {tablet}"),
        (regimen(dose="5 mL", duration="7 d"), 21, "105 mL"),
        (regimen(duration=None), None, None),
    ],
)  # fmt: skip
def test_the_course_needs_dose_times_frequency_times_duration(
    r: Regimen, count: int | None, quantity: str | None
) -> None:
    assert administrations(r) == count
    found = expected_quantity(r)
    assert (str(found) if found else None) == quantity


TABLETS_20 = amount("20 {tablet}")


@pytest.mark.parametrize(
    ("prescribed", "problem"),
    [
        ("21 {tablet}", None),  # exactly the course
        ("40 {tablet}", None),  # the course in whole packs (2 x 20)
        ("2 {pack}", None),
        ("41 {tablet}", QuantityProblem.EXCESS),
        ("3 {pack}", QuantityProblem.EXCESS),
        ("20 {tablet}", QuantityProblem.SHORT),
        ("1 {pack}", QuantityProblem.SHORT),
    ],
)
def test_the_quantity_must_fit_the_course_rounded_to_whole_packs(
    prescribed: str, problem: QuantityProblem | None
) -> None:
    warning = quantity_warning(amount(prescribed), regimen(), TABLETS_20)
    assert (warning.problem if warning else None) is problem


def test_the_warning_says_what_the_course_needs() -> None:
    warning = quantity_warning(amount("60 {tablet}"), regimen(), TABLETS_20)
    assert warning is not None
    assert str(warning.needed) == "21 {tablet}" and str(warning.whole_packs) == "40 {tablet}"
    assert "more than the course needs" in warning.text()
    short = quantity_warning(amount("10 {tablet}"), regimen(), TABLETS_20)
    assert short is not None and "less than the course needs: 21 {tablet}" in short.text()


def test_as_needed_warns_only_of_excess() -> None:
    prn = regimen(as_needed=True)
    assert quantity_warning(amount("10 {tablet}"), prn, TABLETS_20) is None
    warning = quantity_warning(amount("100 {tablet}"), prn, TABLETS_20)
    assert warning is not None and warning.problem is QuantityProblem.EXCESS


def test_no_duration_no_warning() -> None:
    assert quantity_warning(amount("500 {tablet}"), regimen(duration=None), TABLETS_20) is None


def test_volumes_convert_between_units() -> None:
    r = regimen(dose="5 mL", duration="7 d")  # 105 mL
    bottle = amount("100 mL")
    assert quantity_warning(amount("0.2 L"), r, bottle) is None
    warning = quantity_warning(amount("100 mL"), r, bottle)
    assert warning is not None and warning.problem is QuantityProblem.SHORT


def test_a_dose_in_mg_is_counted_in_tablets_through_the_strength() -> None:
    r = regimen(dose="1 g", frequency=2, duration="7 d")  # 14 g = 28 x 500 mg
    strength = Strength.of("500 mg/{tablet}")
    assert quantity_warning(amount("28 {tablet}"), r, TABLETS_20, strength) is None
    warning = quantity_warning(amount("80 {tablet}"), r, TABLETS_20, strength)
    assert warning is not None and warning.problem is QuantityProblem.EXCESS
    syrup = Strength.of("250 mg/5 mL")
    r = regimen(dose="250 mg", duration="5 d")  # 15 x 5 mL = 75 mL
    assert quantity_warning(amount("100 mL"), r, amount("100 mL"), syrup) is None


def test_quantities_that_cannot_be_compared_are_refused() -> None:
    with pytest.raises(ValueError, match="without the product's strength"):
        quantity_warning(amount("20 {tablet}"), regimen(dose="500 mg"), TABLETS_20)
    with pytest.raises(ValueError, match="cannot be counted"):
        quantity_warning(amount("20 {tablet}"), regimen(dose="1 {capsule}"), TABLETS_20)
    with pytest.raises(ValueError, match="cannot be counted"):
        quantity_warning(amount("20 mL"), regimen(), TABLETS_20)
