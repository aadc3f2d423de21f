# ruff: noqa: E501 -- the contract below is quoted verbatim, long lines included.
"""Search-index extraction: the values each SearchParameter finds in a resource.

CONTRACT (the store depends on exactly this):

    rows = extract(resource)   # resource: dict parsed with json.loads(parse_float=Decimal)

returns IndexRows (a dataclass with slots) whose lists hold one tuple a value, param being the SearchParameter code:
    string:    (param, normalised, exact)        normalised = lower case, accents stripped (NFKD, combining marks removed), whitespace collapsed; both truncated to 255 chars
    token:     (param, system|None, code|None, text|None)   text = display/text normalised like strings (for :text), truncated to 255; code truncated to 255, system to 512
    date:      (param, low, high)                aware UTC datetimes, closed range covering the value, DATE_MIN/DATE_MAX constants for open ends
    number:    (param, Decimal)
    quantity:  (param, Decimal, system|None, code|None, unit|None)
    uri:       (param, uri)                       truncated to 512
    reference: (param, target_type|None, target_id|None, url|None)
    composite: (param, hash, value, system, code, unit, value2, low, high, text)   see "Composite rows" below

The fields of IndexRows are named after the parameter types, as db.tables.INDEX_TABLES is.
What each FHIR datatype yields follows FHIR R4 search.html (§3.1.1.4 and the sections of each
parameter type) and, where the spec leaves room, HAPI FHIR's extractor:

* string: string and markdown as they are; HumanName's family, given, prefix, suffix and text
  and Address's line, city, district, state, postalCode, country and text as separate values.
* token: code, id, string, uri (code = the value); boolean (code "true" / "false"); Coding
  (system, code, display); CodeableConcept (each Coding, plus a text-only row for its text);
  Identifier (system, value, type.text); ContactPoint (None, value, None): search.html matches
  ContactPoint tokens on the value only, its system (phone, email) being what the parameter
  already names (`phone`, `email`). `Patient.deceased.exists() and Patient.deceased != false`
  yields one boolean always, so every Patient gets a `deceased` row, "false" when no deceased[x]
  is given, which is what HAPI indexes too and what makes `deceased=false` find the living.
* date: date, dateTime and instant as the range their precision covers (`2020` is the whole
  year; no time zone means UTC); Period start..end, an open end being DATE_MIN / DATE_MAX;
  Timing as the outer limits of its events and repeat.boundsPeriod (search.html#date).
* number: decimal and integer. A Range (RiskAssessment.prediction.probability) is not a number.
* quantity: Quantity and its profiles (Age, Duration, Count, Distance, SimpleQuantity);
  Money as (value, "urn:iso:std:iso:4217", currency, None), as HAPI; Range as its low and high.
* uri: uri, url, canonical, oid, uuid.
* reference: Reference.reference `Type/id[/_history/v]` -> (Type, id, None); an absolute URL
  ending so -> (Type, id, url); any other URL, urn:uuid: or urn:oid: -> (None, None, url);
  `#contained` and identifier-only references are skipped. canonical and uri values ->
  (None, None, url), any `|version` kept, except a relative `Type/id` canonical, indexed as a
  reference to that resource. A resource (Bundle.entry[0].resource) -> its type and
  id. url is truncated to 512.

* composite: a row for each element of the composite's expression that has a value for every
  component and each combination of those values (search.html#composite); the exact components
  hashed, the others in typed columns. Token parameters whose values are Identifiers also get
  composite-shaped rows of each type coding with the Identifier's value, for :of-type.

* `_text`: string rows (`_text`, word, word), one for each distinct word of the narrative
  (Resource.text.div with its tags stripped and character references decoded), normalised as
  strings are; the first NARRATIVE_WORDS distinct words of a longer narrative.

The store keeps a fourth value beside each string row, its folded form (or NULL), from the
Folding a context installed for the parameter (see string_table_rows); extract() never folds.

Special parameters (Location.near) get no rows.
`_id` and `_lastUpdated` are columns of the store; `_content`, `_list`, `_query`, `_has` and
`_type` are not values of a resource. Identical rows of a resource are written once.
Values of an unexpected shape are skipped: extraction never fails on a valid resource.
"""

