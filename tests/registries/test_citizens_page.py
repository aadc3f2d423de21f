"""The "Find a citizen" page over plain HTTP, on SQLite and PostgreSQL.

Dr Aysel and the call-centre operator Tural must find any citizen; Nigar the analyst may not
(she sees figures, never single patients). Sessions are opened directly; tests/e2e signs in
through the form.
"""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import re
from typing import Any

import httpx
import pytest

from shafa.fhir.store import now
from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from shafa.security import accounts, audit
from shafa.security.pages import SESSION_COOKIE
from shafa.security.rules import Role
from tests.fhir.helpers import put
from tests.security.conftest import Realm

PASSWORD = "a long enough passphrase"
RUSSIAN = [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]


def _session(realm: Realm, username: str, role: Role) -> tuple[httpx.Client, str]:
    """A browser-like client signed in as new staff of this role, and their account id."""
    fhir = httpx.Client(base_url=realm.server.base, timeout=60)
    put(fhir, {"resourceType": "Organization", "id": "clinic-1"})
    put(fhir, {"resourceType": "Practitioner", "id": username})

    async def open_session(engine: Any) -> tuple[str, str]:
        added = await accounts.add_staff(
            engine, username=username, password=PASSWORD, role=role,
            display_name=username.title(), organization="Organization/clinic-1",
            practitioner=f"Practitioner/{username}", now=now(),
        )  # fmt: skip
        session = await accounts.open_session(engine, added.identity, now())
        return session.session_id, str(added.identity.user_id)

    session_id, user_id = realm.run(open_session)
    client = httpx.Client(base_url=realm.root, timeout=60)
    client.cookies.set(SESSION_COOKIE, session_id)
    return client, user_id


@pytest.fixture
def country(realm: Realm) -> Realm:
    """Citizens written as the registry keeps them, one in Russian spelling only."""
    fhir = httpx.Client(base_url=realm.server.base, timeout=60)
    for patient in (
        {
            "resourceType": "Patient",
            "id": "ilham",
            "identifier": [{"system": FIN_SYSTEM, "value": "5ABC123"}],
            "name": [
                {"use": "official", "family": "Əliyev", "given": ["İlham", "Heydər oğlu"]},
                {"use": "official", "family": "Алиев", "given": ["Ильхам"], "extension": RUSSIAN},
            ],
            "gender": "male",
            "birthDate": "1961-12-24",
            "address": [{"use": "home", "district": "Nəsimi", "city": "Bakı", "country": "AZ"}],
        },
        {
            "resourceType": "Patient",
            "id": "aysel",
            "identifier": [{"system": FIN_SYSTEM, "value": "7XYZ890"}],
            "name": [{"family": "Hüseynova", "given": ["Aysel"]}],
            "gender": "female",
            "birthDate": "1994-03-22",
            "address": [{"city": "Gəncə", "postalCode": "AZ2000", "country": "AZ"}],
        },
        {
            "resourceType": "Patient",
            "id": "hasan",
            "name": [{"family": "Гасанов", "given": ["Гасан"], "extension": RUSSIAN}],
        },
        {"resourceType": "Patient", "id": "odd", "name": [{"family": "Babayev<b>x</b>"}]},
    ):
        put(fhir, patient)
    return realm


def _rows(page: httpx.Response) -> list[str]:
    """The ids of the citizens listed, in order."""
    return re.findall(r'<tr data-patient="([^"]+)"', page.text)


def test_doctors_and_operators_find_citizens_by_any_spelling(country: Realm) -> None:
    doctor, _ = _session(country, "aysel-doctor", Role.DOCTOR)
    form = doctor.get("/registry/citizens", params={"lang": "en"})
    assert form.status_code == 200
    assert "Find a citizen" in form.text and _rows(form) == []
    for typed in ("Алиев", "aliyev", "Eliyev ilham", "ƏLİYEV", "5abc123", " 5ABC 123 "):
        page = doctor.get("/registry/citizens", params={"q": typed, "lang": "en"})
        assert page.status_code == 200 and _rows(page) == ["ilham"], typed
    row = doctor.get("/registry/citizens", params={"q": "aliyev", "lang": "en"}).text
    for shown in ("5ABC123", "Əliyev İlham Heydər oğlu", "1961-12-24", "Male", "Nəsimi"):
        assert shown in row
    operator, _ = _session(country, "tural", Role.CALL_CENTER_OPERATOR)
    found = operator.get("/registry/citizens", params={"q": "Гусейнова", "lang": "en"})
    assert _rows(found) == ["aysel"] and "Gəncə" in found.text and "Female" in found.text
    assert _rows(operator.get("/registry/citizens", params={"q": "hasanov"})) == ["hasan"]


