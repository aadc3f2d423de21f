"""Account actions: create and manage accounts, log in, and open, read and close sessions.

Each action owns its transactions. Pass an AsyncEngine, or an AsyncConnection outside any
transaction: a login try must stay counted even when the caller's own work fails afterwards.
"""

import asyncio
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Row, and_, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.config import Settings, get_settings
from shafa.db.engine import write_transaction
from shafa.fhir import jsonio, search, store
from shafa.fhir.errors import FhirError
from shafa.security import credentials, rules
from shafa.security.rules import FIN_SYSTEM, Kind, Role
from shafa.security.tables import login_throttle, sessions, users

Db = AsyncEngine | AsyncConnection


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is acting: what the per-request access context is built from."""

    user_id: int
    username: str
    kind: Kind
    role: Role
    display_name: str
    organization_id: str | None = None
    practitioner_id: str | None = None
    practitioner_role_id: str | None = None
    patient_id: str | None = None
    fin: str | None = None


class Refusal(StrEnum):
    """Why a login was refused; the page shows each in the user's language."""

    BAD_CREDENTIALS = "bad_credentials"  # unknown username or wrong password: one answer
    LOCKED = "locked"  # too many failures (until says when it ends) or locked by an admin
    TOTP_REQUIRED = "totp_required"  # password right, staff account, no code given
    BAD_TOTP = "bad_totp"  # code wrong, outside the allowed drift, or already used
    INACTIVE = "inactive"  # account switched off


class LoginRefused(Exception):
    """A refused login: reason, and for LOCKED the end of the lock (None: until an admin)."""

    def __init__(self, reason: Refusal, until: datetime | None = None) -> None:
        super().__init__(reason.value if until is None else f"{reason.value} until {until}")
        self.reason = reason
        self.until = until


class AccountError(Exception):
    """An account action refused; the message says why, for an operator."""


@dataclass(frozen=True, slots=True)
class Account:
    """An account as an operator sees it: identity and lockout state."""

    identity: Identity
    active: bool
    failed_attempts: int
    locked_until: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewStaff:
    """A staff account just created, with its TOTP secret to hand over once."""

    identity: Identity
    totp_secret: str
    provisioning_uri: str


@dataclass(frozen=True, slots=True)
class NewSession:
    """A session just opened: the id for the cookie (never stored) and its CSRF token."""

    session_id: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class LiveSession:
    """A session in use: who it belongs to, and the CSRF token its forms must carry."""

    identity: Identity
    csrf_token: str
    expires_at: datetime


def lockout_policy(settings: Settings | None = None) -> rules.LockoutPolicy:
    """The lockout policy of the settings (SHAFA_LOCKOUT_ATTEMPTS, SHAFA_LOCKOUT_MINUTES)."""
    settings = settings or get_settings()
    return rules.LockoutPolicy(settings.lockout_attempts, settings.lockout_minutes)


def session_policy(settings: Settings | None = None) -> rules.SessionPolicy:
    """The session lifetimes of the settings (SHAFA_SESSION_IDLE_MINUTES, ..._ABSOLUTE_HOURS)."""
    settings = settings or get_settings()
    return rules.SessionPolicy(settings.session_idle_minutes, settings.session_absolute_hours)


@asynccontextmanager
async def _transaction(db: Db) -> AsyncIterator[AsyncConnection]:
    if isinstance(db, AsyncEngine):
        async with write_transaction(db) as conn:
            yield conn
        return
    if db.in_transaction():
        raise RuntimeError("Account actions commit their own work: pass a connection outside one")
    async with db.begin():
        yield db


def _identity(row: Row[Any]) -> Identity:
    return Identity(
        user_id=row.id,
        username=row.username,
        kind=Kind(row.kind),
        role=Role(row.role),
        display_name=row.display_name,
        organization_id=row.organization_id,
        practitioner_id=row.practitioner_id,
        practitioner_role_id=row.practitioner_role_id,
        patient_id=row.patient_id,
        fin=row.fin,
    )


