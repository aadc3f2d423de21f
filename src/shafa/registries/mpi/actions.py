"""The master patient index's verbs, each owning the caller's one transaction: merge a duplicate
Patient into a survivor, unmerge it, and decide that a pair is not a duplicate.

Merge follows FHIR R4 Patient.link (patient.html#links): the duplicate gets a link of type
replaced-by to the survivor and active=false, the survivor a link of type replaces to the
duplicate, and every resource whose Patient-compartment reference (compartmentdefinition-patient:
subject, patient, performer...) names the duplicate is updated through the store to name the
survivor: new versions, so each one's history keeps what was. What was moved is recorded
(mpi_merges) so that unmerge moves exactly those References back, and both are audit records:
updates of both Patients' records (audit.Action.UPDATE, the reason saying merge or unmerge, the
resources naming everything moved), the audit log's actions being fixed by its table's CHECK.
A refusal raises MergeRefused (a 4xx OperationOutcome) before anything is written.
"""

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import and_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.tables import idx_reference, resources
from shafa.fhir import jsonio, store
from shafa.fhir.compartments import patient_compartment_params
from shafa.fhir.errors import FhirError, Issue
from shafa.registries.mpi import rules
from shafa.registries.mpi.tables import mpi_merges, mpi_reviews
from shafa.security import audit

# How far a chain of replaced-by links is followed before it is called a loop.
MAX_CHAIN = 50


class Refusal(StrEnum):
    """Why a merge, unmerge or decision is refused (pages translate each)."""

    ITSELF = "itself"
    UNKNOWN = "unknown"
    ALREADY_MERGED = "already-merged"
    SURVIVOR_REPLACED = "survivor-replaced"
    CHAIN_LOOP = "chain-loop"
    DECEASED = "deceased"
    NOT_MERGED = "not-merged"
    MERGED_FURTHER = "merged-further"
    LINKS_CHANGED = "links-changed"
    DECIDED = "decided"
    TWO_FINS = "two-fins"


_STATUS = {
    Refusal.ITSELF: (422, "business-rule"),
    Refusal.UNKNOWN: (404, "not-found"),
    Refusal.ALREADY_MERGED: (409, "conflict"),
    Refusal.SURVIVOR_REPLACED: (422, "business-rule"),
    Refusal.CHAIN_LOOP: (422, "business-rule"),
    Refusal.DECEASED: (422, "business-rule"),
    Refusal.NOT_MERGED: (409, "conflict"),
    Refusal.MERGED_FURTHER: (409, "conflict"),
    Refusal.LINKS_CHANGED: (409, "conflict"),
    Refusal.DECIDED: (409, "conflict"),
    Refusal.TWO_FINS: (422, "business-rule"),
}


class MergeRefused(FhirError):
    """A refused merge, unmerge or decision: an OperationOutcome, and the reason for pages."""

    def __init__(self, reason: Refusal, diagnostics: str, *expression: str) -> None:
        status, code = _STATUS[reason]
        super().__init__(status, [Issue(code, diagnostics, expression=expression)])
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Merged:
    """A merge done: its id, the two Patients, and how many resources were moved."""

    merge_id: int
    duplicate_id: str
    survivor_id: str
    moved: int


def _decider(who: audit.AuditRecord) -> str:
    """Who decided, as the review queue and the merges record it."""
    if who.user_id:
        return f"{who.display or ''} (user {who.user_id})".strip()[:255]
    return f"client {who.client_id or 'unknown'}"[:255]


async def _patients(
    conn: AsyncConnection, ids: Sequence[str]
) -> dict[str, tuple[int, dict[str, Any]]]:
    """The live Patients of ids, locked: {id: (version, resource)}; MergeRefused if one is
    unknown or deleted."""
    rows = await store.current_versions(conn, [("Patient", i) for i in ids], lock=True)
    found = {}
    for fhir_id in ids:
        row = rows.get(("Patient", fhir_id))
        if row is None or row["deleted"]:
            raise MergeRefused(Refusal.UNKNOWN, f"Patient/{fhir_id} is not known (or was deleted)")
        found[fhir_id] = (row["version"], jsonio.parse(row["content"]))
    return found


