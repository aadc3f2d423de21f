"""Signing keys: asymmetric keys in the database, rotated, published as a JWKS (RFC 7517 §5).

The newest activated, unretired key of the configured algorithm signs access tokens. With a
passphrase configured (SHAFA_SIGNING_KEY_PASSPHRASE_FILE) private keys are stored as encrypted
PKCS#8 (PBES2: PBKDF2-SHA256 and AES-256-CBC, from the cryptography package), so the database
alone signs nothing; public parts are stored in the clear for the JWKS. Rotation
activates a new key and schedules every older one to retire once the longest access token it
may have signed has expired, so tokens already handed out keep verifying until then. The JWKS
lists every key not yet retired.
"""

import hashlib
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.db.engine import read_transaction
from shafa.security.tables import signing_keys

Algorithm = Literal["ES256", "RS256"]
AsymmetricKey = ECKey | RSAKey
RSA_BITS = 3072  # NIST SP 800-57: 3072-bit RSA for protection beyond 2030


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A signing key as operators and the JWKS see it (no private part)."""

    kid: str
    algorithm: str
    public_jwk: dict[str, Any]
    created: datetime
    activated: datetime | None
    retired: datetime | None

    def live(self, now: datetime) -> bool:
        """True while the key verifies tokens (not retired at now)."""
        return self.retired is None or self.retired > now


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The key that signs: its id, algorithm and the private key."""

    kid: str
    algorithm: Algorithm
    key: AsymmetricKey


def generate_key(algorithm: Algorithm, kid: str) -> AsymmetricKey:
    """A new private key for the algorithm (ES256: P-256; RS256: 3072-bit RSA)."""
    parameters: Any = {"kid": kid, "alg": algorithm, "use": "sig"}
    if algorithm == "ES256":
        return ECKey.generate_key("P-256", parameters=parameters, private=True)
    return RSAKey.generate_key(RSA_BITS, parameters=parameters, private=True)


class KeyLocked(Exception):
    """A private signing key cannot be read: encrypted with no passphrase, or another one."""


_ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


def encrypted(private_pem: str) -> bool:
    """True when a stored private key is encrypted (PKCS#8 EncryptedPrivateKeyInfo)."""
    return private_pem.startswith(_ENCRYPTED)


def _import(
    algorithm: str, data: str | dict[str, Any], kid: str, passphrase: str | None = None
) -> AsymmetricKey:
    parameters: Any = {"kid": kid, "alg": algorithm, "use": "sig"}
    kind = ECKey if algorithm == "ES256" else RSAKey
    if isinstance(data, str) and encrypted(data):
        if passphrase is None:
            raise KeyLocked(
                f"Signing key {kid} is encrypted: set SHAFA_SIGNING_KEY_PASSPHRASE_FILE"
            )
        try:
            return kind.import_key(data, parameters, password=passphrase)
        except ValueError:
            raise KeyLocked(f"The signing-key passphrase does not open key {kid}") from None
    return kind.import_key(data, parameters)


def _stored_private(key: AsymmetricKey, passphrase: str | None) -> str:
    return key.as_pem(private=True, password=passphrase).decode()


def _info(row: Any) -> KeyInfo:
    return KeyInfo(
        row.kid,
        row.algorithm,
        json.loads(row.public_jwk),
        row.created,
        row.activated,
        row.retired,
    )


async def rotate(
    conn: AsyncConnection,
    now: datetime,
    algorithm: Algorithm,
    overlap: timedelta,
    *,
    passphrase: str | None = None,
) -> KeyInfo:
    """Activate a new signing key; every older unretired key retires at now + overlap.

    overlap is the longest lifetime of a token the old keys may have signed; with a
    passphrase the private key is stored encrypted under it.
    """
    kid = secrets.token_urlsafe(12)
    key = generate_key(algorithm, kid)
    await conn.execute(
        update(signing_keys).where(signing_keys.c.retired.is_(None)).values(retired=now + overlap)
    )
    public = key.as_dict(private=False)
    await conn.execute(
        signing_keys.insert().values(
            kid=kid,
            algorithm=algorithm,
            public_jwk=json.dumps(public),
            private_key=_stored_private(key, passphrase),
            created=now,
            activated=now,
            retired=None,
        )
    )
    return KeyInfo(kid, algorithm, public, now, now, None)


