"""The administrators' audit log page: search the log, newest first, a page at a time.

Only a system administrator opens it. The filters arrive as a GET form (so a search is a link
that can be kept and shared between administrators); each is checked here and a bad one is
a message in the page's language, never an error page. HTMX swaps only the results region when
the form is sent or the next page asked for; without JavaScript the same URLs answer with the
whole page. Reading the log is itself an access to personal data, so each search is recorded.

Beside it, the emergency accesses (break-the-glass) that wait for someone else's review, each
with a form to record what the review found.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select

from shafa.db.engine import write_transaction
from shafa.security import accounts, audit, care
from shafa.security.pages import audit_entry, current_session, engine_of, expired_form, same_token
from shafa.security.rules import InvalidUsername, Role
from shafa.security.tables import break_glass, users
from shafa.web.i18n import translations
from shafa.web.pages import language_of, render

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
FIELDS = ("username", "client_id", "patient_id", "action", "outcome", "since", "until")
MAX_LENGTH = 64  # usernames, client and patient ids are at most 64 characters


@dataclass
class Filters:
    """The form's filters as given (to refill the form), what they mean, and what is wrong."""

    given: dict[str, str]
    search: dict[str, Any] = field(default_factory=dict)  # audit.search_log's keywords
    errors: list[str] = field(default_factory=list)
    cursor: str | None = None


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


async def _filters(request: Request, gettext: Any) -> Filters:
    """Check each filter of the query; a translated message for each one that is wrong."""
    params = request.query_params
    given = {name: params.get(name, "").strip()[:200] for name in FIELDS}
    filters = Filters(given)
    search, errors = filters.search, filters.errors
    if not all(value.isprintable() for value in given.values()):
        errors.append(gettext("The filters may not hold control characters."))
        return filters
    if any(len(given[name]) > MAX_LENGTH for name in ("username", "client_id", "patient_id")):
        errors.append(gettext("Usernames, client ids and patient ids are at most 64 characters."))
    else:
        if given["username"]:
            try:
                user_id = await accounts.user_id_of(engine_of(request), given["username"])
            except InvalidUsername:
                user_id = None
            if user_id is None:
                errors.append(gettext("No account has this username."))
            else:
                search["user_id"] = str(user_id)
        if given["client_id"]:
            search["client_id"] = given["client_id"]
        if given["patient_id"]:
            search["patient_id"] = given["patient_id"]
    if given["action"]:
        if given["action"] in {action.value for action in audit.Action}:
            search["action"] = audit.Action(given["action"])
        else:
            errors.append(gettext("Choose an action from the list."))
    if given["outcome"]:
        if given["outcome"] in {outcome.value for outcome in audit.Outcome}:
            search["outcome"] = audit.Outcome(given["outcome"])
        else:
            errors.append(gettext("Choose an outcome from the list."))
    since, until = _day(given["since"]), _day(given["until"])
    if (given["since"] and since is None) or (given["until"] and until is None):
        errors.append(gettext("Write dates as year-month-day, such as 2026-03-01."))
    elif since is not None and until is not None and since > until:
        errors.append(gettext("The first day comes after the last."))
    else:
        if since is not None:
            search["since"] = datetime.combine(since, time(), UTC)
        if until is not None:  # the whole last day
            search["until"] = datetime.combine(until + timedelta(days=1), time(), UTC)
    cursor = params.get("cursor", "")
    if cursor:
        filters.cursor = cursor[:200]
    return filters


def _link(filters: Filters, cursor: str) -> str:
    query = [(name, value) for name, value in filters.given.items() if value]
    return "/admin/audit?" + urlencode([*query, ("cursor", cursor)])


def _refused(request: Request, session: accounts.LiveSession) -> HTMLResponse:
    gettext = translations(language_of(request)).gettext
    return render(
        request,
        "error.html",
        403,
        session=session,
        title=gettext("Not for your role"),
        message=gettext("Only system administrators may read the audit log."),
    )


