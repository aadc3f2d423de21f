"""Access tokens (signed JWTs, RFC 9068 shape), refresh tokens and codes (opaque, hashed).

An access token carries iss, sub, aud (the FHIR base URL), exp, iat, nbf, jti, scope and
client_id, and for tokens issued to a user fhirUser and patient (SMART App Launch 2.0).
Verification trusts nothing in the token before its signature is checked with a key we hold:
the header must name the configured algorithm (so `none`, and HS256 keyed with our public key,
are refused before any key is used) and a kid of a key not yet retired.
"""

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jws import extract_compact

from shafa.security.keys import Algorithm, KeyRing, SigningKey, VerificationKey
from shafa.security.scopes import ScopeError, Scopes, parse_scopes

# Clock skew allowed between Shafa's workers and other servers, for iat and nbf.
LEEWAY = timedelta(seconds=30)
MAX_TOKEN_LENGTH = 8192

Reason = Literal[
    "missing",  # no Authorization header
    "malformed",  # not "Bearer <JWS compact>", or unreadable JSON
    "algorithm",  # alg other than the configured one (none, HS256 ...)
    "unknown_kid",  # no kid, or none of our unretired keys
    "signature",  # the signature does not verify with that key
    "expired",
    "not_yet_valid",  # nbf or iat in the future
    "audience",
    "issuer",
    "claims",  # a required claim is missing or of the wrong type
]


class TokenRefused(Exception):
    """An access token that must not be honoured; reason is a stable code for audit and 401."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class Audience:
    """Who issues and who accepts the tokens: iss and aud, and the signing algorithm."""

    issuer: str
    audience: str  # the FHIR base URL
    algorithm: Algorithm


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The verified claims of an access token."""

    issuer: str
    subject: str
    audience: str
    client_id: str
    scope: str
    issued: datetime
    expires: datetime
    token_id: str
    fhir_user: str | None = None
    patient: str | None = None

    @property
    def scopes(self) -> Scopes:
        """The granted scopes, parsed."""
        return parse_scopes(self.scope)


def _timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def issue_access_token(
    key: SigningKey,
    audience: Audience,
    *,
    subject: str,
    client_id: str,
    scope: str,
    now: datetime,
    lifetime: timedelta,
    fhir_user: str | None = None,
    patient: str | None = None,
) -> tuple[str, TokenClaims]:
    """A signed access token and its claims."""
    issued = now.replace(microsecond=0)
    claims = TokenClaims(
        issuer=audience.issuer,
        subject=subject,
        audience=audience.audience,
        client_id=client_id,
        scope=scope,
        issued=issued,
        expires=issued + lifetime,
        token_id=secrets.token_urlsafe(16),
        fhir_user=fhir_user,
        patient=patient,
    )
    body: dict[str, Any] = {
        "iss": claims.issuer,
        "sub": claims.subject,
        "aud": claims.audience,
        "exp": _timestamp(claims.expires),
        "iat": _timestamp(issued),
        "nbf": _timestamp(issued),
        "jti": claims.token_id,
        "scope": scope,
        "client_id": client_id,
    }
    if fhir_user is not None:
        body["fhirUser"] = fhir_user
    if patient is not None:
        body["patient"] = patient
    # RFC 9068 §2.1: typ "at+jwt" tells access tokens from ID tokens.
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "at+jwt"}
    return jwt.encode(header, body, key.key, algorithms=[key.algorithm]), claims


def issue_id_token(
    key: SigningKey,
    issuer: str,
    *,
    subject: str,
    client_id: str,
    now: datetime,
    lifetime: timedelta,
    nonce: str | None = None,
    fhir_user: str | None = None,
) -> str:
    """An OpenID Connect ID token (Core §2) for the app: aud is the app's client_id.

    SMART App Launch 2.0 §Scopes for requesting identity data: the fhirUser claim names the
    user's FHIR resource when the app was granted the fhirUser scope.
    """
    issued = now.replace(microsecond=0)
    body: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": client_id,
        "exp": _timestamp(issued + lifetime),
        "iat": _timestamp(issued),
    }
    if nonce is not None:
        body["nonce"] = nonce
    if fhir_user is not None:
        body["fhirUser"] = fhir_user
    # typ "JWT" (not at+jwt): an ID token must never pass as an access token (RFC 9068 §4).
    header = {"alg": key.algorithm, "kid": key.kid, "typ": "JWT"}
    return jwt.encode(header, body, key.key, algorithms=[key.algorithm])


