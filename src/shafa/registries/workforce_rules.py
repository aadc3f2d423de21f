"""The health workforce registry's rules over Practitioner and PractitionerRole. Pure.

A licence to practise is a Practitioner.qualification whose identifier is in the
practitioner-licence system (R4 practitioner.html: qualification "Certification, licenses, or
training pertaining to the provision of care"): identifier = licence number, code = the
speciality it covers (Shafa's speciality CodeSystem), issuer = the licensing Organization,
period = its validity, and licence-suspension extensions for its suspensions. Qualifications in
other systems (diplomas, say) are kept but license nothing.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shafa.fhir.errors import Issue
from shafa.registries import codes
from shafa.registries.elements import codes_in, listed, reference_to, unknown_codes
from shafa.registries.licence_rules import (
    Licence,
    StandingStatus,
    ends_before_start,
    licence_issues,
    number_issue,
    period_bounds,
    recorded_licence,
    standing_of,
)


@dataclass(frozen=True, slots=True)
class Standing:
    """A health worker's standing at a moment: what the e-prescription rules ask."""

    status: StandingStatus
    specialities: frozenset[str]  # the codes the licences in force cover
    licences: tuple[Licence, ...]  # every licence, whatever its status
    organizations: frozenset[str] = frozenset()  # ids of where they hold an active role

    @property
    def licensed(self) -> bool:
        """May practise now."""
        return self.status is StandingStatus.ACTIVE


def _licence_number(qualification: Any) -> tuple[bool, str | None]:
    """(whether the qualification is a licence, its number if it has one)."""
    for identifier in listed(qualification.get("identifier")):
        if isinstance(identifier, dict) and identifier.get("system") == codes.PRACTITIONER_LICENCE:
            value = identifier.get("value")
            return True, value.strip() if isinstance(value, str) and value.strip() else None
    return False, None


def licence_numbers(practitioner: dict[str, Any]) -> list[tuple[int, str]]:
    """(position in qualification, number) of each licence the Practitioner holds."""
    found = []
    for index, qualification in enumerate(listed(practitioner.get("qualification"))):
        if isinstance(qualification, dict):
            is_licence, number = _licence_number(qualification)
            if is_licence and number is not None:
                found.append((index, number))
    return found


def practitioner_issues(practitioner: dict[str, Any]) -> Iterator[Issue]:
    """A Practitioner's licences: number, speciality, issuer, validity, suspensions."""
    seen: dict[str, int] = {}
    for index, qualification in enumerate(listed(practitioner.get("qualification"))):
        if not isinstance(qualification, dict):
            continue
        where = f"Practitioner.qualification[{index}]"
        yield from unknown_codes(qualification.get("code"), codes.SPECIALITY, f"{where}.code")
        is_licence, number = _licence_number(qualification)
        if not is_licence:
            if ends_before_start(qualification.get("period")):
                yield Issue(
                    "business-rule",
                    "The qualification's period ends before it starts",
                    expression=(f"{where}.period",),
                )
            continue
        wrong = number_issue(number, codes.PRACTITIONER_LICENCE, f"{where}.identifier")
        if wrong is not None:
            yield wrong
        elif number is not None and number in seen:
            yield Issue(
                "duplicate",
                f"Licence number {number!r} appears twice (qualification[{seen[number]}])",
                expression=(f"{where}.identifier",),
            )
        elif number is not None:
            seen[number] = index
        if not codes_in(qualification.get("code"), codes.SPECIALITY):
            yield Issue(
                "required",
                f"A licence needs the speciality it covers, coded in {codes.SPECIALITY}",
                expression=(f"{where}.code",),
            )
        if reference_to(qualification.get("issuer"), "Organization") is None:
            yield Issue(
                "required",
                "A licence needs the Organization that issued it (issuer)",
                expression=(f"{where}.issuer",),
            )
        yield from licence_issues(qualification, qualification.get("period"), where, "licence")


def role_issues(role: dict[str, Any]) -> Iterator[Issue]:
    """A PractitionerRole: whose, at which organisation, its specialities and period."""
    if reference_to(role.get("practitioner"), "Practitioner") is None:
        yield Issue(
            "required",
            "A role needs the Practitioner who holds it",
            expression=("PractitionerRole.practitioner",),
        )
    if reference_to(role.get("organization"), "Organization") is None:
        yield Issue(
            "required",
            "A role needs the Organization it is held at",
            expression=("PractitionerRole.organization",),
        )
    if ends_before_start(role.get("period")):
        yield Issue(
            "business-rule",
            "The role's period ends before it starts",
            expression=("PractitionerRole.period",),
        )
    for index, specialty in enumerate(listed(role.get("specialty"))):
        yield from unknown_codes(
            specialty, codes.SPECIALITY, f"PractitionerRole.specialty[{index}]"
        )


def licences(practitioner: dict[str, Any]) -> tuple[Licence, ...]:
    """The Practitioner's licences, as recorded."""
    found = []
    for index, number in licence_numbers(practitioner):
        qualification = practitioner["qualification"][index]
        specialities = codes_in(qualification.get("code"), codes.SPECIALITY)
        found.append(recorded_licence(number, qualification, specialities, "issuer"))
    return tuple(found)


def role_active_at(role: dict[str, Any], moment: datetime) -> bool:
    """Whether a PractitionerRole is held at moment (active, and within its period)."""
    if role.get("active") is False:
        return False
    starts, ends = period_bounds(role.get("period"))
    return (starts is None or starts <= moment) and (ends is None or moment <= ends)


def standing(
    practitioner: dict[str, Any], roles: Iterable[dict[str, Any]], moment: datetime
) -> Standing:
    """The health worker's standing at moment, from their licences and roles."""
    held = licences(practitioner)
    status, in_force = standing_of(held, moment)
    organizations = frozenset(
        organization
        for role in roles
        if role_active_at(role, moment)
        and (organization := reference_to(role.get("organization"), "Organization")) is not None
    )
    return Standing(status, in_force, held, organizations)


RULES = (("Practitioner", practitioner_issues), ("PractitionerRole", role_issues))
"""The workforce's rules as (resource type, rule), for registries.rules()."""
