"""The e-Prescription verbs, each one transaction: prescribe, dispense, cancel, and find (the
pharmacy's look-up by number and FIN).

Every refusal is a FhirError (a 4xx OperationOutcome) raised before anything is written, or
inside the transaction, which then rolls back: nothing is half-written. The MedicationRequest
in the FHIR store is the clinical record; the prescriptions row (tables.py) is the state
dispensing changes, with one conditional UPDATE so that two pharmacies racing for the same
prescription can never hand over more than was prescribed (see dispense).
"""

import dataclasses
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.fhir import jsonio, search, store, validation
from shafa.fhir.errors import FhirError, Issue, operation_outcome
from shafa.fhir.routes import in_write
from shafa.prescriptions import dosage, numbers, rules
from shafa.prescriptions.schemas import (
    DISPENSED_PACK,
    NUMBER_SYSTEM,
    RECEIPT_SYSTEM,
    Caller,
    Dispensed,
    Draft,
    Found,
    Line,
    OverrideAsk,
    Prescribed,
    read_lines,
    refused,
    status_on,
    strength_of,
)
from shafa.prescriptions.substances import Substance
from shafa.prescriptions.tables import DISPENSABLE, prescriptions
from shafa.registries import medicines, workforce
from shafa.registries.citizens import AZERBAIJAN_TIME
from shafa.registries.medicines_entry import Product
from shafa.registries.medicines_rules import CONTROLLED, GTIN, Amount, equivalence, gtin_problem
from shafa.registries.mpi import rules as mpi_rules
from shafa.security import audit
from shafa.security.rules import Role
from shafa.terminology import icd10

FINDING_SYSTEM = "https://fhir.shafa.az/sid/prescribing-finding"
MAX_RECORD = 100  # resources of one patient a check reads of each type
_p = prescriptions.c


def local_day(moment: datetime) -> date:
    """The calendar day in Azerbaijan at moment: validity periods are in local dates."""
    return moment.astimezone(AZERBAIJAN_TIME).date()


class Blocked(FhirError):
    """422: high-severity findings no override answered. The OperationOutcome carries an
    issue a finding (its key in details, for an override to name) and the DetectedIssues
    themselves, preliminary, as contained resources."""

    def __init__(self, issues: list[Issue], detected: list[dict[str, Any]]) -> None:
        super().__init__(422, issues)
        self.detected = detected

    def outcome(self) -> dict[str, Any]:
        found = operation_outcome(self.issues)
        for issue, detected in zip(found["issue"], self.detected, strict=False):
            key = detected["identifier"][0]["value"]
            issue["details"] = {"coding": [{"system": FINDING_SYSTEM, "code": key}]}
        found["contained"] = self.detected
        return found


# --- prescribe ----------------------------------------------------------------------------------


async def _patient(conn: AsyncConnection, patient_id: str) -> dict[str, Any]:
    where = "MedicationRequest.subject"
    try:
        patient = (await store.read(conn, "Patient", patient_id)).resource()
    except FhirError:
        raise refused(422, "not-found", f"Patient/{patient_id} is not known", where) from None
    if mpi_rules.deceased(patient):
        raise refused(422, "business-rule", f"Patient/{patient_id} is recorded as deceased", where)
    survivor = mpi_rules.replaced_by(patient)
    if survivor is not None:
        raise refused(
            422,
            "business-rule",
            f"Patient/{patient_id} was merged into Patient/{survivor}: prescribe for that record",
            where,
        )
    return patient


