"""The FHIR REST interactions as verbs over one transaction (R4 http.html).

The REST routes and the Bundle processor both call these, so a PUT behaves the same whether it
arrives alone or as entry 37 of a transaction. Each verb returns a Result that says what
happened; rendering it into HTTP is the routes' business.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jsonpatch
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.fhir import search, store
from shafa.fhir.errors import FhirError, Issue, invalid, unprocessable
from shafa.fhir.validation import check_id, check_resource


@dataclass(slots=True)
class Result:
    """The outcome of one interaction: HTTP status, the version concerned, and notes."""

    status: int
    stored: store.Stored | None = None
    issues: tuple[Issue, ...] = ()


def parse_etag(value: str | None) -> int | None:
    """The version number in an If-Match header (W/"3", "3" or 3), or None when absent."""
    if value is None:
        return None
    text = value.strip()
    if text.startswith("W/"):
        text = text[2:]
    text = text.strip('"')
    if not text.isdigit():
        raise invalid(f'If-Match {value!r} is not a version ETag such as W/"3"', "If-Match")
    return int(text)


async def create(
    conn: AsyncConnection,
    res_type: str,
    resource: dict[str, Any],
    moment: datetime,
    *,
    if_none_exist: str | None = None,
    fhir_id: str | None = None,
) -> Result:
    """Create with a server-assigned id (R4 http.html#create); conditional with If-None-Exist."""
    check_resource(resource, res_type)
    if if_none_exist:
        matches = await search.conditional_matches(conn, res_type, if_none_exist, what="create")
        if len(matches) > 1:
            raise FhirError.of(
                412,
                "duplicate",
                f"If-None-Exist {if_none_exist!r} matches more than one {res_type}",
            )
        if matches:  # R4 http.html#ccreate: one match, nothing is created, 200
            existing = await store.read(conn, res_type, matches[0].fhir_id)
            return Result(200, existing)
    write = store.Write(
        res_type,
        fhir_id or store.new_id(),
        resource,
        "POST",
        create_only=True,
        server_id=fhir_id is None,
    )
    (outcome,) = await store.apply_writes(conn, [write], moment)
    return Result(201, outcome.stored)


async def update(
    conn: AsyncConnection,
    res_type: str,
    fhir_id: str,
    resource: dict[str, Any],
    moment: datetime,
    *,
    if_match: int | None = None,
    method: str = "PUT",
) -> Result:
    """Update, or create with the client's id if it does not exist (R4 http.html#update)."""
    check_id(fhir_id)
    check_resource(resource, res_type)
    body_id = resource.get("id")
    if body_id is None:
        raise invalid(
            "The resource in a PUT must carry an id equal to the URL's id", f"{res_type}.id"
        )
    if body_id != fhir_id:
        raise invalid(
            f"The resource id {body_id!r} does not match the URL's id {fhir_id!r}", f"{res_type}.id"
        )
    write = store.Write(res_type, fhir_id, resource, method, if_match=if_match)
    (outcome,) = await store.apply_writes(conn, [write], moment)
    return Result(201 if outcome.created else 200, outcome.stored)


async def conditional_update(
    conn: AsyncConnection,
    res_type: str,
    query: str,
    resource: dict[str, Any],
    moment: datetime,
    *,
    if_match: int | None = None,
) -> Result:
    """PUT Type?criteria (R4 http.html#cond-update): no match creates, one updates, many is 412."""
    check_resource(resource, res_type)
    matches = await search.conditional_matches(conn, res_type, query, what="update")
    if len(matches) > 1:
        raise FhirError.of(
            412, "multiple-matches", f"{res_type}?{query} matches more than one resource"
        )
    body_id = resource.get("id")
    if matches:
        fhir_id = matches[0].fhir_id
        if body_id is not None and body_id != fhir_id:
            raise invalid(
                f"The resource id {body_id!r} is not that of the match {fhir_id!r}",
                f"{res_type}.id",
            )
    elif body_id is not None and await store.exists(conn, res_type, body_id):
        raise FhirError.of(
            409, "conflict", f"{res_type}?{query} matches nothing, yet {res_type}/{body_id} exists"
        )
    else:
        fhir_id = body_id if body_id is not None else store.new_id()
    return await update(
        conn, res_type, fhir_id, resource | {"id": fhir_id}, moment, if_match=if_match
    )


def apply_json_patch(
    res_type: str, fhir_id: str, current: dict[str, Any], patch: Any
) -> dict[str, Any]:
    """The resource after an RFC 6902 JSON Patch; 400 for a malformed patch, 422 if it fails."""
    if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
        raise invalid("A JSON Patch must be an array of operation objects (RFC 6902)")
    try:
        patched = jsonpatch.JsonPatch(patch).apply(current)
    except jsonpatch.JsonPatchTestFailed as error:
        raise unprocessable(f"JSON Patch test failed: {error}") from None
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError) as error:
        raise unprocessable(f"JSON Patch cannot be applied: {error}") from None
    if not isinstance(patched, dict):
        raise unprocessable("JSON Patch would replace the resource with a non-object")
    if patched.get("resourceType") != res_type or patched.get("id") != fhir_id:
        raise unprocessable("JSON Patch may not change resourceType or id")
    try:
        check_resource(patched, res_type)
    except FhirError as error:
        raise FhirError(
            422, [Issue("processing", "The patched resource is not valid"), *error.issues]
        ) from None
    return patched


