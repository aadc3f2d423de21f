"""The master patient index at /fhir: Patient/$match, $merge, $unmerge and $not-duplicate, thin
handlers the FHIR router calls (fhir.operations), and the write check that keeps the index.

$match is FHIR R4's patient-match (patient-operation-match.html), a search of patient data: the
token needs s on Patient, the answer holds only Patients the caller may see, and each one
returned is in the search's audit record. $merge takes the parameters of the Patient-merge
operation FHIR R5 defines (source-patient, target-patient; patient-operation-merge.html in
R5), which HAPI FHIR also serves on R4; $unmerge and $not-duplicate are Shafa's own. Changing
who is who moves data between records, so they need u on every type (system/*.u) and, for a
person's token, the registry administrator's role.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.responses import Response

from shafa.fhir import store
from shafa.fhir.errors import Issue, invalid, operation_outcome
from shafa.fhir.operations import Operation
from shafa.fhir.operations.definition import HL7, operation_definition
from shafa.fhir.validation import check_id, check_resource
from shafa.registries.mpi import actions, matching, model, rules
from shafa.security import audit

if TYPE_CHECKING:
    from shafa.fhir.routes import Call

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
DEFAULT_COUNT = 10
MAX_COUNT = 100

MATCH_DEFINITION = operation_definition(
    "Patient",
    "match",
    "Match",
    [
        ("resource", "in", 1, "1", "Resource"),
        ("onlyCertainMatches", "in", 0, "1", "boolean"),
        ("count", "in", 0, "1", "integer"),
        ("return", "out", 1, "1", "Bundle"),
    ],
    instance=False,
    base=HL7,
)
MERGE_DEFINITION = operation_definition(
    "Patient",
    "merge",
    "Merge",
    [
        ("source-patient", "in", 1, "1", "Reference"),
        ("target-patient", "in", 1, "1", "Reference"),
        ("outcome", "out", 1, "1", "OperationOutcome"),
        ("result", "out", 1, "1", "Patient"),
    ],
    instance=False,
)
UNMERGE_DEFINITION = operation_definition(
    "Patient",
    "unmerge",
    "Unmerge",
    [
        ("source-patient", "in", 1, "1", "Reference"),
        ("outcome", "out", 1, "1", "OperationOutcome"),
        ("result", "out", 1, "1", "Patient"),
    ],
    instance=False,
)
NOT_DUPLICATE_DEFINITION = operation_definition(
    "Patient",
    "not-duplicate",
    "NotDuplicate",
    [
        ("patient", "in", 1, "1", "Reference"),
        ("other-patient", "in", 1, "1", "Reference"),
        ("outcome", "out", 1, "1", "OperationOutcome"),
    ],
    instance=False,
)


def _parameters(body: Any) -> list[dict[str, Any]]:
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise invalid("Send a Parameters resource", "Parameters")
    return [p for p in body.get("parameter") or [] if isinstance(p, dict)]


def _one(parameters: Sequence[dict[str, Any]], name: str, value: str) -> Any:
    """The value[x] of the one parameter of that name; None if absent, 400 if repeated."""
    found = [p for p in parameters if p.get("name") == name]
    if len(found) > 1:
        raise invalid(f"Parameters has {name} more than once", f"Parameters.parameter.{name}")
    return found[0].get(value) if found else None


def _patient_id(parameters: Sequence[dict[str, Any]], name: str) -> str:
    """The id of the local Patient a Reference parameter names; 400 otherwise."""
    reference = _one(parameters, name, "valueReference")
    text = reference.get("reference") if isinstance(reference, dict) else None
    kind, _, fhir_id = text.partition("/") if isinstance(text, str) else ("", "", "")
    if kind != "Patient" or not fhir_id:
        raise invalid(
            f"Parameters needs {name} as a valueReference to a Patient (Patient/id)",
            f"Parameters.parameter.{name}",
        )
    return check_id(fhir_id)


# --- $match ---------------------------------------------------------------------------------------


def _count(parameters: Sequence[dict[str, Any]]) -> int:
    count = _one(parameters, "count", "valueInteger")
    if count is None:
        return DEFAULT_COUNT
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise invalid("count must be a positive integer", "Parameters.parameter.count")
    return min(count, MAX_COUNT)


async def match(call: "Call") -> Response:
    """Patient/$match: the Patients most likely to be the one given, best first, graded."""
    from shafa.db.engine import single_statement
    from shafa.fhir.routes import fhir_response, read_body

    parameters = _parameters(await read_body(call.request))
    resource = _one(parameters, "resource", "resource")
    if resource is None:
        raise invalid("$match needs the Patient to match as the resource parameter", "resource")
    check_resource(resource, "Patient")
    only_certain = _one(parameters, "onlyCertainMatches", "valueBoolean")
    if only_certain is not None and not isinstance(only_certain, bool):
        raise invalid("onlyCertainMatches must be a boolean", "onlyCertainMatches")
    count = _count(parameters)
    record = rules.features(resource)
    if not (record.fin or record.phones or (record.family and record.given)):
        raise invalid(
            "Nothing to match on: give a FIN, a phone number, or a family and a given name "
            "(with the birth date, sex and address where known)",
            "Parameters.parameter.resource",
        )
    # One statement, planned once (a search's connection plans each for its values).
    async with single_statement(call.engine) as conn:
        found = await matching.candidates(conn, record, model(), call.bound)
    if only_certain:
        certain = [c for c in found if c.match.grade is rules.Grade.CERTAIN]
        found = certain if len(certain) == 1 else []
    entries: list[dict[str, Any]] = []
    for candidate in found[:count]:
        grade = candidate.match.grade
        assert grade is not None
        entries.append(
            {
                "fullUrl": f"{call.base}/Patient/{candidate.patient_id}",
                "resource": orjson.Fragment(candidate.content),
                "search": {
                    "extension": [{"url": MATCH_GRADE, "valueCode": grade.value}],
                    "mode": "match",
                    "score": round(candidate.match.score, 4),
                },
            }
        )
        call.seen.append((audit.Action.SEARCH, "Patient", candidate.patient_id, candidate.owner))
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset", "total": len(entries)}
    bundle["entry"] = entries
    if only_certain and not entries:
        note = Issue(
            "informational",
            "No single certain match: with onlyCertainMatches the answer holds one certain "
            "match or none (R4 patient-operation-match)",
            severity="information",
        )
        bundle["entry"] = [{"resource": operation_outcome([note]), "search": {"mode": "outcome"}}]
    return fhir_response(bundle)


# --- merge, unmerge, not-duplicate ----------------------------------------------------------------


def _changer(call: "Call") -> audit.AuditRecord:
    """Who asks to change who is who, as an audit record's agent; 403 unless they may."""
    from shafa.security.access import forbidden, require
    from shafa.security.rules import Role

    access = call.access
    if access is None:  # a server without tokens (a local demo)
        return audit.AuditRecord(action=audit.Action.UPDATE, display="anonymous")
    user = access.user
    if user is not None and user.role is not Role.REGISTRY_ADMIN:
        raise forbidden(f"Only a registry administrator merges Patients, not {user.role.value}")
    require(access, "u", "*")
    request = call.request
    return audit.AuditRecord(
        action=audit.Action.UPDATE,
        user_id=str(user.user_id) if user else None,
        client_id=access.client_id[:64],
        display=(user.display_name if user else access.subject)[:255],
        role=user.role.value if user else None,
        organisation=user.organization_id if user else None,
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


async def _changed(call: "Call", patient_id: str, message: str) -> Response:
    from shafa.db.engine import single_statement
    from shafa.fhir.routes import fhir_response

    async with single_statement(call.engine) as conn:
        result = await store.read(conn, "Patient", patient_id)
    outcome = operation_outcome([Issue("informational", message, severity="information")])
    return fhir_response(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "outcome", "resource": outcome},
                {"name": "result", "resource": orjson.Fragment(result.content or "{}")},
            ],
        }
    )


