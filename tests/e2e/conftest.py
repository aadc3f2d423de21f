"""Headless Chromium (Debian's, see the Makefile) driving a live Shafa over SQLite."""

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pyotp
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shafa.config import Settings
from shafa.db import migrate
from shafa.db.engine import create_engine
from shafa.security import accounts
from shafa.security.rules import FIN_SYSTEM, STAFF_ROLES, Role
from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


PASSWORD = "a long enough passphrase"


@dataclass(frozen=True)
class Person:
    """Someone with an account on the test site."""

    username: str
    role: Role
    totp_secret: str | None = None  # staff only
    patient_id: str | None = None  # citizens only

    def code(self) -> str:
        """The one-time code their authenticator app shows now ("" for a citizen)."""
        return pyotp.TOTP(self.totp_secret).now() if self.totp_secret else ""


@dataclass(frozen=True)
class Site:
    """A live Shafa over a fresh SQLite database, with one person of every role."""

    url: str
    people: dict[str, Person]
    database_url: str  # for tests that add what they need (an OAuth2 client, accounts)


def _put(base: str, resource: dict) -> None:
    answer = httpx.put(f"{base}/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert answer.status_code in (200, 201), answer.text


async def _add_people(url: str) -> dict[str, Person]:
    engine = create_engine(Settings(database_url=url))
    now = datetime.now(UTC)
    people = {}
    try:
        for role in STAFF_ROLES:
            username = f"{role.value}-1"
            added = await accounts.add_staff(
                engine,
                username=username,
                password=PASSWORD,
                role=role,
                display_name=f"Staff {role.value}",
                organization="Organization/clinic-1",
                practitioner="Practitioner/staff-1",
                now=now,
            )
            people[role.value] = Person(username, role, totp_secret=added.totp_secret)
        for name, fin in (("leyla", "5ABC123"), ("tural", "7XYZ890")):
            await accounts.add_citizen(engine, username=name, password=PASSWORD, fin=fin, now=now)
            people[name] = Person(name, Role.CITIZEN, patient_id=name)
    finally:
        await engine.dispose()
    return people


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """A live server over a fresh SQLite database, and its people."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e') / 'shafa.db'}"
    migrate.upgrade(url)
    # The site fills its FHIR store through the API, without tokens.
    with LiveServer(Settings(database_url=url, fhir_auth_required=False)) as live:
        root = f"http://127.0.0.1:{live.port}"
        _put(root, {"resourceType": "Organization", "id": "clinic-1", "name": "Clinic 1"})
        _put(root, {"resourceType": "Practitioner", "id": "staff-1"})
        for patient, fin in (("leyla", "5ABC123"), ("tural", "7XYZ890")):
            identifier = [{"system": FIN_SYSTEM, "value": fin}]
            _put(root, {"resourceType": "Patient", "id": patient, "identifier": identifier})
        yield Site(root, asyncio.run(_add_people(url)), url)


@pytest.fixture(scope="package")
def browser(site: Site) -> Iterator[Browser]:
    """Chromium, headless, for the browser tests.

    Playwright's sync API keeps an event loop running in this thread while it lives, so it
    starts after the site's set-up (which runs its own loop) and ends with this package, before
    other tests call asyncio.run.
    """
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh browser context (no cookies) and page, desktop-sized."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the tests leave screenshots to look at (SHAFA_SCREENSHOTS to keep them)."""
    kept = os.environ.get("SHAFA_SCREENSHOTS")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("screenshots")