async def _prescriber(
    conn: AsyncConnection, caller: Caller, draft: Draft, moment: datetime
) -> tuple[str, workforce.Standing]:
    """The prescribing Practitioner and their standing; 403 unless a licensed doctor."""
    if caller.person and caller.role is not Role.DOCTOR:
        role = caller.role.value if caller.role else "system"
        raise refused(403, "forbidden", f"Only a doctor prescribes, not a {role}")
    practitioner = caller.practitioner_id or draft.requester_id
    if practitioner is None:
        raise refused(
            422,
            "required",
            "Name the prescriber (requester: Practitioner/id)",
            "MedicationRequest.requester",
        )
    if caller.practitioner_id and draft.requester_id not in (None, caller.practitioner_id):
        raise refused(
            403,
            "forbidden",
            f"You prescribe as Practitioner/{caller.practitioner_id}, not as "
            f"Practitioner/{draft.requester_id}",
        )
    try:
        standing = await workforce.licence_standing(conn, practitioner, moment)
    except FhirError:
        raise refused(
            403, "forbidden", f"Practitioner/{practitioner} is not in the workforce registry"
        ) from None
    if not standing.licensed:
        raise refused(
            403,
            "forbidden",
            f"Practitioner/{practitioner} may not prescribe: their licence is "
            f"{standing.status.value}",
        )
    return practitioner, standing


def _in_force(product: Product | None, where: str, what: str) -> Product:
    if product is None:
        raise refused(422, "not-found", f"{what} is not in the medicinal product register", where)
    if not product.in_force:
        raise refused(
            422,
            "business-rule",
            f"{product.entry.label()} may not be prescribed: its registration is "
            f"{product.status.value}",
            where,
        )
    return product


async def _products(conn: AsyncConnection, draft: Draft, moment: datetime) -> list[Product]:
    """The register's products in force the prescription may be dispensed with; 422 if none."""
    medicine = draft.medicine
    where = "MedicationRequest.medicationReference"
    if medicine.medication_id is not None:
        found = await medicines.product(conn, medicine.medication_id, moment)
        return [_in_force(found, where, f"Medication/{medicine.medication_id}")]
    inns = [i.inn for i in medicine.ingredients]
    try:
        found_all = await medicines.equivalents(
            conn, inns, [i.strength for i in medicine.ingredients], medicine.dose_form, moment
        )
    except ValueError as error:
        raise refused(422, "invalid", str(error), where) from None
    if not found_all:
        strengths = " + ".join(str(i.strength) for i in medicine.ingredients)
        raise refused(
            422,
            "business-rule",
            f"No registered product in force is {' + '.join(inns)} {strengths} "
            f"{medicine.dose_form}: prescribe what the register holds",
            where,
        )
    return found_all


async def _record(
    conn: AsyncConnection, res_type: str, patient_id: str, more: Sequence[tuple[str, str]] = ()
) -> list[dict[str, Any]]:
    """The patient's live resources of a type (at most MAX_RECORD, oldest first)."""
    found = search.criteria(res_type, [("patient", f"Patient/{patient_id}"), *more])
    rows = await search.matching(conn, res_type, found, limit=MAX_RECORD)
    return [jsonio.parse(row.content) for row in rows]


async def _current(conn: AsyncConnection, patient_id: str, today: date) -> list[Substance]:
    """What the patient takes: their dispensable prescriptions still valid today."""
    rows = await conn.execute(
        select(_p.inn, _p.atc, _p.medication_request_id).where(
            _p.patient_id == patient_id, _p.status.in_(DISPENSABLE), _p.valid_until >= today
        )
    )
    return [
        Substance.of(row.inn, row.atc, f"MedicationRequest/{row.medication_request_id}")
        for row in rows
    ]


def _overrides(
    asks: Sequence[OverrideAsk], findings: Sequence[rules.Finding], author: str, when: str
) -> dict[str, rules.Override]:
    """The Overrides the doctor's asks make, by finding key; 422 for a reason too short or a
    finding that was not found."""
    keys = {f.key for f in findings}
    made: dict[str, rules.Override] = {}
    for ask in asks:
        if ask.finding is not None and ask.finding not in keys:
            raise refused(
                422, "invalid", f"No finding {ask.finding!r} to override", "override.finding"
            )
        answered = [ask.finding] if ask.finding else [f.key for f in findings if f.blocks]
        for key in answered:
            try:
                made[key] = rules.Override(key, ask.reason, author, when)
            except ValueError as error:
                raise refused(422, "invalid", str(error), "override.reason") from None
    return made


