"""Products and helpers the medicinal product register's tests share.

Fixtures live here rather than in a conftest, so that each registry's tests keep their own:
a test module imports the fixture function (registry_fixture), and pytest finds it there
under its name (registry).
"""

import asyncio
import copy
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from biip.checksums import gs1_standard_check_digit
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.config import Settings
from shafa.db.engine import create_engine, read_transaction
from shafa.registries.medicines_entry import Entry, to_resources
from shafa.registries.medicines_rules import (
    Amount,
    Ingredient,
    RegistrationStatus,
    Schedule,
    Strength,
)
from tests.conftest import Database, LiveServer

T = TypeVar("T")
FHIR = "application/fhir+json"
REGISTER = "/registries/medicines"


def gtin(item: int, prefix: str = "4760001") -> str:
    """A valid GTIN-13 under GS1 Azerbaijan (476), its check digit computed by GS1's rule."""
    payload = f"{prefix}{item:05d}"
    return payload + str(gs1_standard_check_digit(payload))


def wrong_check_digit(value: str) -> str:
    """The GTIN with its check digit off by one."""
    return value[:-1] + str((int(value[-1]) + 1) % 10)


def entry(number: str = "AZ-T-0001", **changes: Any) -> Entry:
    """A registered pack: Panadol 500 mg tablets, 20, valid from 2024 without end."""
    fields: dict[str, Any] = {
        "registration_number": number,
        "trade_name": "Panadol",
        "ingredients": (Ingredient("paracetamol", Strength.of("500 mg/{tablet}")),),
        "dose_form": "tablet",
        "routes": ("oral",),
        "pack": Amount(Decimal(20), "{tablet}"),
        "gtins": (gtin(1),),
        "atc": "N02BE01",
        "ddd": Amount(Decimal(3), "g"),
        "holder": "Haleon",
        "holder_id": "mah-haleon",
        "status": RegistrationStatus.VALID,
        "valid_from": "2024-01-01",
        "valid_to": None,
        "prescription_only": False,
        "controlled": None,
        "reimbursement": "essential",
        "reference_price": Decimal("1.20"),
        "retail_price": Decimal("2.35"),
    }
    fields.update(changes)
    if isinstance(fields["status"], str):
        fields["status"] = RegistrationStatus(fields["status"])
    if isinstance(fields["controlled"], str):
        fields["controlled"] = Schedule(fields["controlled"])
    return Entry(**fields)


def resources(fhir_id: str, number: str = "AZ-T-0001", **changes: Any) -> tuple[dict, dict]:
    """The Medication and MedicationKnowledge of entry(number, **changes), as JSON-ready dicts."""
    medication, knowledge = to_resources(entry(number, **changes), fhir_id)
    return _jsonable(medication), _jsonable(knowledge)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return copy.copy(value)


def put(fhir: httpx.Client, resource: dict) -> httpx.Response:
    """PUT the resource under its id."""
    return fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)


def register(fhir: httpx.Client, fhir_id: str, number: str = "AZ-T-0001", **changes: Any) -> None:
    """Store a registered pack (both resources), or fail the test."""
    for resource in resources(fhir_id, number, **changes):
        answer = put(fhir, resource)
        assert answer.status_code == 201, answer.text


def ids(fhir: httpx.Client, res_type: str, **params: str) -> set[str]:
    """The ids a search matches."""
    answer = fhir.get(f"/{res_type}", params=params)
    assert answer.status_code == 200, answer.text
    return {e["resource"]["id"] for e in answer.json().get("entry", [])}


def issue_paths(answer: httpx.Response) -> list[str]:
    """Every expression of every issue of an OperationOutcome answer."""
    outcome = answer.json()
    assert outcome["resourceType"] == "OperationOutcome", outcome
    return [path for issue in outcome["issue"] for path in issue.get("expression", [])]


@dataclass
class Register:
    """A live server over an emptied database: its FHIR API, its root and the database."""

    fhir: httpx.Client
    http: httpx.Client  # at the server's root
    database: Database

    def run(self, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """Run work in a read transaction over the server's database."""

        async def go() -> T:
            engine = create_engine(Settings(database_url=self.database.url))
            try:
                async with read_transaction(engine) as conn:
                    return await work(conn)
            finally:
                await engine.dispose()

        return asyncio.run(go())

    def upload(self, text: str, **headers: str) -> httpx.Response:
        """POST a register CSV."""
        return self.http.post(
            REGISTER, content=text.encode(), headers={"Content-Type": "text/csv"} | headers
        )

    def count(self, res_type: str) -> int:
        """How many resources of the type are stored."""
        answer = self.fhir.get(f"/{res_type}", params={"_summary": "count"})
        assert answer.status_code == 200, answer.text
        return int(answer.json()["total"])


@pytest.fixture(name="registry")
def registry_fixture(
    fhir: httpx.Client, server: LiveServer, database: Database
) -> Iterator[Register]:
    """The register on a live server (no tokens) over an emptied database of each backend."""
    with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=120) as http:
        yield Register(fhir, http, database)
