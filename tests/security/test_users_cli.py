"""`shafa users ...` as an operator runs it: in a subprocess, on an SQLite file."""

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pyotp
import pytest

from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.security import accounts
from shafa.security.accounts import LoginRefused, Refusal
from shafa.security.rules import FIN_SYSTEM
from tests.test_cli import shafa

PASSWORD = "correct horse battery"
CLINIC = [
    {"resourceType": "Organization", "id": "clinic-1", "name": "Baku City Clinic 1"},
    {"resourceType": "Practitioner", "id": "aysel", "name": [{"family": "Mammadova"}]},
    {
        "resourceType": "Patient",
        "id": "leyla",
        "identifier": [{"system": FIN_SYSTEM, "value": "5ABC123"}],
        "name": [{"given": ["Leyla"], "family": "Hasanova"}],
    },
]


@pytest.fixture
def database(tmp_path: Path) -> Path:
    """A migrated SQLite file holding a clinic, its doctor and a patient."""
    path = tmp_path / "users.db"
    assert shafa("db", "upgrade", database=path).returncode == 0

    async def load() -> None:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{path}"))
        try:
            async with write_transaction(engine) as conn:
                writes = [store.Write(r["resourceType"], r["id"], r, "PUT") for r in CLINIC]
                await store.apply_writes(conn, writes, store.now())
        finally:
            await engine.dispose()

    asyncio.run(load())
    return path


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def add_doctor(database: Path, password_file: Path, username: str = "aysel") -> str:
    """Add the doctor; the TOTP secret it printed."""
    added = shafa(
        *("users", "add", username, "--role", "doctor", "--name", "Dr. Aysel Mammadova"),
        *("--organization", "Organization/clinic-1", "--practitioner", "Practitioner/aysel"),
        *("--password-file", str(password_file)),
        database=database,
    )
    assert added.returncode == 0, added.stderr
    lines = dict(line.split(": ", 1) for line in added.stdout.splitlines() if ": " in line)
    assert lines["totp_uri"].startswith("otpauth://totp/Shafa:aysel?secret=" + lines["totp_secret"])
    return lines["totp_secret"]


def login(database: Path, username: str, password: str, code: str | None) -> accounts.Identity:
    async def run() -> accounts.Identity:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{database}"))
        try:
            return await accounts.authenticate(engine, username, password, code, datetime.now(UTC))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def test_an_operator_adds_a_doctor_and_a_citizen_who_can_then_log_in(
    database: Path, password_file: Path
) -> None:
    secret = add_doctor(database, password_file)
    citizen = shafa(
        *("users", "add", "leyla", "--citizen", "--fin", "5abc123"),
        *("--password-file", str(password_file)),
        database=database,
    )
    assert citizen.returncode == 0, citizen.stderr
    assert "Patient/leyla, FIN 5ABC123" in citizen.stdout
    assert "totp" not in citizen.stdout

    listed = shafa("users", "list", database=database)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "aysel\tdoctor\tDr. Aysel Mammadova\tOrganization/clinic-1 Practitioner/aysel\tactive",
        "leyla\tcitizen\tLeyla Hasanova\tPatient/leyla FIN 5ABC123\tactive",
    ]
    doctor = login(database, "aysel", PASSWORD, pyotp.TOTP(secret).now())
    assert (doctor.role, doctor.organization_id) == ("doctor", "clinic-1")
    assert login(database, "leyla", PASSWORD, None).patient_id == "leyla"
    with sqlite3.connect(database) as conn:
        stored = conn.execute("SELECT password_hash FROM users").fetchall()
    assert all(row[0].startswith("$argon2id$") for row in stored)


def test_lock_unlock_and_a_new_password(
    database: Path, password_file: Path, tmp_path: Path
) -> None:
    shafa(
        "users",
        "add",
        "leyla",
        "--citizen",
        "--fin",
        "5ABC123",
        "--password-file",
        str(password_file),
        database=database,
    )
    assert shafa("users", "lock", "leyla", database=database).returncode == 0
    assert "leyla\tcitizen" in (listed := shafa("users", "list", database=database).stdout)
    assert listed.rstrip().endswith("\tlocked")
    with pytest.raises(LoginRefused) as refused:
        login(database, "leyla", PASSWORD, None)
    assert refused.value.reason is Refusal.LOCKED
    assert shafa("users", "unlock", "leyla", database=database).returncode == 0
    assert login(database, "leyla", PASSWORD, None).username == "leyla"

    # The new password asked for twice at a prompt that does not echo.
    changed = shafa(
        "users", "passwd", "leyla", database=database, stdin="another fine passphrase\n" * 2
    )
    assert changed.returncode == 0, changed.stderr
    assert login(database, "leyla", "another fine passphrase", None).username == "leyla"


NO_ORGANIZATION = ("--organization", "Organization/none", "--practitioner", "Practitioner/aysel")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("leyla2", "--citizen", "--fin", "5AB-123"), "is not a FIN"),
        (("leyla2", "--citizen", "--fin", "9QQQ999"), "No Patient has FIN 9QQQ999"),
        (("leyla", "--citizen", "--fin", "5ABC123"), "taken"),
        (("leyla2", "--citizen", "--fin", "5ABC123"), "already has an account"),
        (("bad name", "--citizen", "--fin", "5ABC123"), "not a valid username"),
        (("nurse", "--role", "nurse", "--name", "N"), "staff need --role, --organization"),
        (
            ("nurse", "--role", "nurse", "--name", "N", *NO_ORGANIZATION),
            "Organization/none is not in the FHIR store",
        ),
    ],
)
def test_add_refuses_with_a_reason(
    database: Path, password_file: Path, args: tuple[str, ...], message: str
) -> None:
    first = shafa(
        "users",
        "add",
        "leyla",
        "--citizen",
        "--fin",
        "5ABC123",
        "--password-file",
        str(password_file),
        database=database,
    )
    assert first.returncode == 0, first.stderr
    refused = shafa("users", "add", *args, "--password-file", str(password_file), database=database)
    assert refused.returncode != 0
    assert message in refused.stderr
    assert shafa("users", "list", database=database).stdout.count("\n") == 1


@pytest.mark.parametrize(
    ("password", "message"),
    [("too short", "at least 12"), ("Password1234", "most common")],
)
def test_weak_passwords_are_refused(
    database: Path, tmp_path: Path, password: str, message: str
) -> None:
    weak = tmp_path / "weak"
    weak.write_text(password)
    refused = shafa(
        "users",
        "add",
        "leyla",
        "--citizen",
        "--fin",
        "5ABC123",
        "--password-file",
        str(weak),
        database=database,
    )
    assert refused.returncode == 1
    assert message in refused.stderr
    assert shafa("users", "list", database=database).stdout == ""


def test_unknown_users_and_an_unmigrated_database_are_named(database: Path, tmp_path: Path) -> None:
    unknown = shafa("users", "lock", "nobody", database=database)
    assert (unknown.returncode, unknown.stderr.strip()) == (1, "shafa: There is no user 'nobody'")
    empty = shafa("users", "list", database=tmp_path / "empty.db")
    assert empty.returncode == 1 and "shafa db upgrade" in empty.stderr
