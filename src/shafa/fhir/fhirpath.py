"""A compiler for the FHIRPath subset of the FHIR R4 search parameters, into Python closures.

A general FHIRPath engine takes ~40 us an expression; search indexing evaluates ~40 expressions
on every write, so the expressions of the official SearchParameter bundle are compiled instead.
The subset is what that bundle uses (FHIRPath N1, hl7.org/fhirpath):

* paths `A.b.c`, the indexer `[n]`, `%resource`, string and boolean literals;
* union `|`, `=`, `!=`, `and` (three-valued, FHIRPath §6.5);
* choice elements (FHIR R4 §2.6.2, json.html#choice): `Observation.value` reads any
  `value[x]` key, `Observation.value as Quantity`, `.as(Quantity)` and `.ofType(Quantity)` read
  `valueQuantity` only;
* `where(criteria)`, `exists()`, and `resolve() is Patient`, decided by the type a literal
  reference names (`Patient/1`, `http://server/fhir/Patient/1`), as HAPI FHIR does since the
  target itself is not at hand while indexing.

Choice elements and element types come from the bundled FHIR R4 JSON Schema. Anything outside
the subset is evaluated by fhirpathpy instead (compiled once), so no expression is dropped;
`fallback_expressions()` lists those.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

from shafa.fhir.resource_types import RESOURCE_TYPES

log = logging.getLogger(__name__)

Path = Callable[[dict[str, Any]], list[Any]]
# A compiled sub-expression: (focus collection, root resource) -> result collection. Its results
# may hold None where a JSON array of primitives has only an extension (json.html#primitive).
Evaluator = Callable[[list[Any], dict[str, Any]], list[Any]]

# The types a FHIRPath `Resource.x` / `DomainResource.x` path also applies to (FHIR R4 §2.1).
_ABSTRACT_RESOURCE_TYPES = frozenset({"Resource", "DomainResource"})
# Profiles of Quantity that are types of their own in the schema (R4 datatypes.html#quantity):
# `as Quantity` keeps them too, since FHIRPath's `as` accepts subtypes.
_QUANTITY_PROFILES = frozenset(
    {"Age", "Count", "Distance", "Duration", "MoneyQuantity", "SimpleQuantity"}
)

# A literal reference, relative or absolute (R4 references.html#literal, its regex), with an
# optional version; the type is checked against the resource types afterwards.
_LITERAL_REFERENCE = re.compile(
    r"(?:https?://(?:[A-Za-z0-9\-\\.:%$]*/)+)?"
    r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?"
)


@lru_cache(maxsize=16384)  # the same targets (a patient, a practitioner) recur in every write
def parse_literal_reference(reference: str) -> tuple[str, str] | None:
    """The (resource type, id) a literal reference names, or None if it names none."""
    match = _LITERAL_REFERENCE.fullmatch(reference)
    if match is None or match.group(1) not in RESOURCE_TYPES:
        return None
    return match.group(1), match.group(2)


class UnsupportedExpression(ValueError):
    """The expression is outside the compiled subset (it is handed to fhirpathpy)."""


# --- Parsing -------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^'\\]|\\.)*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<identifier>[A-Za-z_][A-Za-z0-9_]*)|(?P<variable>%[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<symbol>!=|[.|()\[\]=,]))"
)
_STRING_ESCAPES = {"'": "'", '"': '"', "`": "`", "\\": "\\", "/": "/", "n": "\n", "t": "\t"}


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class _Name:
    """An identifier that starts a path: a type name or a member of the focus."""

    name: str


@dataclass(frozen=True, slots=True)
class _Member:
    source: _Node
    name: str


@dataclass(frozen=True, slots=True)
class _Call:
    source: _Node | None  # None: called on the focus, as in `where(resolve() is Patient)`
    name: str
    arguments: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Indexer:
    source: _Node
    index: int


@dataclass(frozen=True, slots=True)
class _TypeOperator:
    operator: str  # "as" or "is"
    operand: _Node
    type_name: str


@dataclass(frozen=True, slots=True)
class _Binary:
    operator: str  # "|", "=", "!=" or "and"
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Literal:
    value: str | bool


@dataclass(frozen=True, slots=True)
class _Variable:
    name: str


_Node = _Name | _Member | _Call | _Indexer | _TypeOperator | _Binary | _Literal | _Variable


def _tokenize(expression: str) -> list[_Token]:
    tokens = []
    position = 0
    end = len(expression.rstrip())
    while position < end:
        match = _TOKEN.match(expression, position)
        if match is None or match.end() == position:
            raise UnsupportedExpression(f"unexpected text at {position}: {expression[position:]!r}")
        kind = str(match.lastgroup)
        tokens.append(_Token(kind, match.group(kind)))
        position = match.end()
    return tokens


class _Parser:
    """Recursive descent over FHIRPath's grammar, by its precedence (FHIRPath §10)."""

    def __init__(self, expression: str) -> None:
        self.tokens = _tokenize(expression)
        self.position = 0

    def parse(self) -> _Node:
        node = self._and()
        if self.position != len(self.tokens):
            raise UnsupportedExpression(f"unexpected {self.tokens[self.position].text!r}")
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _accept(self, *texts: str) -> str | None:
        token = self._peek()
        if token is not None and token.kind in ("symbol", "identifier") and token.text in texts:
            self.position += 1
            return token.text
        return None

    def _expect(self, text: str) -> None:
        if self._accept(text) is None:
            raise UnsupportedExpression(f"expected {text!r}")

    def _identifier(self) -> str:
        token = self._peek()
        if token is None or token.kind != "identifier":
            raise UnsupportedExpression("expected an identifier")
        self.position += 1
        return token.text

    def _and(self) -> _Node:
        node = self._equality()
        while self._accept("and"):
            node = _Binary("and", node, self._equality())
        return node

    def _equality(self) -> _Node:
        node = self._union()
        while operator := self._accept("=", "!="):
            node = _Binary(operator, node, self._union())
        return node

    def _union(self) -> _Node:
        node = self._type_expression()
        while self._accept("|"):
            node = _Binary("|", node, self._type_expression())
        return node

    def _type_expression(self) -> _Node:
        node = self._postfix()
        while operator := self._accept("as", "is"):
            node = _TypeOperator(operator, node, self._identifier())
        return node

    def _postfix(self) -> _Node:
        node = self._term()
        while True:
            if self._accept("."):
                node = self._invocation(node)
            elif self._accept("["):
                token = self._peek()
                if token is None or token.kind != "number" or "." in token.text:
                    raise UnsupportedExpression("only integer indexers are supported")
                self.position += 1
                self._expect("]")
                node = _Indexer(node, int(token.text))
            else:
                return node

    def _term(self) -> _Node:
        token = self._peek()
        if token is None:
            raise UnsupportedExpression("unexpected end")
        if self._accept("("):
            node = self._and()
            self._expect(")")
            return node
        if token.kind == "string":
            self.position += 1
            return _Literal(re.sub(r"\\(.)", _unescape, token.text[1:-1]))
        if token.kind == "variable":
            self.position += 1
            return _Variable(token.text[1:])
        if token.kind == "identifier" and token.text in ("true", "false"):
            self.position += 1
            return _Literal(token.text == "true")
        return self._invocation(None)

    def _invocation(self, source: _Node | None) -> _Node:
        name = self._identifier()
        if self._accept("("):
            arguments: list[_Node] = []
            if not self._accept(")"):
                arguments.append(self._and())
                while self._accept(","):
                    arguments.append(self._and())
                self._expect(")")
            return _Call(source, name, tuple(arguments))
        return _Name(name) if source is None else _Member(source, name)