async def _chain(conn: AsyncConnection, start: str, first: str) -> list[str]:
    """The Patients a replaced-by chain passes through from start (whose link names first),
    until one that is replaced by nobody; MergeRefused if it loops."""
    chain = [start, first]
    while True:
        rows = await store.current_versions(conn, [("Patient", chain[-1])], lock=False)
        row = rows.get(("Patient", chain[-1]))
        if row is None or row["deleted"]:
            return chain
        following = rules.replaced_by(jsonio.parse(row["content"]))
        if following is None:
            return chain
        if following in chain or len(chain) >= MAX_CHAIN:
            loop = " -> ".join(f"Patient/{i}" for i in [*chain, following])
            raise MergeRefused(
                Refusal.CHAIN_LOOP,
                f"The replaced-by links of Patient/{start} loop ({loop}): no Patient survives "
                "them. Correct the Patients' link elements first.",
            )
        chain.append(following)


def _compartment_pairs() -> list[tuple[str, str]]:
    """(resource type, search parameter) pairs that place a resource in a Patient's
    compartment (R4 compartmentdefinition-patient), Patient's own link aside."""
    return [
        (res_type, param)
        for res_type, params in patient_compartment_params().items()
        if res_type != "Patient"
        for param in params
    ]


async def _referring(conn: AsyncConnection, patient_id: str) -> list[tuple[str, str]]:
    """The live resources whose compartment references name Patient/patient_id."""
    i, r = idx_reference.c, resources.c
    query = (
        select(r.res_type, r.fhir_id)
        .join(resources, r.pk == i.resource_pk)
        .where(
            i.target_id == patient_id,
            i.target_type == "Patient",
            tuple_(i.res_type, i.param).in_(_compartment_pairs()),
            r.deleted.is_(False),
        )
        .distinct()
        .order_by(r.res_type, r.fhir_id)
    )
    return [(row.res_type, row.fhir_id) for row in await conn.execute(query)]


