"""The citizens registry's verbs that touch the database: finding citizens for the staff page.

Searches go through the FHIR search (fhir.search) with the caller's bound, so the page finds
what the same person would find at /fhir with their token, folding of names included.
"""

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir import jsonio, search
from shafa.fhir.store import Bound
from shafa.registries.citizens.rules import FIN_SYSTEM
from shafa.registries.citizens.schemas import Wanted

# Name searches sort as a register does: by family name, then given names.
_BY_NAME = [search.SortKey("family", False), search.SortKey("given", False)]


@dataclass(frozen=True, slots=True)
class Found:
    """The Patients a search found, in order, and whether more matched than were read."""

    patients: list[dict[str, Any]]
    more: bool


async def find_citizens(
    conn: AsyncConnection, asked: Wanted, bound: Bound | None, limit: int
) -> Found:
    """The live Patients with the FIN asked for, then those whose names match every name
    asked for (FHIR name search: prefix, folded), at most limit of them."""
    contents: dict[str, str] = {}
    if asked.fin is not None:
        found = search.criteria("Patient", [("identifier", f"{FIN_SYSTEM}|{asked.fin}")])
        for row in await search.matching(conn, "Patient", found, limit=limit, bound=bound):
            contents.setdefault(row.fhir_id, row.content)
    if asked.names:
        # Names are words (schemas.wanted): no search separators (, $ | \\) in them.
        found = search.criteria("Patient", [("name", name) for name in asked.names])
        matched = await search.matching(
            conn, "Patient", found, limit=limit + 1, sort=_BY_NAME, bound=bound
        )
        for row in matched:
            contents.setdefault(row.fhir_id, row.content)
    patients = [jsonio.parse(content) for content in contents.values()]
    return Found(patients[:limit], len(patients) > limit)