def _warning(draft: Draft, product: Product) -> str | None:
    try:
        found = dosage.quantity_warning(
            Amount(draft.quantity, draft.unit),
            draft.regimen,
            product.entry.pack,
            strength_of(draft.medicine),
        )
    except ValueError:
        return None  # a dose the pack cannot be counted in: nothing to compare
    return None if found is None else found.text()


async def prescribe(
    engine: AsyncEngine,
    caller: Caller,
    draft: Draft,
    moment: datetime,
    overrides: Sequence[OverrideAsk] = (),
) -> Prescribed:
    """Issue a prescription: check the patient, the prescriber, the product, the diagnosis,
    quantity and dosage, then the safety rules against the patient's record; write the
    MedicationRequest, its DetectedIssues, the prescriptions row and an audit record in one
    transaction. Blocked (422) for a high-severity finding no override answers."""
    for code in draft.diagnoses:
        if not icd10.is_valid_leaf(code):
            raise refused(
                422,
                "code-invalid",
                f"{code!r} is not an ICD-10 code a diagnosis may be recorded with (a category "
                "without subdivisions, or a subcategory)",
                "MedicationRequest.reasonCode",
            )
    today = local_day(moment)
    when = store.instant(moment)

    async def work(conn: AsyncConnection) -> Prescribed:
        patient = await _patient(conn, draft.patient_id)
        practitioner, standing = await _prescriber(conn, caller, draft, moment)
        products = await _products(conn, draft, moment)
        chosen = products[0]
        entry = chosen.entry
        problem = rules.prescribing_problem(standing.specialities, entry.controlled)
        if problem is not None:
            raise refused(403, "forbidden", problem)
        units = {p.entry.pack.unit for p in products}
        if draft.unit not in units:
            raise refused(
                422,
                "invalid",
                f"Prescribe {entry.dose_form} in {' or '.join(sorted(units))}, the unit its "
                f"packs are counted in, not {draft.unit}",
                "MedicationRequest.dispenseRequest.quantity",
            )
        inn_text = " + ".join(i.inn for i in entry.ingredients)
        substance = Substance.of(inn_text, entry.atc)
        allergies, allergen_atc = rules.allergies_of(
            await _record(conn, "AllergyIntolerance", draft.patient_id)
        )
        is_pregnant = patient.get("gender") != "male" and rules.pregnant(
            await _record(conn, "Condition", draft.patient_id),
            await _record(
                conn, "Observation", draft.patient_id, [("code", f"{rules.LOINC_SYSTEM}|82810-3")]
            ),
        )
        born = rules.birth_date(patient)
        findings = rules.check(
            substance,
            draft.regimen,
            strength=strength_of(draft.medicine) or entry.ingredients[0].strength,
            current=await _current(conn, draft.patient_id, today),
            allergies=allergies,
            allergen_atc=allergen_atc,
            age=rules.age_in_years(born, today) if born else None,
            pregnant=is_pregnant,
        )
        author = f"Practitioner/{practitioner}"
        made = _overrides(overrides, findings, author, when)
        request_id = store.new_id()
        request_ref = f"MedicationRequest/{request_id}"
        patient_ref = f"Patient/{draft.patient_id}"
        left = rules.blocking(findings, made.values())
        if left:
            detected = [
                _identified(
                    rules.detected_issue(
                        f,
                        patient=patient_ref,
                        identified=when,
                        author=author,
                        status="preliminary",
                    ),
                    f,
                )
                for f in left
            ]
            raise Blocked(
                [
                    Issue(
                        "business-rule",
                        f"{f.detail} Override with a reason to prescribe anyway.",
                        expression=("MedicationRequest",),
                    )
                    for f in left
                ],
                detected,
            )
        issues: list[dict[str, Any]] = []
        for finding in findings:
            issue = _identified(
                rules.detected_issue(
                    finding,
                    patient=patient_ref,
                    identified=when,
                    prescription=request_ref,
                    author=author,
                    override=made.get(finding.key),
                ),
                finding,
            )
            issue["id"] = store.new_id()
            issues.append(issue)
        language = rules.patient_language(patient)
        instruction = dosage.instruction_text(draft.regimen, language)
        first, last = rules.validity_period(today, entry.controlled)
        number = numbers.new_number(secrets.randbelow(numbers.NUMBER_SPACE))
        verification = numbers.verification_code(secrets.randbelow(numbers.VERIFICATION_SPACE))
        organization = caller.organization_id or next(iter(sorted(standing.organizations)), None)
        request = _medication_request(
            draft, request_id, number, author, when, language, first, last, issues
        )
        for resource in (request, *issues):
            validation.check_resource(resource)
        writes = [
            store.Write(r["resourceType"], r["id"], r, "POST", create_only=True, server_id=True)
            for r in (request, *issues)
        ]
        await store.apply_writes(conn, writes, moment)
        substance_key, strength_key, form = equivalence(entry.ingredients, entry.dose_form)
        await conn.execute(
            prescriptions.insert().values(
                number=number,
                verification=verification,
                medication_request_id=request_id,
                patient_id=draft.patient_id,
                prescriber_id=practitioner,
                organization_id=organization,
                inn=inn_text,
                atc=entry.atc,
                substance=substance_key,
                strength=strength_key,
                dose_form=form,
                medication_id=draft.medicine.medication_id,
                quantity=draft.quantity,
                dispensed=Decimal(0),
                unit=draft.unit,
                status="active",
                valid_from=first,
                valid_until=last,
                controlled=entry.controlled in CONTROLLED,
                issue=1,
                issues=1,
                issued_at=moment,
                updated_at=moment,
                version=1,
            )
        )
        await audit.record(
            conn,
            dataclasses.replace(
                caller.agent,
                action=audit.Action.CREATE,
                recorded=moment,
                patients=(draft.patient_id,),
                resources=(request_ref, *(f"DetectedIssue/{i['id']}" for i in issues)),
                reason=f"prescribe {number}",
            ),
        )
        return Prescribed(
            number,
            verification,
            request_id,
            request,
            issues,
            _warning(draft, chosen),
            instruction,
            language,
        )

    return await in_write(engine, work)


