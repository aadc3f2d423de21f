"""The facilities registry's rules over Organization and Location. Pure.

An Organization is a unit of the health system: its kind (and ownership) in Organization.type
from Shafa's code systems, its place in the hierarchy in partOf (R4 organization.html: "The
organization of which this organization forms a part"), the way the DHIS2 org-unit tree and NHS
ODS relate their units.

R4 gives Organization no qualification element, so a facility's licence is an Identifier, the
element that carries an issued number with its validity and issuer (R4 datatypes.html#Identifier):
system = the facility-licence system, value = the licence number, type = the licensed activity
(Shafa's licensed-activity CodeSystem), period = its validity, assigner = the licensing
Organization, with the same licence-suspension extension as a health worker's licence. An
extension holding a whole licence would do too, but every FHIR client already reads, and the
server already searches (Organization?identifier=system|number), an Identifier.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shafa.fhir.errors import Issue
from shafa.registries import codes
from shafa.registries.citizens.rules import division_issues
from shafa.registries.elements import codes_in, listed, reference_to, unknown_codes
from shafa.registries.licence_rules import (
    Licence,
    StandingStatus,
    licence_issues,
    number_issue,
    recorded_licence,
    standing_of,
)


@dataclass(frozen=True, slots=True)
class Standing:
    """A facility's standing at a moment: may it operate, and for which licensed activities."""

    status: StandingStatus
    activities: frozenset[str]  # the codes of licensed-activity its licences in force cover
    licences: tuple[Licence, ...]  # every licence, whatever its status

    @property
    def licensed(self) -> bool:
        """May operate now."""
        return self.status is StandingStatus.ACTIVE


def _licence_identifiers(organization: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, identifier in enumerate(listed(organization.get("identifier"))):
        if isinstance(identifier, dict) and identifier.get("system") == codes.FACILITY_LICENCE:
            yield index, identifier


def _number(identifier: dict[str, Any]) -> str | None:
    value = identifier.get("value")
    return value.strip() if isinstance(value, str) and value.strip() else None


def licence_numbers(organization: dict[str, Any]) -> list[tuple[int, str]]:
    """(position in identifier, number) of each licence the Organization holds."""
    return [
        (index, number)
        for index, identifier in _licence_identifiers(organization)
        if (number := _number(identifier)) is not None
    ]


def organization_issues(organization: dict[str, Any]) -> Iterator[Issue]:
    """An Organization: its kind and ownership codes, partOf, and its licences."""
    for index, kind in enumerate(listed(organization.get("type"))):
        where = f"Organization.type[{index}]"
        yield from unknown_codes(kind, codes.ORGANIZATION_TYPE, where)
        yield from unknown_codes(kind, codes.OWNERSHIP, where)
    own_id = organization.get("id")
    if own_id is not None and reference_to(organization.get("partOf"), "Organization") == own_id:
        yield Issue(
            "business-rule",
            "An organisation cannot be part of itself",
            expression=("Organization.partOf",),
        )
    seen: dict[str, int] = {}
    for index, identifier in _licence_identifiers(organization):
        where = f"Organization.identifier[{index}]"
        number = _number(identifier)
        wrong = number_issue(number, codes.FACILITY_LICENCE, f"{where}.value")
        if wrong is not None:
            yield wrong
        elif number is not None and number in seen:
            yield Issue(
                "duplicate",
                f"Licence number {number!r} appears twice (identifier[{seen[number]}])",
                expression=(f"{where}.value",),
            )
        elif number is not None:
            seen[number] = index
        activity = identifier.get("type")
        if not codes_in(activity, codes.LICENSED_ACTIVITY):
            yield Issue(
                "required",
                f"A licence needs the activity it permits (type), coded in "
                f"{codes.LICENSED_ACTIVITY}",
                expression=(f"{where}.type",),
            )
        yield from unknown_codes(activity, codes.LICENSED_ACTIVITY, f"{where}.type")
        if reference_to(identifier.get("assigner"), "Organization") is None:
            yield Issue(
                "required",
                "A licence needs the Organization that issued it (assigner)",
                expression=(f"{where}.assigner",),
            )
        yield from licence_issues(identifier, identifier.get("period"), where, "licence")


def location_issues(location: dict[str, Any]) -> Iterator[Issue]:
    """A Location's coordinates are a place on Earth (WGS84, R4 location.html#position), and
    its address's place on the administrative division, when coded, is one (as a citizen's)."""
    address = location.get("address")
    if isinstance(address, dict):
        yield from division_issues(address, "Location.address")
    position = location.get("position")
    if not isinstance(position, dict):
        return
    for element, limit in (("latitude", 90), ("longitude", 180)):
        value = position.get(element)
        if isinstance(value, int | float | Decimal) and not -limit <= value <= limit:
            yield Issue(
                "business-rule",
                f"A {element} lies between -{limit} and {limit} degrees, not {value}",
                expression=(f"Location.position.{element}",),
            )


def parent_of(organization: dict[str, Any] | None) -> str | None:
    """The id of the Organization an Organization is part of (None: a root, or deleted)."""
    return (
        None if organization is None else reference_to(organization.get("partOf"), "Organization")
    )


def kind_of(organization: dict[str, Any] | None) -> str | None:
    """The organisation's kind: the first code of Shafa's organization-type it carries."""
    if organization is None:
        return None
    for kind in listed(organization.get("type")):
        found = codes_in(kind, codes.ORGANIZATION_TYPE)
        if found:
            return found[0]
    return None


def ancestor_chains(
    parents: Mapping[str, str | None], above: Mapping[str, Sequence[str]]
) -> tuple[dict[str, list[str]], set[str]]:
    """The ancestors, nearest first, of each organisation in parents (the ones whose place in
    the tree is being worked out, with their parent), and those of them caught in a cycle.

    A walk up follows parents while it stays among them, then takes the ancestors already known
    (above) of the first organisation outside them, whose place has not changed.
    """
    chains: dict[str, list[str]] = {}
    looping: set[str] = set()
    for start in parents:
        chain: list[str] = []
        seen = {start}
        node = parents[start]
        while node is not None:
            if node in seen:
                looping.add(start)
                break
            chain.append(node)
            if node not in parents:
                known = list(above.get(node, ()))
                if seen.intersection(known):
                    looping.add(start)
                chain.extend(known)
                break
            seen.add(node)
            node = parents[node]
        chains[start] = chain
    return chains, looping


def licences(organization: dict[str, Any]) -> tuple[Licence, ...]:
    """The Organization's licences, as recorded."""
    return tuple(
        recorded_licence(
            number,
            identifier,
            codes_in(identifier.get("type"), codes.LICENSED_ACTIVITY),
            "assigner",
        )
        for _index, identifier in _licence_identifiers(organization)
        if (number := _number(identifier)) is not None
    )


def standing(organization: dict[str, Any], moment: datetime) -> Standing:
    """The facility's standing at moment, from its licences."""
    held = licences(organization)
    status, in_force = standing_of(held, moment)
    return Standing(status, in_force, held)


RULES = (("Organization", organization_issues), ("Location", location_issues))
"""The facilities' rules as (resource type, rule), for registries.rules()."""
