"""The health workforce's rules over Practitioner and PractitionerRole, and a worker's
standing. Pure: plain resources in, issues or a Standing out."""

from typing import Any

from shafa.registries import codes
from shafa.registries.licence_rules import StandingStatus
from shafa.registries.workforce_rules import (
    licence_numbers,
    licences,
    practitioner_issues,
    role_active_at,
    role_issues,
    standing,
)
from tests.registries.builders import coded, licence, practitioner, ref, role, suspension
from tests.registries.test_licence_rules import at


def _issues(resource: dict[str, Any], rule: Any = practitioner_issues) -> list[tuple[str, str]]:
    return [(i.code, i.expression[0]) for i in rule(resource)]


def test_a_licensed_practitioner_keeps_every_rule() -> None:
    aysel = practitioner(
        "aysel",
        licence("AZ-100", start="2020-01-01", end="2030-01-01"),
        licence("AZ-101", "paediatrics", suspensions=[suspension("2021-01-01", "inquiry")]),
        {"code": {"text": "MD, Azerbaijan Medical University"}},  # a diploma: no licence
    )
    assert _issues(aysel) == []
    assert licence_numbers(aysel) == [(0, "AZ-100"), (1, "AZ-101")]
    assert _issues(practitioner("nobody")) == []


def test_a_licence_needs_number_speciality_issuer_and_start() -> None:
    bare = {"identifier": [{"system": codes.PRACTITIONER_LICENCE}], "code": {"text": "GP"}}
    assert _issues(practitioner("rauf", bare)) == [
        ("required", "Practitioner.qualification[0].identifier"),
        ("required", "Practitioner.qualification[0].code"),
        ("required", "Practitioner.qualification[0].issuer"),
        ("required", "Practitioner.qualification[0].period.start"),
    ]
    assert licence_numbers(practitioner("rauf", bare)) == []


def test_a_licence_validity_ending_before_it_starts_is_refused() -> None:
    backwards = licence("AZ-1", start="2025-01-01", end="2024-12-31")
    assert _issues(practitioner("rauf", backwards)) == [
        ("business-rule", "Practitioner.qualification[0].period")
    ]
    diploma = {"code": {"text": "MD"}, "period": {"start": "2010-06-01", "end": "2004-09-01"}}
    assert _issues(practitioner("rauf", diploma)) == [
        ("business-rule", "Practitioner.qualification[0].period")
    ]


def test_specialities_come_from_the_shipped_code_system_and_numbers_once_each() -> None:
    unknown = licence("AZ-1", "astrology")
    assert _issues(practitioner("rauf", unknown, licence("AZ-1"))) == [
        ("code-invalid", "Practitioner.qualification[0].code"),
        ("duplicate", "Practitioner.qualification[1].identifier"),
    ]
    too_long = licence("9" * 65)
    assert _issues(practitioner("rauf", too_long)) == [
        ("too-long", "Practitioner.qualification[0].identifier")
    ]


def test_a_role_is_someones_at_an_organisation() -> None:
    assert _issues(role("r", "aysel", "polyclinic-1"), role_issues) == []
    bare = {"resourceType": "PractitionerRole", "practitioner": ref("Patient", "leyla")}
    assert _issues(bare, role_issues) == [
        ("required", "PractitionerRole.practitioner"),
        ("required", "PractitionerRole.organization"),
    ]
    backwards = role("r", "aysel", "polyclinic-1", start="2025-01-01", end="2024-01-01")
    backwards["specialty"].append(coded(codes.SPECIALITY, "alchemy"))
    assert _issues(backwards, role_issues) == [
        ("business-rule", "PractitionerRole.period"),
        ("code-invalid", "PractitionerRole.specialty[1]"),
    ]


def test_a_role_is_held_while_active_and_within_its_period() -> None:
    held = role("r", "aysel", "polyclinic-1", start="2020-01-01", end="2020-12-31")
    assert role_active_at(held, at("2020-06-01"))
    assert role_active_at(held, at("2020-12-31T23:00"))
    assert not role_active_at(held, at("2021-01-01"))
    assert not role_active_at(held, at("2019-12-31"))
    assert not role_active_at(held | {"active": False}, at("2020-06-01"))
    assert role_active_at({"active": True}, at("2020-06-01"))


def test_a_workers_standing_says_whether_and_for_what_they_may_practise() -> None:
    aysel = practitioner(
        "aysel",
        licence("AZ-100", "general-practice", end="2025-12-31"),
        licence(
            "AZ-101", "cardiology", suspensions=[suspension("2024-01-01", "inquiry", "2024-06-30")]
        ),
    )
    roles = [
        role("gp", "aysel", "polyclinic-1"),
        role("old", "aysel", "hospital-2", end="2021-01-01"),
        {"resourceType": "PractitionerRole", "organization": {"display": "no reference"}},
    ]
    now = standing(aysel, roles, at("2025-06-01"))
    assert now.status is StandingStatus.ACTIVE and now.licensed
    assert now.specialities == {"general-practice", "cardiology"}
    assert now.organizations == {"polyclinic-1"}
    assert [licence.number for licence in now.licences] == ["AZ-100", "AZ-101"]
    assert licences(aysel)[0].issuer == "Organization/licensing-authority"
    suspended = standing(aysel, roles, at("2024-03-01"))
    assert suspended.status is StandingStatus.ACTIVE
    assert suspended.specialities == {"general-practice"}  # cardiology is suspended
    later = standing(aysel, roles, at("2026-01-01"))
    assert later.specialities == {"cardiology"}
    assert (
        standing(practitioner("nobody"), [], at("2025-01-01")).status is StandingStatus.UNLICENSED
    )
    assert not standing(practitioner("nobody"), [], at("2025-01-01")).licensed
