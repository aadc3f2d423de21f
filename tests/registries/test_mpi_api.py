"""The master patient index over real HTTP on SQLite and PostgreSQL: Patient/$match, the review
queue filled by Patient writes, merge and unmerge through the store, and every refusal leaving
nothing written."""

# Azerbaijani and Russian letters are the subject.

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from shafa.config import Settings
from shafa.db.engine import create_engine
from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from tests.conftest import Database
from tests.fhir.helpers import found, put

MATCH_GRADE = "http://hl7.org/fhir/StructureDefinition/match-grade"
RUSSIAN = [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]


def citizen(
    fhir_id: str | None,
    family: str,
    given: str,
    birth: str = "1985-03-07",
    *,
    sex: str = "male",
    fin: str | None = None,
    district: str = "Yasamal",
    language: list[dict[str, str]] | None = None,
    **more: Any,
) -> dict[str, Any]:
    name: dict[str, Any] = {"family": family, "given": [given]}
    if language:
        name["extension"] = language
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "name": [name],
        "gender": sex,
        "birthDate": birth,
        "address": [{"district": district}],
    } | more
    if fhir_id:
        patient["id"] = fhir_id
    if fin:
        patient["identifier"] = [{"system": FIN_SYSTEM, "value": fin}]
    return patient


def sql(database: Database, query: str, **params: Any) -> list[Any]:
    """Rows of a query on the test server's database."""

    async def run() -> list[Any]:
        engine = create_engine(Settings(database_url=database.url))
        try:
            async with engine.connect() as conn:
                return list(await conn.execute(text(query), params))
        finally:
            await engine.dispose()

    return asyncio.run(run())


def match(fhir: httpx.Client, patient: dict[str, Any], **options: Any) -> httpx.Response:
    parameters: list[dict[str, Any]] = [{"name": "resource", "resource": patient}]
    if "only_certain" in options:
        parameters.append({"name": "onlyCertainMatches", "valueBoolean": options["only_certain"]})
    if "count" in options:
        parameters.append({"name": "count", "valueInteger": options["count"]})
    return fhir.post(
        "/Patient/$match", json={"resourceType": "Parameters", "parameter": parameters}
    )


def graded(response: httpx.Response) -> list[tuple[str, str, float]]:
    """(id, grade, score) of each match, in the answer's order."""
    assert response.status_code == 200, response.text
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "searchset")
    found = []
    for entry in bundle["entry"]:
        if entry["search"]["mode"] != "match":
            continue
        (extension,) = entry["search"]["extension"]
        assert extension["url"] == MATCH_GRADE
        assert 0 <= entry["search"]["score"] <= 1
        found.append((entry["resource"]["id"], extension["valueCode"], entry["search"]["score"]))
    return found


def register(fhir: httpx.Client, *patients: dict[str, Any]) -> None:
    for patient in patients:
        put(fhir, patient)


PHONE = [{"system": "phone", "value": "+994 50 123 45 67"}]
REGISTRY = (
    citizen("eli", "Əliyev", "Əli", fin="5ABC123", telecom=PHONE),
    citizen("leyla", "Hüseynova", "Leyla", "1990-11-21", sex="female", fin="7XYZ890"),
    citizen("tural", "Məmmədov", "Tural", "1978-06-30", district="Quba"),
)  # fmt: skip


# --- $match ------------------------------------------------------------------------------------


def test_match_finds_the_citizen_however_the_name_is_spelled(fhir: httpx.Client) -> None:
    register(fhir, *REGISTRY)
    russian = citizen(None, "Алиев", "Али", language=RUSSIAN)
    ((first, grade, score),) = graded(match(fhir, russian))
    assert (first, grade) == ("eli", "certain") and score > 0.99
    # Day and month swapped, a Russian record of Hüseynova: probable, still the best.
    guseynova = citizen(None, "Гусейнова", "Лейла", "1990-11-21", sex="female", language=RUSSIAN)
    assert [g[:2] for g in graded(match(fhir, guseynova))] == [("leyla", "certain")]
    swapped = citizen(None, "Əliyev", "Əli", "1985-07-03")
    ((first, grade, score),) = graded(match(fhir, swapped))
    assert (first, grade) == ("eli", "probable") and 0.5 < score < 0.99
    # Məmmədova is not Tural, nor anyone else here.
    assert (
        graded(match(fhir, citizen(None, "Məmmədova", "Aynur", "2001-01-01", sex="female"))) == []
    )


