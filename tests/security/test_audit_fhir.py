"""AuditEvent at /fhir: the audit log, searched and read as FHIR, never written.

A privacy officer's system (system/AuditEvent.rs) searches the log by each parameter; Leyla's
app sees only the records about Leyla; a reporting system without AuditEvent scopes sees none.
"""

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shafa.security import audit
from shafa.security.audit import Action, AuditRecord, Outcome
from tests.security.conftest import Realm
from tests.security.test_fhir_access import _fhir, _patient_token, _token

START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)  # seeded records are older than any of the test's
BEFORE_NOW = "lt2026-01-01"

# (minutes after START, who, action, outcome, outcome code, patients)
SEEDS: list[tuple[int, dict[str, str], Action, Outcome, str | None, tuple[str, ...]]] = [
    (0, {"user_id": "7"}, Action.READ, Outcome.SUCCESS, None, ("leyla",)),
    (10, {"user_id": "7"}, Action.SEARCH, Outcome.SUCCESS, None, ("leyla", "tural")),
    (20, {"user_id": "8"}, Action.UPDATE, Outcome.SUCCESS, None, ("tural",)),
    (30, {"client_id": "lab"}, Action.CREATE, Outcome.SUCCESS, None, ("leyla",)),
    (40, {"client_id": "lab"}, Action.ACCESS_REFUSED, Outcome.REFUSED, "403", ("tural",)),
    (50, {"user_id": "7"}, Action.DELETE, Outcome.ERROR, "500", ("leyla",)),
    (60, {"user_id": "8"}, Action.LOGIN, Outcome.SUCCESS, None, ()),
    (70, {"user_id": "8"}, Action.BREAK_GLASS, Outcome.SUCCESS, None, ("leyla",)),
    (1440, {"client_id": "lab"}, Action.PATCH, Outcome.ERROR, "409", ("leyla",)),
    (2880, {"user_id": "7"}, Action.EXPORT, Outcome.SUCCESS, None, ("tural",)),
]


def _seed(realm: Realm) -> dict[int, str]:
    """The seeded records: minutes after START -> record id."""

    async def seed(engine: Any) -> dict[int, str]:
        ids = {}
        for minutes, who, action, outcome, code, patients in SEEDS:
            entry = AuditRecord(recorded=START + timedelta(minutes=minutes), action=action,
                                outcome=outcome, outcome_code=code, patients=patients,
                                **who)  # type: ignore[arg-type]  # fmt: skip
            ids[minutes] = await audit.record_now(engine, entry)
        return ids

    return realm.run(seed)


@pytest.fixture
def seeded(guarded: Realm) -> dict[int, str]:
    """The audit log's seeded records by minute."""
    return _seed(guarded)


@pytest.fixture
def officer(guarded: Realm) -> httpx.Client:
    """The privacy officer's system: it may read and search the audit log."""
    return _fhir(guarded, _token(guarded, "system/AuditEvent.rs"))


def _search(client: httpx.Client, **params: str) -> dict[str, Any]:
    answer = client.get("/AuditEvent", params={"date": BEFORE_NOW} | params)
    assert answer.status_code == 200, answer.text
    bundle: dict[str, Any] = answer.json()
    return bundle


def _found(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle["entry"] if e["search"]["mode"] == "match"]


def _minutes(ids: dict[int, str], *minutes: int) -> list[str]:
    """The seeded ids of those minutes, newest first."""
    return [ids[m] for m in sorted(minutes, reverse=True)]


def test_each_parameter_finds_its_records_newest_first(
    officer: httpx.Client, seeded: dict[int, str]
) -> None:
    def found(**params: str) -> list[str]:
        return _found(_search(officer, **params))

    assert found() == _minutes(seeded, *seeded)
    assert found(patient="Patient/leyla") == _minutes(seeded, 0, 10, 30, 50, 70, 1440)
    assert found(patient="tural") == _minutes(seeded, 10, 20, 40, 2880)
    assert found(agent="7") == _minutes(seeded, 0, 10, 50, 2880)
    assert found(agent="urn:shafa:client|lab") == _minutes(seeded, 30, 40, 1440)
    assert found(**{"agent:identifier": "urn:shafa:user|8"}) == _minutes(seeded, 20, 60, 70)
    assert found(agent="urn:shafa:user|lab") == []  # lab is a client, not a user
    assert found(action="R") == _minutes(seeded, 0, 2880)  # read and export
    assert found(action="C,D") == _minutes(seeded, 30, 50)
    assert found(subtype="update") == _minutes(seeded, 20)
    assert found(subtype="http://hl7.org/fhir/restful-interaction|patch") == _minutes(seeded, 1440)
    assert found(subtype="110127") == _minutes(seeded, 70)  # break-the-glass
    assert found(subtype="110122") == _minutes(seeded, 60)  # login
    assert found(outcome="0") == _minutes(seeded, 0, 10, 20, 30, 60, 70, 2880)
    assert found(outcome="4") == _minutes(seeded, 40, 1440)  # refused, and a 409
    assert found(outcome="8") == _minutes(seeded, 50)
    day = START.date().isoformat()
    assert found(date=day) == _minutes(seeded, 0, 10, 20, 30, 40, 50, 60, 70)
    after_day = officer.get("/AuditEvent", params=[("date", f"gt{day}"), ("date", BEFORE_NOW)])
    assert _found(after_day.json()) == _minutes(seeded, 1440, 2880)


