"""Every official example is found by every search parameter that has a value in it.

Composite parameters take the values of one element of theirs, and identifier parameters
:of-type an Identifier's type and value.

For each example and each of its type's parameters, a query is built from one value the
parameter has in the example (read from the resource's search-index values, whose extraction
tests/fhir/test_fhirpath.py checks against the reference FHIRPath engine) and the search must
return the example: extraction, storage and search agree end to end, on both databases.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from shafa.fhir import indexing, searchparams
from shafa.fhir.fhirpath import compile_path
from shafa.fhir.search import SEARCHABLE_TYPES

# AuditEvent is the audit log (security/audit_fhir.py, tests/security/test_audit_fhir.py): the
# resource store's generic search never sees one.
EXAMPLES = sorted(
    path
    for path in (Path(__file__).parent.parent / "data" / "fhir-examples").glob("*.json")
    if path.stem != "auditevent-example"
)


def instant(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def queries(resource: dict) -> dict[str, str]:
    """One query value for each parameter with a value in the resource."""
    rows = indexing.extract(resource)
    known = searchparams.params_for(resource["resourceType"])
    found: dict[str, str] = {}
    for name, system, code, _text in rows.token:
        if code is not None:
            found.setdefault(name, f"{system}|{code}" if system else code)
    for name, value, _exact in rows.string:
        found.setdefault(name, value)
    for name, target_type, target_id, url in rows.reference:
        found.setdefault(name, f"{target_type}/{target_id}" if target_id else url or "")
    for name, uri in rows.uri:
        found.setdefault(name, uri)
    for name, low, high in rows.date:
        if low > indexing.DATE_MIN:
            found.setdefault(name, f"ge{instant(low)}")
        elif high < indexing.DATE_MAX:
            found.setdefault(name, f"le{instant(high)}")
    for name, number in rows.number:
        found.setdefault(name, str(number))
    for name, number, system, code, _unit in rows.quantity:
        found.setdefault(name, f"{number}|{system or ''}|{code or ''}" if code else str(number))
    simple = {
        name: value
        for name, value in found.items()
        if value
        and name in known
        and known[name].type in SEARCHABLE_TYPES
        and "," not in value
        and "\\" not in value
    }
    return simple | composite_queries(resource) | of_type_queries(resource)


def escaped(text: str) -> str:
    """A value's own separators escaped (R4 search.html#escaping)."""
    for char in "\\,$|":
        text = text.replace(char, f"\\{char}")
    return text


def part(kind: str, row: tuple) -> str | None:
    """A search value for one component row (as the parameter of its type takes it)."""
    if kind == "token":
        _, system, code, _ = row
        if code is None:
            return None  # a text-only row: composites do not search texts
        return f"{escaped(system)}|{escaped(code)}" if system else escaped(code)
    if kind == "reference":
        _, target_type, target_id, url = row
        return f"{target_type}/{target_id}" if target_id else escaped(url)
    if kind in ("uri", "string"):
        return escaped(row[1])
    if kind == "number":
        return str(row[1])
    if kind == "date":
        _, low, high = row
        if low > indexing.DATE_MIN:
            return f"ge{instant(low)}"
        return f"le{instant(high)}" if high < indexing.DATE_MAX else None
    _, number, system, code, _unit = row  # quantity
    return f"{number}|{escaped(system or '')}|{escaped(code)}" if code else str(number)


def composite_queries(resource: dict) -> dict[str, str]:
    """For each composite parameter, the first element's first values of every component."""
    found = {}
    res_type = resource["resourceType"]
    for name, param in searchparams.params_for(res_type).items():
        if param.type != "composite":
            continue
        kinds = [part.param.type for part in indexing.composite_parts(res_type, name)]
        for element in indexing.composite_elements(resource, name):
            values = [
                next((v for row in rows if (v := part(kind, row)) is not None), None)
                for kind, rows in zip(kinds, element, strict=True)
            ]
            if None not in values:
                found[name] = "$".join(values)
                break
    return found


def of_type_queries(resource: dict) -> dict[str, str]:
    """For each Identifier parameter, an Identifier's first type coding and its value."""
    found = {}
    res_type = resource["resourceType"]
    for name in indexing.of_type_params(res_type):
        expression = searchparams.params_for(res_type)[name].expression
        for identifier in compile_path(expression, res_type)(resource):
            codings = (identifier.get("type") or {}).get("coding") or []
            coded = [c for c in codings if c.get("code")]
            if coded and identifier.get("value"):
                system, code = coded[0].get("system", ""), coded[0]["code"]
                value = identifier["value"]
                found[f"{name}:of-type"] = "|".join(map(escaped, (system, code, value)))
                break
    return found


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_each_parameter_with_a_value_finds_the_example(fhir: httpx.Client, path: Path) -> None:
    resource = json.loads(path.read_bytes(), parse_float=Decimal)
    res_type = resource["resourceType"]
    created = fhir.post(f"/{res_type}", content=path.read_bytes())
    assert created.status_code == 201, created.text
    new_id = created.json()["id"]
    missed = []
    for name, value in queries(resource | {"id": new_id}).items():
        response = fhir.get(f"/{res_type}", params={name: value, "_elements": "id"})
        assert response.status_code == 200, (name, value, response.text)
        ids = {
            e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match"
        }
        if new_id not in ids:
            missed.append(f"{name}={value}")
    assert not missed, f"{res_type} not found by: {missed}"
