"""ValueSet $expand (R4 valueset-operation-expand): the codes of a value set, a page at a time,
narrowed by a type-ahead filter.

In: the value set (`url`, or the instance's id; Shafa's own or implicit `<system>?fhir_vs`,
`<system>?fhir_vs=isa/<code>`), `filter` (see index.py for what it matches and how results
rank), `offset` and `count` (paging: count from 0, which only counts, to the server's largest
page; without it the default page), `includeDesignations`, `displayLanguage`. Out: the ValueSet
with an `expansion`: `total`, `offset`, the parameters used, and `contains` (system, version,
code, display, and designations when asked).

Without a filter the codes come in the code system's own order (ICD-10 chapter by chapter);
with one, best match first. An unknown value set is a 404; a count or offset out of range, an
inline `valueSet`, or a filter longer than 200 characters is a 400.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shafa.fhir.errors import invalid
from shafa.fhir.operations.definition import HL7, operation_definition
from shafa.terminology import catalog
from shafa.terminology.index import MAX_FILTER
from shafa.terminology.model import Concept
from shafa.terminology.params import Params

DEFINITION = operation_definition(
    "ValueSet",
    "expand",
    "Value Set Expansion",
    [
        ("url", "in", 0, "1", "uri"),
        ("filter", "in", 0, "1", "string"),
        ("offset", "in", 0, "1", "integer"),
        ("count", "in", 0, "1", "integer"),
        ("includeDesignations", "in", 0, "1", "boolean"),
        ("displayLanguage", "in", 0, "1", "code"),
        ("activeOnly", "in", 0, "1", "boolean"),
        ("return", "out", 1, "1", "ValueSet"),
    ],
    instance=True,
    base=HL7,
)
MAX_OFFSET = 1_000_000


@dataclass(frozen=True, slots=True)
class Request:
    """An expansion asked for: which value set, filter, page and presentation."""

    value_set: catalog.ValueSetDef
    filter: str | None
    offset: int
    count: int
    designations: bool
    language: str | None


def request(
    params: Params,
    value_set: catalog.ValueSetDef | None,
    *,
    default_count: int,
    max_count: int,
) -> Request:
    """The expansion the parameters ask for; 400 for bad input, 404 for an unknown value set."""
    if params.one("valueSet") is not None:
        raise invalid("Expanding an inline valueSet is not supported; give its url", "valueSet")
    if value_set is None:
        url = params.text("url")
        if url is None:
            raise invalid("Give the url of the value set to expand", "url")
        value_set = catalog.known_value_set(url)
    text = params.one("filter")
    if text is not None and (not isinstance(text, str) or len(text) > MAX_FILTER):
        raise invalid(f"filter must be a text of at most {MAX_FILTER} characters", "filter")
    count = params.integer("count", 0, max_count)
    return Request(
        value_set=value_set,
        filter=(text.strip() or None) if text is not None else None,
        offset=params.integer("offset", 0, MAX_OFFSET) or 0,
        count=default_count if count is None else count,
        designations=bool(params.boolean("includeDesignations")),
        language=params.text("displayLanguage"),
    )


def matches(asked: Request) -> tuple[int, list[Concept]]:
    """(total, the page of concepts) of an expansion."""
    value_set = asked.value_set
    if asked.filter:
        index = catalog.index(value_set.system.info.url)
        return index.search(
            asked.filter,
            members=value_set.index_members(),
            offset=asked.offset,
            count=asked.count,
        )
    members = value_set.members()
    return len(members), members[asked.offset : asked.offset + asked.count]


def run(asked: Request, *, identifier: str, timestamp: datetime) -> dict[str, Any]:
    """The expanded ValueSet; identifier and timestamp are the expansion's (R4 requires both)."""
    value_set = asked.value_set
    info = value_set.system.info
    total, page = matches(asked)
    used: list[dict[str, Any]] = [
        {"name": "offset", "valueInteger": asked.offset},
        {"name": "count", "valueInteger": asked.count},
    ]
    if asked.filter:
        used.insert(0, {"name": "filter", "valueString": asked.filter})
    if asked.language:
        used.append({"name": "displayLanguage", "valueCode": asked.language})
    contains = []
    for concept in page:
        entry: dict[str, Any] = {
            "system": info.url,
            "version": info.version,
            "code": concept.code,
            "display": concept.display_in(asked.language),
        }
        if asked.designations and concept.designations:
            entry["designation"] = [
                {"language": d.language, "value": d.value} for d in concept.designations
            ]
        contains.append(entry)
    resource: dict[str, Any] = {"resourceType": "ValueSet"}
    if value_set.id is not None:
        resource["id"] = value_set.id
    resource |= {
        "url": value_set.url,
        "version": info.version,
        "name": value_set.name,
        "title": value_set.title,
        "status": "active",
        "expansion": {
            "identifier": identifier,
            "timestamp": timestamp.isoformat().replace("+00:00", "Z"),
            "total": total,
            "offset": asked.offset,
            "parameter": used,
            "contains": contains,
        },
    }
    if not contains:
        del resource["expansion"]["contains"]
    return resource
