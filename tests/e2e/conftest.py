"""Headless Chromium (Debian's, see the Makefile) driving a live Shafa over SQLite."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from shafa.config import Settings
from shafa.db import migrate
from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="package")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The root URL of a live server over a fresh SQLite database."""
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e') / 'shafa.db'}"
    migrate.upgrade(url)
    with LiveServer(Settings(database_url=url)) as live:
        yield f"http://127.0.0.1:{live.port}"


@pytest.fixture(scope="package")
def browser(site: str) -> Iterator[Browser]:
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