async def merge(
    conn: AsyncConnection,
    duplicate_id: str,
    survivor_id: str,
    who: audit.AuditRecord,
    moment: datetime,
) -> Merged:
    """Merge Patient/duplicate_id into Patient/survivor_id (see the module docstring)."""
    if duplicate_id == survivor_id:
        raise MergeRefused(
            Refusal.ITSELF,
            f"Patient/{duplicate_id} cannot be merged into itself: name two different Patients",
        )
    patients = await _patients(conn, [duplicate_id, survivor_id])
    (dup_version, duplicate), (surv_version, survivor) = (
        patients[duplicate_id],
        patients[survivor_id],
    )
    already = rules.replaced_by(duplicate)
    if already is not None:
        raise MergeRefused(
            Refusal.ALREADY_MERGED,
            f"Patient/{duplicate_id} is already merged into Patient/{already} "
            "(its link replaced-by): unmerge it first to merge it elsewhere",
        )
    onward = rules.replaced_by(survivor)
    if onward is not None:
        chain = await _chain(conn, survivor_id, onward)
        end = chain[-1]
        if end == duplicate_id:
            raise MergeRefused(
                Refusal.CHAIN_LOOP,
                f"Patient/{survivor_id} is merged into Patient/{duplicate_id} already: merging "
                "back would make the replaced-by links a loop",
            )
        raise MergeRefused(
            Refusal.SURVIVOR_REPLACED,
            f"Patient/{survivor_id} is itself merged into Patient/{end}: merge into "
            f"Patient/{end}, the record that survives",
        )
    if rules.deceased(duplicate) != rules.deceased(survivor):
        pair = (duplicate_id, survivor_id)
        dead, alive = pair if rules.deceased(duplicate) else pair[::-1]
        raise MergeRefused(
            Refusal.DECEASED,
            f"Patient/{dead} is recorded as deceased and Patient/{alive} is not: one person "
            "cannot be both. Correct the record that is wrong first, then merge.",
        )
    dup_fins, surv_fins = rules.fins(duplicate), rules.fins(survivor)
    if dup_fins and surv_fins:
        raise MergeRefused(
            Refusal.TWO_FINS,
            f"Patient/{duplicate_id} and Patient/{survivor_id} hold different FINs: the State "
            "Register gives one person one FIN, so they are two people",
        )
    old, new = f"Patient/{duplicate_id}", f"Patient/{survivor_id}"
    referring = await _referring(conn, duplicate_id)
    current = await store.current_versions(conn, referring, lock=True)
    writes: list[store.Write] = []
    moved: list[list[Any]] = []
    for res_type, fhir_id in referring:
        row = current[(res_type, fhir_id)]
        resource = jsonio.parse(row["content"])
        changed, paths = rules.moved_references(
            resource, rules.reference_paths(resource, old), old, new
        )
        if paths:
            writes.append(store.Write(res_type, fhir_id, changed, "PUT", if_match=row["version"]))
            moved.append([res_type, fhir_id, [list(path) for path in paths]])
    active = duplicate.get("active")
    # The FIN goes with the person to the survivor: one live Patient holds it (citizens).
    retired = rules.with_link(rules.without_fins(duplicate), rules.REPLACED_BY, survivor_id)
    retired["active"] = False
    kept = rules.with_link(rules.with_identifiers(survivor, dup_fins), rules.REPLACES, duplicate_id)
    writes += [
        store.Write("Patient", duplicate_id, retired, "PUT", if_match=dup_version),
        store.Write("Patient", survivor_id, kept, "PUT", if_match=surv_version),
    ]
    decider = _decider(who)
    # Before the writes: the write check drops the open review items of a merged Patient.
    await _decide_pair(conn, duplicate_id, survivor_id, "merged", decider, moment, survivor_id)
    await store.apply_writes(conn, writes, moment)
    merge_id = (
        await conn.execute(
            mpi_merges.insert()
            .values(
                duplicate_id=duplicate_id,
                survivor_id=survivor_id,
                merged_at=moment,
                merged_by=decider,
                duplicate_active="absent" if active is None else str(bool(active)).lower(),
                moved=orjson.dumps({"references": moved, "fins": dup_fins}).decode(),
                moved_count=len(moved),
            )
            .returning(mpi_merges.c.id)
        )
    ).scalar_one()
    await audit.record(
        conn,
        dataclasses.replace(
            who,
            action=audit.Action.UPDATE,
            recorded=moment,
            patients=(duplicate_id, survivor_id),
            resources=(old, new, *(f"{t}/{i}" for t, i, _ in moved))[:1000],
            reason=f"merge {merge_id}: Patient/{duplicate_id} replaced by Patient/{survivor_id}",
        ),
    )
    return Merged(merge_id, duplicate_id, survivor_id, len(moved))


async def _decide_pair(
    conn: AsyncConnection,
    one: str,
    other: str,
    status: str,
    decider: str | None,
    moment: datetime | None,
    survivor_id: str | None = None,
) -> None:
    """Set the review item of a pair, if there is one, to status."""
    a, b = sorted((one, other))
    r = mpi_reviews.c
    await conn.execute(
        update(mpi_reviews)
        .where(and_(r.patient_a == a, r.patient_b == b))
        .values(status=status, decided_by=decider, decided_at=moment, survivor_id=survivor_id)
    )


