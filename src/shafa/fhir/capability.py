"""The CapabilityStatement: what this server truly does (R4 capabilitystatement.html)."""

from functools import cache
from typing import Any

from shafa import __version__
from shafa.fhir import indexing, operations, search, searchparams
from shafa.fhir.operations import validate
from shafa.fhir.resource_types import RESOURCE_TYPES
from shafa.security import audit_fhir

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


# What each parameter type takes besides plain values (R4 has no element for modifiers, so
# they are stated in each parameter's documentation).
MODIFIERS = {
    "token": "Modifiers :missing, :not, :text.",
    "string": "Modifiers :missing, :exact, :contains.",
    "reference": "Modifiers :missing, :[type]; chaining (param.param) to any depth.",
    "uri": "Modifiers :missing, :below, :above.",
    "date": "Prefixes eq ne gt lt ge le sa eb ap; modifier :missing.",
    "number": "Prefixes eq ne gt lt ge le sa eb ap; modifier :missing.",
    "quantity": "Prefixes eq ne gt lt ge le sa eb ap; number|system|code; modifier :missing.",
    "composite": "Modifier :missing.",
}
IDENTIFIER_MODIFIERS = "Modifiers :missing, :not, :text, :of-type (type-system|type-code|value)."


def _documentation(res_type: str, code: str, param: searchparams.SearchParam) -> str:
    if param.type == "token" and code in indexing.of_type_params(res_type):
        return IDENTIFIER_MODIFIERS
    if param.type == "composite":
        # R4 search.html#composite: the parts in order, each as its own parameter's type.
        parts = indexing.composite_parts(res_type, code)
        shape = "$".join(f"[{part.param.code} ({part.param.type})]" for part in parts)
        return f"Values {shape}, all within one element. {MODIFIERS['composite']}"
    return MODIFIERS[param.type]


@cache
def _reverse_includes() -> dict[str, list[str]]:
    """For each resource type, the Source:param references that may point to it."""
    pointing: dict[str, list[str]] = {}
    for source in sorted(RESOURCE_TYPES):
        for code, param in sorted(searchparams.params_for(source).items()):
            if param.type == "reference":
                for target in param.targets:
                    pointing.setdefault(target, []).append(f"{source}:{code}")
    return pointing


@cache
def _resources() -> list[dict[str, Any]]:
    described = []
    for res_type in sorted(RESOURCE_TYPES):
        if res_type == audit_fhir.RESOURCE_TYPE:  # the audit log, read-only
            described.append(audit_fhir.capability())
            continue
        known = searchparams.params_for(res_type)
        params = [{"name": "_id", "type": "token", "documentation": "The logical id"}]
        if res_type not in search.WITHOUT_NARRATIVE:
            params.append(
                {
                    "name": "_text",
                    "type": "string",
                    "documentation": "Words of the narrative: every word given starts a word "
                    "of it, case and accents ignored; no modifiers",
                }
            )
        params.extend(
            {
                "name": code,
                "type": param.type,
                "definition": param.url,
                "documentation": _documentation(res_type, code, param),
            }
            for code, param in sorted(known.items())
            if param.type in search.SEARCHABLE_TYPES and code != "_id"
        )
        references = [code for code, param in sorted(known.items()) if param.type == "reference"]
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
                "searchInclude": [f"{res_type}:{code}" for code in references]
                + ([f"{res_type}:*"] if references else []),
                "searchRevInclude": _reverse_includes().get(res_type, []),
                "searchParam": params,
                "operation": [{"name": "validate", "definition": validate.DEFINITION["url"]}]
                + [
                    {"name": op.name, "definition": op.definition["url"]}
                    for op in operations.of_type(res_type)
                ],
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
