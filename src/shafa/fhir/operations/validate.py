"""$validate (R4 resource-operation-validate): check a resource without storing it.

The answer is always 200 with an OperationOutcome; its issues say whether the resource is
valid. Only a request that cannot be understood (no resource, unknown mode) is a 400.
"""

from typing import Any

from shafa.fhir.errors import FhirError, Issue, invalid, operation_outcome
from shafa.fhir.operations.definition import HL7, operation_definition
from shafa.fhir.validation import check_resource

MODES = ("create", "update", "delete")

DEFINITION = operation_definition(
    "Resource",
    "validate",
    "Validate",
    [
        ("resource", "in", 0, "1", "Resource"),
        ("mode", "in", 0, "1", "code"),
        ("profile", "in", 0, "1", "uri"),
        ("return", "out", 1, "1", "OperationOutcome"),
    ],
    instance=True,
    base=HL7,
)


def _unwrap(body: Any) -> tuple[Any, str | None]:
    """The resource and mode from a Parameters wrapper, or the body itself."""
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        resource, mode = None, None
        for parameter in body.get("parameter") or []:
            if parameter.get("name") == "resource":
                resource = parameter.get("resource")
            elif parameter.get("name") == "mode":
                mode = parameter.get("valueCode")
        return resource, mode
    return body, None


def run(res_type: str, fhir_id: str | None, body: Any) -> dict[str, Any]:
    """The OperationOutcome of validating body as a res_type (for instance fhir_id if given)."""
    resource, mode = _unwrap(body)
    if mode is not None and mode not in MODES:
        raise invalid(f"$validate mode {mode!r} is not one of {', '.join(MODES)}", "mode")
    if mode == "delete":
        return operation_outcome(
            [Issue("informational", "Delete is allowed", severity="information")]
        )
    if resource is None:
        raise invalid("$validate needs a resource to validate", "resource")
    issues: list[Issue] = []
    try:
        check_resource(resource, res_type)
    except FhirError as error:
        issues.extend(error.issues)
    if mode == "update" or fhir_id is not None:
        if resource.get("id") is None:
            issues.append(
                Issue(
                    "required", "An update needs the resource's id", expression=(f"{res_type}.id",)
                )
            )
        elif fhir_id is not None and resource.get("id") != fhir_id:
            issues.append(
                Issue(
                    "invalid",
                    f"The id {resource.get('id')!r} is not {fhir_id!r}",
                    expression=(f"{res_type}.id",),
                )
            )
    if not issues:
        issues.append(Issue("informational", "The resource is valid", severity="information"))
    return operation_outcome(issues)
