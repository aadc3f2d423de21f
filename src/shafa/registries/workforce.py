"""The health workforce registry (after iHRIS and the OpenHIE health worker registry).

Health workers are Practitioner resources with their licences as qualifications (see
workforce_rules), and their posts PractitionerRole resources at Organizations. This module is
what other contexts call: `licence_standing` answers the e-prescription rules' question, "is
this prescriber licensed now, and for which specialities?".
"""

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir import jsonio, search, store
from shafa.registries import codes, licences, workforce_rules
from shafa.registries.workforce_rules import Standing, StandingStatus

__all__ = ["RULES", "WRITE_CHECKS", "Standing", "StandingStatus", "licence_standing", "roles"]

MAX_ROLES = 1000  # posts one health worker holds, live or past; far above any real count


def _licence_numbers(practitioner: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"Practitioner.qualification[{index}].identifier", number)
        for index, number in workforce_rules.licence_numbers(practitioner)
    ]


RULES = workforce_rules.RULES
WRITE_CHECKS = (
    ("Practitioner", licences.unique_numbers(codes.PRACTITIONER_LICENCE, _licence_numbers)),
)
"""Checks the database decides, as (resource type, store.WriteCheck), for registries."""


async def roles(conn: AsyncConnection, practitioner_id: str) -> list[dict[str, Any]]:
    """Every live PractitionerRole of the Practitioner (held now or not)."""
    found = search.criteria(
        "PractitionerRole", [("practitioner", f"Practitioner/{practitioner_id}")]
    )
    rows = await search.matching(conn, "PractitionerRole", found, limit=MAX_ROLES)
    return [jsonio.parse(row.content) for row in rows]


async def licence_standing(
    conn: AsyncConnection, practitioner_id: str, moment: datetime
) -> Standing:
    """The health worker's standing at moment: licensed or not, for which specialities, and
    where they hold a role. 404 (FhirError) for an unknown Practitioner, 410 for a deleted one."""
    practitioner = (await store.read(conn, "Practitioner", practitioner_id)).resource()
    return workforce_rules.standing(practitioner, await roles(conn, practitioner_id), moment)