@router.get("/admin/audit", response_class=HTMLResponse)
async def audit_log(request: Request) -> Response:
    """The audit log for system administrators: the form, and one page of matching records."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    identity = session.identity
    engine = engine_of(request)
    if identity.role is not Role.SYSTEM_ADMIN:
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.ACCESS_REFUSED,
                identity,
                outcome=audit.Outcome.REFUSED,
                outcome_code="403",
                resources=("AuditEvent",),
            ),
        )
        return _refused(request, session)
    gettext = translations(language_of(request)).gettext
    filters = await _filters(request, gettext)
    page = audit.Page([], None)
    status = 200
    if filters.errors:
        status = 400
    else:
        async with engine.connect() as conn:
            try:
                page = await audit.search_log(
                    conn, limit=PAGE_SIZE, cursor=filters.cursor, **filters.search
                )
            except ValueError:
                filters.errors.append(gettext("This page link is out of date: search again."))
                status = 400
        if not filters.errors:
            await audit.record_now(
                engine,
                audit_entry(
                    request,
                    audit.Action.SEARCH,
                    identity,
                    patients=tuple(
                        dict.fromkeys(p for r in page.records for p in r.entry.patients)
                    ),
                    resources=tuple(f"AuditEvent/{r.id}" for r in page.records),
                    query=str(request.url.query)[:2000] or None,
                ),
            )
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        "audit_results.html" if partial else "audit_log.html",
        status if not partial else 200,  # HTMX swaps only 2xx answers in
        session=session,
        identity=identity,
        filters=filters,
        records=page.records,
        next_link=_link(filters, page.next_cursor) if page.next_cursor else None,
        actions=list(audit.Action),
        outcomes=list(audit.Outcome),
    )


# --- Break-the-glass review -------------------------------------------------------------------

REVIEW_NOTE_LENGTH = 1000


async def _glass_rows(request: Request) -> list[Any]:
    """Emergency accesses awaiting review, newest first, with who broke the glass."""
    g, u = break_glass.c, users.c
    query = (
        select(g.id, g.patient_id, g.reason, g.started, g.expires, u.username, u.display_name)
        .add_columns(u.role, u.organization_id)
        .select_from(break_glass.join(users, users.c.id == g.user_id))
        .where(g.reviewed_at.is_(None))
        .order_by(g.started.desc(), g.id.desc())
        .limit(PAGE_SIZE)
    )
    async with engine_of(request).connect() as conn:
        return list(await conn.execute(query))


async def _admin(request: Request) -> accounts.LiveSession | Response:
    """The system administrator's session, or the answer for anyone else."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    if session.identity.role is not Role.SYSTEM_ADMIN:
        await audit.record_now(
            engine_of(request),
            audit_entry(
                request,
                audit.Action.ACCESS_REFUSED,
                session.identity,
                outcome=audit.Outcome.REFUSED,
                outcome_code="403",
                resources=("break-glass",),
            ),
        )
        return _refused(request, session)
    return session


def _glass_page(
    request: Request,
    session: accounts.LiveSession,
    rows: list[Any],
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    return render(request, "break_glass.html", status, session=session, rows=rows, **extra)


@router.get("/admin/break-glass", response_class=HTMLResponse)
async def glass_to_review(request: Request) -> Response:
    """Emergency accesses awaiting someone else's review: who, whose record, why, until when."""
    session = await _admin(request)
    if not isinstance(session, accounts.LiveSession):
        return session
    return _glass_page(request, session, await _glass_rows(request))


@router.post("/admin/break-glass/{glass_id}/review", response_class=HTMLResponse)
async def review_glass(
    request: Request,
    glass_id: int,
    csrf_token: str = Form(default="", max_length=100),
    note: str = Form(default="", max_length=4 * REVIEW_NOTE_LENGTH),
) -> Response:
    """Record the review of one emergency access (a form with the session's CSRF token)."""
    session = await _admin(request)
    if not isinstance(session, accounts.LiveSession):
        return session
    gettext = translations(language_of(request)).gettext
    if not same_token(csrf_token, session.csrf_token):
        return expired_form(request, gettext("Open the page again and repeat what you did."))
    text = " ".join(note.split())
    error = None
    if not 3 <= len(text) <= REVIEW_NOTE_LENGTH:
        error = gettext("Write what the review found, in 3 to 1000 characters.")
    else:
        try:
            async with write_transaction(engine_of(request)) as conn:
                await care.review(
                    conn,
                    glass_id,
                    reviewer_id=session.identity.user_id,
                    note=text,
                    now=datetime.now(UTC),
                )
        except care.GlassRefused:
            error = gettext("This emergency access cannot be reviewed (unknown, done, or yours).")
    if error is not None:
        rows = await _glass_rows(request)
        return _glass_page(request, session, rows, 400, error=error, failed=glass_id, note=note)
    return RedirectResponse("/admin/break-glass", status_code=303)
