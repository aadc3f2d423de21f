"""Finding a Patient's likely duplicates with indexed look-ups, not a scan of the registry.

Every write of a Patient (store write check, in the write's own transaction) refreshes what the
index keeps of it: the compared fields (mpi_patients) and its blocking keys (mpi_keys, one
B-tree probe each), and files the pairs that fall in the review band (mpi_reviews). A record
to match looks up its keys (rules.query_keys), reads the few candidates filed under them in one
statement, and weighs each pair in Python (rules.compare).

Why a table of its own rather than the FHIR search indexes: a candidate must share a whole key
(first and family name folded and the birth year, say), which the string and date index rows
hold only as separate rows of separate tables; joining them costs one row a Patient with that
surname (a tenth of the country is Məmmədov), where a key is one probe to its tens of
holders. The fields kept beside the keys spare parsing each candidate's resource. Two writes
of near-duplicates that race each other do not see each other's uncommitted rows, so they file
no review item then; the next write of either does. A write looks up all but the broadest keys
(birth date and sex, rules.query_keys): a record whose names both differ beyond folding from
its duplicate's is then found by $match and not queued, which keeps a load of a million
citizens at thousands a second.
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    and_,
    any_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.tables import resources
from shafa.fhir import store
from shafa.fhir.store import Bound
from shafa.registries.mpi import rules
from shafa.registries.mpi.rules import Features, Match, MatchModel
from shafa.registries.mpi.tables import mpi_keys, mpi_patients, mpi_reviews

# Keys, ids and pairs put in one statement: within SQLite's bound-parameter limit.
CHUNK = 500
# Candidates weighed for one record at most: a key shared by more (a date of birth that a
# registry used for "unknown", say) says little, and the bound keeps a match fast.
MAX_CANDIDATES = 2000


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


@dataclass(frozen=True, slots=True)
class Candidate:
    """A Patient filed under a key the record shares, how well it matches, and the Patient as
    stored (its JSON, and whose compartment it is in) for the answer."""

    patient_id: str
    match: Match
    content: str
    owner: str | None


async def _filed_under(
    conn: AsyncConnection, hashes: Sequence[int]
) -> dict[int, list[tuple[str, str]]]:
    """The Patients filed under each key hash: {hash: [(patient id, features JSON)]}."""
    found: dict[int, list[tuple[str, str]]] = {}
    k, p = mpi_keys.c, mpi_patients.c
    for chunk in _chunks(sorted(set(hashes))):
        query = (
            select(k.key, p.patient_id, p.features)
            .join(mpi_patients, p.patient_id == k.patient_id)
            .where(k.key.in_(chunk))
        )
        for row in await conn.execute(query):
            found.setdefault(row.key, []).append((row.patient_id, row.features))
    return found


def _features(data: str) -> Features:
    """Stored fields parsed (15 us; kept in no cache, whose hundreds of thousands of objects
    made the collector's full passes cost a tail of several hundred milliseconds)."""
    return Features.from_json(orjson.loads(data))


@lru_cache(maxsize=64)
def _candidates_query(
    dialect: str, condition: Callable[[Any], ColumnElement[bool]] | None
) -> Select[Any]:
    """The Patients filed under the keys bound as hashes, with their stored fields and
    resource. On PostgreSQL the keys are one array, so the statement is one prepared
    statement whatever their number, planned once."""
    k, p, r = mpi_keys.c, mpi_patients.c, resources.c
    keys = bindparam("hashes", type_=ARRAY(BigInteger))
    query = (
        select(p.patient_id, p.features, r.content, r.patient_id.label("owner"))
        .join(mpi_patients, p.patient_id == k.patient_id)
        .join(resources, and_(r.res_type == "Patient", r.fhir_id == p.patient_id))
        .where(
            k.key == any_(keys)
            if dialect == "postgresql"
            else k.key.in_(bindparam("hashes", expanding=True)),
            r.deleted.is_(False),
        )
        .limit(MAX_CANDIDATES)
    )
    return query if condition is None else query.where(condition(resources))


async def candidates(
    conn: AsyncConnection, record: Features, model: MatchModel, bound: Bound | None = None
) -> list[Candidate]:
    """The live Patients the caller may see (bound) that share a blocking key with the record,
    weighed, best first, in one statement; those below the review band are left out, but a
    FIN's certain non-match is kept (to be shown) when the rest would have made it one."""
    hashes = sorted({rules.key_hash(key) for key in rules.query_keys(record)})
    if not hashes:
        return []
    rows = await conn.execute(
        _candidates_query(conn.dialect.name, bound.condition if bound is not None else None),
        {
            "hashes": hashes,
            **(dict(bound.params) if bound is not None else {}),
        },
    )
    found = []
    seen: set[str] = set()
    for row in rows:
        if row.patient_id in seen:  # filed under several of the keys
            continue
        seen.add(row.patient_id)
        match = rules.compare(record, _features(row.features), model)
        if match.grade is rules.Grade.CERTAINLY_NOT:
            shown = rules.grade_of(match.weight, model) is not None
        else:
            shown = match.grade is not None
        if shown:
            found.append(Candidate(row.patient_id, match, row.content, row.owner))
    found.sort(key=lambda c: (-c.match.score, -c.match.weight, c.patient_id))
    return found


# --- the write check ---------------------------------------------------------------------------


async def refresh(
    conn: AsyncConnection,
    written: Sequence[store.Written],
    model: MatchModel,
    moment: datetime,
) -> None:
    """Re-derive the index rows of the Patients a batch wrote, and file the pairs each now
    makes in the review band. A deleted Patient, or one merged into another (Patient.link
    replaced-by), is no candidate any more and its open review items go."""
    stale = [w.fhir_id for w in written if not w.created]
    for chunk in _chunks(stale):
        await conn.execute(delete(mpi_keys).where(mpi_keys.c.patient_id.in_(chunk)))
        await conn.execute(delete(mpi_patients).where(mpi_patients.c.patient_id.in_(chunk)))
    live: dict[str, Features] = {}
    gone: list[str] = []
    for item in written:
        if item.resource is None or rules.replaced_by(item.resource) is not None:
            gone.append(item.fhir_id)
        else:
            live[item.fhir_id] = rules.features(item.resource)
    if live:
        await conn.execute(
            insert(mpi_patients),
            [
                {"patient_id": pid, "features": orjson.dumps(f.as_json()).decode()}
                for pid, f in live.items()
            ],
        )
        key_rows = [
            {"key": rules.key_hash(key), "patient_id": pid}
            for pid, f in live.items()
            for key in rules.blocking_keys(f)
        ]
        if key_rows:
            await conn.execute(insert(mpi_keys), key_rows)
    r = mpi_reviews.c
    for chunk in _chunks(gone):
        await conn.execute(
            delete(mpi_reviews).where(
                r.status == "open", or_(r.patient_a.in_(chunk), r.patient_b.in_(chunk))
            )
        )
    if live:
        await _file_reviews(conn, live, model, moment)


async def _file_reviews(
    conn: AsyncConnection, live: dict[str, Features], model: MatchModel, moment: datetime
) -> None:
    """Add or refresh the review items of the pairs the written Patients make."""
    wanted = {
        pid: [rules.key_hash(key) for key in rules.query_keys(f, broad=False)]
        for pid, f in live.items()
    }
    filed = await _filed_under(conn, [h for hashes in wanted.values() for h in hashes])
    pairs: dict[tuple[str, str], Match] = {}
    parsed: dict[str, Features] = dict(live)
    for pid, hashes in wanted.items():
        others = {other: data for h in hashes for other, data in filed.get(h, ())}
        others.pop(pid, None)
        if len(others) > MAX_CANDIDATES:
            continue  # keys too common to tell anything: see MAX_CANDIDATES
        for other, data in others.items():
            pair = (pid, other) if pid < other else (other, pid)
            if pair in pairs:
                continue
            features = parsed.get(other)
            if features is None:
                features = parsed[other] = _features(data)
            match = rules.compare(live[pid], features, model)
            if rules.in_review_band(match):
                pairs[pair] = match
    if not pairs:
        return
    r = mpi_reviews.c
    existing: dict[tuple[str, str], str] = {}
    ordered = list(pairs)
    for chunk in _chunks(ordered):
        rows = await conn.execute(
            select(r.patient_a, r.patient_b, r.status).where(
                tuple_(r.patient_a, r.patient_b).in_(chunk)
            )
        )
        existing.update({(row.patient_a, row.patient_b): row.status for row in rows})
    new = [
        _review_row(pair, match, moment) for pair, match in pairs.items() if pair not in existing
    ]
    if new:
        # A write of the other Patient of a pair, racing this one, may file it first.
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        await conn.execute(
            dialect.insert(mpi_reviews).on_conflict_do_nothing(
                index_elements=[r.patient_a, r.patient_b]
            ),
            new,
        )
    for pair, match in pairs.items():
        if existing.get(pair) == "open":  # decided pairs stay decided
            values = _review_row(pair, match, moment)
            await conn.execute(
                update(mpi_reviews)
                .where(and_(r.patient_a == pair[0], r.patient_b == pair[1]))
                .values(
                    weight=values["weight"],
                    score=values["score"],
                    grade=values["grade"],
                    agreement=values["agreement"],
                )
            )


def _review_row(pair: tuple[str, str], match: Match, moment: datetime) -> dict[str, Any]:
    assert match.grade is not None
    return {
        "patient_a": pair[0],
        "patient_b": pair[1],
        "weight": round(match.weight, 3),
        "score": match.score,
        "grade": match.grade.value,
        "agreement": orjson.dumps(dict(match.levels)).decode(),
        "status": "open",
        "found_at": moment,
    }
