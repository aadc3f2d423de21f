"""Signing keys: asymmetric keys in the database, rotated, published as a JWKS (RFC 7517 §5).

The newest activated, unretired key of the configured algorithm signs access tokens. Rotation
activates a new key and schedules every older one to retire once the longest access token it
may have signed has expired, so tokens already handed out keep verifying until then. The JWKS
lists every key not yet retired.
"""

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


def _import(algorithm: str, data: str | dict[str, Any], kid: str) -> AsymmetricKey:
    parameters: Any = {"kid": kid, "alg": algorithm, "use": "sig"}
    if algorithm == "ES256":
        return ECKey.import_key(data, parameters)
    return RSAKey.import_key(data, parameters)


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
    conn: AsyncConnection, now: datetime, algorithm: Algorithm, overlap: timedelta
) -> KeyInfo:
    """Activate a new signing key; every older unretired key retires at now + overlap.

    overlap is the longest lifetime of a token the old keys may have signed.
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
            private_key=key.as_pem(private=True).decode(),
            created=now,
            activated=now,
            retired=None,
        )
    )
    return KeyInfo(kid, algorithm, public, now, now, None)


async def signing_key(
    conn: AsyncConnection, now: datetime, algorithm: Algorithm, overlap: timedelta
) -> SigningKey:
    """The key that signs now; the first one is made on first use."""
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
        made = await rotate(conn, now, algorithm, overlap)
        row = (await conn.execute(select(k.kid, k.private_key).where(k.kid == made.kid))).one()
    return SigningKey(row.kid, algorithm, _import(algorithm, row.private_key, row.kid))


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