async def patch(
    conn: AsyncConnection,
    res_type: str,
    fhir_id: str,
    operations: Any,
    moment: datetime,
    *,
    if_match: int | None = None,
) -> Result:
    """PATCH with a JSON Patch (R4 http.html#patch)."""
    current = await store.read(conn, res_type, fhir_id)
    if if_match is not None and if_match != current.version:
        raise FhirError.of(
            412, "conflict", f"{res_type}/{fhir_id} is at version {current.version}, not {if_match}"
        )
    patched = apply_json_patch(res_type, fhir_id, current.resource(), operations)
    write = store.Write(res_type, fhir_id, patched, "PATCH", if_match=current.version)
    (outcome,) = await store.apply_writes(conn, [write], moment)
    return Result(200, outcome.stored)


async def conditional_patch(
    conn: AsyncConnection,
    res_type: str,
    query: str,
    operations: Any,
    moment: datetime,
    *,
    if_match: int | None = None,
) -> Result:
    """PATCH Type?criteria: exactly one match is patched, none is 404, many is 412."""
    matches = await search.conditional_matches(conn, res_type, query, what="patch")
    if not matches:
        raise FhirError.of(404, "not-found", f"{res_type}?{query} matches no resource")
    if len(matches) > 1:
        raise FhirError.of(
            412, "multiple-matches", f"{res_type}?{query} matches more than one resource"
        )
    return await patch(conn, res_type, matches[0].fhir_id, operations, moment, if_match=if_match)


async def delete(
    conn: AsyncConnection,
    res_type: str,
    fhir_id: str,
    moment: datetime,
    *,
    if_match: int | None = None,
) -> Result:
    """Soft delete (R4 http.html#delete): a deletion version; deleting the absent is a no-op 200."""
    check_id(fhir_id)
    write = store.Write(res_type, fhir_id, None, "DELETE", if_match=if_match)
    (outcome,) = await store.apply_writes(conn, [write], moment)
    if not outcome.changed:
        note = f"{res_type}/{fhir_id} was not there to delete; nothing changed"
        return Result(
            200,
            outcome.stored if outcome.stored.version else None,
            (Issue("not-found", note, severity="warning"),),
        )
    return Result(
        200,
        outcome.stored,
        (Issue("informational", f"Deleted {res_type}/{fhir_id}", severity="information"),),
    )


async def conditional_delete(
    conn: AsyncConnection, res_type: str, query: str, moment: datetime
) -> Result:
    """DELETE Type?criteria (R4 http.html#cdelete): one match deleted, many is 412, none a no-op."""
    matches = await search.conditional_matches(conn, res_type, query, what="delete")
    if len(matches) > 1:
        raise FhirError.of(
            412,
            "multiple-matches",
            f"{res_type}?{query} matches more than one resource; nothing deleted",
        )
    if not matches:
        return Result(
            200,
            None,
            (
                Issue(
                    "not-found",
                    f"{res_type}?{query} matches nothing; nothing deleted",
                    severity="warning",
                ),
            ),
        )
    return await delete(conn, res_type, matches[0].fhir_id, moment)
