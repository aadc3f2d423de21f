"""The resource store: current versions, every past version, and search-index rows.

Every write goes through `apply_writes`, one batch of creates, updates and deletes inside the
caller's transaction: a single REST interaction is a batch of one, a transaction Bundle one batch
of thousands, so both take the same path and the Bundle pays one round trip a table, not one an
entry. The resource row, its version row and its index rows are written in that one transaction
(DESIGN.md, Data): nothing is searchable that is not stored, nothing stored that is not indexed.
"""

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    ColumnElement,
    Numeric,
    Select,
    String,
    Table,
    TextClause,
    and_,
    bindparam,
    delete,
    func,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy import (
    exists as exists_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db import bulk, direct
from shafa.db.tables import (
    INDEX_TABLE_ORDER,
    INDEX_TABLES,
    resource_versions,
    resources,
)
from shafa.db.types import UtcDateTime, naive_utc, uuid7
from shafa.fhir import indexing, jsonio, unique
from shafa.fhir.compartments import owning_patient, patient_compartment_params
from shafa.fhir.errors import FhirError, Issue, gone, not_found
from shafa.security import care

SERVER_META = ("versionId", "lastUpdated")


@dataclass(frozen=True, slots=True)
class Stored:
    """One version of a resource as stored (content is None for a deletion)."""

    pk: int
    res_type: str
    fhir_id: str
    version: int
    last_updated: datetime
    deleted: bool
    content: str | None
    method: str = "PUT"
    patient_id: str | None = None  # whose compartment holds it, where the query read it

    @property
    def etag(self) -> str:
        """The weak ETag of this version (R4 http.html#versioning)."""
        return f'W/"{self.version}"'

    @property
    def reference(self) -> str:
        """Type/id."""
        return f"{self.res_type}/{self.fhir_id}"

    def resource(self) -> dict[str, Any]:
        """The resource as a dict (decimals as Decimal); only for live versions."""
        if self.content is None:
            raise gone(f"{self.reference} was deleted")
        parsed: dict[str, Any] = jsonio.parse(self.content)
        return parsed


@dataclass(slots=True)
class Write:
    """One change to apply: a resource to store, or a deletion when resource is None.

    For an update, if_match is the version the client says it changes (412 if stale).
    create_only makes an existing id a conflict; server_id says the id is freshly minted.
    """

    res_type: str
    fhir_id: str
    resource: dict[str, Any] | None
    method: str
    if_match: int | None = None
    create_only: bool = False
    server_id: bool = False  # fhir_id came from new_id() just now


@dataclass(frozen=True, slots=True)
class Bound:
    """What the caller may see (security.access.AccessContext.bound); None where nothing
    bounds the caller.

    condition(row) is a condition on a resources row (or an alias of it) with named bind
    parameters, built once for each row it is asked of, so that statements stay cached; params
    gives their values, for every statement the condition is put in.
    """

    condition: Callable[[Any], ColumnElement[bool]]
    params: Mapping[str, Any]


# Checks a write against the caller's access rules inside its transaction, after the store has
# written it (and the care relationships it states), given (type, patient) for every resource
# it wrote and every patient whose data that was before; it raises to roll the write back.
# Set per request by the FHIR API for callers whose access depends on the data (professionals);
# None for systems, which only their scopes bound.
WriteGuard = Callable[[AsyncConnection, set[tuple[str, str]]], Awaitable[None]]
WRITE_GUARD: ContextVar[WriteGuard | None] = ContextVar("write_guard", default=None)


@dataclass(frozen=True, slots=True)
class Written:
    """A resource a batch changed, as a write check sees it: its newest version in the batch
    (resource None: deleted), and the position of the Write that made it (for WriteRejected)."""

    write_index: int
    res_type: str
    fhir_id: str
    resource: dict[str, Any] | None
    created: bool


# A check a resource type keeps on every write that needs the database to decide (a number
# unique across resources, a hierarchy without cycles), where a rule of fhir.validation sees
# one resource alone. It runs inside the write's transaction after the store has written the
# batch, so it sees the batch as the database will hold it; it may keep rows of its own in step
# and raises (WriteRejected naming the write) to roll the whole write back. The contexts that
# own such facts install theirs (add_write_check); the store knows none itself.
WriteCheck = Callable[[AsyncConnection, Sequence[Written]], Awaitable[None]]
_WRITE_CHECKS: dict[str, list[WriteCheck]] = {}


def add_write_check(res_type: str, check: WriteCheck) -> None:
    """Run check on every batch that changes resources of res_type (see WriteCheck)."""
    checks = _WRITE_CHECKS.setdefault(res_type, [])
    if check not in checks:
        checks.append(check)


def remove_write_check(res_type: str, check: WriteCheck) -> None:
    """Stop running a check added with add_write_check."""
    checks = _WRITE_CHECKS.get(res_type, [])
    if check in checks:
        checks.remove(check)
    if not checks:
        _WRITE_CHECKS.pop(res_type, None)


# What the caller of the request may see, for the searches a write makes on their behalf
# (conditional create, update, patch and delete; conditional references in a transaction): a
# match they may not see must neither decide the outcome nor be returned to them.
WRITE_SEARCH_BOUND: ContextVar[Bound | None] = ContextVar("write_search_bound", default=None)


@dataclass(slots=True)
class Outcome:
    """What a Write did: the stored version, and whether it created the resource."""

    stored: Stored
    created: bool
    changed: bool = True


@dataclass(slots=True)
class _Prepared:
    write: Write
    version: int
    content: str | None
    patient_id: str | None
    index: indexing.IndexRows | None
    index_mask: int = 0
    pk: int | None = None
    old_mask: int = 0
    old_patient_id: str | None = None
    created: bool = False
    changed: bool = True
    # For a write that changes nothing, what the version it leaves in place says.
    kept_deleted: bool = False
    kept_last_updated: datetime | None = None


def new_id() -> str:
    """A server-assigned id: a UUIDv7, valid under the FHIR id rule.

    Time-ordered rather than random (v4): consecutive creates fall on the same last pages of the
    id indexes instead of a random page each, which after every checkpoint costs PostgreSQL a
    full-page image in the WAL. It reveals the creation time to the millisecond, which
    meta.lastUpdated tells anyway.
    """
    return uuid7()


def now() -> datetime:
    """The time a write is stamped with: aware UTC, microseconds (meta.lastUpdated)."""
    return datetime.now(UTC)


def instant(moment: datetime) -> str:
    """A FHIR instant for meta.lastUpdated: UTC, microseconds, e.g. 2026-01-02T03:04:05.000006Z."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class WriteRejected(FhirError):
    """One Write of a batch was refused (stale If-Match, existing id); write_index says which."""

    write_index: int = 0


class ConcurrentWrite(Exception):
    """Another transaction created the same resource first; the caller retries the transaction."""


_CURRENT_COLUMNS = (
    resources.c.pk,
    resources.c.res_type,
    resources.c.fhir_id,
    resources.c.version,
    resources.c.last_updated,
    resources.c.deleted,
    resources.c.content,
)


def _stored(row: Any, method: str = "PUT") -> Stored:
    """A Stored from a row, given as a SQLAlchemy Row or as a mapping (db.direct)."""
    values = row if isinstance(row, Mapping) else row._mapping
    return Stored(
        pk=values["pk"],
        res_type=values["res_type"],
        fhir_id=values["fhir_id"],
        version=values["version"],
        last_updated=values["last_updated"],
        deleted=values["deleted"],
        content=values["content"],
        method=method,
        patient_id=values.get("patient_id"),
    )


# Built once: constructing a statement and its cache key costs more than running it.
_READ_CURRENT = select(*_CURRENT_COLUMNS, resources.c.patient_id).where(
    resources.c.res_type == bindparam("res_type"), resources.c.fhir_id == bindparam("fhir_id")
)
_READ_VERSION = select(
    resource_versions.c.resource_pk.label("pk"),
    resource_versions.c.res_type,
    resource_versions.c.fhir_id,
    resource_versions.c.version,
    resource_versions.c.last_updated,
    resource_versions.c.deleted,
    resource_versions.c.content,
    resource_versions.c.method,
    resource_versions.c.patient_id,
).where(
    resource_versions.c.res_type == bindparam("res_type"),
    resource_versions.c.fhir_id == bindparam("fhir_id"),
    resource_versions.c.version == bindparam("version"),
)


async def read(conn: AsyncConnection, res_type: str, fhir_id: str) -> Stored:
    """The current version; 404 if it never existed, 410 if it is deleted."""
    row = await direct.fetch_one(conn, _READ_CURRENT, {"res_type": res_type, "fhir_id": fhir_id})
    if row is None:
        raise not_found(f"{res_type}/{fhir_id} is not known")
    stored = _stored(row)
    if stored.deleted:
        raise FhirError(
            410, gone(f"{res_type}/{fhir_id} was deleted").issues, headers={"ETag": stored.etag}
        )
    return stored


async def vread(conn: AsyncConnection, res_type: str, fhir_id: str, version: int) -> Stored:
    """One version; 404 if there is no such version, 410 if that version is a deletion."""
    result = await conn.execute(
        _READ_VERSION, {"res_type": res_type, "fhir_id": fhir_id, "version": version}
    )
    row = result.first()
    if row is None:
        raise not_found(f"{res_type}/{fhir_id} has no version {version}")
    stored = _stored(row, row.method)
    if stored.deleted:
        raise FhirError(
            410,
            gone(f"Version {version} of {res_type}/{fhir_id} is a deletion").issues,
            headers={"ETag": stored.etag},
        )
    return stored


_CURRENT_WITH_MASK = (*_CURRENT_COLUMNS, resources.c.index_mask, resources.c.patient_id)
_ONE_CURRENT = select(*_CURRENT_WITH_MASK).where(
    resources.c.res_type == bindparam("res_type"), resources.c.fhir_id == bindparam("fhir_id")
)
_ONE_CURRENT_LOCKED = _ONE_CURRENT.with_for_update()


def _many_current_postgresql() -> Any:
    # Joined against two arrays rather than `(type, id) IN (...)`, which PostgreSQL plans as
    # one OR branch a key: one statement whatever the count, one index probe a key.
    keys = select(
        func.unnest(bindparam("res_types", type_=ARRAY(String))).label("res_type"),
        func.unnest(bindparam("fhir_ids", type_=ARRAY(String))).label("fhir_id"),
    ).subquery("keys")
    return select(*_CURRENT_WITH_MASK).join(
        keys,
        and_(resources.c.res_type == keys.c.res_type, resources.c.fhir_id == keys.c.fhir_id),
    )


_MANY_CURRENT_POSTGRESQL = _many_current_postgresql()


async def current_versions(
    conn: AsyncConnection, keys: Iterable[tuple[str, str]], *, lock: bool
) -> dict[tuple[str, str], Any]:
    """Current rows (deleted ones too) by (type, id), as mappings; locked against concurrent
    writers if asked."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return {}
    found: dict[tuple[str, str], Any] = {}
    if len(wanted) == 1:
        query = _ONE_CURRENT_LOCKED if lock else _ONE_CURRENT
        params: Any = {"res_type": wanted[0][0], "fhir_id": wanted[0][1]}
        row = await direct.fetch_one(conn, query, params)
        return {} if row is None else {wanted[0]: row}
    if conn.dialect.name == "postgresql":
        query = _MANY_CURRENT_POSTGRESQL
        if lock:
            query = query.with_for_update(of=resources)
        params = {"res_types": [k[0] for k in wanted], "fhir_ids": [k[1] for k in wanted]}
        rows = await conn.execute(query, params)
        return {(r.res_type, r.fhir_id): r._mapping for r in rows}
    # SQLite: row values, chunked to stay within its bind-parameter limit.
    for start in range(0, len(wanted), 400):
        chunk = wanted[start : start + 400]
        in_chunk = select(*_CURRENT_WITH_MASK).where(
            tuple_(resources.c.res_type, resources.c.fhir_id).in_(chunk)
        )
        for chunk_row in await conn.execute(in_chunk):
            found[(chunk_row.res_type, chunk_row.fhir_id)] = chunk_row._mapping
    return found


def _strip_server_meta(resource: dict[str, Any]) -> dict[str, Any]:
    meta = resource.get("meta")
    if not isinstance(meta, dict) or not any(k in meta for k in SERVER_META):
        return resource
    kept = {k: v for k, v in meta.items() if k not in SERVER_META}
    stripped = dict(resource)
    if kept:
        stripped["meta"] = kept
    else:
        del stripped["meta"]
    return stripped


def _stamp(resource: dict[str, Any], fhir_id: str, version: int, last_updated: str) -> str:
    """The resource as it will be served: the server's id, versionId and lastUpdated set."""
    meta = dict(resource.get("meta") or {})
    meta["versionId"] = str(version)
    meta["lastUpdated"] = last_updated
    # resourceType, id and meta first, as FHIR servers conventionally serve them: a dict keeps
    # the place of a key's first insertion when the resource's own entries overwrite it.
    ordered = {"resourceType": None, "id": None, "meta": None, **resource}
    ordered.update(resourceType=resource["resourceType"], id=fhir_id, meta=meta)
    return jsonio.dumps(ordered).decode()


def _mask(rows: indexing.IndexRows) -> int:
    mask = 0
    for bit, kind in enumerate(INDEX_TABLE_ORDER):
        if getattr(rows, kind):
            mask |= 1 << bit
    return mask


def _unchanged(old_content: str | None, new_resource: dict[str, Any]) -> bool:
    """True when an update would store what is already there (HAPI's no-op update)."""
    if old_content is None:
        return False
    # Compared as JSON text, not as Python values: Decimal("36.6") != 36.6 as numbers.
    old = _strip_server_meta(jsonio.parse(old_content))
    return jsonio.canonical(old) == jsonio.canonical(_strip_server_meta(new_resource))


async def _run_write_checks(conn: AsyncConnection, prepared: Sequence[_Prepared]) -> None:
    """Run the installed write checks over the newest version of each resource changed."""
    newest: dict[tuple[str, str], Written] = {}
    for index, item in enumerate(prepared):
        if item.changed and item.write.res_type in _WRITE_CHECKS:
            write = item.write
            earlier = newest.get((write.res_type, write.fhir_id))
            newest[(write.res_type, write.fhir_id)] = Written(
                index,
                write.res_type,
                write.fhir_id,
                write.resource,
                item.created if earlier is None else earlier.created,
            )
    by_type: dict[str, list[Written]] = {}
    for written in newest.values():
        by_type.setdefault(written.res_type, []).append(written)
    for res_type, batch in by_type.items():
        for check in list(_WRITE_CHECKS.get(res_type, ())):
            await check(conn, batch)


async def apply_writes(
    conn: AsyncConnection, writes: Sequence[Write], moment: datetime
) -> list[Outcome]:
    """Apply creates, updates and deletes in the caller's transaction; one Outcome a Write.

    Raises WriteRejected for a stale If-Match (412), a create of an existing id (409) or a
    unique identifier another live resource holds (409, fhir.unique), and ConcurrentWrite when
    another transaction created or changed one of them, or stored the same unique identifier,
    meanwhile.
    """
    # A server-assigned id is a fresh UUID: nothing to look up or lock.
    current = await current_versions(
        conn, ((w.res_type, w.fhir_id) for w in writes if not w.server_id), lock=True
    )
    prepared: list[_Prepared] = []
    last_updated = instant(moment)
    # Later writes to the same resource in one batch see the earlier ones.
    pending: dict[tuple[str, str], _Prepared] = {}
    for index, write in enumerate(writes):
        key = (write.res_type, write.fhir_id)
        earlier = pending.get(key)
        row = current.get(key)
        if earlier is not None:
            old_version, old_deleted, old_content = (
                earlier.version,
                earlier.write.resource is None,
                earlier.content,
            )
        elif row is not None:
            old_version, old_deleted, old_content = row["version"], row["deleted"], row["content"]
        else:
            old_version, old_deleted, old_content = 0, True, None
        exists = old_version > 0
        if write.create_only and exists:
            issue = Issue("duplicate", f"{write.res_type}/{write.fhir_id} already exists")
            raise WriteRejected(409, [issue], write_index=index)
        if write.if_match is not None and write.if_match != old_version:
            issue = Issue(
                "conflict",
                f"{write.res_type}/{write.fhir_id} is at version {old_version}, "
                f"not {write.if_match} (If-Match)",
                expression=("If-Match",),
            )
            raise WriteRejected(412, [issue], write_index=index)
        if write.resource is None:  # delete
            if not exists or old_deleted:
                prepared.append(_unchanged_outcome(write, row, earlier))
                continue
            # A deletion stays in its patient's compartment: their history shows it, and
            # others are answered about it as about the rest of the patient's data.
            owner = earlier.patient_id if earlier is not None else _patient_of_row(row)
            item = _Prepared(write, old_version + 1, None, owner, None)
        else:
            if exists and not old_deleted and _unchanged(old_content, write.resource):
                prepared.append(_unchanged_outcome(write, row, earlier))
                continue
            version = old_version + 1
            resource = write.resource
            if resource.get("id") != write.fhir_id:
                resource = resource | {"id": write.fhir_id}
            rows = indexing.extract(resource)
            item = _Prepared(
                write,
                version,
                _stamp(write.resource, write.fhir_id, version, last_updated),
                owning_patient(write.res_type, write.fhir_id, rows.reference),
                rows,
                _mask(rows),
            )
        item.created = not exists or old_deleted
        if earlier is not None:
            # The database still holds the index rows from before the batch.
            item.pk, item.old_mask = earlier.pk, earlier.old_mask
            item.old_patient_id = earlier.old_patient_id
        elif row is not None:
            item.pk, item.old_mask = row["pk"], row["index_mask"]
            item.old_patient_id = row["patient_id"]
        pending[key] = item
        prepared.append(item)

    changed = [p for p in prepared if p.changed]
    await _check_unique(conn, prepared)
    guard = WRITE_GUARD.get()
    if len(changed) == 1 and writes_alone(conn.dialect, changed[0].write.res_type, guard):
        await _write_one_postgresql(conn, changed[0], moment)
    else:
        await _write_current(conn, changed, moment)
        await _write_versions(conn, changed, moment)
        await _write_index(conn, changed)
        await care.project(
            conn,
            [
                care.Written(p.pk, p.write.res_type, p.patient_id, p.write.resource, p.created)
                for p in changed
                if p.pk is not None
            ],
        )
    await _run_write_checks(conn, prepared)
    if guard is not None:
        touched = {(p.write.res_type, p.patient_id) for p in changed}
        touched |= {(p.write.res_type, p.old_patient_id) for p in changed}
        await guard(conn, {(kind, patient) for kind, patient in touched if patient is not None})
    return [
        Outcome(
            Stored(
                pk=p.pk if p.pk is not None else 0,
                res_type=p.write.res_type,
                fhir_id=p.write.fhir_id,
                version=p.version,
                last_updated=p.kept_last_updated or moment,
                deleted=p.write.resource is None if p.changed else p.kept_deleted,
                content=p.content,
                method=p.write.method,
                patient_id=p.patient_id if p.changed else None,
            ),
            created=p.created and p.changed,
            changed=p.changed,
        )
        for p in prepared
    ]


async def _check_unique(conn: AsyncConnection, prepared: list[_Prepared]) -> None:
    """WriteRejected (409) if the batch would give a unique identifier (fhir.unique) to two
    live resources."""
    newest: dict[tuple[str, str], tuple[int, _Prepared]] = {}
    for index, item in enumerate(prepared):  # one prepared item a write, in order
        if item.changed and unique.of_type(item.write.res_type):
            newest[(item.write.res_type, item.write.fhir_id)] = (index, item)
    claims = []
    for key, (index, item) in newest.items():
        if item.index is None or item.write.resource is None:
            continue  # a deletion frees what the resource held
        for identifier in unique.of_type(key[0]):
            claims += [
                unique.Claim(index, identifier, key, code, item.write.resource)
                for param, system, code, _text in item.index.token
                if param == identifier.param and system == identifier.system and code
            ]
    if not claims:
        return
    conflict = await unique.first_conflict(conn, claims, set(newest))
    if conflict is not None:
        write_index, issue = conflict
        raise WriteRejected(409, [issue], write_index=write_index)


def _patient_of_row(row: Any | None) -> str | None:
    return None if row is None else row["patient_id"]


def _unchanged_outcome(write: Write, row: Any | None, earlier: _Prepared | None) -> _Prepared:
    """A write that changes nothing: a repeated delete, or an update to identical content."""
    if earlier is not None:
        item = _Prepared(write, earlier.version, earlier.content, None, None, pk=earlier.pk)
        item.kept_deleted = earlier.write.resource is None
    elif row is not None:
        item = _Prepared(write, row["version"], row["content"], None, None, pk=row["pk"])
        item.kept_deleted, item.kept_last_updated = row["deleted"], row["last_updated"]
    else:
        item = _Prepared(write, 0, None, None, None, pk=None)
        item.kept_deleted = True
    item.changed = False
    return item


def _insert_ignoring_duplicates(conn: AsyncConnection) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(resources).on_conflict_do_nothing(
        index_elements=[resources.c.res_type, resources.c.fhir_id]
    )


_RESOURCE_COLUMNS = (
    "res_type",
    "fhir_id",
    "version",
    "last_updated",
    "deleted",
    "patient_id",
    "index_mask",
    "content",
)
_VERSION_COLUMNS = (
    "resource_pk",
    "version",
    "res_type",
    "fhir_id",
    "last_updated",
    "method",
    "deleted",
    "patient_id",
    "content",
)


async def _write_current(conn: AsyncConnection, items: list[_Prepared], moment: datetime) -> None:
    # The newest write of each resource decides its current row.
    last: dict[tuple[str, str], _Prepared] = {}
    for item in items:
        last[(item.write.res_type, item.write.fhir_id)] = item
    inserts = [p for p in last.values() if p.pk is None]
    updates = [p for p in last.values() if p.pk is not None]
    if inserts:
        pks = await _insert_current(conn, inserts, moment)
        for item in items:
            if item.pk is None:
                item.pk = pks[(item.write.res_type, item.write.fhir_id)]
    if updates:
        await conn.execute(
            update(resources)
            .where(resources.c.pk == bindparam("b_pk"))
            .values(
                version=bindparam("b_version"),
                last_updated=bindparam("b_last_updated"),
                deleted=bindparam("b_deleted"),
                patient_id=bindparam("b_patient_id"),
                index_mask=bindparam("b_index_mask"),
                content=bindparam("b_content"),
            ),
            [
                {
                    "b_pk": p.pk,
                    "b_version": p.version,
                    "b_last_updated": moment,
                    "b_deleted": p.write.resource is None,
                    "b_patient_id": p.patient_id,
                    "b_index_mask": p.index_mask,
                    "b_content": p.content,
                }
                for p in updates
            ],
        )


def _current_row(p: _Prepared, moment: datetime) -> tuple[Any, ...]:
    return (
        p.write.res_type,
        p.write.fhir_id,
        p.version,
        moment,
        p.write.resource is None,
        p.patient_id,
        p.index_mask,
        p.content,
    )


async def _insert_current(
    conn: AsyncConnection, inserts: list[_Prepared], moment: datetime
) -> dict[tuple[str, str], int]:
    """Insert new current rows; their pks by (type, id). ConcurrentWrite if one now exists."""
    if conn.dialect.name == "postgresql" and len(inserts) >= bulk.COPY_THRESHOLD:
        keys = await bulk.next_keys(conn, resources, "pk", len(inserts))
        try:
            await bulk.insert_rows(
                conn,
                resources,
                ("pk", *_RESOURCE_COLUMNS),
                [(pk, *_current_row(p, moment)) for pk, p in zip(keys, inserts, strict=True)],
            )
        except bulk.DuplicateKey:
            raise ConcurrentWrite("a resource was created concurrently") from None
        return {
            (p.write.res_type, p.write.fhir_id): pk for pk, p in zip(keys, inserts, strict=True)
        }
    result = await conn.execute(
        _insert_ignoring_duplicates(conn).returning(
            resources.c.pk, resources.c.res_type, resources.c.fhir_id
        ),
        [dict(zip(_RESOURCE_COLUMNS, _current_row(p, moment), strict=True)) for p in inserts],
    )
    pks = {(r.res_type, r.fhir_id): r.pk for r in result}
    if len(pks) != len(inserts):
        raise ConcurrentWrite("a resource was created concurrently")
    return pks


async def _write_versions(conn: AsyncConnection, items: list[_Prepared], moment: datetime) -> None:
    await bulk.insert_rows(
        conn,
        resource_versions,
        _VERSION_COLUMNS,
        [
            (
                p.pk,
                p.version,
                p.write.res_type,
                p.write.fhir_id,
                moment,
                p.write.method,
                p.write.resource is None,
                p.patient_id,
                p.content,
            )
            for p in items
        ],
    )


async def _write_index(conn: AsyncConnection, items: list[_Prepared]) -> None:
    """Replace the index rows of every written resource with those of its newest version."""
    stale_mask = 0
    stale_pks = set()
    newest: dict[int, _Prepared] = {}
    for item in items:
        assert item.pk is not None
        if item.old_mask:
            stale_mask |= item.old_mask
            stale_pks.add(item.pk)
        # Of a resource written twice in one batch only the last version is indexed.
        newest[item.pk] = item
    for bit, kind in enumerate(INDEX_TABLE_ORDER):
        if stale_mask & (1 << bit):
            table = INDEX_TABLES[kind]
            await conn.execute(delete(table).where(table.c.resource_pk.in_(stale_pks)))
    for bit, kind in enumerate(INDEX_TABLE_ORDER):
        table = INDEX_TABLES[kind]
        columns = [c.name for c in table.columns]  # resource_pk, res_type, param, values...
        rows = [
            (p.pk, p.write.res_type, *values)
            for p in newest.values()
            if p.index_mask & (1 << bit) and p.index is not None
            for values in _table_rows(kind, p.write.res_type, p.index)
        ]
        try:
            await bulk.insert_rows(conn, table, columns, rows)
        except bulk.DuplicateKey:
            # Only the unique identifiers' indexes (fhir.unique) can refuse an index row: a
            # concurrent write stored the same value first. The retry meets _check_unique.
            raise ConcurrentWrite("a unique value was stored concurrently") from None


def _table_rows(kind: str, res_type: str, index: indexing.IndexRows) -> Sequence[tuple[Any, ...]]:
    """One kind's index rows as its table holds them (strings with their folded form)."""
    if kind == "string":
        return indexing.string_table_rows(res_type, index.string)
    rows: Sequence[tuple[Any, ...]] = getattr(index, kind)
    return rows


_ARRAY_TYPES = {UtcDateTime: "timestamp", Numeric: "numeric", String: "text", BigInteger: "bigint"}


def _index_value_columns(table: Table) -> list[Column[Any]]:
    return list(table.columns)[2:]  # param and the values, after resource_pk and res_type


def _array_type(column: Column[Any]) -> str:
    for kind, name in _ARRAY_TYPES.items():
        if isinstance(column.type, kind):
            return name
    raise TypeError(f"no array type for {column}")


@cache
def _one_write_statement(is_update: bool) -> TextClause:
    """One PostgreSQL statement that writes a resource, its version and all its index rows.

    A single REST write would otherwise take a round trip a table (6 to 10); data-modifying
    CTEs do it in one. All sub-statements see one snapshot, so the DELETE of an update's old
    index rows cannot touch the rows inserted beside it. A create that meets an existing id
    (a concurrent create won) fails with a unique violation, and nothing is inserted; an update
    of a version that is no longer current (compare-and-set) returns no row and changes nothing,
    so the statement is safe on its own, without a transaction around the read before it.
    The SQL is put together from this module's own table and column names only (hence the
    noqa S608).
    """
    if is_update:
        current = (
            "UPDATE resources SET version = :version, last_updated = :last_updated, "
            "deleted = :deleted, patient_id = :patient_id, index_mask = :index_mask, "
            "content = :content WHERE pk = :pk AND version = :version - 1 RETURNING pk"
        )
    else:
        current = (
            f"INSERT INTO resources ({', '.join(_RESOURCE_COLUMNS)}) VALUES "  # noqa: S608
            f"({', '.join(':' + c for c in _RESOURCE_COLUMNS)}) "
            "RETURNING pk"
        )
    parts = [
        f"cur AS ({current})",
        f"ver AS (INSERT INTO resource_versions ({', '.join(_VERSION_COLUMNS)}) "  # noqa: S608
        f"SELECT pk, {', '.join(':' + c for c in _VERSION_COLUMNS[1:])} FROM cur)",
    ]
    binds = [bindparam("last_updated", type_=UtcDateTime)]
    for kind in INDEX_TABLE_ORDER:
        table = INDEX_TABLES[kind]
        columns = _index_value_columns(table)
        names = ", ".join(c.name for c in columns)
        arrays = ", ".join(f"CAST(:{kind}_{c.name} AS {_array_type(c)}[])" for c in columns)
        if is_update:
            parts.append(
                f"del_{kind} AS (DELETE FROM {table.name} WHERE resource_pk = (SELECT pk FROM cur))"  # noqa: S608
            )
        parts.append(
            f"ins_{kind} AS (INSERT INTO {table.name} (resource_pk, res_type, {names}) "  # noqa: S608
            f"SELECT cur.pk, :res_type, {names} FROM cur, unnest({arrays}) AS x({names}))"
        )
    return text("WITH " + ",\n".join(parts) + "\nSELECT pk FROM cur").bindparams(*binds)


def writes_alone(dialect: Dialect, res_type: str, guard: "WriteGuard | None" = None) -> bool:
    """True where apply_writes needs no transaction for a batch of one write of res_type.

    On PostgreSQL one write is one statement that inserts a fresh id or compares and sets the
    version it read (see _one_write_statement); a lost race raises ConcurrentWrite, to retry.
    Not so for a type with derived access rows (care.PROJECTED_TYPES) or write checks
    (add_write_check), nor under a write guard, which must see the write before it commits.
    """
    return (
        dialect.name == "postgresql"
        and res_type not in care.PROJECTED_TYPES
        and res_type not in _WRITE_CHECKS
        and guard is None
    )


async def _write_one_postgresql(conn: AsyncConnection, item: _Prepared, moment: datetime) -> None:
    """Write one prepared version in a single round trip (see _one_write_statement)."""
    is_update = item.pk is not None
    params: dict[str, Any] = dict(zip(_RESOURCE_COLUMNS, _current_row(item, moment), strict=True))
    params["method"] = item.write.method
    if is_update:
        params["pk"] = item.pk
    for kind in INDEX_TABLE_ORDER:
        columns = _index_value_columns(INDEX_TABLES[kind])
        rows = _table_rows(kind, item.write.res_type, item.index) if item.index is not None else []
        for position, column in enumerate(columns):
            values = [row[position] for row in rows]
            if isinstance(column.type, UtcDateTime):
                values = [naive_utc(v) for v in values]
            params[f"{kind}_{column.name}"] = values
    try:
        row = await direct.fetch_one(conn, _one_write_statement(is_update), params)
    except bulk.DuplicateKey:
        raise ConcurrentWrite("the resource was created concurrently") from None
    pk = None if row is None else row["pk"]
    if pk is None:
        raise ConcurrentWrite("the resource was created or changed concurrently")
    item.pk = pk


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a history: versions newest first, and the total count within the bounds."""

    versions: list[Stored]
    total: int


async def history(
    conn: AsyncConnection,
    *,
    res_type: str | None,
    fhir_id: str | None,
    since: datetime | None,
    before: datetime,
    count: int,
    offset: int,
    bound: Bound | None = None,
) -> HistoryPage:
    """Versions at system, type or instance level (R4 http.html#history), newest first.

    `before` pins the page set to the versions that existed when the first page was read, so
    the next and previous links stay stable while others keep writing. bound keeps only the
    versions the caller may see: those of a resource they may see now, from when it belonged to
    the patient it belongs to now.
    """
    v = resource_versions.c
    conditions = [v.last_updated <= before]
    if bound is not None:
        current = resources.alias("current")
        conditions.append(
            exists_().where(
                current.c.pk == v.resource_pk,
                current.c.patient_id.is_not_distinct_from(v.patient_id),
                bound.condition(current),
            )
        )
    if res_type is not None:
        conditions.append(v.res_type == res_type)
    if fhir_id is not None:
        conditions.append(v.fhir_id == fhir_id)
    if since is not None:
        conditions.append(v.last_updated >= since)
    params = dict(bound.params) if bound is not None else {}
    total = (
        await conn.execute(
            select(func.count()).select_from(resource_versions).where(*conditions), params
        )
    ).scalar_one()
    rows = await conn.execute(
        select(
            v.resource_pk.label("pk"),
            v.res_type,
            v.fhir_id,
            v.version,
            v.last_updated,
            v.deleted,
            v.content,
            v.method,
            v.patient_id,
        )
        .where(*conditions)
        .order_by(v.last_updated.desc(), v.resource_pk.desc(), v.version.desc())
        .limit(count)
        .offset(offset),
        params,
    )
    return HistoryPage([_stored(row, row.method) for row in rows], total)


@lru_cache(maxsize=64)
def _visibility(condition: Callable[[Any], ColumnElement[bool]]) -> Select[Any]:
    r = resources.c
    return select(condition(resources).label("visible"), r.patient_id, r.pk).where(
        r.res_type == bindparam("res_type"), r.fhir_id == bindparam("fhir_id")
    )


async def may_see(
    conn: AsyncConnection, res_type: str, fhir_id: str, bound: Bound, version: int | None = None
) -> bool:
    """Whether the caller may read the resource (that version of it) under bound.

    A resource never stored is "no" when its type holds patients' data, so that the answer for
    it is the one for another patient's resource: asking tells nothing of what exists. A
    version from when the resource belonged to another patient is "no" too.
    """
    params = {**bound.params, "res_type": res_type, "fhir_id": fhir_id}
    row = (await conn.execute(_visibility(bound.condition), params)).first()
    if row is None:
        return res_type not in patient_compartment_params()
    if not row.visible:
        return False
    if version is None:
        return True
    v = resource_versions.c
    then = (
        await conn.execute(
            select(v.patient_id).where(v.resource_pk == row.pk, v.version == version)
        )
    ).first()
    return then is None or then.patient_id == row.patient_id


async def exists(conn: AsyncConnection, res_type: str, fhir_id: str) -> bool:
    """True if the resource was ever stored (deleted or not)."""
    row = await conn.execute(
        select(resources.c.pk).where(
            resources.c.res_type == res_type, resources.c.fhir_id == fhir_id
        )
    )
    return row.first() is not None


async def lock_criteria(conn: AsyncConnection, key: str) -> None:
    """Serialise transactions that check the same conditional criteria, until they commit.

    Two concurrent conditional creates with the same If-None-Exist would both see no match and
    both create. PostgreSQL takes a transaction-scoped advisory lock on the criteria; SQLite
    needs none, since its write transactions already run one at a time (BEGIN IMMEDIATE).
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))
