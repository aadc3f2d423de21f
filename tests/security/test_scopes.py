"""SMART v2 scopes: parsing (v2, v1, granular), what they allow, and narrowing."""

import pytest

from shafa.security.scopes import (
    Access,
    ResourceScope,
    ScopeError,
    access,
    narrow,
    parse_scope,
    parse_scopes,
)
from shafa.security.tokens import pkce_matches, s256_challenge


def test_v2_scopes_parse_into_context_type_and_interactions() -> None:
    scope = parse_scope("user/MedicationRequest.cru")
    assert scope == ResourceScope("user", "MedicationRequest", frozenset("cru"))
    assert str(scope) == "user/MedicationRequest.cru"
    assert parse_scope("system/*.cruds") == ResourceScope("system", "*", frozenset("cruds"))


@pytest.mark.parametrize(
    ("v1", "v2"),
    [
        ("patient/Observation.read", "patient/Observation.rs"),
        ("user/*.write", "user/*.cud"),
        ("system/Patient.*", "system/Patient.cruds"),
    ],
)
def test_v1_permissions_read_as_their_v2_equivalents(v1: str, v2: str) -> None:
    assert str(parse_scope(v1)) == v2


@pytest.mark.parametrize(
    "text",
    [
        "patient/Observation.sr",  # v2 letters come in the order c r u d s
        "patient/Observation.rr",
        "patient/Observation.x",
        "patient/Observation.",
        "patient/.rs",
        "patient/Unicorn.rs",  # not an R4 resource type
        "doctor/Patient.rs",  # no such context
        "Patient.rs",
        "whatever",
    ],
)
def test_malformed_scopes_are_refused_with_a_reason(text: str) -> None:
    with pytest.raises(ScopeError, match=r"\S"):
        parse_scope(text)


def test_granular_category_restriction_is_parsed() -> None:
    text = (
        "patient/Observation.rs?category="
        "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"
    )
    scope = parse_scope(text)
    assert isinstance(scope, ResourceScope)
    assert scope.restrictions == (
        ("category", "http://terminology.hl7.org/CodeSystem/observation-category|laboratory"),
    )
    assert str(scope) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("patient/Observation.rs?code=1234-5", "'code' is not supported"),
        ("patient/Observation.rs?category=", "needs a value"),
        ("patient/Observation.rs?category", "malformed"),
    ],
)
def test_granular_restrictions_shafa_cannot_enforce_are_refused(text: str, message: str) -> None:
    with pytest.raises(ScopeError, match=message):
        parse_scope(text)


def test_a_scope_string_keeps_resource_and_other_scopes_apart() -> None:
    scopes = parse_scopes("launch/patient patient/*.rs offline_access patient/*.read")
    assert scopes.resources == (ResourceScope("patient", "*", frozenset("rs")),)
    assert scopes.other == {"launch/patient", "offline_access"}
    assert str(scopes) == "patient/*.rs launch/patient offline_access"


def test_an_overlong_scope_string_is_refused() -> None:
    with pytest.raises(ScopeError, match="longer"):
        parse_scopes("system/*.rs " * 400)


def test_access_needs_context_type_and_interaction_to_match() -> None:
    scopes = parse_scopes("user/MedicationRequest.cru patient/*.rs").resources
    assert access(scopes, "c", "MedicationRequest", "user") == Access(full=True)
    assert not access(scopes, "d", "MedicationRequest", "user").allowed
    assert not access(scopes, "r", "Observation", "user").allowed  # other type
    assert access(scopes, "s", "Observation", "patient").full  # wildcard type
    assert not access(scopes, "c", "Observation", "patient").allowed
    assert not access(scopes, "r", "MedicationRequest", "system").allowed  # other context


def test_granular_scopes_allow_only_under_their_restrictions() -> None:
    lab = "patient/Observation.rs?category=laboratory"
    vitals = "patient/Observation.rs?category=vital-signs"
    restricted = parse_scopes(f"{lab} {vitals}").resources
    got = access(restricted, "s", "Observation", "patient")
    assert not got.full and got.allowed
    assert got.filters == ((("category", "laboratory"),), (("category", "vital-signs"),))
    # An unrestricted scope for the same interaction lifts the restriction.
    both = parse_scopes(f"{lab} patient/Observation.r").resources
    assert access(both, "r", "Observation", "patient").full
    assert access(both, "s", "Observation", "patient").filters == ((("category", "laboratory"),),)


def test_narrow_grants_all_allowed_when_nothing_is_asked() -> None:
    allowed = parse_scopes("system/*.cruds")
    assert narrow(allowed, None) == allowed


def test_narrow_grants_what_the_allowed_scopes_cover_together() -> None:
    allowed = parse_scopes("system/*.rs system/Observation.cud offline_access")
    asked = parse_scopes("system/Observation.cruds system/Patient.read offline_access")
    assert str(narrow(allowed, asked)) == (
        "system/Observation.cruds system/Patient.rs offline_access"
    )
    narrower = parse_scopes("system/Observation.rs?category=laboratory")
    assert narrow(allowed, narrower) == narrower


@pytest.mark.parametrize(
    "asked",
    [
        "system/Patient.cruds",  # more interactions
        "system/Observation.rs",  # another type
        "patient/Patient.rs",  # another context
        "system/*.r",  # a wildcard wider than the allowed type
        "system/Patient.rs offline_access",  # a non-resource scope not allowed
    ],
)
def test_narrow_refuses_scope_escalation(asked: str) -> None:
    allowed = parse_scopes("system/Patient.rs system/Encounter.r")
    with pytest.raises(ScopeError, match="more than this client may have"):
        narrow(allowed, parse_scopes(asked))


def test_a_restricted_allowance_does_not_cover_an_unrestricted_request() -> None:
    allowed = parse_scopes("patient/Observation.rs?category=laboratory")
    with pytest.raises(ScopeError):
        narrow(allowed, parse_scopes("patient/Observation.rs"))


def test_pkce_s256_matches_the_rfc_7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 Appendix B
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    assert s256_challenge(verifier) == challenge
    assert pkce_matches(verifier, challenge)
    assert not pkce_matches(verifier[:-1] + "Y", challenge)
    assert not pkce_matches("short", s256_challenge("short"))  # RFC 7636 §4.1: 43-128 chars
