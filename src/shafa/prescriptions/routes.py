"""The e-Prescription operations at /fhir, thin handlers over actions (fhir.operations):

- MedicationRequest/$prescribe (type): the draft MedicationRequest and any overrides in, the
  issued MedicationRequest, its DetectedIssues, number and instruction text out; needs
  MedicationRequest create (c), and a doctor's write must reach a patient they care for
  (the same write guard as the REST API's).
- MedicationRequest/$find (type): number and FIN in, the prescription and what is left of it
  out; needs MedicationRequest read (r). The number and the patient's FIN together are what
  lets a pharmacy see a prescription (as Germany's E-Rezept token does): a pharmacist has no
  care relationship with the patient, so a search by identifier shows them nothing.
- MedicationRequest/$dispense (type, with the number; or instance): FIN, packs and receipt in,
  the MedicationDispenses out; needs MedicationRequest read and MedicationDispense create.
- MedicationRequest/$cancel (type, with the number; or instance): the reason in, the
  cancelled MedicationRequest out; needs MedicationRequest update (u).
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from shafa.fhir import store
from shafa.fhir.errors import invalid
from shafa.fhir.operations import Operation
from shafa.fhir.operations.definition import operation_definition
from shafa.prescriptions import actions
from shafa.prescriptions.schemas import Caller, Line, OverrideAsk, read_draft
from shafa.registries.medicines_rules import Amount
from shafa.security import audit

if TYPE_CHECKING:
    from shafa.fhir.routes import Call

PRESCRIBE_DEFINITION = operation_definition(
    "MedicationRequest",
    "prescribe",
    "Prescribe",
    instance=False,
    parameters=[
        ("medicationRequest", "in", 1, "1", "MedicationRequest"),
        ("override", "in", 0, "*", "Tuple"),  # parts: reason (string), finding (string)
        ("medicationRequest", "out", 1, "1", "MedicationRequest"),
        ("detectedIssue", "out", 0, "*", "DetectedIssue"),
        ("number", "out", 1, "1", "string"),
        ("instruction", "out", 1, "1", "string"),
        ("quantityWarning", "out", 0, "1", "string"),
    ],
)
FIND_DEFINITION = operation_definition(
    "MedicationRequest",
    "find",
    "Find",
    instance=False,
    parameters=[
        ("number", "in", 1, "1", "string"),
        ("fin", "in", 1, "1", "string"),
        ("medicationRequest", "out", 1, "1", "MedicationRequest"),
        ("status", "out", 1, "1", "code"),
        ("quantity", "out", 1, "1", "Quantity"),
        ("dispensed", "out", 1, "1", "Quantity"),
        ("remaining", "out", 1, "1", "Quantity"),
        ("validUntil", "out", 1, "1", "date"),
    ],
)
DISPENSE_DEFINITION = operation_definition(
    "MedicationRequest",
    "dispense",
    "Dispense",
    instance=True,
    parameters=[
        ("number", "in", 0, "1", "string"),  # at type level
        ("fin", "in", 1, "1", "string"),
        ("receipt", "in", 0, "1", "string"),
        ("pack", "in", 1, "*", "Tuple"),  # parts: gtin, packs, serial, lot, expiry
        ("medicationDispense", "out", 1, "*", "MedicationDispense"),
        ("status", "out", 1, "1", "code"),
        ("dispensed", "out", 1, "1", "Quantity"),
        ("remaining", "out", 1, "1", "Quantity"),
    ],
)
CANCEL_DEFINITION = operation_definition(
    "MedicationRequest",
    "cancel",
    "Cancel",
    instance=True,
    parameters=[
        ("number", "in", 0, "1", "string"),  # at type level
        ("reason", "in", 1, "1", "string"),
        ("return", "out", 1, "1", "MedicationRequest"),
    ],
)

# --- reading Parameters -------------------------------------------------------------------------


def _parameters(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise invalid("Send a Parameters resource", "Parameters")
    return [p for p in body.get("parameter") or [] if isinstance(p, dict)]


def _named(parameters: Sequence[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [p for p in parameters if p.get("name") == name]


def _value(parameters: Sequence[dict[str, Any]], name: str, key: str, required: bool) -> Any:
    """The value[x] of the one parameter (or part) of that name; 400 if repeated or, when
    required, absent or not of that type."""
    found = _named(parameters, name)
    if len(found) > 1:
        raise invalid(f"Parameters has {name} more than once", f"Parameters.parameter.{name}")
    value = found[0].get(key) if found else None
    if required and value is None:
        raise invalid(f"Parameters needs {name} ({key})", f"Parameters.parameter.{name}")
    return value


def _string(parameters: Sequence[dict[str, Any]], name: str, required: bool = True) -> Any:
    value = _value(parameters, name, "valueString", required)
    if value is not None and not isinstance(value, str):
        raise invalid(f"{name} is a string", f"Parameters.parameter.{name}")
    return value


def _overrides(parameters: Sequence[dict[str, Any]]) -> list[OverrideAsk]:
    asks = []
    for parameter in _named(parameters, "override"):
        parts = [p for p in parameter.get("part") or [] if isinstance(p, dict)]
        reason = _string(parts, "reason")
        asks.append(OverrideAsk(reason, _string(parts, "finding", required=False)))
    return asks


def _lines(parameters: Sequence[dict[str, Any]]) -> list[Line]:
    lines = []
    for index, parameter in enumerate(_named(parameters, "pack")):
        parts = [p for p in parameter.get("part") or [] if isinstance(p, dict)]
        packs = _value(parts, "packs", "valueInteger", False)
        if packs is not None and (not isinstance(packs, int) or isinstance(packs, bool)):
            raise invalid("packs is an integer", f"Parameters.parameter.pack[{index}]")
        expiry = _value(parts, "expiry", "valueDate", False)
        try:
            expires = date.fromisoformat(expiry) if isinstance(expiry, str) else None
        except ValueError:
            raise invalid("expiry is a date", f"Parameters.parameter.pack[{index}]") from None
        lines.append(
            Line(
                _string(parts, "gtin"),
                1 if packs is None else packs,
                _string(parts, "serial", required=False),
                _string(parts, "lot", required=False),
                expires,
            )
        )
    return lines


def _caller(call: "Call", action: audit.Action) -> Caller:
    """Who calls, from the request's access token (a person's role, Practitioner and
    organisation; a system has none), with the audit record's agent."""
    access, request = call.access, call.request
    if access is None:  # a server without tokens (a local demo)
        return Caller(None, None, None, audit.AuditRecord(action=action, display="anonymous"))
    user = access.professional
    agent = audit.AuditRecord(
        action=action,
        user_id=str(user.user_id) if user else None,
        client_id=access.client_id[:64],
        display=(user.display_name if user else access.subject)[:255],
        role=user.role.value if user else None,
        organisation=user.organization_id if user else None,
        purpose="TREAT" if user else None,
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_id=(request.headers.get("x-request-id") or "")[:128] or None,
    )
    if user is None:
        return Caller(None, None, None, agent)
    return Caller(user.role, user.practitioner_id, user.organization_id, agent)


