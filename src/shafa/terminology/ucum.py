"""UCUM units in common clinical use: data/ucum.csv (code, display, kind).

UCUM is a grammar (any valid expression is a code); Shafa ships the units clinical systems send
most, each with its printable name, as a fragment of http://unitsofmeasure.org: masses, volumes,
amounts, concentrations (mmol/L, mg/dL), counts (10*9/L), pressures (mm[Hg]), rates (/min),
doses (mg/kg/d) and the like. A unit outside the list is not known to $validate-code.
"""

import csv
from functools import cache
from importlib import resources

from shafa.terminology.model import CodeSystem, CodeSystemInfo, Concept, PropertyDef

URL = "http://unitsofmeasure.org"

INFO = CodeSystemInfo(
    id="ucum",
    url=URL,
    name="UCUM",
    title="Unified Code for Units of Measure: units in common clinical use",
    version="2.1",
    publisher="Regenstrief Institute (selection by Shafa)",
    description="Units of measure clinical systems send most, with display names. A fragment "
    "of UCUM: UCUM defines a grammar of unit expressions, not a list.",
    copyright="UCUM is (c) Regenstrief Institute, Inc. and the UCUM Organization; free to use "
    "under the UCUM terms of use.",
    content="fragment",
    hierarchy_meaning="is-a",
    properties=(PropertyDef("kind", "code", "What the unit measures: mass, volume, rate, ..."),),
)


@cache
def code_system() -> CodeSystem:
    """The units in memory, read once."""
    text = resources.files("shafa.terminology").joinpath("data/ucum.csv").read_text("utf-8")
    return CodeSystem(
        INFO,
        [
            Concept(code=row["code"], display=row["display"], properties={"kind": row["kind"]})
            for row in csv.DictReader(text.splitlines())
        ],
    )


def concept(code: str) -> Concept | None:
    """The unit of a UCUM code (`mmol/L`), or None if it is not among the shipped units."""
    return code_system().get(code)
