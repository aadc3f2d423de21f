"""The register through the FHIR API, on SQLite and PostgreSQL: its packs are found with the
standard R4 search parameters, broken ones are refused with an OperationOutcome naming the
element and change nothing, and a registration number or GTIN belongs to one product, under
concurrent writers too."""

import threading

import httpx
import pytest

from shafa.registries.medicines_rules import ATC, DOSE_FORM, GTIN, INN, PRODUCT, REGISTRATION_NUMBER
from tests.conftest import LiveServer
from tests.registries.medicines_fixtures import (
    FHIR,
    gtin,
    ids,
    issue_paths,
    put,
    register,
    resources,
    wrong_check_digit,
)


def test_a_registered_pack_is_found_by_the_standard_search_parameters(
    fhir: httpx.Client,
) -> None:
    register(fhir, "panadol-20", gtins=(gtin(1), gtin(2)))
    register(fhir, "augmentin-14", "AZ-T-0002", trade_name="Augmentin", gtins=(gtin(3),),
             ingredients=_amoxiclav(), dose_form="film-coated-tablet", atc="J01CR02",
             status="suspended", prescription_only=True)  # fmt: skip
    both = {"panadol-20", "augmentin-14"}
    assert ids(fhir, "Medication", identifier=f"{GTIN}|{gtin(2)}") == {"panadol-20"}
    assert ids(fhir, "Medication", identifier=f"{REGISTRATION_NUMBER}|AZ-T-0002") == {
        "augmentin-14"
    }
    assert ids(fhir, "Medication", code=f"{PRODUCT}|AZ-T-0001") == {"panadol-20"}
    assert ids(fhir, "Medication", **{"code:text": "augmentin"}) == {"augmentin-14"}
    assert ids(fhir, "Medication", form=f"{DOSE_FORM}|tablet") == {"panadol-20"}
    assert ids(fhir, "Medication", **{"ingredient-code": f"{INN}|amoxicillin"}) == {"augmentin-14"}
    assert ids(fhir, "Medication", status="active") == {"panadol-20"}
    assert ids(fhir, "Medication", manufacturer="Organization/mah-haleon") == both
    assert ids(fhir, "MedicationKnowledge", classification=f"{ATC}|N02BE01") == {"panadol-20"}
    assert ids(fhir, "MedicationKnowledge", code=f"{PRODUCT}|AZ-T-0002") == {"augmentin-14"}
    assert ids(fhir, "MedicationKnowledge", status="inactive") == {"augmentin-14"}
    assert ids(fhir, "MedicationKnowledge", doseform=f"{DOSE_FORM}|film-coated-tablet") == {
        "augmentin-14"
    }
    assert ids(fhir, "MedicationKnowledge", **{"ingredient-code": "paracetamol"}) == {"panadol-20"}


def _amoxiclav() -> tuple:
    from shafa.registries.medicines_rules import Ingredient, Strength

    return (
        Ingredient("amoxicillin", Strength.of("875 mg/{tablet}")),
        Ingredient("clavulanic acid", Strength.of("125 mg/{tablet}")),
    )


def _refused(answer: httpx.Response, status: int, path: str) -> None:
    assert answer.status_code == status, answer.text
    assert path in issue_paths(answer), answer.text


def test_a_gtin_with_a_wrong_check_digit_is_refused_and_nothing_is_written(
    fhir: httpx.Client,
) -> None:
    medication, _ = resources("p1", gtins=(gtin(1), gtin(2)))
    medication["identifier"][2]["value"] = wrong_check_digit(gtin(2))
    answer = put(fhir, medication)
    _refused(answer, 422, "Medication.identifier[2].value")
    assert "check digit" in answer.text
    assert fhir.get("/Medication/p1").status_code == 404
    # The same answer from $validate, and for a Medication outside the register too.
    checked = fhir.post("/Medication/$validate", json=medication)
    assert checked.status_code == 200
    assert "Medication.identifier[2].value" in issue_paths(checked)
    other = {"resourceType": "Medication", "identifier": [{"system": GTIN, "value": "123"}]}
    _refused(fhir.post("/Medication", json=other), 422, "Medication.identifier[0].value")
    assert ids(fhir, "Medication") == set()


def test_a_validity_period_ending_before_it_starts_is_refused(fhir: httpx.Client) -> None:
    _, knowledge = resources("p1", valid_from="2025-01-01", valid_to="2024-12-31")
    answer = put(fhir, knowledge)
    _refused(answer, 422, "MedicationKnowledge.regulatory[0].extension.valuePeriod")
    assert "ends (2024-12-31) before it starts (2025-01-01)" in answer.text
    assert fhir.get("/MedicationKnowledge/p1").status_code == 404


def test_a_strength_outside_ucum_and_a_status_outside_the_value_set_are_refused(
    fhir: httpx.Client,
) -> None:
    medication, knowledge = resources("p1")
    medication["ingredient"][0]["strength"]["numerator"]["code"] = "milligrams"
    _refused(put(fhir, medication), 422, "Medication.ingredient[0].strength")
    knowledge["regulatory"][0]["extension"][0]["valueCoding"]["code"] = "cancelled"
    _refused(put(fhir, knowledge), 422, "MedicationKnowledge.regulatory[0].extension")
    # A strength that is no Ratio at all is refused by R4's structure first.
    medication["ingredient"][0]["strength"] = {"value": 500}
    assert put(fhir, medication).status_code == 400
    assert ids(fhir, "Medication") == set() and ids(fhir, "MedicationKnowledge") == set()


