"""The FHIR REST API at /fhir (R4 http.html): one router for every resource type.

FHIR's URL grammar is small and fixed ([type] [/id] [/_history [/version]], $operations,
_search), so the FHIR API is a plain ASGI app that dispatches on the method and the path's
segments, as HAPI's RestfulServer does, instead of going through the web framework's routing and
dependency machinery, which cost more than reading a resource does. Handlers are thin: they turn
HTTP into calls of `interactions` inside a transaction and the results back into HTTP. Errors
are FhirError exceptions, rendered once, in FhirApi.__call__.
"""

import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from shafa.config import Settings
from shafa.db.engine import (
    plan_for_values,
    read_transaction,
    search_connection,
    single_statement,
    write_transaction,
)
from shafa.fhir import bundles, interactions, jsonio, provided, search, store, subsetting
from shafa.fhir.capability import capability_statement
from shafa.fhir.compartments import patient_compartment_params
from shafa.fhir.errors import FhirError, Issue, invalid, not_found, operation_outcome
from shafa.fhir.operations import Operation, validate
from shafa.fhir.operations import find as find_operation
from shafa.fhir.resource_types import RESOURCE_TYPES
from shafa.fhir.responses import (
    PageLinks,
    cursor_links,
    history_bundle,
    http_date,
    version_location,
)
from shafa.fhir.validation import check_id
from shafa.security import audit, audit_fhir, care, oauth
from shafa.security.access import (
    AccessContext,
    authenticate,
    compartment,
    forbidden,
    require,
    unauthenticated,
)
from shafa.security.keys import KeyRing
from shafa.security.scopes import Interaction
from shafa.security.tokens import TokenRefused

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json; charset=utf-8"
RETRIES = 3
T = TypeVar("T")
# What an answer did to which resources, for its audit records: (action, type, id, patient id).
Seen = list[tuple[audit.Action, str, str, str | None]]


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A FHIR JSON response; body is a dict, stored JSON text, or None for no body."""
    if body is None:
        return Response(status_code=status, headers=headers)
    content = body.encode() if isinstance(body, str) else jsonio.dumps(body)
    return Response(content, status, headers, media_type=FHIR_JSON)


def base_url(request: Request, settings: Settings) -> str:
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


async def in_write(
    engine: AsyncEngine,
    work: Callable[[AsyncConnection], Awaitable[T]],
    *,
    atomic_alone: bool = False,
) -> T:
    """Run work in a write transaction, retrying when a concurrent write won a race.

    atomic_alone says the work's one write is atomic by itself (store.writes_alone)
    and it reads nothing it must lock, so BEGIN and COMMIT around it would be wasted round trips.
    """
    for attempt in range(RETRIES):
        try:
            # After a lost race, retry under locks, which queue writers instead of racing them.
            if atomic_alone and attempt == 0:
                async with single_statement(engine) as conn:
                    return await work(conn)
            async with write_transaction(engine) as conn:
                return await work(conn)
        except store.ConcurrentWrite:
            if attempt == RETRIES - 1:
                raise FhirError.of(
                    409, "conflict", "A concurrent write got there first; retry"
                ) from None
    raise AssertionError("unreachable")


def _prefer(request: Request, preference: str, default: str) -> str:
    # RFC 7240: preferences are separated by commas, a preference's parameters by semicolons.
    for part in request.headers.get("prefer", "").replace(";", ",").split(","):
        key, _, value = part.strip().partition("=")
        if key == preference:
            return value.strip('"')
    return default


def _prefer_return(request: Request) -> str:
    return _prefer(request, "return", "representation")


def strict_handling(request: Request) -> bool:
    """Prefer: handling=strict (R4 search.html#errors); lenient is the default."""
    return _prefer(request, "handling", "lenient") == "strict"


def write_response(request: Request, settings: Settings, result: interactions.Result) -> Response:
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


def paging(settings: Settings, params: dict[str, str]) -> tuple[int, int]:
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


@dataclass(slots=True)
class Call:
    """One FHIR request, with the path's parts already taken apart."""

    request: Request
    engine: AsyncEngine
    settings: Settings
    search_engine: AsyncEngine | None = None  # see db.engine.create_search_engine
    access: AccessContext | None = None  # None when the FHIR API runs without tokens
    bound: store.Bound | None = None  # what the caller may see (AccessContext.bound)
    res_type: str = ""
    fhir_id: str = ""
    version: str = ""
    action: audit.Action | None = None  # what the handler does, for the audit record
    seen: "Seen" = field(default_factory=list)
    operation: Operation | None = None  # a registered $operation the path names

    @property
    def base(self) -> str:
        """The FHIR base URL the client sees."""
        return base_url(self.request, self.settings)

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, the last value of each."""
        return dict(self.request.query_params)

    def if_match(self) -> int | None:
        """The version in If-Match, if sent."""
        return interactions.parse_etag(self.request.headers.get("if-match"))

    async def write(
        self,
        work: Callable[[AsyncConnection], Awaitable[interactions.Result]],
        *,
        alone: bool = False,
    ) -> Response:
        """Run a write interaction and render its result.

        alone: the interaction makes one write and no conditional search, so on a database where
        single writes are atomic it runs without a transaction.
        """
        atomic_alone = alone and store.writes_alone(
            self.engine.dialect, self.res_type, store.WRITE_GUARD.get()
        )
        result = await in_write(self.engine, work, atomic_alone=atomic_alone)
        if result.stored is not None and self.action is not None:
            stored = result.stored
            self.seen.append((self.action, stored.res_type, stored.fhir_id, stored.patient_id))
        return write_response(self.request, self.settings, result)


# --- system level ---------------------------------------------------------------------------


async def metadata(call: Call) -> Response:
    """The CapabilityStatement (R4 http.html#capabilities)."""
    return fhir_response(capability_statement(call.base))


async def batch_or_transaction(call: Call) -> Response:
    """POST a batch or transaction Bundle to the base (R4 http.html#transaction)."""
    settings = call.settings
    kind, bundle = bundles.check_bundle(await read_body(call.request))
    if len(bundle.get("entry") or []) > settings.max_bundle_entries:
        raise invalid(
            f"A Bundle may carry at most {settings.max_bundle_entries} entries", "Bundle.entry"
        )
    prefer = _prefer_return(call.request)
    representation = prefer == "representation" and "prefer" in call.request.headers
    base = call.base

    async def run_get(conn: AsyncConnection, url: str) -> tuple[int, Any]:
        return await _get_in_bundle(conn, settings, base, url, call.bound, call.seen)

    async def run_transaction(one: dict[str, Any]) -> dict[str, Any]:
        moment = store.now()
        return await in_write(
            call.engine,
            lambda conn: bundles.process_transaction(
                conn, one, moment, run_get=run_get, representation=representation, seen=call.seen
            ),
        )

    if compartment(call.access) is not None:
        raise forbidden("Patient-context tokens (patient/...) cannot post Bundles yet")
    if call.access is not None:
        for entry in bundle.get("entry") or []:
            interaction, entry_type = _bundle_entry_needs(entry)
            require(call.access, interaction, entry_type)
    if kind == "transaction":
        return fhir_response(await run_transaction(bundle))
    return fhir_response(await bundles.process_batch(bundle, run_transaction))


async def _get_in_bundle(
    conn: AsyncConnection,
    settings: Settings,
    base: str,
    url: str,
    bound: store.Bound | None,
    seen: Seen,
) -> tuple[int, Any]:
    """A GET entry of a Bundle: read, vread, search or instance history, each bounded as the
    same request on its own would be."""
    parts = urlsplit(url)
    segments = [s for s in parts.path.split("/") if s]
    params = parse_qsl(parts.query, keep_blank_values=True)
    if not segments:
        raise invalid(f"GET {url!r} names no resource type")
    res_type = resource_type(segments[0])
    if len(segments) == 1:
        await plan_for_values(conn)
        return 200, await _search_bundle(
            conn, settings, base, res_type, params, bound=bound, seen=seen
        )
    fhir_id = check_id(segments[1])
    version = int(segments[3]) if len(segments) == 4 and segments[3].isdigit() else None
    await _check_visible(conn, res_type, fhir_id, bound, version)
    if len(segments) == 2:
        shape = subsetting.parse_shape(dict(params), search=False)
        stored = await store.read(conn, res_type, fhir_id)
        seen.append((audit.Action.READ, res_type, fhir_id, stored.patient_id))
        return 200, shape.apply(stored.resource())
    if len(segments) == 4 and segments[2] == "_history" and segments[3].isdigit():
        shape = subsetting.parse_shape(dict(params), search=False)
        stored = await store.vread(conn, res_type, fhir_id, int(segments[3]))
        seen.append((audit.Action.VREAD, res_type, fhir_id, stored.patient_id))
        return 200, shape.apply(stored.resource())
    if len(segments) == 3 and segments[2] == "_history":
        return 200, await _history(
            conn, settings, base, dict(params), res_type, fhir_id, bound=bound, seen=seen
        )
    raise invalid(f"GET {url!r} is not a read, vread, search or history URL")


async def history(call: Call) -> Response:
    """History at system, type or instance level (R4 http.html#history)."""
    if call.fhir_id:
        await _may_see(call)
    async with read_transaction(call.engine) as conn:
        bundle = await _history(
            conn,
            call.settings,
            call.base,
            call.params,
            call.res_type or None,
            call.fhir_id or None,
            bound=call.bound,
            seen=call.seen,
        )
    return fhir_response(bundle)


async def _history(
    conn: AsyncConnection,
    settings: Settings,
    base: str,
    params: dict[str, str],
    res_type: str | None,
    fhir_id: str | None,
    *,
    bound: store.Bound | None = None,
    seen: Seen | None = None,
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
        bound=bound,
    )
    if seen is not None:
        seen += [(audit.Action.HISTORY, v.res_type, v.fhir_id, v.patient_id) for v in page.versions]
    path = "/".join(p for p in (base, res_type, fhir_id, "_history") if p)
    kept = [(k, v) for k, v in params.items() if k in ("_since",)]
    kept.append(("_before", store.instant(before)))
    links = PageLinks(path, kept, count, offset, page.total).build()
    return history_bundle(base, page, links)


# --- type level -----------------------------------------------------------------------------


def _result_options(params: dict[str, str]) -> tuple[subsetting.Shape, bool]:
    """(_summary and _elements, whether to count) from the result parameters."""
    shape = subsetting.parse_shape(params, search=True)
    total = params.get("_total", "accurate")
    if total not in ("none", "estimate", "accurate"):
        raise invalid(f"_total={total!r}: use none, estimate or accurate", "_total")
    return shape, total != "none" or shape.summary == "count"


async def _search_bundle(
    conn: AsyncConnection,
    settings: Settings,
    base: str,
    res_type: str,
    params: list[tuple[str, str]],
    *,
    strict: bool = False,
    bound: store.Bound | None = None,
    seen: "Seen | None" = None,
) -> dict[str, Any]:
    """A searchset Bundle; seen, if given, gets each resource row the Bundle holds."""
    named = dict(params)
    count, offset = paging(settings, named)
    query = search.parse_search(res_type, params, strict=strict)
    includes = search.parse_includes(params)
    shape, with_total = _result_options(named)
    if shape.summary == "count":
        count = 0
    sort = search.parse_sort(res_type, named["_sort"]) if named.get("_sort") else None
    cursor = search.Cursor.parse(named["_cursor"]) if "_cursor" in named else None
    kept = [(k, v) for k, v in query.used if k not in ("_count", "_offset", "_cursor")]
    endpoint = f"{base}/{res_type}"
    if sort is None and "_offset" not in named:
        # The default order pages by key: one row more than asked says whether more follow.
        rows = (
            await search.matching(
                conn, res_type, query.criteria, limit=count + 1, cursor=cursor, bound=bound
            )
            if count
            else []
        )
        beyond = len(rows) > count
        rows = (
            (rows[1:] if cursor is not None and cursor.before else rows[:count]) if beyond else rows
        )
        # A first page that holds every match is its own count.
        whole = count > 0 and cursor is None and not beyond
        total = await _total(conn, res_type, query, with_total, len(rows) if whole else None, bound)
        links = cursor_links(endpoint, kept, count, cursor, rows, beyond)
    else:
        rows = (
            await search.matching(
                conn,
                res_type,
                query.criteria,
                limit=count,
                offset=offset,
                sort=sort,
                bound=bound,
            )
            if count
            else []
        )
        whole = count > 0 and offset == 0 and len(rows) < count
        total = await _total(conn, res_type, query, with_total, len(rows) if whole else None, bound)
        # Without a total (_total=none), a full page is taken to mean there may be more.
        more = offset + len(rows) + (1 if len(rows) == count else 0)
        page = PageLinks(endpoint, kept, count, offset, more if total is None else total)
        links = page.build()
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": f"{base}/{res_type}/{row.fhir_id}",
            "resource": shape.apply(jsonio.parse(row.content))
            if shape.subsets
            else orjson.Fragment(row.content),
            "search": {"mode": "match"},
        }
        for row in rows
    ]
    extra = await search.included(conn, rows, includes, bound) if includes and rows else []
    entries += [
        {
            "fullUrl": f"{base}/{row.res_type}/{row.fhir_id}",
            "resource": orjson.Fragment(row.content),
            "search": {"mode": "include"},
        }
        for row in extra
    ]
    if seen is not None:
        seen += [
            (audit.Action.SEARCH, row.res_type, row.fhir_id, row.patient_id)
            for row in (*rows, *extra)
        ]
    if query.ignored:
        entries.append(
            {"resource": operation_outcome(query.ignored), "search": {"mode": "outcome"}}
        )
    bundle: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if total is not None:
        bundle["total"] = total
    bundle["link"] = [{"relation": r, "url": u} for r, u in links.items()]
    bundle["entry"] = entries
    return bundle


