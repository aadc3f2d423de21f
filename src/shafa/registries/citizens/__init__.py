"""The citizens registry, the master patient index: citizens as FHIR Patient resources.

A citizen is a Patient whose identifier carries their FIN under rules.FIN_SYSTEM; their name
in Azerbaijani Latin is a HumanName without a language, and each spelling of it in another
script (Russian, Azerbaijani Cyrillic) a further HumanName with the language extension. What
this package installs in the generic FHIR engine (through shafa.registries.install):
- RULES: the registry's rules (rules.py), kept by every write and by $validate;
- FOLDINGS: Patient's name, family, given and phonetic also match by the folding key of
  names.py, so Aliyev, Eliyev and Алиев find Əliyev;
- UNIQUE: one live Patient a FIN (and the unique index of tables.py).
"""

from datetime import date, datetime, timedelta, timezone
from typing import Any

from shafa.fhir.errors import Issue
from shafa.fhir.indexing import Folding
from shafa.fhir.unique import UniqueIdentifier
from shafa.fhir.validation import Rule
from shafa.registries.citizens import names, rules
from shafa.registries.citizens import tables as _tables  # noqa: F401 (the FIN index joins metadata)

# Azerbaijan keeps UTC+4 all year (no summer time since 2016): a birth registered just after
# midnight in Baku is today's even while UTC is still on yesterday.
AZERBAIJAN_TIME = timezone(timedelta(hours=4), "AZT")


def today() -> date:
    """The date in Azerbaijan now: what "not in the future" is measured against."""
    return datetime.now(AZERBAIJAN_TIME).date()


def _patient_rules(patient: dict[str, Any]) -> list[Issue]:
    return rules.patient_issues(patient, today())


RULES: tuple[tuple[str, Rule], ...] = (("Patient", _patient_rules),)

NAME_FOLDING = Folding(key=names.fold_name, search_keys=names.search_keys)
# Patient's string parameters over HumanName (R4 SearchParameter Patient-name, individual-family,
# individual-given, individual-phonetic).
FOLDED_PARAMETERS = ("name", "family", "given", "phonetic")
FOLDINGS: tuple[tuple[str, str, Folding], ...] = tuple(
    ("Patient", param, NAME_FOLDING) for param in FOLDED_PARAMETERS
)

FIN = UniqueIdentifier(
    res_type="Patient",
    param="identifier",
    system=rules.FIN_SYSTEM,
    element="identifier",
    label="FIN",
)
UNIQUE: tuple[UniqueIdentifier, ...] = (FIN,)
