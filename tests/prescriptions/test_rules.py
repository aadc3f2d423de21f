"""e-Prescription rules: validity, repeats and the checks at prescribing time, told as a doctor
prescribing for patients with histories; and the DetectedIssue resources they become."""

import csv
from datetime import date
from decimal import Decimal
from importlib import resources

import pytest

from shafa.fhir.validation import check_resource
from shafa.prescriptions.dosage import Regimen
from shafa.prescriptions.interactions import Severity
from shafa.prescriptions.rules import (
    CONTROLLED_VALIDITY_DAYS,
    DEFAULT_VALIDITY_DAYS,
    Allergy,
    Code,
    Finding,
    Kind,
    Override,
    Reaction,
    age_in_years,
    allergy_findings,
    blocking,
    check,
    contraindication_findings,
    contraindications,
    detected_issue,
    dose_findings,
    duplicate_therapy,
    max_doses,
    repeat_schedule,
    substance_per_day,
    validity_period,
)
from shafa.prescriptions.substances import Substance, is_atc
from shafa.registries.medicines_rules import Amount, Schedule, Strength, unit_dimension
from shafa.terminology import atc

D = Decimal


def _register_inns() -> set[str]:
    text = resources.files("shafa.registries").joinpath("data/medicines.csv").read_text("utf-8")
    return {inn for row in csv.DictReader(text.splitlines()) for inn in row["inn"].split(" + ")}


KNOWN_INNS = _register_inns() | {c.name for c in atc.substances()}


def rx(inn: str, code: str, ref: str | None = None) -> Substance:
    return Substance.of(inn, code, ref)


def daily(dose: str, frequency: int = 1, period: str = "1 d", route: str = "oral") -> Regimen:
    every, unit = period.split()
    return Regimen(Amount.parse(dose), frequency, D(every), unit, route, D(7), "d")


# The patients' current medicines.
WARFARIN = rx("warfarin", "B01AA03", "MedicationRequest/warfarin-1")
OMEPRAZOLE = rx("omeprazole", "A02BC01", "MedicationRequest/omeprazole-1")
ASPIRIN_LOW = rx("acetylsalicylic acid", "B01AC06", "MedicationRequest/aspirin-1")
PERINDOPRIL_INDAPAMIDE = rx("perindopril + indapamide", "C09BA04", "MedicationRequest/coversyl")

# --- validity and repeats ---------------------------------------------------------------------


def test_a_prescription_is_valid_thirty_days_including_the_day_it_is_issued() -> None:
    assert DEFAULT_VALIDITY_DAYS == 30
    assert validity_period(date(2026, 3, 1)) == (date(2026, 3, 1), date(2026, 3, 30))
    assert validity_period(date(2026, 12, 15)) == (date(2026, 12, 15), date(2027, 1, 13))


def test_the_validity_is_configurable() -> None:
    assert validity_period(date(2026, 3, 1), days=1) == (date(2026, 3, 1), date(2026, 3, 1))
    assert validity_period(date(2026, 3, 1), days=90)[1] == date(2026, 5, 29)
    with pytest.raises(ValueError):
        validity_period(date(2026, 3, 1), days=0)


@pytest.mark.parametrize("schedule", [Schedule.NARCOTIC, Schedule.PSYCHOTROPIC])
def test_a_controlled_prescription_expires_sooner(schedule: Schedule) -> None:
    assert CONTROLLED_VALIDITY_DAYS == 10
    assert validity_period(date(2026, 3, 1), schedule) == (date(2026, 3, 1), date(2026, 3, 10))
    # A shorter general setting still wins; a longer controlled one cannot exceed it.
    assert validity_period(date(2026, 3, 1), schedule, days=5)[1] == date(2026, 3, 5)
    assert validity_period(date(2026, 3, 1), schedule, controlled_days=14)[1] == date(2026, 3, 14)


def test_prescription_only_is_not_controlled() -> None:
    assert validity_period(date(2026, 3, 1), Schedule.PRESCRIPTION_ONLY)[1] == date(2026, 3, 30)


def test_a_repeat_prescription_issues_at_each_interval() -> None:
    assert repeat_schedule(date(2026, 1, 10), 3, 28) == [
        date(2026, 1, 10), date(2026, 2, 7), date(2026, 3, 7)
    ]  # fmt: skip
    assert repeat_schedule(date(2026, 1, 10), 1, 28) == [date(2026, 1, 10)]
    assert repeat_schedule(date(2024, 2, 28), 2, 1) == [date(2024, 2, 28), date(2024, 2, 29)]


