"""The staff page "Find a citizen": by FIN or by name, written any of the ways people write
names here (the registry's folding, names.py), for the roles that must find any citizen to
start caring for them or route their request (security.care.PATIENT_FINDING_ROLES).

The search is a GET form, so a search is a link; HTMX swaps only the results when it is sent,
and without JavaScript the same URL answers with the whole page. A search reads personal data,
so each one is an audit record naming the citizens it showed; a refused visit is one too.
"""

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import TypeAdapter, ValidationError

from shafa.db.engine import plan_for_values, read_transaction
from shafa.registries.citizens import actions
from shafa.registries.citizens.schemas import MAX_QUERY, Query, citizen_row, wanted
from shafa.security import audit, care
from shafa.security.access import staff_bound
from shafa.security.pages import audit_entry, current_session, engine_of
from shafa.web.i18n import translations
from shafa.web.pages import language_of, render

router = APIRouter(include_in_schema=False)

PATH = "/registry/citizens"
SHOWN = 50  # citizens listed at once; more means the search should say more
_QUERY = TypeAdapter(Query)


@router.get(PATH, response_class=HTMLResponse)
async def find_a_citizen(request: Request) -> Response:
    """The search form and, once asked, the citizens that match."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login", status_code=303)
    identity = session.identity
    engine = engine_of(request)
    gettext = translations(language_of(request)).gettext
    if not care.finds_patients(identity.role):
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.ACCESS_REFUSED,
                identity,
                outcome=audit.Outcome.REFUSED,
                outcome_code="403",
                resources=("Patient",),
            ),
        )
        return render(
            request,
            "error.html",
            403,
            session=session,
            title=gettext("Not for your role"),
            message=gettext(
                "Only those who care for patients or route their requests find citizens."
            ),
        )
    given = request.query_params.get("q", "")
    error, rows, more = None, [], False
    try:
        text = _QUERY.validate_python(given)
    except ValidationError:
        text, error = given[:MAX_QUERY], gettext("Write at most 100 characters.")
    asked = wanted(text)
    if error is None and text and not text.isprintable():
        error = gettext("The search may not hold control characters.")
    elif error is None and text and asked.fin is None and not asked.names:
        error = gettext("Write a FIN (7 letters and digits) or a name.")
    elif error is None and text:
        async with read_transaction(engine) as conn:
            await plan_for_values(conn)
            found = await actions.find_citizens(
                conn, asked, staff_bound(identity, datetime.now(UTC)), SHOWN
            )
        language = language_of(request)
        rows, more = [citizen_row(p, language) for p in found.patients], found.more
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.SEARCH,
                identity,
                patients=tuple(row.patient_id for row in rows),
                resources=tuple(f"Patient/{row.patient_id}" for row in rows),
                query=str(request.url.query)[:2000] or None,
            ),
        )
    partial = request.headers.get("hx-request") == "true"
    return render(
        request,
        "citizens_results.html" if partial else "citizens.html",
        400 if error and not partial else 200,  # HTMX swaps only 2xx answers in
        session=session,
        query=text,
        searched=bool(text) and error is None,
        error=error,
        rows=rows,
        more=more,
        shown=SHOWN,
        path=f"{PATH}?{request.url.query}" if request.url.query else PATH,
    )