import hashlib
import html
import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import cache, lru_cache, partial
from typing import Any

from shafa.fhir.fhirpath import (
    Path,
    UnsupportedExpression,
    compile_branches,
    compile_path_with_entry_keys,
    compile_relative,
    parse_literal_reference,
)
from shafa.fhir.searchparams import SearchParam, all_resource_types, param_by_url, params_for

DATE_MIN = datetime(1, 1, 1, tzinfo=UTC)
DATE_MAX = datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)

MAX_TEXT = 255
MAX_URI = 512
ISO_4217 = "urn:iso:std:iso:4217"  # the currency code system of Money (R4 datatypes.html#Money)

# Parameters whose values the store keeps elsewhere or that are no values of the resource.
_NOT_INDEXED = frozenset(
    {"_id", "_lastUpdated", "_text", "_content", "_list", "_query", "_has", "_type"}
)
_NAME_AND_ADDRESS_PARTS = frozenset({
    "text", "family", "given", "prefix", "suffix",  # HumanName
    "line", "city", "district", "state", "postalCode", "country",  # Address
})  # fmt: skip
# ContactPoint.system codes (R4 valueset-contact-point-system): an Identifier.system is a URI.
_CONTACT_POINT_SYSTEMS = frozenset({"phone", "fax", "email", "pager", "url", "sms", "other"})

_MICROSECOND = timedelta(microseconds=1)
# date, dateTime and instant (R4 datatypes.html#dateTime); seconds and zone are optional here
# because clients send them so and HAPI accepts them.
_DATE_TIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"(Z|[+-]\d{2}:\d{2})?)?)?)?"
)


# (param, hash, value, system, code, unit, value2, low, high, text): see "Composite rows" below.
CompositeRow = tuple[
    str, int, Decimal | None, str | None, str | None, str | None, Decimal | None,
    datetime | None, datetime | None, str | None,
]  # fmt: skip


@dataclass(slots=True)
class IndexRows:
    """The index rows of one resource, one list a parameter type (see the module docstring)."""

    string: list[tuple[str, str, str]] = field(default_factory=list)
    token: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    date: list[tuple[str, datetime, datetime]] = field(default_factory=list)
    number: list[tuple[str, Decimal]] = field(default_factory=list)
    quantity: list[tuple[str, Decimal, str | None, str | None, str | None]] = field(
        default_factory=list
    )
    uri: list[tuple[str, str]] = field(default_factory=list)
    reference: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)
    composite: list[CompositeRow] = field(default_factory=list)


KINDS = tuple(kind.name for kind in fields(IndexRows))  # as db.tables.INDEX_TABLES names them


@lru_cache(maxsize=65536)  # names, places and codes' displays recur from resource to resource
def normalise_text(value: str) -> str:
    """Lower case, accents stripped, whitespace collapsed: how string values are matched."""
    value = value.lower()  # first: lowering may add combining marks ("İ" -> "i̇")
    if not value.isascii():
        decomposed = unicodedata.normalize("NFKD", value)
        value = "".join(char for char in decomposed if not unicodedata.combining(char))
    return " ".join(value.split())


# Distinct narrative words indexed for _text: a generated narrative (every element of the
# resource in a table) of a big resource would otherwise add thousands of rows a write.
NARRATIVE_WORDS = 200
_MARKUP = re.compile(r"<[^>]*>")
_WORD = re.compile(r"\w+")


def narrative_words(resource: dict[str, Any]) -> list[str]:
    """The distinct normalised words of the resource's narrative, in order, for _text."""
    text = resource.get("text")
    div = text.get("div") if type(text) is dict else None
    if type(div) is not str:
        return []
    words = dict.fromkeys(text_words(html.unescape(_MARKUP.sub(" ", div))))
    return list(itertools.islice(words, NARRATIVE_WORDS))


def text_words(text: str) -> list[str]:
    """The normalised words of a text, as _text indexes and searches them."""
    return [word[:MAX_TEXT] for word in _WORD.findall(normalise_text(text))]


# --- Foldings: a looser second form of some string parameters' values ---------------------------