def test_a_fin_decides_alone(fhir: httpx.Client) -> None:
    register(fhir, *REGISTRY)
    by_fin = {"resourceType": "Patient", "identifier": [{"system": FIN_SYSTEM, "value": "5ABC123"}]}
    assert graded(match(fhir, by_fin)) == [("eli", "certain", 1.0)]
    # The same demographics under another FIN: another person, shown as certainly not.
    twin = citizen(None, "Əliyev", "Əli", fin="9QWE456")
    assert graded(match(fhir, twin)) == [("eli", "certainly-not", 0.0)]


def test_only_certain_matches_and_count(fhir: httpx.Client) -> None:
    register(fhir, *REGISTRY, citizen("eli-2", "Əliyev", "Əli", "1985-03-17"))
    asked = citizen(None, "Əliyev", "Əli", "1985-03-07")
    assert [g[:2] for g in graded(match(fhir, asked))] == [
        ("eli", "certain"),
        ("eli-2", "possible"),
    ]
    assert [g[0] for g in graded(match(fhir, asked, only_certain=True))] == ["eli"]
    assert [g[0] for g in graded(match(fhir, asked, count=1))] == ["eli"]
    # No single certain match: none, and an outcome saying why.
    answer = match(fhir, citizen(None, "Əliyev", "Əli", "1985-07-03"), only_certain=True)
    assert graded(answer) == []
    (entry,) = answer.json()["entry"]
    assert entry["search"]["mode"] == "outcome"


def _asking(*parameters: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "Parameters", "parameter": list(parameters)}


ELI = {"resourceType": "Patient", "name": [{"family": "Əliyev", "given": ["Əli"]}]}


@pytest.mark.parametrize(
    ("body", "expression"),
    [
        (_asking(), "resource"),
        ({"resourceType": "Patient"}, "Parameters"),
        (
            _asking({"name": "resource", "resource": {"resourceType": "Observation"}}),
            "resourceType",
        ),
        (
            _asking(
                {"name": "resource", "resource": {"resourceType": "Patient", "gender": "male"}}
            ),
            "Parameters.parameter.resource",
        ),
        (
            _asking({"name": "resource", "resource": ELI}, {"name": "count", "valueInteger": 0}),
            "Parameters.parameter.count",
        ),
    ],
)
def test_a_bad_match_request_is_a_400_naming_what(
    fhir: httpx.Client, body: dict[str, Any], expression: str
) -> None:
    answer = fhir.post("/Patient/$match", json=body)
    assert answer.status_code == 400, answer.text
    (issue,) = answer.json()["issue"]
    assert issue["expression"] == [expression]


def test_match_is_a_patient_type_operation(fhir: httpx.Client) -> None:
    assert fhir.post("/Observation/$match", json={}).status_code == 404
    assert fhir.post("/Patient/eli/$match", json={}).status_code == 404
    statement = fhir.get("/metadata").json()
    (patient,) = [r for r in statement["rest"][0]["resource"] if r["type"] == "Patient"]
    assert {"match", "merge", "unmerge", "not-duplicate"} <= {
        o["name"] for o in patient["operation"]
    }


# --- the review queue ----------------------------------------------------------------------------


def reviews(database: Database) -> list[Any]:
    return sql(
        database,
        "SELECT patient_a, patient_b, grade, status, agreement FROM mpi_reviews "
        "ORDER BY patient_a, patient_b",
    )


