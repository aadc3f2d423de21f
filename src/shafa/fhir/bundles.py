"""batch and transaction Bundles POSTed to the base (R4 http.html#transaction).

A transaction is resolved in full before anything is written: server ids are assigned,
conditional URLs searched, urn:uuid and conditional references rewritten; then every write goes to
the store as one batch, in the order R4 prescribes (DELETE, POST, PUT/PATCH), and the GETs run
last against the new state. Any failure raises, the caller's transaction rolls back, and the
OperationOutcome names the entry. A batch runs each entry as a transaction of its own.
"""

import base64
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir import interactions, jsonio, search, store
from shafa.fhir.errors import FhirError, Issue, invalid, operation_outcome
from shafa.fhir.resource_types import RESOURCE_TYPES
from shafa.fhir.responses import entry_response
from shafa.fhir.validation import check_id, check_resource
from shafa.security.audit import Action

METHOD_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}


@dataclass(slots=True)
class Entry:
    """One Bundle entry's request, and what resolving it decided."""

    index: int
    method: str
    url: str
    full_url: str | None
    resource: dict[str, Any] | None
    if_match: int | None
    if_none_exist: str | None
    res_type: str = ""
    fhir_id: str | None = None  # the resolved target
    query: str | None = None  # conditional criteria, when the URL is Type?criteria
    existing: store.Stored | None = None  # a conditional create that matched
    noop: bool = False  # a conditional delete that matched nothing
    server_id: bool = False  # fhir_id was minted for a POST
    result: dict[str, Any] = field(default_factory=dict)  # the response entry

    @property
    def where(self) -> str:
        """FHIRPath of the entry, for OperationOutcome.issue.expression."""
        return f"Bundle.entry[{self.index}]"


def _entry_error(entry: Entry, error: FhirError) -> FhirError:
    """The error re-addressed to the entry it came from."""
    issues = []
    for issue in error.issues:
        expression = tuple(
            f"{entry.where}.resource{e[len(entry.res_type) :]}"
            if entry.res_type and e.startswith(entry.res_type)
            else f"{entry.where}.request.{e}"
            if e in ("If-Match", "If-None-Exist")
            else f"{entry.where}.{e}"
            for e in issue.expression
        ) or (entry.where,)
        diagnostics = f"{entry.where} ({entry.method} {entry.url}): {issue.diagnostics}"
        issues.append(Issue(issue.code, diagnostics, issue.severity, expression))
    return FhirError(error.status, issues)


def _parse_entries(bundle: dict[str, Any]) -> list[Entry]:
    entries = bundle.get("entry") or []
    parsed = []
    for index, raw in enumerate(entries):
        where = f"Bundle.entry[{index}]"
        request = raw.get("request")
        if not isinstance(request, dict) or "method" not in request or "url" not in request:
            raise invalid(f"{where} has no request with method and url", f"{where}.request")
        method = request["method"]
        if method not in METHOD_ORDER:
            raise invalid(f"{where}: method {method!r} is not allowed", f"{where}.request.method")
        entry = Entry(
            index=index,
            method=method,
            url=request["url"].lstrip("/"),
            full_url=raw.get("fullUrl"),
            resource=raw.get("resource"),
            if_match=None,
            if_none_exist=request.get("ifNoneExist"),
        )
        try:
            entry.if_match = interactions.parse_etag(request.get("ifMatch"))
            _parse_url(entry)
        except FhirError as error:
            raise _entry_error(entry, error) from None
        parsed.append(entry)
    return parsed


def _parse_url(entry: Entry) -> None:
    path, _, query = entry.url.partition("?")
    parts = path.split("/")
    entry.res_type = parts[0]
    if entry.res_type not in RESOURCE_TYPES:
        raise invalid(f"{entry.res_type!r} is not a FHIR R4 resource type", "request.url")
    if entry.method == "GET" or entry.method == "HEAD":
        return  # read, vread, search and history URLs are parsed when run
    if query:
        if len(parts) != 1:
            raise invalid(f"{entry.url!r}: criteria go on a type, as Type?criteria", "request.url")
        entry.query = query
    elif len(parts) == 2 and entry.method != "POST":
        entry.fhir_id = check_id(parts[1], "request.url")
    elif len(parts) != 1 or entry.method != "POST":
        raise invalid(f"{entry.url!r} is not a valid URL for {entry.method}", "request.url")
    if entry.method in ("POST", "PUT"):
        entry.resource = check_resource(entry.resource, entry.res_type)
        if entry.method == "PUT" and entry.fhir_id and entry.resource.get("id") != entry.fhir_id:
            raise invalid(
                f"The resource id {entry.resource.get('id')!r} does not match the URL's id",
                f"{entry.res_type}.id",
            )


