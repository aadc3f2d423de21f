"""Signing in as each role, signing out, and what a citizen may open: in a real browser."""

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from shafa.security.rules import STAFF_ROLES
from tests.e2e.conftest import PASSWORD, Person, Site

HOME_TITLES = {
    "doctor": "Doctor's desk",
    "nurse": "Nurse's desk",
    "pharmacist": "Pharmacy counter",
    "laboratory": "Laboratory",
    "call-center-operator": "Call centre",
    "agency-officer": "Agency desk",
    "analyst": "Analytics",
    "ministry-staff": "Ministry overview",
    "registry-admin": "Registries",
    "system-admin": "System administration",
    "citizen": "My health record",
}


def sign_in(page: Page, site: Site, person: Person, password: str = PASSWORD) -> None:
    page.goto(f"{site.url}/login?lang=en")
    page.get_by_label("Username").fill(person.username)
    page.get_by_label("Password").fill(password)
    page.get_by_label("One-time code").fill(person.code())
    page.get_by_role("button", name="Sign in").click()


@pytest.mark.parametrize("role", [role.value for role in STAFF_ROLES])
def test_each_staff_role_signs_in_with_a_code_and_reaches_its_home(
    page: Page, site: Site, role: str, screenshots: Path
) -> None:
    sign_in(page, site, site.people[role])
    expect(page).to_have_url(f"{site.url}/home")
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME_TITLES[role])
    expect(page.locator(".lead")).to_have_attribute("data-role", role)
    if role == "doctor":
        page.screenshot(path=screenshots / "home-doctor-en.png", full_page=True)


def test_a_citizen_signs_in_without_a_code_and_signs_out(
    page: Page, site: Site, screenshots: Path
) -> None:
    sign_in(page, site, site.people["leyla"])
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME_TITLES["citizen"])
    page.screenshot(path=screenshots / "home-citizen-en.png", full_page=True)
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{site.url}/")
    page.goto(f"{site.url}/home")
    expect(page).to_have_url(f"{site.url}/login")  # the session is gone


def test_staff_without_the_code_are_asked_for_it(page: Page, site: Site) -> None:
    nurse = site.people["nurse"]
    page.goto(f"{site.url}/login?lang=en")
    page.get_by_label("Username").fill(nurse.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Enter the one-time code from your authenticator app."
    )
    expect(page.get_by_label("Username")).to_have_value(nurse.username)


def test_a_citizen_cannot_open_another_citizens_page_by_editing_the_url(
    page: Page, site: Site
) -> None:
    sign_in(page, site, site.people["tural"])
    page.get_by_role("link", name="Who accessed my record").click()
    expect(page).to_have_url(f"{site.url}/citizens/tural/access")
    answer = page.goto(f"{site.url}/citizens/leyla/access")
    assert answer is not None and answer.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Not yours to see")
    # Leyla sees the attempt in her own list.
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, site, site.people["leyla"])
    page.goto(f"{site.url}/citizens/leyla/access")
    row = page.get_by_role("row").filter(has_text="access-refused")
    expect(row.first).to_contain_text("citizen")


def test_a_wrong_password_says_so_and_five_lock_the_account(page: Page, site: Site) -> None:
    victim = site.people["analyst"]
    for _ in range(5):
        sign_in(page, site, victim, password="not the password at all")
        expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    sign_in(page, site, victim)  # the right password, too late
    expect(page.get_by_role("alert")).to_contain_text("Too many failed attempts")
    expect(page).to_have_url(f"{site.url}/login")


def test_forms_refuse_a_post_without_their_csrf_token(site: Site) -> None:
    person = site.people["leyla"]
    forged = httpx.post(
        f"{site.url}/login", data={"username": person.username, "password": PASSWORD}
    )
    assert forged.status_code == 403
    with httpx.Client(base_url=site.url) as browser:
        form = browser.get("/login")
        token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
        signed_in = browser.post(
            "/login",
            data={"username": person.username, "password": PASSWORD, "csrf_token": token},
        )
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/home"
        cookie = signed_in.cookies["shafa_session"]
        assert "httponly" in signed_in.headers["set-cookie"].lower()
        # Another site's page posting to /logout has no session token: the session survives.
        assert browser.post("/logout", data={"csrf_token": "guess"}).status_code == 403
        assert browser.get("/home").status_code == 200
        assert cookie


def test_script_in_a_username_is_shown_as_text(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login?lang=en")
    payload = "<script>window.hacked=1</script>"
    page.get_by_label("Username").fill(payload)
    page.get_by_label("Password").fill("whatever it is here")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Username")).to_have_value(payload)
    assert page.evaluate("window.hacked === undefined")
