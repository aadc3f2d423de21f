"""FHIR search over the index tables (R4 search.html).

This is the core that conditional create, update and delete and the type-level search stand on:
`_id`, and the token, string, reference and uri parameters of every resource type, each value
a comma-separated OR, repeated parameters ANDed. Anything else is refused with 400 rather than
ignored, because a conditional delete that silently ignored a criterion would delete too much.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.tables import idx_reference, idx_string, idx_token, idx_uri, resources
from shafa.fhir import indexing, searchparams, store
from shafa.fhir.errors import FhirError, invalid

# Parameters that shape the result rather than select resources (R4 search.html#all).
RESULT_PARAMETERS = frozenset({"_count", "_offset", "_before", "_format", "_pretty"})


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search parameter with its modifier and its OR-ed values."""

    name: str
    modifier: str | None
    values: tuple[str, ...]


def split_escaped(text: str, separator: str) -> list[str]:
    """Split on a separator not escaped with a backslash, and unescape (R4 search.html#escaping)."""
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def parse_query(query: str | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query string (or pairs) into (name, value) pairs, blank values kept."""
    if isinstance(query, str):
        return parse_qsl(query, keep_blank_values=True)
    return list(query)


def criteria(res_type: str, pairs: Sequence[tuple[str, str]]) -> list[Criterion]:
    """The selecting criteria of a query; 400 for any parameter this search cannot honour."""
    known = searchparams.params_for(res_type)
    found = []
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in RESULT_PARAMETERS:
            continue
        if name != "_id":
            param = known.get(name)
            if param is None:
                raise invalid(f"Unknown search parameter {name!r} for {res_type}", raw_name)
            if param.type not in _MATCHERS:
                raise invalid(
                    f"Search parameter {name!r} is of type {param.type}, not yet searchable",
                    raw_name,
                )
        if value == "":
            raise invalid(f"Search parameter {raw_name!r} has no value", raw_name)
        found.append(Criterion(name, modifier or None, tuple(split_escaped(value, ","))))
    return found


def _token(res_type: str, c: Criterion) -> ColumnElement[bool]:
    if c.modifier not in (None,):
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    options = []
    for value in c.values:
        parts = split_escaped(value, "|") if "|" in value else [value]
        if len(parts) == 1:
            options.append(idx_token.c.code == parts[0])
        elif len(parts) == 2:
            system, code = parts
            if system == "":
                options.append(and_(idx_token.c.code == code, idx_token.c.system.is_(None)))
            elif code == "":
                options.append(idx_token.c.system == system)
            else:
                options.append(and_(idx_token.c.code == code, idx_token.c.system == system))
        else:
            raise invalid(f"Token {value!r} has more than one unescaped '|'", c.name)
    return _in_index(idx_token, res_type, c.name, or_(*options))


def _string(res_type: str, c: Criterion) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    for value in c.values:
        if c.modifier == "exact":
            options.append(idx_string.c.exact == value)
        elif c.modifier == "contains":
            options.append(
                idx_string.c.value.contains(indexing.normalise_text(value), autoescape=True)
            )
        elif c.modifier is None:
            options.append(
                idx_string.c.value.startswith(indexing.normalise_text(value), autoescape=True)
            )
        else:
            raise invalid(
                f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
            )
    return _in_index(idx_string, res_type, c.name, or_(*options))


def _reference(res_type: str, c: Criterion) -> ColumnElement[bool]:
    target_type = c.modifier
    if target_type is not None and target_type not in searchparams.all_resource_types():
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    options = []
    for value in c.values:
        if "://" in value or value.startswith("urn:"):
            options.append(idx_reference.c.url == value)
            continue
        pieces = value.split("/")
        if len(pieces) == 2:
            options.append(
                and_(
                    idx_reference.c.target_type == pieces[0], idx_reference.c.target_id == pieces[1]
                )
            )
        elif len(pieces) == 1:
            match = idx_reference.c.target_id == value
            if target_type is not None:
                match = and_(match, idx_reference.c.target_type == target_type)
            options.append(match)
        else:
            raise invalid(f"Reference {value!r} is not an id, Type/id or absolute URL", c.name)
    return _in_index(idx_reference, res_type, c.name, or_(*options))


def _uri(res_type: str, c: Criterion) -> ColumnElement[bool]:
    if c.modifier is not None:
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    return _in_index(idx_uri, res_type, c.name, idx_uri.c.uri.in_(c.values))


def _in_index(
    table: Any, res_type: str, param: str, match: ColumnElement[bool]
) -> ColumnElement[bool]:
    return resources.c.pk.in_(
        select(table.c.resource_pk).where(
            table.c.res_type == res_type, table.c.param == param, match
        )
    )


_MATCHERS = {"token": _token, "string": _string, "reference": _reference, "uri": _uri}
SEARCHABLE_TYPES = frozenset(_MATCHERS)


def _condition(res_type: str, c: Criterion) -> ColumnElement[bool]:
    if c.name == "_id":
        if c.modifier is not None:
            raise invalid(f"Modifier :{c.modifier} is not supported on _id", f"_id:{c.modifier}")
        return resources.c.fhir_id.in_(c.values)
    param = searchparams.params_for(res_type)[c.name]
    return _MATCHERS[param.type](res_type, c)


def select_matches(res_type: str, found: list[Criterion]) -> Select[Any]:
    """SELECT of the live resources of res_type meeting every criterion."""
    return select(resources).where(
        resources.c.res_type == res_type,
        resources.c.deleted.is_(False),
        *(_condition(res_type, c) for c in found),
    )


async def count(conn: AsyncConnection, res_type: str, found: list[Criterion]) -> int:
    """How many live resources match."""
    query = select(func.count()).select_from(select_matches(res_type, found).subquery())
    return int((await conn.execute(query)).scalar_one())


async def matching(
    conn: AsyncConnection, res_type: str, found: list[Criterion], *, limit: int, offset: int = 0
) -> list[Any]:
    """The matching live resource rows, oldest first (stable under concurrent writes)."""
    query = select_matches(res_type, found).order_by(resources.c.pk).limit(limit).offset(offset)
    return list(await conn.execute(query))


async def conditional_matches(
    conn: AsyncConnection, res_type: str, query: str, *, what: str
) -> list[Any]:
    """Up to two matches of conditional criteria (0, 1 or 'many' is all that matters)."""
    found = criteria(res_type, parse_query(query))
    if not found:
        raise FhirError.of(
            412 if what != "create" else 400,
            "invalid",
            f"Conditional {what} needs search criteria that select resources",
        )
    await store.lock_criteria(conn, f"{res_type}?{sorted(parse_query(query))}")
    return await matching(conn, res_type, found, limit=2)
