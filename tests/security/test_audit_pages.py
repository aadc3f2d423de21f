"""The administrators' audit log page over plain HTTP: who may open it, what its filters accept.

Aysel is the system administrator; Dr Rashad may not read the log; Leyla is a citizen. Sessions
are opened directly (the browser tests in tests/e2e sign in through the form).
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from shafa.fhir.store import now
from shafa.security import accounts, audit
from shafa.security.audit import Action, AuditRecord, Outcome
from shafa.security.pages import SESSION_COOKIE
from shafa.security.rules import Role
from tests.security.conftest import Realm

PASSWORD = "a long enough passphrase"
START = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _session(realm: Realm, username: str, role: Role) -> httpx.Client:
    """A browser-like client signed in as a new staff member of this role."""

    for resource in ({"resourceType": "Organization", "id": "clinic-1"},
                     {"resourceType": "Practitioner", "id": username}):  # fmt: skip
        url = f"{realm.server.base}/{resource['resourceType']}/{resource['id']}"
        assert httpx.put(url, json=resource).status_code in (200, 201)

    async def open_session(engine: Any) -> str:
        added = await accounts.add_staff(
            engine, username=username, password=PASSWORD, role=role,
            display_name=username.title(), organization="Organization/clinic-1",
            practitioner=f"Practitioner/{username}", now=now(),
        )  # fmt: skip
        return (await accounts.open_session(engine, added.identity, now())).session_id

    session_id = realm.run(open_session)
    client = httpx.Client(base_url=realm.root, timeout=60)
    client.cookies.set(SESSION_COOKIE, session_id)
    return client


@pytest.fixture
def aysel(realm: Realm) -> httpx.Client:
    """The system administrator, with a log to read."""
    client = _session(realm, "aysel", Role.SYSTEM_ADMIN)

    async def seed(engine: Any) -> None:
        for minutes, action, who in (
            (0, Action.READ, {"client_id": "lab"}),
            (10, Action.BREAK_GLASS, {"user_id": "99", "display": "Dr Break"}),
            (20, Action.ACCESS_REFUSED, {"client_id": "lab"}),
        ):
            entry = AuditRecord(
                recorded=START + timedelta(minutes=minutes),
                action=action,
                outcome=Outcome.REFUSED if action is Action.ACCESS_REFUSED else Outcome.SUCCESS,
                patients=("leyla",),
                reason="unconscious patient" if action is Action.BREAK_GLASS else None,
                purpose="ETREAT" if action is Action.BREAK_GLASS else None,
                **who,  # type: ignore[arg-type]
            )
            await audit.record_now(engine, entry)

    realm.run(seed)
    return client


def _rows(page: httpx.Response) -> int:
    return len(re.findall(r"<tr[ >]", page.text)) - 1  # the header row


def test_only_a_system_administrator_opens_the_log(realm: Realm, aysel: httpx.Client) -> None:
    anonymous = httpx.Client(base_url=realm.root, timeout=60)
    assert anonymous.get("/admin/audit").headers["location"] == "/login"
    doctor = _session(realm, "rashad", Role.DOCTOR)
    refused = doctor.get("/admin/audit", params={"lang": "en"})
    assert refused.status_code == 403
    assert "Only system administrators may read the audit log." in refused.text
    assert "unconscious" not in refused.text
    page = aysel.get("/admin/audit", params={"lang": "en"})
    assert page.status_code == 200
    assert "Audit log" in page.text and "<caption>" in page.text
    assert 'class="break-glass"' in page.text and "unconscious patient" in page.text


def test_filters_narrow_and_the_search_is_recorded(aysel: httpx.Client) -> None:
    page = aysel.get("/admin/audit", params={"action": "break-glass", "until": "2025-12-31"})
    assert page.status_code == 200 and _rows(page) == 1
    assert "Dr Break" in page.text
    lab = aysel.get("/admin/audit", params={"client_id": "lab", "outcome": "refused"})
    assert _rows(lab) == 1
    days = aysel.get("/admin/audit", params={"since": "2025-03-01", "until": "2025-03-01"})
    assert _rows(days) == 3
    assert (
        "No records" in aysel.get("/admin/audit", params={"patient_id": "tural", "lang": "en"}).text
    )
    # Aysel's own searches are in the log now, by her.
    mine = aysel.get("/admin/audit", params={"username": "aysel", "action": "search"})
    assert _rows(mine) >= 4
    assert "Aysel" in mine.text


def test_results_come_a_page_at_a_time_and_alone_for_htmx(aysel: httpx.Client) -> None:
    htmx = aysel.get("/admin/audit", params={"until": "2025-12-31"}, headers={"HX-Request": "true"})
    assert htmx.status_code == 200
    assert htmx.text.lstrip().startswith('<section id="audit-results"')
    assert "<form" not in htmx.text and _rows(htmx) == 3


def test_next_page_links_walk_the_whole_log(realm: Realm, aysel: httpx.Client) -> None:
    async def more(engine: Any) -> None:
        for minutes in range(60):
            moment = START + timedelta(days=1, minutes=minutes)
            await audit.record_now(engine, AuditRecord(recorded=moment, action=Action.READ))

    realm.run(more)
    url: str | None = "/admin/audit?until=2025-12-31"
    rows, pages = 0, 0
    while url is not None:
        page = aysel.get(url)
        assert page.status_code == 200
        rows, pages = rows + _rows(page), pages + 1
        found = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert (rows, pages) == (63, 2)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"since": "yesterday"}, "Write dates as year-month-day"),
        ({"until": "2025-02-30"}, "Write dates as year-month-day"),
        ({"since": "2025-04-01", "until": "2025-03-01"}, "The first day comes after the last."),
        ({"action": "drop"}, "Choose an action from the list."),
        ({"outcome": "maybe"}, "Choose an outcome from the list."),
        ({"username": "nobody-here"}, "No account has this username."),
        ({"username": "x" * 65}, "at most 64 characters"),
        ({"cursor": "not-a-cursor"}, "This page link is out of date"),
    ],
)
def test_bad_filters_are_explained_not_500(
    aysel: httpx.Client, params: dict[str, str], message: str
) -> None:
    page = aysel.get("/admin/audit", params=params | {"lang": "en"})
    assert page.status_code == 400
    assert message in page.text and 'role="alert"' in page.text


def test_bad_filters_are_explained_in_azerbaijani_by_default(aysel: httpx.Client) -> None:
    page = aysel.get("/admin/audit", params={"since": "dünən"})
    assert page.status_code == 400
    assert "Tarixləri il-ay-gün kimi" in page.text


PAYLOADS = [
    "' OR '1'='1",
    "leyla'; DROP TABLE audit_log; --",
    '"><script>alert(1)</script>',
    "%' OR 1=1 --",
    "../../etc/passwd",
    "\u0000",
    "{{ 7*7 }}",
]


@pytest.mark.parametrize("field", ["username", "client_id", "patient_id", "action", "outcome",
                                   "since", "until", "cursor"])  # fmt: skip
def test_injection_in_any_field_breaks_and_leaks_nothing(aysel: httpx.Client, field: str) -> None:
    for payload in PAYLOADS:
        page = aysel.get("/admin/audit", params={field: payload})
        assert page.status_code in (200, 400), (field, payload)
        assert "<script>alert(1)" not in page.text
        assert "unconscious patient" not in page.text, (field, payload)  # no record matched
    # The log is whole after all of that.
    assert _rows(aysel.get("/admin/audit", params={"until": "2025-12-31"})) == 3
