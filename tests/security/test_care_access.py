"""Professionals see the data of the patients in their care, as the data itself says; the
patient's Consent hides what it hides; break-the-glass opens one patient, stated and flagged.

The country in miniature: Leyla is registered at clinic A (Dr Aysel's) and sees a psychiatrist
at the mental-health centre; Tural is nobody's patient yet. Dr Bəxtiyar works at clinic B.
Every assertion is made through the guarded FHIR API with the professional's own token.
"""

from typing import Any

import httpx
from sqlalchemy import select

from shafa.fhir.store import now
from shafa.security import accounts, audit
from shafa.security.tables import break_glass, care_links
from tests.security.country import Country, observation


def _ids(answer: httpx.Response) -> set[str]:
    assert answer.status_code == 200, answer.text
    return {
        f"{e['resource']['resourceType']}/{e['resource']['id']}"
        for e in answer.json().get("entry", [])
        if e.get("search", {}).get("mode") != "outcome"
    }


def _refused(answer: httpx.Response) -> None:
    assert answer.status_code == 403, answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


def test_a_doctor_sees_her_organisations_patients_and_nobody_elses(country: Country) -> None:
    aysel = country.as_("aysel")
    answer = aysel.get("/Observation/leyla-bp")
    assert answer.status_code == 200, answer.text
    assert aysel.get("/Observation/leyla-bp/_history/1").status_code == 200
    for url in ("/Observation/tural-bp", "/Observation/tural-bp/_history/1",
                "/Observation/tural-bp/_history", "/Observation/never-stored"):  # fmt: skip
        _refused(aysel.get(url))
    # She finds any citizen to start caring for them, but not their data.
    assert aysel.get("/Patient/tural").status_code == 200
    assert _ids(aysel.get("/Observation")) == {"Observation/leyla-bp"}
    assert aysel.get("/Observation", params={"_summary": "count"}).json()["total"] == 1
    assert _ids(aysel.get("/Observation", params={"code": "75622-1"})) == set()
    has = {"_has:Observation:subject:code": "75622-1"}
    assert _ids(aysel.get("/Patient", params=has)) == set()
    revinclude = {"_id": "tural", "_revinclude": "Observation:subject"}
    assert _ids(aysel.get("/Patient", params=revinclude)) == {"Patient/tural"}
    chain = {"subject:Patient.gender": "male"}
    assert _ids(aysel.get("/Observation", params=chain)) == set()
    assert _ids(aysel.get("/Observation/_history")) == {"Observation/leyla-bp"}
    assert "Observation/tural-bp" not in _ids(aysel.get("/_history"))
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/tural-bp"}},
        {"request": {"method": "GET", "url": "Observation?code=8480-6"}},
    ]}  # fmt: skip
    answer = aysel.post("", json=bundle).json()
    assert answer["entry"][0]["response"]["status"].startswith("403")
    found = {e["resource"]["id"] for e in answer["entry"][1]["resource"].get("entry", [])}
    assert found == {"leyla-bp"}


def test_the_patients_consent_hides_mental_health_from_all_but_her_psychiatrists(
    country: Country,
) -> None:
    aysel, psychiatrist = country.as_("aysel"), country.as_("psychiatrist")
    _refused(aysel.get("/Observation/leyla-mood"))
    hers = {"subject": "Patient/leyla"}
    assert _ids(aysel.get("/Observation", params=hers)) == {"Observation/leyla-bp"}
    assert aysel.get("/Observation", params=hers | {"_summary": "count"}).json()["total"] == 1
    assert psychiatrist.get("/Observation/leyla-mood").status_code == 200
    assert _ids(psychiatrist.get("/Observation", params={"subject": "Patient/leyla"})) == {
        "Observation/leyla-bp",
        "Observation/leyla-mood",
    }
    # Withdrawn, the Consent hides nothing any more.
    consent = country.system.get("/Consent/leyla-privacy").json()
    withdrawn = consent | {"status": "inactive"}
    assert country.system.put("/Consent/leyla-privacy", json=withdrawn).status_code == 200
    assert aysel.get("/Observation/leyla-mood").status_code == 200


def test_a_care_relationship_opens_the_record_and_ends_after_the_care(country: Country) -> None:
    bextiyar = country.as_("bextiyar")
    _refused(bextiyar.get("/Observation/leyla-bp"))
    visit = {
        "resourceType": "Encounter",
        "id": "leyla-at-b",
        "status": "in-progress",
        "class": {"code": "AMB"},
        "subject": {"reference": "Patient/leyla"},
        "serviceProvider": {"reference": "Organization/clinic-b"},
    }
    assert bextiyar.put("/Encounter/leyla-at-b", json=visit).status_code == 201
    assert bextiyar.get("/Observation/leyla-bp").status_code == 200
    long_ago = {"start": "2020-01-01T09:00:00Z", "end": "2020-01-01T10:00:00Z"}
    finished = visit | {"status": "finished", "period": long_ago}
    assert bextiyar.put("/Encounter/leyla-at-b", json=finished).status_code == 403
    # Finished long ago by the clinic's system: the relationship has ended.
    assert country.system.put("/Encounter/leyla-at-b", json=finished).status_code == 200
    _refused(bextiyar.get("/Observation/leyla-bp"))


