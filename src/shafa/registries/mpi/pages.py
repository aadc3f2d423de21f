"""The registry administrators' page "Possible duplicates": the open review items, each pair of
Patients side by side with how they agree field by field, and the decisions: merge one into the
other (either way round), or not a duplicate; below, the latest merges, each with unmerge.

Only a registry administrator opens it (security.rules.Role.REGISTRY_ADMIN). It shows citizens'
data, so each visit is an audit record naming the Patients shown; a refused visit is one too.
Every form carries the session's CSRF token; the decisions are actions.merge, actions.unmerge
and actions.not_duplicate, each in one transaction, the merges audited there.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.engine import write_transaction
from shafa.db.tables import resources
from shafa.fhir import jsonio
from shafa.registries.citizens.rules import name_language
from shafa.registries.mpi import actions, rules
from shafa.registries.mpi.tables import mpi_merges, mpi_reviews
from shafa.security import accounts, audit
from shafa.security.pages import audit_entry, current_session, engine_of, expired_form, same_token
from shafa.security.rules import Role
from shafa.web.i18n import translations
from shafa.web.pages import language_of, render

router = APIRouter(include_in_schema=False)

PATH = "/registry/duplicates"
SHOWN = 25  # pairs a page lists, the most likely first
MERGES_SHOWN = 10


@dataclass(frozen=True)
class Side:
    """One Patient of a pair as the page shows it."""

    patient_id: str
    names: list[str]
    values: dict[str, str]  # field -> what the Patient says, as written
    active: bool


@dataclass(frozen=True)
class Pair:
    """An open review item: both Patients, the agreement of each field, the grade."""

    review_id: int
    a: Side
    b: Side
    agreement: dict[str, str]
    grade: str
    score: float


def _side(patient_id: str, patient: dict[str, Any] | None) -> Side:
    if patient is None:
        return Side(patient_id, [], {}, False)
    names = []
    for name in patient.get("name") or []:
        written = " ".join([*name.get("given", []), name.get("family", "")]).strip()
        language = name_language(name)
        names.append(f"{written} ({language})" if language else written)
    f = rules.features(patient)
    telecom = patient.get("telecom") or []
    phones = [p.get("value", "") for p in telecom if p.get("system") in ("phone", "sms")]
    places = [a.get("district") or a.get("city") or "" for a in patient.get("address") or []]
    values = {
        "fin": f.fin or "",
        "family": ", ".join(n.get("family", "") for n in patient.get("name") or []),
        "given": ", ".join((n.get("given") or [""])[0] for n in patient.get("name") or []),
        "patronymic": ", ".join(
            patronymic
            for n in patient.get("name") or []
            for patronymic in [rules.given_and_patronymic(n.get("given") or [])[1]]
            if patronymic
        ),
        "birth_date": patient.get("birthDate", ""),
        "sex": patient.get("gender", ""),
        "district": ", ".join(p for p in places if p),
        "phone": ", ".join(p for p in phones if p),
    }
    return Side(patient_id, names, values, patient.get("active") is not False)


async def _patients(conn: AsyncConnection, ids: set[str]) -> dict[str, dict[str, Any]]:
    r = resources.c
    rows = await conn.execute(
        select(r.fhir_id, r.content).where(
            r.res_type == "Patient", r.fhir_id.in_(sorted(ids)), r.deleted.is_(False)
        )
    )
    return {row.fhir_id: jsonio.parse(row.content) for row in rows}


async def _open_pairs(conn: AsyncConnection) -> list[Pair]:
    r = mpi_reviews.c
    rows = list(
        await conn.execute(
            select(r.id, r.patient_a, r.patient_b, r.agreement, r.grade, r.score)
            .where(r.status == "open")
            .order_by(r.weight.desc(), r.id)
            .limit(SHOWN)
        )
    )
    patients = await _patients(conn, {i for row in rows for i in (row.patient_a, row.patient_b)})
    return [
        Pair(
            row.id,
            _side(row.patient_a, patients.get(row.patient_a)),
            _side(row.patient_b, patients.get(row.patient_b)),
            orjson.loads(row.agreement),
            row.grade,
            row.score,
        )
        for row in rows
    ]


async def _latest_merges(conn: AsyncConnection) -> list[Any]:
    m = mpi_merges.c
    return list(
        await conn.execute(
            select(m.id, m.duplicate_id, m.survivor_id, m.merged_at, m.merged_by, m.moved_count)
            .where(m.unmerged_at.is_(None))
            .order_by(m.id.desc())
            .limit(MERGES_SHOWN)
        )
    )


async def _keeper(request: Request) -> accounts.LiveSession | Response:
    """The registry administrator's session, or the answer for anyone else."""
    session = await current_session(request)
    if session is None:
        return RedirectResponse("/login?next=" + PATH, status_code=303)
    if session.identity.role is not Role.REGISTRY_ADMIN:
        await audit.record_now(
            engine_of(request),
            audit_entry(
                request,
                audit.Action.ACCESS_REFUSED,
                session.identity,
                outcome=audit.Outcome.REFUSED,
                outcome_code="403",
                resources=(PATH,),
            ),
        )
        gettext = translations(language_of(request)).gettext
        return render(
            request,
            "error.html",
            403,
            session=session,
            title=gettext("Not for your role"),
            message=gettext("Only registry administrators decide which records are duplicates."),
        )
    return session


