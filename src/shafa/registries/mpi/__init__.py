"""The master patient index: likely duplicates among citizens' Patients found by probabilistic
matching (Fellegi-Sunter weights, rules.py) through blocking keys (matching.py), a review queue
for a registry administrator (pages.py), and merge and unmerge of duplicates (actions.py).

What it installs in the generic FHIR engine, through shafa.registries.install (routes.py):
- WRITE_CHECKS: every write of a Patient keeps the index and the review queue in step;
- OPERATIONS: Patient/$match (FHIR R4 patient-match), $merge, $unmerge and $not-duplicate.

This package's own import stays light (rules and tables only): security.rules imports the
registries package, and the store and the audit log import security.rules.
"""

import json
from functools import cache

from shafa.config import get_settings
from shafa.registries.mpi import tables as _tables  # noqa: F401 (its tables join metadata)
from shafa.registries.mpi.rules import DEFAULT_MODEL, MatchModel


@cache
def model() -> MatchModel:
    """The match model in force: DEFAULT_MODEL with what SHAFA_MPI_MODEL_FILE overrides."""
    path = get_settings().mpi_model_file
    if path is None:
        return DEFAULT_MODEL
    with open(path, encoding="utf-8") as source:
        return DEFAULT_MODEL.merged(json.load(source))
