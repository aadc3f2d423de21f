"""The terminology Shafa ships: its code systems and value sets, by URL and id, loaded once.

Value sets come in two kinds (R4 valueset.html, codesystem.html#implicit):
- implicit, named by their code system's URL: `<system>?fhir_vs` (every concept) and
  `<system>?fhir_vs=isa/<code>` (the concept and everything below it);
- Shafa's own, served as ValueSet resources: each code system whole, and the subsets other
  contexts need (ICD-10 codes valid for a diagnosis, ATC substances), each defined as a
  `compose` over one code system with a property filter, evaluated in memory.
"""

from collections.abc import Callable, Collection
from dataclasses import dataclass
from functools import cache
from typing import Any

from shafa.fhir.errors import not_found
from shafa.terminology import admin_division, atc, icd10, ucum
from shafa.terminology.index import TypeAheadIndex
from shafa.terminology.model import CodeSystem, Concept

VALUE_SET_BASE = "https://fhir.shafa.az/ValueSet"
IMPLICIT = "?fhir_vs"
LOADERS: tuple[Callable[[], CodeSystem], ...] = (
    icd10.code_system,
    atc.code_system,
    ucum.code_system,
    admin_division.code_system,
)


_MEMBER_NUMBERS: dict[str, frozenset[int]] = {}  # value set URL -> its members' numbers


@dataclass(frozen=True)
class ValueSetDef:
    """A value set over one code system: which of its concepts are members."""

    id: str | None  # the ValueSet resource's id; None for an implicit value set
    url: str
    name: str
    title: str
    description: str
    system: CodeSystem
    member: Callable[[Concept], bool] | None  # None: every concept
    compose_filter: tuple[dict[str, str], ...] = ()  # R4 ValueSet.compose.include.filter
    root: Concept | None = None  # for isa: the concept whose subtree this is

    def contains(self, concept: Concept) -> bool:
        """True when the concept is a member."""
        if self.root is not None and not (self.root.number <= concept.number <= self.root.last):
            return False
        return self.member is None or self.member(concept)

    def members(self) -> list[Concept]:
        """Every member, in the code system's depth-first order."""
        ordered = self.system.ordered
        if self.root is not None:
            ordered = ordered[self.root.number : self.root.last + 1]
        return ordered if self.member is None else [c for c in ordered if self.member(c)]

    def index_members(self) -> Collection[int] | None:
        """The members' concept numbers, for the type-ahead index; None for every concept.

        A subtree is a range of numbers; a property filter's members are computed once per
        value set and kept.
        """
        if self.member is None:
            return None if self.root is None else range(self.root.number, self.root.last + 1)
        numbers = _MEMBER_NUMBERS.get(self.url)
        if numbers is None:
            numbers = frozenset(concept.number for concept in self.members())
            _MEMBER_NUMBERS[self.url] = numbers
        return numbers

    def compose(self) -> dict[str, Any]:
        """R4 ValueSet.compose for this value set."""
        include: dict[str, Any] = {"system": self.system.info.url}
        filters = list(self.compose_filter)
        if self.root is not None:
            filters.append({"property": "concept", "op": "is-a", "value": self.root.code})
        if filters:
            include["filter"] = filters
        return {"include": [include]}


@cache
def code_systems() -> dict[str, CodeSystem]:
    """Every shipped code system, by URL."""
    return {system.info.url: system for system in (load() for load in LOADERS)}


def code_system(url: str) -> CodeSystem | None:
    """The code system of a URL (a `|version` suffix is ignored), or None."""
    return code_systems().get(url.split("|", 1)[0])


def known_code_system(url: str, version: str | None = None) -> CodeSystem:
    """The shipped code system of a URL (and version, if given); 404 if Shafa has none."""
    system = code_system(url)
    if system is None:
        raise not_found(f"{url} is not a code system this server knows")
    if version is not None and version != system.info.version:
        raise not_found(f"{url} is known in version {system.info.version}, not {version!r}")
    return system