def _identified(issue: dict[str, Any], finding: rules.Finding) -> dict[str, Any]:
    """The DetectedIssue with its finding's key as an identifier, for an override to name."""
    return issue | {"identifier": [{"system": FINDING_SYSTEM, "value": finding.key}]}


def _medication_request(
    draft: Draft,
    request_id: str,
    number: str,
    author: str,
    when: str,
    language: str,
    first: date,
    last: date,
    issues: list[dict[str, Any]],
) -> dict[str, Any]:
    """The MedicationRequest to store: the draft, issued."""
    request = {k: v for k, v in draft.resource.items() if k not in ("id", "meta", "text")}
    request.update(
        id=request_id,
        status="active",
        intent="order",
        authoredOn=when,
        requester={"reference": author},
        identifier=[
            *[i for i in request.get("identifier") or [] if i.get("system") != NUMBER_SYSTEM],
            {"use": "official", "system": NUMBER_SYSTEM, "value": number},
        ],
        dosageInstruction=[draft.regimen.fhir(language)],
    )
    dispense = dict(request.get("dispenseRequest") or {})
    dispense["validityPeriod"] = {"start": first.isoformat(), "end": last.isoformat()}
    request["dispenseRequest"] = dispense
    if issues:
        request["detectedIssue"] = [{"reference": f"DetectedIssue/{i['id']}"} for i in issues]
    return request


# --- finding a prescription ---------------------------------------------------------------------


def _not_found() -> FhirError:
    # The same answer whether the number is unknown or belongs to someone else: a wrong FIN
    # must not tell whether a prescription exists.
    return refused(404, "not-found", "No prescription has that number for that FIN")


async def _row(conn: AsyncConnection, number_or_id: str) -> Any:
    """The prescriptions row of a number (as typed) or a MedicationRequest id, or None."""
    if numbers.is_valid(number_or_id):
        number = numbers.display(numbers.normalise(number_or_id))
        query = select(prescriptions).where(_p.number == number)
    else:
        query = select(prescriptions).where(_p.medication_request_id == number_or_id)
    return (await conn.execute(query)).first()


