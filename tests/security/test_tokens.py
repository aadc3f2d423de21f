"""Access token verification: every forgery an intruder might try is refused, with its reason."""

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from joserfc import jwt

from shafa.db.engine import read_transaction
from shafa.fhir.store import now
from shafa.security import keys
from shafa.security.tokens import (
    Audience,
    TokenClaims,
    TokenRefused,
    issue_access_token,
    read_header,
    verify_bearer,
)
from tests.security.conftest import Realm


@pytest.fixture
def issued(realm: Realm) -> Iterator[tuple[Realm, str]]:
    """A realm and a genuine token a hospital system got from it."""
    client_id, secret = realm.add_client("Central Hospital HIS", "system/*.cruds")
    assert secret is not None
    answer = realm.client_credentials(client_id, secret)
    yield realm, answer.json()["access_token"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _part(value: dict) -> str:
    return _b64(json.dumps(value).encode())


def _refused(realm: Realm, token: str) -> str:
    with pytest.raises(TokenRefused) as refused:
        realm.verify(token)
    return refused.value.reason


def _our_key(realm: Realm) -> keys.SigningKey:
    """The server's signing key, as only the server holds it."""

    async def get(engine):
        async with read_transaction(engine) as conn:
            return await keys.signing_key(conn, now(), "ES256", timedelta(minutes=10))

    return realm.run(get)


def _resign(realm: Realm, audience: Audience, at_offset: timedelta) -> str:
    """A token signed with the server's own key, with other claims."""
    token, _claims = issue_access_token(
        _our_key(realm),
        audience,
        subject="x",
        client_id="x",
        scope="system/*.rs",
        now=now() + at_offset,
        lifetime=timedelta(minutes=10),
    )
    return token


def test_a_genuine_token_verifies(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    assert isinstance(realm.verify(token), TokenClaims)


def test_an_expired_token_is_refused(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    with pytest.raises(TokenRefused) as refused:
        realm.verify(token, at=now() + timedelta(minutes=11))
    assert refused.value.reason == "expired"
    old = _resign(realm, realm.audience, -timedelta(hours=1))
    assert _refused(realm, old) == "expired"


def test_a_token_from_the_future_is_refused(issued: tuple[Realm, str]) -> None:
    realm, _token = issued
    assert _refused(realm, _resign(realm, realm.audience, timedelta(minutes=5))) == (
        "not_yet_valid"
    )


def test_a_token_signed_by_another_key_with_our_kid_is_refused(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    kid = read_header(token)["kid"]
    impostor = keys.SigningKey(kid, "ES256", keys.generate_key("ES256", kid))
    forged, _claims = issue_access_token(
        impostor,
        realm.audience,
        subject="intruder",
        client_id="intruder",
        scope="system/*.cruds",
        now=now(),
        lifetime=timedelta(minutes=5),
    )
    assert _refused(realm, forged) == "signature"


def test_a_tampered_payload_is_refused(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["scope"] = "system/*.cruds patient/*.cruds"
    assert _refused(realm, f"{header}.{_part(claims)}.{signature}") == "signature"


def test_an_unsigned_alg_none_token_is_refused(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    header = read_header(token) | {"alg": "none"}
    payload = token.split(".")[1]
    assert _refused(realm, f"{_part(header)}.{payload}.") == "algorithm"


def test_hs256_keyed_with_our_public_key_is_refused(issued: tuple[Realm, str]) -> None:
    realm, token = issued
    kid = read_header(token)["kid"]
    public = realm.http.get("/.well-known/jwks.json").json()["keys"][0]
    secret = json.dumps(public).encode()  # the classic RS/HS confusion, keyed by what is public
    head = _part({"alg": "HS256", "typ": "JWT", "kid": kid})
    body = token.split(".")[1]
    mac = hmac.new(secret, f"{head}.{body}".encode(), hashlib.sha256).digest()
    assert _refused(realm, f"{head}.{body}.{_b64(mac)}") == "algorithm"


def test_another_asymmetric_algorithm_is_refused(issued: tuple[Realm, str]) -> None:
    realm, _token = issued
    rsa = keys.generate_key("RS256", "rsa")
    forged = jwt.encode({"alg": "RS256", "kid": "rsa"}, {"sub": "x"}, rsa, algorithms=["RS256"])
    assert _refused(realm, forged) == "algorithm"


def test_an_unknown_kid_or_none_is_refused(issued: tuple[Realm, str]) -> None:
    realm, _token = issued
    stranger = keys.SigningKey("stranger", "ES256", keys.generate_key("ES256", "stranger"))
    forged, _claims = issue_access_token(
        stranger,
        realm.audience,
        subject="x",
        client_id="x",
        scope="system/*.rs",
        now=now(),
        lifetime=timedelta(minutes=5),
    )
    assert _refused(realm, forged) == "unknown_kid"
    no_kid = jwt.encode({"alg": "ES256"}, {"sub": "x"}, stranger.key, algorithms=["ES256"])
    assert _refused(realm, no_kid) == "unknown_kid"


def test_a_token_for_another_server_is_refused(issued: tuple[Realm, str]) -> None:
    realm, _token = issued
    elsewhere = Audience(realm.root, "https://other.example.az/fhir", "ES256")
    assert _refused(realm, _resign(realm, elsewhere, timedelta(0))) == "audience"


def test_a_token_from_another_issuer_is_refused(issued: tuple[Realm, str]) -> None:
    realm, _token = issued
    impostor = Audience("https://issuer.example.az", realm.server.base, "ES256")
    assert _refused(realm, _resign(realm, impostor, timedelta(0))) == "issuer"


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "x" * 9000])
def test_garbage_is_malformed(issued: tuple[Realm, str], garbage: str) -> None:
    realm, _token = issued
    assert _refused(realm, garbage) == "malformed"


def test_verify_bearer_reads_the_authorization_header(issued: tuple[Realm, str]) -> None:
    realm, token = issued

    def bearer(header: str | None) -> TokenClaims:
        return realm.run(lambda e: verify_bearer(header, keys.KeyRing(e), realm.audience, now()))

    assert bearer(f"Bearer {token}").scope == "system/*.cruds"
    assert bearer(f"bearer  {token} ").scope == "system/*.cruds"
    for header, reason in [(None, "missing"), ("", "missing"), (f"Basic {token}", "malformed")]:
        with pytest.raises(TokenRefused) as refused:
            bearer(header)
        assert refused.value.reason == reason
