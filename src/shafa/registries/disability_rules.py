"""The disability registry's rules over disability determinations. Pure.

A determination is what a medical and social expert commission decides about a person, and is
recorded as an Observation (R4 observation.html: "assertions made by ... a device or ... a
person", with a coded value, a subject, performers and an effective period):

- code: Shafa's registry-observation `disability-determination`;
- subject: the Patient, which puts the determination in the patient's compartment, so the
  citizen reads it with their own token, and professionals as they read the rest of the record;
- valueCodeableConcept: the group, from Shafa's disability-group (I, II, III, under 18);
- component `disability-cause`, valueCodeableConcept: the cause as an ICD-10 code;
- performer: the commission (an Organization; Condition.asserter cannot be one in R4);
- effectivePeriod: start = the date the group is determined from, end = the review date (no end:
  determined without a review date); the group holds through the review date, the end's day
  included (R4 datatypes.html#Period);
- status final (amended or corrected after a change); entered-in-error or cancelled withdraw it.

Observation rather than Condition: the group is not a disease but an assessment of the person
with a coded result, a decider and a validity, and Observation carries each of those in its own
element, searchable by the R4 search parameters (code, subject, value-concept, performer, date).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shafa.fhir.errors import Issue
from shafa.fhir.indexing import date_range
from shafa.registries import codes
from shafa.registries.elements import codes_in, listed, reference_to, unknown_codes
from shafa.registries.licence_rules import period_bounds
from shafa.terminology import icd10

# Statuses of a determination in force (R4 observation-status); the others withdraw it or say
# it is not decided yet.
IN_FORCE = frozenset({"final", "amended", "corrected"})


class DisabilityGroup(StrEnum):
    """The disability groups (Shafa's disability-group code system)."""

    GROUP_I = "group-1"
    GROUP_II = "group-2"
    GROUP_III = "group-3"
    UNDER_18 = "under-18"


@dataclass(frozen=True, slots=True)
class Determination:
    """One disability determination as the registry holds it."""

    id: str | None
    status: str
    group: DisabilityGroup
    cause: str | None  # ICD-10 code
    commission: str | None  # Organization id
    starts: datetime
    review: datetime | None  # the last instant it holds: the end of the review date

    def holds_at(self, moment: datetime) -> bool:
        """In force at moment: its status, and moment within start .. review date."""
        return (
            self.status in IN_FORCE
            and self.starts <= moment
            and (self.review is None or moment <= self.review)
        )


def is_determination(observation: dict[str, Any]) -> bool:
    """Whether an Observation is a disability determination."""
    return codes.DISABILITY_DETERMINATION in codes_in(
        observation.get("code"), codes.REGISTRY_OBSERVATION
    )


def _cause_components(observation: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, component in enumerate(listed(observation.get("component"))):
        if isinstance(component, dict) and codes.DISABILITY_CAUSE in codes_in(
            component.get("code"), codes.REGISTRY_OBSERVATION
        ):
            yield index, component


def determination_issues(observation: dict[str, Any]) -> Iterator[Issue]:
    """A disability determination's patient, group, cause, commission and dates; other
    Observations are none of this registry's business."""
    if not is_determination(observation):
        return
    if reference_to(observation.get("subject"), "Patient") is None:
        yield Issue(
            "required",
            "A disability determination needs the Patient it is about (subject)",
            expression=("Observation.subject",),
        )
    group = observation.get("valueCodeableConcept")
    if not codes_in(group, codes.DISABILITY_GROUP):
        yield Issue(
            "required",
            f"A disability determination needs its group (valueCodeableConcept), coded in "
            f"{codes.DISABILITY_GROUP}",
            expression=("Observation.value",),
        )
    yield from unknown_codes(group, codes.DISABILITY_GROUP, "Observation.value")
    yield from _period_issues(observation.get("effectivePeriod"))
    yield from _cause_issues(observation)
    if not any(
        reference_to(performer, "Organization")
        for performer in listed(observation.get("performer"))
    ):
        yield Issue(
            "required",
            "A disability determination needs the commission that decided it (performer, "
            "an Organization)",
            expression=("Observation.performer",),
        )


def _period_issues(period: Any) -> Iterator[Issue]:
    start = date_range(period.get("start")) if isinstance(period, dict) else None
    if start is None:
        yield Issue(
            "required",
            "A disability determination needs the date it holds from (effectivePeriod.start)",
            expression=("Observation.effective",),
        )
        return
    review = date_range(period.get("end"))
    if review is not None and review[0] <= start[0]:
        yield Issue(
            "business-rule",
            f"The review date ({period['end']}) must come after the start ({period['start']})",
            expression=("Observation.effective.end",),
        )


def _cause_issues(observation: dict[str, Any]) -> Iterator[Issue]:
    causes = list(_cause_components(observation))
    if not causes:
        yield Issue(
            "required",
            f"A disability determination needs its cause: a component coded "
            f"{codes.DISABILITY_CAUSE} with an ICD-10 code",
            expression=("Observation.component",),
        )
    for index, component in causes:
        where = f"Observation.component[{index}].value"
        found = codes_in(component.get("valueCodeableConcept"), codes.ICD10)
        if not found:
            yield Issue(
                "required",
                f"The cause needs an ICD-10 code ({codes.ICD10}) as valueCodeableConcept",
                expression=(where,),
            )
        for code in found:
            if not icd10.is_valid_leaf(code):
                yield Issue(
                    "code-invalid",
                    f"{code!r} is not an ICD-10 code valid for a diagnosis (WHO 2019 edition: "
                    "a category without subdivisions or a subcategory, e.g. G80.1)",
                    expression=(where,),
                )


def determination(observation: dict[str, Any]) -> Determination | None:
    """The determination an Observation records, None if it is none (or not a well-formed one)."""
    if not is_determination(observation):
        return None
    groups = codes_in(observation.get("valueCodeableConcept"), codes.DISABILITY_GROUP)
    starts, review = period_bounds(observation.get("effectivePeriod"))
    if not groups or groups[0] not in codes.codes(codes.DISABILITY_GROUP) or starts is None:
        return None
    causes = [
        code
        for _index, component in _cause_components(observation)
        for code in codes_in(component.get("valueCodeableConcept"), codes.ICD10)
    ]
    commissions = [
        found
        for performer in listed(observation.get("performer"))
        if (found := reference_to(performer, "Organization")) is not None
    ]
    return Determination(
        id=observation.get("id"),
        status=str(observation.get("status")),
        group=DisabilityGroup(groups[0]),
        cause=causes[0] if causes else None,
        commission=commissions[0] if commissions else None,
        starts=starts,
        review=review,
    )


def current(held: Iterable[Determination], moment: datetime) -> Determination | None:
    """The determination in force at moment: of several, the one that started last (a later
    decision replaces an earlier one)."""
    in_force = [found for found in held if found.holds_at(moment)]
    return max(in_force, key=lambda d: (d.starts, d.id or ""), default=None)


RULES = (("Observation", determination_issues),)
"""The disability registry's rules as (resource type, rule), for registries.rules()."""
