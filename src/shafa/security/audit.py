"""The audit log: every access to personal health data, append-only and hash-chained.

`record(conn, entry)` appends an AuditRecord inside the caller's transaction, so a write and its
audit record commit or roll back together; `record_now(engine, entry)` appends one in a
transaction of its own, for reads and refusals; an `AuditRecorder` batches many callers'
records into one transaction (group commit), for the records of every read and search. `verify`
walks every chain and finds the first broken link of each; `who_accessed` and `search_log` page
through the log newest first; `audit_event` renders a record as a FHIR R4 AuditEvent.

Tamper evidence. Each record stores `prev_hash`, the hash of the record before it in its chain,
and `hash`: SHA-256 of prev_hash followed by the SHA-256 of its canonical content (every stored
column but its place in the chain; see `record_hash`). Editing a record breaks its own hash;
rewriting its hash too breaks the next record's `prev_hash`; deleting one leaves a gap in `seq`;
deleting the newest leaves the chain shorter than its head row in audit_chains says. In the
database the log is append-only: triggers (migration 0003) refuse UPDATE and DELETE on audit_log
and audit_patients. What a hash chain cannot show is a whole chain rewritten consistently, head
row included, by someone who can disable the triggers; anchoring the heads outside the database
(copying the audit_chains rows to a write-once store, say hourly) closes that gap.

Throughput: several chains, not one. A single global chain serialises every audited request
on one lock held until COMMIT, and COMMIT waits for the WAL flush. Records are spread over
CHAINS chains by the random bits of their UUIDv7 id. On PostgreSQL appending is one statement
(_APPEND_POSTGRESQL): an UPDATE of the chain's head row, which takes its row lock and re-reads
the newest committed head, computes the new hash in SQL (sha256), and in the same statement
inserts the record and its patients. record_now runs it alone, in autocommit: one round trip,
the lock held only for that statement and its commit; concurrent recorders wait for each other
only when they pick the same chain. UNIQUE (chain, seq) makes a fork impossible even if a lock
were skipped. On SQLite the single write lock serialises all writers anyway and the head is read
and moved in Python; the chains cost nothing there.

Measured with bench/audit_log.py (2-core VM shared by the recorders and PostgreSQL 15,
synchronous_commit on, 32 concurrent recorders, 8 s a run):

    design                                  chains  records/s  p99 ms  CPU ms/record (Python+PG)
    SELECT FOR UPDATE, INSERT, UPDATE, ...     1       456      937     1.47 + 0.99
    (5 statements in a transaction)           16       526      181     1.27 + 0.99
    one statement, autocommit                  1       781      172     0.53 + 0.73
                                               16       949      135     0.46 + 0.41

Sixteen chains cut lock waits (p99) and PostgreSQL's CPU (less contention on one hot row);
the statement count cut the Python side by two thirds. A core read costs 0.65 + 0.19 ms
(docs/performance.md), so one synchronous record a read still about doubles its CPU. Hence
AuditRecorder, for reads and searches: group commit, many callers' records written to one chain
in one transaction by _append_batch (the path record() takes on SQLite too), each caller
waiting for its batch's commit. Under the same load as record_now's 1.03 + 0.60 ms a record it
cost 0.26 + 0.12 ms at 3.8 times the rate (docs/security.md, "Throughput").
"""

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import (
    ARRAY,
    BigInteger,
    ColumnElement,
    Select,
    SmallInteger,
    String,
    and_,
    bindparam,
    false,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.db.engine import single_statement, write_transaction
from shafa.db.types import UtcDateTime, naive_utc, uuid7
from shafa.security.tables import audit_chains, audit_log, audit_patients

CHAINS = 16
GENESIS = "0" * 64  # the prev_hash of the first record of every chain
VERIFY_BATCH = 5000

log = logging.getLogger(__name__)


class Action(StrEnum):
    """What was done: the FHIR REST interactions, and the security events around them."""

    READ = "read"
    VREAD = "vread"
    SEARCH = "search"
    CREATE = "create"
    UPDATE = "update"
    PATCH = "patch"
    DELETE = "delete"
    HISTORY = "history"
    EXPORT = "export"
    LOGIN = "login"
    LOGOUT = "logout"
    LOGIN_REFUSED = "login-refused"
    ACCESS_REFUSED = "access-refused"
    BREAK_GLASS = "break-glass"


class Outcome(StrEnum):
    """How it ended; an error carries its code in AuditRecord.outcome_code."""

    SUCCESS = "success"
    REFUSED = "refused"
    ERROR = "error"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    """One audited event, as the caller knows it (the chain fields are added on recording)."""

    action: Action
    outcome: Outcome = Outcome.SUCCESS
    outcome_code: str | None = None  # e.g. "403" or "404 not-found"
    recorded: datetime = field(default_factory=_now)
    user_id: str | None = None  # a person's account
    client_id: str | None = None  # a system calling with client_credentials
    display: str | None = None  # the name shown to the citizen
    role: str | None = None
    organisation: str | None = None  # Organization id
    patients: tuple[str, ...] = ()  # Patient ids concerned
    resources: tuple[str, ...] = ()  # references: Type/id or Type/id/_history/version
    purpose: str | None = None  # purpose of use, a v3-ActReason code (TREAT, ETREAT, ...)
    reason: str | None = None  # the reason stated, e.g. for break-the-glass
    source_ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    query: str | None = None  # a search's query string


@dataclass(frozen=True)
class StoredRecord:
    """An AuditRecord as stored: its id, its place in its chain and its hashes."""

    id: str
    chain: int
    seq: int
    prev_hash: str
    hash: str
    entry: AuditRecord


@dataclass(frozen=True)
class Page:
    """Records newest first, and the cursor of the next page (None on the last)."""

    records: list[StoredRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class Break:
    """The first broken link of a chain."""

    chain: int
    seq: int
    record_id: str | None
    problem: str

    def __str__(self) -> str:
        record = f" (record {self.record_id})" if self.record_id else ""
        return f"chain {self.chain}, seq {self.seq}{record}: {self.problem}"


@dataclass(frozen=True)
class Verification:
    """What `verify` found: records and chains walked, and the first break of each chain."""

    records: int
    chains: int
    breaks: list[Break]

    @property
    def intact(self) -> bool:
        """True when no chain is broken."""
        return not self.breaks


# --- recording ---------------------------------------------------------------------------


def _dump(values: Sequence[str]) -> str:
    # orjson writes what json.dumps(separators=(",", ":"), ensure_ascii=False) writes, faster.
    return orjson.dumps(list(values)).decode()


_CHAIN_COLUMNS = frozenset({"chain", "seq", "prev_hash", "hash"})


def content_hash(row: dict[str, Any]) -> str:
    """SHA-256 (hex) of a record's content: every stored column but its place in its chain.

    Canonical JSON: keys sorted, no whitespace, UTF-8, the instant as ISO 8601 UTC with
    microseconds, the JSON-array columns parsed (equal lists hash equal however spelt).
    """
    # Column names read back may be str subclasses (quoted_name), which orjson will not key by.
    content = {str(name): value for name, value in row.items() if name not in _CHAIN_COLUMNS}
    content["recorded"] = content["recorded"].astimezone(UTC).isoformat(timespec="microseconds")
    content["patients"] = orjson.loads(content["patients"])
    content["resources"] = orjson.loads(content["resources"])
    # The bytes of json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False).
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()


def link_hash(prev_hash: str, content: str) -> str:
    """A record's hash: SHA-256 (hex) of the previous record's hash then its content hash.

    PostgreSQL computes the same in _APPEND_POSTGRESQL, under the chain's lock.
    """
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


def record_hash(row: dict[str, Any]) -> str:
    """The hash a stored record must carry, from its content and its prev_hash."""
    return link_hash(row["prev_hash"], content_hash(row))


def new_record_id() -> str:
    """A record's id: a UUIDv7, so the log's id index grows at its end."""
    return uuid7()


def _chain_of(record_id: str) -> int:
    # The low bits of a UUIDv7 are random: the chains fill evenly and nobody chooses one.
    return uuid.UUID(record_id).int % CHAINS


def _content(record_id: str, entry: AuditRecord) -> tuple[dict[str, Any], str]:
    """The stored columns of a record but its place in its chain, and their content_hash
    (computed from the lists before they are serialised, so not parsed back)."""
    patients = list(dict.fromkeys(entry.patients))  # once each, in order
    resources = list(entry.resources)
    row = {
        "id": record_id,
        "recorded": entry.recorded,
        "action": Action(entry.action).value,
        "outcome": Outcome(entry.outcome).value,
        "outcome_code": entry.outcome_code,
        "user_id": entry.user_id,
        "client_id": entry.client_id,
        "display": entry.display,
        "role": entry.role,
        "organisation": entry.organisation,
        "patient_id": patients[0] if len(patients) == 1 else None,
        "patients": patients,
        "resources": resources,
        "purpose": entry.purpose,
        "reason": entry.reason,
        "source_ip": entry.source_ip,
        "user_agent": entry.user_agent,
        "request_id": entry.request_id,
        "query": entry.query,
    }
    canonical = orjson.dumps(
        row | {"recorded": entry.recorded.astimezone(UTC).isoformat(timespec="microseconds")},
        option=orjson.OPT_SORT_KEYS,
    )
    row["patients"], row["resources"] = _dump(patients), _dump(resources)
    return row, hashlib.sha256(canonical).hexdigest()


_CONTENT_COLUMNS = [c.name for c in audit_log.columns if c.name not in _CHAIN_COLUMNS]

# One statement, one round trip: move the chain's head (the UPDATE waits for the row lock and,
# under READ COMMITTED, re-reads the newest committed head), insert the record after it, and
# index its patients. Data-modifying CTEs always run to completion (PostgreSQL docs, 7.8.4).
_APPEND_POSTGRESQL = text(
    f"""
    WITH head AS (
        UPDATE audit_chains
        SET seq = seq + 1,
            prev_hash = hash,
            hash = encode(sha256(convert_to(hash || :content_hash, 'UTF8')), 'hex')
        WHERE chain = :chain
        RETURNING seq, prev_hash, hash
    ), appended AS (
        INSERT INTO audit_log ({", ".join(_CONTENT_COLUMNS)}, chain, seq, prev_hash, hash)
        SELECT {", ".join(f":{name}" for name in _CONTENT_COLUMNS)}, :chain,
               head.seq, head.prev_hash, head.hash
        FROM head
        RETURNING id
    ), indexed AS (
        INSERT INTO audit_patients (patient_id, recorded, record_id)
        SELECT patient, :recorded, appended.id
        FROM appended, unnest(CAST(:patient_ids AS text[])) AS patient
    )
    SELECT seq FROM head
    """  # noqa: S608 (column names of our own table)
).bindparams(
    bindparam("recorded", type_=UtcDateTime()),
    bindparam("patient_ids", type_=ARRAY(String())),
)


async def _create_chain(conn: AsyncConnection, chain: int) -> None:
    """Make a chain's head row (seq 0), unless another recorder made it first."""
    insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
    await conn.execute(
        insert(audit_chains)
        .values(chain=chain, seq=0, prev_hash=GENESIS, hash=GENESIS)
        .on_conflict_do_nothing(index_elements=["chain"])
    )


async def _append_postgresql(
    conn: AsyncConnection, chain: int, row: dict[str, Any], digest: str
) -> None:
    params = row | {
        "chain": chain,
        "content_hash": digest,
        "patient_ids": json.loads(row["patients"]),
    }
    if (await conn.execute(_APPEND_POSTGRESQL, params)).first() is None:
        await _create_chain(conn, chain)  # the first record of a chain: no head row yet
        (await conn.execute(_APPEND_POSTGRESQL, params)).one()


async def _append_batch(
    conn: AsyncConnection, chain: int, rows: list[tuple[dict[str, Any], str]]
) -> None:
    """Append records after the head of one chain, in order, in the caller's transaction.

    The head is read with its lock (FOR UPDATE on PostgreSQL; on SQLite the write transaction
    holds the one write lock), each record's hash is computed in sequence exactly as
    _APPEND_POSTGRESQL does, the records and their patients are inserted with one executemany
    each, and the head moves once.
    """
    c = audit_chains.c
    head_query = select(c.seq, c.hash).where(c.chain == chain).with_for_update()
    head = (await conn.execute(head_query)).first()
    if head is None:
        await _create_chain(conn, chain)
        head = (await conn.execute(head_query)).one()
    stored, indexed = _linked(rows, chain, head.seq, head.hash)
    await conn.execute(audit_log.insert(), stored)
    if indexed:
        patients = [{"patient_id": p, "recorded": r, "record_id": i} for p, r, i in indexed]
        await conn.execute(audit_patients.insert(), patients)
    last = stored[-1]
    await conn.execute(
        audit_chains.update().where(c.chain == chain),
        {"seq": last["seq"], "prev_hash": last["prev_hash"], "hash": last["hash"]},
    )


def _postgresql_type(column: Any) -> str:
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return "timestamp"
    if isinstance(kind, SmallInteger):
        return "smallint"
    if isinstance(kind, BigInteger):
        return "bigint"
    return "text"


def _batch_statement_postgresql() -> tuple[str, tuple[str, ...]]:
    """One PostgreSQL statement that appends a batch after a known head of a chain, or nothing.

    Parameters: $1 the new head seq, $2 its prev_hash, $3 its hash, $4 the chain, $5 the seq
    the head must still be at (compare-and-set: another writer that moved it meanwhile makes
    the statement change nothing and return 0), then one array per audit_log column and three
    for audit_patients. One round trip for a whole batch, in autocommit; the SQL is built from
    the tables' own column names only.
    """
    columns = tuple(column.name for column in audit_log.columns)
    arrays = ", ".join(
        f"${number}::{_postgresql_type(column)}[]"
        for number, column in enumerate(audit_log.columns, start=6)
    )
    patients = len(columns) + 6
    # The tables' own column names and numbered parameters only, hence the noqa.
    sql = (
        "WITH head AS (UPDATE audit_chains SET seq = $1, prev_hash = $2, hash = $3 "  # noqa: S608
        "WHERE chain = $4 AND seq = $5 RETURNING chain), "
        f"log AS (INSERT INTO audit_log ({', '.join(columns)}) "
        f"SELECT * FROM unnest({arrays}) WHERE EXISTS (SELECT 1 FROM head)), "
        "pat AS (INSERT INTO audit_patients (patient_id, recorded, record_id) "
        f"SELECT * FROM unnest(${patients}::text[], ${patients + 1}::timestamp[], "
        f"${patients + 2}::text[]) WHERE EXISTS (SELECT 1 FROM head)) "
        "SELECT count(*) FROM head"
    )
    return sql, columns


_BATCH_POSTGRESQL, _BATCH_COLUMNS = _batch_statement_postgresql()


def _linked(
    rows: list[tuple[dict[str, Any], str]], chain: int, seq: int, prev_hash: str
) -> tuple[list[dict[str, Any]], list[tuple[str, datetime, str]]]:
    """The rows (with their content hashes) with their places and hashes after the head (seq,
    prev_hash), and the rows of audit_patients they need."""
    stored, indexed = [], []
    for row, digest in rows:
        seq += 1
        link = link_hash(prev_hash, digest)
        stored.append(row | {"chain": chain, "seq": seq, "prev_hash": prev_hash, "hash": link})
        indexed += [(p, row["recorded"], row["id"]) for p in json.loads(row["patients"])]
        prev_hash = link
    return stored, indexed


async def _append_batch_postgresql(
    conn: AsyncConnection,
    chain: int,
    head: tuple[int, str],
    rows: list[tuple[dict[str, Any], str]],
) -> tuple[int, str] | None:
    """Append the rows after the head if the chain is still there, in one autocommitted
    statement on conn; the new head, or None when another writer moved the chain meanwhile
    (nothing is written then)."""
    seq, prev_hash = head
    stored, indexed = _linked(rows, chain, seq, prev_hash)
    plain = [[naive_utc(row[name]) for row in stored] for name in _BATCH_COLUMNS]
    last = stored[-1]
    raw = await conn.get_raw_connection()
    driver = raw.driver_connection
    assert driver is not None
    moved = await driver.fetchval(
        _BATCH_POSTGRESQL,
        last["seq"],
        last["prev_hash"],
        last["hash"],
        chain,
        seq,
        *plain,
        [p for p, _, _ in indexed],
        [naive_utc(recorded) for _, recorded, _ in indexed],
        [record_id for _, _, record_id in indexed],
    )
    return (last["seq"], last["hash"]) if moved else None


async def _head(conn: AsyncConnection, chain: int) -> tuple[int, str]:
    """The head of a chain as committed now (made if the chain has none yet), on an
    autocommit connection."""
    c = audit_chains.c
    query = select(c.seq, c.hash).where(c.chain == chain)
    head = (await conn.execute(query)).first()
    if head is None:
        await _create_chain(conn, chain)
        head = (await conn.execute(query)).one()
    return head.seq, head.hash


async def record(conn: AsyncConnection, entry: AuditRecord) -> str:
    """Append an audit record in the caller's transaction; its id.

    The chain's head stays locked until that transaction ends, so record just before commit.
    On SQLite the transaction must be a write transaction (db.engine.write_transaction).
    """
    record_id = new_record_id()
    row, digest = _content(record_id, entry)
    if conn.dialect.name == "postgresql":
        await _append_postgresql(conn, _chain_of(record_id), row, digest)
    else:  # SQLite's one write lock serialises writers anyway: one code path with the batches
        await _append_batch(conn, _chain_of(record_id), [(row, digest)])
    return record_id


async def record_now(engine: AsyncEngine, entry: AuditRecord) -> str:
    """Append an audit record in a transaction of its own (reads, searches, refusals); its id.

    On PostgreSQL that is one statement, atomic by itself: no BEGIN and COMMIT round trips.
    """
    if engine.dialect.name == "postgresql":
        async with single_statement(engine) as conn:
            return await record(conn, entry)
    async with write_transaction(engine) as conn:
        return await record(conn, entry)


@dataclass(frozen=True)
class _Buffered:
    row: dict[str, Any]  # _content of the record
    digest: str  # its content_hash
    arrived: float  # loop time
    done: "asyncio.Future[None] | None"  # None: the caller did not wait


class AuditRecorder:
    """Group commit for the audit records of reads and searches: one per process.

    record() puts a record in a buffer; a background task writes the buffer to one chain in one
    statement (one transaction on SQLite). With wait=True (the FHIR API's way) record() returns
    once its record is committed, so no response is sent for an access that went unrecorded; if
    the batch fails, every waiting caller gets the exception, nothing of the batch is stored,
    and later records go on as usual. Records of callers that did not wait and failed are
    logged at ERROR with their content. At most max_buffered records are buffered or being
    written; beyond that record() waits for room (back-pressure). The task starts on the first
    record, on the running loop; close() writes what is buffered and stops it (the app's
    lifespan calls it).

    When a batch is written. At once when it holds batch_size records. Otherwise, for callers
    that announce their requests with serving(): as soon as every request being served is
    waiting for its record, since nothing more will join the batch until one is answered; a
    lone request is written at once, and under load a batch holds one record of every request
    in flight (a flush per record halved the reads a second). Records that come otherwise wait
    at most `interval` seconds after the oldest arrived, for company.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_size: int = 256,
        interval: float = 0.005,
        max_buffered: int = 4096,
        chain: int | None = None,
    ) -> None:
        if batch_size < 1 or max_buffered < 1 or interval < 0:
            raise ValueError("batch_size and max_buffered must be positive, interval not negative")
        self.engine = engine
        self.batch_size = batch_size
        self.interval = interval
        self.max_buffered = max_buffered
        self._buffer: list[_Buffered] = []
        self._room = asyncio.Semaphore(max_buffered)
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._held = 0  # slots of _room taken
        self._serving = 0  # requests inside serving()
        self._waiting = 0  # buffered records whose callers wait for them
        # On PostgreSQL the recorder appends to one chain and remembers its head, so a batch
        # is one statement, on a connection it keeps; another writer moving that chain sends it
        # to read the head again, or to another chain (see _flush).
        self._chain = secrets.randbelow(CHAINS) if chain is None else chain % CHAINS
        self._head: tuple[int, str] | None = None
        self._conn: AsyncConnection | None = None

    @property
    def buffered(self) -> int:
        """Records in the buffer or being written."""
        return self._held

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """Around the handling of one request that may record: tells the recorder how many
        records may still join a batch (see the class's docstring)."""
        self._serving += 1
        try:
            yield
        finally:
            self._serving -= 1
            if self._buffer and self._everyone_waits():
                self._wake.set()

    def _everyone_waits(self) -> bool:
        return 0 < self._serving <= self._waiting

    async def record(self, entry: AuditRecord, *, wait: bool = True) -> str:
        """Buffer a record; its id. With wait, return once it is committed (or raise why not)."""
        if self._closing:
            raise RuntimeError("The audit recorder is closed")
        record_id = new_record_id()
        row, digest = _content(record_id, entry)
        await self._room.acquire()
        if self._task is not None and self._task.done():  # closed while this caller waited
            self._room.release()
            raise RuntimeError("The audit recorder is closed")
        self._held += 1
        loop = asyncio.get_running_loop()
        if self._task is None:
            self._task = loop.create_task(self._run(), name="audit-recorder")
        done = loop.create_future() if wait else None
        self._buffer.append(_Buffered(row, digest, loop.time(), done))
        if done is not None:
            self._waiting += 1
        if len(self._buffer) == 1 or len(self._buffer) >= self.batch_size or self._everyone_waits():
            self._wake.set()
        if done is not None:
            await done
        return record_id

    async def close(self) -> None:
        """Write every buffered record, then stop the background task."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task

    def _due(self, now: float) -> float:
        """Seconds until the buffer must be written; 0 when it must be now."""
        if len(self._buffer) >= self.batch_size or self._closing or self._everyone_waits():
            return 0.0
        return max(0.0, self._buffer[0].arrived + self.interval - now)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not self._buffer:
                    if self._closing:
                        return
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                delay = self._due(loop.time())
                if delay > 0:
                    self._wake.clear()
                    # Woken early by a full batch, every request waiting, or close().
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._wake.wait()
                    continue
                batch = self._buffer[: self.batch_size]
                del self._buffer[: self.batch_size]
                self._waiting -= sum(1 for buffered in batch if buffered.done is not None)
                await self._flush(batch)
        finally:  # cancelled with the loop, say: nobody is left waiting without an answer
            batch, self._buffer, self._waiting = self._buffer, [], 0
            self._fail(batch, RuntimeError("The audit recorder stopped"))
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.close()
                self._conn = None

    async def _flush(self, batch: list[_Buffered]) -> None:
        rows = [(buffered.row, buffered.digest) for buffered in batch]
        try:
            if self.engine.dialect.name == "postgresql":
                await self._append_postgresql(rows)
            else:
                async with write_transaction(self.engine) as conn:
                    await _append_batch(conn, _chain_of(rows[0][0]["id"]), rows)
        except Exception as error:  # every waiter gets it; the recorder goes on
            self._head = None
            await self._drop_connection()
            self._fail(batch, error)
            return
        except BaseException:  # cancelled with the loop: the outcome is unknown, say so
            self._fail(batch, RuntimeError("The audit recorder stopped during a write"))
            raise
        for buffered in batch:
            if buffered.done is not None and not buffered.done.done():
                buffered.done.set_result(None)
        self._release(len(batch))

    async def _connection(self) -> AsyncConnection:
        # Kept for the recorder's life: checking one out of the pool for each batch cost more
        # Python than writing the batch.
        if self._conn is None:
            conn = await self.engine.connect()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    async def _drop_connection(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(Exception):
                await conn.invalidate()

    async def _append_postgresql(self, rows: list[tuple[dict[str, Any], str]]) -> None:
        conn = await self._connection()
        for attempt in range(CHAINS):
            if self._head is None:
                self._head = await _head(conn, self._chain)
            moved = await _append_batch_postgresql(conn, self._chain, self._head, rows)
            if moved is not None:
                self._head = moved
                return
            # Another writer appended to this chain: read its head again, and after a second
            # miss try another chain, so that recorders of several processes drift apart.
            self._head = None
            if attempt:
                self._chain = (self._chain + 1 + secrets.randbelow(CHAINS - 1)) % CHAINS
        raise RuntimeError("Every audit chain kept moving under this recorder")

    def _fail(self, batch: list[_Buffered], error: BaseException) -> None:
        if batch:
            log.error("%d audit records not stored", len(batch), exc_info=error)
        for buffered in batch:
            if buffered.done is not None and not buffered.done.done():
                buffered.done.set_exception(error)
            else:  # nobody waits to hear it: the record must not vanish silently
                log.error("Audit record not stored: %s", json.dumps(buffered.row, default=str))
        self._release(len(batch))

    def _release(self, count: int) -> None:
        self._held -= count
        for _ in range(count):
            self._room.release()


# --- reading -------------------------------------------------------------------------------


def _stored(row: Row[Any]) -> StoredRecord:
    m = row._mapping
    entry = AuditRecord(
        action=Action(m["action"]),
        outcome=Outcome(m["outcome"]),
        outcome_code=m["outcome_code"],
        recorded=m["recorded"],
        user_id=m["user_id"],
        client_id=m["client_id"],
        display=m["display"],
        role=m["role"],
        organisation=m["organisation"],
        patients=tuple(json.loads(m["patients"])),
        resources=tuple(json.loads(m["resources"])),
        purpose=m["purpose"],
        reason=m["reason"],
        source_ip=m["source_ip"],
        user_agent=m["user_agent"],
        request_id=m["request_id"],
        query=m["query"],
    )
    return StoredRecord(m["id"], m["chain"], m["seq"], m["prev_hash"], m["hash"], entry)


def _cursor(record: StoredRecord) -> str:
    key = f"{record.entry.recorded.astimezone(UTC).isoformat()}|{record.id}"
    return base64.urlsafe_b64encode(key.encode()).decode()


def _parse_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        moment, record_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(moment).astimezone(UTC), str(uuid.UUID(record_id))
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise ValueError(f"Not a cursor of the audit log: {cursor!r}") from error


async def _page(
    conn: AsyncConnection,
    query: Select[Any],
    recorded: Any,
    record_id: Any,
    limit: int,
    cursor: str | None,
) -> Page:
    """Newest first by (recorded, id), key-paged: every page is one index range scan."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    if cursor is not None:
        query = query.where(tuple_(recorded, record_id) < tuple_(*_parse_cursor(cursor)))
    query = query.order_by(recorded.desc(), record_id.desc()).limit(limit + 1)
    records = [_stored(row) for row in await conn.execute(query)]
    if len(records) <= limit:
        return Page(records, None)
    return Page(records[:limit], _cursor(records[limit - 1]))


async def who_accessed(
    conn: AsyncConnection,
    patient_id: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    cursor: str | None = None,
) -> Page:
    """The records concerning a patient, newest first: the citizen's "who accessed my record".

    since is inclusive, until exclusive; cursor is the previous Page's next_cursor.
    """
    p = audit_patients.c
    query = (
        select(audit_log)
        .join(audit_patients, p.record_id == audit_log.c.id)
        .where(p.patient_id == patient_id)
    )
    if since is not None:
        query = query.where(p.recorded >= since)
    if until is not None:
        query = query.where(p.recorded < until)
    return await _page(conn, query, p.recorded, p.record_id, limit, cursor)


async def read_record(conn: AsyncConnection, record_id: str) -> StoredRecord | None:
    """One record by its id, or None."""
    row = (await conn.execute(select(audit_log).where(audit_log.c.id == record_id))).first()
    return None if row is None else _stored(row)


def _event_outcome(code: str) -> ColumnElement[bool]:
    """The records whose AuditEvent.outcome is code (0, 4 or 8; see _outcome_code)."""
    c = audit_log.c
    client_error = c.outcome_code.like("4%")
    match code:
        case "0":
            return c.outcome == Outcome.SUCCESS.value
        case "4":
            return or_(
                c.outcome == Outcome.REFUSED.value,
                and_(c.outcome == Outcome.ERROR.value, client_error),
            )
        case "8":
            return and_(
                c.outcome == Outcome.ERROR.value, or_(c.outcome_code.is_(None), ~client_error)
            )
    return false()  # 12 (major failure) is never recorded


async def search_log(
    conn: AsyncConnection,
    *,
    user_id: str | None = None,
    client_id: str | None = None,
    agent: str | None = None,
    patient_id: str | None = None,
    action: Action | None = None,
    actions: Collection[Action] | None = None,
    outcome: Outcome | None = None,
    event_outcomes: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
    cursor: str | None = None,
) -> Page:
    """The records matching every filter given, newest first (administrators, AuditEvent).

    agent is a user or a client; actions and event_outcomes (AuditEvent.outcome codes) match
    any of theirs, and an empty collection matches nothing. With a patient, pages are one
    range scan of audit_patients' key, as in who_accessed.
    """
    c = audit_log.c
    query = select(audit_log)
    recorded, record_id = c.recorded, c.id
    if patient_id is not None:
        p = audit_patients.c
        query = query.join(audit_patients, p.record_id == c.id).where(p.patient_id == patient_id)
        recorded, record_id = p.recorded, p.record_id
    for column, value in (
        (c.user_id, user_id),
        (c.client_id, client_id),
        (c.action, action),
        (c.outcome, outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if agent is not None:
        query = query.where(or_(c.user_id == agent, c.client_id == agent))
    if actions is not None:
        query = query.where(c.action.in_([Action(a).value for a in actions]))
    if event_outcomes is not None:
        query = query.where(or_(false(), *(_event_outcome(code) for code in event_outcomes)))
    if since is not None:
        query = query.where(recorded >= since)
    if until is not None:
        query = query.where(recorded < until)
    return await _page(conn, query, recorded, record_id, limit, cursor)


# --- verifying -----------------------------------------------------------------------------


async def _chain_rows(conn: AsyncConnection, chain: int) -> AsyncIterator[Row[Any]]:
    c = audit_log.c
    last = 0
    while True:
        batch = (
            await conn.execute(
                select(audit_log)
                .where(c.chain == chain, c.seq > last)
                .order_by(c.seq)
                .limit(VERIFY_BATCH)
            )
        ).all()
        for row in batch:
            yield row
        if len(batch) < VERIFY_BATCH:
            return
        last = batch[-1].seq


def _content_matches(row: Row[Any]) -> bool:
    mapping = dict(row._mapping)
    try:
        return record_hash(mapping) == mapping["hash"]
    except (ValueError, TypeError, AttributeError):  # a JSON column no longer JSON, say
        return False


async def _verify_chain(conn: AsyncConnection, chain: int, head: Row[Any] | None) -> Break | int:
    """The first break of one chain, or the number of its records when it is intact."""
    expected, prev_hash, prev_id = 1, GENESIS, None
    async for row in _chain_rows(conn, chain):
        if row.seq != expected:
            missing = (
                f"seq {expected}" if row.seq == expected + 1 else f"seqs {expected}-{row.seq - 1}"
            )
            return Break(
                chain,
                expected,
                None,
                f"{missing} missing (deleted); the next is seq {row.seq} (record {row.id})",
            )
        if not _content_matches(row):
            return Break(chain, row.seq, row.id, "the content does not match its hash (edited)")
        if row.prev_hash != prev_hash:
            after = f"seq {expected - 1} (record {prev_id})" if prev_id else "the chain's start"
            return Break(
                chain,
                row.seq,
                row.id,
                f"prev_hash is not the hash of {after}: a record forged, inserted or "
                "reordered here, or the one before it rewritten",
            )
        expected, prev_hash, prev_id = expected + 1, row.hash, row.id
    last = expected - 1
    if head is None:
        if last:
            return Break(chain, last, prev_id, "the chain has no head row in audit_chains")
        return 0
    if head.seq != last or head.hash != prev_hash:
        return Break(
            chain,
            last + 1 if head.seq > last else last,
            None,
            f"the chain ends at seq {last} but its head is seq {head.seq}: "
            + ("the newest records were deleted" if head.seq > last else "the head was altered"),
        )
    return last


async def verify(conn: AsyncConnection) -> Verification:
    """Walk every chain from its start and find the first broken link of each."""
    heads = {row.chain: row for row in await conn.execute(select(audit_chains))}
    chains = set(heads) | set((await conn.execute(select(audit_log.c.chain).distinct())).scalars())
    records, breaks = 0, []
    for chain in sorted(chains):
        result = await _verify_chain(conn, chain, heads.get(chain))
        if isinstance(result, Break):
            breaks.append(result)
        else:
            records += result
    return Verification(records, len(chains), breaks)


# --- FHIR R4 AuditEvent --------------------------------------------------------------------

_DCM = "http://dicom.nema.org/resources/ontology/DCM"
_EVENT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
_INTERACTION = "http://hl7.org/fhir/restful-interaction"
_ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
_OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
USER_SYSTEM = "urn:shafa:user"
CLIENT_SYSTEM = "urn:shafa:client"
ROLE_SYSTEM = "urn:shafa:role"
REQUEST_SYSTEM = "urn:shafa:request"


def _coding(system: str, code: str, display: str) -> dict[str, str]:
    return {"system": system, "code": code, "display": display}


_REST = _coding(_EVENT_TYPE, "rest", "RESTful Operation")
_USER_AUTHENTICATION = _coding(_DCM, "110114", "User Authentication")
_SECURITY_ALERT = _coding(_DCM, "110113", "Security Alert")
_LOGIN = _coding(_DCM, "110122", "Login")

# AuditEvent.type (R4 value set audit-event-type: DICOM CID 400 and "rest"), subtype (DICOM
# CID 401 and the restful-interaction codes) and action (C R U D E) of each Action.
_SHAPES: dict[Action, tuple[dict[str, str], dict[str, str], str]] = {
    Action.READ: (_REST, _coding(_INTERACTION, "read", "read"), "R"),
    Action.VREAD: (_REST, _coding(_INTERACTION, "vread", "vread"), "R"),
    Action.SEARCH: (_REST, _coding(_INTERACTION, "search", "search"), "E"),
    Action.CREATE: (_REST, _coding(_INTERACTION, "create", "create"), "C"),
    Action.UPDATE: (_REST, _coding(_INTERACTION, "update", "update"), "U"),
    Action.PATCH: (_REST, _coding(_INTERACTION, "patch", "patch"), "U"),
    Action.DELETE: (_REST, _coding(_INTERACTION, "delete", "delete"), "D"),
    Action.HISTORY: (_REST, _coding(_INTERACTION, "history", "history"), "R"),
    Action.EXPORT: (
        _coding(_DCM, "110106", "Export"),
        _coding(_INTERACTION, "operation", "operation"),
        "R",
    ),
    Action.LOGIN: (_USER_AUTHENTICATION, _LOGIN, "E"),
    Action.LOGIN_REFUSED: (_USER_AUTHENTICATION, _LOGIN, "E"),
    Action.LOGOUT: (_USER_AUTHENTICATION, _coding(_DCM, "110123", "Logout"), "E"),
    Action.ACCESS_REFUSED: (
        _SECURITY_ALERT,
        _coding(_DCM, "110132", "Use of Restricted Function"),
        "E",
    ),
    Action.BREAK_GLASS: (
        _SECURITY_ALERT,
        _coding(_DCM, "110127", "Emergency Override Started"),
        "E",
    ),
}


def actions_coded(
    *, action: str | None = None, subtype: str | None = None, system: str | None = None
) -> frozenset[Action]:
    """The Actions whose AuditEvent has this action code (C R U D E) and this subtype code
    (of system, when given): what AuditEvent's action and subtype search parameters match."""
    return frozenset(
        name
        for name, (_type, coding, code) in _SHAPES.items()
        if (action is None or code == action)
        and (subtype is None or coding["code"] == subtype)
        and (system is None or coding["system"] == system)
    )


def _outcome_code(entry: AuditRecord) -> str:
    """AuditEvent.outcome: 0 success, 4 minor failure (refused, or an HTTP 4xx), 8 serious.

    12 (major failure: the system died) is never recorded: a dead system records nothing.
    """
    if entry.outcome is Outcome.SUCCESS:
        return "0"
    if entry.outcome is Outcome.REFUSED or (entry.outcome_code or "").startswith("4"):
        return "4"
    return "8"


def _agents(entry: AuditRecord) -> list[dict[str, Any]]:
    who: dict[str, Any] = {}
    agent: dict[str, Any] = {"requestor": True}
    if entry.user_id is not None:
        who["identifier"] = {"system": USER_SYSTEM, "value": entry.user_id}
        agent["type"] = {
            "coding": [
                _coding(
                    "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
                    "humanuser",
                    "human user",
                )
            ]
        }
    elif entry.client_id is not None:
        who["identifier"] = {"system": CLIENT_SYSTEM, "value": entry.client_id}
        agent["type"] = {"coding": [_coding(_DCM, "110150", "Application")]}
    who["display"] = entry.display or entry.user_id or entry.client_id or "unknown"
    agent["who"] = who
    if entry.role is not None:
        agent["role"] = [{"coding": [{"system": ROLE_SYSTEM, "code": entry.role}]}]
    if entry.source_ip is not None:
        agent["network"] = {"address": entry.source_ip, "type": "2"}  # 2: IP address
    agents = [agent]
    if entry.organisation is not None:
        agents.append(
            {"who": {"reference": f"Organization/{entry.organisation}"}, "requestor": False}
        )
    return agents


def _entities(entry: AuditRecord) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [
        {
            "what": {"reference": f"Patient/{patient}"},
            "type": _coding(_ENTITY_TYPE, "1", "Person"),
            "role": _coding(_OBJECT_ROLE, "1", "Patient"),
        }
        for patient in entry.patients
    ]
    entities += [
        {
            "what": {"reference": reference},
            "type": _coding(_ENTITY_TYPE, "2", "System Object"),
            "role": _coding(_OBJECT_ROLE, "4", "Domain Resource"),
        }
        for reference in entry.resources
    ]
    if entry.query is not None or entry.request_id is not None or entry.user_agent is not None:
        request: dict[str, Any] = {"type": _coding(_ENTITY_TYPE, "2", "System Object")}
        if entry.request_id is not None:
            request["what"] = {"identifier": {"system": REQUEST_SYSTEM, "value": entry.request_id}}
        if entry.query is not None:
            request["role"] = _coding(_OBJECT_ROLE, "24", "Query")
            request["query"] = base64.b64encode(entry.query.encode()).decode()
        if entry.user_agent is not None:
            request["detail"] = [{"type": "user-agent", "valueString": entry.user_agent}]
        entities.append(request)
    return entities


def audit_event(stored: StoredRecord) -> dict[str, Any]:
    """The record as a FHIR R4 AuditEvent (R4 auditevent.html)."""
    entry = stored.entry
    event_type, subtype, action = _SHAPES[entry.action]
    event: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": stored.id,
        "type": event_type,
        "action": action,
        "recorded": entry.recorded.astimezone(UTC)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "subtype": [subtype],
        "outcome": _outcome_code(entry),
    }
    if entry.outcome_code is not None:
        event["outcomeDesc"] = entry.outcome_code
    if entry.purpose is not None or entry.reason is not None:
        purpose: dict[str, Any] = {}
        if entry.purpose is not None:
            purpose["coding"] = [{"system": _ACT_REASON, "code": entry.purpose}]
        if entry.reason is not None:
            purpose["text"] = entry.reason
        event["purposeOfEvent"] = [purpose]
    event["agent"] = _agents(entry)
    event["source"] = {
        "observer": {"display": "Shafa"},
        "type": [
            _coding(
                "http://terminology.hl7.org/CodeSystem/security-source-type",
                "4",
                "Application Server",
            )
        ],
    }
    entities = _entities(entry)
    if entities:
        event["entity"] = entities
    return event
