"""The "Possible duplicates" page over plain HTTP, on SQLite and PostgreSQL: the registry
administrator sees the pairs and decides with the session's CSRF token; a doctor may not look;
a refused decision is a message and changes nothing. tests/e2e drives it in a browser."""

# Azerbaijani and Russian letters are the subject.

import re

import httpx

from shafa.security import audit
from shafa.security.rules import Role
from tests.fhir.helpers import put
from tests.registries.test_citizens_page import _session
from tests.registries.test_mpi_api import RUSSIAN, citizen
from tests.security.conftest import Realm


def _token(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_the_registry_administrator_decides_with_the_form_token(realm: Realm) -> None:
    fhir = httpx.Client(base_url=realm.server.base, timeout=60)
    put(fhir, citizen("eli", "Əliyev", "Əli"))
    put(fhir, citizen("eli-ru", "Алиев", "Али", "1985-07-03", language=RUSSIAN))
    keeper, keeper_id = _session(realm, "keeper", Role.REGISTRY_ADMIN)
    page = keeper.get("/registry/duplicates?lang=en")
    assert page.status_code == 200
    assert "Patient/eli · Patient/eli-ru" in page.text
    assert "day and month swapped" in page.text and "Алиев" in page.text
    review_id = re.search(r'action="/registry/duplicates/(\d+)/merge"', page.text)
    assert review_id is not None
    merge_url = f"/registry/duplicates/{review_id.group(1)}/merge"

    forged = keeper.post(merge_url, data={"survivor": "eli", "csrf_token": "forged"})
    assert forged.status_code == 403
    assert "link" not in fhir.get("/Patient/eli-ru").json()

    token = _token(page)
    done = keeper.post(merge_url, data={"survivor": "eli", "csrf_token": token})
    assert done.status_code == 303
    assert done.headers["location"] == "/registry/duplicates?done=merged"
    assert fhir.get("/Patient/eli-ru").json()["link"][0]["type"] == "replaced-by"
    again = keeper.post(merge_url + "?lang=en", data={"survivor": "eli", "csrf_token": token})
    assert again.status_code == 409
    assert "already merged into another one" in again.text

    shown = [
        r for r in realm.run(lambda e: _log(e, audit.Action.SEARCH)) if r.entry.user_id == keeper_id
    ]
    assert shown and set(shown[-1].entry.patients) == {"eli", "eli-ru"}


def test_a_doctor_may_not_look_and_is_recorded(realm: Realm) -> None:
    doctor, doctor_id = _session(realm, "aysel", Role.DOCTOR)
    answer = doctor.get("/registry/duplicates?lang=en")
    assert answer.status_code == 403
    assert "Only registry administrators" in answer.text
    refused = realm.run(lambda e: _log(e, audit.Action.ACCESS_REFUSED))
    assert [r.entry.user_id for r in refused] == [doctor_id]
    assert doctor.post("/registry/duplicates/1/not-duplicate", data={}).status_code == 403


async def _log(engine: object, action: audit.Action) -> list[audit.StoredRecord]:
    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return (await audit.search_log(conn, limit=100, action=action)).records
