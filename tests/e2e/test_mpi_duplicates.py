"""The registry administrator's "Possible duplicates" page in a real browser: a pair filed by the
writes of two records of one person is merged, and the data follows; a doctor may not look."""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.registries.citizens.rules import LANGUAGE_EXTENSION
from shafa.security import accounts
from shafa.security.rules import Role
from tests.e2e.conftest import PASSWORD, Person, Site
from tests.e2e.test_audit_page import sign_in

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001


@pytest.fixture(scope="module")
def keepers(site: Site) -> dict[str, Person]:
    """A registry administrator and a doctor of this module's own (one-time codes are spent
    once, so no other test's)."""

    async def add(url: str) -> dict[str, Person]:
        engine = create_engine(Settings(database_url=url))
        people = {}
        try:
            for role in (Role.REGISTRY_ADMIN, Role.DOCTOR):
                username = f"mpi-{role.value}"
                added = await accounts.add_staff(
                    engine, username=username, password=PASSWORD, role=role,
                    display_name=f"Keeper {role.value}", organization="Organization/clinic-1",
                    practitioner="Practitioner/staff-1", now=datetime.now(UTC),
                )  # fmt: skip
                people[role.value] = Person(username, role, totp_secret=added.totp_secret)
        finally:
            await engine.dispose()
        return people

    with ThreadPoolExecutor(1) as worker:
        return worker.submit(asyncio.run, add(site.database_url)).result()


def _put(site: Site, resource: dict) -> None:
    url = f"{site.url}/fhir/{resource['resourceType']}/{resource['id']}"
    answer = httpx.put(url, json=resource)
    assert answer.status_code in (200, 201), answer.text


def test_the_registry_administrator_merges_a_pair_and_the_data_follows(
    page: Page, site: Site, keepers: dict[str, Person], screenshots: Path
) -> None:
    # One man registered twice: in Azerbaijani at one clinic, in Russian at another, where
    # his day and month of birth were written the other way round, and a visit recorded there.
    _put(site, {
        "resourceType": "Patient", "id": "samir", "gender": "male", "birthDate": "1980-04-09",
        "name": [{"family": "Nəbiyev", "given": ["Samir", "Tofiq oğlu"]}],
        "address": [{"district": "Xətai"}],
    })  # fmt: skip
    _put(site, {
        "resourceType": "Patient", "id": "samir-ru", "gender": "male", "birthDate": "1980-09-04",
        "name": [{"family": "Набиев", "given": ["Самир", "Тофиг оглы"],
                  "extension": [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]}],
        "address": [{"district": "Xətai"}],
    })  # fmt: skip
    _put(site, {
        "resourceType": "Encounter", "id": "samir-visit", "status": "finished",
        "class": {"code": "AMB"}, "subject": {"reference": "Patient/samir-ru"},
    })  # fmt: skip

    sign_in(page, site, keepers["registry-admin"], "en")
    page.get_by_role("link", name="Possible duplicates").click()
    expect(page).to_have_url(f"{site.url}/registry/duplicates")
    pair = page.locator("section.pair").filter(has_text="Patient/samir-ru")
    expect(pair).to_be_visible()
    expect(pair.locator("tr.level-transposed")).to_contain_text("day and month swapped")
    expect(pair.locator("tr.level-folded").first).to_contain_text("the same in another spelling")
    expect(pair).to_contain_text("Набиев")
    page.screenshot(path=str(screenshots / "mpi-duplicates-en.png"), full_page=True)

    pair.get_by_role("button", name="Merge Patient/samir-ru into Patient/samir").click()
    expect(page.get_by_role("status")).to_have_text("The records were merged.")
    expect(page.locator("section.pair").filter(has_text="Patient/samir-ru")).to_have_count(0)
    merge_row = page.locator("table.merges tbody tr").filter(has_text="Patient/samir-ru")
    expect(merge_row).to_contain_text("Patient/samir")
    expect(merge_row.locator("td").nth(3)).to_have_text("1")
    page.screenshot(path=str(screenshots / "mpi-merged-en.png"), full_page=True)

    visit = httpx.get(f"{site.url}/fhir/Encounter/samir-visit").json()
    assert visit["subject"] == {"reference": "Patient/samir"}
    duplicate = httpx.get(f"{site.url}/fhir/Patient/samir-ru").json()
    assert duplicate["active"] is False
    assert duplicate["link"] == [{"other": {"reference": "Patient/samir"}, "type": "replaced-by"}]

    # The page in Azerbaijani, then the merge undone from it.
    page.goto(f"{site.url}/registry/duplicates?lang=az")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ehtimal olunan dublikatlar")
    merge_row.get_by_role("button", name="Birləşdirməni geri qaytar").click()
    expect(page.get_by_role("status")).to_have_text("Birləşdirmə geri qaytarıldı.")
    expect(page.locator("section.pair").filter(has_text="Patient/samir-ru")).to_be_visible()
    page.screenshot(path=str(screenshots / "mpi-unmerged-az.png"), full_page=True)
    visit = httpx.get(f"{site.url}/fhir/Encounter/samir-visit").json()
    assert visit["subject"] == {"reference": "Patient/samir-ru"}


def test_a_doctor_may_not_open_the_page(page: Page, site: Site, keepers: dict[str, Person]) -> None:
    sign_in(page, site, keepers["doctor"], "en")
    answer = page.goto(f"{site.url}/registry/duplicates")
    assert answer is not None and answer.status == 403
    expect(page.locator("main")).to_contain_text("Only registry administrators")
