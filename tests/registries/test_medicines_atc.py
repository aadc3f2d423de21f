"""The shipped register agrees with the terminology service's ATC/DDD file: a product's ATC
code names its INN, and its DDD is WHO's for its route.

The ATC file is the terminology's (shafa/terminology/data/atc.csv, columns code, name, level,
parent, ddd, ddd_unit, ddd_route, ddd_note).
"""

import csv
from collections.abc import Iterator
from decimal import Decimal
from importlib import resources
from pathlib import Path

import pytest

from shafa.registries import medicines_csv
from shafa.registries.medicines_entry import Entry
from shafa.registries.medicines_rules import Amount, who_routes

# WHO's DDD units as UCUM, with the factor to apply (TU: thousand units, MU: million units).
WHO_UNITS = {
    "g": ("g", 1),
    "mg": ("mg", 1),
    "mcg": ("ug", 1),
    "U": ("[IU]", 1),
    "TU": ("[IU]", 1000),
    "MU": ("[IU]", 1000000),
    "mmol": ("mmol", 1),
    "tablet": ("{tablet}", 1),
}
# Where an INN is not the word ATC files its substance under.
ATC_NAMES = {"simeticone": "silicones", "pancreatin": "multienzymes"}


@pytest.fixture(scope="module")
def atc() -> dict[str, list[dict[str, str]]]:
    """The terminology's ATC rows by code."""
    path = Path(str(resources.files("shafa.terminology").joinpath("data", "atc.csv")))
    rows: dict[str, list[dict[str, str]]] = {}
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(file):
            rows.setdefault(row["code"], []).append(row)
    return rows


def _shipped() -> Iterator[tuple[int, Entry]]:
    yield from medicines_csv.shipped()


def _name(atc_name: str) -> str:
    """An ATC substance name without its qualifier: 'methyldopa (levorotatory)' -> methyldopa."""
    return atc_name.split(" (")[0].strip()


def test_each_products_atc_code_names_its_inn(atc: dict[str, list[dict[str, str]]]) -> None:
    wrong = []
    for line, entry in _shipped():
        if len(entry.ingredients) > 1 or entry.atc not in atc:
            continue  # a combination is filed under one name for several INNs
        inn, name = entry.ingredients[0].inn, atc[entry.atc][0]["name"]
        if ATC_NAMES.get(inn, inn) not in (name, _name(name)):
            wrong.append(f"line {line}: {entry.atc} is {atc[entry.atc][0]['name']!r}, not {inn}")
    assert wrong == []


def test_each_products_ddd_is_whos_for_its_route(atc: dict[str, list[dict[str, str]]]) -> None:
    wrong = []
    for line, entry in _shipped():
        rows = atc.get(entry.atc, [])
        given = {row["ddd_route"]: row for row in rows if row["ddd"]}
        routes = [route for route in who_routes(entry.routes, entry.dose_form) if route in given]
        if not routes:
            continue  # WHO gives no DDD for this route (or the ATC file lacks the code)
        row = given[routes[0]]
        unit, factor = WHO_UNITS[row["ddd_unit"]]
        whos = Amount(Decimal(row["ddd"]) * factor, unit)
        if entry.ddd is None or entry.ddd.canonical() != whos.canonical():
            wrong.append(f"line {line}: {entry.atc} {routes[0]} DDD is {whos}, not {entry.ddd}")
    assert wrong == []


def test_most_of_the_registers_atc_codes_are_in_the_atc_file(
    atc: dict[str, list[dict[str, str]]],
) -> None:
    codes = {entry.atc for _line, entry in _shipped()}
    missing = codes - set(atc)
    # The ATC file is a selection of the WHO index: a few of the register's codes may be
    # outside it, but not many.
    assert len(missing) <= len(codes) // 10, sorted(missing)