def test_twelve_monthly_issues_fit_in_a_year_and_no_more() -> None:
    dates = repeat_schedule(date(2026, 1, 1), 12, 30)
    assert len(dates) == 12 and dates[-1] == date(2026, 11, 27)
    assert repeat_schedule(date(2026, 1, 1), 2, 365)[-1] == date(2027, 1, 1)
    with pytest.raises(ValueError, match="at most 12"):
        repeat_schedule(date(2026, 1, 1), 13, 7)
    with pytest.raises(ValueError, match="year"):
        repeat_schedule(date(2026, 1, 1), 2, 366)
    with pytest.raises(ValueError, match="year"):
        repeat_schedule(date(2026, 1, 1), 12, 34)


@pytest.mark.parametrize(("issues", "interval"), [(0, 28), (3, 0), (-1, 28), (2, -7)])
def test_a_repeat_needs_issues_and_an_interval(issues: int, interval: int) -> None:
    with pytest.raises(ValueError):
        repeat_schedule(date(2026, 1, 1), issues, interval)


def test_a_controlled_product_is_not_repeated() -> None:
    with pytest.raises(ValueError, match="one issue at a time"):
        repeat_schedule(date(2026, 1, 1), 2, 28, Schedule.NARCOTIC)
    assert repeat_schedule(date(2026, 1, 1), 1, 28, Schedule.PSYCHOTROPIC) == [date(2026, 1, 1)]


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        (date(2010, 6, 15), date(2026, 6, 14), 15),
        (date(2010, 6, 15), date(2026, 6, 15), 16),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2026, 1, 1), date(2026, 12, 31), 0),
    ],
)
def test_age_in_completed_years(birth: date, on: date, years: int) -> None:
    assert age_in_years(birth, on) == years


# --- duplicate therapy ------------------------------------------------------------------------


def test_a_second_ppi_duplicates_the_first() -> None:
    found = duplicate_therapy(rx("pantoprazole", "A02BC02"), [OMEPRAZOLE, WARFARIN])
    assert len(found) == 1
    assert found[0].code is Code.DUPTHPY and found[0].severity is Severity.MODERATE
    assert "ATC A02BC" in found[0].detail
    assert found[0].implicated == ("MedicationRequest/omeprazole-1",)


def test_the_same_substance_in_a_combination_duplicates() -> None:
    found = duplicate_therapy(rx("perindopril", "C09AA04"), [PERINDOPRIL_INDAPAMIDE])
    assert len(found) == 1 and "same substance (perindopril)" in found[0].detail


def test_the_same_level_3_group_is_not_a_duplicate() -> None:
    # Both ACE inhibitors (C09A) but different level-4 groups: plain vs combination.
    assert duplicate_therapy(rx("enalapril", "C09AA02"), [PERINDOPRIL_INDAPAMIDE]) == []
    assert duplicate_therapy(rx("ramipril", "C09AA05"), []) == []


def test_dual_antiplatelet_therapy_is_not_a_duplicate() -> None:
    assert duplicate_therapy(rx("clopidogrel", "B01AC04"), [ASPIRIN_LOW]) == []
    # ... but aspirin twice still is.
    assert len(duplicate_therapy(rx("acetylsalicylic acid", "N02BA01"), [ASPIRIN_LOW])) == 1


# --- allergies --------------------------------------------------------------------------------


AMOXICILLIN = rx("amoxicillin", "J01CA04")
CO_AMOXICLAV = rx("amoxicillin + clavulanic acid", "J01CR02")
BENZYLPENICILLIN = rx("benzylpenicillin", "J01CE01")
CEFTRIAXONE = rx("ceftriaxone", "J01DD04")


def test_an_allergy_to_the_inn_blocks() -> None:
    found = allergy_findings(
        AMOXICILLIN, [Allergy("amoxicillin", reference="AllergyIntolerance/a1")]
    )
    assert [(f.code, f.severity) for f in found] == [(Code.ALGY, Severity.HIGH)]
    assert found[0].implicated == ("AllergyIntolerance/a1",)


def test_an_allergy_to_an_ingredient_of_a_combination_blocks() -> None:
    found = allergy_findings(CO_AMOXICLAV, [Allergy("amoxicillin")])
    assert [f.code for f in found] == [Code.ALGY]


def test_an_allergy_to_a_class_matches_its_members() -> None:
    penicillins = Allergy("J01C")
    assert len(allergy_findings(BENZYLPENICILLIN, [penicillins])) == 1
    assert len(allergy_findings(CO_AMOXICLAV, [penicillins])) == 1
    assert allergy_findings(CEFTRIAXONE, [penicillins]) == []