async def _total(
    conn: AsyncConnection,
    res_type: str,
    query: search.Query,
    wanted: bool,
    known: int | None,
    bound: store.Bound | None,
) -> int | None:
    """Bundle.total: None when not wanted, else known when the page already holds every match."""
    if not wanted:
        return None
    if known is not None:
        return known
    return await search.count(conn, res_type, query.criteria, bound)


async def search_type(call: Call) -> Response:
    """Search by GET, or by POST to _search with form-encoded parameters (R4 http.html#search)."""
    if call.res_type == audit_fhir.RESOURCE_TYPE:  # the audit log, not the store
        return await audit_fhir.search(call)
    params = list(call.request.query_params.multi_items())
    if call.request.method == "POST":
        params += parse_qsl((await call.request.body()).decode(), keep_blank_values=True)
    strict = strict_handling(call.request)
    async with search_connection(call.engine, call.search_engine) as conn:
        bundle = await _search_bundle(
            conn,
            call.settings,
            call.base,
            call.res_type,
            params,
            strict=strict,
            bound=call.bound,
            seen=call.seen,
        )
    _add_provided(bundle, call.base, call.res_type, params)
    return fhir_response(bundle)


def _add_provided(
    bundle: dict[str, Any], base: str, res_type: str, params: list[tuple[str, str]]
) -> None:
    """Put the resources the server provides itself (fhir.provided) that the search matches
    first in its first page, and in its total."""
    source = provided.provider(res_type)
    found = source.search(params) if source is not None else []
    if not found:
        return
    if "total" in bundle:
        bundle["total"] += len(found)
    shape = subsetting.parse_shape(dict(params), search=True)
    if shape.summary == "count":
        return
    entries = [
        {
            "fullUrl": f"{base}/{res_type}/{fhir_id}",
            "resource": shape.apply(jsonio.parse(content))
            if shape.subsets
            else orjson.Fragment(content),
            "search": {"mode": "match"},
        }
        for fhir_id, content in found
    ]
    bundle["entry"] = entries + bundle["entry"]


