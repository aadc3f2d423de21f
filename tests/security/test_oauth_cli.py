"""`shafa clients` and `shafa keys`, as an operator runs them."""

import json
import sqlite3
from pathlib import Path

from tests.test_cli import shafa


def test_an_operator_registers_lists_and_disables_a_client(tmp_path: Path) -> None:
    database = tmp_path / "oauth.db"
    assert shafa("db", "upgrade", database=database).returncode == 0

    added = shafa("clients", "add", "Central Hospital HIS", "--scope", "system/*.cruds",
                  database=database)  # fmt: skip
    assert added.returncode == 0, added.stderr
    lines = added.stdout.splitlines()
    assert [line.split(": ")[0] for line in lines] == ["client_id", "client_secret"]
    client_id, secret = (line.split(": ", 1)[1] for line in lines)

    as_json = shafa("clients", "add", "Laboratory", "--scope", "system/Observation.write",
                    "--json", database=database)  # fmt: skip
    assert as_json.returncode == 0, as_json.stderr
    lab = json.loads(as_json.stdout)
    assert lab["scope"] == "system/Observation.cud"
    assert lab["grant_types"] == ["client_credentials"]
    assert lab["client_secret"] and lab["client_id"] != client_id

    with sqlite3.connect(database) as conn:
        hashes = [row[0] for row in conn.execute("SELECT secret_hash FROM oauth_clients")]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(secret in h or lab["client_secret"] in h for h in hashes)

    listed = shafa("clients", "list", database=database)
    assert f"{client_id}  active  Central Hospital HIS  [system/*.cruds]" in listed.stdout
    assert shafa("clients", "disable", client_id, database=database).returncode == 0
    listed = json.loads(shafa("clients", "list", "--json", database=database).stdout)
    states = {c["client_id"]: c["active"] for c in listed}
    assert states == {client_id: False, lab["client_id"]: True}

    unknown = shafa("clients", "disable", "nobody", database=database)
    assert unknown.returncode == 1 and "no client nobody" in unknown.stderr
    bad = shafa("clients", "add", "X", "--scope", "system/Unicorn.rs", database=database)
    assert bad.returncode == 2 and "not an R4 resource type" in bad.stderr


def test_an_operator_registers_a_public_app_for_the_authorization_code_grant(
    tmp_path: Path,
) -> None:
    database = tmp_path / "apps.db"
    assert shafa("db", "upgrade", database=database).returncode == 0
    added = shafa("clients", "add", "Sağlam Həyat", "--public",
                  "--grant-type", "authorization_code", "--grant-type", "refresh_token",
                  "--redirect-uri", "https://app.example.az/callback",
                  "--redirect-uri", "az.saglam:/callback",
                  "--scope", "patient/*.rs launch/patient openid fhirUser offline_access",
                  "--json", database=database)  # fmt: skip
    assert added.returncode == 0, added.stderr
    app = json.loads(added.stdout)
    assert app["client_secret"] is None and app["confidential"] is False
    assert app["grant_types"] == ["authorization_code", "refresh_token"]
    assert app["redirect_uris"] == ["https://app.example.az/callback", "az.saglam:/callback"]

    without_uri = shafa("clients", "add", "App", "--public", "--grant-type", "authorization_code",
                        "--scope", "patient/*.rs", database=database)  # fmt: skip
    assert without_uri.returncode == 2 and "redirect URI" in without_uri.stderr
    public_system = shafa("clients", "add", "HIS", "--public", "--scope", "system/*.rs",
                          database=database)  # fmt: skip
    assert public_system.returncode == 2 and "confidential" in public_system.stderr


def test_an_operator_rotates_the_signing_key(tmp_path: Path) -> None:
    database = tmp_path / "keys.db"
    assert shafa("db", "upgrade", database=database).returncode == 0
    first = shafa("keys", "rotate", database=database)
    second = shafa("keys", "rotate", database=database)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    listed = shafa("keys", "list", database=database).stdout.splitlines()
    assert len(listed) == 2
    assert all("ES256  verifying" in line for line in listed)
    assert "retires -" not in listed[0] and "retires -" in listed[1]


def test_clients_on_an_unmigrated_database_say_what_to_run(tmp_path: Path) -> None:
    result = shafa("clients", "list", database=tmp_path / "empty.db")
    assert result.returncode == 1 and "shafa db upgrade" in result.stderr
