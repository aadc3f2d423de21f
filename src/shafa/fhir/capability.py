"""The CapabilityStatement: what this server truly does (R4 capabilitystatement.html)."""

from functools import cache
from typing import Any

from shafa import __version__
from shafa.fhir import search, searchparams
from shafa.fhir.operations import validate
from shafa.fhir.resource_types import RESOURCE_TYPES

INTERACTIONS = (
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
)


@cache
def _resources() -> list[dict[str, Any]]:
    described = []
    for res_type in sorted(RESOURCE_TYPES):
        params = [{"name": "_id", "type": "token", "documentation": "The logical id"}]
        params.extend(
            {"name": code, "type": param.type, "definition": param.url}
            for code, param in sorted(searchparams.params_for(res_type).items())
            if param.type in search.SEARCHABLE_TYPES and code != "_id"
        )
        described.append(
            {
                "type": res_type,
                "profile": f"http://hl7.org/fhir/StructureDefinition/{res_type}",
                "interaction": [{"code": code} for code in INTERACTIONS],
                "versioning": "versioned-update",
                "readHistory": True,
                "updateCreate": True,
                "conditionalCreate": True,
                "conditionalRead": "full-support",
                "conditionalUpdate": True,
                "conditionalDelete": "single",
                "referencePolicy": ["literal", "logical"],
                "searchParam": params,
                "operation": [{"name": "validate", "definition": validate.DEFINITION["url"]}],
            }
        )
    return described


def capability_statement(base: str) -> dict[str, Any]:
    """The CapabilityStatement for a server at base."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-21",
        "publisher": "Shafa",
        "kind": "instance",
        "software": {"name": "Shafa", "version": __version__},
        "implementation": {"description": "Shafa FHIR R4 server", "url": base},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [
            {
                "mode": "server",
                "resource": _resources(),
                "interaction": [
                    {"code": "transaction"},
                    {"code": "batch"},
                    {"code": "history-system"},
                ],
            }
        ],
    }