async def signing_key(
    conn: AsyncConnection,
    now: datetime,
    algorithm: Algorithm,
    overlap: timedelta,
    *,
    passphrase: str | None = None,
) -> SigningKey:
    """The key that signs now; the first one is made on first use (encrypted under the
    passphrase, when one is given). KeyLocked when it is encrypted and cannot be opened."""
    k = signing_keys.c
    row = (
        await conn.execute(
            select(k.kid, k.private_key)
            .where(
                k.algorithm == algorithm,
                k.activated.is_not(None),
                k.activated <= now,
                k.retired.is_(None) | (k.retired > now),
            )
            .order_by(k.activated.desc())
            .limit(1)
        )
    ).first()
    if row is None:
        made = await rotate(conn, now, algorithm, overlap, passphrase=passphrase)
        row = (await conn.execute(select(k.kid, k.private_key).where(k.kid == made.kid))).one()
    return SigningKey(row.kid, algorithm, _opened(algorithm, row.kid, row.private_key, passphrase))


# Opening an encrypted key costs ~0.8 ms of key derivation: each process opens each key once.
_OPENED: dict[tuple[str, str], AsymmetricKey] = {}


def _opened(algorithm: str, kid: str, stored: str, passphrase: str | None) -> AsymmetricKey:
    if not encrypted(stored):
        return _import(algorithm, stored, kid)
    cache_key = (kid, hashlib.sha256(f"{passphrase}|{stored}".encode()).hexdigest())
    key = _OPENED.get(cache_key)
    if key is None:
        key = _OPENED[cache_key] = _import(algorithm, stored, kid, passphrase)
    return key


async def encrypt_stored(conn: AsyncConnection, passphrase: str) -> list[str]:
    """Encrypt under the passphrase every stored private key still in the clear; their kids.

    For a deployment that sets a passphrase after keys were made; keys already encrypted
    (under this passphrase or another) are left as they are.
    """
    k = signing_keys.c
    rows = (await conn.execute(select(k.kid, k.algorithm, k.private_key))).all()
    done = []
    for row in rows:
        if encrypted(row.private_key):
            continue
        key = _import(row.algorithm, row.private_key, row.kid)
        await conn.execute(
            update(signing_keys)
            .where(k.kid == row.kid)
            .values(private_key=_stored_private(key, passphrase))
        )
        done.append(row.kid)
    return done


async def list_keys(conn: AsyncConnection) -> list[KeyInfo]:
    """Every signing key, oldest first."""
    rows = await conn.execute(select(signing_keys).order_by(signing_keys.c.created))
    return [_info(row) for row in rows]


def jwks(keys: list[KeyInfo], now: datetime) -> dict[str, Any]:
    """The JSON Web Key Set of the keys that verify tokens at now (RFC 7517 §5)."""
    return {"keys": [key.public_jwk for key in keys if key.live(now)]}


@dataclass(frozen=True, slots=True)
class VerificationKey:
    """A public key that verifies tokens until it retires."""

    algorithm: str
    key: AsymmetricKey
    retired: datetime | None


class KeyRing:
    """The public keys that verify tokens, read from the database and kept for a while.

    Verifying a token must not cost a query: the keys are reloaded every `refresh` seconds, and
    at once (at most once a second) when a token names a kid not seen yet, which is how a
    worker learns of a rotation made elsewhere. Retirement is checked against each key's own
    instant, so a kept key never outlives it.
    """

    def __init__(self, engine: AsyncEngine, refresh: float = 60.0) -> None:
        self.engine = engine
        self.refresh = refresh
        self._keys: Mapping[str, VerificationKey] = {}
        self._loaded = float("-inf")

    async def _load(self) -> None:
        async with read_transaction(self.engine) as conn:
            infos = await list_keys(conn)
        self._keys = {
            info.kid: VerificationKey(
                info.algorithm, _import(info.algorithm, info.public_jwk, info.kid), info.retired
            )
            for info in infos
        }
        self._loaded = time.monotonic()

    async def get(self, kid: str, now: datetime) -> VerificationKey | None:
        """The key with this kid if it verifies tokens at now, else None."""
        age = time.monotonic() - self._loaded
        if age > self.refresh or (kid not in self._keys and age > 1.0):
            await self._load()
        key = self._keys.get(kid)
        if key is None or (key.retired is not None and key.retired <= now):
            return None
        return key