def test_parameters_combine_and_dates_narrow(officer: httpx.Client, seeded: dict[int, str]) -> None:
    def found(params: list[tuple[str, str]]) -> list[str]:
        # Older than this test's own searches, which are audit records too.
        answer = officer.get("/AuditEvent", params=[*params, ("date", BEFORE_NOW)])
        assert answer.status_code == 200, answer.text
        return _found(answer.json())

    assert found([("patient", "leyla"), ("agent", "7")]) == _minutes(seeded, 0, 10, 50)
    assert found([("patient", "leyla"), ("action", "E"), ("outcome", "0")]) == _minutes(
        seeded, 10, 70
    )
    assert found([("date", "ge2025-03-01T08:20:00Z"), ("date", "lt2025-03-01T09:00:00Z")]) == (
        _minutes(seeded, 20, 30, 40, 50)
    )
    in_baku = [("date", "ge2025-03-01T12:20:00+04:00"), ("date", "le2025-03-01T12:30:00+04:00")]
    assert found(in_baku) == _minutes(seeded, 20, 30)
    assert found([("action", "C,U"), ("action", "U,D")]) == _minutes(seeded, 20, 1440)  # ANDed
    assert found([("subtype", "read"), ("action", "C")]) == []


def test_paging_with_next_links_neither_skips_nor_repeats(
    officer: httpx.Client, seeded: dict[int, str]
) -> None:
    url: str | None = "/AuditEvent"
    params: dict[str, str] | None = {"date": BEFORE_NOW, "_count": "3"}
    pages, seen = 0, []
    while url is not None:
        answer = officer.get(url, params=params)
        assert answer.status_code == 200, answer.text
        bundle = answer.json()
        assert len(_found(bundle)) <= 3
        seen += _found(bundle)
        links = {link["relation"]: link["url"] for link in bundle["link"]}
        assert "self" in links
        url, params, pages = links.get("next"), None, pages + 1
    assert seen == _minutes(seeded, *seeded)
    assert pages == 4
    # POST _search pages the same way.
    posted = officer.post("/AuditEvent/_search", data={"date": BEFORE_NOW, "_count": "4"})
    assert posted.status_code == 200, posted.text
    assert _found(posted.json()) == _minutes(seeded, *seeded)[:4]


def test_count_is_bounded_by_the_servers_page_size(
    officer: httpx.Client, seeded: dict[int, str]
) -> None:
    bundle = _search(officer, _count="1000000")
    assert len(_found(bundle)) == len(SEEDS)
    self_link = next(link["url"] for link in bundle["link"] if link["relation"] == "self")
    assert "_count=1000&" in self_link + "&"  # the server's max_page_size
    assert _found(_search(officer, _count="0")) == []


