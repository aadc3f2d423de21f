"""The facilities' rules over Organization and Location, and a facility's standing. Pure."""

from typing import Any

from shafa.registries import codes
from shafa.registries.citizens.rules import ADMIN_DIVISION_EXTENSION
from shafa.registries.facilities_rules import (
    ancestor_chains,
    kind_of,
    licence_numbers,
    location_issues,
    organization_issues,
    parent_of,
    standing,
)
from shafa.registries.licence_rules import StandingStatus
from shafa.terminology import admin_division
from tests.registries.builders import coded, facility_licence, organization, suspension
from tests.registries.test_licence_rules import at


def _issues(resource: dict[str, Any], rule: Any = organization_issues) -> list[tuple[str, str]]:
    return [(i.code, i.expression[0]) for i in rule(resource)]


def test_an_organisation_of_known_kind_with_its_licences_keeps_every_rule() -> None:
    pharmacy = organization(
        "pharmacy-7",
        "pharmacy",
        part_of="baku-union",
        ownership="private",
        licences=[
            {"system": "https://example.org/tax-id", "value": "1234567"},
            facility_licence("PH-7", end="2030-01-01"),
        ],
    )
    assert _issues(pharmacy) == []
    assert licence_numbers(pharmacy) == [(1, "PH-7")]
    assert _issues({"resourceType": "Organization", "name": "A clinic abroad"}) == []


def test_kinds_and_ownership_come_from_the_shipped_code_systems() -> None:
    odd = organization("x", "spaceport", ownership="pirate")
    assert _issues(odd) == [
        ("code-invalid", "Organization.type[0]"),
        ("code-invalid", "Organization.type[1]"),
    ]


def test_an_organisation_cannot_be_part_of_itself() -> None:
    assert _issues(organization("x", "hospital", part_of="x")) == [
        ("business-rule", "Organization.partOf")
    ]


def test_a_facility_licence_needs_number_activity_issuer_and_a_sane_validity() -> None:
    bare = {"system": codes.FACILITY_LICENCE, "type": {"text": "pharmacy"}}
    assert _issues(organization("x", "pharmacy", licences=[bare])) == [
        ("required", "Organization.identifier[0].value"),
        ("required", "Organization.identifier[0].type"),
        ("required", "Organization.identifier[0].assigner"),
        ("required", "Organization.identifier[0].period.start"),
    ]
    backwards = facility_licence("PH-1", start="2025-01-01", end="2020-01-01")
    unknown = facility_licence("PH-1", "smuggling")
    assert _issues(organization("x", "pharmacy", licences=[backwards, unknown])) == [
        ("business-rule", "Organization.identifier[0].period"),
        ("duplicate", "Organization.identifier[1].value"),
        ("code-invalid", "Organization.identifier[1].type"),
    ]
    assert licence_numbers(organization("x", "pharmacy", licences=[bare])) == []


def test_a_facilitys_standing_follows_its_licences() -> None:
    pharmacy = organization(
        "pharmacy-7",
        "pharmacy",
        licences=[
            facility_licence(
                "PH-7", end="2025-12-31", suspensions=[suspension("2024-05-01", "audit")]
            ),
            facility_licence("LAB-7", "laboratory", start="2030-01-01"),
        ],
    )
    assert standing(pharmacy, at("2024-01-01")).activities == {"pharmaceutical"}
    assert standing(pharmacy, at("2024-01-01")).licensed
    assert standing(pharmacy, at("2024-06-01")).status is StandingStatus.SUSPENDED
    assert standing(pharmacy, at("2026-01-01")).status is StandingStatus.EXPIRED
    assert standing(pharmacy, at("2031-01-01")).activities == {"laboratory"}
    assert standing(organization("x", "hospital"), at("2024-01-01")).status is (
        StandingStatus.UNLICENSED
    )
    assert standing(pharmacy, at("2024-01-01")).licences[0].issuer == (
        "Organization/licensing-authority"
    )


def test_a_locations_coordinates_are_on_earth() -> None:
    baku = {"resourceType": "Location", "position": {"latitude": 40.4093, "longitude": 49.8671}}
    assert _issues(baku, location_issues) == []
    assert _issues({"resourceType": "Location"}, location_issues) == []
    nowhere = {"resourceType": "Location", "position": {"latitude": 91, "longitude": -180.5}}
    assert _issues(nowhere, location_issues) == [
        ("business-rule", "Location.position.latitude"),
        ("business-rule", "Location.position.longitude"),
    ]
    assert coded(codes.OWNERSHIP, "public")["coding"][0]["code"] in codes.codes(codes.OWNERSHIP)


def test_ancestor_chains_walk_up_the_moved_then_take_what_is_known_above() -> None:
    # Pharmacy 7 moves under a new union; the laboratory under it moves along; the ministry's
    # place is known already.
    parents = {"new-union": "ministry", "pharmacy-7": "new-union", "lab": "pharmacy-7"}
    chains, looping = ancestor_chains(parents, {"ministry": ["government"]})
    assert chains == {
        "new-union": ["ministry", "government"],
        "pharmacy-7": ["new-union", "ministry", "government"],
        "lab": ["pharmacy-7", "new-union", "ministry", "government"],
    }
    assert looping == set()
    # A root, and a parent not (yet) stored: the chain ends there.
    assert ancestor_chains({"root": None, "orphan": "unknown"}, {}) == (
        {"root": [], "orphan": ["unknown"]},
        set(),
    )


def test_ancestor_chains_find_cycles_among_the_moved_and_through_what_is_known() -> None:
    chains, looping = ancestor_chains({"a": "b", "b": "c", "c": "a", "d": "a"}, {})
    assert looping == {"a", "b", "c", "d"}  # d hangs below the cycle
    assert chains["a"] == ["b", "c"]
    _chains, looping = ancestor_chains({"a": "x"}, {"x": ["y", "a"]})
    assert looping == {"a"}
    assert ancestor_chains({"a": "a"}, {})[1] == {"a"}
    assert parent_of(None) is None
    assert kind_of(None) is None
    assert kind_of(organization("x", "hospital")) == "hospital"
    assert kind_of({"type": [{"text": "clinic"}]}) is None
    assert parent_of(organization("x", "hospital", part_of="y")) == "y"


def test_a_location_is_placed_on_the_official_administrative_division() -> None:
    def placed(code: str) -> dict:
        extension = {
            "url": ADMIN_DIVISION_EXTENSION,
            "valueCoding": {"system": admin_division.URL, "code": code},
        }
        return {"resourceType": "Location", "address": {"extension": [extension]}}

    assert list(location_issues(placed("AZ-QBA"))) == []
    refused = list(location_issues(placed("ER-14")))
    assert [(i.code, i.expression) for i in refused] == [
        ("code-invalid", ("Location.address.extension[0].valueCoding",))
    ]
