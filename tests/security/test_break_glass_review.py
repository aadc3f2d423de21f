"""Emergency accesses wait on the administrators' page until someone else reviews them."""

import re
from typing import Any

import httpx
from sqlalchemy import select

from shafa.fhir.store import now
from shafa.security import accounts, care
from shafa.security.rules import Role
from shafa.security.tables import break_glass
from tests.security.conftest import Realm
from tests.security.test_audit_pages import _session

REASON = "Unconscious in the emergency room, no relatives"


def _broken(realm: Realm, user_id: int) -> int:
    async def open_glass(engine: Any) -> int:
        async with engine.begin() as conn:
            glass = await care.break_the_glass(
                conn, user_id=user_id, role=Role.DOCTOR, patient_id="tural", reason=REASON,
                now=now(), audit_record=None,
            )  # fmt: skip
        return glass.id

    return realm.run(open_glass)


def _rows(realm: Realm) -> list[Any]:
    async def read(engine: Any) -> list[Any]:
        async with engine.connect() as conn:
            return list(await conn.execute(select(break_glass)))

    return realm.run(read)


def _csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found, page.text
    return found.group(1)


def test_an_administrator_reviews_an_emergency_access_once(realm: Realm) -> None:
    admin = _session(realm, "aysel", Role.SYSTEM_ADMIN)
    doctor = _session(realm, "rashad", Role.DOCTOR)
    glass = _broken(realm, _user_id(realm, "rashad"))

    page = admin.get("/admin/break-glass", params={"lang": "en"})
    assert page.status_code == 200
    assert REASON in page.text and "rashad" in page.text
    token = _csrf(page)
    review = f"/admin/break-glass/{glass}/review"

    forged = admin.post(review, data={"csrf_token": "forged", "note": "Checked"})
    assert forged.status_code == 403
    assert _rows(realm)[0].reviewed_at is None
    empty = admin.post(review, data={"csrf_token": token, "note": " "}, params={"lang": "en"})
    assert empty.status_code == 400 and "3 to 1000 characters" in empty.text
    refused = doctor.get("/admin/break-glass")
    assert refused.status_code == 403 and REASON not in refused.text

    done = admin.post(review, data={"csrf_token": token, "note": "Seen in the ER log: justified"})
    assert done.status_code == 303
    (row,) = _rows(realm)
    assert row.review_note == "Seen in the ER log: justified"
    assert row.reviewed_by == _user_id(realm, "aysel") and row.reviewed_at is not None
    assert REASON not in admin.get("/admin/break-glass").text
    again = admin.post(review, data={"csrf_token": token, "note": "Twice"}, params={"lang": "en"})
    assert again.status_code == 400 and "cannot be reviewed" in again.text


def test_nobody_reviews_their_own_emergency_access(realm: Realm) -> None:
    admin = _session(realm, "aysel", Role.SYSTEM_ADMIN)
    glass = _broken(realm, _user_id(realm, "aysel"))
    token = _csrf(admin.get("/admin/break-glass"))
    own = admin.post(
        f"/admin/break-glass/{glass}/review", data={"csrf_token": token, "note": "Fine"}
    )
    assert own.status_code == 400
    assert _rows(realm)[0].reviewed_at is None


def _user_id(realm: Realm, username: str) -> int:
    async def find(engine: Any) -> int:
        found = await accounts.user_id_of(engine, username)
        assert found is not None
        return int(found)

    return realm.run(find)


def test_payloads_in_the_review_form_are_text(realm: Realm) -> None:
    admin = _session(realm, "aysel", Role.SYSTEM_ADMIN)
    glass = _broken(realm, _doctor(realm))
    token = _csrf(admin.get("/admin/break-glass"))
    payload = "<script>alert(1)</script>' OR '1'='1'; DROP TABLE break_glass;--"
    unknown = admin.post(
        "/admin/break-glass/999999/review", data={"csrf_token": token, "note": payload}
    )
    assert unknown.status_code == 400
    assert "<script>alert(1)</script>" not in unknown.text
    done = admin.post(
        f"/admin/break-glass/{glass}/review", data={"csrf_token": token, "note": payload}
    )
    assert done.status_code == 303
    (row,) = _rows(realm)
    assert row.review_note == payload
    for path in ("/admin/break-glass/1 OR 1=1/review", "/admin/break-glass/-1/review"):
        assert admin.post(path, data={"csrf_token": token, "note": "x" * 10}).status_code in (
            400,
            404,
            422,
        )


def _doctor(realm: Realm) -> int:
    _session(realm, "rashad", Role.DOCTOR)
    return _user_id(realm, "rashad")
