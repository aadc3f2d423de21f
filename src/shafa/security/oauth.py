"""OAuth2 (RFC 6749) for Shafa: clients, and the grants of the token endpoint.

Each grant is a named verb that owns its transaction: client_credentials for systems (SMART
Backend Services), authorization_code with PKCE for apps (RFC 7636; the codes are created by the
login through create_authorization_code), and refresh_token with rotation and reuse detection
(OAuth 2.0 Security BCP, RFC 9700 §4.14.2). Every refusal is an OAuthError carrying the RFC 6749
§5.2 error code.
"""

import asyncio
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.config import Settings
from shafa.db.engine import read_transaction, write_transaction
from shafa.security import audit, keys, rules
from shafa.security.accounts import Identity
from shafa.security.scopes import ScopeError, Scopes, narrow, parse_scopes
from shafa.security.tables import authorization_codes, oauth_clients, refresh_tokens
from shafa.security.tokens import (
    Audience,
    issue_access_token,
    issue_id_token,
    new_secret,
    pkce_matches,
    secret_hash,
)

GRANT_TYPES = ("client_credentials", "authorization_code", "refresh_token")
_hasher = PasswordHasher()  # argon2id, RFC 9106 parameters
# Verified against when the client_id is unknown, so the answer takes as long either way.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class OAuthError(Exception):
    """A refusal of the token endpoint (RFC 6749 §5.2)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def invalid_client(description: str = "Client authentication failed") -> OAuthError:
    """RFC 6749 §5.2 invalid_client: 401."""
    return OAuthError("invalid_client", description, 401)


@dataclass(frozen=True, slots=True)
class Client:
    """An OAuth2 client as registered."""

    client_id: str
    name: str
    scopes: str
    grant_types: tuple[str, ...]
    redirect_uris: tuple[str, ...]
    confidential: bool
    active: bool
    created: datetime


@dataclass(frozen=True, slots=True)
class Policy:
    """How tokens are made here: who issues them, for whom, and how long they live."""

    audience: Audience
    access_lifetime: timedelta
    refresh_lifetime: timedelta
    code_lifetime: timedelta
    key_passphrase: str | None = None

    @property
    def key_overlap(self) -> timedelta:
        """How long a replaced signing key must keep verifying: the longest access token."""
        return self.access_lifetime


def issuer(settings: Settings, server_root: str) -> str:
    """The OAuth2 issuer: SHAFA_OAUTH_ISSUER, else the root URL the request came to."""
    return (settings.oauth_issuer or server_root).rstrip("/")


def fhir_base(settings: Settings, server_root: str) -> str:
    """The FHIR base URL, the audience of access tokens."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return issuer(settings, server_root) + "/fhir"


def policy(settings: Settings, server_root: str) -> Policy:
    """The token policy of these settings for a server reached at server_root."""
    return Policy(
        Audience(
            issuer(settings, server_root),
            fhir_base(settings, server_root),
            settings.signing_algorithm,
        ),
        timedelta(seconds=settings.access_token_seconds),
        timedelta(seconds=settings.refresh_token_seconds),
        timedelta(seconds=settings.authorization_code_seconds),
        settings.key_passphrase(),
    )


# --- clients --------------------------------------------------------------------------------


def _client(row: Any) -> Client:
    return Client(
        row.client_id,
        row.name,
        row.scopes,
        tuple(row.grant_types.split()),
        tuple(row.redirect_uris.split()),
        row.secret_hash is not None,
        row.active,
        row.created,
    )