async def validate_resource(call: Call) -> Response:
    """$validate (R4 resource-operation-validate), at type or instance level."""
    body = await read_body(call.request)
    return fhir_response(validate.run(call.res_type, call.fhir_id or None, body))


async def create(call: Call) -> Response:
    """Create, or conditional create with If-None-Exist (R4 http.html#create)."""
    resource = await read_body(call.request)
    if_none_exist = call.request.headers.get("if-none-exist")
    moment = store.now()
    return await call.write(
        lambda conn: interactions.create(
            conn, call.res_type, resource, moment, if_none_exist=if_none_exist
        ),
        alone=not if_none_exist,
    )


def _criteria(request: Request, what: str) -> str:
    query = request.url.query
    if not query:
        raise FhirError.of(
            400 if what != "delete" else 412,
            "invalid",
            f"Conditional {what} needs search criteria in the URL",
        )
    return query


async def conditional_update(call: Call) -> Response:
    """PUT Type?criteria (R4 http.html#cond-update)."""
    query = _criteria(call.request, "update")
    resource = await read_body(call.request)
    if_match = call.if_match()
    moment = store.now()
    return await call.write(
        lambda conn: interactions.conditional_update(
            conn, call.res_type, query, resource, moment, if_match=if_match
        )
    )


async def conditional_patch(call: Call) -> Response:
    """PATCH Type?criteria (R4 http.html#patch)."""
    query = _criteria(call.request, "patch")
    operations = await read_body(call.request)
    if_match = call.if_match()
    moment = store.now()
    return await call.write(
        lambda conn: interactions.conditional_patch(
            conn, call.res_type, query, operations, moment, if_match=if_match
        )
    )