def _unescape(match: re.Match[str]) -> str:
    return _STRING_ESCAPES.get(match.group(1), match.group(1))


def _leftmost_name(node: _Node) -> str | None:
    """The identifier a path starts with (`Patient` in `(Patient.x as Y).z`), if any."""
    while True:
        if isinstance(node, _Name):
            return node.name
        if isinstance(node, _Member | _Indexer):
            node = node.source
        elif isinstance(node, _TypeOperator):
            node = node.operand
        elif isinstance(node, _Call) and node.source is not None:
            node = node.source
        else:
            return None


def _union_branches(node: _Node) -> list[_Node]:
    if isinstance(node, _Binary) and node.operator == "|":
        return _union_branches(node.left) + _union_branches(node.right)
    return [node]


# --- The element model ---------------------------------------------------------------------------


@cache
def _element_types() -> dict[str, dict[str, str]]:
    """For every FHIR type, its JSON keys and their type names, from the R4 JSON Schema."""
    raw = resources.files("shafa.fhir").joinpath("data/fhir.schema.json.gz").read_bytes()
    definitions = json.loads(gzip.decompress(raw))["definitions"]
    return {
        type_name: {
            key: _schema_type(spec)
            for key, spec in (definition.get("properties") or {}).items()
            if not key.startswith("_")
        }
        for type_name, definition in definitions.items()
    }


