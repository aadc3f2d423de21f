"""Accounts and login on a real database of each backend: a doctor, a pharmacist, a citizen and
another citizen; a fixed `now` stands in for the clock."""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pyotp
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa import registries
from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.security import accounts
from shafa.security.accounts import AccountError, Identity, LoginRefused, Refusal
from shafa.security.rules import FIN_SYSTEM, Kind, LockoutPolicy, Role, SessionPolicy
from shafa.security.tables import login_throttle, users
from tests.conftest import Database

T = TypeVar("T")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
POLICY = LockoutPolicy(max_attempts=5, lock_minutes=15)
SESSIONS = SessionPolicy(idle_minutes=30, absolute_hours=12)

RESOURCES = [
    {"resourceType": "Organization", "id": "clinic-1", "name": "Baku City Clinic 1"},
    {"resourceType": "Organization", "id": "pharmacy-7", "name": "Pharmacy 7"},
    {"resourceType": "Practitioner", "id": "aysel", "name": [{"family": "Mammadova"}]},
    {"resourceType": "Practitioner", "id": "rauf", "name": [{"family": "Aliyev"}]},
    {
        "resourceType": "PractitionerRole",
        "id": "aysel-gp",
        "practitioner": {"reference": "Practitioner/aysel"},
    },
    {
        "resourceType": "Patient",
        "id": "leyla",
        "identifier": [{"system": FIN_SYSTEM, "value": "5ABC123"}],
        "name": [{"given": ["Leyla"], "family": "Hasanova"}],
    },
    {
        "resourceType": "Patient",
        "id": "elvin",
        "identifier": [{"system": FIN_SYSTEM, "value": "7XYZ890"}],
        "name": [{"given": ["Elvin"], "family": "Quliyev"}],
    },
]


@pytest.fixture
def db(database: Database) -> Database:
    """The backend's database, emptied."""
    database.truncate()
    return database