async def _resolve_targets(
    conn: AsyncConnection, entries: list[Entry], ids: dict[str, str]
) -> None:
    """Decide every write's target id; map each fullUrl to Type/id for reference rewriting."""
    for entry in entries:
        if entry.method in ("GET", "HEAD"):
            continue
        try:
            if entry.method == "POST":
                if entry.if_none_exist:
                    matches = await search.conditional_matches(
                        conn, entry.res_type, entry.if_none_exist, what="create"
                    )
                    if len(matches) > 1:
                        raise FhirError.of(
                            412,
                            "duplicate",
                            f"ifNoneExist {entry.if_none_exist!r} matches more than one",
                        )
                    if matches:
                        entry.existing = await store.read(conn, entry.res_type, matches[0].fhir_id)
                        entry.fhir_id = entry.existing.fhir_id
                if entry.fhir_id is None:
                    entry.fhir_id = store.new_id()
                    entry.server_id = True
            elif entry.query is not None:
                matches = await search.conditional_matches(
                    conn, entry.res_type, entry.query, what=entry.method.lower()
                )
                if len(matches) > 1:
                    raise FhirError.of(
                        412, "multiple-matches", f"{entry.url!r} matches more than one resource"
                    )
                if matches:
                    entry.fhir_id = matches[0].fhir_id
                elif entry.method == "PUT":
                    assert entry.resource is not None
                    entry.fhir_id = entry.resource.get("id") or store.new_id()
                elif entry.method == "DELETE":
                    entry.noop = True
                else:
                    raise FhirError.of(404, "not-found", f"{entry.url!r} matches no resource")
        except FhirError as error:
            raise _entry_error(entry, error) from None
        if entry.full_url and entry.fhir_id:
            ids[entry.full_url] = f"{entry.res_type}/{entry.fhir_id}"


def _references(node: dict[str, Any] | list[Any], found: list[dict[str, Any]]) -> None:
    """Collect every Reference-like object (a dict with a string 'reference') under node."""
    # A hot loop of transaction ingest: exact type checks are several times faster than
    # isinstance with abstract types, and FHIR JSON holds only plain dicts and lists.
    if type(node) is dict:
        if type(node.get("reference")) is str:
            found.append(node)
        children: Any = node.values()
    else:
        children = node
    for child in children:
        kind = type(child)
        if kind is dict or kind is list:
            _references(child, found)


async def _rewrite_references(
    conn: AsyncConnection, entries: list[Entry], ids: dict[str, str]
) -> None:
    """Point urn:uuid and conditional references at the resolved ids (R4 bundle.html#references)."""
    conditional: dict[str, str] = {}
    for entry in entries:
        if entry.resource is None or entry.method not in ("POST", "PUT"):
            continue
        found: list[dict[str, Any]] = []
        _references(entry.resource, found)
        try:
            for ref in found:
                target = ref["reference"]
                if target in ids:
                    ref["reference"] = ids[target]
                elif target.startswith(("urn:uuid:", "urn:oid:")):
                    raise invalid(
                        f"Reference {target!r} names no entry of this Bundle", f"{entry.res_type}"
                    )
                elif "?" in target and not target.startswith("#"):
                    if target not in conditional:
                        conditional[target] = await _resolve_conditional_reference(conn, target)
                    ref["reference"] = conditional[target]
        except FhirError as error:
            raise _entry_error(entry, error) from None


