"""The account rules, as plain functions over plain values."""

from datetime import UTC, datetime, timedelta

import pytest

from shafa.security import rules
from shafa.security.credentials import common_passwords
from shafa.security.rules import Kind, LockoutPolicy, Role, SessionPolicy
from shafa.security.scopes import ScopeError, parse_scopes, within

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = LockoutPolicy(max_attempts=3, lock_minutes=15)


def test_every_staff_role_is_staff_and_only_citizens_are_citizens() -> None:
    assert set(map(rules.kind_of, rules.STAFF_ROLES)) == {Kind.STAFF}
    assert rules.kind_of(Role.CITIZEN) is Kind.CITIZEN
    assert len(rules.STAFF_ROLES) == 10
    assert "call-center-operator" in {role.value for role in rules.STAFF_ROLES}


@pytest.mark.parametrize("text", ["5ABC123", "5abc123", " 7xyz890 ", "0000000"])
def test_a_fin_is_seven_latin_letters_and_digits(text: str) -> None:
    assert rules.normalise_fin(text) == text.strip().upper()


CYRILLIC_LOOKALIKE = "5\u0410\u0412\u0421123"


@pytest.mark.parametrize(
    "text", ["", "5ABC12", "5ABC1234", "5ABC-12", "5ƏBC123", CYRILLIC_LOOKALIKE]
)
def test_anything_else_is_not_a_fin(text: str) -> None:
    with pytest.raises(rules.InvalidFin, match="not a FIN"):
        rules.normalise_fin(text)


def test_usernames_are_stored_in_lower_case() -> None:
    assert rules.normalise_username(" Dr.Aysel ") == "dr.aysel"
    for bad in ["ab", "-aysel", "aysel mammadova", "a" * 65, "ayşel"]:
        with pytest.raises(rules.InvalidUsername):
            rules.normalise_username(bad)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pass1", "at least 12"),
        ("x" * 1025, "at most 1024"),
        ("Password1234", "most common"),
        ("QwertyUiop123", "most common"),
        ("abababababab", "too few different"),
        ("aysel-secret-99", "username"),
    ],
)
def test_the_password_policy_refuses_weak_passwords(password: str, why: str) -> None:
    with pytest.raises(rules.WeakPassword, match=why):
        rules.check_password(password, "aysel", common_passwords())


def test_a_long_uncommon_password_passes() -> None:
    rules.check_password("correct horse battery", "aysel", common_passwords())


def test_the_shipped_list_is_lower_case_and_long_enough_to_matter() -> None:
    common = common_passwords()
    assert len(common) > 90
    assert all(p == p.lower() and len(p) >= rules.MIN_PASSWORD_LENGTH for p in common)


def test_tries_are_counted_and_the_last_allowed_one_locks() -> None:
    assert rules.charge_attempt(0, None, NOW, POLICY) == rules.Attempt(1, None)
    assert rules.charge_attempt(1, None, NOW, POLICY) == rules.Attempt(2, None)
    locked = rules.charge_attempt(2, None, NOW, POLICY)
    assert locked == rules.Attempt(3, NOW + timedelta(minutes=15))


def test_a_locked_account_gets_no_try_until_the_lock_ends() -> None:
    until = NOW + timedelta(minutes=15)
    assert rules.charge_attempt(3, until, NOW, POLICY) is None
    assert rules.charge_attempt(3, until, until - timedelta(seconds=1), POLICY) is None
    assert rules.locked_until(until, NOW) == until
    # At the end of the lock the count starts again.
    assert rules.locked_until(until, until) is None
    assert rules.charge_attempt(3, until, until, POLICY) == rules.Attempt(1, None)


def test_an_administrators_lock_does_not_end_by_itself() -> None:
    later = datetime(2100, 1, 1, tzinfo=UTC)
    assert rules.charge_attempt(0, rules.LOCKED_INDEFINITELY, later, POLICY) is None


def test_a_totp_code_is_good_once() -> None:
    assert rules.totp_step_fresh(100, None)
    assert rules.totp_step_fresh(101, 100)
    assert not rules.totp_step_fresh(100, 100)
    assert not rules.totp_step_fresh(99, 100)


