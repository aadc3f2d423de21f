"""What a safety check matches on: a medicine's INNs and its ATC code. Pure.

A table row names a substance either by INN (lower case, as the register and WHO's ATC index
write it: "simvastatin") or by an ATC code, which then stands for its whole group: "M01A" is
every non-steroidal anti-inflammatory, "B01AA" every vitamin K antagonist. Where a substance
also comes in topical forms the tables name it by its systemic ATC code (ciprofloxacin tablets
J01MA02, not its eye drops S01AE03), so an eye drop does not raise a systemic interaction.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass

from shafa.registries.medicines_rules import ATC_PATTERN

UPPER = re.compile(r"[A-Z]")


@dataclass(frozen=True, slots=True)
class Substance:
    """A medicine as the checks see it: its active ingredients' INNs and its ATC code, and
    (for one the patient already takes) the resource that records it, for DetectedIssue."""

    inns: tuple[str, ...]
    atc: str
    reference: str | None = None  # "MedicationRequest/..." or "MedicationStatement/..."
    display: str | None = None

    @classmethod
    def of(
        cls, inn: str, atc: str, reference: str | None = None, display: str | None = None
    ) -> "Substance":
        """From the register's spelling: a combination's INNs joined by ' + '."""
        inns = tuple(part.strip() for part in inn.split(" + ") if part.strip())
        if not inns:
            raise ValueError("A substance has at least one INN")
        if not ATC_PATTERN.fullmatch(atc) or len(atc) != 7:
            raise ValueError(f"{atc!r} is not a level-5 ATC code")
        return cls(inns, atc, reference, display)

    @property
    def name(self) -> str:
        """How people read it: 'amoxicillin + clavulanic acid'."""
        return self.display or " + ".join(self.inns)

    def group(self) -> str:
        """Its ATC level-4 group (chemical subgroup): the first 5 characters."""
        return self.atc[:5]


def is_atc(token: str) -> bool:
    """True when a table token is an ATC code (upper case) rather than an INN."""
    return bool(UPPER.match(token)) and bool(ATC_PATTERN.fullmatch(token))


def matches(token: str, substance: Substance) -> bool:
    """True when the token (an INN, or an ATC code standing for its group) names the
    substance or one of its ingredients."""
    if is_atc(token):
        return substance.atc.startswith(token)
    return token in substance.inns


def tokens(field: str) -> tuple[str, ...]:
    """A table field's tokens: INNs and ATC codes separated by '|'."""
    found = tuple(t.strip() for t in field.split("|") if t.strip())
    if not found:
        raise ValueError(f"{field!r} names no substance")
    return found


def any_matches(field_tokens: Iterable[str], substance: Substance) -> str | None:
    """The first token naming the substance, else None."""
    return next((t for t in field_tokens if matches(t, substance)), None)
