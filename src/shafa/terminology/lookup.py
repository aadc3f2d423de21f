"""CodeSystem $lookup (R4 codesystem-operation-lookup): what a code means.

In: `system` and `code`, or a `coding`; optional `version`, `displayLanguage` and `property`
(repeatable: which properties to return; all when none is named). Out: a Parameters resource
with `name` (the code system's), `version`, `display`, a `designation` for each other name, and
a `property` for the parent, each child, and the code system's own properties (ICD-10's kind and
notSelectable, ATC's level and DDDs, ...).

A code system Shafa does not ship is a 404, as is a code it does not hold (HAPI FHIR answers an
unknown code the same way); a request without a code, or a code without its system, is a 400.
"""

from typing import Any

from shafa.fhir.errors import invalid, not_found
from shafa.fhir.operations.definition import HL7, operation_definition
from shafa.terminology import catalog
from shafa.terminology.model import CodeSystem, Concept
from shafa.terminology.params import Params

DEFINITION = operation_definition(
    "CodeSystem",
    "lookup",
    "Concept Look Up & Decomposition",
    [
        ("code", "in", 0, "1", "code"),
        ("system", "in", 0, "1", "uri"),
        ("version", "in", 0, "1", "string"),
        ("coding", "in", 0, "1", "Coding"),
        ("displayLanguage", "in", 0, "1", "code"),
        ("property", "in", 0, "*", "code"),
        ("name", "out", 1, "1", "string"),
        ("version", "out", 0, "1", "string"),
        ("display", "out", 1, "1", "string"),
        ("designation", "out", 0, "*", None),
        ("property", "out", 0, "*", None),
    ],
    instance=False,
    base=HL7,
)


def requested(params: Params) -> tuple[str, str, str | None]:
    """(system, code, version) from system and code, or from a coding; 400 if neither."""
    coding = params.coding("coding")
    system, code = params.text("system"), params.text("code")
    version = params.text("version")
    if coding is not None:
        system, code = coding.get("system"), coding["code"]
        version = coding.get("version") or version
    if code is None:
        raise invalid("Give a code and its system, or a coding", "code")
    if not isinstance(system, str) or not system:
        raise invalid(f"Give the system of the code {code!r}", "system")
    return system, code, version


def _property(code: str, value: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"name": "code", "valueCode": code}, {"name": "value", **value}]
    if description:
        parts.append({"name": "description", "valueString": description})
    return {"name": "property", "part": parts}


def parameters(
    system: CodeSystem, concept: Concept, language: str | None, wanted: set[str]
) -> dict[str, Any]:
    """The Parameters of a lookup's answer (R4 CodeSystem-lookup's out parameters)."""
    info = system.info
    out: list[dict[str, Any]] = [
        {"name": "name", "valueString": info.name},
        {"name": "version", "valueString": info.version},
        {"name": "display", "valueString": concept.display_in(language)},
    ]
    for designation in concept.designations:
        out.append(
            {
                "name": "designation",
                "part": [
                    {"name": "language", "valueCode": designation.language},
                    {"name": "value", "valueString": designation.value},
                ],
            }
        )

    def asked(code: str) -> bool:
        return not wanted or code in wanted

    if concept.parent is not None and asked("parent"):
        parent = system.concepts[concept.parent]
        out.append(_property("parent", {"valueCode": parent.code}, parent.display))
    if asked("child"):
        for child in concept.children:
            out.append(_property("child", {"valueCode": child}, system.concepts[child].display))
    for definition in info.properties:
        if definition.code in concept.properties and asked(definition.code):
            value = definition.value_json(concept.properties[definition.code])
            out.append(_property(definition.code, value))
    return {"resourceType": "Parameters", "parameter": out}


def run(params: Params) -> dict[str, Any]:
    """$lookup: the Parameters describing the requested code."""
    system_url, code, version = requested(params)
    language = params.text("displayLanguage")
    wanted = set(params.texts("property"))
    system = catalog.known_code_system(system_url, version)
    concept = system.get(code)
    if concept is None:
        raise not_found(f"Unknown code {code!r} in the code system {system.info.url}")
    return parameters(system, concept, language, wanted)