def read_header(token: str) -> dict[str, Any]:
    """The JOSE header of a compact JWS, unverified; TokenRefused("malformed") if unreadable."""
    if len(token) > MAX_TOKEN_LENGTH or token.count(".") != 2:
        raise TokenRefused("malformed", "The token is not a compact JWS")
    try:
        header = extract_compact(token.encode()).headers()
    except (JoseError, ValueError) as error:
        raise TokenRefused("malformed", f"The token header is unreadable: {error}") from None
    return dict(header)


def verify_signed(token: str, key: VerificationKey, audience: Audience) -> dict[str, Any]:
    """The token's claims once its signature verifies with the key; TokenRefused if not."""
    try:
        decoded = jwt.decode(token, key.key, algorithms=[audience.algorithm])
    except JoseError as error:
        raise TokenRefused("signature", f"The signature does not verify: {error}") from None
    except ValueError:
        raise TokenRefused("malformed", "The token payload is not JSON") from None
    return dict(decoded.claims)


def _instant(claims: dict[str, Any], name: str) -> datetime:
    value = claims.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        raise TokenRefused("claims", f"The {name} claim is missing or not a number")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenRefused("claims", f"The {name} claim is out of range") from None


def _text(claims: dict[str, Any], name: str, required: bool = True) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise TokenRefused("claims", f"The {name} claim is missing or not a string")
    return value


def check_claims(claims: dict[str, Any], audience: Audience, now: datetime) -> TokenClaims:
    """The claims as TokenClaims if they hold at now for this issuer and audience."""
    expires = _instant(claims, "exp")
    issued = _instant(claims, "iat")
    if now >= expires:
        raise TokenRefused("expired", "The token has expired")
    not_before = _instant(claims, "nbf") if "nbf" in claims else issued
    if not_before > now + LEEWAY or issued > now + LEEWAY:
        raise TokenRefused("not_yet_valid", "The token is not valid yet")
    if claims.get("iss") != audience.issuer:
        raise TokenRefused("issuer", "The token was issued by someone else")
    aud = claims.get("aud")
    if not (aud == audience.audience or (isinstance(aud, list) and audience.audience in aud)):
        raise TokenRefused("audience", "The token is meant for another server")
    scope = _text(claims, "scope")
    assert scope is not None
    try:
        parse_scopes(scope)
    except ScopeError as error:
        raise TokenRefused("claims", str(error)) from None
    return TokenClaims(
        issuer=audience.issuer,
        subject=_text(claims, "sub") or "",
        audience=audience.audience,
        client_id=_text(claims, "client_id") or "",
        scope=scope,
        issued=issued,
        expires=expires,
        token_id=_text(claims, "jti") or "",
        fhir_user=_text(claims, "fhirUser", required=False),
        patient=_text(claims, "patient", required=False),
    )


async def verify_access_token(
    token: str, keys: KeyRing, audience: Audience, now: datetime
) -> TokenClaims:
    """The claims of a valid access token; TokenRefused with the reason otherwise."""
    header = read_header(token)
    if header.get("alg") != audience.algorithm:
        raise TokenRefused("algorithm", f"Tokens must be signed with {audience.algorithm}")
    kid = header.get("kid")
    key = await keys.get(kid, now) if isinstance(kid, str) else None
    if key is None or key.algorithm != audience.algorithm:
        raise TokenRefused("unknown_kid", "The token names no signing key of this server")
    return check_claims(verify_signed(token, key, audience), audience, now)


async def verify_bearer(
    authorization: str | None, keys: KeyRing, audience: Audience, now: datetime
) -> TokenClaims:
    """The claims of the access token in an Authorization header (RFC 6750 §2.1)."""
    if not authorization:
        raise TokenRefused("missing", "No access token (Authorization: Bearer ...)")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenRefused("malformed", "The Authorization header is not Bearer <token>")
    return await verify_access_token(token.strip(), keys, audience, now)


# --- opaque secrets: refresh tokens and authorization codes ---------------------------------


def new_secret() -> str:
    """A fresh opaque token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """How an opaque token is stored: SHA-256, hex. Enough for 256 random bits, no KDF needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


# RFC 7636 §4.1: code_verifier = 43*128unreserved
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def pkce_matches(verifier: str, challenge: str) -> bool:
    """True when the verifier is well-formed and its S256 challenge is the stored one."""
    if not _VERIFIER.fullmatch(verifier):
        return False
    return hmac.compare_digest(s256_challenge(verifier), challenge)
