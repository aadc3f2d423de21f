"""Signing in and out, the role-aware home pages, and the citizen's "who accessed my record".

Sessions are server-side (accounts.open_session): the browser holds only a random id in an
HttpOnly cookie. Every form carries a CSRF token: the sign-in form a double-submit token (a
cookie and a field that must match, since there is no session yet), every form after it the
session's own token. Sign-ins, refusals and sign-outs are audit records.
"""

import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncEngine

from shafa.security import accounts, audit
from shafa.security.accounts import LiveSession, LoginRefused, Refusal
from shafa.security.rules import Role
from shafa.web.i18n import translations
from shafa.web.pages import language_of, render

SESSION_COOKIE = "shafa_session"
LOGIN_CSRF_COOKIE = "shafa_login_csrf"

router = APIRouter(include_in_schema=False)


def _engine(request: Request) -> AsyncEngine:
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
    return await accounts.session_identity(_engine(request), session_id, _now())


def _same(given: str | None, expected: str | None) -> bool:
    return bool(given) and bool(expected) and hmac.compare_digest(str(given), str(expected))


def _audit_entry(
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


def _expired_form(request: Request, again: str) -> HTMLResponse:
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


def _login_page(request: Request, status: int = 200, **values: Any) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", status, csrf_token=token, **values)
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    """The sign-in form; someone already signed in goes home."""
    if await current_session(request) is not None:
        return RedirectResponse("/home", status_code=303)
    return _login_page(request)


@router.post("/login")
async def login(
    request: Request,
    username: str = Form(default="", max_length=100),
    password: str = Form(default="", max_length=200),
    totp: str = Form(default="", max_length=12),
    csrf_token: str = Form(default="", max_length=100),
) -> Response:
    """Check the credentials; open a session and go home, or show why not."""
    if not _same(csrf_token, request.cookies.get(LOGIN_CSRF_COOKIE)):
        gettext = translations(language_of(request)).gettext
        return _expired_form(
            request, gettext("Open the sign-in page again and repeat what you did.")
        )
    now = _now()
    engine = _engine(request)
    try:
        identity = await accounts.authenticate(engine, username, password, totp or None, now)
    except LoginRefused as refused:
        await audit.record_now(
            engine,
            _audit_entry(
                request,
                audit.Action.LOGIN_REFUSED,
                outcome=audit.Outcome.REFUSED,
                outcome_code=refused.reason.value,
                display=username[:100],
            ),
        )
        return _login_page(
            request, 401, error=_refusal_message(request, refused), username=username
        )
    session = await accounts.open_session(engine, identity, now)
    await audit.record_now(
        engine,
        _audit_entry(request, audit.Action.LOGIN, identity),
    )
    response = RedirectResponse("/home", status_code=303)
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
        if not _same(csrf_token, session.csrf_token):
            gettext = translations(language_of(request)).gettext
            return _expired_form(request, gettext("Open the page again and repeat what you did."))
        await accounts.close_session(_engine(request), request.cookies[SESSION_COOKIE], _now())
        await audit.record_now(
            _engine(request), _audit_entry(request, audit.Action.LOGOUT, session.identity)
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
    return render(request, "role_home.html", session=session, identity=session.identity, roles=Role)


@router.get("/citizens/{patient_id}/access", response_class=HTMLResponse)
async def who_accessed(request: Request, patient_id: str) -> Response:
    """Who accessed a citizen's record: the citizen's own page, and nobody else's."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    identity = session.identity
    engine = _engine(request)
    if identity.patient_id != patient_id:
        await audit.record_now(
            engine,
            _audit_entry(
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