async def add_client(
    engine: AsyncEngine,
    name: str,
    scope: str,
    now: datetime,
    *,
    grant_types: tuple[str, ...] = ("client_credentials",),
    redirect_uris: tuple[str, ...] = (),
    public: bool = False,
) -> tuple[Client, str | None]:
    """Register a client; returns it and its secret (shown once; only its hash is kept).

    Raises ValueError for an unknown grant type, a scope that does not parse, a code grant
    without redirect URIs, or a public client asking for client_credentials.
    """
    name = name.strip()
    if not name:
        raise ValueError("A client needs a name")
    unknown = sorted(set(grant_types) - set(GRANT_TYPES))
    if unknown or not grant_types:
        raise ValueError(f"Grant types must be some of {', '.join(GRANT_TYPES)}")
    if "authorization_code" in grant_types and not redirect_uris:
        raise ValueError("The authorization_code grant needs at least one redirect URI")
    if public and "client_credentials" in grant_types:
        raise ValueError("client_credentials needs a confidential client (one with a secret)")
    canonical = str(parse_scopes(scope))  # ScopeError is a ValueError
    if not canonical:
        raise ValueError("A client needs at least one scope")
    client_id = secrets.token_hex(16)  # hex: never starts with "-", safe as a CLI argument
    secret = None if public else secrets.token_urlsafe(32)
    hashed = None if secret is None else await asyncio.to_thread(_hasher.hash, secret)
    grants = tuple(dict.fromkeys(grant_types))
    uris = tuple(dict.fromkeys(redirect_uris))
    values = {
        "client_id": client_id,
        "secret_hash": hashed,
        "name": name,
        "scopes": canonical,
        "grant_types": " ".join(grants),
        "redirect_uris": " ".join(uris),
        "active": True,
        "created": now,
    }
    async with write_transaction(engine) as conn:
        await conn.execute(oauth_clients.insert().values(**values))
    client = Client(
        client_id,
        name,
        canonical,
        grants,
        uris,
        secret is not None,
        True,
        now,
    )
    return client, secret


async def list_clients(engine: AsyncEngine) -> list[Client]:
    """Every client, oldest first."""
    async with read_transaction(engine) as conn:
        rows = await conn.execute(select(oauth_clients).order_by(oauth_clients.c.created))
        return [_client(row) for row in rows]


async def disable_client(engine: AsyncEngine, client_id: str) -> bool:
    """Refuse the client any new token and revoke its refresh tokens; False if unknown.

    Access tokens already issued run out within the access token lifetime.
    """
    async with write_transaction(engine) as conn:
        done = await conn.execute(
            update(oauth_clients).where(oauth_clients.c.client_id == client_id).values(active=False)
        )
        await conn.execute(
            update(refresh_tokens)
            .where(refresh_tokens.c.client_id == client_id)
            .values(revoked=True)
        )
    return bool(done.rowcount)


async def authenticate_client(engine: AsyncEngine, client_id: str, secret: str | None) -> Client:
    """The active client these credentials prove; invalid_client (401) otherwise.

    secret None: a public client, which has no secret to check.
    """
    async with read_transaction(engine) as conn:
        row = (
            await conn.execute(select(oauth_clients).where(oauth_clients.c.client_id == client_id))
        ).first()
    if secret is None:
        if row is None or row.secret_hash is not None:
            raise invalid_client()
    elif not await asyncio.to_thread(
        _secret_matches, row.secret_hash if row is not None else None, secret
    ):
        raise invalid_client()
    assert row is not None
    if not row.active:
        raise invalid_client("The client is disabled")
    return _client(row)


def _secret_matches(hashed: str | None, secret: str) -> bool:
    try:
        return _hasher.verify(hashed or _DECOY_HASH, secret) and hashed is not None
    except (VerificationError, InvalidHashError):
        return False


def _grant_allowed(client: Client, grant_type: str) -> None:
    if grant_type not in client.grant_types:
        raise OAuthError("unauthorized_client", f"This client may not use {grant_type}")


def _granted(client: Client, requested: str | None) -> Scopes:
    try:
        wanted = None if requested is None else parse_scopes(requested)
        return narrow(parse_scopes(client.scopes), wanted)
    except ScopeError as error:
        raise OAuthError("invalid_scope", str(error)) from None


async def _access_token(
    conn: AsyncConnection,
    client: Client,
    scope: str,
    policy: Policy,
    now: datetime,
    *,
    subject: str,
    fhir_user: str | None = None,
    patient: str | None = None,
) -> dict[str, Any]:
    key = await keys.signing_key(
        conn,
        now,
        policy.audience.algorithm,
        policy.key_overlap,
        passphrase=policy.key_passphrase,
    )
    token, _claims = issue_access_token(
        key,
        policy.audience,
        subject=subject,
        client_id=client.client_id,
        scope=scope,
        now=now,
        lifetime=policy.access_lifetime,
        fhir_user=fhir_user,
        patient=patient,
    )
    body: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": int(policy.access_lifetime.total_seconds()),
        "scope": scope,
    }
    if patient is not None:
        body["patient"] = patient  # SMART App Launch 2.0 launch context
    if fhir_user is not None:
        body["fhirUser"] = fhir_user
    return body


# --- grants ---------------------------------------------------------------------------------