async def _resolve_conditional_reference(conn: AsyncConnection, target: str) -> str:
    res_type, _, query = target.partition("?")
    if res_type not in RESOURCE_TYPES:
        raise invalid(f"Conditional reference {target!r} does not start with a resource type")
    matches = await search.conditional_matches(conn, res_type, query, what="reference")
    if len(matches) != 1:
        found = "no resource" if not matches else "more than one resource"
        raise FhirError.of(
            412,
            "not-found" if not matches else "multiple-matches",
            f"Conditional reference {target!r} matches {found}",
        )
    return f"{res_type}/{matches[0].fhir_id}"


def _check_unique_targets(entries: list[Entry]) -> None:
    seen: dict[str, Entry] = {}
    for entry in entries:
        if entry.method in ("GET", "HEAD") or entry.fhir_id is None or entry.noop or entry.existing:
            continue
        key = f"{entry.res_type}/{entry.fhir_id}"
        if key in seen:
            raise _entry_error(
                entry,
                invalid(
                    f"{key} is also the target of {seen[key].where}; "
                    "a transaction may touch a resource once"
                ),
            )
        seen[key] = entry


async def _writes(conn: AsyncConnection, entries: list[Entry]) -> list[tuple[Entry, store.Write]]:
    writes = []
    for entry in sorted(entries, key=lambda e: METHOD_ORDER[e.method]):
        if entry.method in ("GET", "HEAD") or entry.noop or entry.existing is not None:
            continue
        assert entry.fhir_id is not None
        try:
            if entry.method == "DELETE":
                write = store.Write(
                    entry.res_type, entry.fhir_id, None, "DELETE", if_match=entry.if_match
                )
            elif entry.method == "PATCH":
                write = await _patch_write(conn, entry)
            else:
                assert entry.resource is not None
                # Valid as parsed; rewriting references only swapped one string for another.
                resource = entry.resource | {"id": entry.fhir_id}
                write = store.Write(
                    entry.res_type,
                    entry.fhir_id,
                    resource,
                    entry.method,
                    if_match=entry.if_match,
                    create_only=entry.method == "POST",
                    server_id=entry.server_id,
                )
        except FhirError as error:
            raise _entry_error(entry, error) from None
        writes.append((entry, write))
    return writes


async def _patch_write(conn: AsyncConnection, entry: Entry) -> store.Write:
    """A PATCH entry carries its JSON Patch as a Binary resource (R4 http.html#patch)."""
    assert entry.fhir_id is not None
    binary = entry.resource
    if (
        not isinstance(binary, dict)
        or binary.get("resourceType") != "Binary"
        or "data" not in binary
    ):
        raise invalid("A PATCH entry's resource must be a Binary holding a JSON Patch")
    try:
        operations = jsonio.parse(base64.b64decode(binary["data"], validate=True))
    except ValueError:
        raise invalid("The Binary of a PATCH entry is not base64 JSON") from None
    current = await store.read(conn, entry.res_type, entry.fhir_id)
    if entry.if_match is not None and entry.if_match != current.version:
        raise FhirError.of(412, "conflict", f"{current.reference} is at version {current.version}")
    patched = interactions.apply_json_patch(
        entry.res_type, entry.fhir_id, current.resource(), operations
    )
    return store.Write(entry.res_type, entry.fhir_id, patched, "PATCH", if_match=current.version)


async def _apply(
    conn: AsyncConnection, writes: list[tuple[Entry, store.Write]], moment: datetime
) -> list[store.Outcome]:
    """Store the writes as one batch; a refusal names the entry it came from."""
    try:
        return await store.apply_writes(conn, [write for _, write in writes], moment)
    except store.WriteRejected as error:
        raise _entry_error(writes[error.write_index][0], error) from None


GetHandler = Callable[[AsyncConnection, str], Awaitable[tuple[int, Any]]]
_ACTIONS = {
    "POST": Action.CREATE,
    "PUT": Action.UPDATE,
    "PATCH": Action.PATCH,
    "DELETE": Action.DELETE,
}


