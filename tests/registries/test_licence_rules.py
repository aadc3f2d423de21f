"""Licences, whoever holds them: validity, suspensions and the status at a moment. Pure."""

from datetime import UTC, datetime

import pytest

from shafa.registries import codes
from shafa.registries.licence_rules import (
    Licence,
    LicenceStatus,
    StandingStatus,
    Suspension,
    ends_before_start,
    licence_issues,
    number_issue,
    period_bounds,
    standing_of,
    suspensions,
)
from tests.registries.builders import suspension


def at(text: str) -> datetime:
    """An aware UTC moment from 'YYYY-MM-DD' or 'YYYY-MM-DDTHH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


LICENCE = Licence(
    number="AZ-1",
    code="cardiology",
    issuer="Organization/licensing-authority",
    starts=at("2020-01-01"),
    ends=at("2024-12-31T23:59:59.999999"),
    suspensions=(Suspension(at("2022-03-01"), at("2022-06-30T23:59:59.999999"), "inquiry"),),
)


@pytest.mark.parametrize(
    ("moment", "status"),
    [
        ("2019-12-31T23:59", LicenceStatus.PENDING),
        ("2020-01-01", LicenceStatus.ACTIVE),
        ("2022-02-28T23:59", LicenceStatus.ACTIVE),
        ("2022-03-01", LicenceStatus.SUSPENDED),
        ("2022-06-30T23:59", LicenceStatus.SUSPENDED),  # the lifting day still suspended
        ("2022-07-01", LicenceStatus.ACTIVE),
        ("2024-12-31T23:59", LicenceStatus.ACTIVE),  # a period's end includes its last day
        ("2025-01-01", LicenceStatus.EXPIRED),
    ],
)
def test_a_licences_status_follows_its_period_then_its_suspensions(
    moment: str, status: LicenceStatus
) -> None:
    assert LICENCE.status_at(at(moment)) is status


def test_a_suspension_never_lifted_holds_until_the_licence_expires() -> None:
    held = Licence(
        "AZ-2", None, None, at("2020-01-01"), None, (Suspension(at("2021-01-01"), None, "x"),)
    )
    assert held.status_at(at("2030-01-01")) is LicenceStatus.SUSPENDED
    assert held.suspension_at(at("2030-01-01")) == Suspension(at("2021-01-01"), None, "x")
    assert held.suspension_at(at("2020-06-01")) is None


def test_standing_prefers_a_licence_in_force_then_a_suspended_one_then_an_expired_one() -> None:
    expired = Licence("E", "paediatrics", None, at("2010-01-01"), at("2015-01-01"))
    suspended = Licence(
        "S", "cardiology", None, at("2010-01-01"), None, (Suspension(at("2020-01-01"), None, "x"),)
    )
    active = Licence("A", "general-practice", None, at("2010-01-01"), None)
    later = Licence("L", "urology", None, at("2100-01-01"), None)
    now = at("2026-01-01")
    assert standing_of((expired, suspended, active, later), now) == (
        StandingStatus.ACTIVE,
        frozenset({"general-practice"}),
    )
    assert standing_of((expired, suspended), now) == (StandingStatus.SUSPENDED, frozenset())
    assert standing_of((expired, later), now) == (StandingStatus.EXPIRED, frozenset())
    assert standing_of((later,), now) == (StandingStatus.UNLICENSED, frozenset())
    assert standing_of((), now) == (StandingStatus.UNLICENSED, frozenset())


def test_period_bounds_take_whole_days_and_leave_open_ends_open() -> None:
    assert period_bounds({"start": "2020-01-01", "end": "2020-01-31"}) == (
        at("2020-01-01"),
        at("2020-01-31T23:59:59.999999"),
    )
    assert period_bounds({"start": "2020-01-01T10:00:00+04:00"}) == (at("2020-01-01T06:00"), None)
    assert period_bounds(None) == (None, None)
    assert period_bounds({"end": "not a date"}) == (None, None)


@pytest.mark.parametrize(
    ("period", "wrong"),
    [
        ({"start": "2020-01-02", "end": "2020-01-01"}, True),
        ({"start": "2020-01-01", "end": "2020-01-01"}, False),  # one day
        ({"start": "2020-01-01T10:00:00Z", "end": "2020-01-01T09:00:00Z"}, True),
        ({"start": "2020-01", "end": "2020-01-15"}, False),  # within the month: not surely before
        ({"start": "2020-01-01"}, False),
        ({"end": "2020-01-01"}, False),
        (None, False),
    ],
)
def test_a_period_ends_before_it_starts_only_when_surely_so(period: object, wrong: bool) -> None:
    assert ends_before_start(period) is wrong


def test_a_licence_number_must_be_there_and_short() -> None:
    assert number_issue("AZ-1", codes.PRACTITIONER_LICENCE, "here") is None
    missing = number_issue(None, codes.PRACTITIONER_LICENCE, "here")
    assert missing is not None and missing.code == "required" and missing.expression == ("here",)
    long = number_issue("9" * 65, codes.PRACTITIONER_LICENCE, "here")
    assert long is not None and long.code == "too-long"


def _issues(element: dict, period: object) -> list[tuple[str, tuple[str, ...]]]:
    return [(i.code, i.expression) for i in licence_issues(element, period, "X", "licence")]


def test_a_licence_needs_its_start_and_an_end_not_before_it() -> None:
    assert _issues({}, {"start": "2020-01-01", "end": "2021-01-01"}) == []
    assert _issues({}, None) == [("required", ("X.period.start",))]
    assert _issues({}, {"end": "2021-01-01"}) == [("required", ("X.period.start",))]
    assert _issues({}, {"start": "2021-01-01", "end": "2020-01-01"}) == [
        ("business-rule", ("X.period",))
    ]


def test_a_suspension_needs_its_start_and_its_reason_and_cannot_be_lifted_before_it_starts() -> (
    None
):
    period = {"start": "2020-01-01"}
    good = {"extension": [suspension("2021-01-01", "inquiry", "2021-02-01")]}
    assert _issues(good, period) == []
    assert suspensions(good) == (
        Suspension(at("2021-01-01"), at("2021-02-01T23:59:59.999999"), "inquiry"),
    )
    no_start = {
        "extension": [
            {"url": codes.LICENCE_SUSPENSION, "extension": [{"url": "reason", "valueString": "x"}]}
        ]
    }
    assert _issues(no_start, period) == [("required", ("X.extension[0]",))]
    assert suspensions(no_start) == ()
    lifted_before = {"extension": [suspension("2021-02-01", "inquiry", "2021-01-01")]}
    assert _issues(lifted_before, period) == [("business-rule", ("X.extension[0]",))]
    blank_reason = {"extension": [{"url": "other"}, suspension("2021-01-01", "  ")]}
    assert _issues(blank_reason, period) == [("required", ("X.extension[1]",))]
