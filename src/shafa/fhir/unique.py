"""Identifiers that at most one live resource of a type may hold: a national ID, say.

FHIR R4 leaves identifier uniqueness to the server (resource.html#identifiers); HAPI FHIR's
"unique search parameters" refuse a write that would break one with 409 Conflict naming the
resource that holds the value, and so does Shafa. A context that owns such an identifier
declares the partial unique index on idx_token that guarantees it under concurrent writers
(db.tables.unique_token_index) and registers it here, so the store can refuse a breaking write
before writing, with an answer that says who holds the value. The generic engine knows no such
identifier itself.

A write that races another to the same value passes this check (neither sees the other's
uncommitted rows) and then meets the unique index, which makes it wait for the other to commit
and then fail; the store retries it as a concurrent write, and the retry meets this check.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import ARRAY, Select, String, bindparam, func, select, true
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.tables import idx_token, resources
from shafa.fhir.errors import Issue

# Codes looked up in one statement: SQLite allows 32,766 bound values (since 3.32), older
# builds 999; a transaction of citizens carries far fewer.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class UniqueIdentifier:
    """res_type's Identifiers under system, searched as param: one live resource per value."""

    res_type: str
    param: str  # the token search parameter whose rows hold the Identifiers (identifier)
    system: str
    element: str  # the resource's element that holds them, for the issue (identifier)
    label: str  # what the value is called in answers (FIN)


_UNIQUE: dict[str, list[UniqueIdentifier]] = {}


def add_unique(unique: UniqueIdentifier) -> None:
    """Refuse writes that would give two live resources of the type the same value."""
    registered = _UNIQUE.setdefault(unique.res_type, [])
    if unique not in registered:
        registered.append(unique)


def remove_unique(unique: UniqueIdentifier) -> None:
    """Stop checking an identifier added with add_unique."""
    registered = _UNIQUE.get(unique.res_type, [])
    if unique in registered:
        registered.remove(unique)


def of_type(res_type: str) -> Sequence[UniqueIdentifier]:
    """The unique identifiers of a resource type."""
    return _UNIQUE.get(res_type, ())


@dataclass(frozen=True, slots=True)
class Claim:
    """A value a write stores: written by the batch's write_index, for resource (type, id)."""

    write_index: int
    unique: UniqueIdentifier
    resource: tuple[str, str]
    code: str
    content: dict[str, Any]


def _where(claim: Claim) -> str:
    """The element of the written resource that holds the value, as a FHIRPath expression."""
    unique, holders = claim.unique, claim.content.get(claim.unique.element)
    for index, item in enumerate(holders if isinstance(holders, list) else ()):
        if isinstance(item, dict) and (item.get("system"), item.get("value")) == (
            unique.system,
            claim.code,
        ):
            return f"{unique.res_type}.{unique.element}[{index}]"
    return f"{unique.res_type}.{unique.element}"


def _taken(claim: Claim, holder: str) -> tuple[int, Issue]:
    unique = claim.unique
    message = (
        f"{unique.label} {claim.code} is already held by {unique.res_type}/{holder}: one "
        f"{unique.res_type} only may hold a {unique.label} ({unique.system}). Update that "
        f"{unique.res_type} instead, or take the {unique.label} off it first."
    )
    return claim.write_index, Issue("duplicate", message, expression=(_where(claim),))


async def first_conflict(
    conn: AsyncConnection, claims: Sequence[Claim], rewritten: set[tuple[str, str]]
) -> tuple[int, Issue] | None:
    """The first claim another resource already holds (in the batch or stored), as the index of
    its write and the issue to answer with; None if every claim is free.

    claims are those of the newest version of each resource the batch writes; rewritten holds
    every resource the batch writes or deletes, whose stored rows it replaces.
    """
    claimed: dict[tuple[UniqueIdentifier, str], Claim] = {}
    for claim in claims:
        earlier = claimed.setdefault((claim.unique, claim.code), claim)
        if earlier.resource != claim.resource:
            return _taken(claim, earlier.resource[1])
    by_unique: dict[UniqueIdentifier, list[str]] = {}
    for unique, code in claimed:
        by_unique.setdefault(unique, []).append(code)
    postgresql = conn.dialect.name == "postgresql"
    for unique, codes in by_unique.items():
        for start in range(0, len(codes), _CHUNK):
            chunk = codes[start : start + _CHUNK]
            if postgresql:
                found = await conn.execute(_holders_postgresql(unique), {"codes": chunk})
            else:
                found = await conn.execute(_holders(unique).where(idx_token.c.code.in_(chunk)))
            for code, holder in found:
                if (unique.res_type, holder) not in rewritten:
                    return _taken(claimed[(unique, code)], holder)
    return None


def _holders(unique: UniqueIdentifier) -> Select[Any]:
    """(code, holder id) of the stored rows of a unique identifier; the caller adds the codes."""
    t = idx_token.c

    def constant(value: str) -> Any:
        # Written into the SQL, not bound: a planner proves a partial index's predicate from
        # constants only, and the identifier's own unique index (db.tables.unique_token_index)
        # is the one that holds just its rows, and the one a bulk load keeps while it fills.
        return bindparam(None, value, literal_execute=True)

    return (
        select(t.code, resources.c.fhir_id)
        .join(resources, resources.c.pk == t.resource_pk)
        .where(
            t.res_type == constant(unique.res_type),
            t.param == constant(unique.param),
            t.system == constant(unique.system),
        )
    )


@cache
def _holders_postgresql(unique: UniqueIdentifier) -> Select[Any]:
    """_holders for an array of codes (bound as codes), one index probe a code.

    `code IN (...)` or `= ANY(...)` lets the planner scan every row of the identifier and
    filter them when its statistics are stale (a table filling under a bulk load, before
    ANALYZE): 0.9 s for 3 codes among 79,000 Patients. A lateral subquery that OFFSET keeps
    from being flattened asks one equality a code, always an index probe (0.2 ms).
    """
    codes = func.unnest(bindparam("codes", type_=ARRAY(String)))
    wanted = codes.table_valued("code").render_derived(name="wanted")
    holder = _holders(unique).where(idx_token.c.code == wanted.c.code).offset(0).lateral()
    return select(holder.c.code, holder.c.fhir_id).select_from(wanted.join(holder, true()))
