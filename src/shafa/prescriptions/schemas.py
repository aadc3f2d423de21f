"""Typed input and output of the e-Prescription verbs: who acts, the draft a doctor sends, the
packs a pharmacy hands over, and what each verb answers. Reading a draft is pure: every
problem is a FhirError naming its element, before an action opens a transaction.

A prescription by INN carries its medicine as a contained Medication (R4 references.html#
contained) that MedicationRequest.medicationReference points to: the INN(s) as codings of
Shafa's INN code system on ingredient.itemCodeableConcept, each with its strength (a UCUM
Ratio), and the dose form (Shafa's dose-form code system) on Medication.form, the shape of the
register's own Medication and of dm+d's virtual medicinal product. A named product is a
reference to the register's Medication/{id} and, since it forbids substitution, needs
substitution.allowedBoolean false with a reason (substitution.reason.text).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from shafa.fhir.errors import FhirError, Issue
from shafa.prescriptions import dosage
from shafa.prescriptions.tables import DISPENSABLE
from shafa.registries.codes import ICD10
from shafa.registries.medicines_rules import (
    DOSE_FORM,
    INN,
    UCUM,
    Ingredient,
    Strength,
    ratio_strength,
)
from shafa.security import audit
from shafa.security.rules import Role

NUMBER_SYSTEM = "https://fhir.shafa.az/sid/prescription-number"
RECEIPT_SYSTEM = "https://fhir.shafa.az/sid/fiscal-receipt"
DISPENSED_PACK = "https://fhir.shafa.az/ext/dispensed-pack"
MAX_LINES = 50  # packs lines in one dispense; a pharmacy counter hands over far fewer
MAX_PACKS = 1000
MAX_REASON = 1000


def refused(status: int, code: str, diagnostics: str, *expression: str) -> FhirError:
    """A refusal: an OperationOutcome with one issue."""
    return FhirError(status, [Issue(code, diagnostics, expression=expression)])


@dataclass(frozen=True, slots=True)
class Caller:
    """Who calls a verb: a person (their role, Practitioner and organisation) or a system
    (role None), and how the audit log names them (agent: an AuditRecord whose agent fields
    are filled; each verb fills in the rest)."""

    role: Role | None
    practitioner_id: str | None
    organization_id: str | None
    agent: audit.AuditRecord = field(
        default_factory=lambda: audit.AuditRecord(action=audit.Action.CREATE, display="system")
    )

    @property
    def person(self) -> bool:
        return self.role is not None


@dataclass(frozen=True, slots=True)
class Medicine:
    """What is prescribed: by INN (ingredients and dose form), or a named product."""

    ingredients: tuple[Ingredient, ...] = ()
    dose_form: str = ""
    medication_id: str | None = None  # a named product of the register
    brand_reason: str | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """A MedicationRequest as a doctor sends it to $prescribe, read."""

    resource: dict[str, Any]
    patient_id: str
    requester_id: str | None
    medicine: Medicine
    diagnoses: tuple[str, ...]  # ICD-10 codes
    quantity: Decimal
    unit: str
    regimen: dosage.Regimen


@dataclass(frozen=True, slots=True)
class OverrideAsk:
    """A doctor's override: its reason, and the finding it answers (Finding.key), or None for
    every high-severity finding of this prescribing."""

    reason: str
    finding: str | None = None


@dataclass(frozen=True, slots=True)
class Line:
    """Packs handed over: their GTIN, how many, and what the DataMatrix says of them."""

    gtin: str
    packs: int = 1
    serial: str | None = None
    lot: str | None = None
    expiry: date | None = None


@dataclass(frozen=True, slots=True)
class Prescribed:
    """What $prescribe answers."""

    number: str
    verification: str
    request_id: str
    medication_request: dict[str, Any]
    detected_issues: list[dict[str, Any]]
    quantity_warning: str | None
    instruction: str
    language: str


@dataclass(frozen=True, slots=True)
class Dispensed:
    """What $dispense answers."""

    number: str
    request_id: str
    dispenses: list[dict[str, Any]]
    dispensed: Decimal
    quantity: Decimal
    unit: str
    status: str

    @property
    def remaining(self) -> Decimal:
        return self.quantity - self.dispensed


@dataclass(frozen=True, slots=True)
class Found:
    """A prescription as the pharmacy finds it by number and FIN."""

    number: str
    medication_request: dict[str, Any]
    status: str
    quantity: Decimal
    dispensed: Decimal
    unit: str
    valid_until: date


def status_on(stored: str, valid_until: date, today: date) -> str:
    """A prescription's status as it reads on a day: a dispensable one past its last day
    reads expired (no job needs to have run)."""
    if stored in DISPENSABLE and valid_until < today:
        return "expired"
    return stored


def _reference_id(value: Any, res_type: str) -> str | None:
    text = value.get("reference") if isinstance(value, Mapping) else None
    if not isinstance(text, str):
        return None
    kind, _, fhir_id = text.partition("/")
    return fhir_id if kind == res_type and fhir_id and "/" not in fhir_id else None


def _codes(concept: Any, system: str) -> list[str]:
    codings = concept.get("coding") if isinstance(concept, Mapping) else None
    return [
        str(c["code"])
        for c in codings or []
        if isinstance(c, Mapping) and c.get("system") == system and isinstance(c.get("code"), str)
    ]


def _medicine(resource: Mapping[str, Any]) -> Medicine:
    where = "MedicationRequest.medicationReference"
    reference = resource.get("medicationReference")
    text = reference.get("reference") if isinstance(reference, Mapping) else None
    if not isinstance(text, str):
        raise refused(
            400,
            "required",
            "Prescribe by INN with a contained Medication (medicationReference '#id'), or a "
            "named product with medicationReference 'Medication/id'",
            where,
        )
    named = _reference_id(reference, "Medication")
    if named is not None:
        substitution = resource.get("substitution")
        reason = None
        if isinstance(substitution, Mapping) and substitution.get("allowedBoolean") is False:
            why = substitution.get("reason")
            reason = why.get("text") if isinstance(why, Mapping) else None
        if not isinstance(reason, str) or not reason.strip():
            raise refused(
                422,
                "business-rule",
                "A named product forbids substitution: prescribe by INN, or give "
                "substitution.allowedBoolean false with the reason (substitution.reason.text)",
                "MedicationRequest.substitution",
            )
        return Medicine(medication_id=named, brand_reason=reason.strip()[:MAX_REASON])
    contained = [
        c
        for c in resource.get("contained") or []
        if isinstance(c, Mapping) and f"#{c.get('id')}" == text
    ]
    if len(contained) != 1 or contained[0].get("resourceType") != "Medication":
        raise refused(400, "invalid", f"{text!r} names no contained Medication", where)
    medication = contained[0]
    forms = _codes(medication.get("form"), DOSE_FORM)
    if len(forms) != 1:
        raise refused(
            422,
            "required",
            f"The contained Medication needs its dose form: one coding of {DOSE_FORM}",
            "Medication.form",
        )
    ingredients = []
    for index, item in enumerate(medication.get("ingredient") or []):
        path = f"Medication.ingredient[{index}]"
        inns = _codes(item.get("itemCodeableConcept") if isinstance(item, Mapping) else None, INN)
        if len(inns) != 1:
            raise refused(
                422, "required", f"Each ingredient names one INN (a coding of {INN})", path
            )
        problem, strength = ratio_strength(item.get("strength"))
        if strength is None:
            raise refused(422, "invalid", f"{problem} (e.g. 500 mg per {{tablet}})", path)
        ingredients.append(Ingredient(inns[0], strength))
    if not ingredients:
        raise refused(
            422, "required", "The contained Medication names its INN(s)", "Medication.ingredient"
        )
    return Medicine(tuple(ingredients), forms[0])


def _quantity(resource: Mapping[str, Any]) -> tuple[Decimal, str]:
    where = "MedicationRequest.dispenseRequest.quantity"
    request = resource.get("dispenseRequest")
    quantity = request.get("quantity") if isinstance(request, Mapping) else None
    if not isinstance(quantity, Mapping):
        raise refused(422, "required", "Give the quantity to dispense", where)
    try:
        value = Decimal(str(quantity.get("value")))
    except (InvalidOperation, ValueError):
        raise refused(422, "invalid", "The quantity needs a numeric value", where) from None
    if not value.is_finite() or value <= 0:
        raise refused(422, "invalid", f"The quantity must be more than 0, not {value}", where)
    code = quantity.get("code")
    if quantity.get("system") != UCUM or not isinstance(code, str) or not code:
        raise refused(
            422,
            "invalid",
            "The quantity is counted in the unit of the dose form, as UCUM ({tablet}, mL ...)",
            where,
        )
    return value, code


def read_draft(resource: Any) -> Draft:
    """The Draft a MedicationRequest states; FhirError naming the first problem."""
    if not isinstance(resource, dict) or resource.get("resourceType") != "MedicationRequest":
        raise refused(400, "invalid", "$prescribe needs a MedicationRequest", "MedicationRequest")
    patient_id = _reference_id(resource.get("subject"), "Patient")
    if patient_id is None:
        raise refused(
            422, "required", "The subject is the Patient (Patient/id)", "MedicationRequest.subject"
        )
    requester = resource.get("requester")
    requester_id = _reference_id(requester, "Practitioner")
    if requester is not None and requester_id is None:
        raise refused(
            422,
            "invalid",
            "The requester is the prescribing Practitioner (Practitioner/id)",
            "MedicationRequest.requester",
        )
    medicine = _medicine(resource)
    diagnoses = tuple(
        code for concept in resource.get("reasonCode") or [] for code in _codes(concept, ICD10)
    )
    if not diagnoses:
        raise refused(
            422,
            "required",
            f"A prescription states its diagnosis: reasonCode with an ICD-10 coding ({ICD10})",
            "MedicationRequest.reasonCode",
        )
    request = resource.get("dispenseRequest")
    if isinstance(request, Mapping) and (request.get("numberOfRepeatsAllowed") or 0) > 0:
        raise refused(
            422,
            "not-supported",
            "Repeat prescriptions are not issued yet: prescribe one issue",
            "MedicationRequest.dispenseRequest.numberOfRepeatsAllowed",
        )
    quantity, unit = _quantity(resource)
    instructions = resource.get("dosageInstruction")
    if not isinstance(instructions, list) or len(instructions) != 1:
        raise refused(
            422,
            "required",
            "A prescription has one dosageInstruction (one regular regimen)",
            "MedicationRequest.dosageInstruction",
        )
    try:
        regimen = dosage.parse(instructions[0])
    except dosage.DosageError as error:
        raise FhirError(422, list(error.issues)) from None
    return Draft(resource, patient_id, requester_id, medicine, diagnoses, quantity, unit, regimen)


def read_lines(lines: Sequence[Line]) -> list[Line]:
    """The lines, checked for what needs no database."""
    if not lines:
        raise refused(422, "required", "Name the packs handed over (at least one)", "pack")
    if len(lines) > MAX_LINES:
        raise refused(422, "too-costly", f"At most {MAX_LINES} lines a dispense", "pack")
    for index, line in enumerate(lines):
        if not 1 <= line.packs <= MAX_PACKS:
            raise refused(
                422, "invalid", f"A line hands over 1 to {MAX_PACKS} packs", f"pack[{index}]"
            )
    return list(lines)


def strength_of(medicine: Medicine) -> Strength | None:
    """The strength the dose checks count with: the one ingredient's, else None."""
    return medicine.ingredients[0].strength if len(medicine.ingredients) == 1 else None
