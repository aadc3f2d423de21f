"""Signing keys at rest: with a passphrase, a copy of the database or a backup signs nothing."""

import asyncio
import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import select

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir.store import now
from shafa.security import keys, oauth
from shafa.security.tables import signing_keys
from tests.conftest import BACKENDS, LiveServer, create_pg_database, drop_pg_database
from tests.test_cli import shafa

PASSPHRASE = "correct horse battery staple, Bakı 2026"  # noqa: RUF001 (a non-ASCII one)
HOUR = timedelta(hours=1)


@pytest.fixture(params=BACKENDS)
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated database of its own: these tests make keys the shared one must not keep."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
        migrate.upgrade(url)
        yield url
        return
    url, dsn = create_pg_database()
    migrate.upgrade(url)
    yield url
    drop_pg_database(dsn)


def _stored_private_keys(url: str) -> list[str]:
    async def read() -> list[str]:
        engine = create_engine(Settings(database_url=url))
        try:
            async with engine.connect() as conn:
                return list((await conn.execute(select(signing_keys.c.private_key))).scalars())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_a_server_with_a_passphrase_signs_with_a_key_the_database_cannot_open(
    fresh_url: str, tmp_path: Path
) -> None:
    secret_file = tmp_path / "passphrase"
    secret_file.write_text(PASSPHRASE + "\n")  # as a mounted secret file usually ends
    settings = Settings(database_url=fresh_url, signing_key_passphrase_file=secret_file)
    client, secret = asyncio.run(_add_client(settings))
    with LiveServer(settings) as server:
        root = f"http://127.0.0.1:{server.port}"
        answer = httpx.post(
            f"{root}/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client, secret),
        )
        assert answer.status_code == 200, answer.text
        jwks = httpx.get(f"{root}/.well-known/jwks.json").json()
    token = answer.json()["access_token"]

    (stored,) = _stored_private_keys(fresh_url)
    assert keys.encrypted(stored)
    (public,) = jwks["keys"]
    assert "d" not in public
    # The token verifies with the published public key alone.
    decoded = jwt.decode(token, ECKey.import_key(public), algorithms=["ES256"])
    assert decoded.claims["client_id"] == client

    async def open_with(passphrase: str | None) -> keys.SigningKey:
        engine = create_engine(Settings(database_url=fresh_url))
        try:
            async with write_transaction(engine) as conn:
                return await keys.signing_key(conn, now(), "ES256", HOUR, passphrase=passphrase)
        finally:
            await engine.dispose()

    # Whoever holds only the database (a copy, a backup) cannot sign with it.
    with pytest.raises(keys.KeyLocked, match="is encrypted"):
        asyncio.run(open_with(None))
    with pytest.raises(keys.KeyLocked, match="does not open"):
        asyncio.run(open_with("a guess"))
    assert asyncio.run(open_with(PASSPHRASE)).kid == public["kid"]


async def _add_client(settings: Settings) -> tuple[str, str]:
    engine = create_engine(settings)
    try:
        client, secret = await oauth.add_client(engine, "HIS", "system/*.rs", now())
    finally:
        await engine.dispose()
    assert secret is not None
    return client.client_id, secret


def test_an_operator_encrypts_the_keys_made_before_a_passphrase_was_set(tmp_path: Path) -> None:
    database = tmp_path / "keys.db"
    assert shafa("db", "upgrade", database=database).returncode == 0
    assert shafa("keys", "rotate", database=database).returncode == 0
    refused = shafa("keys", "encrypt", database=database)
    assert refused.returncode == 2 and "SHAFA_SIGNING_KEY_PASSPHRASE" in refused.stderr

    secret_file = tmp_path / "passphrase"
    secret_file.write_text(PASSPHRASE)
    env = {"SHAFA_SIGNING_KEY_PASSPHRASE_FILE": str(secret_file)}
    rotated = shafa("keys", "rotate", database=database, env=env)
    assert rotated.returncode == 0, rotated.stderr
    encrypted = shafa("keys", "encrypt", database=database, env=env)
    assert encrypted.returncode == 0, encrypted.stderr
    assert encrypted.stdout.startswith("1 signing key(s) encrypted: ")  # the older, plain one
    with sqlite3.connect(database) as conn:
        stored = [row[0] for row in conn.execute("SELECT private_key FROM signing_keys")]
    assert len(stored) == 2 and all(keys.encrypted(pem) for pem in stored)
    again = shafa("keys", "encrypt", database=database, env=env)
    assert again.stdout.strip() == "0 signing key(s) encrypted."