async def grant_client_credentials(
    engine: AsyncEngine, client: Client, scope: str | None, policy: Policy, now: datetime
) -> dict[str, Any]:
    """RFC 6749 §4.4: an access token for the client itself; no refresh token (§4.4.3)."""
    _grant_allowed(client, "client_credentials")
    if not client.confidential:
        raise invalid_client("client_credentials needs a confidential client")
    granted = str(_granted(client, scope))
    async with write_transaction(engine) as conn:
        return await _access_token(conn, client, granted, policy, now, subject=client.client_id)


async def create_authorization_code(
    engine: AsyncEngine,
    client_id: str,
    *,
    redirect_uri: str,
    code_challenge: str,
    scope: str,
    subject: str,
    policy: Policy,
    now: datetime,
    fhir_user: str | None = None,
    patient: str | None = None,
    nonce: str | None = None,
    audited: audit.AuditRecord | None = None,
) -> str:
    """Issue an authorization code for a user who approved the client (the consent page calls
    this), and record the approval (audited) in the same transaction.

    The scope must already be narrowed to what the client and the user may have; the code is
    returned once and kept only as a hash.
    """
    code = new_secret()
    async with write_transaction(engine) as conn:
        await conn.execute(
            authorization_codes.insert().values(
                code_hash=secret_hash(code),
                client_id=client_id,
                redirect_uri=redirect_uri,
                code_challenge=code_challenge,
                scope=scope,
                subject=subject,
                fhir_user=fhir_user,
                patient=patient,
                nonce=nonce,
                created=now,
                expires=now + policy.code_lifetime,
                used=None,
                refresh_family=None,
            )
        )
        if audited is not None:
            await audit.record(conn, audited)  # last, just before commit
    return code


async def grant_authorization_code(
    engine: AsyncEngine,
    client: Client,
    *,
    code: str,
    redirect_uri: str | None,
    code_verifier: str | None,
    policy: Policy,
    now: datetime,
) -> dict[str, Any]:
    """RFC 6749 §4.1.3 with RFC 7636 §4.6: exchange a code and its PKCE verifier for tokens.

    A code presented a second time is refused, and the refresh tokens its first exchange got
    are revoked (RFC 6749 §4.1.2).
    """
    _grant_allowed(client, "authorization_code")
    if not code_verifier:
        raise OAuthError("invalid_request", "code_verifier is required (PKCE, RFC 7636)")
    refusal: OAuthError | None = None
    async with write_transaction(engine) as conn:
        a = authorization_codes.c
        row = (
            await conn.execute(select(authorization_codes).where(a.code_hash == secret_hash(code)))
        ).first()
        if row is None or row.client_id != client.client_id:
            refusal = OAuthError("invalid_grant", "Unknown authorization code")
        elif row.used is not None:
            if row.refresh_family is not None:
                await _revoke_family(conn, row.refresh_family)
            refusal = OAuthError("invalid_grant", "The authorization code was already used")
        elif row.expires <= now:
            refusal = OAuthError("invalid_grant", "The authorization code has expired")
        elif redirect_uri != row.redirect_uri:
            refusal = OAuthError("invalid_grant", "redirect_uri differs from the authorization's")
        elif not pkce_matches(code_verifier, row.code_challenge):
            refusal = OAuthError("invalid_grant", "The code_verifier does not match (PKCE)")
        else:
            scopes = parse_scopes(row.scope)
            family = None
            refresh = None
            if "offline_access" in scopes.other and "refresh_token" in client.grant_types:
                refresh = new_secret()
                family = secret_hash(refresh)
            claimed = await conn.execute(
                update(authorization_codes)
                .where(a.code_hash == row.code_hash, a.used.is_(None))
                .values(used=now, refresh_family=family)
            )
            if claimed.rowcount != 1:  # another exchange won the race
                refusal = OAuthError("invalid_grant", "The authorization code was already used")
            else:
                body = await _access_token(
                    conn,
                    client,
                    row.scope,
                    policy,
                    now,
                    subject=row.subject,
                    fhir_user=row.fhir_user,
                    patient=row.patient,
                )
                if "openid" in scopes.other:
                    body["id_token"] = await _id_token(conn, client, row, scopes, policy, now)
                if refresh is not None:
                    await _store_refresh(
                        conn, refresh, family or "", client, row, row.scope, now,
                        now + policy.refresh_lifetime,
                    )  # fmt: skip
                    body["refresh_token"] = refresh
                return body
    raise refusal