@dataclass(frozen=True, slots=True)
class Folding:
    """A second, looser form of a string parameter's values, matched by prefix beside the
    normalised form: what HAPI FHIR's phonetic encoders do for its string parameters.

    R4 search.html#string leaves matching beyond case and accents to the server; a context
    that knows how its people's names are written installs one (the citizens registry folds
    Azerbaijani and Russian spellings of a name together). The engine only stores and matches
    what it is given.
    """

    key: Callable[[str], str]  # the folded form of a stored value, from its exact text
    search_keys: Callable[[str], Sequence[str]]  # the folded prefixes a search value matches


_FOLDINGS: dict[str, dict[str, Folding]] = {}


def add_folding(resource_type: str, param: str, folding: Folding) -> None:
    """Store and match the string parameter's values folded as well (see Folding)."""
    _FOLDINGS.setdefault(resource_type, {})[param] = folding


def remove_folding(resource_type: str, param: str) -> None:
    """Stop folding a parameter's values (what add_folding did)."""
    _FOLDINGS.get(resource_type, {}).pop(param, None)


def folding(resource_type: str, param: str) -> Folding | None:
    """The folding of a string parameter, if one is installed."""
    foldings = _FOLDINGS.get(resource_type)
    return foldings.get(param) if foldings else None


def string_table_rows(
    resource_type: str, rows: list[tuple[str, str, str]]
) -> list[tuple[str, str, str, str | None]]:
    """String rows as idx_string holds them: (param, normalised, exact, folded or None).

    Folding keys are computed when rows are stored rather than in extract(), so the rows
    extract() returns are the same whatever foldings are installed.
    """
    foldings = _FOLDINGS.get(resource_type)
    if not foldings:
        return [(*row, None) for row in rows]
    stored = []
    for param, normalised, exact in rows:
        fold = foldings.get(param)
        key = fold.key(exact)[:MAX_TEXT] if fold is not None else None
        stored.append((param, normalised, exact, key or None))
    return stored


# --- Rows of each parameter type: (param code, values, rows to append to) ------------------------

_Rows = list[Any]


def _string_rows(code: str, values: list[Any], out: _Rows) -> None:
    texts: list[Any] = []
    for value in values:
        if type(value) is dict:  # HumanName or Address: each part is a value of its own
            for part, text in value.items():
                if part in _NAME_AND_ADDRESS_PARTS:
                    if type(text) is list:
                        texts += text
                    else:
                        texts.append(text)
        else:
            texts.append(value)
    for exact in texts:
        if type(exact) is str:
            normalised = normalise_text(exact)
            if normalised:  # blank values match nothing
                out.append((code, normalised[:MAX_TEXT], exact[:MAX_TEXT]))


def _add_token(code: str, system: Any, value: Any, text: Any, out: _Rows) -> None:
    system = system[:MAX_URI] if type(system) is str and system else None
    value = value[:MAX_TEXT] if type(value) is str and value else None
    text = normalise_text(text)[:MAX_TEXT] if type(text) is str else None
    if system or value or text:
        out.append((code, system, value, text or None))


def _token_rows(code: str, values: list[Any], out: _Rows, *, texts: bool = True) -> None:
    """Token rows; without texts, no display or text is read (a composite reads none)."""
    for value in values:
        if type(value) is str:
            _add_token(code, None, value, None, out)
        elif type(value) is bool:
            out.append((code, None, "true" if value else "false", None))
        elif type(value) is not dict:
            continue
        elif "coding" in value or "text" in value:  # CodeableConcept
            codings = value.get("coding")
            for coding in codings if type(codings) is list else ():
                if type(coding) is dict:
                    system, display = coding.get("system"), texts and coding.get("display")
                    _add_token(code, system, coding.get("code"), display, out)
            if texts:
                _add_token(code, None, None, value.get("text"), out)
        elif "value" in value:  # Identifier or ContactPoint
            system = value.get("system")
            if type(system) is str and system in _CONTACT_POINT_SYSTEMS:
                _add_token(code, None, value["value"], None, out)
            else:
                kind = value.get("type")
                text = kind.get("text") if texts and type(kind) is dict else None
                _add_token(code, system, value["value"], text, out)
        else:  # Coding, or an Identifier with a system only
            display = texts and value.get("display")
            _add_token(code, value.get("system"), value.get("code"), display, out)