async def conditional_delete(call: Call) -> Response:
    """DELETE Type?criteria (R4 http.html#cdelete)."""
    query = _criteria(call.request, "delete")
    moment = store.now()
    return await call.write(
        lambda conn: interactions.conditional_delete(conn, call.res_type, query, moment)
    )


# --- instance level -------------------------------------------------------------------------


def _shaped(stored: store.Stored, shape: subsetting.Shape) -> Any:
    """The stored resource, cut down if _summary or _elements ask (R4 search.html#summary)."""
    return shape.apply(stored.resource()) if shape.subsets else stored.content


async def _check_visible(
    conn: AsyncConnection,
    res_type: str,
    fhir_id: str,
    bound: store.Bound | None,
    version: int | None = None,
) -> None:
    """403 unless the caller may see the resource, when something bounds what they see.

    Asked before the read, and the same for a resource of another patient, a deleted one or one
    never stored: the answer tells nothing of what exists (store.may_see).
    """
    if bound is not None and not await store.may_see(conn, res_type, fhir_id, bound, version):
        raise forbidden(f"You may not see {res_type}/{fhir_id}")


async def _may_see(call: Call, version: int | None = None) -> None:
    """_check_visible for the call's own resource, on a connection of its own."""
    if call.bound is None:
        return
    async with single_statement(call.engine) as conn:
        await _check_visible(conn, call.res_type, call.fhir_id, call.bound, version)


