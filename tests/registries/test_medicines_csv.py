"""The register as CSV, over HTTP and through `shafa registry medicines`, on SQLite and
PostgreSQL: the shipped register loads cleanly and comes back out byte for byte; a file with
one bad line is refused whole, naming the line and column; importing again changes nothing
but what changed."""

import csv
import io
import os
import subprocess
import sys
from importlib import resources as package_data
from pathlib import Path

import pytest

from shafa.registries import medicines_csv
from shafa.registries.medicines_rules import GTIN, PRODUCT
from tests.registries.medicines_fixtures import (
    Register,
    gtin,
    register,
    registry_fixture,  # noqa: F401 (the registry fixture)
    wrong_check_digit,
)

SHIPPED = package_data.files("shafa.registries").joinpath("data/medicines.csv").read_text("utf-8")


def _lines(count: int) -> str:
    """The shipped register's header and its first count packs."""
    return "".join(SHIPPED.splitlines(keepends=True)[: count + 1])


def _with_cell(text: str, line: int, column: str, value: str) -> str:
    """text with one cell changed (line counted from 1, the header being line 1)."""
    rows = list(csv.reader(io.StringIO(text)))
    rows[line - 1][medicines_csv.COLUMNS.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def _outcome(answer: object) -> str:
    body = answer.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome", body
    return " ".join(issue["diagnostics"] for issue in body["issue"])


def test_the_shipped_register_loads_cleanly_and_exports_as_it_was(registry: Register) -> None:
    packs = SHIPPED.count("\n") - 1
    answer = registry.upload(SHIPPED)
    assert answer.status_code == 200, answer.text
    assert f"{packs} product(s) registered, 0 updated, 0 unchanged" in _outcome(answer)
    assert registry.count("Medication") == registry.count("MedicationKnowledge") == packs
    exported = registry.http.get("/registries/medicines")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text == SHIPPED
    again = registry.upload(exported.text)
    assert f"0 product(s) registered, 0 updated, {packs} unchanged" in _outcome(again)
    assert (
        registry.fhir.get("/Medication/_history", params={"_summary": "count"}).json()["total"]
        == packs
    )


def test_a_file_with_one_bad_line_is_refused_whole(registry: Register) -> None:
    text = _lines(40)
    bad_gtin = wrong_check_digit(next(csv.DictReader(io.StringIO(text)))["gtin"].split()[0])
    answer = registry.upload(_with_cell(text, 31, "gtin", bad_gtin))
    assert answer.status_code == 422, answer.text
    assert _outcome(answer).startswith("Line 31, column gtin: Invalid GTIN")
    assert "check digit" in _outcome(answer)
    assert registry.count("Medication") == registry.count("MedicationKnowledge") == 0
    assert registry.count("Organization") == 0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("dose_form", "pill", "'pill' is not a dose form"),
        ("reimbursement", "everything", "'everything' is not a list"),
        ("reference_price", "", "reference price"),
    ],
)
def test_a_rule_the_resources_break_is_named_by_line_and_column(
    registry: Register, column: str, value: str, message: str
) -> None:
    text = _lines(5)
    line = next(
        number
        for number, row in enumerate(csv.DictReader(io.StringIO(text)), start=2)
        if row["reimbursement"] == "essential"
    )
    answer = registry.upload(_with_cell(text, line, column, value))
    assert answer.status_code == 422, answer.text
    assert _outcome(answer).startswith(f"Line {line}, column {column}: "), _outcome(answer)
    assert message in _outcome(answer)
    assert registry.count("Medication") == 0


def test_a_gtin_another_product_holds_refuses_the_file(registry: Register) -> None:
    held = gtin(1, prefix="4769999")  # a company prefix the shipped file does not use
    register(registry.fhir, "outside", "AZ-OUTSIDE-1", gtins=(held,))
    text = _with_cell(_lines(3), 3, "gtin", held)
    answer = registry.upload(text)
    assert answer.status_code == 409, answer.text
    assert _outcome(answer).startswith("Line 3, column gtin: GTIN")
    assert "already belongs to Medication/outside" in _outcome(answer)
    assert registry.count("Medication") == 1
    found = registry.fhir.get("/Medication", params={"identifier": f"{GTIN}|{held}"})
    assert [e["resource"]["id"] for e in found.json()["entry"]] == ["outside"]


def test_importing_again_updates_by_registration_number(registry: Register) -> None:
    text = _lines(10)
    assert registry.upload(text).status_code == 200
    first = next(csv.DictReader(io.StringIO(text)))
    dearer = _with_cell(text, 2, "retail_price", "99.5")
    answer = registry.upload(dearer)
    assert "0 product(s) registered, 1 updated, 9 unchanged" in _outcome(answer)
    number = first["registration_number"]
    found = registry.fhir.get(
        "/MedicationKnowledge", params={"code": f"{PRODUCT}|{number}"}
    ).json()["entry"][0]["resource"]
    assert found["meta"]["versionId"] == "2"
    prices = {c["type"]["coding"][0]["code"]: c["cost"]["value"] for c in found["cost"]}
    assert prices["retail"] == 99.5
    medication = registry.fhir.get(f"/Medication/{found['id']}").json()
    assert medication["meta"]["versionId"] == "1"  # the pack itself did not change
    assert "99.5" in registry.http.get("/registries/medicines").text


def test_what_is_not_a_register_csv_is_refused(registry: Register) -> None:
    as_json = registry.http.post(
        "/registries/medicines", content=b"{}", headers={"Content-Type": "application/json"}
    )
    assert as_json.status_code == 415
    latin1 = registry.http.post(
        "/registries/medicines",
        content="registration_number\nAZ-Ä\n".encode("latin-1"),
        headers={"Content-Type": "text/csv"},
    )
    assert latin1.status_code == 400 and "UTF-8" in _outcome(latin1)
    header = registry.upload("number,name\nAZ-1,Panadol\n")
    assert header.status_code == 422
    assert _outcome(header).startswith("Line 1: The header has missing registration_number")
    assert registry.count("Medication") == 0


def _cli(registry: Register, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "shafa", "registry", "medicines", *args],
        env=os.environ | {"SHAFA_DATABASE_URL": registry.database.url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_the_command_imports_and_exports_the_register(registry: Register, tmp_path: Path) -> None:
    good = tmp_path / "register.csv"
    good.write_text(_lines(12), "utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text(_with_cell(_lines(12), 7, "valid_from", "2024-02-30"), "utf-8")
    refused = _cli(registry, "import", str(bad))
    assert refused.returncode == 1
    assert "line 7, column valid_from: '2024-02-30' is not a date" in refused.stderr.lower()
    assert "nothing was imported" in refused.stderr
    assert registry.count("Medication") == 0
    imported = _cli(registry, "import", str(good))
    assert imported.returncode == 0, imported.stderr
    assert "12 product(s) registered" in imported.stdout
    exported = tmp_path / "out.csv"
    assert _cli(registry, "export", str(exported)).returncode == 0
    assert exported.read_text("utf-8") == _lines(12)
    assert _cli(registry, "export").stdout == _lines(12)