def test_a_write_in_the_review_band_files_a_review_item_once(
    fhir: httpx.Client, database: Database
) -> None:
    register(fhir, *REGISTRY)
    assert reviews(database) == []
    put(fhir, citizen("eli-swapped", "Aliyev", "Ali", "1985-07-03"))
    ((a, b, grade, status, agreement),) = reviews(database)
    assert (a, b, grade, status) == ("eli", "eli-swapped", "probable", "open")
    assert '"birth_date":"transposed"' in agreement and '"family":"folded"' in agreement
    # Written again: the same item, refreshed; a stranger files none.
    put(fhir, citizen("eli-swapped", "Aliyev", "Ali", "1985-07-03", district="Nəsimi"))
    put(fhir, citizen("aynur", "Məmmədova", "Aynur", "2001-01-01", sex="female"))
    ((_, _, grade, status, agreement),) = reviews(database)
    assert (grade, status) == ("possible", "open")
    assert '"district":"different"' in agreement
    # A transaction of near-duplicates files its pairs too.
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": p, "request": {"method": "PUT", "url": f"Patient/{p['id']}"}}
            for p in (
                citizen("sona-1", "Quliyeva", "Sona", "1999-02-03", sex="female"),
                citizen("sona-2", "Гулиева", "Сона", "1999-03-02", sex="female", language=RUSSIAN),
            )
        ],
    }
    assert fhir.post("", json=bundle).status_code == 200
    assert [(r[0], r[1]) for r in reviews(database)] == [
        ("eli", "eli-swapped"),
        ("sona-1", "sona-2"),
    ]
    # Deleted, a Patient is nobody's duplicate: its open item goes.
    assert fhir.delete("/Patient/eli-swapped").status_code in (200, 204)
    assert [(r[0], r[1]) for r in reviews(database)] == [("sona-1", "sona-2")]


def test_not_duplicate_closes_the_item_for_good(fhir: httpx.Client, database: Database) -> None:
    register(fhir, *REGISTRY, citizen("eli-2", "Əliyev", "Əli", "1985-03-17"))
    answer = fhir.post(
        "/Patient/$not-duplicate",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueReference": {"reference": "Patient/eli-2"}},
                {"name": "other-patient", "valueReference": {"reference": "Patient/eli"}},
            ],
        },
    )
    assert answer.status_code == 200, answer.text
    put(fhir, citizen("eli-2", "Əliyev", "Əli", "1985-03-17", district="Xətai"))
    assert [(r[0], r[1], r[3]) for r in reviews(database)] == [("eli", "eli-2", "not-duplicate")]
    again = fhir.post(
        "/Patient/$not-duplicate",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "patient", "valueReference": {"reference": "Patient/eli"}},
                {"name": "other-patient", "valueReference": {"reference": "Patient/eli-2"}},
            ],
        },
    )
    assert again.status_code == 409


# --- merge and unmerge ---------------------------------------------------------------------------


def merge(fhir: httpx.Client, duplicate: str, survivor: str) -> httpx.Response:
    return fhir.post(
        "/Patient/$merge",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "source-patient", "valueReference": {"reference": f"Patient/{duplicate}"}},
                {"name": "target-patient", "valueReference": {"reference": f"Patient/{survivor}"}},
            ],
        },
    )


def unmerge(fhir: httpx.Client, duplicate: str) -> httpx.Response:
    return fhir.post(
        "/Patient/$unmerge",
        json={
            "resourceType": "Parameters",
            "parameter": [
                {"name": "source-patient", "valueReference": {"reference": f"Patient/{duplicate}"}}
            ],
        },
    )


def clinical_record(fhir: httpx.Client) -> None:
    """Eli registered twice (eli, and eli-ru from a Russian-speaking clinic), with data in both."""
    register(
        fhir,
        *REGISTRY,
        citizen("eli-ru", "Алиев", "Али", "1985-07-03", language=RUSSIAN),
        {"resourceType": "Practitioner", "id": "aysel"},
        {
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "code": {"text": "blood pressure"},
            "subject": {"reference": "Patient/eli-ru", "display": "Али Алиев"},
            "performer": [{"reference": "Practitioner/aysel"}, {"reference": "Patient/eli-ru"}],
        },
        {
            "resourceType": "Encounter",
            "id": "visit",
            "status": "finished",
            "class": {"code": "AMB"},
            "subject": {"reference": "Patient/eli-ru"},
        },
        {
            "resourceType": "Condition",
            "id": "asthma",
            "subject": {"reference": "Patient/eli-ru"},
            "encounter": {"reference": "Encounter/visit"},
            "code": {"text": "asthma"},
        },
        {
            "resourceType": "Observation",
            "id": "eli-own",
            "status": "final",
            "code": {"text": "weight"},
            "subject": {"reference": "Patient/eli"},
        },
    )