async def _row_for_fin(conn: AsyncConnection, number_or_id: str, fin: str) -> Any:
    """The row of a prescription whose patient holds the FIN; 404 otherwise."""
    row = await _row(conn, number_or_id)
    if row is None:
        raise _not_found()
    try:
        patient = (await store.read(conn, "Patient", row.patient_id)).resource()
    except FhirError:
        raise _not_found() from None
    held = {str(i.get("value", "")).upper() for i in mpi_rules.fins(patient)}
    if fin.strip().upper() not in held:
        raise _not_found()
    return row


async def find(engine: AsyncEngine, number_or_id: str, fin: str, moment: datetime) -> Found:
    """The prescription a pharmacy is shown a number and the patient's FIN for."""
    async with engine.connect() as conn:
        row = await _row_for_fin(conn, number_or_id, fin)
        request = (
            await store.read(conn, "MedicationRequest", row.medication_request_id)
        ).resource()
    return Found(
        row.number,
        request,
        status_on(row.status, row.valid_until, local_day(moment)),
        Decimal(row.quantity),
        Decimal(row.dispensed),
        row.unit,
        row.valid_until,
    )


# --- dispense -----------------------------------------------------------------------------------


def _state_problem(row: Any, today: date) -> FhirError | None:
    """Why the prescription cannot be dispensed at all today, or None."""
    status = status_on(row.status, row.valid_until, today)
    if status == "cancelled":
        return refused(409, "business-rule", f"Prescription {row.number} was cancelled")
    if status == "completed":
        return refused(409, "business-rule", f"Prescription {row.number} is fully dispensed")
    if status == "expired":
        return refused(
            422,
            "business-rule",
            f"Prescription {row.number} expired: it was valid until {row.valid_until.isoformat()}",
        )
    return None


async def _pack(
    conn: AsyncConnection, row: Any, line: Line, index: int, moment: datetime
) -> Product:
    """The registered product of a line, checked against the prescription; 422 otherwise."""
    where = f"pack[{index}].gtin"
    if gtin_problem(line.gtin) is not None:
        raise refused(422, "invalid", f"{line.gtin!r} is not a GTIN", where)
    product = _in_force(
        await medicines.product(conn, line.gtin, moment), where, f"GTIN {line.gtin}"
    )
    entry = product.entry
    if entry.equivalence() != (row.substance, row.strength, row.dose_form):
        raise refused(
            422,
            "business-rule",
            f"GTIN {line.gtin} is {entry.label()}; the prescription is for {row.inn} "
            f"{row.strength} {row.dose_form}",
            where,
        )
    if row.medication_id is not None and product.medication_id != row.medication_id:
        raise refused(
            422,
            "business-rule",
            f"The prescription names Medication/{row.medication_id} and forbids substitution",
            where,
        )
    if entry.pack.unit != row.unit:
        raise refused(
            422, "business-rule", f"GTIN {line.gtin}'s packs count {entry.pack.unit}", where
        )
    if line.expiry is not None and line.expiry < local_day(moment):
        raise refused(422, "business-rule", f"The pack expired on {line.expiry.isoformat()}", where)
    return product


def _dispense_resource(
    row: Any, line: Line, product: Product, caller: Caller, receipt: str | None, when: str
) -> dict[str, Any]:
    """The MedicationDispense of one line: the pack's GTIN and register coding as the
    medication, what its DataMatrix says (GTIN, serial, lot, expiry) in a dispensed-pack
    extension, the receipt as an identifier."""
    quantity = product.entry.pack.value * line.packs
    parts: list[dict[str, Any]] = [
        {"url": "gtin", "valueString": line.gtin},
        {"url": "packs", "valueInteger": line.packs},
    ]
    if line.serial:
        parts.append({"url": "serial", "valueString": line.serial})
    if line.lot:
        parts.append({"url": "lot", "valueString": line.lot})
    if line.expiry:
        parts.append({"url": "expiry", "valueDate": line.expiry.isoformat()})
    resource: dict[str, Any] = {
        "resourceType": "MedicationDispense",
        "id": store.new_id(),
        "extension": [{"url": DISPENSED_PACK, "extension": parts}],
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": GTIN, "code": line.gtin, "display": product.entry.label()}],
            "text": product.entry.label(),
        },
        "subject": {"reference": f"Patient/{row.patient_id}"},
        "authorizingPrescription": [
            {"reference": f"MedicationRequest/{row.medication_request_id}"}
        ],
        "quantity": Amount(quantity, row.unit).quantity(),
        "whenHandedOver": when,
    }
    performers = []
    if caller.practitioner_id:
        performers.append({"actor": {"reference": f"Practitioner/{caller.practitioner_id}"}})
    if caller.organization_id:
        performers.append({"actor": {"reference": f"Organization/{caller.organization_id}"}})
    if performers:
        resource["performer"] = performers
    if receipt:
        resource["identifier"] = [{"system": RECEIPT_SYSTEM, "value": receipt}]
    return resource


