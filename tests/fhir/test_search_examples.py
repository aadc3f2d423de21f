"""Every official example is found by every search parameter that has a value in it.

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
from shafa.fhir.search import SEARCHABLE_TYPES

EXAMPLES = sorted((Path(__file__).parent.parent / "data" / "fhir-examples").glob("*.json"))


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
    return {
        name: value
        for name, value in found.items()
        if value
        and name in known
        and known[name].type in SEARCHABLE_TYPES
        and "," not in value
        and "\\" not in value
    }


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
