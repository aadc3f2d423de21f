"""The audit log page in a real browser: the system administrator searches it, a doctor may not."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.security import accounts
from shafa.security.rules import Role
from tests.e2e.conftest import PASSWORD, Person, Site

# Azerbaijani uses the dotless ı on purpose.
# ruff: noqa: RUF001, RUF003


@pytest.fixture(scope="module")
def auditors(site: Site) -> dict[str, Person]:
    """A system administrator and a doctor of this module's own, so their one-time codes are
    not spent by the other tests (a code is accepted once)."""

    async def add(url: str) -> dict[str, Person]:
        engine = create_engine(Settings(database_url=url))
        people = {}
        try:
            for role in (Role.SYSTEM_ADMIN, Role.DOCTOR):
                username = f"audit-{role.value}"
                added = await accounts.add_staff(
                    engine, username=username, password=PASSWORD, role=role,
                    display_name=f"Auditor {role.value}", organization="Organization/clinic-1",
                    practitioner="Practitioner/staff-1", now=datetime.now(UTC),
                )  # fmt: skip
                people[role.value] = Person(username, role, totp_secret=added.totp_secret)
        finally:
            await engine.dispose()
        return people

    # Playwright's event loop may already run in this thread: the set-up gets one of its own.
    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, add(site.database_url)).result()


def sign_in(page: Page, site: Site, person: Person, lang: str) -> None:
    page.goto(f"{site.url}/login?lang={lang}")
    page.locator("#username").fill(person.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#totp").fill(person.code())
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(f"{site.url}/home")


def test_the_system_administrator_filters_the_log_by_action(
    page: Page, site: Site, auditors: dict[str, Person], screenshots: Path
) -> None:
    sign_in(page, site, auditors["system-admin"], "en")
    page.get_by_role("link", name="Audit log").click()
    expect(page).to_have_url(f"{site.url}/admin/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    expect(page.locator("caption")).to_contain_text("newest first")
    page.get_by_label("Action").select_option("login")
    page.get_by_role("button", name="Search").click()
    # HTMX swapped the results in and put the search in the address bar.
    expect(page).to_have_url(
        f"{site.url}/admin/audit?username=&client_id=&patient_id=&action=login&outcome=&since=&until="
    )
    rows = page.locator("#audit-results tbody tr")
    expect(rows.first).to_contain_text("sign-in")
    expect(page.locator("#audit-results tbody")).not_to_contain_text("search")
    assert rows.count() >= 1
    expect(rows.filter(has_text="Auditor system-admin").first).to_contain_text("system-admin")
    page.screenshot(path=screenshots / "audit-log-en.png", full_page=True)
    # A bad date is explained, in place.
    page.goto(f"{site.url}/admin/audit?since=2026-02-30")
    expect(page.get_by_role("alert")).to_contain_text("Write dates as year-month-day")
    page.goto(f"{site.url}/admin/audit?lang=az")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit jurnalı")
    expect(page.get_by_label("Əməliyyat")).to_be_visible()
    page.screenshot(path=screenshots / "audit-log-az.png", full_page=True)


def test_a_doctor_is_refused_the_log(page: Page, site: Site, auditors: dict[str, Person]) -> None:
    sign_in(page, site, auditors["doctor"], "en")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    answer = page.goto(f"{site.url}/admin/audit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    expect(page.locator("table")).to_have_count(0)