def _quantity(value: Decimal, unit: str) -> dict[str, Any]:
    return Amount(value, unit).quantity()


def _number(call: "Call", parameters: Sequence[dict[str, Any]]) -> str:
    """The prescription an operation names: the path's MedicationRequest id, or the number."""
    if call.fhir_id:
        return call.fhir_id
    return str(_string(parameters, "number"))


# --- the handlers -------------------------------------------------------------------------------


async def prescribe(call: "Call") -> Response:
    """MedicationRequest/$prescribe (actions.prescribe)."""
    from shafa.fhir.routes import fhir_response, read_body

    parameters = _parameters(await read_body(call.request))
    draft = read_draft(_value(parameters, "medicationRequest", "resource", True))
    overrides = _overrides(parameters)
    moment = store.now()
    # A professional's write must reach a patient they care for, as at the REST API.
    guard = store.WRITE_GUARD.set(call.access.write_guard(moment) if call.access else None)
    try:
        done = await actions.prescribe(
            call.engine, _caller(call, audit.Action.CREATE), draft, moment, overrides
        )
    except actions.Blocked as blocked:
        return fhir_response(blocked.outcome(), 422)
    finally:
        store.WRITE_GUARD.reset(guard)
    answer: list[dict[str, Any]] = [
        {"name": "medicationRequest", "resource": done.medication_request},
        *({"name": "detectedIssue", "resource": issue} for issue in done.detected_issues),
        {"name": "number", "valueString": done.number},
        {"name": "instruction", "valueString": done.instruction},
    ]
    if done.quantity_warning:
        answer.append({"name": "quantityWarning", "valueString": done.quantity_warning})
    return fhir_response({"resourceType": "Parameters", "parameter": answer})


