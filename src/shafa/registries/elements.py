"""Reading the elements the registries' rules look at, whatever shape a client sent. Pure."""

from collections.abc import Iterator
from typing import Any

from shafa.fhir.errors import Issue
from shafa.fhir.fhirpath import parse_literal_reference
from shafa.registries import codes


def listed(value: Any) -> list[Any]:
    """A repeating element's values ([] when absent)."""
    return value if isinstance(value, list) else []


def codes_in(concept: Any, system: str) -> list[str]:
    """The codes a CodeableConcept carries in system."""
    if not isinstance(concept, dict):
        return []
    return [
        coding["code"]
        for coding in listed(concept.get("coding"))
        if isinstance(coding, dict)
        and coding.get("system") == system
        and isinstance(coding.get("code"), str)
    ]


def reference_to(reference: Any, res_type: str) -> str | None:
    """The id a Reference points to when it is a literal reference to a res_type."""
    if not isinstance(reference, dict) or not isinstance(reference.get("reference"), str):
        return None
    target = parse_literal_reference(reference["reference"])
    return target[1] if target is not None and target[0] == res_type else None


def unknown_codes(concept: Any, system: str, where: str) -> Iterator[Issue]:
    """An issue for each code of a shipped code system that the system does not have."""
    known = codes.codes(system)
    for code in codes_in(concept, system):
        if code not in known:
            yield Issue("code-invalid", f"{code!r} is not a code of {system}", expression=(where,))
