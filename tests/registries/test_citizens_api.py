"""The citizens registry through the FHIR API, on SQLite and PostgreSQL: a Patient's FIN and the
registry's rules, one Patient a FIN even when writers race, and names found the way people type
them."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from shafa import registries
from shafa.config import Settings
from shafa.db.engine import create_engine, write_transaction
from shafa.fhir import store
from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from tests.conftest import Database, LiveServer
from tests.fhir.helpers import found, put

RUSSIAN = [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]


def citizen(fhir_id: str, fin: str | None, family: str, *given: str, **more: Any) -> dict:
    """A Patient with a FIN and an official name in Azerbaijani Latin."""
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id,
        "name": [{"use": "official", "family": family, "given": list(given)}],
    } | more
    if fin is not None:
        patient["identifier"] = [{"use": "official", "system": FIN_SYSTEM, "value": fin}]
    return patient


def by_fin(fhir: httpx.Client, fin: str) -> set[str]:
    return found(fhir, "Patient", {"identifier": f"{FIN_SYSTEM}|{fin}"})


def issues(response: httpx.Response) -> list[dict]:
    body = response.json()
    assert body["resourceType"] == "OperationOutcome", body
    return [issue for issue in body["issue"] if issue["severity"] == "error"]


# --- the FIN and the registry's rules ------------------------------------------------------------


@pytest.mark.parametrize("bad", ["5ABC12", "5abc123", "5ABCI23", "5ABC-12", "5ƏBC123", "5ABC1234"])
def test_a_malformed_fin_is_refused_naming_the_element_and_nothing_is_written(
    fhir: httpx.Client, bad: str
) -> None:
    created = fhir.post("/Patient", json=citizen("x", bad, "Əliyev"))
    assert created.status_code == 422
    (issue,) = issues(created)
    assert issue["expression"] == ["Patient.identifier[0].value"]
    assert "FIN" in issue["diagnostics"]
    assert fhir.put("/Patient/leyla", json=citizen("leyla", bad, "Əliyeva")).status_code == 422
    assert fhir.get("/Patient/leyla").status_code == 404
    assert fhir.get("/Patient").json()["total"] == 0
    assert by_fin(fhir, bad) == set()


def test_every_rule_broken_is_named_and_validate_tells_the_same(fhir: httpx.Client) -> None:
    broken = citizen(
        "tural",
        "5ABC123",
        "Алиев",
        birthDate="2999-01-01",
        deceasedDateTime="2000-01-01",
        telecom=[{"system": "phone", "value": "+994 50 12"}],
        address=[{"postalCode": "1000", "country": "AZ"}],
    )
    answer = fhir.put("/Patient/tural", json=broken)
    assert answer.status_code == 422
    expected = {
        "Patient.name[0].family",
        "Patient.birthDate",
        "Patient.deceasedDateTime",
        "Patient.telecom[0].value",
        "Patient.address[0].postalCode",
    }
    assert {i["expression"][0] for i in issues(answer)} == expected
    validated = fhir.post("/Patient/$validate", json=broken)
    assert validated.status_code == 200
    assert {i["expression"][0] for i in issues(validated)} == expected
    assert fhir.get("/Patient/tural").status_code == 404


def test_a_patch_that_breaks_a_rule_changes_nothing(fhir: httpx.Client) -> None:
    put(fhir, citizen("leyla", "5ABC123", "Məmmədova", "Leyla"))
    patch = [{"op": "replace", "path": "/identifier/0/value", "value": "5ABC12O"}]
    answer = fhir.patch(
        "/Patient/leyla", json=patch, headers={"Content-Type": "application/json-patch+json"}
    )
    assert answer.status_code == 422
    assert "the letter I or O" in answer.text
    assert fhir.get("/Patient/leyla").json()["meta"]["versionId"] == "1"
    assert by_fin(fhir, "5ABC123") == {"leyla"}


def test_a_transaction_with_one_bad_citizen_writes_none(fhir: httpx.Client) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": citizen("good", "5ABC123", "Əliyev"),
                "request": {"method": "PUT", "url": "Patient/good"},
            },
            {
                "resource": citizen("born-later", "7XYZ890", "Hüseynov", birthDate="2999"),
                "request": {"method": "PUT", "url": "Patient/born-later"},
            },
        ],
    }
    answer = fhir.post("/", json=bundle)
    assert answer.status_code == 422
    (issue,) = issues(answer)
    assert issue["expression"] == ["Bundle.entry[1].resource.birthDate"]
    assert fhir.get("/Patient").json()["total"] == 0


# --- one Patient a FIN ---------------------------------------------------------------------------


def test_a_second_patient_with_the_same_fin_is_refused_and_named(fhir: httpx.Client) -> None:
    put(fhir, citizen("leyla", "5ABC123", "Məmmədova", "Leyla"))
    twin = citizen("impostor", "5ABC123", "Həsənova", "Leyla")
    for answer in (fhir.put("/Patient/impostor", json=twin), fhir.post("/Patient", json=twin)):
        assert answer.status_code == 409
        (issue,) = issues(answer)
        assert issue["code"] == "duplicate"
        assert issue["expression"] == ["Patient.identifier[0]"]
        assert "FIN 5ABC123 is already held by Patient/leyla" in issue["diagnostics"]
    assert fhir.get("/Patient/impostor").status_code == 404
    assert by_fin(fhir, "5ABC123") == {"leyla"}


def test_the_fin_stays_with_its_patient_through_updates_and_is_freed_by_moving_or_deleting(
    fhir: httpx.Client,
) -> None:
    put(fhir, citizen("leyla", "5ABC123", "Məmmədova", "Leyla"))
    put(fhir, citizen("leyla", "5ABC123", "Məmmədova", "Leyla", gender="female"))  # keeps it
    # Conditional create by FIN finds the holder instead of making a second one.
    again = fhir.post(
        "/Patient",
        json=citizen("x", "5ABC123", "Məmmədova"),
        headers={"If-None-Exist": f"identifier={FIN_SYSTEM}|5ABC123"},
    )
    assert again.status_code == 200 and again.json()["id"] == "leyla"
    # Corrected: Leyla's FIN was mistyped; the right one is freed for its holder.
    put(fhir, citizen("leyla", "7XYZ890", "Məmmədova", "Leyla"))
    put(fhir, citizen("aynur", "5ABC123", "Quliyeva", "Aynur"))
    assert by_fin(fhir, "5ABC123") == {"aynur"} and by_fin(fhir, "7XYZ890") == {"leyla"}
    assert fhir.delete("/Patient/aynur").status_code in (200, 204)
    put(fhir, citizen("aynur-2", "5ABC123", "Quliyeva", "Aynur"))
    assert by_fin(fhir, "5ABC123") == {"aynur-2"}
    # Other Patients without a FIN (newborns, foreigners) are many and alike.
    put(fhir, citizen("baby-1", None, "Quliyeva"))
    put(fhir, citizen("baby-2", None, "Quliyeva"))


def test_a_transaction_may_move_a_fin_but_not_give_it_twice(fhir: httpx.Client) -> None:
    put(fhir, citizen("old", "5ABC123", "Əliyev"))

    def transaction(*patients: dict) -> httpx.Response:
        entries = [
            {"resource": p, "request": {"method": "PUT", "url": f"Patient/{p['id']}"}}
            for p in patients
        ]
        return fhir.post(
            "/", json={"resourceType": "Bundle", "type": "transaction", "entry": entries}
        )

    twice = transaction(citizen("a", "7XYZ890", "Əliyev"), citizen("b", "7XYZ890", "Vəliyev"))
    assert twice.status_code == 409
    (issue,) = issues(twice)
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier[0]"]
    assert "held by Patient/a" in issue["diagnostics"]
    stored_twice = transaction(citizen("c", "5ABC123", "Əliyev"))
    assert stored_twice.status_code == 409 and "held by Patient/old" in stored_twice.text
    moved = transaction(citizen("old", "7XYZ890", "Əliyev"), citizen("new", "5ABC123", "Əliyev"))
    assert moved.status_code == 200, moved.text
    assert by_fin(fhir, "5ABC123") == {"new"} and by_fin(fhir, "7XYZ890") == {"old"}
    assert fhir.get("/Patient", params={"_id": "a,b,c"}).json()["total"] == 0


def test_a_batch_refuses_the_second_holder_only(fhir: httpx.Client) -> None:
    entries = [
        {
            "resource": citizen(i, "5ABC123", "Əliyev"),
            "request": {"method": "PUT", "url": f"Patient/{i}"},
        }
        for i in ("first", "second")
    ]
    answer = fhir.post("/", json={"resourceType": "Bundle", "type": "batch", "entry": entries})
    assert answer.status_code == 200
    statuses = [e["response"]["status"] for e in answer.json()["entry"]]
    assert statuses[0].startswith("201") and statuses[1].startswith("409")
    assert by_fin(fhir, "5ABC123") == {"first"}


WRITERS = 8


def test_concurrent_creates_with_one_fin_make_one_patient(
    fhir: httpx.Client, server: LiveServer
) -> None:
    def create(number: int) -> int:
        body = citizen(f"racer-{number}", "5ABC123", "Əliyev", f"Racer {number}")
        with httpx.Client(base_url=server.base, timeout=60) as client:
            answer = client.put(
                f"/Patient/racer-{number}",
                content=json.dumps(body),
                headers={"Content-Type": "application/fhir+json"},
            )
            return answer.status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(create, range(WRITERS)))
    assert statuses == [201] + [409] * (WRITERS - 1)
    assert len(by_fin(fhir, "5ABC123")) == 1
    assert fhir.get("/Patient").json()["total"] == 1


def test_the_database_holds_one_fin_a_patient_when_two_transactions_race(
    fhir: httpx.Client, database: Database
) -> None:
    """Two transactions both pass the store's check (neither sees the other's uncommitted
    write); on PostgreSQL the unique index makes the second wait, then refuses it as a
    concurrent write, which the API retries into a 409. SQLite runs writers one at a time."""
    if database.backend != "postgresql":
        pytest.skip("SQLite's writers never overlap (BEGIN IMMEDIATE)")
    registries.install()

    def patient(fhir_id: str) -> store.Write:
        return store.Write("Patient", fhir_id, citizen(fhir_id, "5ABC123", "Əliyev"), "PUT")

    async def race() -> str:
        engine = create_engine(Settings(database_url=database.url))
        try:
            async with write_transaction(engine) as first:
                await store.apply_writes(first, [patient("first")], store.now())

                async def second() -> None:
                    async with write_transaction(engine) as conn:
                        await store.apply_writes(conn, [patient("second")], store.now())

                racing = asyncio.create_task(second())
                await asyncio.sleep(0.5)
                assert not racing.done()  # waiting on the index for the first to end
            try:
                await racing
            except store.ConcurrentWrite:
                return "refused"
            return "written"
        finally:
            await engine.dispose()

    assert asyncio.run(race()) == "refused"
    assert by_fin(fhir, "5ABC123") == {"first"}


# --- names as people type them -------------------------------------------------------------------


@pytest.fixture
def people(fhir: httpx.Client) -> httpx.Client:
    """Citizens with names written several ways, and a practitioner whose name is not folded."""
    for patient in (
        citizen("ilham", "5ABC123", "Əliyev", "İlham"),
        citizen("aysel", "7XYZ890", "Hüseynova", "Aysel"),
        citizen("rashad", "9QQQ999", "Məmmədov", "Rəşad"),
        citizen("vugar", "2BCD345", "Vəliyev", "Vüqar"),
        {
            "resourceType": "Patient",
            "id": "hasan",  # an old record, spelled in Russian only
            "name": [{"family": "Гасанов", "given": ["Гасан"], "extension": RUSSIAN}],
        },
        {
            "resourceType": "Patient",
            "id": "cafar",  # both spellings, as the registry keeps them
            "name": [
                {"use": "official", "family": "Cəfərov", "given": ["Cavid"]},
                {
                    "use": "official",
                    "family": "Джафаров",
                    "given": ["Джавид"],
                    "extension": RUSSIAN,
                },
            ],
        },
    ):
        put(fhir, patient)
    put(fhir, {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Əliyev"}]})
    return fhir


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"name": "aliyev"}, {"ilham"}),
        ({"name": "eliyev"}, {"ilham"}),
        ({"name": "Алиев"}, {"ilham"}),
        ({"name": "Əliyev"}, {"ilham"}),
        ({"name": "ali"}, {"ilham"}),
        ({"name": "guseynov"}, {"aysel"}),
        ({"name": "huseynov"}, {"aysel"}),
        ({"name": "Гусейнова"}, {"aysel"}),
        ({"name": "Гусейно"}, {"aysel"}),
        ({"name": "Мамедов"}, {"rashad"}),
        ({"name": "mamedov"}, {"rashad"}),
        ({"name": "Rashad"}, {"rashad"}),
        ({"name": "hasanov"}, {"hasan"}),
        ({"name": "Həsən"}, {"hasan"}),
        ({"family": "Jafarov"}, {"cafar"}),
        ({"family": "Джафаров"}, {"cafar"}),
        ({"family": "cavid"}, set()),  # a given name is not a family name
        ({"given": "Javid"}, {"cafar"}),
        ({"given": "ilham"}, {"ilham"}),
        ({"given": "Əliyev"}, set()),
        ({"phonetic": "guseinova"}, {"aysel"}),
        ({"phonetic": "Вугар"}, {"vugar"}),
        ({"name": "aliyev,huseynov"}, {"ilham", "aysel"}),  # OR
        ({"name": "aliyev", "given": "ilham"}, {"ilham"}),  # AND
        ({"name": "valiyev"}, {"vugar"}),
        ({"name:exact": "Əliyev"}, {"ilham"}),
        ({"name:exact": "Aliyev"}, set()),  # exact means exact
        ({"name:contains": "liyev"}, {"ilham", "vugar"}),
    ],
)
def test_names_are_found_as_people_type_them(
    people: httpx.Client, params: dict[str, str], expected: set[str]
) -> None:
    assert found(people, "Patient", params) == expected


def test_only_the_registry_s_parameters_fold(people: httpx.Client) -> None:
    # A Practitioner's name is matched as every string is: case and accents aside only.
    assert found(people, "Practitioner", {"name": "Əliyev"}) == {"dr"}
    assert found(people, "Practitioner", {"name": "aliyev"}) == set()


def test_a_chain_through_the_patient_folds_too(people: httpx.Client) -> None:
    put(
        people,
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "code": {"text": "blood pressure"},
            "subject": {"reference": "Patient/ilham"},
        },
    )
    assert found(people, "Observation", {"subject:Patient.name": "Алиев"}) == {"bp"}


def test_a_renamed_citizen_is_found_by_the_new_name_only(people: httpx.Client) -> None:
    put(people, citizen("aysel", "7XYZ890", "Quliyeva", "Aysel"))
    assert found(people, "Patient", {"name": "Гусейнова"}) == set()
    assert found(people, "Patient", {"name": "Кулиева"}) == {"aysel"}