async def _id_token(
    conn: AsyncConnection, client: Client, grant: Any, scopes: Scopes, policy: Policy, now: datetime
) -> str:
    """OpenID Connect Core §3.1.3.3: the ID token of a code exchange granted openid."""
    key = await keys.signing_key(
        conn,
        now,
        policy.audience.algorithm,
        policy.key_overlap,
        passphrase=policy.key_passphrase,
    )
    return issue_id_token(
        key,
        policy.audience.issuer,
        subject=grant.subject,
        client_id=client.client_id,
        now=now,
        lifetime=policy.access_lifetime,
        nonce=grant.nonce,
        fhir_user=grant.fhir_user if "fhirUser" in scopes.other else None,
    )


async def _store_refresh(
    conn: AsyncConnection,
    token: str,
    family: str,
    client: Client,
    grant: Any,
    scope: str,
    now: datetime,
    expires: datetime,
) -> None:
    await conn.execute(
        refresh_tokens.insert().values(
            token_hash=secret_hash(token),
            family=family,
            client_id=client.client_id,
            scope=scope,
            subject=grant.subject,
            fhir_user=grant.fhir_user,
            patient=grant.patient,
            created=now,
            expires=expires,
            used=None,
            revoked=False,
        )
    )


async def _revoke_family(conn: AsyncConnection, family: str) -> None:
    await conn.execute(
        update(refresh_tokens).where(refresh_tokens.c.family == family).values(revoked=True)
    )


async def grant_refresh_token(
    engine: AsyncEngine,
    client: Client,
    *,
    refresh_token: str,
    scope: str | None,
    policy: Policy,
    now: datetime,
) -> dict[str, Any]:
    """RFC 6749 §6: a new access token and a new refresh token for a valid refresh token.

    The presented token is used up (rotation). Presenting a used one again means it was copied:
    the whole family is revoked, the thief's tokens and the owner's alike (RFC 9700 §4.14.2).
    The scope may only shrink, and never beyond what the client may have now.
    """
    _grant_allowed(client, "refresh_token")
    refusal: OAuthError | None = None
    async with write_transaction(engine) as conn:
        r = refresh_tokens.c
        row = (
            await conn.execute(
                select(refresh_tokens).where(r.token_hash == secret_hash(refresh_token))
            )
        ).first()
        if row is None or row.client_id != client.client_id:
            refusal = OAuthError("invalid_grant", "Unknown refresh token")
        elif row.revoked:
            refusal = OAuthError("invalid_grant", "The refresh token was revoked")
        elif row.used is not None:
            await _revoke_family(conn, row.family)
            refusal = OAuthError(
                "invalid_grant", "The refresh token was already used; its family is revoked"
            )
        elif row.expires <= now:
            refusal = OAuthError("invalid_grant", "The refresh token has expired")
        else:
            try:
                original = parse_scopes(row.scope)
                allowed = narrow(parse_scopes(client.scopes), original)
                granted = str(narrow(allowed, None if scope is None else parse_scopes(scope)))
            except ScopeError as error:
                raise OAuthError("invalid_scope", str(error)) from None
            claimed = await conn.execute(
                update(refresh_tokens)
                .where(r.token_hash == row.token_hash, r.used.is_(None))
                .values(used=now)
            )
            if claimed.rowcount != 1:  # used at the same moment by someone else
                await _revoke_family(conn, row.family)
                refusal = OAuthError("invalid_grant", "The refresh token was already used")
            else:
                body = await _access_token(
                    conn,
                    client,
                    granted,
                    policy,
                    now,
                    subject=row.subject,
                    fhir_user=row.fhir_user,
                    patient=row.patient,
                )
                successor = new_secret()
                await _store_refresh(
                    conn, successor, row.family, client, row, granted, now, row.expires
                )
                body["refresh_token"] = successor
                return body
    raise refusal


# --- the authorization endpoint (RFC 6749 §4.1.1, RFC 7636 §4.3, SMART App Launch 2.0) -------

AUTHORIZE_PARAMETERS = (
    "response_type", "client_id", "redirect_uri", "scope", "state", "aud", "code_challenge",
    "code_challenge_method", "nonce",
)  # fmt: skip
MAX_STATE = 1024  # an app's state is a random value or a short reference, not a payload
MAX_NONCE = 255
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")  # BASE64URL of 32 bytes, no padding


