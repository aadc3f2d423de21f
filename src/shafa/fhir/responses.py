"""Bundles and entries built from stored versions.

Stored content is already the JSON a client gets, so it is spliced into Bundles as an
orjson.Fragment instead of being parsed and serialised again.
"""

from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlencode

import orjson

from shafa.fhir import store

STATUS_TEXT = {200: "200 OK", 201: "201 Created", 204: "204 No Content"}


def http_date(moment: datetime) -> str:
    """An HTTP date (RFC 9110 §5.6.7) for Last-Modified."""
    return format_datetime(moment, usegmt=True)


def version_location(stored: store.Stored) -> str:
    """Type/id/_history/version: the Location of a version, relative to the base."""
    return f"{stored.res_type}/{stored.fhir_id}/_history/{stored.version}"


def content_fragment(stored: store.Stored) -> orjson.Fragment:
    """The stored JSON of a live version, ready to embed."""
    assert stored.content is not None
    return orjson.Fragment(stored.content)


def entry_response(status: int, stored: store.Stored | None) -> dict[str, Any]:
    """Bundle.entry.response for a write (R4 bundle.html#transaction-response)."""
    response: dict[str, Any] = {"status": STATUS_TEXT.get(status, str(status))}
    if stored is not None and stored.version:
        if not stored.deleted:
            response["location"] = version_location(stored)
        response["etag"] = stored.etag
        response["lastModified"] = store.instant(stored.last_updated)
    return response


def history_bundle(base: str, page: store.HistoryPage, links: dict[str, str]) -> dict[str, Any]:
    """A history Bundle (R4 http.html#history): each version with its request and response."""
    entries = []
    for version in page.versions:
        entry: dict[str, Any] = {"fullUrl": f"{base}/{version.reference}"}
        if not version.deleted:
            entry["resource"] = content_fragment(version)
        method = version.method
        entry["request"] = {
            "method": "PUT" if method == "PATCH" else method,
            "url": version.res_type if method == "POST" else version.reference,
        }
        status = 201 if method == "POST" else (204 if version.deleted else 200)
        entry["response"] = {
            "status": STATUS_TEXT[status],
            "etag": version.etag,
            "lastModified": store.instant(version.last_updated),
        }
        entries.append(entry)
    return {
        "resourceType": "Bundle",
        "type": "history",
        "total": page.total,
        "link": [{"relation": r, "url": u} for r, u in links.items()],
        "entry": entries,
    }


@dataclass(frozen=True, slots=True)
class PageLinks:
    """self/first/previous/next links of an offset-paged result."""

    url: str  # the endpoint, absolute
    params: list[tuple[str, str]]  # the query without paging parameters
    count: int
    offset: int
    total: int

    def build(self) -> dict[str, str]:
        """relation -> URL."""

        def at(offset: int) -> str:
            query = [*self.params, ("_count", str(self.count))]
            if offset:
                query.append(("_offset", str(offset)))
            return f"{self.url}?{urlencode(query)}"

        links = {"self": at(self.offset), "first": at(0)}
        if self.count == 0:  # a count only (_count=0, _summary=count): nothing to page through
            return links
        if self.offset > 0:
            links["previous"] = at(max(0, self.offset - self.count))
        if self.offset + self.count < self.total:
            links["next"] = at(self.offset + self.count)
        return links


def cursor_links(
    url: str,
    params: list[tuple[str, str]],
    count: int,
    cursor: Any,
    rows: list[Any],
    beyond: bool,
) -> dict[str, str]:
    """self/first/previous/next of a key-paged result (search.Cursor).

    beyond: a row exists past the page in the direction it was read (after the last row when
    paging forward, before the first when paging back).
    """

    def at(position: str | None) -> str:
        query = [*params, ("_count", str(count))]
        if position is not None:
            query.append(("_cursor", position))
        return f"{url}?{urlencode(query)}"

    links = {"self": at(str(cursor) if cursor is not None else None), "first": at(None)}
    if count == 0 or not rows:
        return links
    backwards = cursor is not None and cursor.before
    if (backwards and beyond) or (cursor is not None and not backwards):
        links["previous"] = at(f"before.{rows[0].pk}")
    if backwards or beyond:
        links["next"] = at(f"after.{rows[-1].pk}")
    return links