def test_an_allergy_to_one_penicillin_is_an_allergy_to_all() -> None:
    found = allergy_findings(BENZYLPENICILLIN, [Allergy("amoxicillin")], {"amoxicillin": "J01CA04"})
    assert len(found) == 1 and "cross-reactive class: penicillins" in found[0].detail
    # Without knowing the allergen's class, only the INN matches.
    assert allergy_findings(BENZYLPENICILLIN, [Allergy("amoxicillin")]) == []
    # A cephalosporin is not a penicillin.
    assert allergy_findings(CEFTRIAXONE, [Allergy("amoxicillin")], {"amoxicillin": "J01CA04"}) == []


def test_an_intolerance_warns() -> None:
    found = allergy_findings(
        rx("metformin", "A10BA02"), [Allergy("metformin", Reaction.INTOLERANCE)]
    )
    assert [(f.code, f.severity) for f in found] == [(Code.INT, Severity.MODERATE)]


def test_other_allergies_do_not_match() -> None:
    assert allergy_findings(AMOXICILLIN, [Allergy("ibuprofen"), Allergy("M01A")]) == []


# --- doses ------------------------------------------------------------------------------------


PARACETAMOL = rx("paracetamol", "N02BE01")
TABLET_500 = Strength.of("500 mg/{tablet}")


@pytest.mark.parametrize(
    ("regimen", "strength", "high"),
    [
        (daily("1 g", 4, "1 d"), None, False),  # 4 g: the maximum itself
        (daily("1 g", 5, "1 d"), None, True),
        (daily("1000 mg", 1, "4 h"), None, True),  # 6 g
        (daily("2 {tablet}", 4), TABLET_500, False),
        (daily("2 {tablet}", 5), TABLET_500, True),
        (daily("2 {tablet}", 5), None, False),  # unknown strength: nothing to compare
        (daily("1 g", 5, route="intravenous"), None, True),  # route "any"
    ],
)
def test_paracetamol_above_four_grams_a_day_is_a_high_dose(
    regimen: Regimen, strength: Strength | None, high: bool
) -> None:
    found = dose_findings(PARACETAMOL, regimen, strength)
    assert [f.code for f in found] == ([Code.DOSEH] if high else [])
    if high:
        assert found[0].severity is Severity.HIGH and "BNF" in found[0].detail


def test_a_syrup_dose_is_counted_through_its_strength() -> None:
    syrup = Strength.of("120 mg/5 mL")
    assert str(substance_per_day(daily("20 mL", 4), syrup)) == "1920 mg"
    assert dose_findings(PARACETAMOL, daily("50 mL", 4), syrup)[0].code is Code.DOSEH


def test_the_route_of_a_maximum_matters() -> None:
    ketorolac = rx("ketorolac", "M01AB15")
    assert dose_findings(ketorolac, daily("30 mg", 2)) != []  # 60 mg orally: above 40 mg
    assert dose_findings(ketorolac, daily("30 mg", 2, route="intramuscular")) == []
    assert dose_findings(ketorolac, daily("30 mg", 4, route="intramuscular")) != []


def test_ibuprofen_follows_the_bnf_maximum() -> None:
    ibuprofen = rx("ibuprofen", "M01AE01")
    assert dose_findings(ibuprofen, daily("400 mg", 3)) == []
    assert dose_findings(ibuprofen, daily("800 mg", 3)) == []  # 2.4 g
    assert dose_findings(ibuprofen, daily("800 mg", 4)) != []


def test_an_inn_without_a_known_maximum_is_not_checked() -> None:
    assert dose_findings(rx("morphine", "N02AA01"), daily("200 mg", 6)) == []


def test_a_combination_is_not_checked_against_single_substance_maxima() -> None:
    assert dose_findings(CO_AMOXICLAV, daily("10 g", 6)) == []


def test_weekly_methotrexate_is_right_and_daily_methotrexate_is_stopped() -> None:
    mtx = rx("methotrexate", "L04AX03")
    weekly = Regimen(Amount.parse("15 mg"), 1, D(1), "wk", "oral", D(12), "wk")
    assert dose_findings(mtx, weekly) == []
    found = dose_findings(mtx, daily("2.5 mg"))
    assert [f.code for f in found] == [Code.DOSEIVL]  # 17.5 mg a week: under 25 mg, yet daily
    found = dose_findings(mtx, Regimen(Amount.parse("30 mg"), 1, D(1), "wk", "oral"))
    assert [f.code for f in found] == [Code.DOSEH]
    # Methotrexate in oncology (L01BA01) is not bound to weekly dosing.
    assert [f.code for f in dose_findings(rx("methotrexate", "L01BA01"), daily("2.5 mg"))] == []


