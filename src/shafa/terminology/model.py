"""Code systems held in memory: concepts in a tree, numbered in depth-first order.

Every code system Shafa ships (ICD-10, ATC, UCUM units, Azerbaijan's administrative division)
is a tree or a flat list: each concept has at most one parent. Concepts are numbered in
depth-first pre-order, so a concept's descendants are exactly the numbers from its own to its
`last` (FHIR's `isa` filter and implicit value set `?fhir_vs=isa/<code>` become a range test),
and an expansion without a filter lists the hierarchy in its natural order (chapters, then their
blocks, then their categories, as WHO prints ICD-10).
"""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

PropertyValue = str | bool | int


@dataclass(frozen=True, slots=True)
class Designation:
    """Another name of a concept (R4 CodeSystem.concept.designation): in a language, or a use."""

    language: str  # BCP-47, e.g. az, en, ru
    value: str


@dataclass(frozen=True, slots=True)
class PropertyDef:
    """A property the code system defines for its concepts (R4 CodeSystem.property)."""

    code: str
    type: str  # code | Coding | string | integer | boolean | dateTime | decimal
    description: str
    uri: str | None = None

    def value_json(self, value: PropertyValue) -> dict[str, Any]:
        """A value of this property as R4's value[x] (valueCode, valueBoolean, ...)."""
        kind = {"code": "valueCode", "boolean": "valueBoolean", "integer": "valueInteger"}
        return {kind.get(self.type, "valueString"): value}


@dataclass(slots=True)
class Concept:
    """One concept: its code, display, place in the tree and properties."""

    code: str
    display: str
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    designations: tuple[Designation, ...] = ()
    properties: dict[str, PropertyValue] = field(default_factory=dict)
    number: int = -1  # depth-first pre-order position, set by CodeSystem
    last: int = -1  # number of the last descendant (itself when a leaf)

    @property
    def is_leaf(self) -> bool:
        """True when the concept has no children."""
        return not self.children

    def display_in(self, language: str | None) -> str:
        """The display in a language if a designation has it, else the display."""
        if language:
            wanted = language.lower()
            for designation in self.designations:
                if designation.language == wanted or designation.language == wanted[:2]:
                    return designation.value
        return self.display

    def names(self) -> Iterator[str]:
        """The display and every designation's value, each once."""
        yield self.display
        for designation in self.designations:
            if designation.value != self.display:
                yield designation.value


@dataclass(frozen=True, slots=True)
class CodeSystemInfo:
    """What a code system says of itself (the metadata of its R4 CodeSystem resource)."""

    id: str
    url: str
    name: str
    title: str
    version: str
    publisher: str
    description: str
    copyright: str
    content: str  # complete | fragment (R4 codesystem-content-mode)
    hierarchy_meaning: str  # is-a | part-of
    properties: tuple[PropertyDef, ...] = ()
    case_sensitive: bool = True
    language: str = "en"


class CodeSystem:
    """A code system's concepts, in depth-first order, with the tree's relations."""

    def __init__(self, info: CodeSystemInfo, concepts: Iterable[Concept]) -> None:
        self.info = info
        by_code: dict[str, Concept] = {}
        for concept in concepts:
            if concept.code in by_code:
                raise ValueError(f"{info.id}: the code {concept.code!r} appears twice")
            by_code[concept.code] = concept
        roots: list[str] = []
        for concept in by_code.values():
            if concept.parent is None:
                roots.append(concept.code)
                continue
            parent = by_code.get(concept.parent)
            if parent is None:
                raise ValueError(f"{info.id}: {concept.code!r} names an unknown parent")
            if concept.code not in parent.children:
                parent.children.append(concept.code)
        self.roots = tuple(roots)
        self.ordered: list[Concept] = []
        self._number(by_code)
        self.concepts: Mapping[str, Concept] = by_code

    def _number(self, by_code: dict[str, Concept]) -> None:
        """Number concepts in depth-first pre-order, without recursion (ICD-10 is 4 deep, but
        a file could nest deeper)."""
        stack: list[tuple[str, bool]] = [(code, False) for code in reversed(self.roots)]
        while stack:
            code, closing = stack.pop()
            concept = by_code[code]
            if closing:
                concept.last = len(self.ordered) - 1
                continue
            concept.number = len(self.ordered)
            self.ordered.append(concept)
            stack.append((code, True))
            stack.extend((child, False) for child in reversed(concept.children))
        if len(self.ordered) != len(by_code):
            raise ValueError(f"{self.info.id}: some concepts are in a cycle of parents")

    def __len__(self) -> int:
        return len(self.ordered)

    def get(self, code: str) -> Concept | None:
        """The concept of a code, or None (codes are matched exactly: R4 caseSensitive)."""
        return self.concepts.get(code)

    def ancestors(self, code: str) -> list[Concept]:
        """The concept's parent, its parent's parent, ... up to a root."""
        found = []
        concept = self.concepts.get(code)
        while concept is not None and concept.parent is not None:
            concept = self.concepts[concept.parent]
            found.append(concept)
        return found

    def subsumes(self, ancestor: str, code: str) -> bool:
        """True when `code` is `ancestor` or one of its descendants (R4 `is-a`)."""
        top, concept = self.concepts.get(ancestor), self.concepts.get(code)
        return top is not None and concept is not None and top.number <= concept.number <= top.last

    def descendants(self, code: str) -> list[Concept]:
        """Every concept below `code`, in depth-first order."""
        concept = self.concepts[code]
        return self.ordered[concept.number + 1 : concept.last + 1]
