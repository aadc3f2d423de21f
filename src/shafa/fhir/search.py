"""FHIR search over the index tables (R4 search.html).

This is the core that conditional create, update and delete and the type-level search stand on:
`_id`, and the token, string, reference, uri, date, number, quantity and composite parameters of
every resource type (with the prefixes of search.html#prefix and `:missing`), each value a
comma-separated OR, repeated parameters ANDed. Anything else is refused with 400 rather than
ignored, because a conditional delete that silently ignored a criterion would delete too much.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy import ColumnElement, Select, and_, bindparam, func, literal, not_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.db.tables import (
    INDEX_TABLES,
    idx_composite,
    idx_date,
    idx_number,
    idx_quantity,
    idx_reference,
    idx_string,
    idx_token,
    idx_uri,
    resources,
)
from shafa.fhir import indexing, searchparams, store
from shafa.fhir.errors import FhirError, Issue, invalid
from shafa.fhir.store import Bound

# Parameters that shape the result rather than select resources (R4 search.html#all).
RESULT_PARAMETERS = frozenset(
    {
        "_count",
        "_offset",
        "_before",
        "_format",
        "_pretty",
        "_total",
        "_summary",
        "_elements",
        "_sort",
        "_include",
        "_revinclude",
        "_cursor",
    }
)


@dataclass(frozen=True, slots=True)
class Criterion:
    """One search parameter with its modifier and its OR-ed values."""

    name: str
    modifier: str | None
    values: tuple[str, ...]
    chain: str | None = None  # what follows the first '.' of a chained parameter


def split_escaped(text: str, separator: str, *, unescape: bool = True) -> list[str]:
    """Split on a separator not escaped with a backslash (R4 search.html#escaping).

    The parts are unescaped unless they are to be split again: a value is split on `,` into
    OR-ed values, a composite's on `$`, a token's on `|`, each keeping the escapes of the next.
    """
    parts, current, escaped = [], [], False
    for char in text:
        if escaped:
            if not unescape:
                current.append("\\")
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


def unescaped(text: str) -> str:
    """A search value with its escapes removed (R4 search.html#escaping)."""
    return split_escaped(text, "")[0] if "\\" in text else text


def parse_query(query: str | Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """Query string (or pairs) into (name, value) pairs, blank values kept."""
    if isinstance(query, str):
        return parse_qsl(query, keep_blank_values=True)
    return list(query)


@dataclass(frozen=True, slots=True)
class Query:
    """The criteria of a search, and what lenient handling left out (R4 search.html#errors)."""

    criteria: list[Criterion]
    used: list[tuple[str, str]]  # the parameters applied, for the self link
    ignored: list[Issue]  # a warning for each parameter left out


def parse_search(res_type: str, pairs: Sequence[tuple[str, str]], *, strict: bool) -> Query:
    """The criteria of a query; unknown parameters are a 400 if strict, else left out with a
    warning (Prefer: handling, R4 search.html#errors). Malformed values are a 400 either way."""
    known = searchparams.params_for(res_type)
    found, used, ignored = [], [], []
    for raw_name, value in pairs:
        if raw_name.startswith("_has:"):
            found.append(_has_criterion(res_type, raw_name, value))
            used.append((raw_name, value))
            continue
        if "." in raw_name:
            found.append(_chain_criterion(res_type, raw_name, value))
            used.append((raw_name, value))
            continue
        name, _, modifier = raw_name.partition(":")
        if name in RESULT_PARAMETERS:
            used.append((raw_name, value))
            continue
        if name != "_id" and (name != "_text" or res_type in WITHOUT_NARRATIVE):
            param = known.get(name)
            problem = None
            if param is None:
                problem = f"Unknown search parameter {name!r} for {res_type}"
            elif param.type not in _MATCHERS:
                problem = f"Search parameter {name!r} is of type {param.type}, not yet searchable"
            if problem is not None:
                if strict:
                    raise invalid(problem, raw_name)
                ignored.append(
                    Issue("not-supported", f"{problem}; ignored", "warning", (raw_name,))
                )
                continue
        if value == "":
            raise invalid(f"Search parameter {raw_name!r} has no value", raw_name)
        found.append(Criterion(name, modifier or None, _or_values(value)))
        used.append((raw_name, value))
    return Query(found, used, ignored)


def _or_values(value: str) -> tuple[str, ...]:
    """The comma-separated values of a parameter, each still escaped (see split_escaped)."""
    return tuple(split_escaped(value, ",", unescape=False))


def _chain_criterion(res_type: str, raw_name: str, value: str) -> Criterion:
    """A chained parameter, checked: its head must be a reference parameter of res_type."""
    criterion = _chained(raw_name, _or_values(value))
    param = searchparams.params_for(res_type).get(criterion.name)
    if param is None or param.type != "reference":
        raise invalid(
            f"{raw_name}: {criterion.name!r} is not a reference parameter of {res_type}, "
            "so it cannot be chained",
            raw_name,
        )
    if criterion.modifier is not None and criterion.modifier not in param.targets:
        raise invalid(
            f"{raw_name}: {criterion.name} cannot point to a {criterion.modifier}", raw_name
        )
    if value == "":
        raise invalid(f"Search parameter {raw_name!r} has no value", raw_name)
    return criterion


def _has_criterion(res_type: str, raw_name: str, value: str) -> Criterion:
    """_has:Type:reference:parameter (R4 search.html#has), checked; the rest may nest."""
    parts = raw_name.split(":", 3)
    if len(parts) != 4 or not parts[3]:
        raise invalid(f"{raw_name}: use _has:Type:reference:parameter=value", raw_name)
    _, source, reference, rest = parts
    if source not in searchparams.all_resource_types():
        raise invalid(f"{raw_name}: {source!r} is not a resource type", raw_name)
    param = searchparams.params_for(source).get(reference)
    if param is None or param.type != "reference":
        raise invalid(f"{raw_name}: {source} has no reference parameter {reference!r}", raw_name)
    if res_type not in param.targets:
        raise invalid(f"{raw_name}: {source}.{reference} cannot point to a {res_type}", raw_name)
    # The rest is checked as a parameter of the source type, nested _has and chains included.
    parse_search(source, [(rest, value)], strict=True)
    return Criterion("_has", None, _or_values(value), f"{source}:{reference}:{rest}")


def criteria(res_type: str, pairs: Sequence[tuple[str, str]]) -> list[Criterion]:
    """The criteria of a query, strictly: 400 for any parameter this search cannot honour."""
    return parse_search(res_type, pairs, strict=True).criteria


def _token_parts(name: str, value: str) -> tuple[str | None, str | None]:
    """(system, code) of a token value (R4 search.html#token): `code` is (None, code), any
    system; `|code` is ("", code), no system; `system|` is (system, None), any code."""
    parts = split_escaped(value, "|")
    if len(parts) == 1:
        return None, parts[0]
    if len(parts) > 2:
        raise invalid(f"Token {value!r} has more than one unescaped '|'", name)
    system, code = parts
    if not system and not code:
        raise invalid(f"Token {value!r} names neither a system nor a code", name)
    return system, code or None


def _token(res_type: str, c: Criterion) -> Select[Any]:
    """system|code matching; :text searches the display and text, :of-type an Identifier's type
    and value (R4 search.html#token).

    :not is applied by _condition, as the complement of this match.
    """
    if c.modifier == "text":
        options = [
            idx_token.c.text.startswith(indexing.normalise_text(unescaped(value)), autoescape=True)
            for value in c.values
        ]
        return _in_index(idx_token, res_type, c.name, or_(*options))
    if c.modifier == "of-type" and c.name in indexing.of_type_params(res_type):
        return _of_type(res_type, c)
    if c.modifier not in (None, "not"):
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    options = []
    t = idx_token.c
    for value in c.values:
        system, code = _token_parts(c.name, value)
        if system is None:
            options.append(t.code == code)
        elif code is None:
            options.append(t.system == system)
        else:
            options.append(
                and_(t.code == code, t.system.is_(None) if system == "" else t.system == system)
            )
    return _in_index(idx_token, res_type, c.name, or_(*options))


def _of_type(res_type: str, c: Criterion) -> Select[Any]:
    """type-system|type-code|value: an Identifier with that type coding and that value."""
    keys = []
    for value in c.values:
        parts = split_escaped(value, "|")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise invalid(
                f"{c.name}:of-type={value!r}: use type-system|type-code|value, such as "
                "http://terminology.hl7.org/CodeSystem/v2-0203|MR|446053",
                f"{c.name}:of-type",
            )
        system, code, identifier = parts
        kind = indexing.token_constraint(system, code)
        keys.append(indexing.composite_key((kind, indexing.token_constraint(None, identifier))))
    return _in_index(idx_composite, res_type, c.name, idx_composite.c.hash.in_(keys))


def _string(res_type: str, c: Criterion) -> Select[Any]:
    """Starts with (no modifier), contains, or equals (:exact) the value (R4 search.html#string),
    case and accents aside; where a context folds the parameter (indexing.Folding), a folded
    match counts too, except for :exact."""
    options: list[ColumnElement[bool]] = []
    folding = indexing.folding(res_type, c.name)
    s = idx_string.c
    for value in map(unescaped, c.values):
        if c.modifier == "exact":
            options.append(s.exact == value)
        elif c.modifier == "contains":
            options.append(s.value.contains(indexing.normalise_text(value), autoescape=True))
            if folding is not None:
                options += (
                    s.folded.contains(key, autoescape=True) for key in folding.search_keys(value)
                )
        elif c.modifier is None:
            options.append(s.value.startswith(indexing.normalise_text(value), autoescape=True))
            if folding is not None:
                options += (
                    s.folded.startswith(key, autoescape=True) for key in folding.search_keys(value)
                )
        else:
            raise invalid(
                f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
            )
    return _in_index(idx_string, res_type, c.name, or_(*options))


def _reference_parts(name: str, value: str) -> tuple[str | None, str | None, str | None]:
    """(type, id, url) of a reference value: `id`, `Type/id`, or an absolute URL or URN."""
    if "://" in value or value.startswith("urn:"):
        return None, None, value
    pieces = value.split("/")
    if len(pieces) == 2:
        return pieces[0], pieces[1], None
    if len(pieces) == 1:
        return None, value, None
    raise invalid(f"Reference {value!r} is not an id, Type/id or absolute URL", name)


def _reference(res_type: str, c: Criterion) -> Select[Any]:
    target_type = c.modifier
    if target_type is not None and target_type not in searchparams.all_resource_types():
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    options = []
    r = idx_reference.c
    for value in map(unescaped, c.values):
        kind, target_id, url = _reference_parts(c.name, value)
        kind = kind or target_type
        if url is not None:
            options.append(r.url == url)
        elif kind is not None:
            options.append(and_(r.target_type == kind, r.target_id == target_id))
        else:
            options.append(r.target_id == target_id)
    return _in_index(idx_reference, res_type, c.name, or_(*options))


def _uri(res_type: str, c: Criterion) -> Select[Any]:
    """Exact uri match; :below finds uris under the value, :above those the value is under."""
    uri = idx_uri.c.uri
    values = [unescaped(value) for value in c.values]
    if c.modifier == "below":
        match = or_(*(uri.startswith(value, autoescape=True) for value in values))
    elif c.modifier == "above":
        # The stored uri is a prefix of the value: value LIKE uri || '%'.
        match = or_(*(literal(value).startswith(uri) for value in values))
    elif c.modifier is None:
        match = uri.in_(values)
    else:
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )
    return _in_index(idx_uri, res_type, c.name, match)


PREFIXES = frozenset({"eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap"})


def split_prefix(value: str) -> tuple[str, str]:
    """(prefix, rest) of an ordered value; eq when none is given (R4 search.html#prefix)."""
    if len(value) > 2 and value[:2] in PREFIXES:
        return value[:2], value[2:]
    return "eq", value


def _no_modifier(c: Criterion) -> None:
    if c.modifier is not None:
        raise invalid(
            f"Modifier :{c.modifier} is not supported on {c.name}", f"{c.name}:{c.modifier}"
        )


def _ranges(
    prefix: str, low: Any, high: Any, target_low: Any, target_high: Any
) -> ColumnElement[bool]:
    """A target range [target_low, target_high] against the search range [low, high].

    The prefixes as R4 search.html#prefix defines them on ranges: eq, the search range contains
    the target's; gt, the range above the search value overlaps the target's; ge, gt or eq;
    sa, the target starts after the search range ends; ap, the ranges overlap (the caller
    widens the search range first).
    """

    # Stored ranges have target_low <= target_high, so each bound below that adds nothing to the
    # meaning gives the index on low or high a closed range to scan: without target_low <= high,
    # birthdate=1994-03-22 read every patient born before 1994 through the index on high.
    def contains() -> ColumnElement[bool]:
        return and_(target_low >= low, target_low <= high, target_high <= high)

    # Only the prefix asked for is built: SQL expressions are dear to construct.
    match prefix:
        case "eq":
            return contains()
        case "ne":
            return not_(contains())
        case "gt":
            return target_high > high
        case "lt":
            return target_low < low
        case "ge":  # gt or eq: with target_low <= target_high, no more than this
            return or_(target_high > high, target_low >= low)
        case "le":
            return or_(target_low < low, target_high <= high)
        case "sa":
            return target_low > high
        case "eb":
            return target_high < low
        case _:  # ap
            return and_(target_low <= high, target_high >= low)


def _date_match(c: Criterion, target_low: Any, target_high: Any) -> ColumnElement[bool]:
    """The date values of c against a target range (R4 search.html#date)."""
    _no_modifier(c)
    return or_(*(_date_condition(c.name, value, target_low, target_high) for value in c.values))


def _date_condition(
    name: str, value: str, target_low: Any, target_high: Any
) -> ColumnElement[bool]:
    """One [prefix]date value against a target range."""
    prefix, text = split_prefix(value)
    span = indexing.date_range(text)
    if span is None:
        raise invalid(
            f"{name}={value!r}: not a FHIR date, dateTime or instant "
            "(such as 2024, 2024-05, 2024-05-17 or 2024-05-17T10:00:00+04:00)",
            name,
        )
    low, high = span
    if prefix == "ap":
        # Within 10% of the distance from now, as search.html recommends; at least a day.
        margin = max(abs(store.now() - low) / 10, timedelta(days=1))
        low, high = _shifted(low, -margin), _shifted(high, margin)
    return _ranges(prefix, low, high, target_low, target_high)


def _date(res_type: str, c: Criterion) -> Select[Any]:
    match = _date_match(c, idx_date.c.low, idx_date.c.high)
    return _in_index(idx_date, res_type, c.name, match)


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, kept within the dates the index can hold."""
    try:
        return min(max(moment + delta, indexing.DATE_MIN), indexing.DATE_MAX)
    except OverflowError:
        return indexing.DATE_MAX if delta > timedelta(0) else indexing.DATE_MIN


def _decimal(name: str, text: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise invalid(f"{name}={text!r} is not a number", name) from None
    if not number.is_finite():
        raise invalid(f"{name}={text!r} is not a finite number", name)
    return number


def _number_condition(prefix: str, number: Decimal, column: Any) -> ColumnElement[bool]:
    """A stored number against a search number, which stands for the range its digits imply.

    R4 search.html#number: 100 means [99.5, 100.5), 100.00 means [99.995, 100.005); eq and ne
    use that range, the other prefixes the value itself; ap means within 10%.
    """
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: checked by _decimal
    half = Decimal(5).scaleb(exponent - 1)
    low, high = number - half, number + half
    if prefix == "eq":
        return and_(column >= low, column < high)
    if prefix == "ne":
        return or_(column < low, column >= high)
    if prefix == "ap":
        margin = abs(number) / 10
        return and_(column >= number - margin, column <= number + margin)
    if prefix in ("gt", "sa"):
        return column > number
    if prefix in ("lt", "eb"):
        return column < number
    return column >= number if prefix == "ge" else column <= number


def _number_value(name: str, value: str, column: Any) -> ColumnElement[bool]:
    """One [prefix]number value against a stored number."""
    prefix, text = split_prefix(value)
    return _number_condition(prefix, _decimal(name, text), column)


def _number(res_type: str, c: Criterion) -> Select[Any]:
    _no_modifier(c)
    options = [_number_value(c.name, value, idx_number.c.value) for value in c.values]
    return _in_index(idx_number, res_type, c.name, or_(*options))


def _quantity_condition(name: str, value: str, q: Any) -> ColumnElement[bool]:
    """[prefix]number[|system|code] (R4 search.html#quantity) against the value, system, code
    and unit columns of q; with no system the code matches the unit code or the unit."""
    parts = split_escaped(value, "|")
    if len(parts) not in (1, 3):
        raise invalid(f"{name}={value!r}: a quantity is number or number|system|code", name)
    match = [_number_value(name, parts[0], q.value)]
    if len(parts) == 3:
        system, code = parts[1], parts[2]
        if system:
            match.append(q.system == system)
        if code:
            match.append(q.code == code if system else or_(q.code == code, q.unit == code))
    return and_(*match)


def _quantity(res_type: str, c: Criterion) -> Select[Any]:
    _no_modifier(c)
    options = [_quantity_condition(c.name, value, idx_quantity.c) for value in c.values]
    return _in_index(idx_quantity, res_type, c.name, or_(*options))


def _composite(res_type: str, c: Criterion) -> Select[Any]:
    """Components separated by `$`, each taken as its own parameter's type takes it, all
    matching within one element (R4 search.html#composite): one index row.

    The exact components (token, reference, uri) make one hash, as the rows store them (see
    indexing, composite rows); quantity, number, date and string components are conditions on
    the typed columns of the same row.
    """
    _no_modifier(c)
    parts = indexing.composite_parts(res_type, c.name)
    x = idx_composite.c
    options = []
    for value in c.values:
        pieces = split_escaped(value, "$", unescape=False)
        if len(pieces) != len(parts) or "" in pieces:
            shape = "$".join(part.param.code for part in parts)
            raise invalid(f"{c.name}={value!r}: a value of {c.name} is {shape}", c.name)
        constraints, match = [], []
        for piece, part in zip(pieces, parts, strict=True):
            kind = part.param.type
            if kind == "token":
                constraints.append(indexing.token_constraint(*_token_parts(c.name, piece)))
            elif kind == "reference":
                target = _reference_parts(c.name, unescaped(piece))
                constraints.append(indexing.reference_constraint(*target))
            elif kind == "uri":
                constraints.append(indexing.reference_constraint(None, None, unescaped(piece)))
            elif kind == "quantity":
                match.append(_quantity_condition(c.name, piece, x))
            elif kind == "number":
                match.append(_number_value(c.name, piece, x[part.columns[0]]))
            elif kind == "date":
                match.append(_date_condition(c.name, piece, x.low, x.high))
            else:  # string: starts with, as string parameters match
                text = indexing.normalise_text(unescaped(piece))
                match.append(x.text.startswith(text, autoescape=True))
        options.append(and_(x.hash == indexing.composite_key(tuple(constraints)), *match))
    sources = indexing.composite_sources(res_type, c.name)
    return select(x.resource_pk).where(
        x.res_type == res_type, _one_of(x.param, sources), or_(*options)
    )


def _one_of(column: Any, values: Sequence[str]) -> ColumnElement[bool]:
    return column == values[0] if len(values) == 1 else column.in_(values)


def _with_value(res_type: str, c: Criterion, param_type: str) -> Select[Any]:
    """The resources that have any value for the parameter (for :missing)."""
    if c.values not in (("true",), ("false",)):
        raise invalid(f"{c.name}:missing takes true or false", f"{c.name}:missing")
    table = INDEX_TABLES[param_type]
    names: Sequence[str] = (c.name,)
    if param_type == "composite":  # searched in the rows of others, perhaps
        names = indexing.composite_sources(res_type, c.name)
    return select(table.c.resource_pk).where(
        table.c.res_type == res_type, _one_of(table.c.param, names)
    )


# The resource types that are not DomainResources: _text has no narrative to search in them.
WITHOUT_NARRATIVE = frozenset({"Binary", "Bundle", "Parameters"})


def _text(res_type: str, c: Criterion, target: Any) -> ColumnElement[bool]:
    """_text (R4 search.html#text): the narrative has a word starting with each word of a value.

    Case and accents are ignored as in string search; "chest pain" finds a narrative saying
    "Pain in the chest", and "chest, abdomen" either word.
    """
    _no_modifier(c)
    options = []
    for value in c.values:
        words = indexing.text_words(value)
        if not words:
            raise invalid(f"_text={value!r} has no word to search for", "_text")
        options.append(
            and_(
                *(
                    target.c.pk.in_(
                        _in_index(
                            idx_string,
                            res_type,
                            "_text",
                            idx_string.c.value.startswith(word, autoescape=True),
                        )
                    )
                    for word in dict.fromkeys(words)
                )
            )
        )
    return or_(*options)


def _in_index(table: Any, res_type: str, param: str, match: ColumnElement[bool]) -> Select[Any]:
    return _index_rows(table, res_type, param).where(match)


# Building SQL expressions is most of a search's CPU in the server: the parts that depend only on
# the type and parameter are built once. Statements are immutable, .where() makes a new one.
@lru_cache(maxsize=4096)
def _index_rows(table: Any, res_type: str, param: str) -> Select[Any]:
    return select(table.c.resource_pk).where(table.c.res_type == res_type, table.c.param == param)


@lru_cache(maxsize=512)
def _live(res_type: str) -> Select[Any]:
    return select(resources).where(resources.c.res_type == res_type, resources.c.deleted.is_(False))


_MATCHERS = {
    "token": _token,
    "string": _string,
    "reference": _reference,
    "uri": _uri,
    "date": _date,
    "number": _number,
    "quantity": _quantity,
    "composite": _composite,
}
SEARCHABLE_TYPES = frozenset(_MATCHERS)


def _chained(name: str, values: tuple[str, ...]) -> Criterion:
    """A criterion from a parameter name that may itself be a chain ('organization.name')."""
    head, dot, rest = name.partition(".")
    code, _, modifier = head.partition(":")
    return Criterion(code, modifier or None, values, rest if dot else None)


def _chain(res_type: str, c: Criterion, bound: Bound | None = None) -> Select[Any]:
    """Resources whose reference c.name points to a resource meeting the rest of the chain.

    R4 search.html#chaining: subject:Patient.identifier=x, or subject.name=x for every target
    type of subject that has a name parameter; chains nest (subject.organization.name=x).
    """
    assert c.chain is not None
    param = searchparams.params_for(res_type)[c.name]
    rest = _chained(c.chain, c.values)
    label = f"{c.name}{':' + c.modifier if c.modifier else ''}.{c.chain}"  # as the client wrote it
    targets = [c.modifier] if c.modifier else list(param.targets)
    chained = resources.alias()
    options = []
    for target in targets:
        if rest.name != "_id":
            rest_param = searchparams.params_for(target).get(rest.name)
            if rest_param is None:
                continue
            if rest.chain is not None and rest_param.type != "reference":
                raise invalid(
                    f"{label}: {rest.name!r} is not a reference, so it cannot be chained", label
                )
        ids = select(chained.c.fhir_id).where(
            chained.c.res_type == target,
            chained.c.deleted.is_(False),
            _condition(target, rest, chained, bound),
        )
        if bound is not None:
            ids = ids.where(bound.condition(chained))
        options.append(
            and_(idx_reference.c.target_type == target, idx_reference.c.target_id.in_(ids))
        )
    if not options:
        raise invalid(
            f"{label}: nothing {c.name} may point to has a parameter {rest.name!r}", label
        )
    return _in_index(idx_reference, res_type, c.name, or_(*options))


def _has(
    res_type: str, c: Criterion, target: Any, bound: Bound | None = None
) -> ColumnElement[bool]:
    """Resources of res_type that a resource of the _has source type points to and that meets
    the rest of the parameter."""
    assert c.chain is not None
    source, reference, rest = c.chain.split(":", 2)
    if rest.startswith("_has:"):
        inner_criterion = Criterion("_has", None, c.values, rest.removeprefix("_has:"))
    else:
        inner_criterion = _chained(rest, c.values)
    sources = resources.alias()
    matching_sources = select(sources.c.pk).where(
        sources.c.res_type == source,
        sources.c.deleted.is_(False),
        _condition(source, inner_criterion, sources, bound),
    )
    if bound is not None:
        matching_sources = matching_sources.where(bound.condition(sources))
    r = idx_reference.c
    pointed = select(r.target_id).where(
        r.res_type == source,
        r.param == reference,
        r.target_type == res_type,
        r.resource_pk.in_(matching_sources),
    )
    return target.c.fhir_id.in_(pointed)


def _condition(
    res_type: str, c: Criterion, target: Any = resources, bound: Bound | None = None
) -> ColumnElement[bool]:
    """The criterion as a condition on target (the resources table, or an alias in a chain).

    bound: what the caller may see; the resources a chain or _has looks through are bounded
    too, or their criteria would tell of what the caller cannot read.
    """
    if c.name == "_has":
        return _has(res_type, c, target, bound)
    if c.chain is not None:
        return target.c.pk.in_(_chain(res_type, c, bound))
    if c.name == "_text":
        return _text(res_type, c, target)
    if c.name == "_id":
        if c.modifier is not None:
            raise invalid(f"Modifier :{c.modifier} is not supported on _id", f"_id:{c.modifier}")
        return target.c.fhir_id.in_(c.values)
    if c.name == "_lastUpdated":
        # Kept on the resource row, not as index rows: an instant is a range of one point.
        if c.modifier == "missing":
            raise invalid("_lastUpdated is never missing", "_lastUpdated:missing")
        return _date_match(c, target.c.last_updated, target.c.last_updated)
    param = searchparams.params_for(res_type)[c.name]
    if c.modifier == "missing":
        has_value = target.c.pk.in_(_with_value(res_type, c, param.type))
        return not_(has_value) if c.values == ("true",) else has_value
    if c.modifier == "not" and param.type == "token":
        # :not also finds resources with no value at all (R4 search.html#token).
        return not_(target.c.pk.in_(_MATCHERS["token"](res_type, c)))
    return target.c.pk.in_(_MATCHERS[param.type](res_type, c))


def select_matches(
    res_type: str, found: list[Criterion], bound: Bound | None = None
) -> Select[Any]:
    """SELECT of the live resources of res_type meeting every criterion; only those the caller
    may see when bound is given (security.access.AccessContext.bound)."""
    query = _live(res_type).where(*(_condition(res_type, c, resources, bound) for c in found))
    return query if bound is None else query.where(bound.condition(resources))


def _params(bound: Bound | None) -> dict[str, Any]:
    """The values of the bound's parameters, for a statement it is in."""
    return {} if bound is None else dict(bound.params)


async def count(
    conn: AsyncConnection, res_type: str, found: list[Criterion], bound: Bound | None = None
) -> int:
    """How many live resources match (of those the caller may see when bound is given)."""
    query = select(func.count()).select_from(select_matches(res_type, found, bound).subquery())
    return int((await conn.execute(query, _params(bound))).scalar_one())


@dataclass(frozen=True, slots=True)
class SortKey:
    """One key of _sort: a search parameter (or _id, _lastUpdated), descending if '-'."""

    name: str
    descending: bool


# The index column a parameter type sorts by: ascending takes a resource's lowest value,
# descending its highest (R4 search.html#sort leaves the choice to the server; HAPI does so).
_SORT_COLUMNS = {
    "string": (idx_string, "value", "value"),
    "token": (idx_token, "code", "code"),
    "date": (idx_date, "low", "high"),
    "number": (idx_number, "value", "value"),
    "quantity": (idx_quantity, "value", "value"),
    "uri": (idx_uri, "uri", "uri"),
    "reference": (idx_reference, "target_id", "target_id"),
}


def parse_sort(res_type: str, value: str) -> list[SortKey]:
    """The keys of a _sort value such as '-date,name'; 400 for one that cannot sort."""
    keys = []
    known = searchparams.params_for(res_type)
    for part in value.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        param = known.get(name)
        if name not in ("_id", "_lastUpdated") and (
            param is None or param.type not in _SORT_COLUMNS
        ):
            raise invalid(
                f"_sort: {name!r} is not a parameter {res_type} can be sorted by", "_sort"
            )
        keys.append(SortKey(name, descending))
    return keys


def _order_by(res_type: str, keys: list[SortKey]) -> list[Any]:
    order: list[Any] = []
    for key in keys:
        if key.name == "_id":
            column: Any = resources.c.fhir_id
        elif key.name == "_lastUpdated":
            column = resources.c.last_updated
        else:
            param = searchparams.params_for(res_type)[key.name]
            table, lowest, highest = _SORT_COLUMNS[param.type]
            pick = func.max(table.c[highest]) if key.descending else func.min(table.c[lowest])
            column = (
                select(pick)
                .where(
                    table.c.resource_pk == resources.c.pk,
                    table.c.res_type == res_type,
                    table.c.param == key.name,
                )
                .scalar_subquery()
            )
        # Resources without the value come last either way.
        order.append(column.desc().nulls_last() if key.descending else column.asc().nulls_last())
    order.append(resources.c.pk)  # a total order, so offset paging neither skips nor repeats
    return order


async def matching(
    conn: AsyncConnection,
    res_type: str,
    found: list[Criterion],
    *,
    limit: int,
    offset: int = 0,
    sort: list[SortKey] | None = None,
    cursor: "Cursor | None" = None,
    bound: Bound | None = None,
) -> list[Any]:
    """The matching live resource rows in the order of sort, else oldest first.

    A cursor (default order only) starts the page after, or ends it before, a known row.
    """
    query = select_matches(res_type, found, bound)
    if cursor is not None and cursor.before:
        query = query.where(resources.c.pk < cursor.pk).order_by(resources.c.pk.desc())
        return list(reversed(list(await conn.execute(query.limit(limit), _params(bound)))))
    if cursor is not None:
        query = query.where(resources.c.pk > cursor.pk)
    query = query.order_by(*_order_by(res_type, sort or []))
    return list(await conn.execute(query.limit(limit).offset(offset), _params(bound)))


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of the default order starts: after (or ends before) the row with pk.

    Paging by key rather than by offset, a page neither skips nor repeats a resource when others
    are created or deleted between pages.
    """

    pk: int
    before: bool

    @classmethod
    def parse(cls, value: str) -> "Cursor":
        """A _cursor value: after.N or before.N; 400 otherwise."""
        direction, _, number = value.partition(".")
        if direction not in ("after", "before") or not number.isdigit():
            raise invalid(f"_cursor={value!r} is not a paging cursor of this server", "_cursor")
        return cls(int(number), direction == "before")

    def __str__(self) -> str:
        return f"{'before' if self.before else 'after'}.{self.pk}"


async def conditional_matches(
    conn: AsyncConnection, res_type: str, query: str, *, what: str
) -> list[Any]:
    """Up to two matches of conditional criteria (0, 1 or 'many' is all that matters)."""
    pairs = parse_query(query)
    found = criteria(res_type, pairs)
    if not found:
        raise FhirError.of(
            412 if what != "create" else 400,
            "invalid",
            f"Conditional {what} needs search criteria that select resources",
        )
    await store.lock_criteria(conn, f"{res_type}?{sorted(pairs)}")
    return await matching(conn, res_type, found, limit=2, bound=store.WRITE_SEARCH_BOUND.get())


@dataclass(frozen=True, slots=True)
class Include:
    """One _include or _revinclude: SourceType:param[:TargetType], param None for '*'."""

    source: str
    param: str | None
    target: str | None
    reverse: bool
    iterate: bool


INCLUDE_ITERATIONS = 4  # :iterate follows at most this many further steps
MAX_INCLUDED = 1000  # resources a page may include, so one search cannot pull in a country


def parse_includes(pairs: Sequence[tuple[str, str]]) -> list[Include]:
    """The _include and _revinclude parameters (R4 search.html#include); 400 for a bad one."""
    found = []
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name not in ("_include", "_revinclude"):
            continue
        if modifier not in ("", "iterate", "recurse"):  # recurse: R3's name for iterate
            raise invalid(f"{raw_name}: the only modifier here is :iterate", raw_name)
        parts = value.split(":")
        if len(parts) not in (2, 3):
            raise invalid(f"{raw_name}={value!r}: use SourceType:parameter[:TargetType]", raw_name)
        source, param_name = parts[0], parts[1]
        target = parts[2] if len(parts) == 3 else None
        if source not in searchparams.all_resource_types():
            raise invalid(f"{raw_name}={value!r}: {source!r} is not a resource type", raw_name)
        param = None if param_name == "*" else searchparams.params_for(source).get(param_name)
        if param_name != "*" and (param is None or param.type != "reference"):
            raise invalid(
                f"{raw_name}={value!r}: {source} has no reference parameter {param_name!r}",
                raw_name,
            )
        if target is not None and param is not None and target not in param.targets:
            raise invalid(
                f"{raw_name}={value!r}: {source}.{param_name} cannot point to a {target}", raw_name
            )
        found.append(
            Include(
                source,
                None if param_name == "*" else param_name,
                target,
                reverse=name == "_revinclude",
                iterate=bool(modifier),
            )
        )
    return found


@cache
def _include_statement(include: Include) -> Select[Any]:
    """The live resources one _include or _revinclude reaches from a page, built once a kind.

    Bound parameters: pks (the page's rows of the source type) for _include; ids and types
    (the page's rows) for _revinclude.
    """
    r = idx_reference.c
    link = [r.res_type == include.source, resources.c.deleted.is_(False)]
    if include.param is not None:
        link.append(r.param == include.param)
    if include.target is not None:
        link.append(r.target_type == include.target)
    if include.reverse:
        # Resources of the source type that point at any of the rows.
        return (
            select(resources)
            .join(idx_reference, resources.c.pk == r.resource_pk)
            .where(
                *link,
                r.target_id.in_(bindparam("ids", expanding=True)),
                r.target_type.in_(bindparam("types", expanding=True)),
            )
            .limit(MAX_INCLUDED)
        )
    return (
        select(resources)
        .join(
            idx_reference,
            and_(resources.c.res_type == r.target_type, resources.c.fhir_id == r.target_id),
        )
        .where(*link, r.resource_pk.in_(bindparam("pks", expanding=True)))
        .limit(MAX_INCLUDED)
    )


def _include_params(include: Include, rows: list[Any]) -> dict[str, list[Any]] | None:
    """The bound values of _include_statement for rows; None when no row can be a source."""
    if include.reverse:
        return {"ids": [row.fhir_id for row in rows], "types": list({row.res_type for row in rows})}
    pks = [row.pk for row in rows if row.res_type == include.source]
    return {"pks": pks} if pks else None


async def included(
    conn: AsyncConnection, rows: list[Any], includes: list[Include], bound: Bound | None = None
) -> list[Any]:
    """The live resources the includes reach from rows, each once and none of rows itself;
    only those the caller may see when bound is given."""
    seen = {row.pk for row in rows}
    found: list[Any] = []
    frontier = rows
    for step in range(1 + INCLUDE_ITERATIONS):
        wanted = [i for i in includes if step == 0 or i.iterate]
        if not wanted or not frontier:
            break
        fresh = []
        for include in wanted:
            params = _include_params(include, frontier)
            if params is None:
                continue
            statement = _include_statement(include)
            if bound is not None:
                statement = statement.where(bound.condition(resources))
                params = {**params, **bound.params}
            for row in await conn.execute(statement, params):
                if row.pk not in seen:
                    seen.add(row.pk)
                    fresh.append(row)
        found += fresh
        if len(found) >= MAX_INCLUDED:
            return found[:MAX_INCLUDED]
        frontier = fresh
    return found