def test_every_maximum_names_a_real_inn_a_unit_and_a_source() -> None:
    rows = max_doses()
    assert len(rows) >= 40
    assert len({(r.inn, r.route) for r in rows}) == len(rows)
    for row in rows:
        assert row.inn in KNOWN_INNS, row.inn
        dimension = unit_dimension(row.max.unit)
        assert dimension is not None and dimension[0] in ("g", "mol", "[IU]")
        assert row.route in ("oral", "parenteral", "any") and row.per in ("d", "wk")
        assert row.max.value > 0 and row.source.strip()


# --- pregnancy and age ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("substance", "severity"),
    [
        (rx("warfarin", "B01AA03"), Severity.HIGH),
        (rx("isotretinoin", "D10BA01"), Severity.HIGH),
        (rx("enalapril", "C09AA02"), Severity.HIGH),
        (rx("sacubitril + valsartan", "C09DX04"), Severity.HIGH),
        (rx("atorvastatin", "C10AA05"), Severity.HIGH),
        (rx("valproic acid", "N03AG01"), Severity.HIGH),
        (rx("doxycycline", "J01AA02"), Severity.MODERATE),
        (rx("ibuprofen", "M01AE01"), Severity.MODERATE),
    ],
)
def test_pregnancy_contraindications(substance: Substance, severity: Severity) -> None:
    found = contraindication_findings(substance, age=30, pregnant=True)
    assert [(f.code, f.severity) for f in found] == [(Code.PREG, severity)]
    assert contraindication_findings(substance, age=30, pregnant=False) == []


def test_safe_in_pregnancy_raises_nothing() -> None:
    assert contraindication_findings(PARACETAMOL, age=30, pregnant=True) == []
    assert contraindication_findings(AMOXICILLIN, age=30, pregnant=True) == []


@pytest.mark.parametrize(
    ("substance", "under", "severity"),
    [
        (rx("doxycycline", "J01AA02"), 8, Severity.HIGH),
        (rx("ciprofloxacin", "J01MA02"), 18, Severity.MODERATE),
        (rx("acetylsalicylic acid", "N02BA01"), 16, Severity.HIGH),
        (rx("codeine", "R05DA04"), 12, Severity.HIGH),
        (rx("tramadol", "N02AX02"), 12, Severity.HIGH),
        (rx("metoclopramide", "A03FA01"), 1, Severity.HIGH),
        (rx("loperamide", "A07DA03"), 2, Severity.HIGH),
    ],
)
def test_age_contraindications_hold_below_the_age_and_not_from_it(
    substance: Substance, under: int, severity: Severity
) -> None:
    found = contraindication_findings(substance, age=under - 1)
    assert [(f.code, f.severity) for f in found] == [(Code.AGE, severity)]
    assert contraindication_findings(substance, age=under) == []
    assert contraindication_findings(substance, age=None) == []


def test_eye_drops_of_a_quinolone_are_not_a_systemic_quinolone() -> None:
    assert contraindication_findings(rx("ciprofloxacin", "S01AE03"), age=5, pregnant=True) == []


def test_every_contraindication_names_real_substances_and_a_source() -> None:
    rows = contraindications()
    assert sum(r.kind is Kind.PREGNANCY for r in rows) >= 10
    assert sum(r.kind is Kind.AGE for r in rows) >= 8
    assert len({r.id for r in rows}) == len(rows)
    for row in rows:
        for token in row.substance:
            assert (atc.concept(token) is not None) if is_atc(token) else token in KNOWN_INNS
        assert (row.under_age is not None) is (row.kind is Kind.AGE)
        assert row.reason.strip() and row.source.strip()


# --- all checks together, overrides -----------------------------------------------------------


def test_a_doctor_prescribing_ibuprofen_to_a_patient_on_warfarin() -> None:
    found = check(
        rx("ibuprofen", "M01AE01"),
        daily("400 mg", 3),
        current=[WARFARIN, OMEPRAZOLE],
        allergies=[Allergy("amoxicillin")],
        age=70,
    )
    assert [(f.code, f.rule) for f in found] == [(Code.DRG, "vka-nsaid")]
    assert blocking(found) == found


def test_high_findings_come_first() -> None:
    found = check(rx("pantoprazole", "A02BC02"), current=[OMEPRAZOLE], allergies=[Allergy("A02BC")])
    assert [f.code for f in found] == [Code.ALGY, Code.DUPTHPY]


def test_nothing_found_nothing_blocks() -> None:
    assert check(PARACETAMOL, daily("1 g", 3), current=[OMEPRAZOLE], age=40) == []
    assert blocking([]) == []