async def process_transaction(
    conn: AsyncConnection,
    bundle: dict[str, Any],
    moment: datetime,
    *,
    run_get: GetHandler | None = None,
    representation: bool = False,
    seen: list[tuple[Action, str, str, str | None]] | None = None,
) -> dict[str, Any]:
    """Apply a transaction Bundle in the caller's transaction; the transaction-response Bundle.

    seen, if given, gets (action, type, id, patient) of each resource written, for the audit.
    """
    entries = _parse_entries(bundle)
    ids: dict[str, str] = {}
    # R4 http.html#trules: DELETEs first, so the POSTs' ifNoneExist and the conditional PUTs
    # are judged against the state after them.
    deletes = [e for e in entries if e.method == "DELETE"]
    others = [e for e in entries if e.method != "DELETE"]
    await _resolve_targets(conn, deletes, ids)
    writes = await _writes(conn, deletes)
    outcomes = await _apply(conn, writes, moment)
    await _resolve_targets(conn, others, ids)
    _check_unique_targets(entries)
    await _rewrite_references(conn, others, ids)
    later = await _writes(conn, others)
    writes += later
    outcomes += await _apply(conn, later, moment)
    for (entry, _write), outcome in zip(writes, outcomes, strict=True):
        status = 201 if outcome.created else 200
        entry.result = {"response": entry_response(status, outcome.stored)}
        if seen is not None and outcome.changed:
            stored = outcome.stored
            seen.append(
                (_ACTIONS[entry.method], stored.res_type, stored.fhir_id, stored.patient_id)
            )
        if representation and outcome.stored.content is not None:
            entry.result["resource"] = outcome.stored.resource()
    for entry in entries:
        if entry.existing is not None:
            entry.result = {"response": entry_response(200, entry.existing)}
        elif entry.noop:
            entry.result = {"response": {"status": "204 No Content"}}
        elif entry.method in ("GET", "HEAD"):
            if run_get is None:
                raise _entry_error(entry, invalid("GET entries are not allowed here"))
            try:
                status, body = await run_get(conn, entry.url)
            except FhirError as error:
                raise _entry_error(entry, error) from None
            entry.result = {"response": {"status": str(status)}}
            if entry.method == "GET":
                entry.result["resource"] = body
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [
            ({"fullUrl": e.full_url} if e.full_url and e.method in ("POST", "PUT") else {})
            | e.result
            for e in entries
        ],
    }


async def process_batch(
    bundle: dict[str, Any],
    run_entry: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]],
) -> dict[str, Any]:
    """Run each entry on its own (as a one-entry transaction); failures answer that entry only."""
    responses = []
    for index, raw in enumerate(bundle.get("entry") or []):
        try:
            single = {"resourceType": "Bundle", "type": "transaction", "entry": [raw]}
            (entry,) = (await run_entry(single))["entry"]
        except FhirError as error:
            issues = [
                Issue(
                    i.code,
                    i.diagnostics.replace("Bundle.entry[0]", f"Bundle.entry[{index}]"),
                    i.severity,
                    tuple(
                        e.replace("Bundle.entry[0]", f"Bundle.entry[{index}]") for e in i.expression
                    ),
                )
                for i in error.issues
            ]
            entry = {
                "response": {"status": str(error.status), "outcome": operation_outcome(issues)}
            }
        responses.append(entry)
    return {"resourceType": "Bundle", "type": "batch-response", "entry": responses}


def check_bundle(bundle: Any) -> tuple[str, dict[str, Any]]:
    """The Bundle's type if it is a batch or transaction Bundle, else 400."""
    if isinstance(bundle, dict) and isinstance(bundle.get("entry"), list):
        # The entries' resources are validated one by one later, with errors naming the entry;
        # validating them here as well would double the cost of every transaction.
        shell = bundle | {
            "entry": [
                {k: v for k, v in e.items() if k != "resource"} if isinstance(e, dict) else e
                for e in bundle["entry"]
            ]
        }
        check_resource(shell)
    else:
        check_resource(bundle)
    if bundle["resourceType"] != "Bundle":
        raise invalid(
            "Only a batch or transaction Bundle may be POSTed to the base", "resourceType"
        )
    kind = bundle.get("type")
    if kind not in ("batch", "transaction"):
        raise invalid(
            f"Bundle.type {kind!r}: only batch and transaction are processed", "Bundle.type"
        )
    return kind, bundle
