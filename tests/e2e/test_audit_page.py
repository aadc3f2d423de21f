"""The audit log page in a real browser: the system administrator searches it, a doctor may not."""

import time
from pathlib import Path

import pyotp
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PASSWORD, Person, Site

# Azerbaijani uses the dotless ı on purpose.
# ruff: noqa: RUF001, RUF003


def sign_in_next_step(page: Page, site: Site, person: Person, lang: str) -> None:
    """Sign in with the code of the next time step: other tests of the package may already have
    used this step's code, and a code is accepted once (the server allows one step of drift)."""
    assert person.totp_secret is not None
    code = pyotp.TOTP(person.totp_secret).at(time.time() + 30)
    page.goto(f"{site.url}/login?lang={lang}")
    page.locator("#username").fill(person.username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#totp").fill(code)
    page.locator("form.form button[type=submit]").click()
    expect(page).to_have_url(f"{site.url}/home")


def test_the_system_administrator_filters_the_log_by_action(
    page: Page, site: Site, screenshots: Path
) -> None:
    sign_in_next_step(page, site, site.people["system-admin"], "en")
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
    expect(rows.filter(has_text="Staff system-admin").first).to_contain_text("system-admin")
    page.screenshot(path=screenshots / "audit-log-en.png", full_page=True)
    # A bad date is explained, in place.
    page.goto(f"{site.url}/admin/audit?since=2026-02-30")
    expect(page.get_by_role("alert")).to_contain_text("Write dates as year-month-day")
    page.goto(f"{site.url}/admin/audit?lang=az")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit jurnalı")
    expect(page.get_by_label("Əməliyyat")).to_be_visible()
    page.screenshot(path=screenshots / "audit-log-az.png", full_page=True)


def test_a_doctor_is_refused_the_log(page: Page, site: Site) -> None:
    sign_in_next_step(page, site, site.people["doctor"], "en")
    expect(page.get_by_role("link", name="Audit log")).to_have_count(0)
    answer = page.goto(f"{site.url}/admin/audit")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not for your role")
    expect(page.locator("table")).to_have_count(0)