def test_unknown_parameters_are_warned_of_or_refused_as_asked(
    officer: httpx.Client, seeded: dict[int, str]
) -> None:
    lenient = _search(officer, colour="red", **{"patient:missing": "true"})
    assert _found(lenient) == _minutes(seeded, *seeded)
    outcome = lenient["entry"][-1]
    assert outcome["search"]["mode"] == "outcome"
    assert {i["expression"][0] for i in outcome["resource"]["issue"]} == {
        "colour",
        "patient:missing",
    }
    strict = officer.get(
        "/AuditEvent", params={"colour": "red"}, headers={"Prefer": "handling=strict"}
    )
    assert strict.status_code == 400
    assert strict.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("date", "yesterday"),
        ("date", "2025-02-30"),
        ("date", "ne2025-03-01"),
        ("date", "sa2025"),
        ("action", "X"),
        ("outcome", "5"),
        ("agent", "urn:elsewhere|7"),
        ("_count", "-1"),
        ("_cursor", "not-a-cursor"),
        ("patient", "Observation/bp"),
        ("patient", "leyla\u0000"),
        ("_cursor", "MjAyNS0wMS0wMVQwMDowMDowMCswMDowMHwA"),  # a record id of one NUL
    ],
)
def test_malformed_values_are_400_even_when_lenient(
    officer: httpx.Client, name: str, value: str
) -> None:
    answer = officer.get("/AuditEvent", params={name: value})
    assert answer.status_code == 400, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_record_is_read_by_its_id(officer: httpx.Client, seeded: dict[int, str]) -> None:
    event = officer.get(f"/AuditEvent/{seeded[70]}").json()
    assert event["resourceType"] == "AuditEvent" and event["id"] == seeded[70]
    assert event["subtype"][0]["code"] == "110127"
    assert officer.get("/AuditEvent/no-such-record").status_code == 404


def test_the_log_cannot_be_written(guarded: Realm, seeded: dict[int, str]) -> None:
    everything = _fhir(guarded, _token(guarded, "system/*.cruds"))
    event = everything.get(f"/AuditEvent/{seeded[0]}").json()
    for answer in (
        everything.post("/AuditEvent", json=event),
        everything.put(f"/AuditEvent/{seeded[0]}", json=event | {"outcome": "8"}),
        everything.delete(f"/AuditEvent/{seeded[0]}"),
        everything.patch(f"/AuditEvent/{seeded[0]}", json=[]),
        everything.delete("/AuditEvent", params={"agent": "7"}),
        everything.get(f"/AuditEvent/{seeded[0]}/_history"),
    ):
        assert answer.status_code == 405, answer.text
        assert answer.json()["resourceType"] == "OperationOutcome"
    assert everything.get(f"/AuditEvent/{seeded[0]}").json() == event


def test_a_patients_app_sees_only_records_about_its_patient(
    guarded: Realm, seeded: dict[int, str]
) -> None:
    leylas_app = _fhir(guarded, _patient_token(guarded, "patient/*.rs", "leyla"))
    leylas = _minutes(seeded, 0, 10, 30, 50, 70, 1440)
    assert _found(_search(leylas_app)) == leylas
    assert _found(_search(leylas_app, patient="tural")) == []
    assert _found(_search(leylas_app, agent="8")) == _minutes(seeded, 70)
    assert leylas_app.get(f"/AuditEvent/{seeded[10]}").status_code == 200  # hers and Tural's
    for record in (seeded[20], seeded[2880], seeded[60], "no-such-record"):
        answer = leylas_app.get(f"/AuditEvent/{record}")
        assert answer.status_code == 403, record
        assert answer.json()["resourceType"] == "OperationOutcome"


def test_systems_without_auditevent_scopes_are_refused(
    guarded: Realm, seeded: dict[int, str]
) -> None:
    reporting = _fhir(guarded, _token(guarded, "system/Patient.rs"))
    assert reporting.get("/AuditEvent").status_code == 403
    assert reporting.get(f"/AuditEvent/{seeded[0]}").status_code == 403
    searching_only = _fhir(guarded, _token(guarded, "system/AuditEvent.s"))
    assert searching_only.get("/AuditEvent").status_code == 200
    assert searching_only.get(f"/AuditEvent/{seeded[0]}").status_code == 403
    assert _fhir(guarded, None).get("/AuditEvent").status_code == 401


def test_reading_the_log_is_itself_audited(officer: httpx.Client, seeded: dict[int, str]) -> None:
    _search(officer, patient="tural", action="U")
    officer.get(f"/AuditEvent/{seeded[0]}")
    now = datetime.now(UTC)
    recent = _search(officer, date=f"ge{(now - timedelta(minutes=5)).isoformat()}")
    events = {e["resource"]["subtype"][0]["code"]: e["resource"] for e in recent["entry"]}
    assert set(events) == {"search", "read"}
    searched = [e["what"]["reference"] for e in events["search"]["entity"] if "what" in e]
    assert f"AuditEvent/{seeded[20]}" in searched and "Patient/tural" in searched
    read = [e["what"]["reference"] for e in events["read"]["entity"] if "what" in e]
    assert read == ["Patient/leyla", f"AuditEvent/{seeded[0]}"]
