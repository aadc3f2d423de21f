"""The e-Prescription verbs on SQLite and PostgreSQL: Dr Aysel prescribes for Leyla, Samir
dispenses at Pharmacy 7, and every bad input is refused with a clear OperationOutcome and
nothing written."""

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest

from shafa.db.engine import write_transaction
from shafa.fhir import store
from shafa.fhir.errors import FhirError
from shafa.fhir.validation import check_resource
from shafa.prescriptions import actions, numbers
from shafa.prescriptions.schemas import (
    NUMBER_SYSTEM,
    Caller,
    Line,
    OverrideAsk,
    Prescribed,
    read_draft,
)
from shafa.registries.medicines_rules import INN
from tests.prescriptions.conftest import (
    AMOXIL,
    AYSEL,
    DEVA,
    KAMAL,
    LEYLA_FIN,
    MOMENT,
    MST,
    NIGAR,
    NO_SPA,
    OMEZ,
    RAUF,
    SAMIR,
    TURAL_FIN,
    World,
    amoxicillin,
    morphine,
)

D = Decimal


def prescribe(
    world: World,
    draft: dict[str, Any],
    who: Caller = AYSEL,
    overrides: tuple[OverrideAsk, ...] = (),
    moment: Any = MOMENT,
) -> Prescribed:
    return world.run(
        lambda engine: actions.prescribe(engine, who, read_draft(draft), moment, overrides)
    )


def refused(world: World, work: Any, status: int) -> str:
    """Assert the verb is refused with status and wrote nothing; the diagnostics."""
    before = world.counts()
    with pytest.raises(FhirError) as caught:
        work()
    assert caught.value.status == status, caught.value
    assert world.counts() == before
    return str(caught.value)


def dispense(
    world: World,
    number: str,
    lines: list[Line],
    fin: str = LEYLA_FIN,
    who: Caller = SAMIR,
    moment: Any = MOMENT,
) -> Any:
    return world.run(
        lambda engine: actions.dispense(engine, who, number, fin, lines, moment, "R-1")
    )


# --- prescribing --------------------------------------------------------------------------------


def test_a_doctor_prescribes_by_inn(world: World) -> None:
    done = prescribe(world, amoxicillin())
    assert numbers.is_valid(done.number)
    request = done.medication_request
    check_resource(request)
    assert request["status"] == "active"
    assert {"use": "official", "system": NUMBER_SYSTEM, "value": done.number} in request[
        "identifier"
    ]
    assert request["dispenseRequest"]["validityPeriod"] == {
        "start": "2026-03-02",
        "end": "2026-03-31",
    }
    assert request["requester"] == {"reference": "Practitioner/aysel"}
    # Leyla states no language: the instruction is in Azerbaijani.
    assert done.language == "az"
    assert done.instruction.startswith("Gündə 3 dəfə 1 kapsul")
    assert request["dosageInstruction"][0]["text"] == done.instruction
    assert done.detected_issues == []
    assert done.quantity_warning is None  # 21 capsules a course, 2 packs of 20: 40 fits
    row = world.row(done.number)
    assert (row.patient_id, row.prescriber_id, row.organization_id) == (
        "leyla",
        "aysel",
        "polyclinic-1",
    )
    assert (row.inn, row.atc, row.dose_form, row.unit) == (
        "amoxicillin",
        "J01CA04",
        "capsule-hard",
        "{capsule}",
    )
    assert (D(row.quantity), D(row.dispensed), row.status, row.controlled) == (
        D(40),
        D(0),
        "active",
        False,
    )
    assert row.valid_until == date(2026, 3, 31)
    counts = world.counts()
    assert (counts["MedicationRequest"], counts["prescriptions"]) == (1, 1)


def test_too_much_is_a_warning_not_a_refusal(world: World) -> None:
    done = prescribe(world, amoxicillin(quantity=100))
    assert done.quantity_warning is not None
    assert "more than the course needs" in done.quantity_warning


def test_a_named_product_needs_a_reason(world: World) -> None:
    amoxil = world.medication_id(AMOXIL)
    draft = amoxicillin(medicationReference={"reference": f"Medication/{amoxil}"})
    draft.pop("contained")
    text = refused(world, lambda: prescribe(world, draft), 422)
    assert "substitution" in text
    draft["substitution"] = {"allowedBoolean": False, "reason": {"text": "allergy to an excipient"}}
    done = prescribe(world, draft)
    assert world.row(done.number).medication_id == amoxil


