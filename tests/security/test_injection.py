"""SQL and script payloads in every search parameter are data: never SQL, never a 500.

Each payload goes into every search parameter of the types a screen searches most, in the place
a value of that parameter type takes it; the answer must be a Bundle that finds nothing, or a 400
OperationOutcome, and the store must be as it was.
"""

import httpx
import pytest

from shafa.fhir import searchparams
from tests.fhir.helpers import put

PAYLOADS = (
    "' OR '1'='1",
    "x'; DROP TABLE resources; --",
    '" OR ""="',
    "1) OR (1=1",
    "%' OR 1=1 --",
    "<script>alert(1)</script>",
    "\\' UNION SELECT content FROM resources --",
)
# Where a payload sits in a value of each parameter type.
SHAPES = {
    "token": ("{p}", "http://x|{p}", "{p}|x"),
    "string": ("{p}",),
    "reference": ("{p}", "Patient/{p}"),
    "uri": ("{p}",),
    "date": ("{p}", "ge{p}"),
    "number": ("{p}", "gt{p}"),
    "quantity": ("{p}", "5|{p}|mg"),
    "composite": ("{p}${p}",),
}
TYPES = ("Patient", "Observation", "MedicationRequest")


@pytest.fixture
def stored(fhir: httpx.Client) -> httpx.Client:
    put(fhir, {"resourceType": "Patient", "id": "leyla", "name": [{"family": "Əliyeva"}]})
    put(fhir, {"resourceType": "Observation", "id": "bp", "status": "final",
               "code": {"text": "bp"}, "subject": {"reference": "Patient/leyla"}})  # fmt: skip
    return fhir


def _totals(fhir: httpx.Client) -> dict[str, int]:
    return {t: fhir.get(f"/{t}", params={"_summary": "count"}).json()["total"] for t in TYPES}


@pytest.mark.parametrize("res_type", TYPES)
def test_payloads_in_every_search_parameter_find_nothing_and_change_nothing(
    stored: httpx.Client, res_type: str
) -> None:
    before = _totals(stored)
    strict = {"Prefer": "handling=strict"}
    for name, param in sorted(searchparams.params_for(res_type).items()):
        for shape in SHAPES.get(param.type, ()):
            for payload in PAYLOADS:
                value = shape.format(p=payload)
                answer = stored.get(f"/{res_type}", params={name: value}, headers=strict)
                assert answer.status_code in (200, 400), (name, value, answer.text[:300])
                body = answer.json()
                if answer.status_code == 400:
                    assert body["resourceType"] == "OperationOutcome"
                    continue
                matches = [e for e in body["entry"] if e["search"]["mode"] == "match"]
                assert not matches, (name, value)
    for modifier in ("exact", "contains", "missing", "not", "text", "below"):
        answer = stored.get(f"/{res_type}", params={f"_id:{modifier}": PAYLOADS[1]})
        assert answer.status_code in (200, 400)
    assert _totals(stored) == before