async def dispense(
    engine: AsyncEngine,
    caller: Caller,
    number: str,
    fin: str,
    lines: Sequence[Line],
    moment: datetime,
    receipt: str | None = None,
) -> Dispensed:
    """Hand over packs on a prescription: the number (or MedicationRequest id) and the
    patient's FIN (404 if they do not go together), each pack a registered product in force of
    the prescribed substance, strength and form; at most what remains, and a controlled
    product all at once. The quantity moves by one conditional UPDATE, so concurrent dispenses
    never exceed the prescription; then a MedicationDispense a line, the MedicationRequest
    completed when nothing remains, and an audit record, in the same transaction."""
    if caller.person and caller.role is not Role.PHARMACIST:
        role = caller.role.value if caller.role else "system"
        raise refused(403, "forbidden", f"Only a pharmacist dispenses, not a {role}")
    checked = read_lines(lines)
    today = local_day(moment)
    when = store.instant(moment)

    async def work(conn: AsyncConnection) -> Dispensed:
        row = await _row_for_fin(conn, number, fin)
        problem = _state_problem(row, today)
        if problem is not None:
            raise problem
        products = [await _pack(conn, row, line, i, moment) for i, line in enumerate(checked)]
        given = sum(
            (p.entry.pack.value * line.packs for p, line in zip(products, checked, strict=True)),
            Decimal(0),
        )
        remaining = Decimal(row.quantity) - Decimal(row.dispensed)
        if row.controlled and given != Decimal(row.quantity):
            raise refused(
                422,
                "business-rule",
                f"A narcotic or psychotropic prescription is dispensed whole, at once: "
                f"{_amount(row.quantity, row.unit)}, not {_amount(given, row.unit)}",
                "pack",
            )
        if given > remaining:
            raise refused(
                422,
                "business-rule",
                f"{_amount(given, row.unit)} is more than the {_amount(remaining, row.unit)} "
                f"left to dispense on prescription {row.number}",
                "pack",
            )
        # The guarantee: one statement decides, under the row's lock, whether the packs fit.
        # A concurrent dispense that committed first makes this WHERE false (PostgreSQL
        # re-checks it against the committed row; SQLite's writers take turns).
        after = (
            await conn.execute(
                update(prescriptions)
                .where(
                    _p.number == row.number,
                    _p.status.in_(DISPENSABLE),
                    _p.valid_until >= today,
                    _p.dispensed + given <= _p.quantity,
                )
                .values(
                    dispensed=_p.dispensed + given,
                    status=_completed_or_partial(given),
                    updated_at=moment,
                    version=_p.version + 1,
                )
                .returning(_p.dispensed, _p.quantity, _p.status)
            )
        ).first()
        if after is None:
            now_row = await _row(conn, row.number)
            left = Decimal(now_row.quantity) - Decimal(now_row.dispensed)
            raise refused(
                409,
                "conflict",
                f"Another dispense on prescription {row.number} got there first: "
                f"{_amount(left, row.unit)} left now, status {now_row.status}",
                "pack",
            )
        dispenses = [
            _dispense_resource(row, line, product, caller, receipt, when)
            for line, product in zip(checked, products, strict=True)
        ]
        writes = [
            store.Write("MedicationDispense", d["id"], d, "POST", create_only=True, server_id=True)
            for d in dispenses
        ]
        for d in dispenses:
            validation.check_resource(d)
        if after.status == "completed":
            stored = await store.read(conn, "MedicationRequest", row.medication_request_id)
            request = stored.resource() | {"status": "completed"}
            writes.append(
                store.Write(
                    "MedicationRequest",
                    row.medication_request_id,
                    request,
                    "PUT",
                    if_match=stored.version,
                )
            )
        await store.apply_writes(conn, writes, moment)
        await audit.record(
            conn,
            dataclasses.replace(
                caller.agent,
                action=audit.Action.CREATE,
                recorded=moment,
                patients=(row.patient_id,),
                resources=(
                    *(f"MedicationDispense/{d['id']}" for d in dispenses),
                    f"MedicationRequest/{row.medication_request_id}",
                ),
                reason=f"dispense {row.number}: {_amount(given, row.unit)}"
                + (f", receipt {receipt}" if receipt else ""),
            ),
        )
        return Dispensed(
            row.number,
            row.medication_request_id,
            dispenses,
            Decimal(after.dispensed),
            Decimal(after.quantity),
            row.unit,
            after.status,
        )

    return await in_write(engine, work)