@pytest.mark.parametrize(
    ("change", "status", "said"),
    [
        ({"subject": {"reference": "Patient/nobody"}}, 422, "not known"),
        ({"subject": {"reference": "Patient/ali"}}, 422, "deceased"),
        ({"icd10": "J01"}, 422, "ICD-10"),
        ({"icd10": "XYZ.1"}, 422, "ICD-10"),
        ({"quantity": 0}, 422, "more than 0"),
        ({"quantity": -5}, 422, "more than 0"),
        ({"strength": "750 mg/{capsule}"}, 422, "No registered product"),
        ({"unit": "mL"}, 422, "{capsule}"),
        ({"dosageInstruction": [{"timing": {"repeat": {"frequency": 0}}}]}, 422, "frequency"),
        ({"requester": "kamal"}, 403, "suspended"),
        ({"requester": "samir"}, 403, "doctor or dentist"),
        ({"requester": "nobody"}, 403, "not in the workforce registry"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    world: World, change: dict[str, Any], status: int, said: str
) -> None:
    options = {k: v for k, v in change.items() if k in ("icd10", "quantity", "strength", "unit")}
    if "requester" in change:
        options["requester"] = change["requester"]
    extra = {k: v for k, v in change.items() if k not in options}
    draft = amoxicillin(**options) | extra
    system = Caller(None, None, None)  # a hospital system: the requester is who prescribes
    text = refused(world, lambda: prescribe(world, draft, who=system), status)
    assert said in text


def test_only_a_licensed_doctor_prescribes(world: World) -> None:
    assert "Only a doctor" in refused(world, lambda: prescribe(world, amoxicillin(), NIGAR), 403)
    draft = amoxicillin(requester="kamal")
    assert "suspended" in refused(world, lambda: prescribe(world, draft, KAMAL), 403)
    other = amoxicillin(requester="rauf")
    assert "not as" in refused(world, lambda: prescribe(world, other, AYSEL), 403)


def test_a_suspended_named_product_is_refused(world: World) -> None:
    no_spa = world.medication_id(NO_SPA)
    draft = amoxicillin(
        medicationReference={"reference": f"Medication/{no_spa}"},
        substitution={"allowedBoolean": False, "reason": {"text": "the patient asks for it"}},
    )
    draft.pop("contained")
    assert "suspended" in refused(world, lambda: prescribe(world, draft), 422)


def test_a_cardiologist_may_not_prescribe_a_narcotic(world: World) -> None:
    text = refused(world, lambda: prescribe(world, morphine(requester="rauf"), RAUF), 403)
    assert "narcotic" in text
    done = prescribe(world, morphine())
    row = world.row(done.number)
    assert row.controlled
    # Narcotics are valid for 10 days.
    assert row.valid_until == date(2026, 3, 11)


def test_an_allergy_blocks_until_overridden_with_a_reason(world: World) -> None:
    allergy = {
        "resourceType": "AllergyIntolerance",
        "id": "leyla-penicillin",
        "patient": {"reference": "Patient/leyla"},
        "code": {"coding": [{"system": INN, "code": "amoxicillin"}]},
    }

    async def put(engine: Any) -> None:
        async with write_transaction(engine) as conn:
            await store.apply_writes(
                conn, [store.Write("AllergyIntolerance", allergy["id"], allergy, "PUT")], MOMENT
            )

    world.run(put)
    before = world.counts()
    with pytest.raises(actions.Blocked) as caught:
        prescribe(world, amoxicillin())
    assert world.counts() == before
    outcome = caught.value.outcome()
    check_resource(outcome)
    key = outcome["issue"][0]["details"]["coding"][0]["code"]
    assert key.startswith("ALGY:")
    assert outcome["contained"][0]["status"] == "preliminary"
    too_short = (OverrideAsk("ok", key),)
    refused(world, lambda: prescribe(world, amoxicillin(), overrides=too_short), 422)
    reason = "Tolerated amoxicillin last year; rash was viral"
    done = prescribe(world, amoxicillin(), overrides=(OverrideAsk(reason, key),))
    (issue,) = done.detected_issues
    check_resource(issue)
    assert issue["status"] == "final"
    assert issue["mitigation"][0]["action"]["text"] == reason
    assert issue["implicated"][0] == {"reference": f"MedicationRequest/{done.request_id}"}
    assert done.medication_request["detectedIssue"] == [
        {"reference": f"DetectedIssue/{issue['id']}"}
    ]
    assert world.counts()["DetectedIssue"] == 1


def test_a_second_course_is_duplicate_therapy_a_warning(world: World) -> None:
    prescribe(world, amoxicillin())
    done = prescribe(world, amoxicillin())
    (issue,) = done.detected_issues
    assert issue["code"]["coding"][0]["code"] == "DUPTHPY"
    assert issue["severity"] == "moderate"


# --- dispensing ---------------------------------------------------------------------------------


def test_partial_dispenses_leave_the_rest_dispensable(world: World) -> None:
    done = prescribe(world, amoxicillin())
    first = dispense(world, done.number, [Line(AMOXIL, 1, "SN1", "LOT1", date(2027, 1, 1))])
    assert (first.status, first.dispensed, first.remaining) == ("partially-dispensed", 20, 20)
    (given,) = first.dispenses
    check_resource(given)
    assert given["authorizingPrescription"] == [
        {"reference": f"MedicationRequest/{done.request_id}"}
    ]
    assert given["medicationCodeableConcept"]["coding"][0]["code"] == AMOXIL
    assert given["quantity"]["value"] == 20
    assert given["performer"][1] == {"actor": {"reference": "Organization/pharmacy-7"}}
    # Another brand of the same substance, strength and form is a substitution.
    second = dispense(world, done.number, [Line(DEVA, 1)])
    assert (second.status, second.remaining) == ("partially-dispensed", 4)
    text = refused(world, lambda: dispense(world, done.number, [Line(DEVA, 1)]), 422)
    assert "more than the 4 {capsule} left" in text
    assert world.row(done.number).status == "partially-dispensed"


def test_the_last_pack_completes_the_prescription(world: World) -> None:
    done = prescribe(world, amoxicillin())
    last = dispense(world, done.number, [Line(AMOXIL, 2)])
    assert (last.status, last.remaining) == ("completed", 0)

    async def read(engine: Any) -> Any:
        async with engine.connect() as conn:
            return (await store.read(conn, "MedicationRequest", done.request_id)).resource()

    assert world.run(read)["status"] == "completed"
    text = refused(world, lambda: dispense(world, done.number, [Line(AMOXIL, 1)]), 409)
    assert "fully dispensed" in text


def test_a_wrong_fin_looks_like_an_unknown_number(world: World) -> None:
    done = prescribe(world, amoxicillin())
    wrong = refused(world, lambda: dispense(world, done.number, [Line(AMOXIL)], TURAL_FIN), 404)
    unknown_number = numbers.new_number(12345)
    unknown = refused(world, lambda: dispense(world, unknown_number, [Line(AMOXIL)]), 404)
    assert wrong == unknown


def test_a_pack_of_another_substance_is_refused(world: World) -> None:
    done = prescribe(world, amoxicillin())
    text = refused(world, lambda: dispense(world, done.number, [Line(OMEZ)]), 422)
    assert "Omez" in text and "amoxicillin" in text


def test_an_expired_prescription_is_refused(world: World) -> None:
    done = prescribe(world, amoxicillin())
    later = MOMENT + timedelta(days=30)
    text = refused(world, lambda: dispense(world, done.number, [Line(AMOXIL)], moment=later), 422)
    assert "expired" in text and "2026-03-31" in text


def test_only_a_pharmacist_dispenses(world: World) -> None:
    done = prescribe(world, amoxicillin())
    refused(world, lambda: dispense(world, done.number, [Line(AMOXIL)], who=AYSEL), 403)


def test_a_narcotic_is_dispensed_whole(world: World) -> None:
    done = prescribe(world, morphine())
    assert "whole" in refused(world, lambda: dispense(world, done.number, [Line(MST, 2)]), 422)
    whole = dispense(world, done.number, [Line(MST, 1)])
    assert whole.status == "completed"


# --- cancelling ---------------------------------------------------------------------------------


def test_the_prescriber_cancels_before_any_dispense(world: World) -> None:
    done = prescribe(world, amoxicillin())
    reason = "Wrong patient selected"
    request = world.run(lambda e: actions.cancel(e, AYSEL, done.number, reason, MOMENT))
    assert request["status"] == "cancelled"
    assert request["statusReason"] == {"text": reason}
    assert world.row(done.number).status == "cancelled"
    text = refused(world, lambda: dispense(world, done.number, [Line(AMOXIL)]), 409)
    assert "cancelled" in text


def test_a_dispensed_prescription_cannot_be_cancelled(world: World) -> None:
    done = prescribe(world, amoxicillin())
    dispense(world, done.number, [Line(AMOXIL)])
    text = refused(
        world, lambda: world.run(lambda e: actions.cancel(e, AYSEL, done.request_id, "x", MOMENT)),
        409,
    )  # fmt: skip
    assert "partially-dispensed" in text


def test_a_doctor_of_another_organisation_may_not_cancel(world: World) -> None:
    done = prescribe(world, amoxicillin())
    stranger = Caller(AYSEL.role, "rauf", "elsewhere")
    refused(
        world, lambda: world.run(lambda e: actions.cancel(e, stranger, done.number, "x", MOMENT)),
        403,
    )  # fmt: skip
    # A colleague at Polyclinic 1 may.
    world.run(lambda e: actions.cancel(e, RAUF, done.number, "Duplicate prescription", MOMENT))
