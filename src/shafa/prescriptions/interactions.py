"""Drug-drug interactions from a curated table: data/interactions.csv. Pure.

Each row is one clinically serious interaction between two sides, a and b; a side names one or
more substances separated by '|', each an INN or an ATC code standing for its group (see
substances). Columns:

    id, a, b, severity, mechanism, effect, source

severity is high (avoid or contraindicated: blocks prescribing unless overridden with a reason)
or moderate (warns: monitor, adjust the dose). The text is English only for now; the doctor
reads it. Sources are the public references a pharmacist would check: the BNF's interactions
appendix, Stockley's Drug Interactions, the products' FDA labels and EU SmPCs (section 4.3
contraindications, 4.5 interactions), MHRA and FDA safety communications and CredibleMeds'
QTdrugs list. The table is a curated floor, not a compendium: a national service would license
one (the BNF's, or a commercial knowledge base) and load it in the same shape.
"""

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources

from shafa.prescriptions.substances import Substance, any_matches, tokens


class Severity(StrEnum):
    """How serious a finding is (R4 DetectedIssue.severity: high | moderate | low)."""

    HIGH = "high"
    MODERATE = "moderate"
    LOW = "low"


@dataclass(frozen=True, slots=True)
class Pair:
    """One row of the table: an interaction between any substance of a and any of b."""

    id: str
    a: tuple[str, ...]
    b: tuple[str, ...]
    severity: Severity
    mechanism: str
    effect: str
    source: str


@dataclass(frozen=True, slots=True)
class Interaction:
    """An interaction found between the medicine being prescribed and one already taken."""

    pair: Pair
    new: Substance
    current: Substance
    new_token: str  # what in the table named the new medicine: an INN or ATC code
    current_token: str

    @property
    def severity(self) -> Severity:
        return self.pair.severity

    def detail(self) -> str:
        """What the doctor reads: the two medicines, the effect, why and the source."""
        return (
            f"{self.new.name} with {self.current.name}: {self.pair.effect}. "
            f"Mechanism: {self.pair.mechanism}. Source: {self.pair.source}."
        )


@cache
def table() -> tuple[Pair, ...]:
    """Every row of data/interactions.csv, read once."""
    text = resources.files("shafa.prescriptions").joinpath("data/interactions.csv")
    rows = list(csv.DictReader(text.read_text("utf-8").splitlines()))
    for number, row in enumerate(rows, start=2):
        if None in row or None in row.values():
            raise ValueError(f"interactions.csv line {number}: not 7 columns (quote commas)")
    return tuple(
        Pair(
            id=row["id"],
            a=tokens(row["a"]),
            b=tokens(row["b"]),
            severity=Severity(row["severity"]),
            mechanism=row["mechanism"],
            effect=row["effect"],
            source=row["source"],
        )
        for row in rows
    )


def interactions(new: Substance, current: Iterable[Substance]) -> list[Interaction]:
    """The interactions of the medicine being prescribed with each one the patient takes,
    high severity first, then in the order given. A pair matches either way round."""
    found = []
    for other in current:
        for pair in table():
            for mine, theirs in ((pair.a, pair.b), (pair.b, pair.a)):
                new_token = any_matches(mine, new)
                current_token = any_matches(theirs, other) if new_token else None
                if new_token and current_token:
                    found.append(Interaction(pair, new, other, new_token, current_token))
                    break
    return sorted(found, key=lambda i: i.severity is not Severity.HIGH)