def play(db: Database, story: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run a story against an engine on the test database."""

    async def main() -> T:
        engine = create_engine(Settings(database_url=db.url))
        try:
            async with write_transaction(engine) as conn:
                writes = [store.Write(r["resourceType"], r["id"], r, "PUT") for r in RESOURCES]
                await store.apply_writes(conn, writes, NOW)
            return await story(engine)
        finally:
            await engine.dispose()

    return asyncio.run(main())


async def add_doctor(engine: AsyncEngine) -> accounts.NewStaff:
    return await accounts.add_staff(
        engine,
        username="Dr.Aysel",
        password=PASSWORD,
        role=Role.DOCTOR,
        display_name="Dr. Aysel Mammadova",
        organization="Organization/clinic-1",
        practitioner="Practitioner/aysel",
        practitioner_role="PractitionerRole/aysel-gp",
        now=NOW,
    )


async def add_pharmacist(engine: AsyncEngine) -> accounts.NewStaff:
    return await accounts.add_staff(
        engine,
        username="rauf",
        password=PASSWORD,
        role=Role.PHARMACIST,
        display_name="Rauf Aliyev",
        organization="pharmacy-7",
        practitioner="Practitioner/rauf",
        now=NOW,
    )


async def add_leyla(engine: accounts.Db) -> Identity:
    return await accounts.add_citizen(
        engine, username="leyla", password=PASSWORD, fin="5abc123", now=NOW
    )


def code(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


async def login(
    engine: AsyncEngine, username: str, password: str, totp: str | None, at: datetime
) -> Identity:
    return await accounts.authenticate(engine, username, password, totp, at, policy=POLICY)


async def refusal(
    engine: AsyncEngine, username: str, password: str, totp: str | None, at: datetime
) -> LoginRefused:
    with pytest.raises(LoginRefused) as refused:
        await login(engine, username, password, totp, at)
    return refused.value


async def user_row(engine: AsyncEngine, username: str) -> Any:
    async with engine.connect() as conn:
        return (await conn.execute(select(users).where(users.c.username == username))).one()


def test_staff_and_citizens_are_linked_to_their_fhir_resources(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        doctor = await add_doctor(engine)
        pharmacist = await add_pharmacist(engine)
        leyla = await add_leyla(engine)
        assert doctor.identity == Identity(
            user_id=doctor.identity.user_id,
            username="dr.aysel",
            kind=Kind.STAFF,
            role=Role.DOCTOR,
            display_name="Dr. Aysel Mammadova",
            organization_id="clinic-1",
            practitioner_id="aysel",
            practitioner_role_id="aysel-gp",
        )
        assert doctor.provisioning_uri.startswith("otpauth://totp/Shafa:dr.aysel?secret=")
        assert doctor.totp_secret in doctor.provisioning_uri
        assert pharmacist.identity.organization_id == "pharmacy-7"
        assert pharmacist.totp_secret != doctor.totp_secret
        assert (leyla.kind, leyla.role, leyla.patient_id, leyla.fin) == (
            Kind.CITIZEN,
            Role.CITIZEN,
            "leyla",
            "5ABC123",
        )
        assert leyla.display_name == "Leyla Hasanova"
        listed = await accounts.list_accounts(engine)
        assert [a.identity.username for a in listed] == ["dr.aysel", "leyla", "rauf"]
        row = await user_row(engine, "leyla")
        assert row.password_hash.startswith("$argon2id$") and PASSWORD not in row.password_hash
        assert row.totp_secret is None

    play(db, story)


def test_accounts_are_refused_without_their_links_or_with_a_taken_name(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        with pytest.raises(AccountError, match="taken"):
            await accounts.add_citizen(
                engine, username="LEYLA", password=PASSWORD, fin="7XYZ890", now=NOW
            )
        with pytest.raises(AccountError, match="already has an account"):
            await accounts.add_citizen(
                engine, username="leyla2", password=PASSWORD, fin="5ABC123", now=NOW
            )
        with pytest.raises(AccountError, match="No Patient has FIN 9QQQ999"):
            await accounts.add_citizen(
                engine, username="nobody", password=PASSWORD, fin="9QQQ999", now=NOW
            )
        with pytest.raises(AccountError, match="Organization/clinic-9 is not in the FHIR store"):
            await accounts.add_staff(
                engine,
                username="ghost",
                password=PASSWORD,
                role=Role.NURSE,
                display_name="Ghost",
                organization="Organization/clinic-9",
                practitioner="Practitioner/aysel",
                now=NOW,
            )
        with pytest.raises(AccountError, match="not a reference to a Practitioner"):
            await accounts.add_staff(
                engine,
                username="ghost",
                password=PASSWORD,
                role=Role.NURSE,
                display_name="Ghost",
                organization="Organization/clinic-1",
                practitioner="Patient/leyla",
                now=NOW,
            )
        assert [a.identity.username for a in await accounts.list_accounts(engine)] == ["leyla"]

    play(db, story)


def test_a_fin_is_carried_by_one_patient_so_an_account_finds_that_one(db: Database) -> None:
    registries.install()  # as the application does: the citizens registry keeps a FIN unique

    async def story(engine: AsyncEngine) -> None:
        twin = RESOURCES[-1] | {"id": "elvin-twin"}
        with pytest.raises(store.WriteRejected, match="already held by Patient/elvin"):
            async with write_transaction(engine) as conn:
                twin_write = store.Write("Patient", "elvin-twin", twin, "PUT")
                await store.apply_writes(conn, [twin_write], NOW)
        elvin = await accounts.add_citizen(
            engine, username="elvin", password=PASSWORD, fin="7XYZ890", now=NOW
        )
        assert elvin.patient_id == "elvin"

    play(db, story)


def test_the_database_refuses_a_staff_account_without_organization(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_doctor(engine)
        with pytest.raises(Exception, match="ck_users_staff_linked"):
            async with engine.begin() as conn:
                await conn.execute(update(users).values(organization_id=None))

    play(db, story)


def test_a_citizen_logs_in_with_a_password_alone(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        leyla = await add_leyla(engine)
        assert await login(engine, " Leyla ", PASSWORD, None, NOW) == leyla

    play(db, story)


def test_staff_need_a_fresh_totp_code(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        doctor = await add_doctor(engine)
        secret = doctor.totp_secret
        assert (
            await refusal(engine, "dr.aysel", PASSWORD, None, NOW)
        ).reason is Refusal.TOTP_REQUIRED
        assert (
            await refusal(engine, "dr.aysel", PASSWORD, "000000x", NOW)
        ).reason is Refusal.BAD_TOTP
        an_hour_ago = code(secret, NOW - timedelta(hours=1))
        assert (
            await refusal(engine, "dr.aysel", PASSWORD, an_hour_ago, NOW)
        ).reason is Refusal.BAD_TOTP
        assert await login(engine, "dr.aysel", PASSWORD, code(secret, NOW), NOW) == doctor.identity
        # The same code again, in the same 30-second step: a replay.
        replay = await refusal(
            engine, "dr.aysel", PASSWORD, code(secret, NOW), NOW + timedelta(seconds=5)
        )
        assert replay.reason is Refusal.BAD_TOTP
        # One step of clock drift either way is allowed, but only for steps not used yet.
        early = NOW + timedelta(seconds=30)
        assert await login(engine, "dr.aysel", PASSWORD, code(secret, early), NOW)
        # A wrong password with a good code says nothing about the code.
        later = NOW + timedelta(minutes=5)
        wrong = await refusal(engine, "dr.aysel", "wrong password!", code(secret, later), later)
        assert wrong.reason is Refusal.BAD_CREDENTIALS

    play(db, story)


def test_concurrent_logins_with_one_code_let_one_in(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        doctor = await add_doctor(engine)
        now_code = code(doctor.totp_secret, NOW)
        results = await asyncio.gather(
            *(login(engine, "dr.aysel", PASSWORD, now_code, NOW) for _ in range(4)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, Identity) for r in results) == 1
        assert {r.reason for r in results if isinstance(r, LoginRefused)} == {Refusal.BAD_TOTP}

    play(db, story)


def test_brute_force_locks_the_account_until_the_lock_ends(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        doctor = await add_doctor(engine)
        for attempt in range(5):
            refused = await refusal(engine, "dr.aysel", f"guess number {attempt}", None, NOW)
            assert refused.reason is Refusal.BAD_CREDENTIALS
        unlock_at = NOW + timedelta(minutes=15)
        # Now even the right password and code are refused, with the time the lock ends.
        locked = await refusal(engine, "dr.aysel", PASSWORD, code(doctor.totp_secret, NOW), NOW)
        assert (locked.reason, locked.until) == (Refusal.LOCKED, unlock_at)
        just_before = unlock_at - timedelta(seconds=1)
        assert (await refusal(engine, "dr.aysel", PASSWORD, None, just_before)).until == unlock_at
        identity = await login(
            engine, "dr.aysel", PASSWORD, code(doctor.totp_secret, unlock_at), unlock_at
        )
        assert identity == doctor.identity
        row = await user_row(engine, "dr.aysel")
        assert (row.failed_attempts, row.locked_until) == (0, None)

    play(db, story)


def test_concurrent_guesses_get_exactly_the_allowed_tries(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        guesses = [login(engine, "leyla", f"guess number {n:02}", None, NOW) for n in range(20)]
        results = await asyncio.gather(*guesses, return_exceptions=True)
        reasons = [r.reason for r in results if isinstance(r, LoginRefused)]
        assert len(reasons) == 20
        assert reasons.count(Refusal.BAD_CREDENTIALS) == 5  # five passwords were checked
        assert reasons.count(Refusal.LOCKED) == 15  # the rest never reached the hash
        row = await user_row(engine, "leyla")
        assert (row.failed_attempts, row.locked_until) == (5, NOW + timedelta(minutes=15))

    play(db, story)


def test_an_unknown_user_and_a_wrong_password_get_the_same_answer(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        wrong = await refusal(engine, "leyla", "not her password", None, NOW)
        unknown = await refusal(engine, "leyla-nobody", "not her password", None, NOW)
        malformed = await refusal(engine, "?", "not her password", None, NOW)
        answers = {(r.reason, r.until, str(r), r.args) for r in (wrong, unknown, malformed)}
        assert answers == {(Refusal.BAD_CREDENTIALS, None, "bad_credentials", ("bad_credentials",))}

    play(db, story)


def test_a_lockout_does_not_tell_which_usernames_exist(db: Database) -> None:
    """An attacker who locks a name learns nothing: a real account and a name nobody has
    lock after the same tries, for the same time, with the same answer."""

    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        answers = {}
        for name in ("leyla", "leyla-nobody"):
            for attempt in range(5):
                refused = await refusal(engine, name, f"guess number {attempt}", None, NOW)
                assert refused.reason is Refusal.BAD_CREDENTIALS
            locked = await refusal(engine, name, "guess number 6", None, NOW)
            answers[name] = (locked.reason, locked.until, str(locked))
        assert answers["leyla"] == answers["leyla-nobody"]
        assert answers["leyla"][:2] == (Refusal.LOCKED, NOW + timedelta(minutes=15))
        later = NOW + timedelta(minutes=15)
        assert (await refusal(engine, "leyla-nobody", "x", None, later)).reason is (
            Refusal.BAD_CREDENTIALS
        )
        async with engine.connect() as conn:
            kept = (await conn.execute(select(login_throttle))).all()
        assert len(kept) == 1 and "leyla" not in repr(kept)  # only a digest of the name
        # A day after the last try the count is forgotten (and the row gone).
        await refusal(engine, "someone-else", "x", None, later + timedelta(days=1, seconds=1))
        async with engine.connect() as conn:
            digests = (await conn.execute(select(login_throttle.c.username_digest))).scalars()
            assert len(list(digests)) == 1

    play(db, story)


def test_concurrent_guesses_at_an_unknown_name_get_the_allowed_tries_too(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        guesses = [login(engine, "nobody", f"guess number {n:02}", None, NOW) for n in range(20)]
        results = await asyncio.gather(*guesses, return_exceptions=True)
        reasons = [r.reason for r in results if isinstance(r, LoginRefused)]
        assert (reasons.count(Refusal.BAD_CREDENTIALS), reasons.count(Refusal.LOCKED)) == (5, 15)

    play(db, story)


def test_an_inactive_account_is_told_so_only_with_the_right_password(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        async with engine.begin() as conn:
            await conn.execute(update(users).values(active=False))
        assert (
            await refusal(engine, "leyla", "not her password", None, NOW)
        ).reason is Refusal.BAD_CREDENTIALS
        assert (await refusal(engine, "leyla", PASSWORD, None, NOW)).reason is Refusal.INACTIVE

    play(db, story)


def test_an_administrators_lock_holds_until_unlocked_and_ends_sessions(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        leyla = await add_leyla(engine)
        session = await accounts.open_session(engine, leyla, NOW, policy=SESSIONS)
        await accounts.lock(engine, "leyla", NOW)
        assert (
            await accounts.session_identity(engine, session.session_id, NOW, policy=SESSIONS)
            is None
        )
        next_year = NOW + timedelta(days=365)
        locked = await refusal(engine, "leyla", PASSWORD, None, next_year)
        assert (locked.reason, locked.until) == (Refusal.LOCKED, None)
        await accounts.unlock(engine, "leyla", next_year)
        assert await login(engine, "leyla", PASSWORD, None, next_year) == leyla
        with pytest.raises(AccountError, match="no user 'nobody'"):
            await accounts.lock(engine, "nobody", NOW)

    play(db, story)


def test_a_new_password_replaces_the_old_and_ends_sessions(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        leyla = await add_leyla(engine)
        session = await accounts.open_session(engine, leyla, NOW, policy=SESSIONS)
        with pytest.raises(ValueError, match="at least 12"):
            await accounts.set_password(engine, "leyla", "short", NOW)
        await accounts.set_password(engine, "leyla", "a brand new passphrase", NOW)
        assert (
            await refusal(engine, "leyla", PASSWORD, None, NOW)
        ).reason is Refusal.BAD_CREDENTIALS
        assert await login(engine, "leyla", "a brand new passphrase", None, NOW) == leyla
        assert (
            await accounts.session_identity(engine, session.session_id, NOW, policy=SESSIONS)
            is None
        )

    play(db, story)


def test_a_hash_made_with_older_parameters_is_replaced_at_login(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        await add_leyla(engine)
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
        async with engine.begin() as conn:
            await conn.execute(update(users).values(password_hash=weak))
        await login(engine, "leyla", PASSWORD, None, NOW)
        rehashed = (await user_row(engine, "leyla")).password_hash
        assert rehashed != weak and "m=65536,t=3,p=4" in rehashed

    play(db, story)


def test_sessions_end_when_idle_at_their_absolute_end_and_at_logout(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        leyla = await add_leyla(engine)
        elvin = await accounts.add_citizen(
            engine, username="elvin", password=PASSWORD, fin="7XYZ890", now=NOW
        )

        async def who(session_id: str, at: datetime) -> Identity | None:
            live = await accounts.session_identity(engine, session_id, at, policy=SESSIONS)
            return None if live is None else live.identity

        hers = await accounts.open_session(engine, leyla, NOW, policy=SESSIONS)
        his = await accounts.open_session(engine, elvin, NOW, policy=SESSIONS)
        assert hers.session_id != his.session_id and hers.csrf_token != his.csrf_token
        assert hers.expires_at == NOW + timedelta(hours=12)
        live = await accounts.session_identity(engine, hers.session_id, NOW, policy=SESSIONS)
        assert live is not None and (live.identity, live.csrf_token) == (leyla, hers.csrf_token)
        assert await who(his.session_id, NOW) == elvin
        assert await who("a made-up session id", NOW) is None

        # Idle: each use pushes the idle limit on, 30 minutes without one ends it.
        at = NOW
        for _ in range(3):
            at += timedelta(minutes=29)
            assert await who(hers.session_id, at) == leyla
        assert await who(hers.session_id, at + timedelta(minutes=30)) is None
        assert await who(his.session_id, NOW + timedelta(minutes=30)) is None

        # Absolute: used every 20 minutes, it still ends 12 hours after login.
        steady = await accounts.open_session(engine, leyla, NOW, policy=SESSIONS)
        at = NOW
        while at + timedelta(minutes=20) < steady.expires_at:
            at += timedelta(minutes=20)
            assert await who(steady.session_id, at) == leyla
        assert await who(steady.session_id, steady.expires_at) is None

        # Logout.
        again = await accounts.open_session(engine, leyla, NOW, policy=SESSIONS)
        await accounts.close_session(engine, again.session_id, NOW + timedelta(minutes=1))
        assert await who(again.session_id, NOW + timedelta(minutes=2)) is None

    play(db, story)


def test_actions_run_on_a_connection_outside_a_transaction(db: Database) -> None:
    async def story(engine: AsyncEngine) -> None:
        async with engine.connect() as conn:
            leyla = await add_leyla(conn)
            assert await accounts.authenticate(conn, "leyla", PASSWORD, None, NOW) == leyla
            await conn.begin()
            with pytest.raises(RuntimeError, match="outside one"):
                await accounts.authenticate(conn, "leyla", PASSWORD, None, NOW)

    play(db, story)
