"""Pharmacies racing for one prescription on PostgreSQL: a hundred dispenses at once, over
real connections, hand over exactly what was prescribed, never more, and every other attempt
is refused with a clear OperationOutcome."""

import asyncio
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shafa.fhir.errors import FhirError
from shafa.prescriptions import actions
from shafa.prescriptions.schemas import Caller, Line, read_draft
from shafa.security import audit
from shafa.security.rules import Role
from tests.prescriptions.conftest import (
    AMOXIL,
    AYSEL,
    LEYLA_FIN,
    MOMENT,
    World,
    amoxicillin,
)

ATTEMPTS = 100
CONNECTIONS = 40
PACKS = 3  # 60 capsules prescribed: three packs of 20


def pharmacy(n: int) -> Caller:
    agent = audit.AuditRecord(action=audit.Action.CREATE, display=f"pharmacist {n}")
    return Caller(Role.PHARMACIST, f"pharmacist-{n}", "pharmacy-7", agent)


def test_a_hundred_concurrent_dispenses_never_exceed_the_prescription(world: World) -> None:
    if world.database.backend != "postgresql":
        pytest.skip("the race runs on PostgreSQL, where writers run concurrently")

    async def race(engine: AsyncEngine) -> tuple[list[Any], Any]:
        done = await actions.prescribe(engine, AYSEL, read_draft(amoxicillin(quantity=60)), MOMENT)

        async def attempt(n: int) -> Any:
            try:
                return await actions.dispense(
                    engine, pharmacy(n), done.number, LEYLA_FIN, [Line(AMOXIL, 1)], MOMENT
                )
            except FhirError as error:
                return error

        results = await asyncio.gather(*(attempt(n) for n in range(ATTEMPTS)))
        found = await actions.find(engine, done.number, LEYLA_FIN, MOMENT)
        return results, found

    async def go(engine: AsyncEngine) -> tuple[list[Any], Any]:
        # Many connections, so that the attempts really run at once (within the server's
        # max_connections, which the live servers of the test session share).
        wide = create_async_engine(world.database.url, pool_size=CONNECTIONS, max_overflow=0)
        try:
            return await race(wide)
        finally:
            await wide.dispose()

    results, found = world.run(go)
    dispensed = [r for r in results if not isinstance(r, FhirError)]
    refused = [r for r in results if isinstance(r, FhirError)]
    assert len(dispensed) == PACKS
    assert len(refused) == ATTEMPTS - PACKS
    assert {r.status for r in refused} <= {409, 422}
    for error in refused:
        text = str(error)
        assert "left" in text or "fully dispensed" in text, text
    assert found.dispensed == found.quantity == Decimal(60)
    assert found.status == "completed"
    assert sorted(r.dispensed for r in dispensed) == [Decimal(20), Decimal(40), Decimal(60)]
    counts = world.counts()
    assert counts["MedicationDispense"] == PACKS
    assert counts["dispensed"] == 60
    print("refusals:", Counter((r.status, str(r).split(":")[0]) for r in refused))