def _date_rows(code: str, values: list[Any], out: _Rows) -> None:
    for value in values:
        if type(value) is str:
            span = date_range(value)
        elif type(value) is dict and ("start" in value or "end" in value):
            span = _period_range(value)
        elif type(value) is dict and ("event" in value or "repeat" in value):
            span = _timing_range(value)
        else:
            continue
        if span is not None:
            out.append((code, span[0], span[1]))


def date_range(value: Any) -> tuple[datetime, datetime] | None:
    """The closed UTC range a date, dateTime or instant covers at its precision."""
    return _text_date_range(value) if type(value) is str else None


@lru_cache(maxsize=65536)  # birth dates, and the days and times of a batch's events, recur
def _text_date_range(value: str) -> tuple[datetime, datetime] | None:
    match = _DATE_TIME.fullmatch(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    try:
        low = datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0),
            int(second or 0), micro, tzinfo=UTC,
        )  # fmt: skip
    except ValueError:  # no such date, such as 2020-02-30
        return None
    after = _end_of_precision(low, month, day, hour, second, fraction)
    high = after - _MICROSECOND if after is not None else DATE_MAX
    if zone and zone != "Z":
        offset = timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
        if zone[0] == "-":
            offset = -offset
        low, high = _shifted(low, -offset), _shifted(high, -offset)
    return low, high


def _end_of_precision(
    low: datetime, month: str | None, day: str | None, hour: str | None,
    second: str | None, fraction: str | None,
) -> datetime | None:  # fmt: skip
    """The first instant after the period a value's precision covers; None past year 9999."""
    try:
        if month is None:
            return low.replace(year=low.year + 1)
        if day is None:
            return (
                low.replace(year=low.year + 1, month=1)
                if low.month == 12
                else low.replace(month=low.month + 1)
            )
        if hour is None:
            return low + timedelta(days=1)
        if fraction:
            return low + timedelta(microseconds=10 ** (6 - min(len(fraction), 6)))
        return low + timedelta(seconds=1 if second else 60)
    except (ValueError, OverflowError):
        return None


def _shifted(moment: datetime, delta: timedelta) -> datetime:
    """moment + delta, clamped to DATE_MIN..DATE_MAX (a zone offset near year 1 or 9999)."""
    try:
        return moment + delta
    except OverflowError:
        return DATE_MAX if delta > timedelta(0) else DATE_MIN


def _period_range(period: dict[str, Any]) -> tuple[datetime, datetime] | None:
    start = date_range(period["start"]) if "start" in period else None
    end = date_range(period["end"]) if "end" in period else None
    if start is None and end is None:
        return None
    return (start[0] if start else DATE_MIN), (end[1] if end else DATE_MAX)


def _timing_range(timing: dict[str, Any]) -> tuple[datetime, datetime] | None:
    # Only the outer limits of a schedule count (search.html#date, Timing).
    events = timing.get("event")
    ranges = [date_range(event) for event in events] if type(events) is list else []
    repeat = timing.get("repeat")
    bounds = repeat.get("boundsPeriod") if type(repeat) is dict else None
    if type(bounds) is dict:
        ranges.append(_period_range(bounds))
    known = [pair for pair in ranges if pair is not None]
    if not known:
        return None
    return min(low for low, _ in known), max(high for _, high in known)


def _number(value: Any) -> Decimal | None:
    if type(value) is Decimal:
        return value
    if type(value) is int:
        return Decimal(value)
    return None


def _number_rows(code: str, values: list[Any], out: _Rows) -> None:
    for value in values:
        number = _number(value)
        if number is not None:
            out.append((code, number))


def _add_quantity(code: str, quantity: Any, out: _Rows) -> None:
    amount = _number(quantity.get("value")) if type(quantity) is dict else None
    if amount is None:
        return
    if "currency" in quantity:  # Money
        currency = quantity["currency"]
        out.append((code, amount, ISO_4217, currency if type(currency) is str else None, None))
        return
    system, unit_code, unit = quantity.get("system"), quantity.get("code"), quantity.get("unit")
    out.append(
        (
            code,
            amount,
            system[:MAX_URI] if type(system) is str else None,
            unit_code[:MAX_TEXT] if type(unit_code) is str else None,
            unit[:MAX_TEXT] if type(unit) is str else None,
        )
    )