def test_a_russian_page_shows_the_russian_spelling(country: Realm) -> None:
    doctor, _ = _session(country, "rashad", Role.DOCTOR)
    page = doctor.get("/registry/citizens", params={"q": "Əliyev", "lang": "ru"})
    assert "Поиск гражданина" in page.text and "Алиев Ильхам" in page.text
    assert "Мужской" in page.text and "Дата рождения" in page.text
    azerbaijani = doctor.get("/registry/citizens", params={"q": "Алиев", "lang": "az"})
    assert "Əliyev İlham" in azerbaijani.text and "Kişi" in azerbaijani.text


def test_nothing_found_is_said_and_bad_searches_are_explained(country: Realm) -> None:
    doctor, _ = _session(country, "leyla", Role.NURSE)
    none = doctor.get("/registry/citizens", params={"q": "Zeynalov", "lang": "en"})
    assert none.status_code == 200 and "No citizen matches" in none.text
    for bad, said in (
        ("1234", "Write a FIN (7 letters and digits) or a name."),
        ("x" * 101, "Write at most 100 characters."),
        ("Əli\x07yev", "control characters"),
    ):
        page = doctor.get("/registry/citizens", params={"q": bad, "lang": "en"})
        assert page.status_code == 400 and said in page.text and _rows(page) == []


def test_what_a_name_holds_is_shown_as_text(country: Realm) -> None:
    doctor, _ = _session(country, "elvin", Role.DOCTOR)
    page = doctor.get("/registry/citizens", params={"q": "babayev"})
    assert _rows(page) == ["odd"]
    assert "Babayev&lt;b&gt;x&lt;/b&gt;" in page.text and "<b>x</b>" not in page.text
    # A search that echoes script is shown as text too.
    echoed = doctor.get("/registry/citizens", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert" not in echoed.text


def test_htmx_gets_the_results_alone(country: Realm) -> None:
    doctor, _ = _session(country, "kamran", Role.DOCTOR)
    htmx = doctor.get("/registry/citizens", params={"q": "aliyev"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith('<section id="citizen-results"')
    assert "<form" not in htmx.text and _rows(htmx) == ["ilham"]


def test_a_long_list_says_there_is_more(realm: Realm) -> None:
    fhir = httpx.Client(base_url=realm.server.base, timeout=60)
    entries = [
        {
            "resource": {
                "resourceType": "Patient",
                "name": [{"family": "Məmmədov", "given": [f"N{i}"]}],
            },
            "request": {"method": "POST", "url": "Patient"},
        }
        for i in range(51)
    ]
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    assert fhir.post("/", json=bundle).status_code == 200
    doctor, _ = _session(realm, "fidan", Role.DOCTOR)
    page = doctor.get("/registry/citizens", params={"q": "Мамедов", "lang": "en"})
    assert len(_rows(page)) == 50 and "More than 50 citizens match" in page.text


def test_others_may_not_and_every_search_is_recorded(country: Realm) -> None:
    anonymous = httpx.Client(base_url=country.root, timeout=60)
    assert anonymous.get("/registry/citizens").headers["location"] == "/login"
    analyst, analyst_id = _session(country, "nigar", Role.ANALYST)
    refused = analyst.get("/registry/citizens", params={"q": "aliyev", "lang": "en"})
    assert refused.status_code == 403 and "ilham" not in refused.text
    assert "Only those who care for patients" in refused.text
    doctor, doctor_id = _session(country, "murad", Role.DOCTOR)
    doctor.get("/registry/citizens", params={"q": "aliyev"})
    home = doctor.get("/home", params={"lang": "en"})
    assert 'href="/registry/citizens"' in home.text
    assert 'href="/registry/citizens"' not in analyst.get("/home").text

    async def records(engine: Any) -> list[audit.AuditRecord]:
        async with engine.connect() as conn:
            page = await audit.search_log(
                conn, actions=[audit.Action.SEARCH, audit.Action.ACCESS_REFUSED]
            )
            return [record.entry for record in page.records]

    entries = country.run(records)
    searched = [e for e in entries if e.action is audit.Action.SEARCH and e.user_id == doctor_id]
    assert len(searched) == 1 and searched[0].patients == ("ilham",)
    assert searched[0].query is not None and "aliyev" in searched[0].query
    assert any(e.action is audit.Action.ACCESS_REFUSED and e.user_id == analyst_id for e in entries)