def _schema_type(spec: dict[str, Any]) -> str:
    reference = spec.get("$ref") or (spec.get("items") or {}).get("$ref")
    if reference:
        return str(reference).rsplit("/", 1)[-1]
    if "enum" in spec:
        return "code"
    return str(spec.get("type", "string"))


def _upper_first(type_name: str) -> str:
    return type_name[:1].upper() + type_name[1:]


@dataclass(frozen=True, slots=True)
class _Element:
    """Where an element lives in JSON: one key, or one key a type for a choice element."""

    keys: tuple[str, ...]
    choice_types: tuple[str, ...]  # the [x] suffixes, parallel to keys; empty if not a choice
    type_name: str | None  # None when unknown or a choice


def _element(owner_type: str | None, name: str) -> _Element:
    types = _element_types()
    elements = types.get(owner_type or "")
    if elements is None or name in elements:
        return _Element((name,), (), elements[name] if elements else None)
    suffixes = [
        key[len(name) :]
        for key in elements
        if key.startswith(name) and key[len(name) : len(name) + 1].isupper()
    ]
    # A key is a choice of `name` only if its suffix is a type (`codeFilter` is no `code[x]`).
    suffixes = [s for s in suffixes if s in types or s[:1].lower() + s[1:] in types]
    if not suffixes:
        return _Element((name,), (), None)
    return _Element(tuple(name + s for s in suffixes), tuple(suffixes), None)


def _is_type(actual: str, wanted: str) -> bool:
    """Whether a value of FHIR type `actual` passes FHIRPath's `as wanted` (§6.3)."""
    actual, wanted = _upper_first(actual), _upper_first(wanted)
    return actual == wanted or (wanted == "Quantity" and actual in _QUANTITY_PROFILES)


# --- Compilation ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Compiled:
    evaluate: Evaluator
    type_name: str | None  # the FHIR type of the result when known: resolves choice elements
    always_empty: bool = False  # e.g. `Account.x` compiled for Patient
    # The keys of each step when the expression only walks members from the focus (most do):
    # such walks are fused into one loop, see _walker.
    walk: tuple[tuple[str, ...], ...] | None = None
    # The keys of the focus without which the result is empty; None when not so bounded.
    entry_keys: frozenset[str] | None = None


def _nothing(focus: list[Any], root: dict[str, Any]) -> list[Any]:
    return []


_EMPTY = _Compiled(_nothing, None, always_empty=True, entry_keys=frozenset())