def _quantity_rows(code: str, values: list[Any], out: _Rows) -> None:
    for value in values:
        if type(value) is dict and ("low" in value or "high" in value):  # Range
            _add_quantity(code, value.get("low"), out)
            _add_quantity(code, value.get("high"), out)
        else:
            _add_quantity(code, value, out)


def _uri_rows(code: str, values: list[Any], out: _Rows) -> None:
    for value in values:
        if type(value) is str and value:
            out.append((code, value[:MAX_URI]))


def _add_reference(code: str, reference: str, out: _Rows) -> None:
    if not reference or reference.startswith("#"):  # contained resources are not indexed
        return
    target = parse_literal_reference(reference)
    if target is None:  # urn:uuid:, urn:oid:, or a URL naming no FHIR resource
        out.append((code, None, None, reference[:MAX_URI]))
    else:
        url = reference[:MAX_URI] if "://" in reference else None
        out.append((code, target[0], target[1], url))


def _reference_rows(code: str, values: list[Any], out: _Rows) -> None:
    for value in values:
        if type(value) is str:  # canonical or uri: the whole value, |version included
            if "://" not in value and "|" not in value and "/" in value:
                # A relative canonical (OperationDefinition.base = OperationDefinition/x) names
                # a local resource: indexed as a reference to it, found by Type/id.
                _add_reference(code, value, out)
            elif value:
                out.append((code, None, None, value[:MAX_URI]))
        elif type(value) is dict:
            reference = value.get("reference")
            if type(reference) is str:
                _add_reference(code, reference, out)
            elif type(value.get("resourceType")) is str and type(value.get("id")) is str:
                out.append((code, value["resourceType"], value["id"], None))


# --- Composite rows ------------------------------------------------------------------------------
#
# A composite parameter matches when all its components match within one element of its
# expression (R4 search.html#composite): `component-code-value-quantity=8480-6$lt60` asks for
# one Observation.component whose code is 8480-6 and whose value is under 60. So each element
# gives rows of its own, one for each combination of its components' values, and a search
# matches one row, never two rows of different elements.
#
# The components matched exactly (token, reference, uri) are stored as one 64-bit hash, so that
# a search for them is one index probe whatever their number, as HAPI FHIR hashes its index
# values. A search part asks for one "constraint" of a value, such as "code 8480-6 in any
# system" or "http://loinc.org|8480-6"; a stored value satisfies several, and gets a row for
# each (each combination of them, when there are several exact components). The components
# compared by prefix or range (quantity, number, date, string) are stored in typed columns.
#
# Token :of-type (search.html#token) is the same shape: an Identifier's type coding and value
# within one Identifier, a row (param, hash of both) for each coding of the type.

_PART = "\x1f"  # between the texts of one constraint
_CONSTRAINTS = "\x1e"  # between the constraints of one row


def token_constraint(system: str | None, code: str | None) -> str:
    """What a token search part asks: `code` (system None: any system), `system|code` (system
    "" for no system), or `system|` (code None: any code of the system)."""
    if system is None:
        return f"c{_PART}{code}"
    if code is None:
        return f"s{_PART}{system}"
    return f"t{_PART}{system}{_PART}{code}"


def reference_constraint(target_type: str | None, target_id: str | None, url: str | None) -> str:
    """What a reference (or uri) search part asks: `id` (of any type), `Type/id`, or a URL."""
    if target_id is None:
        return f"u{_PART}{url}"
    return f"r{_PART}{target_type or ''}{_PART}{target_id}"


