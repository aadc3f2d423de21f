"""The facilities registry (after the OpenHIE facility registry, DHIS2 org units and NHS ODS).

Organizations form one tree through partOf: the ministry, its agencies, the regional unions,
and the hospitals, polyclinics, pharmacies and laboratories under them, private ones too;
Locations give their addresses and coordinates (Location.position) and name the Organization
that runs them (managingOrganization). See facilities_rules for the codes and the licences.

The tree is kept as a closure table (organization_ancestors: a row for each organisation and
each of its ancestors, with the organisation's kind), derived from partOf on every write of an
Organization in the store's transaction, so that all the units (or all the pharmacies) under a
regional union are one index range, and a cycle is found before it is stored. A move rewrites
the rows of the moved subtree only.
"""

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db import bulk
from shafa.fhir import store
from shafa.fhir.errors import Issue
from shafa.fhir.store import WriteRejected, Written
from shafa.registries import codes, facilities_rules, licences
from shafa.registries.facilities_rules import Standing
from shafa.registries.licence_rules import StandingStatus
from shafa.registries.tables import organization_ancestors

__all__ = [
    "RULES",
    "WRITE_CHECKS",
    "Standing",
    "StandingStatus",
    "ancestors",
    "descendants",
    "licence_standing",
]

ORGANIZATION = "Organization"
_CHUNK = 500  # ids a statement asks about at once (SQLite's bind-parameter limit)

_tree = organization_ancestors.c
_DESCENDANTS = (
    select(_tree.organization_id)
    .where(_tree.ancestor_id == bindparam("root"))
    .order_by(_tree.depth, _tree.organization_id)
)
_OF_KIND = _DESCENDANTS.where(_tree.kind == bindparam("kind"))
_ANCESTORS = (
    select(_tree.ancestor_id)
    .where(_tree.organization_id == bindparam("organization"))
    .order_by(_tree.depth)
)


async def descendants(
    conn: AsyncConnection, organization_id: str, *, kind: str | None = None
) -> list[str]:
    """Ids of the Organizations under organization_id through partOf, nearest first (then by
    id); only those of a kind (a code of Shafa's organization-type, e.g. "pharmacy") if given."""
    if kind is None:
        rows = await conn.execute(_DESCENDANTS, {"root": organization_id})
    else:
        rows = await conn.execute(_OF_KIND, {"root": organization_id, "kind": kind})
    return list(rows.scalars())


async def ancestors(conn: AsyncConnection, organization_id: str) -> list[str]:
    """Ids of the Organizations organization_id is part of, its parent first, up to the root."""
    return list((await conn.execute(_ANCESTORS, {"organization": organization_id})).scalars())


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


async def _places(conn: AsyncConnection, ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
    """The (parent, kind) each of these organisations has in the tree as stored; a root has no
    place there."""
    found = {}
    for chunk in _chunks(ids):
        rows = await conn.execute(
            select(_tree.organization_id, _tree.ancestor_id, _tree.kind).where(
                _tree.depth == 1, _tree.organization_id.in_(chunk)
            )
        )
        found.update({row.organization_id: (row.ancestor_id, row.kind) for row in rows})
    return found


async def _keep_tree(conn: AsyncConnection, written: Sequence[Written]) -> None:
    """Keep organization_ancestors in step with the Organizations written, and refuse a write
    that makes an Organization part of itself, however far up."""
    wanted = {
        w.fhir_id: (facilities_rules.parent_of(w.resource), facilities_rules.kind_of(w.resource))
        for w in written
    }
    stored = await _places(conn, list(wanted))
    moved = []
    for fhir_id, (parent, kind) in wanted.items():
        place = stored.get(fhir_id)
        if (place[0] if place is not None else None) != parent:
            moved.append(fhir_id)
        elif place is not None and place[1] != kind:
            # Where it was, of another kind now: one update of its rows.
            await conn.execute(
                update(organization_ancestors)
                .where(_tree.organization_id == fhir_id)
                .values(kind=kind)
            )
    if not moved:
        return
    # Two writes that close a cycle only together (A under B, B under A) must not both see the
    # tree without the other's edge, nor two moves recompute one subtree each from the tree
    # before the other: writes that move organisations take one lock, in turn, until they
    # commit, and read the tree only then (PostgreSQL's next statement sees what committed).
    await store.lock_criteria(conn, "Organization.partOf hierarchy")
    # What moves is each moved organisation and everything under it.
    below: list[str] = []
    for chunk in _chunks(moved):
        rows = await conn.execute(
            select(_tree.organization_id).where(_tree.ancestor_id.in_(chunk)).distinct()
        )
        below.extend(rows.scalars())
    places: dict[str, tuple[str | None, str | None]] = dict(await _places(conn, below))
    places.update((fhir_id, wanted[fhir_id]) for fhir_id in moved)
    parents = {fhir_id: parent for fhir_id, (parent, _kind) in places.items()}
    outside = sorted({p for p in parents.values() if p is not None and p not in parents})
    above: dict[str, list[str]] = {}
    for chunk in _chunks(outside):
        rows = await conn.execute(
            select(_tree.organization_id, _tree.ancestor_id)
            .where(_tree.organization_id.in_(chunk))
            .order_by(_tree.organization_id, _tree.depth)
        )
        for row in rows:
            above.setdefault(row.organization_id, []).append(row.ancestor_id)
    chains, looping = facilities_rules.ancestor_chains(parents, above)
    for w in written:
        if w.fhir_id in looping and w.fhir_id in moved:
            raise WriteRejected(
                422,
                [
                    Issue(
                        "business-rule",
                        f"Organization/{w.fhir_id} cannot be part of Organization/"
                        f"{wanted[w.fhir_id][0]}, which is itself part of Organization/"
                        f"{w.fhir_id}: partOf would make a cycle",
                        expression=("Organization.partOf",),
                    )
                ],
                write_index=w.write_index,
            )
    for chunk in _chunks(list(parents)):
        await conn.execute(delete(organization_ancestors).where(_tree.organization_id.in_(chunk)))
    await bulk.insert_rows(
        conn,
        organization_ancestors,
        ("organization_id", "ancestor_id", "depth", "kind"),
        [
            (fhir_id, ancestor, depth, places[fhir_id][1])
            for fhir_id, chain in chains.items()
            for depth, ancestor in enumerate(chain, start=1)
        ],
    )


def _licence_numbers(organization: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f"Organization.identifier[{index}].value", number)
        for index, number in facilities_rules.licence_numbers(organization)
    ]


RULES = facilities_rules.RULES
WRITE_CHECKS = (
    (ORGANIZATION, licences.unique_numbers(codes.FACILITY_LICENCE, _licence_numbers)),
    (ORGANIZATION, _keep_tree),
)
"""Checks the database decides, as (resource type, store.WriteCheck), for registries."""


async def licence_standing(
    conn: AsyncConnection, organization_id: str, moment: datetime
) -> Standing:
    """The facility's standing at moment: may it operate, and for which licensed activities.
    404 (FhirError) for an unknown Organization, 410 for a deleted one."""
    organization = (await store.read(conn, ORGANIZATION, organization_id)).resource()
    return facilities_rules.standing(organization, moment)