async def find(call: "Call") -> Response:
    """MedicationRequest/$find: a prescription by number and FIN (actions.find)."""
    from shafa.fhir.routes import fhir_response, read_body

    parameters = _parameters(await read_body(call.request))
    found = await actions.find(
        call.engine, _string(parameters, "number"), _string(parameters, "fin"), store.now()
    )
    request = found.medication_request
    patient = str(request["subject"]["reference"]).removeprefix("Patient/")
    call.seen.append((audit.Action.READ, "MedicationRequest", request["id"], patient))
    return fhir_response(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "medicationRequest", "resource": request},
                {"name": "status", "valueCode": found.status},
                {"name": "quantity", "valueQuantity": _quantity(found.quantity, found.unit)},
                {"name": "dispensed", "valueQuantity": _quantity(found.dispensed, found.unit)},
                {
                    "name": "remaining",
                    "valueQuantity": _quantity(found.quantity - found.dispensed, found.unit),
                },
                {"name": "validUntil", "valueDate": found.valid_until.isoformat()},
            ],
        }
    )


async def dispense(call: "Call") -> Response:
    """MedicationRequest/$dispense (actions.dispense)."""
    from shafa.fhir.routes import fhir_response, read_body
    from shafa.security.access import require

    if call.access is not None:
        require(call.access, "c", "MedicationDispense")
    parameters = _parameters(await read_body(call.request))
    done = await actions.dispense(
        call.engine,
        _caller(call, audit.Action.CREATE),
        _number(call, parameters),
        _string(parameters, "fin"),
        _lines(parameters),
        store.now(),
        _string(parameters, "receipt", required=False),
    )
    return fhir_response(
        {
            "resourceType": "Parameters",
            "parameter": [
                *({"name": "medicationDispense", "resource": d} for d in done.dispenses),
                {"name": "status", "valueCode": done.status},
                {"name": "dispensed", "valueQuantity": _quantity(done.dispensed, done.unit)},
                {"name": "remaining", "valueQuantity": _quantity(done.remaining, done.unit)},
            ],
        }
    )


async def cancel(call: "Call") -> Response:
    """MedicationRequest/$cancel (actions.cancel)."""
    from shafa.fhir.routes import fhir_response, read_body

    parameters = _parameters(await read_body(call.request))
    moment = store.now()
    guard = store.WRITE_GUARD.set(call.access.write_guard(moment) if call.access else None)
    try:
        request = await actions.cancel(
            call.engine,
            _caller(call, audit.Action.UPDATE),
            _number(call, parameters),
            _string(parameters, "reason"),
            moment,
        )
    finally:
        store.WRITE_GUARD.reset(guard)
    return fhir_response(request)


OPERATIONS = (
    Operation("MedicationRequest", PRESCRIBE_DEFINITION, prescribe, needs="c"),
    Operation("MedicationRequest", FIND_DEFINITION, find, needs="r"),
    Operation("MedicationRequest", DISPENSE_DEFINITION, dispense, needs="r"),
    Operation("MedicationRequest", CANCEL_DEFINITION, cancel, needs="u"),
)