def test_a_write_about_a_patient_not_in_ones_care_is_refused_and_changes_nothing(
    country: Country,
) -> None:
    bextiyar = country.as_("bextiyar")
    before = country.system.get("/Observation", params={"_summary": "count"}).json()["total"]
    _refused(bextiyar.post("/Observation", json=observation("x", "tural", "8480-6")))
    _refused(bextiyar.put("/Observation/tural-bp", json=observation("tural-bp", "tural", "1")))
    _refused(bextiyar.delete("/Observation/tural-bp"))
    # Moving someone's record to a patient of one's own is a write about both.
    _refused(bextiyar.put("/Observation/leyla-bp", json=observation("leyla-bp", "tural", "1")))
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": observation("y", "tural", "1"),
         "request": {"method": "POST", "url": "Observation"}},
    ]}  # fmt: skip
    _refused(bextiyar.post("", json=transaction))
    after = country.system.get("/Observation", params={"_summary": "count"}).json()["total"]
    assert after == before
    assert (
        country.system.get("/Observation/tural-bp").json()["code"]["coding"][0]["code"] == "8480-6"
    )


def test_break_the_glass_opens_one_patient_with_a_reason_and_is_flagged(
    country: Country,
) -> None:
    bextiyar = country.as_("bextiyar")
    _refused(bextiyar.get("/Observation/tural-hiv"))

    def glass(client: httpx.Client, reason: str, patient: str = "tural") -> httpx.Response:
        parameter = [{"name": "reason", "valueString": reason}]
        body = {"resourceType": "Parameters", "parameter": parameter}
        return client.post(f"/Patient/{patient}/$break-glass", json=body)

    assert glass(bextiyar, "urgent").status_code == 400  # too short to judge
    assert glass(bextiyar, "Unconscious in the emergency room", "nobody").status_code == 404
    _refused(glass(country.as_("pharmacist"), "I would like to see his record please"))
    opened = glass(bextiyar, "Unconscious in the emergency room, no relatives")
    assert opened.status_code == 200, opened.text
    assert bextiyar.get("/Observation/tural-hiv").status_code == 200
    assert _ids(bextiyar.get("/Observation", params={"subject": "Patient/tural"})) == {
        "Observation/tural-bp",
        "Observation/tural-hiv",
    }
    # One patient only: Leyla stays closed to him.
    _refused(bextiyar.get("/Observation/leyla-bp"))

    async def flagged(engine: Any) -> tuple[list[Any], list[audit.StoredRecord]]:
        async with engine.connect() as conn:
            rows = list(await conn.execute(select(break_glass)))
            page = await audit.search_log(conn, action=audit.Action.BREAK_GLASS)
        return rows, page.records

    rows, records = country.realm.run(flagged)
    assert [(r.patient_id, r.reviewed_at) for r in rows] == [("tural", None)]
    assert rows[0].user_id == country.users["bextiyar"]
    (record,) = records
    assert record.entry.purpose == "ETREAT"
    assert record.entry.reason == "Unconscious in the emergency room, no relatives"
    assert record.entry.patients == ("tural",)
    assert rows[0].audit_record == record.id


def test_roles_without_care_see_no_patient_data(country: Country) -> None:
    analyst = country.as_("analyst")
    assert _ids(analyst.get("/Observation")) == set()
    _refused(analyst.get("/Patient/leyla"))
    assert analyst.get("/Organization/clinic-a").status_code == 200
    # A pharmacist of clinic B has no relationship with Leyla either.
    _refused(country.as_("pharmacist").get("/Observation/leyla-bp"))


def test_a_locked_accounts_token_is_refused(country: Country) -> None:
    token = country.token_of("aysel")
    country.realm.run(lambda engine: accounts.lock(engine, "aysel", now()))
    answer = country.fhir(token).get("/Observation/leyla-bp")
    assert answer.status_code == 401, answer.text


def test_care_links_follow_the_resources_that_state_them(country: Country) -> None:
    async def links(engine: Any) -> set[tuple[str, str | None, str]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(care_links))
            return {(r.patient_id, r.organization_id, r.source_type) for r in rows}

    assert country.realm.run(links) == {
        ("leyla", "clinic-a", "Patient"),
        ("leyla", "mind", "Encounter"),
    }
    assert country.system.delete("/Encounter/leyla-at-mind").status_code == 200
    assert country.realm.run(links) == {("leyla", "clinic-a", "Patient")}


def test_conditional_writes_neither_find_nor_return_what_one_may_not_see(country: Country) -> None:
    aysel = country.as_("aysel")
    probe = observation("probe", "tural", "75622-1")
    del probe["id"]
    exists = {"If-None-Exist": "code=75622-1&subject=Patient/tural"}
    answer = aysel.post("/Observation", json=probe, headers=exists)
    _refused(answer)
    assert "tural-hiv" not in answer.text
    # Within her care the same request finds the match, as a conditional create should.
    mine = observation("again", "leyla", "8480-6")
    del mine["id"]
    found = aysel.post(
        "/Observation", json=mine, headers={"If-None-Exist": "subject=Patient/leyla&code=8480-6"}
    )
    assert found.status_code == 200 and found.json()["id"] == "leyla-bp"
    # A conditional update cannot reach another patient's resource through its criteria either.
    update = aysel.put(
        "/Observation", params={"code": "75622-1", "subject": "Patient/tural"}, json=probe
    )
    _refused(update)
    assert (
        country.system.get("/Observation", params={"code": "75622-1", "_summary": "count"}).json()[
            "total"
        ]
        == 1
    )