async def read(call: Call) -> Response:
    """Read the current version (R4 http.html#read); 410 once deleted."""
    if call.res_type == audit_fhir.RESOURCE_TYPE:  # the audit log, not the store
        return await audit_fhir.read(call)
    built_in = provided.read(call.res_type, call.fhir_id)
    if built_in is not None:  # the server's own, no one's data
        shape = subsetting.parse_shape(call.params, search=False)
        call.seen.append((audit.Action.READ, call.res_type, call.fhir_id, None))
        return fhir_response(
            shape.apply(jsonio.parse(built_in)) if shape.subsets else built_in.decode()
        )
    await _may_see(call)
    shape = subsetting.parse_shape(call.params, search=False)
    async with single_statement(call.engine) as conn:
        stored = await store.read(conn, call.res_type, call.fhir_id)
    call.seen.append((audit.Action.READ, call.res_type, call.fhir_id, stored.patient_id))
    if _not_modified(call.request, stored):
        return Response(status_code=304, headers=_version_headers(stored))
    return fhir_response(_shaped(stored, shape), headers=_version_headers(stored))


async def vread(call: Call) -> Response:
    """Read one version (R4 http.html#vread)."""
    if not call.version.isdigit():
        raise not_found(f"{call.version!r} is not a version of {call.res_type}/{call.fhir_id}")
    await _may_see(call, int(call.version))
    shape = subsetting.parse_shape(call.params, search=False)
    async with single_statement(call.engine) as conn:
        stored = await store.vread(conn, call.res_type, call.fhir_id, int(call.version))
    call.seen.append((audit.Action.VREAD, call.res_type, call.fhir_id, stored.patient_id))
    return fhir_response(_shaped(stored, shape), headers=_version_headers(stored))


async def update(call: Call) -> Response:
    """Update, or create with the client's id (R4 http.html#update); If-Match locks."""
    provided.refuse_change(call.res_type, call.fhir_id, "PUT")
    resource = await read_body(call.request)
    if_match = call.if_match()
    moment = store.now()
    return await call.write(
        lambda conn: interactions.update(
            conn, call.res_type, call.fhir_id, resource, moment, if_match=if_match
        ),
        alone=True,
    )


async def patch(call: Call) -> Response:
    """PATCH with a JSON Patch document (R4 http.html#patch)."""
    provided.refuse_change(call.res_type, call.fhir_id, "PATCH")
    operations = await read_body(call.request)
    if_match = call.if_match()
    moment = store.now()
    return await call.write(
        lambda conn: interactions.patch(
            conn, call.res_type, call.fhir_id, operations, moment, if_match=if_match
        ),
        alone=True,
    )


async def delete(call: Call) -> Response:
    """Delete (R4 http.html#delete): later reads give 410, history keeps every version."""
    provided.refuse_change(call.res_type, call.fhir_id, "DELETE")
    if_match = call.if_match()
    moment = store.now()
    return await call.write(
        lambda conn: interactions.delete(
            conn, call.res_type, call.fhir_id, moment, if_match=if_match
        ),
        alone=True,
    )


async def break_glass(call: Call) -> Response:
    """Patient/{id}/$break-glass: a professional states why they need this patient's data now;
    it opens to them for care.BREAK_GLASS_DURATION, is recorded, and flagged for review."""
    user = call.access.professional if call.access is not None else None
    if user is None:
        raise forbidden("Only a professional's own token can break the glass")
    if user.role not in care.BREAK_GLASS_ROLES:
        raise forbidden(f"The role {user.role.value} may not break the glass")
    if call.res_type != "Patient":
        raise not_found("$break-glass is an operation on a Patient")
    body = await read_body(call.request)
    reason = _string_parameter(body, "reason")
    moment = store.now()
    async with write_transaction(call.engine) as conn:
        await store.read(conn, "Patient", call.fhir_id)  # 404, 410
        try:
            care.checked_reason(reason)
            record = audit.AuditRecord(
                action=audit.Action.BREAK_GLASS,
                recorded=moment,
                user_id=str(user.user_id),
                client_id=call.access.client_id[:64] if call.access else None,
                display=user.display_name,
                role=user.role.value,
                organisation=user.organization_id,
                patients=(call.fhir_id,),
                resources=(f"Patient/{call.fhir_id}",),
                purpose="ETREAT",
                reason=reason,
                source_ip=call.request.client.host if call.request.client else None,
                user_agent=call.request.headers.get("user-agent"),
            )
            glass = await care.break_the_glass(
                conn,
                user_id=user.user_id,
                role=user.role,
                patient_id=call.fhir_id,
                reason=reason,
                now=moment,
                audit_record=await audit.record(conn, record),
            )
        except care.GlassRefused as refused:
            raise invalid(str(refused), "Parameters.parameter.reason") from None
    return fhir_response(
        {
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueReference": {"reference": f"Patient/{glass.patient_id}"}},
                {"name": "expires", "valueInstant": store.instant(glass.expires)},
                {"name": "reason", "valueString": glass.reason},
            ],
        }
    )


