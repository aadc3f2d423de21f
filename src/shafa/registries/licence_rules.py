"""Licences, whoever holds them: a validity period, suspensions, and the status at a moment.

A health worker's licence (Practitioner.qualification) and a facility's (Organization.identifier)
keep the same facts, so both registries read them here. Pure: no database, no clock.

Dates are compared as the search index compares them (fhir.indexing.date_range): a date without
a time covers the whole UTC day, and a Period's end includes its last day (R4
datatypes.html#Period: "the end value includes any matching date/time").
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shafa.fhir.errors import Issue
from shafa.fhir.indexing import date_range
from shafa.registries.codes import LICENCE_SUSPENSION

MAX_LICENCE_NUMBER = 64  # characters; the licensing authorities' numbers are far shorter


class LicenceStatus(StrEnum):
    """Where a licence stands at a moment."""

    ACTIVE = "active"
    SUSPENDED = "suspended"  # within its validity, under a suspension
    EXPIRED = "expired"  # its validity ended
    PENDING = "pending"  # its validity has not begun


class StandingStatus(StrEnum):
    """Whether a holder may practise (a health worker) or operate (a facility) at a moment,
    and if not, why not."""

    ACTIVE = "active"  # at least one licence in force
    SUSPENDED = "suspended"  # none in force, one suspended
    EXPIRED = "expired"  # none in force or suspended, one that has expired
    UNLICENSED = "unlicensed"  # never licensed, or licensed only from a later date


@dataclass(frozen=True, slots=True)
class Suspension:
    """A suspension of a licence: from starts, until ends (None: not lifted), and why."""

    starts: datetime
    ends: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class Licence:
    """One licence as a registry holds it."""

    number: str
    code: str | None  # a speciality (health workers) or a licensed activity (facilities)
    issuer: str | None  # the issuing Organization, as a reference
    starts: datetime | None
    ends: datetime | None
    suspensions: tuple[Suspension, ...] = ()

    def suspension_at(self, moment: datetime) -> Suspension | None:
        """The suspension in force at moment, if any."""
        for suspension in self.suspensions:
            if suspension.starts <= moment and (
                suspension.ends is None or moment <= suspension.ends
            ):
                return suspension
        return None

    def status_at(self, moment: datetime) -> LicenceStatus:
        """The licence's status at moment: its period first, then its suspensions."""
        if self.starts is not None and moment < self.starts:
            return LicenceStatus.PENDING
        if self.ends is not None and moment > self.ends:
            return LicenceStatus.EXPIRED
        if self.suspension_at(moment) is not None:
            return LicenceStatus.SUSPENDED
        return LicenceStatus.ACTIVE


def standing_of(
    held: tuple[Licence, ...], moment: datetime
) -> tuple[StandingStatus, frozenset[str]]:
    """A holder's standing at moment over all their licences, and the codes of those in force
    (a licence in force outweighs a suspended one, which outweighs an expired one)."""
    statuses = [(licence, licence.status_at(moment)) for licence in held]
    in_force = frozenset(
        licence.code
        for licence, status in statuses
        if status is LicenceStatus.ACTIVE and licence.code is not None
    )
    found = {status for _licence, status in statuses}
    for status, standing in (
        (LicenceStatus.ACTIVE, StandingStatus.ACTIVE),
        (LicenceStatus.SUSPENDED, StandingStatus.SUSPENDED),
        (LicenceStatus.EXPIRED, StandingStatus.EXPIRED),
    ):
        if status in found:
            return standing, in_force
    return StandingStatus.UNLICENSED, in_force


def period_bounds(period: Any) -> tuple[datetime | None, datetime | None]:
    """The first and last instants a Period covers (None where open or unreadable)."""
    if not isinstance(period, dict):
        return None, None
    start = date_range(period.get("start"))
    end = date_range(period.get("end"))
    return (start[0] if start else None), (end[1] if end else None)


