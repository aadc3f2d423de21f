"""The audit log: Dr Aliyeva of clinic-1 opens Rashad's record; Rashad asks who did.

Every test runs on SQLite and PostgreSQL, on a log emptied first. Tampering goes around the
append-only triggers as a database superuser with direct SQL would.
"""

import asyncio
import base64
import os
import subprocess
import sys
import time
from collections.abc import Coroutine, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store, validation
from shafa.security import audit
from shafa.security.audit import Action, AuditRecord, Outcome
from shafa.security.tables import audit_chains, audit_log, audit_patients
from tests.conftest import Database

RASHAD = "pat-rashad"  # a citizen's Patient id
NARGIZ = "pat-nargiz"  # another citizen
T = TypeVar("T")
MORNING = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)

DOCTOR = AuditRecord(
    action=Action.READ,
    recorded=MORNING,
    user_id="dr-aliyeva",
    display="Dr Leyla Aliyeva",
    role="doctor",
    organisation="clinic-1",
    patients=(RASHAD,),
    resources=(f"Patient/{RASHAD}/_history/1",),
    purpose="TREAT",
    source_ip="10.1.2.3",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    request_id="req-1",
)
CITIZEN = AuditRecord(
    action=Action.LOGIN,
    recorded=MORNING,
    user_id="citizen-rashad",
    display="Rashad Mammadov",
    role="citizen",
    source_ip="192.0.2.7",
)


def doctor_reads(patient: str, minutes: int, **changes: Any) -> AuditRecord:
    """Dr Aliyeva reads a patient's record `minutes` after nine."""
    return replace(
        DOCTOR,
        recorded=MORNING + timedelta(minutes=minutes),
        patients=(patient,),
        resources=(f"Patient/{patient}/_history/1",),
        **changes,
    )


@pytest.fixture
def engine(database: Database) -> Iterator[AsyncEngine]:
    """An engine over this backend's database, its audit log empty."""
    database.truncate()
    engine = create_engine(Settings(database_url=database.url))
    yield engine


def run(engine: AsyncEngine, work: Coroutine[Any, Any, T]) -> T:
    """Run async work, then close the pooled connections: each asyncio.run has its own loop."""

    async def then_dispose() -> T:
        try:
            return await work
        finally:
            await engine.dispose()

    return asyncio.run(then_dispose())


async def record_all(engine: AsyncEngine, entries: list[AuditRecord]) -> list[str]:
    return [await audit.record_now(engine, entry) for entry in entries]


async def verify(engine: AsyncEngine) -> audit.Verification:
    async with engine.connect() as conn:
        return await audit.verify(conn)


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        c = audit_log.c
        return (await conn.execute(select(audit_log).order_by(c.chain, c.seq))).all()


async def tamper(engine: AsyncEngine, *statements: Any) -> None:
    """Run statements with the append-only triggers out of the way, as a superuser could."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            for table in ("audit_log", "audit_patients"):
                await conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        else:
            listed = "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            triggers = (await conn.exec_driver_sql(listed)).all()
            for name, _sql in triggers:
                await conn.exec_driver_sql(f"DROP TRIGGER {name}")
        for statement in statements:
            await conn.execute(statement)
        if conn.dialect.name == "postgresql":
            for table in ("audit_log", "audit_patients"):
                await conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        else:
            for _name, sql in triggers:
                await conn.exec_driver_sql(sql)


def a_long_chain(records: list[Any], length: int = 3) -> list[Any]:
    """The records of a chain that holds at least `length` of them, in order."""
    chains: dict[int, list[Any]] = {}
    for row in records:
        chains.setdefault(row.chain, []).append(row)
    return next(chain for chain in chains.values() if len(chain) >= length)


def a_morning_of_reads(count: int = 60) -> list[AuditRecord]:
    return [doctor_reads(RASHAD if i % 2 else NARGIZ, i) for i in range(count)]


# --- recording within the caller's transaction ---------------------------------------------


def test_a_write_and_its_audit_record_commit_together(engine: AsyncEngine) -> None:
    async def scenario() -> tuple[int, int, Any]:
        patient = {"resourceType": "Patient", "id": RASHAD, "name": [{"family": "Mammadov"}]}
        async with write_transaction(engine) as conn:
            write = store.Write("Patient", RASHAD, patient, "PUT")
            await store.apply_writes(conn, [write], store.now())
            await audit.record(conn, replace(DOCTOR, action=Action.UPDATE))
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(audit_log))
            indexed = await conn.scalar(select(func.count()).select_from(audit_patients))
            head = (await conn.execute(select(audit_chains))).one()
        return stored or 0, indexed or 0, head

    stored, indexed, head = run(engine, scenario())
    assert (stored, indexed) == (1, 1)
    assert head.seq == 1


def test_a_write_rolled_back_leaves_no_audit_record(engine: AsyncEngine) -> None:
    class Refused(Exception):
        """The caller's own failure, after the audit record was written in its transaction."""

    async def scenario() -> tuple[int, bool]:
        with pytest.raises(Refused):
            async with write_transaction(engine) as conn:
                await audit.record(conn, replace(DOCTOR, action=Action.UPDATE))
                raise Refused
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(audit_log))
        return stored or 0, (await verify(engine)).intact

    assert run(engine, scenario()) == (0, True)