def _string_parameter(body: Any, name: str) -> str:
    """The valueString of a Parameters resource's one parameter of that name; 400 otherwise."""
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise invalid("Send a Parameters resource", "Parameters")
    values = [
        p.get("valueString")
        for p in body.get("parameter") or []
        if isinstance(p, dict) and p.get("name") == name
    ]
    if len(values) != 1 or not isinstance(values[0], str):
        raise invalid(f"Parameters needs one {name} (valueString)", f"Parameters.parameter.{name}")
    return str(values[0])


async def smart_configuration(call: Call) -> Response:
    """SMART App Launch 2.0 discovery, which SMART looks for relative to the FHIR base."""
    issuer = oauth.issuer(call.settings, str(call.request.base_url))
    return Response(orjson.dumps(oauth.smart_configuration(issuer)), media_type="application/json")


async def operation(call: Call) -> Response:
    """A $operation a context registered (fhir.operations), at type or instance level."""
    assert call.operation is not None
    return await call.operation.handler(call)


# --- dispatch -------------------------------------------------------------------------------

Handler = Callable[[Call], Awaitable[Response]]

# (shape of the path, method) -> handler. A shape names each segment: "type" for a resource
# type, "id" for a resource id, "version" for a version number, any other word literally.
ROUTES: dict[tuple[tuple[str, ...], str], Handler] = {
    ((), "POST"): batch_or_transaction,
    (("metadata",), "GET"): metadata,
    (("_history",), "GET"): history,
    (("type",), "GET"): search_type,
    (("type",), "POST"): create,
    (("type",), "PUT"): conditional_update,
    (("type",), "PATCH"): conditional_patch,
    (("type",), "DELETE"): conditional_delete,
    (("type", "_history"), "GET"): history,
    (("type", "_search"), "POST"): search_type,
    (("type", "$validate"), "POST"): validate_resource,
    (("type", "id"), "GET"): read,
    (("type", "id"), "PUT"): update,
    (("type", "id"), "PATCH"): patch,
    (("type", "id"), "DELETE"): delete,
    (("type", "id", "_history"), "GET"): history,
    (("type", "id", "$validate"), "POST"): validate_resource,
    (("type", "id", "$break-glass"), "POST"): break_glass,
    (("type", "id", "_history", "version"), "GET"): vread,
    (("type", "$operation"), "GET"): operation,
    (("type", "$operation"), "POST"): operation,
    (("type", "id", "$operation"), "GET"): operation,
    (("type", "id", "$operation"), "POST"): operation,
}
# What AuditEvent, the audit log served from its own tables, answers (security/audit_fhir.py).
_AUDIT_EVENT_HANDLERS = (None, read, search_type, validate_resource)
# Words that stand for themselves at each position; any other segment there is a type, an id or
# a version.
_WORDS_AT = (
    {"metadata", "_history"},
    {"_history", "_search", "$validate"},
    {"_history", "$validate", "$break-glass"},
)


def _registered(res_type: str, segment: str, *, instance: bool) -> Operation:
    """The registered operation a path's $segment names; 404 if none runs there."""
    found = find_operation(res_type, segment[1:])
    if found is None or not found.runs_on(instance):
        level = "an instance of" if instance else "the type"
        raise not_found(f"{segment} is not an operation this server runs on {level} {res_type}")
    return found


def _route(call: Call, path: str) -> Handler:
    """The handler for the path (relative to the base), filling in the call's type and id."""
    segments = [s for s in path.split("/") if s]
    if segments == [".well-known", "smart-configuration"] and call.request.method == "GET":
        return smart_configuration
    shape: list[str] = []
    for position, segment in enumerate(segments):
        if position < len(_WORDS_AT) and segment in _WORDS_AT[position]:
            shape.append(segment)
        elif position in (1, 2) and segment.startswith("$") and call.res_type:
            call.operation = _registered(call.res_type, segment, instance=position == 2)
            shape.append("$operation")
        elif position == 0:
            call.res_type = resource_type(segment)
            shape.append("type")
        elif position == 1:
            call.fhir_id = check_id(segment)
            shape.append("id")
        elif position == 3:
            call.version = segment
            shape.append("version")
        else:
            shape.append("?")
    key = tuple(shape)
    handler = ROUTES.get((key, call.request.method))
    if call.res_type == audit_fhir.RESOURCE_TYPE and handler not in _AUDIT_EVENT_HANDLERS:
        raise audit_fhir.read_only(call.request.method)
    if handler is not None:
        return handler
    allowed = sorted(method for k, method in ROUTES if k == key)
    if allowed:
        raise FhirError(
            405,
            [Issue("not-supported", f"{call.request.method} is not allowed on this URL")],
            headers={"Allow": ", ".join(allowed)},
        )
    raise not_found(f"/{path.strip('/')} is not a FHIR REST URL")