def code_system_by_id(fhir_id: str) -> CodeSystem | None:
    """The code system whose CodeSystem resource has this id, or None."""
    return next((cs for cs in code_systems().values() if cs.info.id == fhir_id), None)


@cache
def index(url: str) -> TypeAheadIndex:
    """The type-ahead index of a code system, built on first use and kept."""
    system = code_systems()[url]
    return TypeAheadIndex(system.ordered)


def _selectable(concept: Concept) -> bool:
    return concept.properties.get("notSelectable") is False


def _substance(concept: Concept) -> bool:
    return concept.properties.get("level") == 5


@cache
def value_sets() -> dict[str, ValueSetDef]:
    """Shafa's own value sets (served as ValueSet resources), by URL."""
    systems = code_systems()
    found = []
    for system in systems.values():
        info = system.info
        found.append(
            ValueSetDef(
                id=f"{info.id}-all",
                url=f"{VALUE_SET_BASE}/{info.id}-all",
                name=info.name,
                title=f"All codes of {info.title}",
                description=f"Every concept of the code system {info.url}.",
                system=system,
                member=None,
            )
        )
    found.append(
        ValueSetDef(
            id="icd-10-diagnosis",
            url=f"{VALUE_SET_BASE}/icd-10-diagnosis",
            name="ICD10Diagnosis",
            title="ICD-10 leaf codes valid for diagnosis",
            description="The ICD-10 (WHO 2019) codes a diagnosis may carry: subcategories, and "
            "categories without subcategories. Chapters, blocks and subdivided categories are "
            "left out.",
            system=systems[icd10.URL],
            member=_selectable,
            compose_filter=({"property": "notSelectable", "op": "=", "value": "false"},),
        )
    )
    found.append(
        ValueSetDef(
            id="atc-substance",
            url=f"{VALUE_SET_BASE}/atc-substance",
            name="AtcSubstance",
            title="ATC chemical substances (level 5)",
            description="The level-5 ATC codes: the active ingredients (INN) a prescription names.",
            system=systems[atc.URL],
            member=_substance,
            compose_filter=({"property": "level", "op": "=", "value": "5"},),
        )
    )
    return {value_set.url: value_set for value_set in found}


def value_set(url: str) -> ValueSetDef | None:
    """The value set a canonical URL names, Shafa's own or implicit; None if unknown.

    `|version` suffixes are ignored. Implicit: `<system>?fhir_vs` and
    `<system>?fhir_vs=isa/<code>` for a known code.
    """
    url = url.split("|", 1)[0]
    own = value_sets().get(url)
    if own is not None:
        return own
    system_url, mark, rest = url.partition(IMPLICIT)
    system = code_systems().get(system_url)
    if not mark or system is None:
        return None
    info = system.info
    if rest == "":
        return ValueSetDef(None, url, info.name, f"All codes of {info.title}", "", system, None)
    code = rest.removeprefix("=isa/")
    root = system.get(code) if rest.startswith("=isa/") else None
    if root is None:
        return None
    return ValueSetDef(
        None,
        url,
        f"{info.name}IsA",
        f"{root.code} {root.display} and everything below it",
        "",
        system,
        None,
        root=root,
    )


def known_value_set(url: str) -> ValueSetDef:
    """The value set a URL names; 404 if Shafa has none."""
    found = value_set(url)
    if found is None:
        raise not_found(f"{url} is not a value set this server knows")
    return found


def value_set_by_id(fhir_id: str) -> ValueSetDef | None:
    """Shafa's value set whose ValueSet resource has this id, or None."""
    return next((vs for vs in value_sets().values() if vs.id == fhir_id), None)


def warm_up() -> None:
    """Load every code system and build every type-ahead index now, not on a first request
    (about 2 s, most of it ICD-10)."""
    for url in code_systems():
        index(url)
    for value_set in value_sets().values():
        value_set.index_members()
