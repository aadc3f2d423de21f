"""Account rules as pure functions: roles, FIN and username formats, passwords, lockout, sessions,
and the scopes each role may grant an app.

No database, HTTP or clock here: callers pass `now` and the stored values.
"""

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from shafa.registries.citizens import rules as citizen_rules
from shafa.security.scopes import ResourceScope, ScopeError, Scopes, narrow, parse_scopes, within


class Kind(StrEnum):
    """Who an account belongs to: a health or agency worker, or a citizen."""

    STAFF = "staff"
    CITIZEN = "citizen"


class Role(StrEnum):
    """The roles of issue 4; the codes are stored, so they never change once released."""

    DOCTOR = "doctor"
    NURSE = "nurse"
    PHARMACIST = "pharmacist"
    LABORATORY = "laboratory"
    CALL_CENTER_OPERATOR = "call-center-operator"
    AGENCY_OFFICER = "agency-officer"
    ANALYST = "analyst"
    MINISTRY_STAFF = "ministry-staff"
    REGISTRY_ADMIN = "registry-admin"
    SYSTEM_ADMIN = "system-admin"
    CITIZEN = "citizen"


STAFF_ROLES = tuple(role for role in Role if role is not Role.CITIZEN)


def kind_of(role: Role) -> Kind:
    """Citizens hold the citizen role and only they do."""
    return Kind.CITIZEN if role is Role.CITIZEN else Kind.STAFF


# FIN (fərdi identifikasiya nömrəsi), the national personal identification number that links a
# citizen's account to their Patient: the citizens registry defines it (its system and form).
FIN_SYSTEM = citizen_rules.FIN_SYSTEM


class RuleBroken(ValueError):
    """Input an account rule refuses; the message says which rule and how to comply."""


class InvalidFin(RuleBroken):
    """Not a FIN: 7 upper-case Latin letters and digits."""


def normalise_fin(text: str) -> str:
    """The FIN in its stored form (trimmed, upper case); InvalidFin if it is not one."""
    fin = text.strip().upper()
    problem = citizen_rules.fin_problem(fin)
    if problem is not None:
        raise InvalidFin(
            f"{text!r} is not a FIN: it {problem} (7 digits and letters, such as 5ABC123)"
        )
    return fin


USERNAME_PATTERN = re.compile(r"[a-z0-9][a-z0-9._@-]{2,63}")


class InvalidUsername(RuleBroken):
    """Not a username this system issues."""


def normalise_username(text: str) -> str:
    """The username as stored: trimmed, lower case, 3-64 of a-z 0-9 . _ @ - (letter or digit first).

    Lower case so that "Aysel" and "aysel" cannot be two accounts.
    """
    username = text.strip().lower()
    if not USERNAME_PATTERN.fullmatch(username):
        raise InvalidUsername(
            f"{text!r} is not a valid username: 3-64 characters of a-z, 0-9, '.', '_', '@', '-',"
            " starting with a letter or digit"
        )
    return username


MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 1024  # hashing costs the same for any length; this only bounds the input


class WeakPassword(RuleBroken):
    """A password the policy refuses; the message says why."""


def check_password(password: str, username: str, common: Collection[str]) -> None:
    """Refuse a password shorter than 12, far too long, common, or made of the username.

    NIST SP 800-63B §5.1.1.2: a length floor and a blocklist of common passwords rather than
    rules about character classes. `common` holds lower-case passwords.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"The password must have at most {MAX_PASSWORD_LENGTH} characters")
    folded = password.lower()
    if folded in common:
        raise WeakPassword("The password is one of the most common passwords")
    if len(set(folded)) < 4:
        raise WeakPassword("The password repeats too few different characters")
    if username and username.lower() in folded:
        raise WeakPassword("The password must not contain the username")


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """After max_attempts failed logins in a row, the account is locked for lock_minutes."""

    max_attempts: int = 5
    lock_minutes: int = 15


# An administrator's lock (`shafa users lock`): until an administrator unlocks.
LOCKED_INDEFINITELY = datetime(9999, 12, 31, tzinfo=UTC)


def locked_until(stored: datetime | None, now: datetime) -> datetime | None:
    """When the lock ends, or None when the account is not locked at `now`."""
    if stored is None or stored <= now:
        return None
    return stored


@dataclass(frozen=True, slots=True)
class Attempt:
    """A login try charged to an account before its password is checked.

    Charging first, under the row lock, is what keeps concurrent guesses from getting extra
    tries: the (max_attempts + 1)-th guess finds the account locked whatever the timing.
    """

    failed_attempts: int
    locked_until: datetime | None


def charge_attempt(
    failed_attempts: int, stored_lock: datetime | None, now: datetime, policy: LockoutPolicy
) -> Attempt | None:
    """The account's state with one more try counted, or None if it is locked at `now`.

    An expired lock starts a fresh count. The try that reaches max_attempts locks the account;
    a successful login clears the count (see cleared()).
    """
    if locked_until(stored_lock, now) is not None:
        return None
    count = (0 if stored_lock is not None else failed_attempts) + 1
    if count >= policy.max_attempts:
        return Attempt(count, now + timedelta(minutes=policy.lock_minutes))
    return Attempt(count, None)


def cleared(stored_lock: datetime | None) -> Attempt:
    """The state after a successful login: no failures, and no lock unless an administrator's."""
    return Attempt(0, LOCKED_INDEFINITELY if stored_lock == LOCKED_INDEFINITELY else None)