# What each handler needs of the token's scopes (SMART App Launch 2.0: c, r, u, d, s); None
# for what reads or changes no stored data. Bundles are checked entry by entry.
_NEEDS: dict[Handler, Interaction | None] = {
    read: "r",
    vread: "r",
    search_type: "s",
    create: "c",
    update: "u",
    patch: "u",
    delete: "d",
    conditional_update: "u",
    conditional_patch: "u",
    conditional_delete: "d",
    validate_resource: None,
    break_glass: "r",
}
_PUBLIC = frozenset({metadata, smart_configuration})
# The audit action of each handler; a Bundle's records take their entries' actions.
_ACTIONS: dict[Handler, audit.Action] = {
    read: audit.Action.READ,
    vread: audit.Action.VREAD,
    search_type: audit.Action.SEARCH,
    history: audit.Action.HISTORY,
    create: audit.Action.CREATE,
    update: audit.Action.UPDATE,
    patch: audit.Action.PATCH,
    delete: audit.Action.DELETE,
    conditional_update: audit.Action.UPDATE,
    conditional_patch: audit.Action.PATCH,
    conditional_delete: audit.Action.DELETE,
}
_DISCLOSING = frozenset(
    {audit.Action.READ, audit.Action.VREAD, audit.Action.SEARCH, audit.Action.HISTORY}
)
# The handlers that write, which a professional's write guard and bound must reach in the store.
_WRITERS = frozenset(
    {h for h, needs in _NEEDS.items() if needs in ("c", "u", "d")} | {batch_or_transaction}
)
# The resources and patients one audit record lists at most (a page of a search, its includes).
MAX_AUDITED = 1000
# Verified tokens a worker keeps (each a few hundred bytes): more than its callers hold at once.
VERIFIED_TOKENS = 10_000
_ENTRY_NEEDS: dict[str, Interaction] = {"POST": "c", "PUT": "u", "PATCH": "u", "DELETE": "d"}


def _bundle_entry_needs(entry: Any) -> tuple[Interaction, str]:
    """(interaction, resource type) an entry of a batch or transaction needs of the scopes."""
    request = entry.get("request") if isinstance(entry, dict) else None
    method = request.get("method") if isinstance(request, dict) else None
    url = request.get("url") if isinstance(request, dict) else None
    if not isinstance(method, str) or not isinstance(url, str):
        raise invalid("Every Bundle entry needs request.method and request.url", "Bundle.entry")
    path = urlsplit(url).path.strip("/")
    segments = path.split("/") if path else []
    entry_type = segments[0] if segments and segments[0] in RESOURCE_TYPES else "*"
    if method == "GET":
        return ("s" if len(segments) <= 1 else "r"), entry_type
    return _ENTRY_NEEDS.get(method, "c"), entry_type