def versions(fhir: httpx.Client, reference: str) -> int:
    return int(fhir.get(f"/{reference}/_history").json()["total"])


def test_merge_moves_the_references_and_unmerge_moves_them_back(
    fhir: httpx.Client, database: Database
) -> None:
    clinical_record(fhir)
    assert [(r[0], r[1], r[3]) for r in reviews(database)] == [("eli", "eli-ru", "open")]
    merged = merge(fhir, "eli-ru", "eli")
    assert merged.status_code == 200, merged.text
    result = {p["name"]: p["resource"] for p in merged.json()["parameter"]}
    assert "3 resources moved" in result["outcome"]["issue"][0]["diagnostics"]
    assert result["result"]["link"] == [
        {"other": {"reference": "Patient/eli-ru"}, "type": "replaces"}
    ]
    duplicate = fhir.get("/Patient/eli-ru").json()
    assert duplicate["active"] is False
    assert duplicate["link"] == [{"other": {"reference": "Patient/eli"}, "type": "replaced-by"}]
    bp = fhir.get("/Observation/bp").json()
    assert bp["subject"] == {"reference": "Patient/eli", "display": "Али Алиев"}
    assert bp["performer"][1] == {"reference": "Patient/eli"}
    assert found(fhir, "Observation", {"subject": "Patient/eli"}) == {"bp", "eli-own"}
    assert found(fhir, "Condition", {"patient": "eli"}) == {"asthma"}
    assert found(fhir, "Encounter", {"subject": "Patient/eli-ru"}) == set()
    # History keeps what was.
    first = fhir.get("/Observation/bp/_history/1").json()
    assert first["subject"]["reference"] == "Patient/eli-ru"
    assert versions(fhir, "Observation/bp") == 2
    assert versions(fhir, "Observation/eli-own") == 1
    # A merged Patient is no candidate any more; the pair is decided.
    asked = citizen(None, "Алиев", "Али", "1985-07-03", language=RUSSIAN)
    assert [g[0] for g in graded(match(fhir, asked))] == ["eli"]
    assert [(r[0], r[1], r[3]) for r in reviews(database)] == [("eli", "eli-ru", "merged")]
    ((action, reason, patients),) = sql(
        database,
        "SELECT l.action, l.reason, count(p.patient_id) FROM audit_log l "
        "JOIN audit_patients p ON p.record_id = l.id GROUP BY l.id, l.action, l.reason",
    )
    assert action == "update" and reason.startswith("merge 1: Patient/eli-ru replaced by")
    assert patients == 2

    undone = unmerge(fhir, "eli-ru")
    assert undone.status_code == 200, undone.text
    restored = fhir.get("/Patient/eli-ru").json()
    assert "link" not in restored and "active" not in restored
    assert "link" not in fhir.get("/Patient/eli").json()
    bp = fhir.get("/Observation/bp").json()
    assert bp["subject"]["reference"] == "Patient/eli-ru"
    assert bp["performer"] == [{"reference": "Practitioner/aysel"}, {"reference": "Patient/eli-ru"}]
    assert found(fhir, "Observation", {"subject": "Patient/eli"}) == {"eli-own"}
    assert found(fhir, "Encounter", {"subject": "Patient/eli-ru"}) == {"visit"}
    assert versions(fhir, "Observation/bp") == 3
    assert [(r[0], r[1], r[3]) for r in reviews(database)] == [("eli", "eli-ru", "open")]
    assert [g[0] for g in graded(match(fhir, asked))] == ["eli-ru", "eli"]
    assert len(sql(database, "SELECT id FROM audit_log WHERE reason LIKE 'unmerge 1:%'")) == 1
    assert unmerge(fhir, "eli-ru").status_code == 409  # nothing left to undo