def _completed_or_partial(given: Decimal) -> Any:
    return case((_p.dispensed + given >= _p.quantity, "completed"), else_="partially-dispensed")


def _amount(value: Any, unit: str) -> str:
    return str(Amount(Decimal(value), unit))


# --- cancel -------------------------------------------------------------------------------------


async def cancel(
    engine: AsyncEngine, caller: Caller, number_or_id: str, reason: str, moment: datetime
) -> dict[str, Any]:
    """Cancel a prescription nothing has been dispensed on: its prescriber, or a doctor of the
    organisation it was written at. The MedicationRequest becomes cancelled with the reason as
    its statusReason; the cancelled MedicationRequest is returned."""
    reason = reason.strip()
    if not reason:
        raise refused(422, "required", "Say why the prescription is cancelled", "reason")
    if caller.person and caller.role is not Role.DOCTOR:
        role = caller.role.value if caller.role else "system"
        raise refused(403, "forbidden", f"Only a doctor cancels a prescription, not a {role}")

    async def work(conn: AsyncConnection) -> dict[str, Any]:
        row = await _row(conn, number_or_id)
        if row is None:
            raise refused(404, "not-found", f"No prescription {number_or_id}")
        if (
            caller.person
            and caller.practitioner_id != row.prescriber_id
            and (caller.organization_id is None or caller.organization_id != row.organization_id)
        ):
            raise refused(
                403,
                "forbidden",
                "Only the prescriber or a doctor of the organisation it was written at cancels "
                "a prescription",
            )
        done = (
            await conn.execute(
                update(prescriptions)
                .where(_p.number == row.number, _p.status == "active", _p.dispensed == 0)
                .values(status="cancelled", updated_at=moment, version=_p.version + 1)
                .returning(_p.number)
            )
        ).first()
        if done is None:
            now_row = await _row(conn, row.number)
            raise refused(
                409,
                "business-rule",
                f"Prescription {row.number} cannot be cancelled: it is {now_row.status}"
                + (
                    f", {_amount(now_row.dispensed, now_row.unit)} dispensed"
                    if now_row.dispensed
                    else ""
                ),
            )
        stored = await store.read(conn, "MedicationRequest", row.medication_request_id)
        request = stored.resource() | {
            "status": "cancelled",
            "statusReason": {"text": reason[:1000]},
        }
        await store.apply_writes(
            conn,
            [
                store.Write(
                    "MedicationRequest",
                    row.medication_request_id,
                    request,
                    "PUT",
                    if_match=stored.version,
                )
            ],
            moment,
        )
        await audit.record(
            conn,
            dataclasses.replace(
                caller.agent,
                action=audit.Action.UPDATE,
                recorded=moment,
                patients=(row.patient_id,),
                resources=(f"MedicationRequest/{row.medication_request_id}",),
                reason=f"cancel {row.number}: {reason[:200]}",
            ),
        )
        return request

    return await in_write(engine, work)
