"""Signing in and out, the role-aware home pages, the citizen's "who accessed my record", and
the OAuth2 authorization endpoint with its consent page (SMART App Launch 2.0 standalone launch).

Sessions are server-side (accounts.open_session): the browser holds only a random id in an
HttpOnly cookie. Every form carries a CSRF token: the sign-in form a double-submit token (a
cookie and a field that must match, since there is no session yet), every form after it the
session's own token. Sign-ins, refusals and sign-outs are audit records.
"""

import hmac
import re
import secrets
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.config import Settings
from shafa.security import accounts, audit, care, oauth
from shafa.security.accounts import LiveSession, LoginRefused, Refusal
from shafa.security.oauth import AuthorizationRequest, AuthorizeError
from shafa.security.rules import Role
from shafa.security.scopes import ResourceScope
from shafa.web.i18n import translations
from shafa.web.pages import SECURITY_HEADERS, language_of, local_path, render

SESSION_COOKIE = "shafa_session"
LOGIN_CSRF_COOKIE = "shafa_login_csrf"
MAX_NEXT = 4096  # an authorization request's URL, with its scopes and state, fits

router = APIRouter(include_in_schema=False)


def engine_of(request: Request) -> AsyncEngine:
    """The application's database engine, for the pages of security/."""
    return request.app.state.engine


def _now() -> datetime:
    return datetime.now(UTC)


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


async def current_session(request: Request) -> LiveSession | None:
    """The signed-in session of this request, or None."""
    session_id = request.cookies.get(SESSION_COOKIE)
    if not session_id:
        return None
    return await accounts.session_identity(engine_of(request), session_id, _now())


def same_token(given: str | None, expected: str | None) -> bool:
    """A form's CSRF token matches the expected one (compared in constant time)."""
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def audit_entry(
    request: Request,
    action: audit.Action,
    identity: accounts.Identity | None = None,
    **values: Any,
) -> audit.AuditRecord:
    """An audit record of this request, by this person when known."""
    if identity is not None:
        values |= {
            "user_id": str(identity.user_id),
            "display": identity.display_name,
            "role": identity.role.value,
            "organisation": identity.organization_id,
        }
    return audit.AuditRecord(
        action=action,
        source_ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        **values,
    )


def expired_form(request: Request, again: str) -> HTMLResponse:
    """403 for a form posted without its CSRF token (from another site, or too old); again
    says, translated, what to do."""
    gettext = translations(language_of(request)).gettext
    return render(request, "error.html", 403, title=gettext("The form has expired"), message=again)


def _refusal_message(request: Request, refused: LoginRefused) -> str:
    gettext = translations(language_of(request)).gettext
    if refused.reason is Refusal.LOCKED:
        if refused.until is None or refused.until.year >= 9999:
            return gettext("This account is locked. Ask your administrator to unlock it.")
        return gettext("Too many failed attempts. Try again after %(time)s UTC.") % {
            "time": refused.until.strftime("%H:%M")
        }
    return {
        Refusal.BAD_CREDENTIALS: gettext("Wrong username or password."),
        Refusal.TOTP_REQUIRED: gettext("Enter the one-time code from your authenticator app."),
        Refusal.BAD_TOTP: gettext("The one-time code is wrong or has already been used."),
        Refusal.INACTIVE: gettext("This account is switched off."),
    }[refused.reason]


def next_page(target: str | None) -> str:
    """Where to go after signing in: a path on this site, else home (never another site)."""
    path = local_path(target)
    return "/home" if path == "/" else path


