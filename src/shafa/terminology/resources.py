"""The shipped code systems and value sets as R4 CodeSystem and ValueSet resources.

They are not stored: the FHIR router asks this module (through fhir.provided) for a read by id
and for the built-in resources a search matches, and refuses writes to them. Clients may still
store CodeSystems and ValueSets of their own, under other ids and URLs (a domain rule keeps
the shipped URLs for the shipped resources).

A search matches the built-in resources on `_id`, `url`, `system` (CodeSystem), `name`,
`title`, `publisher`, `status` and `version`, each possibly repeated and with comma-separated
alternatives, without modifiers (strings match case- and accent-insensitively from the start,
as R4 string search does). A search that uses any other parameter or modifier finds none of
them: it is answered by the store alone.
"""

from collections.abc import Sequence
from functools import cache
from typing import Any

import orjson

from shafa.fhir.errors import Issue
from shafa.fhir.validation import Rule
from shafa.terminology import catalog
from shafa.terminology.index import fold
from shafa.terminology.model import CodeSystem, Concept

CODE_SYSTEM = "CodeSystem"
VALUE_SET = "ValueSet"
# Parameters that shape or page results but select nothing.
RESULT_PARAMETERS = frozenset(
    {"_count", "_sort", "_summary", "_elements", "_total", "_format", "_pretty", "_include",
     "_revinclude", "_contained", "_containedType"}
)  # fmt: skip
STRING_PARAMETERS = {"name": "name", "title": "title", "publisher": "publisher"}
TOKEN_PARAMETERS = {"_id": "id", "status": "status", "version": "version"}
URI_PARAMETERS = {CODE_SYSTEM: ("url", "system"), VALUE_SET: ("url",)}


def _concept_json(system: CodeSystem, concept: Concept) -> dict[str, Any]:
    rendered: dict[str, Any] = {"code": concept.code, "display": concept.display}
    if concept.designations:
        rendered["designation"] = [
            {"language": d.language, "value": d.value} for d in concept.designations
        ]
    properties = [
        {"code": p.code, **p.value_json(concept.properties[p.code])}
        for p in system.info.properties
        if p.code in concept.properties
    ]
    if properties:
        rendered["property"] = properties
    if concept.children:
        rendered["concept"] = [
            _concept_json(system, system.concepts[child]) for child in concept.children
        ]
    return rendered


def code_system_resource(system: CodeSystem) -> dict[str, Any]:
    """The CodeSystem resource of a shipped code system, every concept nested in its parent."""
    info = system.info
    return {
        "resourceType": CODE_SYSTEM,
        "id": info.id,
        "language": info.language,
        "url": info.url,
        "version": info.version,
        "name": info.name,
        "title": info.title,
        "status": "active",
        "experimental": False,
        "publisher": info.publisher,
        "description": info.description,
        "copyright": info.copyright,
        "caseSensitive": info.case_sensitive,
        "valueSet": f"{info.url}{catalog.IMPLICIT}",
        "hierarchyMeaning": info.hierarchy_meaning,
        "content": info.content,
        "count": len(system),
        "property": [
            {"code": p.code, "type": p.type, "description": p.description}
            | ({"uri": p.uri} if p.uri else {})
            for p in info.properties
        ],
        "concept": [_concept_json(system, system.concepts[code]) for code in system.roots],
    }


def value_set_resource(value_set: catalog.ValueSetDef) -> dict[str, Any]:
    """The ValueSet resource of one of Shafa's value sets (its definition, not an expansion)."""
    return {
        "resourceType": VALUE_SET,
        "id": value_set.id,
        "url": value_set.url,
        "version": value_set.system.info.version,
        "name": value_set.name,
        "title": value_set.title,
        "status": "active",
        "experimental": False,
        "publisher": "Shafa",
        "description": value_set.description,
        "immutable": False,
        "compose": value_set.compose(),
    }


@cache
def _built_in(res_type: str) -> dict[str, tuple[dict[str, Any], bytes]]:
    """Every built-in resource of the type, by id: its searchable elements, and its JSON made
    once (ICD-10's is about 2 MB, never parsed again)."""
    if res_type == CODE_SYSTEM:
        made = [code_system_resource(cs) for cs in catalog.code_systems().values()]
    else:
        made = [value_set_resource(vs) for vs in catalog.value_sets().values() if vs.id]
    searchable = ("id", "url", "version", "name", "title", "status", "publisher")
    return {
        resource["id"]: ({key: resource[key] for key in searchable}, orjson.dumps(resource))
        for resource in made
    }


def _matches(res_type: str, resource: dict[str, Any], name: str, value: str) -> bool:
    alternatives = value.split(",")
    if name in URI_PARAMETERS[res_type]:
        return resource["url"] in alternatives
    if name in TOKEN_PARAMETERS:
        return str(resource[TOKEN_PARAMETERS[name]]) in alternatives
    text = fold(str(resource[STRING_PARAMETERS[name]]))
    return any(text.startswith(fold(alternative)) for alternative in alternatives)


class BuiltIn:
    """The shipped resources of one type, for fhir.provided."""

    def __init__(self, res_type: str) -> None:
        self.res_type = res_type

    def read(self, fhir_id: str) -> bytes | None:
        """The resource with this id as JSON, or None if it is not built in."""
        found = _built_in(self.res_type).get(fhir_id)
        return found[1] if found is not None else None

    def search(self, params: Sequence[tuple[str, str]]) -> list[tuple[str, bytes]]:
        """The built-in resources every criterion matches; none for a query this module cannot
        evaluate (see the module docstring)."""
        criteria = []
        for raw_name, value in params:
            if raw_name in RESULT_PARAMETERS:
                continue
            if raw_name in ("_cursor", "_offset"):
                if value not in ("", "0"):
                    return []  # a later page: the built-ins were on the first
                continue
            known = (
                raw_name in URI_PARAMETERS[self.res_type]
                or raw_name in TOKEN_PARAMETERS
                or raw_name in STRING_PARAMETERS
            )
            if not known:
                return []
            criteria.append((raw_name, value))
        return [
            (fhir_id, content)
            for fhir_id, (searchable, content) in _built_in(self.res_type).items()
            if all(_matches(self.res_type, searchable, n, v) for n, v in criteria)
        ]


@cache  # one rule a type, however often the application is built
def shipped_rule(res_type: str) -> Rule:
    """A domain rule: a stored CodeSystem or ValueSet may take neither a URL nor an id Shafa
    ships (the operations resolve such a URL to what Shafa ships, and reads such an id; a
    transaction's PUT would otherwise store one the server never shows)."""
    shipped = catalog.code_systems if res_type == CODE_SYSTEM else catalog.value_sets

    def rule(resource: dict[str, Any]) -> list[Issue]:
        issues = []
        url, fhir_id = resource.get("url"), resource.get("id")
        if isinstance(url, str) and url in shipped():
            issues.append(
                Issue(
                    "business-rule",
                    f"{url} is the URL of Shafa's built-in {res_type}; store yours under another",
                    expression=(f"{res_type}.url",),
                )
            )
        if isinstance(fhir_id, str) and fhir_id in _built_in(res_type):
            issues.append(
                Issue(
                    "business-rule",
                    f"{res_type}/{fhir_id} is built into the server; store yours under another id",
                    expression=(f"{res_type}.id",),
                )
            )
        return issues

    return rule