def test_a_registration_number_belongs_to_one_product(fhir: httpx.Client) -> None:
    register(fhir, "p1")
    medication, _ = resources("p2", gtins=(gtin(2),))  # the same number AZ-T-0001
    answer = put(fhir, medication)
    _refused(answer, 409, "Medication.identifier[0].value")
    assert "AZ-T-0001 already belongs to Medication/p1" in answer.text
    assert fhir.get("/Medication/p2").status_code == 404
    # Updating the product that holds it keeps it; a new version, the same number.
    medication, _ = resources("p1", trade_name="Panadol Extra")
    assert put(fhir, medication).status_code == 200


def test_a_gtin_belongs_to_one_product_whatever_its_length(fhir: httpx.Client) -> None:
    register(fhir, "p1", gtins=(gtin(1),))
    medication, _ = resources("p2", "AZ-T-0002", gtins=("0" + gtin(1),))  # as GTIN-14
    answer = fhir.post("/Medication", json={k: v for k, v in medication.items() if k != "id"})
    _refused(answer, 409, "Medication.identifier[1].value")
    assert "already belongs to Medication/p1" in answer.text
    # Once p1 gives the GTIN up, another product may take it.
    released, _ = resources("p1", gtins=(gtin(5),))
    assert put(fhir, released).status_code == 200
    assert put(fhir, medication).status_code == 201


def test_deleting_a_product_frees_its_number_and_gtins(fhir: httpx.Client) -> None:
    register(fhir, "p1")
    assert fhir.delete("/Medication/p1").status_code in (200, 204)
    register(fhir, "p2")  # the same number and GTIN


def test_a_transaction_giving_one_number_to_two_products_is_refused_whole(
    fhir: httpx.Client,
) -> None:
    first, _ = resources("p1", gtins=(gtin(1),))
    second, _ = resources("p2", gtins=(gtin(2),))
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": r, "request": {"method": "PUT", "url": f"Medication/{r['id']}"}}
            for r in (first, second)
        ],
    }
    answer = fhir.post("", json=bundle)
    assert answer.status_code == 409, answer.text
    assert "already belongs to Medication/p1" in answer.text
    assert ids(fhir, "Medication") == set()


def test_a_product_has_one_registration(fhir: httpx.Client) -> None:
    register(fhir, "p1")
    _, knowledge = resources("p1")
    knowledge["id"] = "p1-again"
    answer = put(fhir, knowledge)
    _refused(answer, 409, "MedicationKnowledge.associatedMedication")
    assert "MedicationKnowledge/p1" in answer.text
    assert ids(fhir, "MedicationKnowledge") == {"p1"}


def test_medications_outside_the_register_are_left_alone(fhir: httpx.Client) -> None:
    register(fhir, "p1")
    formulary = {
        "resourceType": "Medication",
        "id": "formulary-paracetamol",
        "code": {"text": "paracetamol 500 mg"},
        "identifier": [{"system": GTIN, "value": gtin(1)}],  # a pack the hospital stocks
    }
    assert put(fhir, formulary).status_code == 201


def test_concurrent_registrations_of_one_number_let_exactly_one_win(
    server: LiveServer, fhir: httpx.Client
) -> None:
    writers = 8
    start = threading.Barrier(writers)
    answers: list[int] = []

    def create(number: int) -> None:
        medication, _ = resources(f"race-{number}", "AZ-RACE-1", gtins=(gtin(100 + number),))
        with httpx.Client(base_url=server.base, headers={"Content-Type": FHIR}) as client:
            start.wait()
            answers.append(put(client, medication).status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] + [409] * (writers - 1), answers
    assert len(ids(fhir, "Medication", identifier=f"{REGISTRATION_NUMBER}|AZ-RACE-1")) == 1


def test_concurrent_registrations_of_one_gtin_let_exactly_one_win(
    server: LiveServer, fhir: httpx.Client
) -> None:
    writers = 6
    start = threading.Barrier(writers)
    answers: list[int] = []

    def create(number: int) -> None:
        medication, _ = resources(f"race-{number}", f"AZ-RACE-{number}", gtins=(gtin(77),))
        with httpx.Client(base_url=server.base, headers={"Content-Type": FHIR}) as client:
            start.wait()
            answers.append(put(client, medication).status_code)

    threads = [threading.Thread(target=create, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201] + [409] * (writers - 1), answers


@pytest.mark.parametrize("status", ["valid", "suspended", "withdrawn", "expired"])
def test_every_registration_status_is_stored(fhir: httpx.Client, status: str) -> None:
    register(fhir, "p1", status=status)
    stored = fhir.get("/MedicationKnowledge/p1").json()
    coding = stored["regulatory"][0]["extension"][0]["valueCoding"]
    assert coding["code"] == status
