"""The disability registry: the determinations of the medical and social expert commissions.

Each is an Observation in the patient's compartment (see disability_rules for the model and
why). This module is what other contexts call, e.g. benefits and reimbursement asking "which
disability group does this person have now?".
"""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir import jsonio, search
from shafa.registries import codes, disability_rules
from shafa.registries.disability_rules import Determination, DisabilityGroup

__all__ = [
    "RULES",
    "Determination",
    "DisabilityGroup",
    "current_determination",
    "current_group",
    "determinations",
]

MAX_DETERMINATIONS = 1000  # determinations of one person over a lifetime; far above any count
RULES = disability_rules.RULES


async def determinations(conn: AsyncConnection, patient_id: str) -> list[Determination]:
    """Every disability determination recorded for the patient, whatever its status, in the
    order they were stored."""
    criteria = search.criteria(
        "Observation",
        [
            ("subject", f"Patient/{patient_id}"),
            ("code", f"{codes.REGISTRY_OBSERVATION}|{codes.DISABILITY_DETERMINATION}"),
        ],
    )
    rows = await search.matching(conn, "Observation", criteria, limit=MAX_DETERMINATIONS)
    return [
        found
        for row in rows
        if (found := disability_rules.determination(jsonio.parse(row.content))) is not None
    ]


async def current_determination(
    conn: AsyncConnection, patient_id: str, moment: datetime
) -> Determination | None:
    """The determination in force for the patient at moment, if any."""
    return disability_rules.current(await determinations(conn, patient_id), moment)


async def current_group(
    conn: AsyncConnection, patient_id: str, moment: datetime
) -> DisabilityGroup | None:
    """The patient's disability group at moment; None when no determination holds then."""
    found = await current_determination(conn, patient_id, moment)
    return None if found is None else found.group