def test_sessions_end_when_idle_at_their_absolute_end_or_on_logout() -> None:
    policy = SessionPolicy(idle_minutes=30, absolute_hours=12)
    expires = rules.session_expires(NOW, policy)
    assert expires == NOW + timedelta(hours=12)
    assert rules.session_alive(NOW, expires, None, NOW + timedelta(minutes=29), policy)
    assert not rules.session_alive(NOW, expires, None, NOW + timedelta(minutes=30), policy)
    late_use = expires - timedelta(minutes=1)
    assert rules.session_alive(late_use, expires, None, late_use, policy)
    assert not rules.session_alive(late_use, expires, None, expires, policy)
    assert not rules.session_alive(NOW, expires, NOW, NOW + timedelta(minutes=1), policy)
    assert rules.session_alive(NOW, expires, NOW + timedelta(hours=1), NOW, policy)


def test_last_use_is_recorded_at_most_once_a_minute() -> None:
    assert not rules.session_needs_touch(NOW, NOW + timedelta(seconds=59))
    assert rules.session_needs_touch(NOW, NOW + timedelta(minutes=1))


# --- what apps may do for each role ------------------------------------------------------------

APP = parse_scopes("patient/*.cruds user/*.cruds openid fhirUser launch/patient offline_access")


@pytest.mark.parametrize(
    ("role", "asked", "granted"),
    [
        (Role.CITIZEN, "patient/*.cruds launch/patient", "patient/*.rs launch/patient"),
        (Role.CITIZEN, "user/*.cruds patient/Observation.rs", "patient/Observation.rs"),
        (Role.DOCTOR, "user/*.cruds openid fhirUser", "user/*.cruds fhirUser openid"),
        (Role.NURSE, "user/*.cruds launch/patient", "user/*.crus"),
        (Role.PHARMACIST, "user/*.cruds", "user/*.rs user/MedicationDispense.cu"),
        (Role.PHARMACIST, "user/MedicationDispense.cruds", "user/MedicationDispense.crus"),
        (Role.CALL_CENTER_OPERATOR, "user/Patient.cruds", "user/Patient.rs"),
        (Role.SYSTEM_ADMIN, "user/*.rs", "user/AuditEvent.rs"),
        (Role.REGISTRY_ADMIN, "user/Medication.cruds", "user/Medication.crus"),
    ],
)
def test_each_role_grants_an_app_at_most_its_ceiling(role: Role, asked: str, granted: str) -> None:
    assert str(rules.app_scopes(role, APP, parse_scopes(asked))) == granted


@pytest.mark.parametrize(
    ("role", "asked"),
    [
        (Role.CITIZEN, "user/*.cruds"),
        (Role.NURSE, "user/Patient.d"),
        (Role.ANALYST, "user/*.rs"),
        (Role.MINISTRY_STAFF, "user/Patient.rs"),
        (Role.DOCTOR, "patient/*.rs"),
        (Role.CALL_CENTER_OPERATOR, "user/Observation.rs"),
    ],
)
def test_nothing_left_for_the_role_is_refused(role: Role, asked: str) -> None:
    with pytest.raises(ScopeError, match="Nothing asked for"):
        rules.app_scopes(role, APP, parse_scopes(asked))


def test_more_than_the_app_is_registered_for_is_refused_not_cut() -> None:
    with pytest.raises(ScopeError, match="more than this client may have"):
        rules.app_scopes(Role.DOCTOR, parse_scopes("user/*.rs"), parse_scopes("user/*.cruds"))


def test_within_keeps_the_narrower_type_and_the_common_interactions() -> None:
    ceiling = parse_scopes("user/*.rs user/Observation.cu")
    (wanted,) = parse_scopes("user/Observation.cruds?category=laboratory").resources
    assert [str(s) for s in within(ceiling, wanted)] == [
        "user/Observation.crus?category=laboratory"
    ]
    (other,) = parse_scopes("patient/*.rs").resources
    assert within(ceiling, other) == ()