async def merge(call: "Call") -> Response:
    """Patient/$merge: source-patient merged into target-patient (actions.merge)."""
    from shafa.fhir.routes import in_write, read_body

    parameters = _parameters(await read_body(call.request))
    duplicate = _patient_id(parameters, "source-patient")
    survivor = _patient_id(parameters, "target-patient")
    who = _changer(call)
    moment = store.now()
    merged = await in_write(
        call.engine, lambda conn: actions.merge(conn, duplicate, survivor, who, moment)
    )
    return await _changed(
        call,
        survivor,
        f"Patient/{duplicate} merged into Patient/{survivor}; {merged.moved} resources moved "
        f"(merge {merged.merge_id})",
    )


async def unmerge(call: "Call") -> Response:
    """Patient/$unmerge: the last merge of source-patient undone (actions.unmerge)."""
    from shafa.fhir.routes import in_write, read_body

    parameters = _parameters(await read_body(call.request))
    duplicate = _patient_id(parameters, "source-patient")
    who = _changer(call)
    moment = store.now()
    undone = await in_write(call.engine, lambda conn: actions.unmerge(conn, duplicate, who, moment))
    return await _changed(
        call,
        duplicate,
        f"Patient/{duplicate} unmerged from Patient/{undone.survivor_id}; {undone.moved} "
        "resources moved back",
    )


async def not_duplicate(call: "Call") -> Response:
    """Patient/$not-duplicate: a review item's pair recorded as two people."""
    from shafa.fhir.routes import fhir_response, in_write, read_body

    parameters = _parameters(await read_body(call.request))
    one = _patient_id(parameters, "patient")
    other = _patient_id(parameters, "other-patient")
    who = _changer(call)
    moment = store.now()
    await in_write(call.engine, lambda conn: actions.not_duplicate(conn, one, other, who, moment))
    note = Issue(
        "informational",
        f"Patient/{one} and Patient/{other} recorded as different people",
        severity="information",
    )
    return fhir_response(operation_outcome([note]))


OPERATIONS = (
    Operation("Patient", MATCH_DEFINITION, match, needs="s"),
    Operation("Patient", MERGE_DEFINITION, merge, needs="u"),
    Operation("Patient", UNMERGE_DEFINITION, unmerge, needs="u"),
    Operation("Patient", NOT_DUPLICATE_DEFINITION, not_duplicate, needs="u"),
)


async def _keep_index(conn: AsyncConnection, written: Sequence[store.Written]) -> None:
    await matching.refresh(conn, written, model(), store.now())


WRITE_CHECKS: tuple[tuple[str, store.WriteCheck], ...] = (("Patient", _keep_index),)
