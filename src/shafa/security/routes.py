"""HTTP of OAuth2 and SMART: the token endpoint, the SMART discovery document and the JWKS.

Thin: the form is read and checked here, the grants are verbs of security.oauth.
"""

import base64
import binascii
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from shafa.config import Settings
from shafa.db.engine import read_transaction
from shafa.fhir.store import now
from shafa.security import keys, oauth
from shafa.security.oauth import OAuthError, invalid_client

router = APIRouter(include_in_schema=False)

FORM = "application/x-www-form-urlencoded"
MAX_FORM_BYTES = 16 * 1024  # a token request is a few hundred bytes
# RFC 6749 §5.1: token responses must not be cached.
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BASIC_CHALLENGE = 'Basic realm="shafa", charset="UTF-8"'


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _policy(request: Request) -> oauth.Policy:
    return oauth.policy(_settings(request), str(request.base_url))


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form of a token request (RFC 6749 §3.2), each parameter once."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != FORM:
        raise OAuthError("invalid_request", f"The token request must be {FORM}")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise OAuthError("invalid_request", "The token request is too large")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "The form is not valid UTF-8 urlencoded") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            # RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
            raise OAuthError("invalid_request", f"The parameter {name} is repeated")
        if value:  # §3.2: parameters sent without a value are treated as omitted
            form[name] = value
    return form


def _basic(authorization: str) -> tuple[str, str]:
    """client_id and secret of HTTP Basic, each form-urlencoded first (RFC 6749 §2.3.1)."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client("Only HTTP Basic client authentication is accepted in Authorization")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client("The Basic credentials are not valid base64") from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise invalid_client("The Basic credentials have no client secret")
    return unquote_plus(client_id), unquote_plus(secret)


async def _client(request: Request, form: dict[str, str]) -> oauth.Client:
    """The client the request authenticates as: client_secret_basic, _post, or public."""
    engine = request.app.state.engine
    authorization = request.headers.get("authorization")
    if authorization:
        if "client_secret" in form:
            # RFC 6749 §2.3: a client MUST NOT use more than one authentication method.
            raise OAuthError("invalid_request", "Use either HTTP Basic or client_secret, not both")
        client_id, secret = _basic(authorization)
        if form.get("client_id", client_id) != client_id:
            raise OAuthError("invalid_request", "client_id differs from the Basic credentials")
        return await oauth.authenticate_client(engine, client_id, secret)
    if "client_id" not in form:
        raise invalid_client("No client authentication")
    return await oauth.authenticate_client(engine, form["client_id"], form.get("client_secret"))


async def _grant(request: Request, form: dict[str, str]) -> dict[str, Any]:
    grant_type = form.get("grant_type")
    if grant_type is None:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type not in oauth.GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", f"grant_type {grant_type} is not supported")
    client = await _client(request, form)
    engine = request.app.state.engine
    policy = _policy(request)
    moment = now()
    if grant_type == "client_credentials":
        return await oauth.grant_client_credentials(
            engine, client, form.get("scope"), policy, moment
        )
    if grant_type == "authorization_code":
        if "code" not in form:
            raise OAuthError("invalid_request", "code is required")
        return await oauth.grant_authorization_code(
            engine,
            client,
            code=form["code"],
            redirect_uri=form.get("redirect_uri"),
            code_verifier=form.get("code_verifier"),
            policy=policy,
            now=moment,
        )
    if "refresh_token" not in form:
        raise OAuthError("invalid_request", "refresh_token is required")
    return await oauth.grant_refresh_token(
        engine,
        client,
        refresh_token=form["refresh_token"],
        scope=form.get("scope"),
        policy=policy,
        now=moment,
    )


@router.post("/oauth2/token")
async def token(request: Request) -> Response:
    """The OAuth2 token endpoint (RFC 6749 §3.2)."""
    try:
        body = await _grant(request, await _form(request))
    except OAuthError as error:
        headers = dict(NO_STORE)
        if error.status == 401 and request.headers.get("authorization"):
            headers["WWW-Authenticate"] = BASIC_CHALLENGE  # RFC 6749 §5.2 invalid_client
        return JSONResponse(
            {"error": error.error, "error_description": error.description},
            error.status,
            headers,
        )
    return JSONResponse(body, headers=NO_STORE)


@router.get("/.well-known/smart-configuration")
async def smart_configuration(request: Request) -> Response:
    """SMART App Launch 2.0 discovery (also served relative to the FHIR base)."""
    issuer = oauth.issuer(_settings(request), str(request.base_url))
    return JSONResponse(oauth.smart_configuration(issuer))


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> Response:
    """The public keys that verify Shafa's access tokens (RFC 7517 §5)."""
    async with read_transaction(request.app.state.engine) as conn:
        listed = await keys.list_keys(conn)
    # Short caching: a verifier must see a new key soon after a rotation.
    return JSONResponse(keys.jwks(listed, now()), headers={"Cache-Control": "max-age=60"})
