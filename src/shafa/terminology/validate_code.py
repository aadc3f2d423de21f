"""$validate-code on CodeSystem and ValueSet (R4 codesystem-operation-validate-code,
valueset-operation-validate-code): is this code valid here, and is its display right?

In: the code system (`url` on CodeSystem, the instance's id) or value set (`url`, the instance's
id); the code as `code` (with `system` on ValueSet), a `coding` or a `codeableConcept` (valid
when any of its codings is); optional `display`, `displayLanguage`, `version`. Out: Parameters
with `result`, `message` when the answer is no (or the display is wrong), and `display`, the
concept's own display, whenever the code is known.

A code that is not known, not in the value set, or shown with a display that is none of its
names is `result` false with a message, answered 200: the question was understood. A request
without a code, or naming a code system or value set Shafa does not have, is a 4xx.
"""

from dataclasses import dataclass
from typing import Any

from shafa.fhir.errors import invalid, not_found
from shafa.fhir.operations.definition import HL7, Parameter, operation_definition
from shafa.terminology import catalog
from shafa.terminology.index import fold
from shafa.terminology.model import CodeSystem
from shafa.terminology.params import Params

_COMMON_IN: list[Parameter] = [
    ("url", "in", 0, "1", "uri"),
    ("code", "in", 0, "1", "code"),
    ("display", "in", 0, "1", "string"),
    ("coding", "in", 0, "1", "Coding"),
    ("codeableConcept", "in", 0, "1", "CodeableConcept"),
    ("displayLanguage", "in", 0, "1", "code"),
]
_OUT: list[Parameter] = [
    ("result", "out", 1, "1", "boolean"),
    ("message", "out", 0, "1", "string"),
    ("display", "out", 0, "1", "string"),
]


def _definition(res_type: str, extra: list[Parameter]) -> dict[str, Any]:
    return operation_definition(
        res_type,
        "validate-code",
        f"{res_type} Based Validation",
        _COMMON_IN + extra + _OUT,
        instance=True,
        base=HL7,
    )


CODE_SYSTEM_DEFINITION = _definition("CodeSystem", [("version", "in", 0, "1", "string")])
VALUE_SET_DEFINITION = _definition(
    "ValueSet",
    [
        ("system", "in", 0, "1", "uri"),
        ("systemVersion", "in", 0, "1", "string"),
    ],
)


Check = tuple[bool, str | None, str | None]  # (valid, message, display)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One code to check: its system (None when not given), code and display."""

    system: str | None
    code: str
    display: str | None


def _candidates(params: Params, default_system: str | None) -> list[Candidate]:
    """The codes the request asks about; 400 if it names none."""
    display = params.text("display")
    coding = params.coding("coding")
    if coding is not None:
        return [Candidate(coding.get("system"), coding["code"], coding.get("display") or display)]
    codings = params.codings("codeableConcept")
    if codings is not None:
        return [Candidate(c.get("system"), c["code"], c.get("display")) for c in codings]
    code = params.text("code")
    if code is None:
        raise invalid("Give a code, a coding or a codeableConcept to validate", "code")
    return [Candidate(params.text("system") or default_system, code, display)]


def _answer(result: bool, message: str | None, display: str | None) -> dict[str, Any]:
    out: list[dict[str, Any]] = [{"name": "result", "valueBoolean": result}]
    if message:
        out.append({"name": "message", "valueString": message})
    if display:
        out.append({"name": "display", "valueString": display})
    return {"resourceType": "Parameters", "parameter": out}


def _check(
    system: CodeSystem,
    candidate: Candidate,
    language: str | None,
    member: catalog.ValueSetDef | None,
) -> Check:
    """(valid, message, display) for one code of a known system."""
    url = system.info.url
    concept = system.get(candidate.code)
    if concept is None:
        return False, f"Unknown code {candidate.code!r} in the code system {url}", None
    display = concept.display_in(language)
    if member is not None and not member.contains(concept):
        return (
            False,
            f"The code {candidate.code!r} of {url} is not in the value set {member.url}",
            display,
        )
    if candidate.display is not None:
        given = fold(candidate.display.strip())
        if not any(fold(name) == given for name in concept.names()):
            return (
                False,
                f"The display {candidate.display!r} is not a name of {candidate.code!r} in "
                f"{url}: it is {concept.display!r}",
                display,
            )
    return True, None, display


def _first_valid(checks: list[Check]) -> dict[str, Any]:
    """A codeableConcept is valid when any coding is; otherwise the first coding's answer."""
    for valid, message, display in checks:
        if valid:
            return _answer(True, message, display)
    return _answer(*checks[0])


def in_code_system(params: Params, system: CodeSystem | None = None) -> dict[str, Any]:
    """CodeSystem/$validate-code: is the code in the code system (`url`, or the instance)?"""
    if system is None:
        url = params.text("url")
        if url is None:
            candidates = _candidates(params, None)
            url = candidates[0].system
        if not url:
            raise invalid("Give the code system's url", "url")
        system = catalog.known_code_system(url, params.text("version"))
    language = params.text("displayLanguage")
    checks: list[Check] = []
    for candidate in _candidates(params, system.info.url):
        if candidate.system not in (None, system.info.url):
            checks.append(
                (False, f"{candidate.system} is not the code system {system.info.url}", None)
            )
        else:
            checks.append(_check(system, candidate, language, None))
    return _first_valid(checks)


def in_value_set(params: Params, value_set: catalog.ValueSetDef | None = None) -> dict[str, Any]:
    """ValueSet/$validate-code: is the code in the value set (`url`, or the instance)?"""
    if value_set is None:
        url = params.text("url")
        if url is None:
            raise invalid("Give the value set's url", "url")
        value_set = catalog.known_value_set(url)
    system = value_set.system
    version = params.text("systemVersion")
    if version is not None and version != system.info.version:
        raise not_found(f"{system.info.url} is known in version {system.info.version}")
    language = params.text("displayLanguage")
    checks: list[Check] = []
    for candidate in _candidates(params, None):
        if candidate.system is None:
            raise invalid(f"Give the system of the code {candidate.code!r}", "system")
        if candidate.system != system.info.url:
            message = f"The code system {candidate.system} is not in the value set {value_set.url}"
            checks.append((False, message, None))
        else:
            checks.append(_check(system, candidate, language, value_set))
    return _first_valid(checks)
