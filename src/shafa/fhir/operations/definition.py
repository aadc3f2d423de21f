"""An R4 OperationDefinition, written the one way every operation of Shafa's is described."""

from collections.abc import Sequence
from typing import Any

# (name, use "in" or "out", min, max, type); type None for a parameter made of parts.
Parameter = tuple[str, str, int, str, str | None]
SHAFA = "https://fhir.shafa.az/OperationDefinition"
HL7 = "http://hl7.org/fhir/OperationDefinition"


def operation_definition(
    resource_type: str,
    code: str,
    name: str,
    parameters: Sequence[Parameter],
    *,
    instance: bool,
    base: str = SHAFA,
) -> dict[str, Any]:
    """The OperationDefinition of `{resource_type}/$code` (invoked on the type, and on an
    instance too when `instance`), published at `{base}/{resource_type}-{code}`: HL7's URL for
    the operations the specification defines, Shafa's for its own."""
    return {
        "resourceType": "OperationDefinition",
        "id": f"{resource_type}-{code}",
        "url": f"{base}/{resource_type}-{code}",
        "name": name,
        "status": "active",
        "kind": "operation",
        "code": code,
        "resource": [resource_type],
        "system": False,
        "type": True,
        "instance": instance,
        "parameter": [
            {"name": p, "use": use, "min": low, "max": high} | ({"type": kind} if kind else {})
            for p, use, low, high, kind in parameters
        ],
    }