class AuthorizeError(Exception):
    """A refused authorization request.

    redirect_uri None: the client or its redirect URI cannot be trusted, so the user is told
    and nothing is sent anywhere (RFC 6749 §4.1.2.1); reason is then "client" or
    "redirect_uri". Otherwise the app gets error, error_description and state at redirect_uri.
    """

    def __init__(
        self,
        error: str,
        description: str,
        *,
        redirect_uri: str | None = None,
        state: str | None = None,
        reason: str = "",
    ) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.redirect_uri = redirect_uri
        self.state = state
        self.reason = reason

    @property
    def location(self) -> str | None:
        """Where to send the browser with the error, or None when it must stay here."""
        if self.redirect_uri is None:
            return None
        answer = {"error": self.error, "error_description": self.description}
        if self.state is not None:
            answer["state"] = self.state
        return redirect_to(self.redirect_uri, answer)


def redirect_to(redirect_uri: str, answer: dict[str, str]) -> str:
    """redirect_uri with the answer added to its query (RFC 6749 §4.1.2: keep its own query)."""
    parts = urlsplit(redirect_uri)
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *answer.items()])
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """An authorization request whose client, redirect URI and parameters have been checked."""

    client: Client
    redirect_uri: str
    scope: Scopes  # as asked; what a user grants comes from user_grant
    state: str
    code_challenge: str
    nonce: str | None
    aud: str

    def parameters(self) -> dict[str, str]:
        """The request again, for the consent form (checked again when it comes back)."""
        values = {
            "response_type": "code",
            "client_id": self.client.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": str(self.scope),
            "state": self.state,
            "aud": self.aud,
            "code_challenge": self.code_challenge,
            "code_challenge_method": "S256",
        }
        if self.nonce is not None:
            values["nonce"] = self.nonce
        return values

    def refuse(self, error: str, description: str) -> AuthorizeError:
        """A refusal sent back to the app at its redirect URI."""
        return AuthorizeError(error, description, redirect_uri=self.redirect_uri, state=self.state)


async def authorization_request(
    engine: AsyncEngine, pairs: Sequence[tuple[str, str]], fhir_base_url: str
) -> AuthorizationRequest:
    """Check an authorization request's parameters (the query of GET /oauth2/authorize, or the
    consent form posting them back); AuthorizeError says why not.

    The client must be registered and active, and redirect_uri exactly one registered for it
    (RFC 9700 §4.1.3: exact string matching); until both hold, errors stay on this server.
    """
    given: dict[str, list[str]] = {}
    for name, value in pairs:
        if value:  # RFC 6749 §3.1: parameters sent without a value are treated as omitted
            given.setdefault(name, []).append(value)

    def one(name: str) -> str | None:
        values = given.get(name, [])
        return values[0] if len(values) == 1 else None

    client_id = one("client_id")
    row = None
    if client_id is not None and len(client_id) <= 64:
        async with read_transaction(engine) as conn:
            row = (
                await conn.execute(
                    select(oauth_clients).where(oauth_clients.c.client_id == client_id)
                )
            ).first()
    if row is None:
        raise AuthorizeError("invalid_request", "Unknown or missing client_id", reason="client")
    client = _client(row)
    if not client.active:
        raise AuthorizeError("unauthorized_client", "The client is disabled", reason="client")
    redirect_uri = one("redirect_uri")
    if redirect_uri is None or redirect_uri not in client.redirect_uris:
        raise AuthorizeError(
            "invalid_request",
            "redirect_uri is missing or not one registered for the client",
            reason="redirect_uri",
        )
    state = one("state")
    if state is not None and len(state) > MAX_STATE:
        state = None

    def refuse(error: str, description: str) -> AuthorizeError:
        return AuthorizeError(error, description, redirect_uri=redirect_uri, state=state)

    repeated = sorted(name for name, values in given.items() if len(values) > 1)
    if repeated:
        # RFC 6749 §3.1: parameters "MUST NOT be included more than once".
        raise refuse("invalid_request", f"The parameter {repeated[0]} is repeated")
    response_type = one("response_type")
    if response_type is None:
        raise refuse("invalid_request", "response_type is required")
    if response_type != "code":
        raise refuse("unsupported_response_type", "Only response_type=code is supported")
    if "authorization_code" not in client.grant_types:
        raise refuse("unauthorized_client", "This client may not use authorization_code")
    if state is None:
        raise refuse(
            "invalid_request",
            f"state is required (SMART App Launch 2.0), at most {MAX_STATE} characters",
        )
    challenge = one("code_challenge")
    if challenge is None:
        raise refuse("invalid_request", "code_challenge is required (PKCE, RFC 7636)")
    if one("code_challenge_method") != "S256":
        # RFC 7636 §4.3: no method means plain, which SMART App Launch 2.0 forbids.
        raise refuse("invalid_request", "code_challenge_method must be S256")
    if not _S256_CHALLENGE.fullmatch(challenge):
        raise refuse("invalid_request", "code_challenge is not a BASE64URL SHA-256 digest")
    aud = one("aud")
    if aud is None or aud.rstrip("/") != fhir_base_url.rstrip("/"):
        # SMART App Launch 2.0: aud names the FHIR server the token is for; a wrong one could
        # hand a token meant for us to another server.
        raise refuse("invalid_request", f"aud must be this server's FHIR base URL, {fhir_base_url}")
    if "launch" in given:
        raise refuse("invalid_request", "EHR launch (the launch parameter) is not supported")
    nonce = one("nonce")
    if nonce is not None and len(nonce) > MAX_NONCE:
        raise refuse("invalid_request", f"nonce is longer than {MAX_NONCE} characters")
    text = one("scope")
    if text is None:
        raise refuse("invalid_scope", "scope is required")
    try:
        scope = parse_scopes(text)
    except ScopeError as error:
        raise refuse("invalid_scope", str(error)) from None
    return AuthorizationRequest(client, redirect_uri, scope, state, challenge, nonce, aud)