def totp_step_fresh(step: int, last_used_step: int | None) -> bool:
    """RFC 6238 §5.2: a code is accepted once; later logins need a code of a later step."""
    return last_used_step is None or step > last_used_step


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """A session ends after idle_minutes without use, and absolute_hours after login anyway."""

    idle_minutes: int = 30
    absolute_hours: int = 12


def session_expires(created: datetime, policy: SessionPolicy) -> datetime:
    """The absolute end of a session opened at `created`."""
    return created + timedelta(hours=policy.absolute_hours)


def session_alive(
    last_seen: datetime,
    expires_at: datetime,
    revoked_at: datetime | None,
    now: datetime,
    policy: SessionPolicy,
) -> bool:
    """Whether a session may still be used at `now` (OWASP Session Management: idle and
    absolute timeouts, and logout revokes it on the server)."""
    if revoked_at is not None and revoked_at <= now:
        return False
    if now >= expires_at:
        return False
    return now < last_seen + timedelta(minutes=policy.idle_minutes)


# last_seen is rewritten at most this often, so that reading pages does not write every time.
SESSION_TOUCH_INTERVAL = timedelta(minutes=1)


def session_needs_touch(last_seen: datetime, now: datetime) -> bool:
    """Whether last_seen is stale enough to record `now` as the latest use."""
    return now - last_seen >= SESSION_TOUCH_INTERVAL


# --- what an app may do for a user (SMART App Launch 2.0 authorization code grant) -----------

# The most each role's apps may do, whatever the app asks and may have. Citizens act in their
# own patient context (and only read and search: the FHIR API takes no writes from patient
# tokens yet); staff in the user context. Roles without an entry get no resource scope, so
# their app is refused: analysts and ministry staff see figures, never one patient's data.
ROLE_SCOPE_CEILING: dict[Role, Scopes] = {
    role: parse_scopes(text)
    for role, text in {
        Role.CITIZEN: "patient/*.rs",
        Role.DOCTOR: "user/*.cruds",
        Role.NURSE: "user/*.crus",
        Role.PHARMACIST: "user/*.rs user/MedicationDispense.cu",
        Role.LABORATORY: (
            "user/*.rs user/Observation.cu user/DiagnosticReport.cu user/Specimen.cu"
        ),
        Role.CALL_CENTER_OPERATOR: (
            "user/Patient.rs user/Appointment.rs user/Practitioner.rs user/Organization.rs"
        ),
        Role.REGISTRY_ADMIN: (
            "user/Patient.crus user/Practitioner.crus user/PractitionerRole.crus"
            " user/Organization.crus user/Location.crus user/Medication.crus"
            " user/MedicationKnowledge.crus"
        ),
        Role.SYSTEM_ADMIN: "user/AuditEvent.rs",
    }.items()
}
# Scopes about identity and the session an app may have along with its resource scopes.
# launch/patient only for citizens: the patient is the citizen; staff cannot pick a patient in
# a standalone launch here, so it is dropped for them (SMART lets a server grant less).
# launch and launch/encounter (EHR launch), profile (SMART v1) and online_access (no session-
# bound refresh tokens here) are dropped.
IDENTITY_SCOPES = frozenset({"openid", "fhirUser", "offline_access"})


def app_scopes(role: Role, registered: Scopes, requested: Scopes) -> Scopes:
    """The scopes a user of this role grants an app that asked for `requested`.

    ScopeError when the app asks for more than it is registered for (never cut down: that is
    the app's bug), or when nothing of its resource scopes is left for this role. Otherwise the
    resource scopes of the role's context (patient/ for a citizen, user/ for staff), each cut
    down to the role's ceiling, and the identity scopes the app asked for.
    """
    narrow(registered, requested)
    context = "patient" if role is Role.CITIZEN else "user"
    ceiling = ROLE_SCOPE_CEILING.get(role, Scopes())
    granted: list[ResourceScope] = []
    for wanted in requested.resources:
        if wanted.context == context:
            granted.extend(part for part in within(ceiling, wanted) if part not in granted)
    if not granted:
        raise ScopeError(
            f"Nothing asked for is open to the role {role.value}, which may have "
            f"{context}/ scopes within: {str(ceiling) or 'none'}"
        )
    other = requested.other & IDENTITY_SCOPES
    if role is Role.CITIZEN:
        other |= requested.other & {"launch/patient"}
    return Scopes(tuple(granted), frozenset(other))
