"""ATC, WHO's Anatomical Therapeutic Chemical classification, with DDDs: data/atc.csv.

The file holds the groups of levels 1 to 4 and the level-5 chemical substances in common use,
each with its defined daily dose (DDD) where WHO assigns one, transcribed from the WHO ATC/DDD
Index (WHO Collaborating Centre for Drug Statistics Methodology, 2026 edition). Columns:

    code, name, level, parent, ddd, ddd_unit, ddd_route, ddd_note

A substance with DDDs for several routes (amoxicillin: 1.5 g O, 3 g P) has one row per route,
name, level and parent repeated. Units and routes are WHO's: g, mg, mcg, U, TU (thousand units),
MU (million units), mmol, tablet; O oral, P parenteral, R rectal, N nasal, SL sublingual,
TD transdermal, V vaginal, Inhal.aerosol/powder/solution, implant, ... The note is WHO's
(e.g. "Refers to amoxicillin" for a combination). Levels 1-3 names are upper case as WHO writes
them.
"""

import csv
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from shafa.terminology.model import CodeSystem, CodeSystemInfo, Concept, PropertyDef

URL = "http://www.whocc.no/atc"
CODE_LENGTHS = {1: 1, 2: 3, 3: 4, 4: 5, 5: 7}

INFO = CodeSystemInfo(
    id="atc",
    url=URL,
    name="ATC",
    title="Anatomical Therapeutic Chemical (ATC) classification with DDDs (WHO)",
    version="2026",
    publisher="WHO Collaborating Centre for Drug Statistics Methodology (selection by Shafa)",
    description="The ATC groups of levels 1 to 4 and the level-5 substances in common use, with "
    "their defined daily doses. A fragment of the WHO ATC/DDD Index.",
    copyright="ATC codes and DDDs are (c) WHO Collaborating Centre for Drug Statistics "
    "Methodology, Oslo. WHOCC allows their use with reference to the Centre; copying and "
    "distribution for commercial purposes is not allowed.",
    content="fragment",
    hierarchy_meaning="is-a",
    properties=(
        PropertyDef("level", "integer", "ATC level: 1 anatomical main group ... 5 substance"),
        PropertyDef(
            "ddd",
            "string",
            "Defined daily doses, one per route: value, unit and route, e.g. '1.5 g O; 3 g P'",
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Ddd:
    """A defined daily dose for one route of administration."""

    value: Decimal
    unit: str
    route: str
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.value.normalize():f} {self.unit} {self.route}"
        return f"{text} ({self.note})" if self.note else text


@dataclass(frozen=True, slots=True)
class AtcConcept:
    """An ATC code: its name, level, parent group and DDDs (one per route; none for groups)."""

    code: str
    name: str
    level: int
    parent: str | None
    ddds: tuple[Ddd, ...] = ()


def _rows() -> list[dict[str, str]]:
    text = resources.files("shafa.terminology").joinpath("data/atc.csv").read_text("utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def concepts() -> dict[str, AtcConcept]:
    """Every ATC code in the file, by code, read once."""
    names: dict[str, tuple[str, int, str | None]] = {}
    ddds: dict[str, list[Ddd]] = {}
    for row in _rows():
        code, level = row["code"], int(row["level"])
        if CODE_LENGTHS[level] != len(code):
            raise ValueError(f"atc.csv: {code} is not a level-{level} code")
        names.setdefault(code, (row["name"], level, row["parent"] or None))
        if row["ddd"]:
            ddds.setdefault(code, []).append(
                Ddd(Decimal(row["ddd"]), row["ddd_unit"], row["ddd_route"], row["ddd_note"])
            )
    return {
        code: AtcConcept(code, name, level, parent, tuple(ddds.get(code, ())))
        for code, (name, level, parent) in names.items()
    }


@cache
def code_system() -> CodeSystem:
    """ATC in memory, built once."""
    return CodeSystem(
        INFO,
        [
            Concept(
                code=c.code,
                display=c.name,
                parent=c.parent,
                properties={"level": c.level}
                | ({"ddd": "; ".join(str(ddd) for ddd in c.ddds)} if c.ddds else {}),
            )
            for c in concepts().values()
        ],
    )


def concept(code: str) -> AtcConcept | None:
    """The ATC code's name, level, parent and DDDs, or None if the file does not hold it."""
    return concepts().get(code)


def substances() -> list[AtcConcept]:
    """The level-5 substances, in code order."""
    return [c for c in concepts().values() if c.level == 5]
