"""A citizen lets an app into her record (SMART standalone launch), in a real browser."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from playwright.sync_api import Page, Route, expect

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.fhir.store import now
from shafa.security import oauth
from shafa.security.tokens import s256_challenge
from tests.e2e.conftest import PASSWORD, Site

CALLBACK = "https://app.example.az/callback"
STATE = "leyla-state-42"


def _register_app(site: Site) -> str:
    async def register() -> str:
        engine = create_engine(Settings(database_url=site.database_url))
        try:
            client, _ = await oauth.add_client(
                engine,
                "Sağlam Həyat",
                "patient/*.rs launch/patient openid fhirUser",
                now(),
                grant_types=("authorization_code",),
                redirect_uris=(CALLBACK,),
                public=True,
            )
        finally:
            await engine.dispose()
        return client.client_id

    # Playwright's loop runs in this thread: the registration gets a thread of its own.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, register()).result()


def test_a_citizen_follows_an_apps_link_signs_in_and_approves_it(
    page: Page, site: Site, screenshots: Path
) -> None:
    client_id = _register_app(site)
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": CALLBACK,
        "scope": "patient/*.rs launch/patient openid fhirUser",
        "state": STATE,
        "aud": f"{site.url}/fhir",
        "code_challenge": s256_challenge("e2e-verifier-0123456789-abcdefghijklmnopqrstuv"),
        "code_challenge_method": "S256",
    }
    arrived: list[str] = []

    def the_app(route: Route) -> None:
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="the app")

    page.route(f"{CALLBACK}**", the_app)
    page.goto(f"{site.url}/oauth2/authorize?{urlencode(query)}")
    assert urlsplit(page.url).path == "/login"
    # Azerbaijani by default: the labels of the sign-in form.
    page.get_by_label("İstifadəçi adı").fill("leyla")  # noqa: RUF001
    page.get_by_label("Şifrə").fill(PASSWORD)
    page.get_by_role("button", name="Daxil ol").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Sağlam Həyat")
    page.screenshot(path=screenshots / "consent-citizen-az.png", full_page=True)
    page.goto(page.url + "&lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Allow Sağlam Həyat to use your account?"
    )
    expect(page.locator(".asks li").first).to_have_text(
        "Read and search all of your health records"
    )
    page.screenshot(path=screenshots / "consent-citizen-en.png", full_page=True)
    page.get_by_role("button", name="Approve").click()

    page.wait_for_url(f"{CALLBACK}**")
    assert len(arrived) == 1
    answer = parse_qs(urlsplit(arrived[0]).query)
    assert answer["state"] == [STATE]
    assert answer["code"][0]