@lru_cache(maxsize=65536)  # the same codes (a LOINC code, an identifier type) recur
def composite_key(constraints: tuple[str, ...]) -> int:
    """The stored hash of exact constraints: a signed 64-bit BLAKE2b, stable across processes.

    The rows of every database hold these values: the function must never change without a
    migration that rebuilds idx_composite.
    """
    digest = hashlib.blake2b(_CONSTRAINTS.join(constraints).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def _token_constraints(row: tuple[Any, ...]) -> list[str]:
    _, system, code, _ = row
    found = [token_constraint(system, None)] if system else []
    if code:
        found += [token_constraint(None, code), token_constraint(system or "", code)]
    return found


def _reference_constraints(row: tuple[Any, ...]) -> list[str]:
    _, target_type, target_id, url = row
    found = [reference_constraint(None, None, url)] if url else []
    if target_id:
        found += [
            reference_constraint(None, target_id, None),
            reference_constraint(target_type, target_id, None),
        ]
    return found


def _uri_constraints(row: tuple[Any, ...]) -> list[str]:
    return [reference_constraint(None, None, row[1])]


_EXACT = {"token": _token_constraints, "reference": _reference_constraints, "uri": _uri_constraints}
# Where the ordered components go in a composite row, after param and hash.
COMPOSITE_COLUMNS = ("value", "system", "code", "unit", "value2", "low", "high", "text")
_NO_VALUES = (None,) * len(COMPOSITE_COLUMNS)


@dataclass(frozen=True, slots=True)
class CompositePart:
    """One component of a composite parameter: its parameter, and how it is stored."""

    param: SearchParam
    expression: str  # relative to the elements of the composite's expression
    columns: tuple[str, ...]  # where its values go; empty for an exact component (the hash)


# The columns a component compared by prefix or range may take, by its type, first free first.
_ORDERED_COLUMNS: dict[str, tuple[tuple[str, ...], ...]] = {
    "quantity": (("value", "system", "code", "unit"),),
    "number": (("value",), ("value2",)),
    "date": (("low", "high"),),
    "string": (("text",),),
}


def _ordered_columns(kind: str, taken: set[str]) -> tuple[str, ...]:
    for columns in _ORDERED_COLUMNS[kind]:
        if taken.isdisjoint(columns):
            taken.update(columns)
            return columns
    raise ValueError(f"no columns left for another {kind} component")


@cache
def composite_parts(resource_type: str, code: str) -> tuple[CompositePart, ...]:
    """The components of a composite parameter of resource_type, in the order of its value."""
    parts = []
    taken: set[str] = set()
    for url, expression in params_for(resource_type)[code].components:
        component = param_by_url(url)
        if component is None:
            raise ValueError(f"{code}: unknown component {url}")
        columns = () if component.type in _EXACT else _ordered_columns(component.type, taken)
        parts.append(CompositePart(component, expression, columns))
    return tuple(parts)


@cache
def composite_sources(resource_type: str, code: str) -> tuple[str, ...]:
    """The composite parameters whose rows hold the values of code: code itself, or the others
    that its branches are.

    `combo-code-value-quantity` (`Observation | Observation.component`, code and value) is
    `code-value-quantity` (`Observation`) and `component-code-value-quantity`
    (`Observation.component`) together: its rows would repeat theirs, so it is searched in
    theirs and has none of its own.
    """

    def signatures(other: str) -> list[tuple[Any, ...]]:
        parts = tuple((p.param.type, p.expression) for p in composite_parts(resource_type, other))
        expression = params_for(resource_type)[other].expression
        return [(branch.syntax, parts) for branch in compile_branches(expression, resource_type)]

    alone = {}
    for other, param in params_for(resource_type).items():
        if param.type == "composite" and other != code and len(found := signatures(other)) == 1:
            alone[found[0]] = other
    own = signatures(code)
    if len(own) > 1 and all(signature in alone for signature in own):
        return tuple(alone[signature] for signature in own)
    return (code,)


def composite_elements(resource: dict[str, Any], code: str) -> list[list[list[Any]]]:
    """For each element of a composite parameter in the resource that has every component, the
    index rows of each component: those of its parameter's type, without the texts of tokens
    (no composite searches them)."""
    return _composite_extractor(resource["resourceType"], code)[0].path(resource)


@cache
def _composite_extractor(
    resource_type: str, code: str
) -> "tuple[_Extractor, frozenset[str] | None]":
    """The extractor of a composite, and the keys of the resource it needs (one of them)."""
    parts = composite_parts(resource_type, code)
    builders = [
        partial(_token_rows, texts=False)
        if part.param.type == "token"
        else _ROW_BUILDERS[part.param.type]
        for part in parts
    ]
    branches = []
    keys: frozenset[str] | None = frozenset()
    for branch in compile_branches(params_for(resource_type)[code].expression, resource_type):
        # The components last first: the value of code-value-quantity is what an Observation
        # is likely to lack (it has one value[x], and there are four code-value-x composites).
        components = [
            compile_relative(part.expression, resource_type, branch.type_name)
            for part in reversed(parts)
        ]
        branches.append((branch.evaluate, [component.evaluate for component in components]))
        # An element that is the resource itself needs the keys of its last component.
        needed = branch.entry_keys if branch.entry_keys is not None else components[0].entry_keys
        keys = None if keys is None or needed is None else keys | needed

    def elements(resource: dict[str, Any]) -> list[list[list[Any]]]:
        found = []
        root = [resource]
        for select, components in branches:
            for element in select(root, resource):
                focus, selected = [element], []
                for component in components:
                    values = component(focus, resource)
                    if not values:
                        break  # an element without every component matches no search
                    selected.append(values)
                else:
                    rows: list[_Rows] = []
                    for values, builder in zip(reversed(selected), builders, strict=True):
                        rows.append([])
                        builder(code, values, rows[-1])
                        if not rows[-1]:
                            break  # a CodeableConcept with a text only, say: no code to match
                    else:
                        found.append(rows)
        return found

    return _Extractor(code, "composite", elements, _composite_adder(parts)), keys


@lru_cache(maxsize=65536)
def _one_part_keys(constraints_of: Callable[[Any], list[str]], row: Any) -> tuple[int, ...]:
    return tuple(composite_key((constraint,)) for constraint in constraints_of(row))


def _composite_adder(parts: Sequence[CompositePart]) -> Callable[[str, list[Any], _Rows], None]:
    """Rows from the component rows of each element (see composite_elements)."""
    exact = [_EXACT[part.param.type] for part in parts if not part.columns]
    is_exact = [not part.columns for part in parts]
    # An ordered component's row holds its values in the order of its columns, which follow
    # each other in COMPOSITE_COLUMNS: (value, system, code, unit) of a quantity, (low, high) of a date;
    # a string row's exact text, after its normalised one, is not kept.
    spans = [
        (COMPOSITE_COLUMNS.index(part.columns[0]), len(part.columns))
        for part in parts
        if part.columns
    ]

    def add(code: str, elements: list[Any], out: _Rows) -> None:
        for element in elements:
            exact_rows = [rows for rows, flag in zip(element, is_exact, strict=True) if flag]
            if len(exact_rows) == 1:  # most composites: the keys of each row, remembered
                keys = [key for row in exact_rows[0] for key in _one_part_keys(exact[0], row)]
            else:
                constraints = [
                    [c for row in rows for c in constraints_of(row)]
                    for rows, constraints_of in zip(exact_rows, exact, strict=True)
                ]
                keys = [composite_key(chosen) for chosen in itertools.product(*constraints)]
            if not keys:
                continue
            ordered = [rows for rows, flag in zip(element, is_exact, strict=True) if not flag]
            for chosen in itertools.product(*ordered):
                values = list(_NO_VALUES)
                for (offset, width), row in zip(spans, chosen, strict=True):
                    values[offset : offset + width] = row[1 : 1 + width]
                out += [(code, key, *values) for key in keys]

    return add


def _of_type_rows(code: str, values: list[Any], out: _Rows) -> None:
    """Token :of-type rows: each coding of an Identifier's type with the Identifier's value."""
    for value in values:
        kind = value.get("type") if type(value) is dict else None
        codings = kind.get("coding") if type(kind) is dict else None
        if type(codings) is not list:
            continue
        identifier = value.get("value")
        if type(identifier) is not str or not identifier:
            continue
        value_constraint = token_constraint(None, identifier[:MAX_TEXT])
        for coding in codings:
            system = coding.get("system") if type(coding) is dict else None
            type_code = coding.get("code") if type(coding) is dict else None
            if type(type_code) is str and type_code:
                system = system[:MAX_URI] if type(system) is str else ""
                type_constraint = token_constraint(system, type_code[:MAX_TEXT])
                key = composite_key((type_constraint, value_constraint))
                out.append((code, key, *_NO_VALUES))


@cache
def of_type_params(resource_type: str) -> frozenset[str]:
    """The token parameters of resource_type whose values are Identifiers: those :of-type takes."""
    found = set()
    for code, param in params_for(resource_type).items():
        if param.type != "token":
            continue
        try:
            branches = compile_branches(param.expression, resource_type)
        except UnsupportedExpression:  # evaluated by fhirpathpy: its types are not known here
            continue
        if branches and all(branch.type_name == "Identifier" for branch in branches):
            found.add(code)
    return frozenset(found)


# --- Extraction ----------------------------------------------------------------------------------

_ROW_BUILDERS: dict[str, Callable[[str, list[Any], _Rows], None]] = {
    "string": _string_rows,
    "token": _token_rows,
    "date": _date_rows,
    "number": _number_rows,
    "quantity": _quantity_rows,
    "uri": _uri_rows,
    "reference": _reference_rows,
}


@dataclass(frozen=True, slots=True)
class _Extractor:
    code: str
    kind: str  # the parameter type, which is also the IndexRows field its rows go to
    path: Path
    add_rows: Callable[[str, list[Any], _Rows], None]


@dataclass(frozen=True, slots=True)
class _Plan:
    """The extractors of a resource type, by the top-level keys they need.

    A resource holds few of the keys its type's parameters read (the official Observation
    example: those of 10 parameters out of 34), so extractors are looked up from the resource's
    keys rather than all called.
    """

    by_key: dict[str, tuple[_Extractor, ...]]  # extractors needing this one key
    by_any_key: tuple[tuple[frozenset[str], _Extractor], ...]  # needing one of several keys
    always: tuple[_Extractor, ...]  # extractors that may select values without any key


@cache
def _plan(resource_type: str) -> _Plan:
    """Every indexed parameter of a resource type, compiled on first use of the type."""
    by_key: dict[str, list[_Extractor]] = {}
    by_any_key: list[tuple[frozenset[str], _Extractor]] = []
    always: list[_Extractor] = []

    def add(extractor: _Extractor, keys: frozenset[str] | None) -> None:
        if keys is None:
            always.append(extractor)
        elif len(keys) == 1:
            by_key.setdefault(next(iter(keys)), []).append(extractor)
        elif keys:
            by_any_key.append((keys, extractor))

    identifiers = of_type_params(resource_type)
    for code, param in params_for(resource_type).items():
        if code in _NOT_INDEXED:
            continue
        if param.type == "composite":
            if composite_sources(resource_type, code) == (code,):  # else searched in others'
                add(*_composite_extractor(resource_type, code))
        elif param.type in _ROW_BUILDERS:
            path, keys = compile_path_with_entry_keys(param.expression, resource_type)
            add(_Extractor(code, param.type, path, _ROW_BUILDERS[param.type]), keys)
            if code in identifiers:
                add(_Extractor(code, "composite", path, _of_type_rows), keys)
    return _Plan(
        {key: tuple(extractors) for key, extractors in by_key.items()},
        tuple(by_any_key),
        tuple(always),
    )


def extract(resource: dict[str, Any]) -> IndexRows:
    """The index rows of every search parameter of the resource's type."""
    rows = IndexRows()
    resource_type = resource.get("resourceType")
    if type(resource_type) is not str or resource_type not in all_resource_types():
        return rows  # not a resource: nothing to index
    plan = _plan(resource_type)
    extractors = [*plan.always]
    for key in resource:
        extractors += plan.by_key.get(key, ())
    present = resource.keys()
    extractors += (extractor for keys, extractor in plan.by_any_key if not present.isdisjoint(keys))
    for extractor in extractors:
        values = extractor.path(resource)
        if values:
            extractor.add_rows(extractor.code, values, getattr(rows, extractor.kind))
    if "text" in resource:
        rows.string += (("_text", word, word) for word in narrative_words(resource))
    for kind in KINDS:
        out = getattr(rows, kind)
        if len(out) > 1:
            out[:] = dict.fromkeys(out)
    return rows