def _refusal(request: Request, refused: actions.MergeRefused) -> str:
    """What went wrong, in the visitor's language."""
    gettext = translations(language_of(request)).gettext
    return {
        actions.Refusal.ITSELF: gettext("A record cannot be merged into itself."),
        actions.Refusal.UNKNOWN: gettext("One of the records no longer exists."),
        actions.Refusal.ALREADY_MERGED: gettext(
            "This record is already merged into another one. Unmerge it first."
        ),
        actions.Refusal.SURVIVOR_REPLACED: gettext(
            "The record to keep is itself merged into another one: merge into that one."
        ),
        actions.Refusal.CHAIN_LOOP: gettext(
            "The records' replaced-by links would go round in a circle."
        ),
        actions.Refusal.DECEASED: gettext(
            "One record says the person died and the other does not. Correct the wrong one first."
        ),
        actions.Refusal.NOT_MERGED: gettext("This record is not merged into another one."),
        actions.Refusal.MERGED_FURTHER: gettext(
            "The kept record has since been merged into another one. Unmerge that first."
        ),
        actions.Refusal.LINKS_CHANGED: gettext(
            "The records' links were changed since the merge, so it cannot be undone here."
        ),
        actions.Refusal.DECIDED: gettext("Someone has already decided this pair."),
        actions.Refusal.TWO_FINS: gettext(
            "Each record has its own FIN, so they are two different people."
        ),
    }[refused.reason]


async def _page(
    request: Request, session: accounts.LiveSession, status: int = 200, **extra: Any
) -> HTMLResponse:
    engine = engine_of(request)
    async with engine.connect() as conn:
        pairs = await _open_pairs(conn)
        merges = await _latest_merges(conn)
    shown = tuple(dict.fromkeys(i for p in pairs for i in (p.a.patient_id, p.b.patient_id)))
    shown += tuple(dict.fromkeys(i for m in merges for i in (m.duplicate_id, m.survivor_id)))
    if shown:
        await audit.record_now(
            engine,
            audit_entry(
                request,
                audit.Action.SEARCH,
                session.identity,
                patients=shown[:1000],
                resources=tuple(f"Patient/{i}" for i in shown)[:1000],
                query="possible duplicates",
            ),
        )
    return render(
        request,
        "duplicates.html",
        status,
        session=session,
        pairs=pairs,
        merges=merges,
        fields=rules.FIELDS,
        done=request.query_params.get("done"),
        **extra,
    )


@router.get(PATH, response_class=HTMLResponse)
async def duplicates(request: Request) -> Response:
    """The open pairs, most likely first, and the latest merges."""
    session = await _keeper(request)
    if not isinstance(session, accounts.LiveSession):
        return session
    return await _page(request, session)


async def _decide(request: Request, csrf_token: str, decision: Any, done: str) -> Response:
    """Run a decision for a registry administrator: 303 back to the page, or the page again
    with what went wrong."""
    session = await _keeper(request)
    if not isinstance(session, accounts.LiveSession):
        return session
    if not same_token(csrf_token, session.csrf_token):
        gettext = translations(language_of(request)).gettext
        return expired_form(request, gettext("Open the page again and repeat what you did."))
    who = audit_entry(request, audit.Action.UPDATE, session.identity)
    try:
        async with write_transaction(engine_of(request)) as conn:
            await decision(conn, who, datetime.now(UTC))
    except actions.MergeRefused as refused:
        return await _page(request, session, refused.status, error=_refusal(request, refused))
    return RedirectResponse(f"{PATH}?done={done}", status_code=303)


async def _pair(conn: AsyncConnection, review_id: int) -> tuple[str, str]:
    r = mpi_reviews.c
    row = (await conn.execute(select(r.patient_a, r.patient_b).where(r.id == review_id))).first()
    if row is None:
        raise actions.MergeRefused(actions.Refusal.UNKNOWN, f"No review item {review_id}")
    return row.patient_a, row.patient_b


@router.post(PATH + "/{review_id}/merge", response_class=HTMLResponse)
async def merge_pair(
    request: Request,
    review_id: int,
    csrf_token: str = Form(default="", max_length=100),
    survivor: str = Form(default="", max_length=64),
) -> Response:
    """Merge one Patient of the pair into the other, the one named survivor."""

    async def decision(conn: AsyncConnection, who: audit.AuditRecord, moment: datetime) -> None:
        a, b = await _pair(conn, review_id)
        if survivor not in (a, b):
            raise actions.MergeRefused(actions.Refusal.UNKNOWN, f"{survivor!r} is not in the pair")
        duplicate = b if survivor == a else a
        await actions.merge(conn, duplicate, survivor, who, moment)

    return await _decide(request, csrf_token, decision, "merged")


@router.post(PATH + "/{review_id}/not-duplicate", response_class=HTMLResponse)
async def not_a_duplicate(
    request: Request, review_id: int, csrf_token: str = Form(default="", max_length=100)
) -> Response:
    """Record that the pair are two people."""

    async def decision(conn: AsyncConnection, who: audit.AuditRecord, moment: datetime) -> None:
        a, b = await _pair(conn, review_id)
        await actions.not_duplicate(conn, a, b, who, moment)

    return await _decide(request, csrf_token, decision, "not-duplicate")


@router.post("/registry/merges/{merge_id}/unmerge", response_class=HTMLResponse)
async def unmerge(
    request: Request, merge_id: int, csrf_token: str = Form(default="", max_length=100)
) -> Response:
    """Undo a merge listed on the page."""

    async def decision(conn: AsyncConnection, who: audit.AuditRecord, moment: datetime) -> None:
        m = mpi_merges.c
        row = (
            await conn.execute(
                select(m.duplicate_id).where(m.id == merge_id, m.unmerged_at.is_(None))
            )
        ).first()
        if row is None:
            raise actions.MergeRefused(actions.Refusal.NOT_MERGED, f"No merge {merge_id} to undo")
        await actions.unmerge(conn, row.duplicate_id, who, moment)

    return await _decide(request, csrf_token, decision, "unmerged")