@dataclass(frozen=True, slots=True)
class UserGrant:
    """What a user would grant an app: the scopes, and the token's sub, fhirUser and patient."""

    scopes: Scopes
    subject: str
    fhir_user: str
    patient: str | None


def user_grant(asked: AuthorizationRequest, identity: Identity) -> UserGrant:
    """The scopes this user may grant the app (rules.app_scopes), and who the tokens are about.

    A citizen's tokens carry their Patient as patient and fhirUser; staff's their Practitioner.
    """
    try:
        granted = rules.app_scopes(identity.role, parse_scopes(asked.client.scopes), asked.scope)
    except ScopeError as error:
        raise asked.refuse("invalid_scope", str(error)) from None
    if identity.role is rules.Role.CITIZEN:
        return UserGrant(
            granted, str(identity.user_id), f"Patient/{identity.patient_id}", identity.patient_id
        )
    practitioner = f"Practitioner/{identity.practitioner_id}"
    return UserGrant(granted, str(identity.user_id), practitioner, None)


async def approve(
    engine: AsyncEngine,
    asked: AuthorizationRequest,
    grant: UserGrant,
    policy: Policy,
    now: datetime,
    audited: audit.AuditRecord,
) -> str:
    """The user approved: a code for the app, and the approval recorded; the redirect URL."""
    code = await create_authorization_code(
        engine,
        asked.client.client_id,
        redirect_uri=asked.redirect_uri,
        code_challenge=asked.code_challenge,
        scope=str(grant.scopes),
        subject=grant.subject,
        policy=policy,
        now=now,
        fhir_user=grant.fhir_user,
        patient=grant.patient,
        nonce=asked.nonce,
        audited=audited,
    )
    return redirect_to(asked.redirect_uri, {"code": code, "state": asked.state})


# --- discovery ------------------------------------------------------------------------------


def smart_configuration(issuer_url: str) -> dict[str, Any]:
    """The SMART App Launch 2.0 discovery document (§Conformance, .well-known)."""
    return {
        "issuer": issuer_url,
        "jwks_uri": f"{issuer_url}/.well-known/jwks.json",
        "authorization_endpoint": f"{issuer_url}/oauth2/authorize",
        "token_endpoint": f"{issuer_url}/oauth2/token",
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "grant_types_supported": list(GRANT_TYPES),
        "scopes_supported": [
            "system/*.cruds",
            "user/*.cruds",
            "patient/*.rs",
            "launch/patient",
            "openid",
            "fhirUser",
            "offline_access",
        ],
        "response_types_supported": ["code"],
        "code_challenge_methods_supported": ["S256"],
        "capabilities": [
            "launch-standalone",
            "client-public",
            "client-confidential-symmetric",
            "context-standalone-patient",
            "sso-openid-connect",
            "permission-offline",
            "permission-patient",
            "permission-user",
            "permission-v1",
            "permission-v2",
        ],
    }