def _login_page(
    request: Request, status: int = 200, next: str | None = None, **values: Any
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    target = next_page(next)
    if target != "/home":
        values |= {"next": target, "path": "/login?" + urlencode({"next": target})}
    response = render(request, "login.html", status, csrf_token=token, **values)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form; someone already signed in goes on (to next, a path here, or home)."""
    if await current_session(request) is not None:
        return RedirectResponse(next_page(next), status_code=303)
    return _login_page(request, next=next)


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(default="", max_length=100),
    password: str = Form(default="", max_length=200),
    totp: str = Form(default="", max_length=12),
    csrf_token: str = Form(default="", max_length=100),
    next: str = Form(default="", max_length=MAX_NEXT),
) -> Response:
    """Check the credentials; open a session and go on (to next or home), or show why not."""
    if not same_token(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        gettext = translations(language_of(request)).gettext
        return expired_form(
            request, gettext("Open the sign-in page again and repeat what you did.")
        )
    now = _now()
    engine = engine_of(request)
    try:
        identity = await accounts.authenticate(engine, username, password, totp or None, now)
    except LoginRefused as refused:
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.LOGIN_REFUSED,
                outcome=audit.Outcome.REFUSED,
                outcome_code=refused.reason.value,
                display=username[:100],
            ),
        )
        return _login_page(
            request, 401, next, error=_refusal_message(request, refused), username=username
        )
    session = await accounts.open_session(engine, identity, now)
    await audit.record_now(
        engine,
        audit_entry(request, audit.Action.LOGIN, identity),
    )
    response = RedirectResponse(next_page(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session.session_id,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        expires=session.expires_at,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, csrf_token: str = Form(default="", max_length=100)) -> Response:
    """End the session (a form post with the session's CSRF token, never a link)."""
    session = await current_session(request)
    if session is not None:
        if not same_token(csrf_token, session.csrf_token):
            gettext = translations(language_of(request)).gettext
            return expired_form(request, gettext("Open the page again and repeat what you did."))
        await accounts.close_session(engine_of(request), request.cookies[SESSION_COOKIE], _now())
        await audit.record_now(
            engine_of(request), audit_entry(request, audit.Action.LOGOUT, session.identity)
        )
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/home", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    """The signed-in person's home: what their role does here."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    identity = session.identity
    return render(
        request,
        "role_home.html",
        session=session,
        identity=identity,
        roles=Role,
        finds_citizens=care.finds_patients(identity.role),
    )


@router.get("/citizens/{patient_id}/access", response_class=HTMLResponse)
async def who_accessed(request: Request, patient_id: str) -> Response:
    """Who accessed a citizen's record: the citizen's own page, and nobody else's."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    identity = session.identity
    engine = engine_of(request)
    if identity.patient_id != patient_id:
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.ACCESS_REFUSED,
                identity,
                outcome=audit.Outcome.REFUSED,
                outcome_code="403",
                patients=(patient_id[:64],),
            ),
        )
        gettext = translations(language_of(request)).gettext
        return render(
            request,
            "error.html",
            403,
            session=session,
            title=gettext("Not yours to see"),
            message=gettext("This page belongs to another person."),
        )
    async with engine.connect() as conn:
        page = await audit.who_accessed(conn, patient_id, limit=100)
    return render(
        request, "access_log.html", session=session, identity=identity, records=page.records
    )


# --- the authorization endpoint and the consent page -------------------------------------------


def _fhir_base(request: Request) -> str:
    settings: Settings = request.app.state.settings
    return oauth.fhir_base(settings, str(request.base_url))


def _untrusted(request: Request, refused: AuthorizeError, session: LiveSession | None) -> Response:
    """The error page for a request whose client or redirect URI cannot be trusted: the user
    is told, and the browser is sent nowhere (RFC 6749 §4.1.2.1)."""
    gettext = translations(language_of(request)).gettext
    message = (
        gettext("The app's return address is not one registered for it, so Shafa will not send"
                " you back there. Tell the app's makers.")
        if refused.reason == "redirect_uri"
        else gettext("Shafa does not know this app, or it has been switched off.")
    )  # fmt: skip
    return render(
        request,
        "error.html",
        400,
        session=session,
        title=gettext("This app cannot sign you in"),
        message=message,
    )


def _refused(request: Request, refused: AuthorizeError, session: LiveSession | None) -> Response:
    location = refused.location
    if location is None:
        return _untrusted(request, refused, session)
    return RedirectResponse(location, status_code=303)


_CSP_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
_CSP_HOST = re.compile(r"[A-Za-z0-9.-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def _form_action_source(redirect_uri: str) -> str:
    """The CSP source of the app's return address: form-action covers the redirect that follows
    the consent form (CSP Level 3 §6.4.2), so it must name the app as well as 'self'."""
    parts = urlsplit(redirect_uri)
    if not _CSP_SCHEME.fullmatch(parts.scheme):
        return ""
    if parts.scheme in ("http", "https"):
        # Only a plain host[:port] goes into the header: nothing that could add a directive.
        return f"{parts.scheme}://{parts.netloc}" if _CSP_HOST.fullmatch(parts.netloc) else ""
    return f"{parts.scheme}:"  # a native app's private-use scheme (RFC 8252 §7.1)


def _scope_lines(request: Request, scope: ResourceScope) -> list[str]:
    """What a resource scope lets the app do, in plain words in the visitor's language."""
    gettext = translations(language_of(request)).gettext
    own = scope.context == "patient"
    every = scope.resource_type == "*"
    type_name = {"type": scope.resource_type}
    # Keyed by interaction; "rs" reads and searches together, as SMART's v1 .read did.
    if own and every:
        words = {
            "rs": gettext("Read and search all of your health records"),
            "r": gettext("Read all of your health records"),
            "s": gettext("Search your health records"),
            "c": gettext("Add new entries to your health records"),
            "u": gettext("Change entries in your health records"),
            "d": gettext("Delete entries from your health records"),
        }
    elif own:
        words = {
            "rs": gettext("Read and search your %(type)s records") % type_name,
            "r": gettext("Read your %(type)s records") % type_name,
            "s": gettext("Search your %(type)s records") % type_name,
            "c": gettext("Add new %(type)s records to your health records") % type_name,
            "u": gettext("Change your %(type)s records") % type_name,
            "d": gettext("Delete your %(type)s records") % type_name,
        }
    elif every:
        words = {
            "rs": gettext("Read and search every record your role lets you see"),
            "r": gettext("Read every record your role lets you see"),
            "s": gettext("Search every record your role lets you see"),
            "c": gettext("Create records in your name"),
            "u": gettext("Change records in your name"),
            "d": gettext("Delete records in your name"),
        }
    else:
        words = {
            "rs": gettext("Read and search %(type)s records your role lets you see") % type_name,
            "r": gettext("Read %(type)s records your role lets you see") % type_name,
            "s": gettext("Search %(type)s records your role lets you see") % type_name,
            "c": gettext("Create %(type)s records in your name") % type_name,
            "u": gettext("Change %(type)s records in your name") % type_name,
            "d": gettext("Delete %(type)s records in your name") % type_name,
        }
    letters = set(scope.interactions)
    lines = []
    if {"r", "s"} <= letters:
        lines.append(words["rs"])
        letters -= {"r", "s"}
    lines.extend(words[letter] for letter in "cruds" if letter in letters)
    if scope.restrictions:
        lines = [
            gettext("%(what)s (only: %(filter)s)")
            % {"what": line, "filter": ", ".join(value for _name, value in scope.restrictions)}
            for line in lines
        ]
    return lines


def _identity_lines(request: Request, other: frozenset[str]) -> list[str]:
    gettext = translations(language_of(request)).gettext
    words = {
        "openid": gettext("Know who you are: your account's identifier"),
        "fhirUser": gettext("Know your name and details in the health record"),
        "launch/patient": gettext("Know which patient record is yours"),
        "offline_access": gettext(
            "Keep its access when you are not using it, until its permission runs out"
        ),
    }
    return [words[name] for name in ("launch/patient", "fhirUser", "openid", "offline_access")
            if name in other]  # fmt: skip


def _consent_page(
    request: Request, session: LiveSession, asked: AuthorizationRequest, grant: oauth.UserGrant
) -> Response:
    lines = [line for scope in grant.scopes.resources for line in _scope_lines(request, scope)]
    lines += _identity_lines(request, grant.scopes.other)
    response = render(
        request,
        "consent.html",
        session=session,
        identity=session.identity,
        app=asked.client.name,
        return_host=urlsplit(asked.redirect_uri).netloc or asked.redirect_uri,
        lines=lines,
        parameters=asked.parameters(),
        # the language switch comes back here, in the language chosen there
        path=request.url.path
        + "?"
        + urlencode(
            [(name, value) for name, value in request.query_params.multi_items() if name != "lang"]
        ),
    )
    app_source = _form_action_source(asked.redirect_uri)
    csp = SECURITY_HEADERS["Content-Security-Policy"].replace(
        "form-action 'self'", f"form-action 'self' {app_source}".rstrip()
    )
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = "no-store"  # it carries the session's CSRF token
    return response


@router.get("/oauth2/authorize", response_class=HTMLResponse)
async def authorize(request: Request) -> Response:
    """The authorization endpoint (RFC 6749 §4.1.1, RFC 7636, SMART App Launch 2.0): check the
    app's request, have the person sign in, and ask them to approve it."""
    session = await current_session(request)
    try:
        asked = await oauth.authorization_request(
            engine_of(request), request.query_params.multi_items(), _fhir_base(request)
        )
    except AuthorizeError as refused:
        return _refused(request, refused, session)
    if session is None:
        here = f"{request.url.path}?{request.url.query}"
        return RedirectResponse("/login?" + urlencode({"next": here}), status_code=303)
    try:
        grant = oauth.user_grant(asked, session.identity)
    except AuthorizeError as refused:
        return _refused(request, refused, session)
    return _consent_page(request, session, asked, grant)


@router.post("/oauth2/consent")
async def consent(request: Request) -> Response:
    """The person's answer: a code for the app, or access_denied; both are audit records.

    The request's parameters come back in the form and are checked again as on GET: nothing of
    it is trusted for having been ours a moment ago.
    """
    session = await current_session(request)
    form = await request.form()
    gettext = translations(language_of(request)).gettext
    if session is None or not same_token(str(form.get("csrf_token", "")), session.csrf_token):
        return expired_form(request, gettext("Go back to the app and start signing in again."))
    pairs = [
        (name, value)
        for name, value in form.multi_items()
        if name in oauth.AUTHORIZE_PARAMETERS and isinstance(value, str)
    ]
    engine = engine_of(request)
    try:
        asked = await oauth.authorization_request(engine, pairs, _fhir_base(request))
        grant = oauth.user_grant(asked, session.identity)
    except AuthorizeError as refused:
        return _refused(request, refused, session)
    identity = session.identity
    patients = (identity.patient_id,) if identity.patient_id else ()
    decision = form.get("decision")
    if decision == "approve":
        settings: Settings = request.app.state.settings
        entry = audit_entry(
            request,
            audit.Action.LOGIN,
            identity,
            client_id=asked.client.client_id,
            outcome_code="app-approved",
            patients=patients,
            reason=f"{asked.client.name}: {grant.scopes}",
        )
        location = await oauth.approve(
            engine, asked, grant, oauth.policy(settings, str(request.base_url)), _now(), entry
        )
        return RedirectResponse(location, status_code=303)
    if decision == "deny":
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.LOGIN_REFUSED,
                identity,
                client_id=asked.client.client_id,
                outcome=audit.Outcome.REFUSED,
                outcome_code="access_denied",
                patients=patients,
                reason=asked.client.name,
            ),
        )
        denied = asked.refuse("access_denied", "The user denied the request")
        return RedirectResponse(denied.location or "/", status_code=303)
    return expired_form(request, gettext("Go back to the app and start signing in again."))