def ends_before_start(period: Any) -> bool:
    """True when a Period surely ends before it starts (R4 invariant per-1: start <= end)."""
    if not isinstance(period, dict):
        return False
    start, end = date_range(period.get("start")), date_range(period.get("end"))
    return start is not None and end is not None and end[1] < start[0]


def _suspension_extensions(element: dict[str, Any]) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, extension in enumerate(element.get("extension") or ()):
        if isinstance(extension, dict) and extension.get("url") == LICENCE_SUSPENSION:
            yield index, extension


def _part(extension: dict[str, Any], url: str) -> dict[str, Any] | None:
    for part in extension.get("extension") or ():
        if isinstance(part, dict) and part.get("url") == url:
            return part
    return None


def suspensions(element: dict[str, Any]) -> tuple[Suspension, ...]:
    """The well-formed suspensions recorded on a licence element."""
    found = []
    for _index, extension in _suspension_extensions(element):
        period, reason = _part(extension, "period"), _part(extension, "reason")
        starts, ends = period_bounds((period or {}).get("valuePeriod"))
        text = (reason or {}).get("valueString")
        if starts is not None and isinstance(text, str):
            found.append(Suspension(starts, ends, text))
    return tuple(found)


def recorded_licence(
    number: str, element: dict[str, Any], codes_of: list[str], issuer_element: str
) -> Licence:
    """A licence as recorded in its element (a Practitioner.qualification, an
    Organization.identifier): its number, its first code (a speciality or a licensed activity),
    who issued it, its period and suspensions."""
    issuer = element.get(issuer_element)
    starts, ends = period_bounds(element.get("period"))
    return Licence(
        number=number,
        code=codes_of[0] if codes_of else None,
        issuer=issuer.get("reference") if isinstance(issuer, dict) else None,
        starts=starts,
        ends=ends,
        suspensions=suspensions(element),
    )


def number_issue(number: str | None, system: str, where: str) -> Issue | None:
    """What is wrong with a licence's number (missing, too long), if anything."""
    if number is None:
        return Issue(
            "required",
            f"A licence ({system}) needs its number (identifier.value)",
            expression=(where,),
        )
    if len(number) > MAX_LICENCE_NUMBER:
        return Issue(
            "too-long",
            f"A licence number has at most {MAX_LICENCE_NUMBER} characters",
            expression=(where,),
        )
    return None


def licence_issues(element: dict[str, Any], period: Any, where: str, what: str) -> list[Issue]:
    """What is wrong with a licence's validity and its suspensions.

    where is the element's FHIRPath (e.g. Practitioner.qualification[0]); what names the
    licence in the messages.
    """
    issues = []
    if not isinstance(period, dict) or date_range(period.get("start")) is None:
        issues.append(
            Issue(
                "required",
                f"The {what} needs the date its validity starts (period.start)",
                expression=(f"{where}.period.start",),
            )
        )
    if ends_before_start(period):
        issues.append(
            Issue(
                "business-rule",
                f"The {what}'s validity ends ({period['end']}) before it starts "
                f"({period['start']})",
                expression=(f"{where}.period",),
            )
        )
    for index, extension in _suspension_extensions(element):
        at = f"{where}.extension[{index}]"
        suspended = _part(extension, "period")
        suspended_period = (suspended or {}).get("valuePeriod")
        if (
            not isinstance(suspended_period, dict)
            or date_range(suspended_period.get("start")) is None
        ):
            issues.append(
                Issue(
                    "required",
                    f"A suspension of the {what} needs the date it starts "
                    "(extension 'period', valuePeriod.start)",
                    expression=(at,),
                )
            )
        elif ends_before_start(suspended_period):
            issues.append(
                Issue(
                    "business-rule",
                    f"A suspension of the {what} is lifted before it starts",
                    expression=(at,),
                )
            )
        reason = (_part(extension, "reason") or {}).get("valueString")
        if not isinstance(reason, str) or not reason.strip():
            issues.append(
                Issue(
                    "required",
                    f"A suspension of the {what} needs its reason (extension 'reason', "
                    "valueString)",
                    expression=(at,),
                )
            )
    return issues