class FhirApi:
    """The ASGI app serving the FHIR REST API; mounted at /fhir."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: Settings,
        search_engine: AsyncEngine | None = None,
        recorder: audit.AuditRecorder | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.search_engine = search_engine
        self.keys = KeyRing(engine)
        self.recorder = recorder or audit.AuditRecorder(engine)
        # Verified tokens, until they expire: a system sends the same token with thousands of
        # requests, and checking its signature each time halved the reads a second.
        self._verified: OrderedDict[str, AccessContext] = OrderedDict()

    async def _access(self, request: Request) -> AccessContext:
        """The AccessContext of the request's bearer token, verified once while it lives."""
        header = request.headers.get("authorization") or ""
        moment = store.now()
        known = self._verified.get(header)
        if known is not None and known.expires > moment:
            self._verified.move_to_end(header)
            return known
        root = str(request.base_url).rstrip("/")
        audience = oauth.policy(self.settings, root).audience
        context = await authenticate(header, self.keys, audience, self.engine, moment)
        self._verified[header] = context
        if len(self._verified) > VERIFIED_TOKENS:
            self._verified.popitem(last=False)
        return context

    async def _authorize(self, call: Call, handler: Handler) -> None:
        """Build the request's AccessContext from its token and check what the handler needs."""
        try:
            call.access = await self._access(call.request)
        except TokenRefused as refused:
            await self._audit_refusal(call, None, f"401 {refused.reason}")
            raise unauthenticated(str(refused)) from None
        call.bound = call.access.bound(store.now())
        needs: Interaction | None
        if handler is history:
            needs, target = ("r", call.res_type) if call.fhir_id else ("s", call.res_type or "*")
        elif handler is batch_or_transaction:
            return  # each entry is checked against the scopes before any runs
        elif handler is operation and call.operation is not None:
            needs, target = call.operation.needs, call.res_type
        else:
            needs, target = _NEEDS.get(handler, "s"), call.res_type or "*"
        if needs is None:
            return
        require(call.access, needs, target)

    async def _audit(self, call: Call, status: int) -> None:
        """The audit records of an answered interaction: one for each action it took, naming
        every resource and patient it disclosed or changed (store-and-wait: the answer leaves
        only once they are committed). Interactions with no patient's data in them, such as
        reading the formulary, leave none."""
        if call.access is None:
            return
        by_action: dict[audit.Action, tuple[dict[str, None], dict[str, None]]] = {}
        for action, res_type, fhir_id, patient in call.seen:
            patients, resources = by_action.setdefault(action, ({}, {}))
            if patient is not None:
                patients[patient] = None
            resources[f"{res_type}/{fhir_id}"] = None
        personal = call.res_type in patient_compartment_params()
        failed = status >= 400
        if not by_action and call.action is not None and (personal or failed):
            asked = f"{call.res_type}/{call.fhir_id}" if call.fhir_id else None
            by_action[call.action] = ({}, {asked: None} if asked else {})
        access, request = call.access, call.request
        user = access.user
        client = request.scope.get("client")
        query = request.scope.get("query_string", b"")[:2000].decode("latin-1") or None
        for action, (patients, resources) in by_action.items():
            if not patients and not personal and not failed:
                continue
            record = audit.AuditRecord(
                action=action,
                outcome=audit.Outcome.ERROR if failed else audit.Outcome.SUCCESS,
                outcome_code=str(status) if failed else None,
                user_id=str(user.user_id) if user else None,
                client_id=access.client_id[:64],
                display=(user.display_name if user else access.subject)[:255],
                role=user.role.value if user else None,
                organisation=user.organization_id if user else None,
                patients=tuple(patients)[:MAX_AUDITED],
                resources=tuple(resources)[:MAX_AUDITED],
                purpose="TREAT" if access.professional else None,
                source_ip=client[0] if client else None,
                user_agent=request.headers.get("user-agent"),
                request_id=(request.headers.get("x-request-id") or "")[:128] or None,
                query=query,
            )
            if action in _DISCLOSING:
                await self.recorder.record(record)  # no record, no disclosure: raises
                continue
            try:
                await self.recorder.record(record)
            except Exception:
                # The write is committed and its versions are its trail: answering 500 would
                # make the client repeat it. Log the record whole instead.
                log.exception("Audit record of a committed write not stored: %s", record)

    async def _audit_refusal(self, call: Call, context: AccessContext | None, code: str) -> None:
        request = call.request
        await audit.record_now(
            self.engine,
            audit.AuditRecord(
                action=audit.Action.ACCESS_REFUSED,
                outcome=audit.Outcome.REFUSED,
                outcome_code=code,
                client_id=context.client_id[:64] if context else None,
                display=context.subject[:255] if context else None,
                resources=(f"{call.res_type}/{call.fhir_id}",) if call.fhir_id else (),
                source_ip=request.client.host if request.client else None,
                user_agent=request.headers.get("user-agent"),
                query=str(request.url.query)[:2000] or None,
            ),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        call = Call(request, self.engine, self.settings, self.search_engine)
        # Mounted under /fhir, the path here is what follows the base.
        path = scope["path"][len(scope.get("root_path", "")) :]
        guarded = searched = None
        # Requests that may leave audit records are counted, so that the recorder writes a
        # batch once each of them waits for its record (audit.AuditRecorder).
        tracked = (
            self.recorder.serving()
            if self.settings.fhir_auth_required
            else contextlib.nullcontext()
        )
        with tracked:
            try:
                handler = _route(call, path)
                if self.settings.fhir_auth_required and handler not in _PUBLIC:
                    await self._authorize(call, handler)
                    call.action = _ACTIONS.get(handler)
                    if call.access is not None and handler in _WRITERS:
                        # Only writes consult these: reads stay free of building them.
                        guarded = store.WRITE_GUARD.set(call.access.write_guard(store.now()))
                        searched = store.WRITE_SEARCH_BOUND.set(call.bound)
                response = await handler(call)
                await self._audit(call, response.status_code)
            except FhirError as error:
                if error.status == 403 and call.access is not None:
                    await self._audit_refusal(call, call.access, "403")
                elif error.status != 401:
                    try:
                        await self._audit(call, error.status)
                    except Exception:
                        log.exception("Audit record of a failed %s not stored", request.method)
                response = render_error(error)
            except ClientDisconnect:
                return  # nobody is left to answer
            except Exception:
                log.exception("Unhandled error in %s %s", request.method, scope["path"])
                response = render_error(
                    FhirError.of(500, "exception", "Internal error; it has been logged")
                )
            finally:
                if guarded is not None:
                    store.WRITE_GUARD.reset(guarded)
                if searched is not None:
                    store.WRITE_SEARCH_BOUND.reset(searched)
        await response(scope, receive, send)


def render_error(error: FhirError) -> Response:
    """An OperationOutcome response for a FhirError."""
    return Response(
        orjson.dumps(operation_outcome(error.issues)),
        error.status,
        error.headers,
        media_type=FHIR_JSON,
    )