async def _user(conn: AsyncConnection, username: str) -> Row[Any] | None:
    return (await conn.execute(select(users).where(users.c.username == username))).first()


async def _existing_user(conn: AsyncConnection, username: str) -> Row[Any]:
    row = await _user(conn, rules.normalise_username(username))
    if row is None:
        raise AccountError(f"There is no user {username!r}")
    return row


def _reference_id(reference: str, res_type: str) -> str:
    """The id of 'Type/id' (or of a bare id) for a reference that must be of res_type."""
    prefix, slash, fhir_id = reference.strip().rpartition("/")
    if slash and prefix != res_type:
        raise AccountError(f"{reference!r} is not a reference to a {res_type}")
    if not fhir_id:
        raise AccountError(f"{reference!r} names no {res_type}")
    return fhir_id


async def _existing_resource(conn: AsyncConnection, reference: str, res_type: str) -> str:
    fhir_id = _reference_id(reference, res_type)
    try:
        await store.read(conn, res_type, fhir_id)
    except FhirError:
        raise AccountError(f"{res_type}/{fhir_id} is not in the FHIR store") from None
    return fhir_id


async def _insert(conn: AsyncConnection, values: dict[str, Any]) -> Row[Any]:
    try:
        result = await conn.execute(users.insert().values(**values).returning(users))
    except IntegrityError as error:  # another operator added the same username or FIN meanwhile
        what = "username" if "username" in str(error.orig) else "FIN"
        raise AccountError(
            f"The {what} is taken: {values['username']!r}, {values.get('fin')}"
        ) from None
    return result.one()


def _checked_password(password: str, username: str) -> str:
    rules.check_password(password, username, credentials.common_passwords())
    return credentials.hash_password(password)


