"""The web shell in a real browser: language, layout, the sign-in form, safety headers."""

from pathlib import Path

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import Site

# Azerbaijani uses the dotless ı on purpose.
# ruff: noqa: RUF001, RUF003


def test_a_first_visit_is_in_azerbaijani(page: Page, site: Site, screenshots: Path) -> None:
    page.goto(site.url)
    expect(page.locator("html")).to_have_attribute("lang", "az")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sağlamlıq məlumatlarınız bir yerdə")
    expect(page.get_by_role("link", name="Azərbaycanca")).to_have_attribute("aria-current", "true")
    page.screenshot(path=screenshots / "home-az.png", full_page=True)


def test_the_language_switch_is_remembered_across_pages(
    page: Page, site: Site, screenshots: Path
) -> None:
    page.goto(site.url)
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your health record in one place")
    page.get_by_role("link", name="Sign in").first.click()
    expect(page).to_have_url(f"{site.url}/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    page.get_by_role("link", name="Русский").click()
    expect(page).to_have_url(f"{site.url}/login")  # back on the same page, now in Russian
    expect(page.get_by_role("heading", level=1)).to_have_text("Войти")
    expect(page.get_by_label("Имя пользователя")).to_be_visible()
    page.screenshot(path=screenshots / "login-ru.png", full_page=True)


def test_the_sign_in_form_is_labelled_for_every_field(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/login?lang=en")
    for label, kind in (("Username", "text"), ("Password", "password")):
        field = page.get_by_label(label)
        expect(field).to_be_visible()
        expect(field).to_have_attribute("required", "")
        if kind == "password":
            expect(field).to_have_attribute("type", "password")
    expect(page.get_by_label("One-time code")).to_have_attribute("aria-describedby", "totp-help")
    # Keyboard users reach the content first.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()


def test_it_fits_a_phone_screen(browser: Browser, site: Site, screenshots: Path) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True)
    page = context.new_page()
    for path in ("/", "/login"):
        page.goto(f"{site.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, (path, overflow)
    page.screenshot(path=screenshots / "login-phone-az.png", full_page=True)
    context.close()


def test_an_unknown_page_says_so_in_the_visitors_language(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/lang/ru")
    response = page.goto(f"{site.url}/no/such/page")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Страница не найдена")


def test_pages_forbid_framing_and_foreign_scripts(site: Site) -> None:
    answer = httpx.get(f"{site.url}/login")
    policy = answer.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert answer.headers["x-frame-options"] == "DENY"
    assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_language_switch_never_sends_visitors_elsewhere(site: Site) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        answer = httpx.get(f"{site.url}/lang/en", params={"next": target})
        assert answer.status_code == 303
        assert answer.headers["location"] == "/", target
    kept = httpx.get(f"{site.url}/lang/en", params={"next": "/login?x=1"})
    assert kept.headers["location"] == "/login?x=1"


def test_an_unknown_language_is_ignored(site: Site) -> None:
    answer = httpx.get(f"{site.url}/lang/xx", params={"next": "/"})
    assert "set-cookie" not in answer.headers
    page = httpx.get(f"{site.url}/", params={"lang": "<script>"})
    assert page.text.startswith('<!doctype html>\n<html lang="az">')