def test_an_override_with_a_reason_unblocks_only_its_finding() -> None:
    found = check(rx("clarithromycin", "J01FA09"), current=[
        rx("simvastatin", "C10AA01", "MedicationRequest/simva"), WARFARIN])  # fmt: skip
    assert len(blocking(found)) == 1  # simvastatin (high); warfarin + macrolide is moderate
    high = blocking(found)[0]
    override = Override(high.key, "Simvastatin paused for the course", "Practitioner/d1",
                        "2026-03-01T10:00:00+04:00")  # fmt: skip
    assert blocking(found, [override]) == []
    other = Override("DRG:other", "A reason long enough", "Practitioner/d1", "2026-03-01")
    assert blocking(found, [other]) == [high]


@pytest.mark.parametrize("reason", ["", "   ", "ok", "  no reason "])
def test_an_override_needs_a_reason(reason: str) -> None:
    with pytest.raises(ValueError, match="reason"):
        Override("DRG:x", reason, "Practitioner/d1", "2026-03-01")


# --- DetectedIssue ----------------------------------------------------------------------------


FINDING = Finding(Code.DRG, Severity.HIGH, "Warfarin with ibuprofen: bleeding.", "vka-nsaid",
                  ("MedicationRequest/warfarin-1",))  # fmt: skip


def test_a_finding_becomes_a_valid_detected_issue() -> None:
    issue = detected_issue(
        FINDING,
        patient="Patient/p1",
        identified="2026-03-01T10:00:00+04:00",
        prescription="MedicationRequest/new-1",
        author="Device/shafa-rx-checks",
        status="preliminary",
    )
    assert check_resource(issue, "DetectedIssue") is issue
    assert issue["status"] == "preliminary" and issue["severity"] == "high"
    assert issue["code"]["coding"] == [
        {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "DRG",
         "display": "Drug Interaction Alert"}
    ]  # fmt: skip
    assert issue["implicated"] == [
        {"reference": "MedicationRequest/new-1"},
        {"reference": "MedicationRequest/warfarin-1"},
    ]
    assert issue["detail"] == FINDING.detail and "mitigation" not in issue


def test_an_override_is_recorded_as_the_mitigation() -> None:
    override = Override(FINDING.key, "  INR checked weekly; short course  ", "Practitioner/d1",
                        "2026-03-01T10:05:00+04:00")  # fmt: skip
    issue = detected_issue(FINDING, patient="Patient/p1", identified="2026-03-01",
                           override=override)  # fmt: skip
    assert check_resource(issue, "DetectedIssue") is issue
    assert issue["status"] == "final"
    assert issue["mitigation"] == [
        {
            "action": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                            "code": "1", "display": "Therapy Appropriate"}],
                "text": "INR checked weekly; short course",
            },
            "date": "2026-03-01T10:05:00+04:00",
            "author": {"reference": "Practitioner/d1"},
        }
    ]  # fmt: skip


@pytest.mark.parametrize("code", list(Code))
def test_every_code_makes_a_valid_detected_issue(code: Code) -> None:
    finding = Finding(code, Severity.MODERATE, "text", "rule")
    issue = detected_issue(finding, patient="Patient/p1", identified="2026-03-01")
    assert check_resource(issue, "DetectedIssue") is issue
    assert "implicated" not in issue and "author" not in issue


def test_a_detected_issue_refuses_a_wrong_status_or_someone_elses_override() -> None:
    with pytest.raises(ValueError, match="preliminary or final"):
        detected_issue(FINDING, patient="Patient/p1", identified="2026-03-01", status="amended")
    override = Override("DRG:other", "A reason long enough", "Practitioner/d1", "2026-03-01")
    with pytest.raises(ValueError, match="another finding"):
        detected_issue(FINDING, patient="Patient/p1", identified="2026-03-01", override=override)


def test_every_finding_of_a_full_check_is_a_valid_detected_issue() -> None:
    found = check(
        rx("doxycycline", "J01AA02"),
        daily("100 mg", 2),
        current=[rx("warfarin", "B01AA03", "MedicationRequest/w"),
                 rx("ferrous sulfate", "B03AA07", "MedicationRequest/fe"),
                 rx("doxycycline", "J01AA02", "MedicationRequest/dx")],
        allergies=[Allergy("J01A", Reaction.INTOLERANCE, "AllergyIntolerance/t1")],
        age=7,
        pregnant=True,
    )  # fmt: skip
    assert {f.code for f in found} == {Code.DRG, Code.DUPTHPY, Code.INT, Code.PREG, Code.AGE}
    for finding in found:
        issue = detected_issue(finding, patient="Patient/p1", identified="2026-03-01")
        assert check_resource(issue, "DetectedIssue") is issue