def test_the_fin_goes_with_the_person_and_comes_back(fhir: httpx.Client) -> None:
    register(fhir, *REGISTRY, citizen("tural-2", "Mamedov", "Tural", "1978-06-30", fin="2DEF345"))
    by_fin = {"resourceType": "Patient", "identifier": [{"system": FIN_SYSTEM, "value": "2DEF345"}]}
    assert merge(fhir, "tural-2", "tural").status_code == 200
    assert fhir.get("/Patient/tural").json()["identifier"] == [
        {"system": FIN_SYSTEM, "value": "2DEF345"}
    ]
    assert "identifier" not in fhir.get("/Patient/tural-2").json()
    assert [g[:2] for g in graded(match(fhir, by_fin))] == [("tural", "certain")]
    assert unmerge(fhir, "tural-2").status_code == 200
    assert "identifier" not in fhir.get("/Patient/tural").json()
    assert [g[:2] for g in graded(match(fhir, by_fin))] == [("tural-2", "certain")]


def snapshot(fhir: httpx.Client, database: Database) -> tuple[Any, ...]:
    """Everything a refused merge must leave as it was."""
    history = fhir.get("/_history", params={"_count": "500"}).json()
    return (
        history["total"],
        sql(database, "SELECT count(*) FROM mpi_merges"),
        sql(database, "SELECT patient_a, patient_b, status FROM mpi_reviews ORDER BY 1, 2"),
        sql(database, "SELECT count(*) FROM audit_log"),
    )


def test_every_refusal_leaves_nothing_written(fhir: httpx.Client, database: Database) -> None:
    clinical_record(fhir)
    register(
        fhir,
        citizen("gone", "Əliyev", "Əli", "1950-01-01", deceasedDateTime="2020-05-01"),
        # Two Patients whose links, set by hand, replace each other: a loop.
        citizen("loop-1", "Nəbiyev", "Samir", "1970-01-01", link=[
            {"other": {"reference": "Patient/loop-2"}, "type": "replaced-by"}]),
        citizen("loop-2", "Nəbiyev", "Samir", "1970-01-01", link=[
            {"other": {"reference": "Patient/loop-1"}, "type": "replaced-by"}]),
    )  # fmt: skip
    before = snapshot(fhir, database)
    refused = {
        "itself": (merge(fhir, "eli", "eli"), 422),
        "unknown": (merge(fhir, "eli-ru", "nobody"), 404),
        "deceased": (merge(fhir, "gone", "eli"), 422),
        "loop": (merge(fhir, "tural", "loop-1"), 422),
        "not merged": (unmerge(fhir, "eli-ru"), 409),
        "two FINs": (merge(fhir, "leyla", "eli"), 422),
        "not a Patient": (
            fhir.post(
                "/Patient/$merge",
                json={
                    "resourceType": "Parameters",
                    "parameter": [
                        {
                            "name": "source-patient",
                            "valueReference": {"reference": "Observation/bp"},
                        },
                        {"name": "target-patient", "valueReference": {"reference": "Patient/eli"}},
                    ],
                },
            ),
            400,
        ),
    }
    for what, (answer, status) in refused.items():
        assert answer.status_code == status, (what, answer.text)
        assert answer.json()["resourceType"] == "OperationOutcome", what
    assert "loop" in refused["loop"][0].json()["issue"][0]["diagnostics"]
    assert snapshot(fhir, database) == before
    # Once eli-ru is merged into eli: merging it again, or into it, is refused too.
    assert merge(fhir, "eli-ru", "eli").status_code == 200
    before = snapshot(fhir, database)
    again = merge(fhir, "eli-ru", "tural")
    assert again.status_code == 409
    assert "already merged into Patient/eli" in again.json()["issue"][0]["diagnostics"]
    into_replaced = merge(fhir, "tural", "eli-ru")
    assert into_replaced.status_code == 422
    assert "merge into Patient/eli" in into_replaced.json()["issue"][0]["diagnostics"]
    back = merge(fhir, "eli", "eli-ru")
    assert back.status_code == 422 and "loop" in back.json()["issue"][0]["diagnostics"]
    assert snapshot(fhir, database) == before
