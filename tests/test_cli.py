"""The `shafa` command a newcomer runs: db upgrade, demo, serve."""

import asyncio
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.fhir.store import now
from shafa.security import accounts


def shafa(
    *args: str, database: Path, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shafa", *args],
        env=os.environ | {"SHAFA_DATABASE_URL": f"sqlite+aiosqlite:///{database}"} | (env or {}),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_upgrade_then_demo_loads_the_synthetic_country_once(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    assert shafa("db", "upgrade", database=database).returncode == 0

    first = shafa("demo", "--citizens", "30", database=database)
    assert first.returncode == 0, first.stderr
    assert re.search(r"Demo country: [\d,]+ resources of 30 citizens", first.stdout)
    with sqlite3.connect(database) as conn:
        before = dict(conn.execute("SELECT res_type, count(*) FROM resources GROUP BY res_type"))
    again = shafa("demo", "--citizens", "30", database=database)
    assert again.returncode == 0, again.stderr

    with sqlite3.connect(database) as conn:
        counts = dict(conn.execute("SELECT res_type, count(*) FROM resources GROUP BY res_type"))
        versions = conn.execute("SELECT max(version) FROM resources").fetchone()[0]
    assert counts == before
    assert counts["Patient"] == 30
    assert {"Organization", "Location", "Practitioner", "PractitionerRole", "Encounter"} <= set(
        counts
    )
    assert versions == 1  # loading twice changed nothing
    # The shipped medicinal product register is loaded with it, every pack once.
    assert counts["Medication"] == counts["MedicationKnowledge"] == 789
    # The registries' write checks and foldings ran as for an API write: names are searchable
    # the way people type them.
    with sqlite3.connect(database) as conn:
        folded = conn.execute(
            "SELECT count(DISTINCT resource_pk) FROM idx_string WHERE folded IS NOT NULL"
        ).fetchone()[0]
    assert folded == 30


def test_demo_on_an_unmigrated_database_says_what_to_run(tmp_path: Path) -> None:
    result = shafa("demo", "--citizens", "1", database=tmp_path / "empty.db")
    assert result.returncode != 0
    assert "shafa db upgrade" in result.stderr


def test_demo_accounts_are_made_once_and_their_printed_passwords_sign_in(tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    assert shafa("db", "upgrade", database=database).returncode == 0
    first = shafa("demo", "--citizens", "2", "--accounts", database=database)
    assert first.returncode == 0, first.stderr
    citizen = re.search(r"demo\.citizen \(citizen, FIN (\w{7})\): password (\S+)", first.stdout)
    assert citizen, first.stdout
    assert re.search(
        r"demo\.doctor \(doctor\): password \S+, TOTP secret [A-Z2-7]{32}", first.stdout
    )
    again = shafa("demo", "--citizens", "2", "--accounts", database=database)
    assert again.stdout.count(": exists") == 3

    async def sign_in() -> accounts.Identity:
        engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{database}"))
        try:
            return await accounts.authenticate(
                engine, "demo.citizen", citizen.group(2), None, now()
            )
        finally:
            await engine.dispose()

    identity = asyncio.run(sign_in())
    assert (identity.fin, identity.patient_id) == (citizen.group(1), "cit-00000001")
