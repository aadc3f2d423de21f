"""The registries' own vocabulary: Shafa's code systems, identifier systems and extensions.

The code systems ship in the package as FHIR R4 CodeSystem resources (data/codesystem-*.json),
each concept with its display in English and designations in Azerbaijani, English and Russian
(R4 codesystem.html#designations), so a terminology service can load them as they are.
"""

import json
from functools import cache
from importlib import resources
from typing import Any

BASE = "https://fhir.shafa.az"

SPECIALITY = f"{BASE}/CodeSystem/speciality"
ORGANIZATION_TYPE = f"{BASE}/CodeSystem/organization-type"
OWNERSHIP = f"{BASE}/CodeSystem/organization-ownership"
LICENSED_ACTIVITY = f"{BASE}/CodeSystem/licensed-activity"
DISABILITY_GROUP = f"{BASE}/CodeSystem/disability-group"
REGISTRY_OBSERVATION = f"{BASE}/CodeSystem/registry-observation"

# Identifier systems (R4 datatypes.html#Identifier): the numbers the licensing authorities issue.
PRACTITIONER_LICENCE = f"{BASE}/sid/practitioner-licence"
FACILITY_LICENCE = f"{BASE}/sid/facility-licence"

# A complex extension on a licence (Practitioner.qualification, Organization.identifier):
# one suspension, sub-extensions `period` (valuePeriod: from when, and until when if lifted)
# and `reason` (valueString). R4 has no element for it (extensibility.html).
LICENCE_SUSPENSION = f"{BASE}/ext/licence-suspension"

DISABILITY_DETERMINATION = "disability-determination"
DISABILITY_CAUSE = "disability-cause"

# WHO ICD-10, as HL7 names it (R4 terminologies-systems.html).
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LANGUAGES = ("az", "en", "ru")


@cache
def code_systems() -> dict[str, dict[str, Any]]:
    """The shipped CodeSystem resources by canonical URL."""
    found = {}
    for entry in resources.files("shafa.registries").joinpath("data").iterdir():
        if entry.name.startswith("codesystem-") and entry.name.endswith(".json"):
            system = json.loads(entry.read_text(encoding="utf-8"))
            found[system["url"]] = system
    return found


@cache
def codes(system: str) -> frozenset[str]:
    """The codes of a shipped code system."""
    return frozenset(c["code"] for c in code_systems()[system]["concept"])


def display(system: str, code: str, language: str = "en") -> str | None:
    """The concept's name in az, en or ru; None for a code the system does not have."""
    for concept in code_systems()[system]["concept"]:
        if concept["code"] == code:
            for designation in concept.get("designation", ()):
                if designation.get("language") == language:
                    return str(designation["value"])
            return str(concept["display"])
    return None
