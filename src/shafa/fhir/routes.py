"""The FHIR REST API at /fhir (R4 http.html): one router for every resource type.

Routes are thin: they turn HTTP into calls of `interactions` inside a transaction and the
results back into HTTP. Errors are FhirError exceptions, rendered once by the app.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from fastapi import APIRouter, Request, Response
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.db.engine import read_transaction, single_statement, write_transaction
from shafa.deps import AppSettings, Engine
from shafa.fhir import bundles, interactions, jsonio, search, store
from shafa.fhir.capability import capability_statement
from shafa.fhir.errors import FhirError, Issue, invalid, not_found, operation_outcome
from shafa.fhir.operations import validate
from shafa.fhir.resource_types import RESOURCE_TYPES
from shafa.fhir.responses import (
    PageLinks,
    history_bundle,
    http_date,
    version_location,
)
from shafa.fhir.validation import check_id

log = logging.getLogger(__name__)
router = APIRouter()

FHIR_JSON = "application/fhir+json; charset=utf-8"
RETRIES = 3
T = TypeVar("T")


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A FHIR JSON response; body is a dict, stored JSON text, or None for no body."""
    if body is None:
        return Response(status_code=status, headers=headers)
    content = body.encode() if isinstance(body, str) else jsonio.dumps(body)
    return Response(content, status, headers, media_type=FHIR_JSON)


def base_url(request: Request, settings: AppSettings) -> str:
    """The FHIR base URL clients see, for Location headers and Bundle links."""
    if settings.base_url:
        return settings.base_url.rstrip("/")
    return f"{str(request.base_url).rstrip('/')}/fhir"


def resource_type(name: str) -> str:
    """name if it is an R4 resource type, else 404 (R4 http.html: unknown type)."""
    if name not in RESOURCE_TYPES:
        raise not_found(f"{name!r} is not a FHIR R4 resource type")
    return name


async def read_body(request: Request) -> Any:
    """The request body parsed as FHIR JSON; 415 for another format."""
    media = request.headers.get("content-type", "application/fhir+json").split(";")[0].strip()
    if media not in (
        "application/fhir+json",
        "application/json",
        "application/json-patch+json",
        "text/json",
        "",
    ):
        raise FhirError.of(
            415,
            "not-supported",
            f"Content-Type {media!r} is not supported; send application/fhir+json",
        )
    body = await request.body()
    if not body:
        raise invalid("The request has no body")
    return jsonio.parse(body)


