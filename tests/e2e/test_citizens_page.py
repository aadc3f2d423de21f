"""The "Find a citizen" page in a real browser: a doctor finds a citizen by a Russian spelling
of the name and by FIN, in Azerbaijani, English and Russian."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from shafa.security import accounts
from shafa.security.rules import Role
from tests.e2e.conftest import PASSWORD, Person, Site
from tests.e2e.test_audit_page import sign_in

CITIZENS = [
    {
        "resourceType": "Patient",
        "id": "e2e-huseynov",
        "identifier": [{"system": FIN_SYSTEM, "value": "2HQK7M4"}],
        "name": [
            {"use": "official", "family": "Hüseynov", "given": ["Rəşad", "Əli oğlu"]},
            {
                "use": "official",
                "family": "Гусейнов",
                "given": ["Рашад"],
                "extension": [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}],
            },
        ],
        "gender": "male",
        "birthDate": "1987-06-15",
        "address": [{"use": "home", "district": "Yasamal", "city": "Bakı", "country": "AZ"}],
    },
    {
        "resourceType": "Patient",
        "id": "e2e-huseynova",
        "identifier": [{"system": FIN_SYSTEM, "value": "6TRW2P9"}],
        "name": [{"use": "official", "family": "Hüseynova", "given": ["Günel"]}],
        "gender": "female",
        "birthDate": "1992-01-30",
        "address": [{"use": "home", "city": "Sumqayıt", "postalCode": "AZ5000", "country": "AZ"}],
    },
    {
        "resourceType": "Patient",
        "id": "e2e-hasanov",
        "identifier": [{"system": FIN_SYSTEM, "value": "3MNB8C1"}],
        "name": [{"use": "official", "family": "Həsənov", "given": ["Elçin"]}],
        "gender": "male",
        "birthDate": "1975-09-02",
    },
]


@pytest.fixture(scope="module")
def doctor(site: Site) -> Person:
    """A doctor of this module's own (a one-time code is accepted once), and citizens."""
    for citizen in CITIZENS:
        answer = httpx.put(f"{site.url}/fhir/Patient/{citizen['id']}", json=citizen)
        assert answer.status_code in (200, 201), answer.text

    async def add(url: str) -> Person:
        engine = create_engine(Settings(database_url=url))
        try:
            added = await accounts.add_staff(
                engine, username="citizens-doctor", password=PASSWORD, role=Role.DOCTOR,
                display_name="Dr Nərgiz Quliyeva", organization="Organization/clinic-1",
                practitioner="Practitioner/staff-1", now=datetime.now(UTC),
            )  # fmt: skip
        finally:
            await engine.dispose()
        return Person("citizens-doctor", Role.DOCTOR, totp_secret=added.totp_secret)

    # Playwright's event loop may already run in this thread: the set-up gets one of its own.
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, add(site.database_url)).result()


def test_a_doctor_finds_a_citizen_by_any_spelling_and_by_fin(
    page: Page, site: Site, doctor: Person, screenshots: Path
) -> None:
    sign_in(page, site, doctor, "en")
    page.get_by_role("link", name="Find a citizen").click()
    expect(page).to_have_url(f"{site.url}/registry/citizens")
    expect(page.get_by_role("heading", level=1)).to_have_text("Find a citizen")
    # The Russian spelling of the family name finds both Hüseynovs, by the Latin name.
    page.get_by_label("FIN or name").fill("Гусейнов")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(
        f"{site.url}/registry/citizens?q=%D0%93%D1%83%D1%81%D0%B5%D0%B9%D0%BD%D0%BE%D0%B2"
    )
    rows = page.locator("#citizen-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("2HQK7M4")
    expect(rows.first).to_contain_text("Hüseynov Rəşad Əli oğlu")
    expect(rows.first).to_contain_text("1987-06-15")
    expect(rows.first).to_contain_text("Male")
    expect(rows.first).to_contain_text("Yasamal")
    expect(rows.nth(1)).to_contain_text("Hüseynova Günel")
    expect(rows.nth(1)).to_contain_text("Sumqayıt")
    expect(page.locator("#citizen-results")).not_to_contain_text("Həsənov")
    page.screenshot(path=screenshots / "find-a-citizen-en.png", full_page=True)
    # And as it is typed without Azerbaijani letters, or by FIN in lower case.
    page.get_by_label("FIN or name").fill("huseynov rashad")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("2HQK7M4")
    page.get_by_label("FIN or name").fill("3mnb8c1")
    page.get_by_role("button", name="Search").click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Həsənov Elçin")
    # In Russian, the Russian spelling is shown; in Azerbaijani, the page speaks Azerbaijani.
    page.goto(f"{site.url}/registry/citizens?q=huseynov&lang=ru")
    expect(page.get_by_role("heading", level=1)).to_have_text("Поиск гражданина")
    expect(rows.first).to_contain_text("Гусейнов Рашад")
    expect(rows.first).to_contain_text("Мужской")
    page.screenshot(path=screenshots / "find-a-citizen-ru.png", full_page=True)
    page.goto(f"{site.url}/registry/citizens?q=Zeynalov&lang=az")
    expect(page.get_by_role("heading", level=1)).to_have_text("Vətəndaş axtarışı")
    expect(page.locator("#citizen-results")).to_contain_text("Uyğun vətəndaş yoxdur")
