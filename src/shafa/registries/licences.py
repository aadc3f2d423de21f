"""Licence numbers are unique across their holders: a write check backed by the database.

Each write of a licence holder (Practitioner, Organization) replaces that holder's rows of
licence_numbers with the numbers its new version holds, in the store's transaction. The primary
key (system, number) is what makes a number one holder's: the insert skips a number someone
holds (ON CONFLICT DO NOTHING), and a skipped number refuses the write, naming the holder. On
PostgreSQL an insert meeting a number another transaction has just written, not yet committed,
waits for that transaction to end, then skips it or inserts it as its fate dictates, so two
concurrent writes can never both take a number. (Reading first and inserting after would not do:
both could read "free" before either commits.) SQLite runs one write transaction at a time.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir.errors import Issue
from shafa.fhir.store import WriteCheck, WriteRejected, Written
from shafa.registries.tables import licence_numbers

# The numbers a resource holds: (FHIRPath of the identifier, number).
NumbersOf = Callable[[dict[str, Any]], Sequence[tuple[str, str]]]


def _insert_skipping_taken(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(licence_numbers).on_conflict_do_nothing(
        index_elements=[licence_numbers.c.system, licence_numbers.c.number]
    )


@dataclass(frozen=True, slots=True)
class _Claim:
    number: str
    written: Written
    where: str


def unique_numbers(system: str, numbers_of: NumbersOf) -> WriteCheck:
    """A write check keeping the licence numbers of system, as numbers_of finds them in a
    resource, to one holder each."""

    async def check(conn: AsyncConnection, written: Sequence[Written]) -> None:
        holder_type = written[0].res_type
        earlier = [w.fhir_id for w in written if not w.created]
        if earlier:
            await conn.execute(
                delete(licence_numbers).where(
                    licence_numbers.c.system == system,
                    licence_numbers.c.holder_type == holder_type,
                    licence_numbers.c.holder_id.in_(earlier),
                )
            )
        claims = [
            _Claim(number, w, where)
            for w in written
            if w.resource is not None
            for where, number in numbers_of(w.resource)
        ]
        if not claims:
            return
        # In one order, so that two writes taking the same numbers wait for each other rather
        # than deadlock.
        claims.sort(key=lambda c: c.number)
        inserted = await conn.execute(
            _insert_skipping_taken(conn).returning(licence_numbers.c.number),
            [
                {
                    "system": system,
                    "number": c.number,
                    "holder_type": holder_type,
                    "holder_id": c.written.fhir_id,
                }
                for c in claims
            ],
        )
        if len(inserted.all()) == len(claims):
            return
        held = await conn.execute(
            select(
                licence_numbers.c.number,
                licence_numbers.c.holder_type,
                licence_numbers.c.holder_id,
            ).where(
                licence_numbers.c.system == system,
                licence_numbers.c.number.in_({c.number for c in claims}),
            )
        )
        holders = {row.number: f"{row.holder_type}/{row.holder_id}" for row in held}
        refused = [
            c for c in claims if holders.get(c.number) != f"{holder_type}/{c.written.fhir_id}"
        ]
        if refused:
            # One write is refused (a Bundle names its entry), with each number it asked for
            # in vain.
            refused = [c for c in refused if c.written is refused[0].written]
            raise WriteRejected(
                422,
                [
                    Issue(
                        "duplicate",
                        f"Licence number {c.number!r} ({system}) is already held by "
                        f"{holders.get(c.number)}",
                        expression=(c.where,),
                    )
                    for c in refused
                ],
                write_index=refused[0].written.write_index,
            )

    return check
