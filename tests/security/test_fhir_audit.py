"""Every FHIR interaction with a patient's data leaves an audit record naming who, for which
patients and resources, what, how it ended and from where; the citizen reads them back."""

from typing import Any

from shafa.security import audit
from tests.security.country import Country, observation


def _log(country: Country, **filters: Any) -> list[audit.StoredRecord]:
    async def read(engine: Any) -> list[audit.StoredRecord]:
        async with engine.connect() as conn:
            return (await audit.search_log(conn, limit=500, **filters)).records

    return country.realm.run(read)


def _verified(country: Country) -> None:
    async def check(engine: Any) -> Any:
        async with engine.connect() as conn:
            return await audit.verify(conn)

    report = country.realm.run(check)
    assert report.intact, report


def test_reads_searches_and_writes_are_recorded_with_who_what_and_whom(country: Country) -> None:
    aysel = country.as_("aysel")
    agent = {"User-Agent": "clinic-a-ehr/1.0", "X-Request-ID": "req-42"}
    assert aysel.get("/Observation/leyla-bp", headers=agent).status_code == 200
    (read,) = _log(country, action=audit.Action.READ, user_id=str(country.users["aysel"]))
    entry = read.entry
    assert entry.outcome is audit.Outcome.SUCCESS
    assert entry.patients == ("leyla",)
    assert entry.resources == ("Observation/leyla-bp",)
    assert (entry.role, entry.organisation, entry.purpose) == ("doctor", "clinic-a", "TREAT")
    assert entry.client_id == "ehr"
    assert (entry.user_agent, entry.request_id) == ("clinic-a-ehr/1.0", "req-42")
    assert entry.source_ip == "127.0.0.1"

    found = aysel.get("/Observation", params={"subject": "Patient/leyla"})
    assert found.status_code == 200
    (searched,) = _log(country, action=audit.Action.SEARCH, user_id=str(country.users["aysel"]))
    assert searched.entry.patients == ("leyla",)
    assert searched.entry.resources == ("Observation/leyla-bp",)
    assert searched.entry.query == "subject=Patient%2Fleyla"

    created = aysel.post("/Observation", json=observation("new", "leyla", "8867-4"))
    assert created.status_code == 201
    (made,) = _log(country, action=audit.Action.CREATE, user_id=str(country.users["aysel"]))
    assert made.entry.patients == ("leyla",)
    assert made.entry.resources == (f"Observation/{created.json()['id']}",)
    _verified(country)


def test_a_search_that_finds_nothing_still_records_what_was_asked(country: Country) -> None:
    aysel = country.as_("aysel")
    assert aysel.get("/Observation", params={"code": "no-such-code"}).status_code == 200
    (searched,) = _log(country, action=audit.Action.SEARCH, user_id=str(country.users["aysel"]))
    assert searched.entry.patients == ()
    assert searched.entry.query == "code=no-such-code"


def test_failures_are_recorded_and_directory_reads_are_not(country: Country) -> None:
    system = country.system
    before = len(_log(country))
    assert system.get("/Organization/clinic-a").status_code == 200
    assert system.get("/Organization", params={"name": "clinic"}).status_code == 200
    assert len(_log(country)) == before, "reading the directory discloses no patient's data"
    assert system.get("/Observation/never-stored").status_code == 404
    (missing,) = [r for r in _log(country) if r.entry.outcome is audit.Outcome.ERROR]
    assert (missing.entry.action, missing.entry.outcome_code) == (audit.Action.READ, "404")
    assert missing.entry.resources == ("Observation/never-stored",)


def test_a_bundle_leaves_a_record_for_each_kind_of_entry(country: Country) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Observation/tural-bp"}},
            {
                "resource": observation("tural-pulse", "tural", "8867-4"),
                "request": {"method": "PUT", "url": "Observation/tural-pulse"},
            },
        ],
    }
    answer = country.system.post("", json=bundle, headers={"X-Request-ID": "bundle-1"})
    assert answer.status_code == 200, answer.text
    records = {r.entry.action: r.entry for r in _log(country) if r.entry.request_id == "bundle-1"}
    assert set(records) == {audit.Action.READ, audit.Action.UPDATE}
    assert records[audit.Action.READ].resources == ("Observation/tural-bp",)
    assert records[audit.Action.UPDATE].resources == ("Observation/tural-pulse",)


def test_the_citizen_sees_who_opened_her_record(country: Country) -> None:
    assert country.as_("aysel").get("/Observation/leyla-bp").status_code == 200
    assert country.system.get("/Observation/tural-bp").status_code == 200

    async def who(engine: Any) -> list[audit.StoredRecord]:
        async with engine.connect() as conn:
            return (await audit.who_accessed(conn, "leyla")).records

    seen_by = {(r.entry.display, r.entry.action) for r in country.realm.run(who)}
    assert ("Aysel", audit.Action.READ) in seen_by
    assert all(r.entry.patients != ("tural",) for r in country.realm.run(who))