async def in_write(engine: AsyncEngine, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run work in a write transaction, retrying when a concurrent create won a race."""
    for attempt in range(RETRIES):
        try:
            async with write_transaction(engine) as conn:
                return await work(conn)
        except store.ConcurrentWrite:
            if attempt == RETRIES - 1:
                raise FhirError.of(
                    409, "conflict", "A concurrent write got there first; retry"
                ) from None
    raise AssertionError("unreachable")


def _prefer_return(request: Request) -> str:
    for part in request.headers.get("prefer", "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "return":
            return value.strip('"')
    return "representation"


def write_response(
    request: Request, settings: AppSettings, result: interactions.Result
) -> Response:
    """Render a write as Prefer asks: return=minimal, representation or OperationOutcome."""
    stored = result.stored
    headers: dict[str, str] = {}
    if stored is not None and stored.version:
        headers["ETag"] = stored.etag
        headers["Last-Modified"] = http_date(stored.last_updated)
        if not stored.deleted:
            headers["Location"] = f"{base_url(request, settings)}/{version_location(stored)}"
    prefer = _prefer_return(request)
    if prefer == "minimal":
        return fhir_response(None, result.status, headers)
    if prefer == "OperationOutcome" or stored is None or stored.deleted:
        issues = result.issues or (Issue("informational", "All OK", severity="information"),)
        return fhir_response(operation_outcome(issues), result.status, headers)
    return fhir_response(stored.content, result.status, headers)


def _version_headers(stored: store.Stored) -> dict[str, str]:
    return {"ETag": stored.etag, "Last-Modified": http_date(stored.last_updated)}


def _not_modified(request: Request, stored: store.Stored) -> bool:
    """Conditional read (R4 http.html#cread): If-None-Match or If-Modified-Since."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        return interactions.parse_etag(if_none_match) == stored.version
    since = request.headers.get("if-modified-since")
    if since is not None:
        try:
            return stored.last_updated.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def parse_instant(name: str, value: str) -> datetime:
    """A _since or _before value as an aware datetime; 400 if it is not a FHIR instant."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(
            f"{name}={value!r} is not a FHIR instant such as 2026-01-01T00:00:00Z", name
        ) from None
    if moment.tzinfo is None:
        raise invalid(f"{name}={value!r} needs a time zone (R4 instant)", name)
    return moment


def paging(settings: AppSettings, params: dict[str, str]) -> tuple[int, int]:
    """_count and _offset, checked: 400 for negative or non-numeric values."""
    try:
        count = int(params.get("_count", settings.default_page_size))
        offset = int(params.get("_offset", 0))
    except ValueError:
        raise invalid("_count and _offset must be whole numbers", "_count") from None
    if count < 0 or offset < 0:
        raise invalid("_count and _offset may not be negative", "_count")
    return min(count, settings.max_page_size), offset


# --- system level ---------------------------------------------------------------------------


@router.get("/metadata")
async def metadata(request: Request, settings: AppSettings) -> Response:
    """The CapabilityStatement (R4 http.html#capabilities)."""
    return fhir_response(capability_statement(base_url(request, settings)))


@router.post("")
@router.post("/")
async def batch_or_transaction(request: Request, engine: Engine, settings: AppSettings) -> Response:
    """POST a batch or transaction Bundle to the base (R4 http.html#transaction)."""
    kind, bundle = bundles.check_bundle(await read_body(request))
    if len(bundle.get("entry") or []) > settings.max_bundle_entries:
        raise invalid(
            f"A Bundle may carry at most {settings.max_bundle_entries} entries", "Bundle.entry"
        )
    representation = _prefer_return(request) == "representation" and "prefer" in request.headers
    base = base_url(request, settings)

    async def run_get(conn: AsyncConnection, url: str) -> tuple[int, Any]:
        return await _get_in_bundle(conn, settings, base, url)

    async def run_transaction(one: dict[str, Any]) -> dict[str, Any]:
        moment = store.now()
        return await in_write(
            engine,
            lambda conn: bundles.process_transaction(
                conn, one, moment, run_get=run_get, representation=representation
            ),
        )

    if kind == "transaction":
        return fhir_response(await run_transaction(bundle))
    return fhir_response(await bundles.process_batch(bundle, run_transaction))


async def _get_in_bundle(
    conn: AsyncConnection, settings: AppSettings, base: str, url: str
) -> tuple[int, Any]:
    """A GET entry of a Bundle: read, vread, search or instance history."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    params = parse_qsl(parts.query, keep_blank_values=True)
    if not segments:
        raise invalid(f"GET {url!r} names no resource type")
    res_type = resource_type(segments[0])
    if len(segments) == 1:
        return 200, await _search_bundle(conn, settings, base, res_type, params)
    fhir_id = check_id(segments[1])
    if len(segments) == 2:
        return 200, (await store.read(conn, res_type, fhir_id)).resource()
    if len(segments) == 4 and segments[2] == "_history" and segments[3].isdigit():
        return 200, (await store.vread(conn, res_type, fhir_id, int(segments[3]))).resource()
    if len(segments) == 3 and segments[2] == "_history":
        return 200, await _history(conn, settings, base, dict(params), res_type, fhir_id)
    raise invalid(f"GET {url!r} is not a read, vread, search or history URL")


@router.get("/_history")
async def system_history(request: Request, engine: Engine, settings: AppSettings) -> Response:
    """Every change to every resource (R4 http.html#history)."""
    async with read_transaction(engine) as conn:
        bundle = await _history(
            conn, settings, base_url(request, settings), dict(request.query_params), None, None
        )
    return fhir_response(bundle)


async def _history(
    conn: AsyncConnection,
    settings: AppSettings,
    base: str,
    params: dict[str, str],
    res_type: str | None,
    fhir_id: str | None,
) -> dict[str, Any]:
    count, offset = paging(settings, params)
    since = parse_instant("_since", params["_since"]) if "_since" in params else None
    before = parse_instant("_before", params["_before"]) if "_before" in params else store.now()
    if fhir_id is not None:
        assert res_type is not None
        if not await store.exists(conn, res_type, fhir_id):
            raise not_found(f"{res_type}/{fhir_id} is not known")
    page = await store.history(
        conn,
        res_type=res_type,
        fhir_id=fhir_id,
        since=since,
        before=before,
        count=count,
        offset=offset,
    )
    path = "/".join(p for p in (base, res_type, fhir_id, "_history") if p)
    kept = [(k, v) for k, v in params.items() if k in ("_since",)]
    kept.append(("_before", store.instant(before)))
    links = PageLinks(path, kept, count, offset, page.total).build()
    return history_bundle(base, page, links)


# --- type level -----------------------------------------------------------------------------


@router.get("/{type_name}/_history")
async def type_history(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Every change to resources of one type."""
    res_type = resource_type(type_name)
    async with read_transaction(engine) as conn:
        bundle = await _history(
            conn, settings, base_url(request, settings), dict(request.query_params), res_type, None
        )
    return fhir_response(bundle)


async def _search_bundle(
    conn: AsyncConnection,
    settings: AppSettings,
    base: str,
    res_type: str,
    params: list[tuple[str, str]],
) -> dict[str, Any]:
    count, offset = paging(settings, dict(params))
    found = search.criteria(res_type, params)
    total = await search.count(conn, res_type, found)
    rows = await search.matching(conn, res_type, found, limit=count, offset=offset) if count else []
    kept = [(k, v) for k, v in params if k not in ("_count", "_offset")]
    links = PageLinks(f"{base}/{res_type}", kept, count, offset, total).build()
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": total,
        "link": [{"relation": r, "url": u} for r, u in links.items()],
        "entry": [
            {
                "fullUrl": f"{base}/{res_type}/{row.fhir_id}",
                "resource": orjson.Fragment(row.content),
                "search": {"mode": "match"},
            }
            for row in rows
        ],
    }


@router.get("/{type_name}")
async def search_type(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Search by GET (R4 search.html)."""
    res_type = resource_type(type_name)
    async with read_transaction(engine) as conn:
        bundle = await _search_bundle(
            conn,
            settings,
            base_url(request, settings),
            res_type,
            list(request.query_params.multi_items()),
        )
    return fhir_response(bundle)


@router.post("/{type_name}/_search")
async def search_type_post(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Search by POST with form-encoded parameters (R4 http.html#search)."""
    res_type = resource_type(type_name)
    form = parse_qsl((await request.body()).decode(), keep_blank_values=True)
    params = list(request.query_params.multi_items()) + form
    async with read_transaction(engine) as conn:
        bundle = await _search_bundle(conn, settings, base_url(request, settings), res_type, params)
    return fhir_response(bundle)


@router.post("/{type_name}/$validate")
async def validate_type(type_name: str, request: Request) -> Response:
    """$validate a resource of this type (R4 resource-operation-validate)."""
    return fhir_response(validate.run(resource_type(type_name), None, await read_body(request)))


@router.post("/{type_name}")
async def create(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Create, or conditional create with If-None-Exist (R4 http.html#create)."""
    res_type = resource_type(type_name)
    resource = await read_body(request)
    moment = store.now()
    result = await in_write(
        engine,
        lambda conn: interactions.create(
            conn, res_type, resource, moment, if_none_exist=request.headers.get("if-none-exist")
        ),
    )
    return write_response(request, settings, result)


def _criteria(request: Request, what: str) -> str:
    query = request.url.query
    if not query:
        raise FhirError.of(
            400 if what != "delete" else 412,
            "invalid",
            f"Conditional {what} needs search criteria in the URL",
        )
    return query


@router.put("/{type_name}")
async def conditional_update(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """PUT Type?criteria (R4 http.html#cond-update)."""
    res_type = resource_type(type_name)
    query = _criteria(request, "update")
    resource = await read_body(request)
    if_match = interactions.parse_etag(request.headers.get("if-match"))
    moment = store.now()
    result = await in_write(
        engine,
        lambda conn: interactions.conditional_update(
            conn, res_type, query, resource, moment, if_match=if_match
        ),
    )
    return write_response(request, settings, result)


@router.patch("/{type_name}")
async def conditional_patch(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """PATCH Type?criteria (R4 http.html#patch)."""
    res_type = resource_type(type_name)
    query = _criteria(request, "patch")
    operations = await read_body(request)
    if_match = interactions.parse_etag(request.headers.get("if-match"))
    moment = store.now()
    result = await in_write(
        engine,
        lambda conn: interactions.conditional_patch(
            conn, res_type, query, operations, moment, if_match=if_match
        ),
    )
    return write_response(request, settings, result)


@router.delete("/{type_name}")
async def conditional_delete(
    type_name: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """DELETE Type?criteria (R4 http.html#cdelete)."""
    res_type = resource_type(type_name)
    query = _criteria(request, "delete")
    moment = store.now()
    result = await in_write(
        engine, lambda conn: interactions.conditional_delete(conn, res_type, query, moment)
    )
    return write_response(request, settings, result)


# --- instance level -------------------------------------------------------------------------


@router.get("/{type_name}/{fhir_id}")
async def read(type_name: str, fhir_id: str, request: Request, engine: Engine) -> Response:
    """Read the current version (R4 http.html#read); 410 once deleted."""
    res_type = resource_type(type_name)
    async with single_statement(engine) as conn:
        stored = await store.read(conn, res_type, check_id(fhir_id))
    if _not_modified(request, stored):
        return Response(status_code=304, headers=_version_headers(stored))
    return fhir_response(stored.content, headers=_version_headers(stored))


@router.get("/{type_name}/{fhir_id}/_history")
async def instance_history(
    type_name: str, fhir_id: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Every version of one resource, deletions included."""
    res_type = resource_type(type_name)
    async with read_transaction(engine) as conn:
        bundle = await _history(
            conn,
            settings,
            base_url(request, settings),
            dict(request.query_params),
            res_type,
            check_id(fhir_id),
        )
    return fhir_response(bundle)


@router.get("/{type_name}/{fhir_id}/_history/{version}")
async def vread(type_name: str, fhir_id: str, version: str, engine: Engine) -> Response:
    """Read one version (R4 http.html#vread)."""
    res_type = resource_type(type_name)
    if not version.isdigit():
        raise not_found(f"{version!r} is not a version of {res_type}/{fhir_id}")
    async with single_statement(engine) as conn:
        stored = await store.vread(conn, res_type, check_id(fhir_id), int(version))
    return fhir_response(stored.content, headers=_version_headers(stored))


@router.put("/{type_name}/{fhir_id}")
async def update(
    type_name: str, fhir_id: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Update, or create with the client's id (R4 http.html#update); If-Match locks."""
    res_type = resource_type(type_name)
    resource = await read_body(request)
    if_match = interactions.parse_etag(request.headers.get("if-match"))
    moment = store.now()
    result = await in_write(
        engine,
        lambda conn: interactions.update(
            conn, res_type, fhir_id, resource, moment, if_match=if_match
        ),
    )
    return write_response(request, settings, result)


@router.patch("/{type_name}/{fhir_id}")
async def patch(
    type_name: str, fhir_id: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """PATCH with a JSON Patch document (R4 http.html#patch)."""
    res_type = resource_type(type_name)
    operations = await read_body(request)
    if_match = interactions.parse_etag(request.headers.get("if-match"))
    moment = store.now()
    result = await in_write(
        engine,
        lambda conn: interactions.patch(
            conn, res_type, check_id(fhir_id), operations, moment, if_match=if_match
        ),
    )
    return write_response(request, settings, result)


@router.delete("/{type_name}/{fhir_id}")
async def delete(
    type_name: str, fhir_id: str, request: Request, engine: Engine, settings: AppSettings
) -> Response:
    """Delete (R4 http.html#delete): later reads give 410, history keeps every version."""
    res_type = resource_type(type_name)
    if_match = interactions.parse_etag(request.headers.get("if-match"))
    moment = store.now()
    result = await in_write(
        engine, lambda conn: interactions.delete(conn, res_type, fhir_id, moment, if_match=if_match)
    )
    return write_response(request, settings, result)


@router.post("/{type_name}/{fhir_id}/$validate")
async def validate_instance(type_name: str, fhir_id: str, request: Request) -> Response:
    """$validate against an existing instance id (mode update or delete)."""
    return fhir_response(
        validate.run(resource_type(type_name), check_id(fhir_id), await read_body(request))
    )


def render_error(error: FhirError) -> Response:
    """An OperationOutcome response for a FhirError."""
    return Response(
        orjson.dumps(operation_outcome(error.issues)),
        error.status,
        error.headers,
        media_type=FHIR_JSON,
    )