def _walker(steps: tuple[tuple[str, ...], ...]) -> Evaluator:
    """Member steps from the focus, arrays flattened (FHIRPath §5.1); a step may read several
    keys, those of a choice element."""

    def walk(focus: list[Any], root: dict[str, Any]) -> list[Any]:
        nodes = focus
        for keys in steps:
            out: list[Any] = []
            for node in nodes:
                if type(node) is dict:
                    for key in keys:
                        value = node.get(key)
                        if value is not None:
                            if type(value) is list:
                                out += value
                            else:
                                out.append(value)
            if not out:
                return out
            nodes = out
        return nodes

    return walk


def _distinct(values: list[Any]) -> list[Any]:
    # Strings and numbers through a dict, which keeps the first of equal items as the equality
    # loop does (equal values hash alike); dicts, which do not hash, by equality.
    try:
        return list(dict.fromkeys(values))
    except TypeError:
        return _distinct_by_equality(values)


def _distinct_by_equality(values: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in values:
        if item not in out:
            out.append(item)
    return out


def _then(source: Evaluator, step: Evaluator) -> Evaluator:
    def evaluate(focus: list[Any], root: dict[str, Any]) -> list[Any]:
        nodes = source(focus, root)
        return step(nodes, root) if nodes else nodes

    return evaluate


def _focus(focus: list[Any], root: dict[str, Any]) -> list[Any]:
    return focus


def _focus_of(type_name: str | None) -> _Compiled:
    """The focus itself: the start of a walk."""
    return _Compiled(_focus, type_name, walk=())


def _truth(collection: list[Any]) -> bool | None:
    """A collection as a boolean (FHIRPath §4.5): empty is unknown, one item is itself or true."""
    if len(collection) != 1:
        return None
    (item,) = collection
    return item if type(item) is bool else True


def _reference_type(item: Any) -> str | None:
    """The type `resolve()` would return for a Reference or canonical, by its literal text."""
    reference = item.get("reference") if type(item) is dict else item
    if type(reference) is not str:
        return None
    target = parse_literal_reference(reference)
    return target[0] if target else None


def _resolved_type(criteria: _Node) -> str | None:
    """T when where() criteria are `resolve() is T` (a fourth of the R4 bundle's where())."""
    if (
        isinstance(criteria, _TypeOperator)
        and criteria.operator == "is"
        and criteria.operand == _Call(None, "resolve", ())
    ):
        return criteria.type_name
    return None


class _Compiler:
    def __init__(self, resource_type: str) -> None:
        self.resource_type = resource_type

    def compile(self, node: _Node, focus_type: str | None) -> _Compiled:
        if isinstance(node, _Name):
            return self._name(node.name, focus_type)
        if isinstance(node, _Member):
            return self._member(node.source, node.name, focus_type, None)
        if isinstance(node, _Indexer):
            return self._indexer(node, focus_type)
        if isinstance(node, _TypeOperator):
            if node.operator == "as":
                return self._as(node.operand, node.type_name, focus_type)
            raise UnsupportedExpression("'is' is supported in where(resolve() is Type) only")
        if isinstance(node, _Call):
            return self._call(node, focus_type)
        if isinstance(node, _Binary):
            if node.operator == "|":
                return self._union(node, focus_type)
            return self._logic(node, focus_type)
        if isinstance(node, _Literal):
            value = node.value
            return _Compiled(
                lambda focus, root: [value], "boolean" if isinstance(value, bool) else "string"
            )
        if node.name in ("resource", "rootResource", "context"):
            # The compiled paths always start at the resource, so all three are the root.
            return _Compiled(lambda focus, root: [root], self.resource_type)
        raise UnsupportedExpression(f"unknown variable %{node.name}")

    def _name(self, name: str, focus_type: str | None) -> _Compiled:
        if name[:1].isupper():
            # A type name starting a path filters the focus by type (FHIRPath §5.1).
            if name == focus_type or (
                name in _ABSTRACT_RESOURCE_TYPES and focus_type == self.resource_type
            ):
                return _focus_of(focus_type)
            if name in RESOURCE_TYPES or name in _ABSTRACT_RESOURCE_TYPES:
                return _EMPTY
        return self._member(None, name, focus_type, None)

    def _member(
        self, source: _Node | None, name: str, focus_type: str | None, only_type: str | None
    ) -> _Compiled:
        """`source.name`; with only_type, `(source.name as only_type)` on a choice element."""
        parent = _focus_of(focus_type) if source is None else self.compile(source, focus_type)
        if parent.always_empty:
            return _EMPTY
        element = _element(parent.type_name, name)
        keys, type_name = element.keys, element.type_name
        if only_type is not None:
            if not element.choice_types:
                raise UnsupportedExpression(f"{name} is not a choice element")
            keys = tuple(
                key
                for key, suffix in zip(element.keys, element.choice_types, strict=True)
                if _is_type(suffix, only_type)
            )
            if not keys:
                return _EMPTY
            type_name = only_type
        entry_keys = frozenset(keys) if parent.walk == () else parent.entry_keys
        if parent.walk is not None:
            walk = (*parent.walk, keys)
            return _Compiled(_walker(walk), type_name, walk=walk, entry_keys=entry_keys)
        return _Compiled(_then(parent.evaluate, _walker((keys,))), type_name, entry_keys=entry_keys)

    def _as(self, operand: _Node | None, type_name: str, focus_type: str | None) -> _Compiled:
        """`operand as type_name` (None: the focus); on a choice element, reads one key only."""
        if isinstance(operand, _Member | _Name):
            source = operand.source if isinstance(operand, _Member) else None
            parent = _focus_of(focus_type) if source is None else self.compile(source, focus_type)
            if _element(parent.type_name, operand.name).choice_types:
                return self._member(source, operand.name, focus_type, type_name)
        compiled = _focus_of(focus_type) if operand is None else self.compile(operand, focus_type)
        if compiled.always_empty:
            return _EMPTY
        if compiled.type_name is None:
            raise UnsupportedExpression(f"cannot tell the type of {operand} for 'as {type_name}'")
        return compiled if _is_type(compiled.type_name, type_name) else _EMPTY

    def _indexer(self, node: _Indexer, focus_type: str | None) -> _Compiled:
        source = self.compile(node.source, focus_type)
        if source.always_empty:
            return _EMPTY
        index = node.index
        return _Compiled(
            _then(source.evaluate, lambda nodes, root: nodes[index : index + 1]),
            source.type_name,
            entry_keys=source.entry_keys,
        )

    def _call(self, node: _Call, focus_type: str | None) -> _Compiled:
        if node.name in ("as", "ofType"):
            if len(node.arguments) != 1 or not isinstance(node.arguments[0], _Name):
                raise UnsupportedExpression(f"{node.name}() takes one type name")
            return self._as(node.source, node.arguments[0].name, focus_type)
        source = (
            _focus_of(focus_type) if node.source is None else self.compile(node.source, focus_type)
        )
        if node.name == "where" and len(node.arguments) == 1:
            if source.always_empty:
                return _EMPTY
            wanted = _resolved_type(node.arguments[0])
            member_test = self._member_equals_literal(node.arguments[0], source.type_name)
            if wanted is not None:

                def where(nodes: list[Any], root: dict[str, Any]) -> list[Any]:
                    return [item for item in nodes if _reference_type(item) == wanted]

            elif member_test is not None:
                key, literal = member_test
                # As FHIRPath's equality of the one-item collections `key` and `literal`.
                accepted = (literal, [literal])

                def where(nodes: list[Any], root: dict[str, Any]) -> list[Any]:
                    return [
                        item for item in nodes if type(item) is dict and item.get(key) in accepted
                    ]

            else:
                criteria = self.compile(node.arguments[0], source.type_name).evaluate

                def where(nodes: list[Any], root: dict[str, Any]) -> list[Any]:
                    return [item for item in nodes if criteria([item], root) == [True]]

            return _Compiled(
                _then(source.evaluate, where), source.type_name, entry_keys=source.entry_keys
            )
        if node.name == "exists" and not node.arguments:
            evaluate = source.evaluate
            return _Compiled(lambda focus, root: [bool(evaluate(focus, root))], "boolean")
        raise UnsupportedExpression(f"function {node.name}() with {len(node.arguments)} arguments")

    def _member_equals_literal(
        self, criteria: _Node, focus_type: str | None
    ) -> tuple[str, str] | None:
        """(key, text) when where() criteria are `key = 'text'`, as `system='email'` (the other
        three fourths of the R4 bundle's where()), key being no choice element."""
        if not (
            isinstance(criteria, _Binary)
            and criteria.operator == "="
            and isinstance(criteria.left, _Name)
            and isinstance(criteria.right, _Literal)
            and isinstance(criteria.right.value, str)
        ):
            return None
        key = criteria.left.name
        if key[:1].isupper() or _element(focus_type, key).choice_types:
            return None
        return key, criteria.right.value

    def _union(self, node: _Binary, focus_type: str | None) -> _Compiled:
        branches = [
            compiled
            for branch in _union_branches(node)
            if not self._names_another_type(branch)
            and not (compiled := self.compile(branch, focus_type)).always_empty
        ]
        if not branches:
            return _EMPTY
        types = {branch.type_name for branch in branches}
        type_name = types.pop() if len(types) == 1 else None
        entry_keys: frozenset[str] | None = frozenset()
        for branch in branches:
            if entry_keys is not None:
                entry_keys = None if branch.entry_keys is None else entry_keys | branch.entry_keys
        # FHIRPath §6.5: the items of all sides with duplicates removed, even when only one side
        # is left for this resource type (`Patient.name.given | Practitioner.name.given`).
        if len(branches) == 1:
            only = branches[0].evaluate

            def distinct(focus: list[Any], root: dict[str, Any]) -> list[Any]:
                values = only(focus, root)
                return values if len(values) < 2 else _distinct(values)

            return _Compiled(distinct, type_name, entry_keys=entry_keys)
        evaluators = [branch.evaluate for branch in branches]

        def union(focus: list[Any], root: dict[str, Any]) -> list[Any]:
            return _distinct([item for evaluate in evaluators for item in evaluate(focus, root)])

        return _Compiled(union, type_name, entry_keys=entry_keys)

    def _names_another_type(self, branch: _Node) -> bool:
        """Whether a union branch starts with another resource type, so never applies here.

        Shared expressions such as `Account.subject | Patient.link.other` may hold branches
        this compiler cannot handle for types it is not compiling for; skipping them before
        compiling is what keeps such an expression out of the fallback.
        """
        name = _leftmost_name(branch)
        return (
            name is not None
            and name != self.resource_type
            and name not in _ABSTRACT_RESOURCE_TYPES
            and name in RESOURCE_TYPES
        )

    def _logic(self, node: _Binary, focus_type: str | None) -> _Compiled:
        left = self.compile(node.left, focus_type).evaluate
        right = self.compile(node.right, focus_type).evaluate
        if node.operator == "and":

            def conjunction(focus: list[Any], root: dict[str, Any]) -> list[Any]:
                # Three-valued logic (FHIRPath §6.5.1): false wins over unknown.
                a, b = _truth(left(focus, root)), _truth(right(focus, root))
                if a is False or b is False:
                    return [False]
                return [True] if a and b else []

            return _Compiled(conjunction, "boolean")
        negate = node.operator == "!="

        def equality(focus: list[Any], root: dict[str, Any]) -> list[Any]:
            # FHIRPath §6.1: empty if either side is empty, else item-wise equality.
            a, b = left(focus, root), right(focus, root)
            if not a or not b:
                return []
            return [(a == b) != negate]

        return _Compiled(equality, "boolean")


# --- Entry points --------------------------------------------------------------------------------

_fallbacks: dict[tuple[str, str], str] = {}


def compile_path(expression: str, resource_type: str) -> Path:
    """Compile a FHIRPath expression to a function of a resource of resource_type.

    The function returns the values the expression selects, as FHIRPath would on that resource
    (primitive values as they are in the JSON, complex ones as dicts). Union branches that start
    with another resource type are dropped at compile time, as HAPI FHIR does. Expressions
    outside the subset fall back to fhirpathpy.
    """
    return compile_path_with_entry_keys(expression, resource_type)[0]


def compile_path_with_entry_keys(
    expression: str, resource_type: str
) -> tuple[Path, frozenset[str] | None]:
    """compile_path, and the top-level keys without which the path selects nothing.

    The keys are None when there are no such keys (`X.exists()` is false on any resource), so
    a caller may skip a path whose keys are all absent without calling it.
    """
    try:
        compiled = _Compiler(resource_type).compile(_Parser(expression).parse(), resource_type)
    except UnsupportedExpression as reason:
        _fallbacks[(resource_type, expression)] = str(reason)
        # A warning: each such expression costs ~40 us a resource instead of ~1.
        log.warning(
            "FHIRPath %r for %s falls back to fhirpathpy: %s", expression, resource_type, reason
        )
        return _fhirpathpy_path(expression), None
    evaluate = compiled.evaluate

    def path(resource: dict[str, Any]) -> list[Any]:
        values = evaluate([resource], resource)
        # JSON arrays of primitives hold null where only an extension is present (json.html).
        return [value for value in values if value is not None] if None in values else values

    return path, compiled.entry_keys


@dataclass(frozen=True, slots=True)
class CompiledPath:
    """A compiled path evaluated from a focus: what it selects, and facts known about it."""

    evaluate: Evaluator
    type_name: str | None  # the FHIR type selected, e.g. `Observation_Component`; None if unknown
    entry_keys: frozenset[str] | None  # keys of the focus it needs, as compile_path's
    syntax: Hashable  # the parsed path: equal for equal paths


def compile_branches(expression: str, resource_type: str) -> tuple[CompiledPath, ...]:
    """The union branches of an expression that apply to resource_type, each compiled apart.

    A composite parameter's components are paths from the elements its expression selects
    (R4 search.html#composite), and `Observation | Observation.component` selects elements of
    two types, so each branch's type must be known to compile the components for it. Raises
    UnsupportedExpression outside the compiled subset (there is no fallback here).
    """
    compiler = _Compiler(resource_type)
    branches = []
    for node in _union_branches(_Parser(expression).parse()):
        if compiler._names_another_type(node):
            continue
        compiled = compiler.compile(node, resource_type)
        if not compiled.always_empty:
            branches.append(
                CompiledPath(compiled.evaluate, compiled.type_name, compiled.entry_keys, node)
            )
    return tuple(branches)


def compile_relative(expression: str, resource_type: str, focus_type: str | None) -> CompiledPath:
    """An expression evaluated from an element of focus_type; `%resource` is still the resource.

    Raises UnsupportedExpression outside the compiled subset.
    """
    node = _Parser(expression).parse()
    compiled = _Compiler(resource_type).compile(node, focus_type)
    return CompiledPath(compiled.evaluate, compiled.type_name, compiled.entry_keys, node)


def fallback_expressions() -> dict[tuple[str, str], str]:
    """The (resource type, expression) pairs compiled so far that fell back, with the reason."""
    return dict(_fallbacks)


def _fhirpathpy_path(expression: str) -> Path:
    # Imported here: fhirpathpy is only needed when an expression falls back.
    import fhirpathpy
    from fhirpathpy.models import models

    evaluate = fhirpathpy.compile(expression, model=models["r4"])

    def path(resource: dict[str, Any]) -> list[Any]:
        try:
            return list(evaluate(resource, None))
        except Exception:  # indexing must never fail on a valid resource
            log.warning("fhirpathpy failed on %r", expression, exc_info=True)
            return []

    return path
