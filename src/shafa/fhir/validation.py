"""Structural validation of resources against the official FHIR R4 JSON Schema.

The schema (hl7.org/fhir/R4/fhir.schema.json, bundled gzipped) is compiled once with jsonschema-rs.
Two of its gaps are mended at load: it refers to `Resource` and `integer64` without defining
them, and it leaves out the `_name` sibling (FHIR R4 §2.6.2.1, json.html#primitive) of some
primitive elements, so valid resources such as StructureDefinition with an extended
`type.profile` were refused. Its top-level `oneOf` over every type is replaced by a dispatch on
`resourceType` (if/then), so errors point into the one definition that applies, contained
resources included.
"""

import gzip
import json
import re
from collections.abc import Callable, Iterable
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs

from shafa.fhir.errors import FhirError, Issue
from shafa.fhir.resource_types import RESOURCE_TYPES

Rule = Callable[[dict[str, Any]], Iterable[Issue]]
"""A domain rule over a structurally valid resource: the issues it breaks, none if it keeps it."""

_RULES: dict[str, list[Rule]] = {}

ID_PATTERN = re.compile(r"[A-Za-z0-9\-.]{1,64}")
MAX_ISSUES = 20
_UNEXTENDABLE = {"id", "url", "div", "resourceType"}  # Element.id, Extension.url, Narrative.div


def _dispatch_on_resource_type() -> dict[str, Any]:
    types = sorted(RESOURCE_TYPES)
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"enum": types}},
        "allOf": [
            {
                "if": {"properties": {"resourceType": {"const": name}}},
                "then": {"$ref": f"#/definitions/{name}"},
            }
            for name in types
        ],
    }


def _add_primitive_extension_siblings(definitions: dict[str, Any]) -> None:
    for definition in definitions.values():
        properties = definition.get("properties") or {}
        for name, prop in list(properties.items()):
            if name.startswith("_") or name in _UNEXTENDABLE or f"_{name}" in properties:
                continue
            ref = prop.get("$ref") or (prop.get("items") or {}).get("$ref", "")
            if not ref.rsplit("/", 1)[-1][:1].islower():
                continue  # not a primitive type
            element = {"$ref": "#/definitions/Element"}
            properties[f"_{name}"] = (
                {"type": "array", "items": element} if prop.get("type") == "array" else element
            )


@cache
def _definitions() -> dict[str, Any]:
    """The schema's definitions, mended (see the module docstring)."""
    raw = resources.files("shafa.fhir").joinpath("data/fhir.schema.json.gz").read_bytes()
    definitions: dict[str, Any] = json.loads(gzip.decompress(raw))["definitions"]
    _add_primitive_extension_siblings(definitions)
    return definitions


@cache
def required_elements(resource_type: str) -> frozenset[str]:
    """The top-level elements a resource of this type must have (minimum cardinality 1)."""
    definition = _definitions().get(resource_type) or {}
    return frozenset(definition.get("required") or ())


@cache
def _validator() -> Any:
    definitions = dict(_definitions())
    dispatch = _dispatch_on_resource_type()
    definitions["Resource"] = dispatch
    definitions["ResourceList"] = dispatch
    definitions["integer64"] = {"type": "string"}
    # if/then needs draft 7; the file says draft 6.
    root = {"$schema": "http://json-schema.org/draft-07/schema#", "definitions": definitions}
    return jsonschema_rs.validator_for(root | dispatch)


def warm_up() -> None:
    """Compile the schema now rather than on the first request (about 0.15 s)."""
    _validator()


def _expression(resource_type: str, path: list[str | int]) -> str:
    expression = resource_type
    for step in path:
        expression += f"[{step}]" if isinstance(step, int) else f".{step}"
    return expression


def check_resource(resource: Any, expected_type: str | None = None) -> dict[str, Any]:
    """Return the resource if it is a valid FHIR R4 resource (of expected_type), else raise 400."""
    if not isinstance(resource, dict):
        raise FhirError.of(400, "structure", "The body must be a JSON object (a FHIR resource)")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str) or resource_type not in RESOURCE_TYPES:
        raise FhirError.of(
            400, "structure", f"Unknown resourceType {resource_type!r}", "resourceType"
        )
    if expected_type is not None and resource_type != expected_type:
        raise FhirError.of(
            400,
            "invalid",
            f"resourceType {resource_type!r} does not match the URL's type {expected_type!r}",
            "resourceType",
        )
    validator = _validator()
    if validator.is_valid(resource):
        _check_rules(resource, resource_type)
        return resource
    issues = []
    for error in validator.iter_errors(resource):
        path = list(error.instance_path)
        issues.append(
            Issue("structure", error.message[:500], expression=(_expression(resource_type, path),))
        )
        if len(issues) == MAX_ISSUES:
            break
    raise FhirError(400, issues)


def check_id(fhir_id: str, where: str = "id") -> str:
    """Return fhir_id if it follows the FHIR id rule (R4 datatypes.html#id), else raise 400."""
    if not ID_PATTERN.fullmatch(fhir_id):
        raise FhirError.of(
            400, "value", f"{fhir_id!r} is not a valid FHIR id ([A-Za-z0-9-.]{{1,64}})", where
        )
    return fhir_id


def add_rule(resource_type: str, rule: Rule) -> None:
    """Make every write and $validate of the type keep the rule (the registries' facts, say:
    a FIN's form, a birth not in the future). The generic engine knows no such rule itself;
    the contexts that own them install theirs when the application is built."""
    rules = _RULES.setdefault(resource_type, [])
    if rule not in rules:
        rules.append(rule)


def remove_rule(resource_type: str, rule: Rule) -> None:
    """Stop checking a rule added with add_rule."""
    rules = _RULES.get(resource_type, [])
    if rule in rules:
        rules.remove(rule)


def _check_rules(resource: dict[str, Any], resource_type: str) -> None:
    """422 with every issue the type's rules find: the resource is well formed but breaks
    a business rule (HAPI FHIR answers profile and rule failures the same way)."""
    rules = _RULES.get(resource_type)
    if not rules:
        return
    issues = [issue for rule in rules for issue in rule(resource)][:MAX_ISSUES]
    if issues:
        raise FhirError(422, issues)