def test_records_read_back_as_they_were_given(engine: AsyncEngine) -> None:
    async def scenario() -> audit.Page:
        await audit.record_now(engine, DOCTOR)
        async with engine.connect() as conn:
            return await audit.who_accessed(conn, RASHAD)

    page = run(engine, scenario())
    assert [stored.entry for stored in page.records] == [DOCTOR]
    assert page.records[0].seq == 1


# --- append-only and hash-chained ----------------------------------------------------------


def test_the_database_refuses_to_update_or_delete_a_record(engine: AsyncEngine) -> None:
    run(engine, audit.record_now(engine, DOCTOR))

    async def attempt(statement: Any) -> None:
        async with engine.begin() as conn:
            await conn.execute(statement)

    for statement in (
        audit_log.update().values(display="Nobody"),
        audit_log.delete(),
        audit_patients.delete(),
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            run(engine, attempt(statement))
    assert [row.display for row in run(engine, rows(engine))] == ["Dr Leyla Aliyeva"]


def test_postgresql_refuses_to_truncate_the_log(engine: AsyncEngine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; its DELETE without WHERE is refused above")
    run(engine, audit.record_now(engine, DOCTOR))

    async def attempt(table: str) -> None:
        async with engine.begin() as conn:
            await conn.exec_driver_sql(f"TRUNCATE {table}")

    for table in ("audit_log", "audit_patients", "audit_chains", "audit_log CASCADE"):
        with pytest.raises(DBAPIError, match="append-only: TRUNCATE"):
            run(engine, attempt(table))
    assert [row.display for row in run(engine, rows(engine))] == ["Dr Leyla Aliyeva"]


def test_verify_counts_the_records_of_an_intact_log(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, [*a_morning_of_reads(40), CITIZEN]))
    result = run(engine, verify(engine))
    assert result.intact
    assert result.records == 41
    assert 1 < result.chains <= audit.CHAINS


def test_verify_pinpoints_an_edited_field(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    victim = a_long_chain(run(engine, rows(engine)))[1]
    # Someone hides that the doctor looked: the record now says another clinic did.
    run(
        engine,
        tamper(
            engine,
            audit_log.update().where(audit_log.c.id == victim.id).values(organisation="clinic-9"),
        ),
    )
    result = run(engine, verify(engine))
    assert [(b.chain, b.seq, b.record_id) for b in result.breaks] == [(victim.chain, 2, victim.id)]
    assert "edited" in result.breaks[0].problem


def test_verify_pinpoints_a_deleted_record(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    chain = a_long_chain(run(engine, rows(engine)))
    run(engine, tamper(engine, audit_log.delete().where(audit_log.c.id == chain[1].id)))
    result = run(engine, verify(engine))
    (broken,) = result.breaks
    assert (broken.chain, broken.seq) == (chain[1].chain, 2)
    assert "seq 2 missing (deleted)" in broken.problem
    assert chain[2].id in broken.problem


def test_verify_notices_the_newest_record_deleted(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    chain = a_long_chain(run(engine, rows(engine)))
    run(engine, tamper(engine, audit_log.delete().where(audit_log.c.id == chain[-1].id)))
    (broken,) = run(engine, verify(engine)).breaks
    assert (broken.chain, broken.seq) == (chain[-1].chain, chain[-1].seq)
    assert "newest records were deleted" in broken.problem


def _forged(row: Any, **changes: Any) -> dict[str, Any]:
    """A copy of a stored record with changes, its hash recomputed to match its content."""
    forged = dict(row._mapping) | changes
    forged["hash"] = audit.record_hash(forged)
    return forged


def test_verify_pinpoints_a_forged_record_with_a_recomputed_hash(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    chain = a_long_chain(run(engine, rows(engine)))
    # The forger rewrites the second record whole (a consistent hash over a made-up prev_hash)
    # and cannot reach back to chain it to the first.
    forged = _forged(chain[1], id=chain[1].id, display="Dr Nobody", prev_hash="f" * 64)
    run(
        engine,
        tamper(
            engine,
            audit_log.delete().where(audit_log.c.id == chain[1].id),
            audit_log.insert().values(forged),
        ),
    )
    (broken,) = run(engine, verify(engine)).breaks
    assert (broken.chain, broken.seq, broken.record_id) == (chain[1].chain, 2, chain[1].id)
    assert "prev_hash is not the hash of seq 1" in broken.problem


def test_verify_pinpoints_a_rewritten_record_at_the_link_after_it(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    chain = a_long_chain(run(engine, rows(engine)))
    # Rewritten with its true prev_hash and a recomputed hash: its successor no longer follows.
    forged = _forged(chain[1], display="Dr Nobody")
    run(
        engine,
        tamper(engine, audit_log.update().where(audit_log.c.id == chain[1].id).values(forged)),
    )
    (broken,) = run(engine, verify(engine)).breaks
    assert (broken.seq, broken.record_id) == (3, chain[2].id)
    assert f"seq 2 (record {chain[1].id})" in broken.problem


def test_verify_pinpoints_reordered_records(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, a_morning_of_reads()))
    chain = a_long_chain(run(engine, rows(engine)))
    first, second = chain[0], chain[1]
    # Swap the first two, each rehashed in its new place.
    swapped = [
        _forged(second, seq=1, prev_hash=audit.GENESIS),
        _forged(first, seq=2, prev_hash=second.hash),
    ]
    c = audit_log.c
    run(
        engine,
        tamper(
            engine,
            audit_log.delete().where(c.id.in_([first.id, second.id])),
            audit_log.insert().values(swapped),
        ),
    )
    (broken,) = run(engine, verify(engine)).breaks
    assert (broken.seq, broken.record_id) == (2, first.id)
    assert "prev_hash" in broken.problem


def test_concurrent_recorders_leave_intact_chains_without_forks(engine: AsyncEngine) -> None:
    async def scenario() -> audit.Verification:
        await asyncio.gather(*(audit.record_now(engine, e) for e in a_morning_of_reads(300)))
        return await verify(engine)

    result = run(engine, scenario())
    assert result.intact, result.breaks
    assert result.records == 300
    stored = run(engine, rows(engine))
    by_chain: dict[int, list[int]] = {}
    for row in stored:
        by_chain.setdefault(row.chain, []).append(row.seq)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_chain.values())


# --- who accessed my record, and the administrators' search ---------------------------------


def test_rashad_pages_through_who_accessed_his_record(engine: AsyncEngine) -> None:
    run(engine, record_all(engine, [*a_morning_of_reads(11), CITIZEN]))

    async def pages(size: int, **window: Any) -> list[list[datetime]]:
        seen, cursor = [], None
        async with engine.connect() as conn:
            while True:
                page = await audit.who_accessed(conn, RASHAD, limit=size, cursor=cursor, **window)
                seen.append([stored.entry.recorded for stored in page.records])
                if page.next_cursor is None:
                    return seen
                cursor = page.next_cursor

    minutes = [MORNING + timedelta(minutes=m) for m in (9, 7, 5, 3, 1)]  # newest first
    assert run(engine, pages(2)) == [minutes[:2], minutes[2:4], minutes[4:]]
    assert run(engine, pages(5)) == [minutes]
    window = {"since": minutes[3], "until": minutes[0]}  # [09:03, 09:09)
    assert run(engine, pages(2, **window)) == [minutes[1:3], minutes[3:4]]

    async def first_page() -> audit.Page:
        async with engine.connect() as conn:
            return await audit.who_accessed(conn, RASHAD, limit=1)

    (latest,) = run(engine, first_page()).records
    assert (latest.entry.display, latest.entry.organisation) == ("Dr Leyla Aliyeva", "clinic-1")
    with pytest.raises(ValueError, match="cursor"):
        run(engine, pages_with_cursor(engine, "not-a-cursor"))


async def pages_with_cursor(engine: AsyncEngine, cursor: str) -> audit.Page:
    async with engine.connect() as conn:
        return await audit.who_accessed(conn, RASHAD, cursor=cursor)


def test_a_search_concerning_many_patients_shows_in_each_of_their_records(
    engine: AsyncEngine,
) -> None:
    search = replace(
        DOCTOR,
        action=Action.SEARCH,
        patients=(RASHAD, NARGIZ),
        resources=(),
        query="Observation?code=http://loinc.org|85354-9",
    )
    run(engine, audit.record_now(engine, search))

    async def both() -> list[list[str]]:
        async with engine.connect() as conn:
            return [
                [s.id for s in (await audit.who_accessed(conn, patient)).records]
                for patient in (RASHAD, NARGIZ)
            ]

    rashad, nargiz = run(engine, both())
    assert rashad == nargiz and len(rashad) == 1


def test_administrators_search_the_log(engine: AsyncEngine) -> None:
    refused = doctor_reads(
        NARGIZ, 30, action=Action.ACCESS_REFUSED, outcome=Outcome.REFUSED, outcome_code="403"
    )
    run(engine, record_all(engine, [*a_morning_of_reads(6), refused, CITIZEN]))

    async def search(**filters: Any) -> list[tuple[str, str]]:
        async with engine.connect() as conn:
            page = await audit.search_log(conn, **filters)
        return [(s.entry.action, s.entry.user_id or "") for s in page.records]

    assert run(engine, search(user_id="citizen-rashad")) == [("login", "citizen-rashad")]
    assert run(engine, search(outcome=Outcome.REFUSED)) == [("access-refused", "dr-aliyeva")]
    assert len(run(engine, search(patient_id=NARGIZ))) == 4
    assert len(run(engine, search(patient_id=NARGIZ, action=Action.READ))) == 3
    window = {"since": MORNING + timedelta(minutes=2), "until": MORNING + timedelta(minutes=4)}
    assert len(run(engine, search(user_id="dr-aliyeva", **window))) == 2
    assert len(run(engine, search())) == 8


# --- FHIR R4 AuditEvent --------------------------------------------------------------------


@pytest.mark.parametrize("action", list(Action))
def test_every_action_renders_as_a_valid_audit_event(action: Action) -> None:
    entry = replace(DOCTOR, action=action, query="name=mammadov", reason="unconscious in ER")
    event = audit.audit_event(audit.StoredRecord("rec-1", 3, 7, "0" * 64, "1" * 64, entry))
    assert validation.check_resource(event, "AuditEvent") is event


def test_the_audit_event_says_who_did_what_to_whom() -> None:
    search = replace(DOCTOR, action=Action.SEARCH, query="Observation?subject=Patient/pat-rashad")
    event = audit.audit_event(audit.StoredRecord("rec-1", 0, 1, "0" * 64, "1" * 64, search))
    assert event["type"]["code"] == "rest"
    assert event["subtype"] == [
        {"system": "http://hl7.org/fhir/restful-interaction", "code": "search", "display": "search"}
    ]
    assert (event["action"], event["outcome"]) == ("E", "0")
    assert event["recorded"] == "2026-11-23T09:00:00.000000Z"
    doctor, clinic = event["agent"]
    assert doctor["who"] == {
        "identifier": {"system": audit.USER_SYSTEM, "value": "dr-aliyeva"},
        "display": "Dr Leyla Aliyeva",
    }
    assert doctor["requestor"] is True
    assert doctor["network"] == {"address": "10.1.2.3", "type": "2"}
    assert clinic["who"] == {"reference": "Organization/clinic-1"}
    patient, resource, request = event["entity"]
    assert patient["what"] == {"reference": "Patient/pat-rashad"}
    assert patient["role"]["code"] == "1"  # object-role: Patient
    assert resource["what"] == {"reference": "Patient/pat-rashad/_history/1"}
    assert base64.b64decode(request["query"]).decode() == search.query
    assert request["detail"] == [{"type": "user-agent", "valueString": search.user_agent}]
    assert event["purposeOfEvent"][0]["coding"][0]["code"] == "TREAT"


@pytest.mark.parametrize(
    ("outcome", "code", "expected"),
    [
        (Outcome.SUCCESS, None, "0"),
        (Outcome.REFUSED, "403", "4"),
        (Outcome.ERROR, "404", "4"),
        (Outcome.ERROR, "500", "8"),
    ],
)
def test_outcomes_map_to_the_audit_event_outcome_codes(
    outcome: Outcome, code: str | None, expected: str
) -> None:
    entry = replace(CITIZEN, outcome=outcome, outcome_code=code)
    event = audit.audit_event(audit.StoredRecord("rec-1", 0, 1, "0" * 64, "1" * 64, entry))
    assert event["outcome"] == expected
    assert event.get("outcomeDesc") == code


# --- shafa audit verify ---------------------------------------------------------------------


def shafa(database: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shafa", *args],
        env=os.environ | {"SHAFA_DATABASE_URL": database.url},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_shafa_audit_verify_says_intact_then_where_it_was_broken(
    engine: AsyncEngine, database: Database
) -> None:
    run(engine, record_all(engine, a_morning_of_reads(30)))
    intact = shafa(database, "audit", "verify")
    assert intact.returncode == 0, intact.stderr
    assert "Audit log intact: 30 records" in intact.stdout

    chain = a_long_chain(run(engine, rows(engine)))
    run(
        engine,
        tamper(
            engine, audit_log.update().where(audit_log.c.id == chain[1].id).values(role="nurse")
        ),
    )
    broken = shafa(database, "audit", "verify")
    assert broken.returncode == 1
    assert f"chain {chain[1].chain}, seq 2 (record {chain[1].id})" in broken.stdout
    assert "edited" in broken.stdout


# --- the batching recorder: group commit for reads and searches -----------------------------


def audit_counts(engine: AsyncEngine) -> tuple[int, int]:
    async def counts() -> tuple[int, int]:
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(audit_log))
            indexed = await conn.scalar(select(func.count()).select_from(audit_patients))
        return stored or 0, indexed or 0

    return run(engine, counts())


def test_many_concurrent_readers_are_all_recorded_in_intact_chains(engine: AsyncEngine) -> None:
    recorder = audit.AuditRecorder(engine, batch_size=64)

    async def reader(n: int) -> list[str]:  # fifty doctors' sessions, ten reads each
        return [
            await recorder.record(doctor_reads(f"pat-{n}-{i}", i, user_id=f"dr-{n}"))
            for i in range(10)
        ]

    async def scenario() -> tuple[list[list[str]], audit.Verification, list[list[str]]]:
        ids = await asyncio.gather(*(reader(n) for n in range(50)))
        await recorder.close()
        async with engine.connect() as conn:
            found = [
                [s.id for s in (await audit.who_accessed(conn, f"pat-{n}-{i}")).records]
                for n in (0, 25, 49)
                for i in range(10)
            ]
        return ids, await verify(engine), found

    ids, result, found = run(engine, scenario())
    assert result.intact, result.breaks
    assert result.records == 500
    assert found == [[ids[n][i]] for n in (0, 25, 49) for i in range(10)]
    assert audit_counts(engine) == (500, 500)
    by_chain: dict[int, list[int]] = {}
    for row in run(engine, rows(engine)):
        by_chain.setdefault(row.chain, []).append(row.seq)
    assert all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_chain.values())


def test_recorders_of_two_processes_on_one_chain_and_single_records_leave_it_intact(
    engine: AsyncEngine,
) -> None:
    # Two workers' recorders that start on the same chain, while writes record one by one:
    # each time another moved the chain under a recorder, it must read the head again or move.
    first, second = (audit.AuditRecorder(engine, batch_size=16, chain=5) for _ in range(2))

    async def reader(recorder: audit.AuditRecorder, n: int) -> None:
        for i in range(10):
            await recorder.record(doctor_reads(f"pat-{n}", i, user_id=f"dr-{n}"))

    async def writer(n: int) -> None:
        for i in range(10):
            await audit.record_now(engine, doctor_reads(f"pat-w{n}", i, action=Action.UPDATE))

    async def scenario() -> audit.Verification:
        await asyncio.gather(
            *(reader(first, n) for n in range(20)),
            *(reader(second, n) for n in range(20, 40)),
            *(writer(n) for n in range(5)),
        )
        await first.close()
        await second.close()
        return await verify(engine)

    result = run(engine, scenario())
    assert result.intact, result.breaks
    assert result.records == 450
    assert audit_counts(engine) == (450, 450)


def test_a_waiting_reader_returns_once_the_record_is_visible_to_others(
    engine: AsyncEngine,
) -> None:
    # A long interval: the record waits in the buffer, and so does its caller.
    recorder = audit.AuditRecorder(engine, interval=0.2)

    async def scenario() -> tuple[bool, list[str], str]:
        recording = asyncio.ensure_future(recorder.record(DOCTOR))
        await asyncio.sleep(0.05)
        returned_early = recording.done()
        record_id = await recording
        async with engine.connect() as conn:  # another connection sees it at once
            seen = [s.id for s in (await audit.who_accessed(conn, RASHAD)).records]
        await recorder.close()
        return returned_early, seen, record_id

    returned_early, seen, record_id = run(engine, scenario())
    assert not returned_early
    assert seen == [record_id]


def test_a_lone_request_is_written_at_once_not_after_the_interval(engine: AsyncEngine) -> None:
    recorder = audit.AuditRecorder(engine, interval=30)

    async def scenario() -> float:
        started = time.monotonic()
        with recorder.serving():
            await recorder.record(DOCTOR)
        elapsed = time.monotonic() - started
        await recorder.close()
        return elapsed

    assert run(engine, scenario()) < 5


def test_requests_in_flight_share_one_batch_written_once_each_waits(engine: AsyncEngine) -> None:
    recorder = audit.AuditRecorder(engine, interval=30)

    async def request(n: int) -> str:
        with recorder.serving():
            await asyncio.sleep(0.05 * n)  # reading what it then records
            return await recorder.record(doctor_reads(f"pat-{n}", n))

    async def scenario() -> tuple[bool, float, list[Any]]:
        started = time.monotonic()
        requests = [asyncio.ensure_future(request(n)) for n in range(5)]
        await asyncio.sleep(0.15)
        first_answered_early = requests[0].done()  # the slowest is still reading
        await asyncio.gather(*requests)
        elapsed = time.monotonic() - started
        await recorder.close()
        async with engine.connect() as conn:
            if conn.dialect.name == "postgresql":  # rows of one statement share its xmin
                written = select(audit_log.c.chain, func.count(func.distinct(text("xmin::text"))))
            else:  # a batch goes to one chain; five batches to one of 16 by chance: 1 in 65,536
                written = select(audit_log.c.chain, func.count())
            found = (await conn.execute(written.group_by(audit_log.c.chain))).all()
        return first_answered_early, elapsed, found

    first_answered_early, elapsed, found = run(engine, scenario())
    assert not first_answered_early
    assert elapsed < 5
    assert len(found) == 1
    if engine.dialect.name == "postgresql":
        assert found[0][1] == 1


def test_a_request_that_records_nothing_does_not_hold_the_others_back(
    engine: AsyncEngine,
) -> None:
    recorder = audit.AuditRecorder(engine, interval=30)

    async def reads_formulary() -> None:
        with recorder.serving():
            await asyncio.sleep(0.1)

    async def reads_patient() -> float:
        with recorder.serving():
            started = time.monotonic()
            await recorder.record(DOCTOR)
            return time.monotonic() - started

    async def scenario() -> float:
        _, waited = await asyncio.gather(reads_formulary(), reads_patient())
        await recorder.close()
        return waited

    waited = run(engine, scenario())
    assert 0.05 < waited < 5  # written when the other request ended, not after the interval


def test_close_writes_the_records_nobody_waited_for(engine: AsyncEngine) -> None:
    recorder = audit.AuditRecorder(engine, interval=60, batch_size=1000)

    async def scenario() -> tuple[int, audit.Verification]:
        for entry in a_morning_of_reads(20):
            await recorder.record(entry, wait=False)
        buffered = recorder.buffered
        await recorder.close()
        return buffered, await verify(engine)

    buffered, result = run(engine, scenario())
    assert buffered == 20
    assert (result.intact, result.records) == (True, 20)
    with pytest.raises(RuntimeError, match="closed"):
        run(engine, recorder.record(DOCTOR))


def test_a_failed_batch_reaches_its_waiters_stores_nothing_and_the_next_succeeds(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    # Someone wrote seq 1 of every chain behind the head rows' backs: the batch's first record
    # collides with UNIQUE (chain, seq), after its chain's head row was made.
    squatters = [
        {
            "id": f"squatter-{chain}",
            "chain": chain,
            "seq": 1,
            "recorded": MORNING,
            "action": "read",
            "outcome": "success",
            "patients": "[]",
            "resources": "[]",
            "prev_hash": audit.GENESIS,
            "hash": audit.GENESIS,
        }
        for chain in range(audit.CHAINS)
    ]
    run(engine, tamper(engine, audit_log.insert().values(squatters)))
    recorder = audit.AuditRecorder(engine, interval=0.05)

    async def failing_batch() -> list[Any]:
        waiting = [recorder.record(doctor_reads(RASHAD, i)) for i in range(3)]
        unwaited = recorder.record(doctor_reads(NARGIZ, 9, request_id="req-unwaited"), wait=False)
        return await asyncio.gather(*waiting, unwaited, return_exceptions=True)

    async def next_batch() -> audit.Verification:
        await recorder.record(doctor_reads(NARGIZ, 10))
        await recorder.close()
        return await verify(engine)

    async def scenario() -> tuple[list[Any], tuple[int, int], int, audit.Verification]:
        outcomes = await failing_batch()
        async with engine.connect() as conn:
            stored = await conn.scalar(select(func.count()).select_from(audit_log))
            indexed = await conn.scalar(select(func.count()).select_from(audit_patients))
            heads = await conn.scalar(
                select(func.count()).select_from(audit_chains).where(audit_chains.c.seq > 0)
            )
        await tamper(engine, audit_log.delete())  # the squatters go
        return outcomes, (stored or 0, indexed or 0), heads or 0, await next_batch()

    with caplog.at_level("ERROR", logger="shafa.security.audit"):
        outcomes, counts, heads, result = run(engine, scenario())
    *waited, unwaited_id = outcomes
    # SQLAlchemy's DBAPIError, or on PostgreSQL's one-statement path the driver's own error.
    assert all(isinstance(outcome, DBAPIError | asyncpg.PostgresError) for outcome in waited)
    assert isinstance(unwaited_id, str)  # it returned at once; its loss is logged instead
    assert counts == (audit.CHAINS, 0)  # the squatters only
    assert heads == 0  # no chain's head moved: the failed batch left no trace
    lost = [r.getMessage() for r in caplog.records if "not stored: " in r.getMessage()]
    assert len(lost) == 1 and "req-unwaited" in lost[0] and unwaited_id in lost[0]
    assert (result.intact, result.records) == (True, 1)


def test_a_recorder_whose_database_is_unreachable_raises_to_its_waiters(
    database: Database, tmp_path: Any
) -> None:
    if database.backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/no-such-directory/shafa.db"
    else:
        url = database.url.rsplit("/", 1)[0] + "/shafa_no_such_database"
    engine = create_engine(Settings(database_url=url))
    recorder = audit.AuditRecorder(engine)

    async def scenario() -> None:
        try:
            await recorder.record(DOCTOR)
        finally:
            await recorder.close()

    with pytest.raises(DBAPIError):
        run(engine, scenario())


def test_a_full_buffer_holds_recorders_back(engine: AsyncEngine) -> None:
    recorder = audit.AuditRecorder(engine, batch_size=2, interval=0, max_buffered=4)

    async def scenario() -> tuple[int, int, int, audit.Verification]:
        # Another transaction holds the audit log: the recorder's writes wait for it.
        async with write_transaction(engine) as blocker:
            if blocker.dialect.name == "postgresql":
                await blocker.exec_driver_sql("LOCK TABLE audit_log IN EXCLUSIVE MODE")
            recordings = [
                asyncio.ensure_future(recorder.record(e, wait=False))
                for e in a_morning_of_reads(10)
            ]
            await asyncio.sleep(0.3)
            returned, buffered = sum(r.done() for r in recordings), recorder.buffered
        await asyncio.gather(*recordings)
        await recorder.close()
        return returned, buffered, recorder.buffered, await verify(engine)

    returned, buffered, left, result = run(engine, scenario())
    assert (returned, buffered) == (4, 4)
    assert left == 0
    assert (result.intact, result.records) == (True, 10)