async def add_staff(
    db: Db,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    organization: str,
    practitioner: str,
    practitioner_role: str | None = None,
    now: datetime,
) -> NewStaff:
    """Create a staff account linked to its Organization, Practitioner (and PractitionerRole),
    which must exist in the FHIR store; returns its new TOTP secret."""
    username = rules.normalise_username(username)
    if rules.kind_of(role) is not Kind.STAFF:
        raise AccountError(f"{role.value} is not a staff role")
    if not display_name.strip():
        raise AccountError("A staff account needs a display name")
    password_hash = _checked_password(password, username)
    secret = credentials.new_totp_secret()
    async with _transaction(db) as conn:
        if await _user(conn, username) is not None:
            raise AccountError(f"The username {username!r} is taken")
        row = await _insert(
            conn,
            {
                "username": username,
                "kind": Kind.STAFF.value,
                "role": role.value,
                "display_name": display_name.strip(),
                "password_hash": password_hash,
                "totp_secret": secret,
                "organization_id": await _existing_resource(conn, organization, "Organization"),
                "practitioner_id": await _existing_resource(conn, practitioner, "Practitioner"),
                "practitioner_role_id": (
                    await _existing_resource(conn, practitioner_role, "PractitionerRole")
                    if practitioner_role
                    else None
                ),
                "failed_attempts": 0,
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
        )
    return NewStaff(_identity(row), secret, credentials.provisioning_uri(secret, username))


def _patient_name(patient: dict[str, Any]) -> str:
    for name in patient.get("name", []):
        if name.get("text"):
            return str(name["text"])
        parts = [*name.get("given", []), name.get("family", "")]
        if any(parts):
            return " ".join(str(part) for part in parts if part)
    return ""


async def patient_by_fin(conn: AsyncConnection, fin: str) -> tuple[str, dict[str, Any]]:
    """The id and content of the live Patient whose identifier is this FIN (the citizens
    registry lets one live Patient only hold a FIN: registries.citizens.tables)."""
    fin = rules.normalise_fin(fin)
    found = search.criteria("Patient", [("identifier", f"{FIN_SYSTEM}|{fin}")])
    matches = await search.matching(conn, "Patient", found, limit=1)
    if not matches:
        raise AccountError(f"No Patient has FIN {fin} ({FIN_SYSTEM})")
    return matches[0].fhir_id, jsonio.parse(matches[0].content)


async def add_citizen(
    db: Db,
    *,
    username: str,
    password: str,
    fin: str,
    display_name: str | None = None,
    now: datetime,
) -> Identity:
    """Create a citizen's account linked to the Patient that carries their FIN; the display
    name defaults to the Patient's name."""
    username = rules.normalise_username(username)
    fin = rules.normalise_fin(fin)
    password_hash = _checked_password(password, username)
    async with _transaction(db) as conn:
        if await _user(conn, username) is not None:
            raise AccountError(f"The username {username!r} is taken")
        patient_id, patient = await patient_by_fin(conn, fin)
        taken = await conn.execute(select(users.c.username).where(users.c.fin == fin))
        if taken.first() is not None:
            raise AccountError(f"FIN {fin} already has an account")
        row = await _insert(
            conn,
            {
                "username": username,
                "kind": Kind.CITIZEN.value,
                "role": Role.CITIZEN.value,
                "display_name": (display_name or "").strip() or _patient_name(patient) or fin,
                "password_hash": password_hash,
                "patient_id": patient_id,
                "fin": fin,
                "failed_attempts": 0,
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
        )
    return _identity(row)


async def list_accounts(db: Db) -> list[Account]:
    """Every account, by username."""
    async with _transaction(db) as conn:
        rows = await conn.execute(select(users).order_by(users.c.username))
        return [
            Account(_identity(r), r.active, r.failed_attempts, r.locked_until, r.created_at)
            for r in rows
        ]


async def _revoke_sessions(conn: AsyncConnection, user_id: int, now: datetime) -> None:
    await conn.execute(
        update(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def lock(db: Db, username: str, now: datetime) -> None:
    """Lock an account until an administrator unlocks it, and end its sessions."""
    async with _transaction(db) as conn:
        row = await _existing_user(conn, username)
        await conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(locked_until=rules.LOCKED_INDEFINITELY, updated_at=now)
        )
        await _revoke_sessions(conn, row.id, now)


async def unlock(db: Db, username: str, now: datetime) -> None:
    """Lift a lock, an administrator's or one after failed logins, and clear the failures."""
    async with _transaction(db) as conn:
        row = await _existing_user(conn, username)
        await conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(locked_until=None, failed_attempts=0, updated_at=now)
        )


async def set_password(db: Db, username: str, password: str, now: datetime) -> None:
    """Give an account a new password (policy-checked) and end its sessions."""
    username = rules.normalise_username(username)
    password_hash = _checked_password(password, username)
    async with _transaction(db) as conn:
        row = await _existing_user(conn, username)
        await conn.execute(
            update(users)
            .where(users.c.id == row.id)
            .values(password_hash=password_hash, updated_at=now)
        )
        await _revoke_sessions(conn, row.id, now)


# Lost races of one login's charge before it gives up; each loss means another try was counted,
# so the account locks long before this many.
_CHARGE_ROUNDS = 100


async def _charge(db: Db, username: str, now: datetime, policy: rules.LockoutPolicy) -> Row[Any]:
    """Count a try against the account before its password is checked (compare-and-set)."""
    for _ in range(_CHARGE_ROUNDS):
        async with _transaction(db) as conn:
            row = await _user(conn, username)
        if row is None:
            raise _Unknown
        attempt = rules.charge_attempt(row.failed_attempts, row.locked_until, now, policy)
        if attempt is None:
            until = rules.locked_until(row.locked_until, now)
            raise LoginRefused(
                Refusal.LOCKED, None if until == rules.LOCKED_INDEFINITELY else until
            )
        async with _transaction(db) as conn:
            charged = await conn.execute(
                update(users)
                .where(
                    users.c.id == row.id,
                    users.c.failed_attempts == row.failed_attempts,
                    users.c.locked_until.is_not_distinct_from(row.locked_until),
                )
                .values(failed_attempts=attempt.failed_attempts, locked_until=attempt.locked_until)
            )
        if charged.rowcount == 1:
            return row
    raise LoginRefused(Refusal.BAD_CREDENTIALS)


class _Unknown(Exception):
    """No account has this username."""


# A guesser's count under a name no account has is forgotten a day after their last try.
THROTTLE_KEPT = timedelta(days=1)


async def _charge_unknown(
    db: Db, username: str, now: datetime, policy: rules.LockoutPolicy
) -> None:
    """Count a try under a username no account has, as _charge counts an account's.

    Otherwise a lockout would tell which usernames exist: five wrong passwords lock a real
    account and, without this, nothing else. Raises LoginRefused(LOCKED) as for an account.
    """
    digest = hashlib.sha256(username.encode()).hexdigest()
    t = login_throttle.c
    insert = (postgresql if db.dialect.name == "postgresql" else sqlite).insert
    async with _transaction(db) as conn:
        await conn.execute(delete(login_throttle).where(t.last_attempt < now - THROTTLE_KEPT))
        await conn.execute(
            insert(login_throttle)
            .values(username_digest=digest, failed_attempts=0, last_attempt=now)
            .on_conflict_do_nothing(index_elements=["username_digest"])
        )
        # The row exists now; FOR UPDATE makes concurrent guesses count one after another
        # (on SQLite the write transaction holds the database's one write lock already).
        row = (
            await conn.execute(
                select(t.failed_attempts, t.locked_until)
                .where(t.username_digest == digest)
                .with_for_update()
            )
        ).one()
        attempt = rules.charge_attempt(row.failed_attempts, row.locked_until, now, policy)
        if attempt is None:
            raise LoginRefused(Refusal.LOCKED, rules.locked_until(row.locked_until, now))
        await conn.execute(
            update(login_throttle)
            .where(t.username_digest == digest)
            .values(
                failed_attempts=attempt.failed_attempts,
                locked_until=attempt.locked_until,
                last_attempt=now,
            )
        )


async def authenticate(
    db: Db,
    username: str,
    password: str,
    totp_code: str | None,
    now: datetime,
    *,
    policy: rules.LockoutPolicy | None = None,
) -> Identity:
    """Log in with password (and TOTP code for staff); LoginRefused says why not.

    Every try is counted before the password is checked, so concurrent guesses get no more than
    the policy's tries; an unknown username gets the same answer as a wrong password after the
    same Argon2 work, and is locked after as many tries, for as long. Only a complete login
    clears the count.
    """
    policy = policy or lockout_policy()
    try:
        name = rules.normalise_username(username)
        row = await _charge(db, name, now, policy)
    except (rules.InvalidUsername, _Unknown) as error:
        if isinstance(error, _Unknown):
            await _charge_unknown(db, name, now, policy)
        await asyncio.to_thread(credentials.spend_like_a_verification, password)
        raise LoginRefused(Refusal.BAD_CREDENTIALS) from None
    # Argon2 takes ~0.1 s of CPU and releases the GIL: off the event loop, other requests go on.
    if not await asyncio.to_thread(credentials.verify_password, row.password_hash, password):
        raise LoginRefused(Refusal.BAD_CREDENTIALS)
    if not row.active:
        raise LoginRefused(Refusal.INACTIVE)
    step = None
    if row.kind == Kind.STAFF:
        if not totp_code:
            raise LoginRefused(Refusal.TOTP_REQUIRED)
        step = credentials.totp_step(row.totp_secret, totp_code, now)
        if step is None:
            raise LoginRefused(Refusal.BAD_TOTP)
    changes: dict[str, Any] = {"failed_attempts": 0, "locked_until": None}
    if step is not None:
        changes["totp_last_step"] = step
    if credentials.needs_rehash(row.password_hash):
        rehashed = await asyncio.to_thread(credentials.hash_password, password)
        changes |= {"password_hash": rehashed, "updated_at": now}
    async with _transaction(db) as conn:
        # One statement decides, so two logins with the same code cannot both pass.
        conditions = [
            users.c.id == row.id,
            or_(users.c.locked_until.is_(None), users.c.locked_until != rules.LOCKED_INDEFINITELY),
        ]
        if step is not None:
            conditions.append(or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step))
        done = await conn.execute(update(users).where(and_(*conditions)).values(**changes))
    if done.rowcount != 1:
        async with _transaction(db) as conn:
            latest = await _user(conn, name)
        if latest is None or latest.locked_until == rules.LOCKED_INDEFINITELY:
            raise LoginRefused(Refusal.LOCKED)
        raise LoginRefused(Refusal.BAD_TOTP)  # the code's step was used already (RFC 6238 §5.2)
    return _identity(row)


def _hash_session_id(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


async def open_session(
    db: Db, identity: Identity, now: datetime, *, policy: rules.SessionPolicy | None = None
) -> NewSession:
    """Open a web session for someone who just logged in."""
    policy = policy or session_policy()
    session_id = secrets.token_urlsafe(32)  # 256 bits
    csrf_token = secrets.token_urlsafe(32)
    expires_at = rules.session_expires(now, policy)
    async with _transaction(db) as conn:
        await conn.execute(
            sessions.insert().values(
                id_hash=_hash_session_id(session_id),
                user_id=identity.user_id,
                csrf_token=csrf_token,
                created_at=now,
                last_seen_at=now,
                expires_at=expires_at,
            )
        )
    return NewSession(session_id, csrf_token, expires_at)


async def session_identity(
    db: Db, session_id: str, now: datetime, *, policy: rules.SessionPolicy | None = None
) -> LiveSession | None:
    """The identity behind a session cookie, or None once it is unknown, idle too long, past its
    absolute end, logged out, or its account is inactive; records the use."""
    policy = policy or session_policy()
    id_hash = _hash_session_id(session_id)
    query = (
        select(users, sessions.c.csrf_token, sessions.c.last_seen_at, sessions.c.expires_at)
        .add_columns(sessions.c.revoked_at)
        .select_from(sessions.join(users, users.c.id == sessions.c.user_id))
        .where(sessions.c.id_hash == id_hash)
    )
    async with _transaction(db) as conn:
        row = (await conn.execute(query)).first()
        if row is None or not row.active:
            return None
        if not rules.session_alive(row.last_seen_at, row.expires_at, row.revoked_at, now, policy):
            return None
        if rules.session_needs_touch(row.last_seen_at, now):
            await conn.execute(
                update(sessions)
                .where(sessions.c.id_hash == id_hash, sessions.c.last_seen_at < now)
                .values(last_seen_at=now)
            )
    return LiveSession(_identity(row), row.csrf_token, row.expires_at)


async def close_session(db: Db, session_id: str, now: datetime) -> None:
    """Log out: the session cannot be used again."""
    async with _transaction(db) as conn:
        await conn.execute(
            update(sessions)
            .where(
                sessions.c.id_hash == _hash_session_id(session_id),
                sessions.c.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )


async def identity_of(db: Db, user_id: int, now: datetime) -> Identity | None:
    """The identity of an account by its id, or None when it is unknown, inactive or locked.

    What the FHIR API asks about the user of an access token (its sub) before trusting the
    role and organisation the account has now, not those it had when the token was issued.
    """
    async with _transaction(db) as conn:
        row = (await conn.execute(select(users).where(users.c.id == user_id))).first()
    if row is None or not row.active:
        return None
    if rules.locked_until(row.locked_until, now) is not None:
        return None
    return _identity(row)


async def user_id_of(db: Db, username: str) -> int | None:
    """The id of the account with this username, or None: how audit records name a person."""
    async with _transaction(db) as conn:
        row = await _user(conn, rules.normalise_username(username))
    return None if row is None else int(row.id)
