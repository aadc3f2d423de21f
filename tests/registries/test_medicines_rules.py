"""The register's rules and records, as pure functions: no database, no server."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from biip.checksums import gs1_standard_check_digit

from shafa.registries import medicines_csv
from shafa.registries.medicines_csv import CsvError, holder_id
from shafa.registries.medicines_entry import from_resources, product_at, to_resources
from shafa.registries.medicines_rules import (
    GTIN,
    Amount,
    Ingredient,
    RegistrationStatus,
    Strength,
    equivalence,
    gtin14,
    gtin_problem,
    knowledge_issues,
    medication_issues,
    status_at,
)
from tests.registries.medicines_fixtures import entry, gtin, wrong_check_digit

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


def paths(issues: object) -> list[str]:
    return [path for issue in issues for path in issue.expression]  # type: ignore[attr-defined]


# --- GTINs ---------------------------------------------------------------------------------------


def test_gtins_keep_gs1s_check_digit() -> None:
    assert gtin_problem(gtin(1)) is None
    assert gtin_problem("4006381333931") is None  # GS1's own example GTIN-13
    assert gtin_problem("96385074") is None  # a GTIN-8
    assert "check digit" in (gtin_problem(wrong_check_digit(gtin(1))) or "")
    assert "8, 12, 13 or 14 digits" in (gtin_problem("47600010000") or "")
    assert "8, 12, 13 or 14 digits" in (gtin_problem("476000100001X") or "")
    assert "8, 12, 13 or 14 digits" in (gtin_problem(4760001000015) or "")


def test_a_restricted_circulation_number_names_no_trade_item() -> None:
    in_store = "200000100001"  # prefix 20: a number a shop gives its own goods
    problem = gtin_problem(in_store + str(gs1_standard_check_digit(in_store)))
    assert "restricted circulation number" in (problem or "")


def test_a_gtin_is_one_whatever_its_length() -> None:
    assert gtin14(gtin(1)) == "0" + gtin(1)
    assert gtin14("0" + gtin(1)) == gtin14(gtin(1))
    with pytest.raises(ValueError, match="check digit"):
        gtin14(wrong_check_digit(gtin(1)))


# --- strengths and equivalence ---------------------------------------------------------------


def test_strengths_compare_in_canonical_units() -> None:
    assert Strength.of("500 mg/{tablet}").canonical() == Strength.of("0.5 g/{capsule}").canonical()
    assert Strength.of("250 mg/5 mL").canonical() == "0.25 g/0.005 L"
    # The volume of a dose matters, as in dm+d's VMPs: 50 mg/mL is not 250 mg/5 mL.
    assert Strength.of("50 mg/mL").canonical() != Strength.of("250 mg/5 mL").canonical()
    assert Strength.of("25 ug/h").canonical() == "0.000025 g/1 h"
    assert Strength.of("300 [IU]/3 mL").canonical() == "300 [IU]/0.003 L"


def test_a_strength_from_a_fhir_ratio() -> None:
    ratio = Strength.of("875 mg/{tablet}").ratio()
    assert Strength.of(ratio) == Strength.of("875 mg/{tablet}")
    ratio["numerator"]["system"] = "http://example.org/units"
    with pytest.raises(ValueError, match="UCUM"):
        Strength.of(ratio)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("500 mgs/{tablet}", "not a UCUM unit the register takes"),
        ("0 mg/{tablet}", "positive"),
        ("much mg/{tablet}", "not a number"),
        ("500/{tablet}", "not a value and a unit"),
    ],
)
def test_strengths_the_register_cannot_read(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Strength.of(text)


def test_equivalence_orders_a_combinations_ingredients() -> None:
    amoxicillin = Ingredient("amoxicillin", Strength.of("875 mg/{tablet}"))
    clavulanate = Ingredient("clavulanic acid", Strength.of("125 mg/{tablet}"))
    assert equivalence([clavulanate, amoxicillin], "film-coated-tablet") == equivalence(
        [amoxicillin, clavulanate], "film-coated-tablet"
    )
    assert equivalence([amoxicillin, clavulanate], "tablet")[0] == "amoxicillin+clavulanic acid"


# --- registration status at a moment ---------------------------------------------------------


def test_a_valid_registration_is_in_force_within_its_period_only() -> None:
    valid = RegistrationStatus.VALID
    assert status_at(valid, "2024-01-01", None, NOW) == (valid, True)
    assert status_at(valid, "2024-01-01", "2026-11-22", NOW) == (valid, True)  # the whole day
    assert status_at(valid, "2024-01-01", "2026-11-21", NOW) == (RegistrationStatus.EXPIRED, False)
    assert status_at(valid, "2026-12-01", None, NOW) == (valid, False)  # not yet
    suspended = RegistrationStatus.SUSPENDED
    assert status_at(suspended, "2024-01-01", None, NOW) == (suspended, False)


# --- the rules over the resources ------------------------------------------------------------


def test_a_registered_pack_keeps_every_rule() -> None:
    medication, knowledge = to_resources(entry(), "p1")
    assert list(medication_issues(medication)) == []
    assert list(knowledge_issues(knowledge)) == []


def test_a_wrong_check_digit_is_refused_naming_the_identifier() -> None:
    medication, _ = to_resources(entry(gtins=(gtin(1), gtin(2))), "p1")
    medication["identifier"][2]["value"] = wrong_check_digit(gtin(2))
    issues = list(medication_issues(medication))
    assert paths(issues) == ["Medication.identifier[2].value"]
    assert issues[0].code == "value" and "check digit" in issues[0].diagnostics


def test_a_gtin_twice_in_one_pack_is_refused() -> None:
    medication, _ = to_resources(entry(gtins=(gtin(1), "0" + gtin(1))), "p1")
    assert paths(medication_issues(medication)) == ["Medication.identifier[2].value"]


def test_other_medications_keep_only_the_gtin_rule() -> None:
    formulary = {"resourceType": "Medication", "code": {"text": "paracetamol"}}
    assert list(medication_issues(formulary)) == []
    formulary["identifier"] = [{"system": GTIN, "value": wrong_check_digit(gtin(1))}]
    assert paths(medication_issues(formulary)) == ["Medication.identifier[0].value"]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda m: m["identifier"].pop(1), "Medication.identifier"),
        (lambda m: m["identifier"][0].update(value="az 1"), "Medication.identifier[0].value"),
        (lambda m: m["code"].pop("text"), "Medication.code.text"),
        (lambda m: m["code"]["coding"][0].update(code="AZ-OTHER"), "Medication.code"),
        (lambda m: m["form"]["coding"][0].update(code="pill"), "Medication.form"),
        (lambda m: m.pop("form"), "Medication.form"),
        (lambda m: m.pop("ingredient"), "Medication.ingredient"),
        (lambda m: m["ingredient"][0].pop("strength"), "Medication.ingredient[0].strength"),
        (
            lambda m: m["ingredient"][0]["strength"]["numerator"].update(code="milligram"),
            "Medication.ingredient[0].strength",
        ),
        (
            lambda m: m["ingredient"][0]["strength"]["denominator"].pop("system"),
            "Medication.ingredient[0].strength",
        ),
        (
            lambda m: m["ingredient"][0]["itemCodeableConcept"]["coding"][0].update(
                code="Paracetamol"
            ),
            "Medication.ingredient[0].itemCodeableConcept",
        ),
        (lambda m: m["ingredient"][0].update(isActive=False), "Medication.ingredient[0].isActive"),
        (lambda m: m["manufacturer"].pop("display"), "Medication.manufacturer"),
        (lambda m: m["amount"]["numerator"].update(value=0), "Medication.amount"),
    ],
)
def test_each_rule_of_a_registered_pack_names_its_element(change: object, path: str) -> None:
    medication, _ = to_resources(entry(), "p1")
    change(medication)  # type: ignore[operator]
    assert path in paths(medication_issues(medication))


def test_a_combination_states_its_strengths_over_one_unit() -> None:
    combination = entry(
        ingredients=(
            Ingredient("amoxicillin", Strength.of("875 mg/{tablet}")),
            Ingredient("clavulanic acid", Strength.of("125 mg/5 mL")),
        )
    )
    medication, _ = to_resources(combination, "p1")
    assert paths(medication_issues(medication)) == ["Medication.ingredient"]


def _regulatory(knowledge: dict) -> dict:
    return knowledge["regulatory"][0]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            lambda k: _regulatory(k)["extension"][0]["valueCoding"].update(code="cancelled"),
            "MedicationKnowledge.regulatory[0].extension",
        ),
        (
            lambda k: _regulatory(k)["extension"][1]["valuePeriod"].update(
                start="2025-01-01", end="2024-12-31"
            ),
            "MedicationKnowledge.regulatory[0].extension.valuePeriod",
        ),
        (
            lambda k: _regulatory(k)["extension"].pop(1),
            "MedicationKnowledge.regulatory[0].extension",
        ),
        (lambda k: k.update(status="inactive"), "MedicationKnowledge.status"),
        (lambda k: k.pop("associatedMedication"), "MedicationKnowledge.associatedMedication"),
        (
            lambda k: k["associatedMedication"][0].update(reference="Substance/p1"),
            "MedicationKnowledge.associatedMedication",
        ),
        (
            lambda k: k["medicineClassification"][0]["classification"][0]["coding"][0].update(
                code="N2BE1"
            ),
            "MedicationKnowledge.medicineClassification[0]",
        ),
        (
            lambda k: k["medicineClassification"][1]["classification"][0]["coding"][0].update(
                code="everything"
            ),
            "MedicationKnowledge.medicineClassification[1]",
        ),
        (lambda k: k["cost"].pop(0), "MedicationKnowledge.cost"),
        (
            lambda k: k["cost"][1]["cost"].update(currency="EUR"),
            "MedicationKnowledge.cost[1].cost.currency",
        ),
        (lambda k: k["cost"][1]["cost"].update(value=-1), "MedicationKnowledge.cost[1].cost"),
        (
            lambda k: k["drugCharacteristic"][0]["valueQuantity"].update(code="mL"),
            "MedicationKnowledge.drugCharacteristic[0]",
        ),
        (
            lambda k: k["intendedRoute"][0]["coding"][0].update(code="12345"),
            "MedicationKnowledge.intendedRoute[0]",
        ),
        (lambda k: k["doseForm"]["coding"][0].update(code="pill"), "MedicationKnowledge.doseForm"),
    ],
)
def test_each_rule_of_a_registration_names_its_element(change: object, path: str) -> None:
    _, knowledge = to_resources(entry(), "p1")
    change(knowledge)  # type: ignore[operator]
    assert path in paths(knowledge_issues(knowledge))


def test_a_controlled_product_is_prescription_only() -> None:
    _, knowledge = to_resources(entry(controlled="narcotic", prescription_only=True), "p1")
    assert list(knowledge_issues(knowledge)) == []
    _, knowledge = to_resources(entry(controlled="psychotropic", prescription_only=False), "p1")
    assert paths(knowledge_issues(knowledge)) == ["MedicationKnowledge.regulatory[0].schedule"]


def test_statuses_other_than_valid_make_it_inactive() -> None:
    for status in ("suspended", "withdrawn", "expired"):
        medication, knowledge = to_resources(entry(status=status), "p1")
        assert medication["status"] == knowledge["status"] == "inactive"
        assert list(knowledge_issues(knowledge)) == []


# --- the record and its resources ------------------------------------------------------------


def test_an_entry_survives_its_resources() -> None:
    full = entry(
        ingredients=(
            Ingredient("amoxicillin", Strength.of("875 mg/{tablet}")),
            Ingredient("clavulanic acid", Strength.of("125 mg/{tablet}")),
        ),
        gtins=(gtin(1), gtin(2)),
        routes=("oral",),
        valid_to="2029-12-31",
        prescription_only=True,
        controlled="narcotic",
        reimbursement=None,
        reference_price=None,
        ddd=None,
    )
    assert from_resources(*to_resources(full, "p1")) == full
    assert from_resources(*to_resources(entry(), "p1")) == entry()


def test_a_product_reads_its_status_at_the_moment_asked() -> None:
    medication, knowledge = to_resources(entry(valid_to="2026-06-30"), "p1")
    product = product_at("p1", "p1", medication, knowledge, NOW)
    assert (product.status, product.in_force) == (RegistrationStatus.EXPIRED, False)
    before = product_at("p1", "p1", medication, knowledge, datetime(2026, 1, 1, tzinfo=UTC))
    assert (before.status, before.in_force, before.reimbursed) == (
        RegistrationStatus.VALID,
        True,
        True,
    )


def test_labels_name_the_pack_as_dm_d_does() -> None:
    assert entry().label() == "Panadol 500 mg tablet, 20 tablet"
    inhaler = entry(
        trade_name="Ventolin",
        ingredients=(Ingredient("salbutamol", Strength.of("100 ug/{actuation}")),),
        dose_form="pressurised-inhalation",
        pack=Amount(Decimal(200), "{actuation}"),
    )
    assert inhaler.label() == (
        "Ventolin 100 ug/actuation pressurised inhalation, suspension, 200 actuation"
    )


# --- CSV ---------------------------------------------------------------------------------------


def test_csv_rows_survive_dump_and_parse() -> None:
    entries = [entry(), entry("AZ-T-0002", gtins=(gtin(2), gtin(3)), valid_to="2030-01-31")]
    assert [e for _line, e in medicines_csv.parse(medicines_csv.dump(entries))] == entries


def _csv_with(line: str) -> str:
    header, row = medicines_csv.dump([entry()]).splitlines()
    return "\n".join([header, row, line]) + "\n"


def _row(**cells: str) -> str:
    header, row = medicines_csv.dump([entry("AZ-T-0002", gtins=(gtin(2),))]).splitlines()
    values = dict(zip(header.split(","), row.split(","), strict=True)) | cells
    return ",".join(values[column] for column in medicines_csv.COLUMNS)


@pytest.mark.parametrize(
    ("cells", "column", "message"),
    [
        ({"gtin": wrong_check_digit(gtin(2))}, "gtin", "check digit"),
        ({"gtin": gtin(1)}, "gtin", "listed on line 2"),
        ({"registration_number": "AZ-T-0001"}, "registration_number", "listed on line 2"),
        ({"registration_number": "az t"}, "registration_number", "upper-case"),
        ({"strength": "500 mgs"}, "strength", "UCUM"),
        ({"strength": "500 mg + 125 mg"}, "strength", "2 strength(s) for 1 INN(s)"),
        ({"strength_per": "tablet"}, "strength_per", "UCUM"),
        ({"inn": "Paracetamol"}, "inn", "lower case"),
        ({"route": "by mouth"}, "route", "not one of"),
        ({"pack_size": "twenty"}, "pack_size", "not a number"),
        ({"atc": "N2BE01"}, "atc", "not an ATC code"),
        ({"ddd_unit": ""}, "ddd_unit", "value and a unit"),
        ({"status": "cancelled"}, "status", "not one of valid"),
        ({"valid_from": "2024-13-01"}, "valid_from", "not a date"),
        ({"valid_from": ""}, "valid_from", "is empty"),
        ({"prescription_only": "maybe"}, "prescription_only", "not one of yes, no"),
        ({"controlled": "dangerous"}, "controlled", "not one of narcotic"),
        ({"retail_price": "-1"}, "retail_price", "non-negative"),
        ({"holder_id": "a/b"}, "holder_id", "not a FHIR id"),
    ],
)
def test_a_bad_row_is_named_by_line_and_column(
    cells: dict[str, str], column: str, message: str
) -> None:
    with pytest.raises(CsvError) as refused:
        medicines_csv.parse(_csv_with(_row(**cells)))
    assert (refused.value.line, refused.value.column) == (3, column)
    assert message in refused.value.message
    assert str(refused.value).startswith(f"line 3, column {column}: ")


def test_a_header_missing_or_adding_columns_is_refused() -> None:
    header, row = medicines_csv.dump([entry()]).splitlines()
    with pytest.raises(CsvError, match="missing retail_price; unknown price") as refused:
        medicines_csv.parse(header.replace("retail_price", "price") + "\n" + row + "\n")
    assert refused.value.line == 1


def test_a_row_with_too_many_cells_is_refused() -> None:
    with pytest.raises(CsvError, match="more cells than the 23 columns"):
        medicines_csv.parse(_csv_with(_row() + ",extra"))


def test_holders_named_only_get_an_id_from_their_name() -> None:
    assert holder_id("Dr. Reddy's Laboratories") == "mah-dr-reddy-s-laboratories"
    assert holder_id("Wörwag Pharma") == "mah-worwag-pharma"
    assert len(holder_id("x" * 100)) == 64


def test_parsed_amounts_are_written_as_they_export() -> None:
    [(_, parsed)] = medicines_csv.parse(_csv_with("").rstrip("\n") + "\n")[:1]
    assert parsed.pack.value == Decimal(20)
    text = medicines_csv.dump([entry(retail_price=Decimal("2.350"))])
    assert ",2.350\n" not in text and ",2.35\n" in text