async def unmerge(
    conn: AsyncConnection, duplicate_id: str, who: audit.AuditRecord, moment: datetime
) -> Merged:
    """Undo the last merge of Patient/duplicate_id: its links and active flag as they were,
    and the References the merge moved back to it (those that still name the survivor; a
    Reference changed by hand since is left as it is). The pair's review item is open again."""
    m = mpi_merges.c
    row = (
        await conn.execute(
            select(mpi_merges)
            .where(m.duplicate_id == duplicate_id, m.unmerged_at.is_(None))
            .order_by(m.id.desc())
            .limit(1)
            .with_for_update()
        )
    ).first()
    if row is None:
        raise MergeRefused(
            Refusal.NOT_MERGED, f"Patient/{duplicate_id} is not merged into another Patient"
        )
    survivor_id = row.survivor_id
    patients = await _patients(conn, [duplicate_id, survivor_id])
    (dup_version, duplicate), (surv_version, survivor) = (
        patients[duplicate_id],
        patients[survivor_id],
    )
    if rules.replaced_by(duplicate) != survivor_id:
        raise MergeRefused(
            Refusal.LINKS_CHANGED,
            f"Patient/{duplicate_id} no longer links to Patient/{survivor_id} as replaced-by: "
            "its links were changed since the merge, so it cannot be undone automatically",
        )
    onward = rules.replaced_by(survivor)
    if onward is not None:
        raise MergeRefused(
            Refusal.MERGED_FURTHER,
            f"Patient/{survivor_id} has since been merged into Patient/{onward}: unmerge "
            f"Patient/{survivor_id} first",
        )
    old, new = f"Patient/{survivor_id}", f"Patient/{duplicate_id}"
    moved_before = orjson.loads(row.moved)
    recorded = [(t, i, [tuple(p) for p in paths]) for t, i, paths in moved_before["references"]]
    current = await store.current_versions(conn, [(t, i) for t, i, _ in recorded], lock=True)
    writes: list[store.Write] = []
    back: list[str] = []
    for res_type, fhir_id, paths in recorded:
        found = current.get((res_type, fhir_id))
        if found is None or found["deleted"]:
            continue
        changed, moved = rules.moved_references(jsonio.parse(found["content"]), paths, old, new)
        if moved:
            writes.append(store.Write(res_type, fhir_id, changed, "PUT", if_match=found["version"]))
            back.append(f"{res_type}/{fhir_id}")
    restored = rules.without_link(duplicate, rules.REPLACED_BY, survivor_id)
    restored = rules.with_identifiers(restored, moved_before["fins"])
    restored.pop("active", None)
    if row.duplicate_active != "absent":
        restored["active"] = row.duplicate_active == "true"
    writes += [
        store.Write("Patient", duplicate_id, restored, "PUT", if_match=dup_version),
        store.Write(
            "Patient",
            survivor_id,
            _without(
                rules.without_link(survivor, rules.REPLACES, duplicate_id), moved_before["fins"]
            ),
            "PUT",
            if_match=surv_version,
        ),
    ]
    await _decide_pair(conn, duplicate_id, survivor_id, "open", None, None)
    await store.apply_writes(conn, writes, moment)
    await conn.execute(
        update(mpi_merges)
        .where(m.id == row.id)
        .values(unmerged_at=moment, unmerged_by=_decider(who))
    )
    await audit.record(
        conn,
        dataclasses.replace(
            who,
            action=audit.Action.UPDATE,
            recorded=moment,
            patients=(duplicate_id, survivor_id),
            resources=(new, old, *back)[:1000],
            reason=f"unmerge {row.id}: Patient/{duplicate_id} no longer replaced by "
            f"Patient/{survivor_id}",
        ),
    )
    return Merged(row.id, duplicate_id, survivor_id, len(back))


def _without(patient: dict[str, Any], identifiers: list[dict[str, Any]]) -> dict[str, Any]:
    """The Patient without those Identifiers (the FIN a merge brought it)."""
    if not identifiers:
        return patient
    kept = [i for i in patient.get("identifier") or [] if i not in identifiers]
    changed = {key: value for key, value in patient.items() if key != "identifier"}
    if kept:
        changed["identifier"] = kept
    return changed


async def not_duplicate(
    conn: AsyncConnection, one: str, other: str, who: audit.AuditRecord, moment: datetime
) -> None:
    """Record that two Patients are different people: their open review item is closed as
    not-duplicate, and later writes of either leave it so."""
    a, b = sorted((one, other))
    r = mpi_reviews.c
    row = (
        await conn.execute(
            select(r.status).where(r.patient_a == a, r.patient_b == b).with_for_update()
        )
    ).first()
    if row is None:
        raise MergeRefused(
            Refusal.UNKNOWN, f"No review item pairs Patient/{one} with Patient/{other}"
        )
    if row.status != "open":
        raise MergeRefused(
            Refusal.DECIDED, f"The pair Patient/{a} and Patient/{b} is already {row.status}"
        )
    await _decide_pair(conn, a, b, "not-duplicate", _decider(who), moment)
