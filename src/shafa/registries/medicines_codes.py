"""The medicinal product register's code systems, shipped as FHIR R4 CodeSystem resources.

data/codesystem-{dose-form, registration-status, medicine-schedule, medicine-price-type,
medicine-classification-type, reimbursement-list, medicine-characteristic}.json: each concept
with its English display (and, for the short ones people read on pages, designations in
Azerbaijani, English and Russian, R4 codesystem.html#designations), so a terminology service
can load them as they are.
"""

from functools import cache
from typing import Any

from shafa.registries import codes as codes_module

FILES = (
    "dose-form",
    "registration-status",
    "medicine-schedule",
    "medicine-price-type",
    "medicine-classification-type",
    "reimbursement-list",
    "medicine-characteristic",
)


@cache
def code_systems() -> dict[str, dict[str, Any]]:
    """The register's CodeSystem resources by canonical URL."""
    urls = {f"{codes_module.BASE}/CodeSystem/{name}" for name in FILES}
    return {url: s for url, s in codes_module.code_systems().items() if url in urls}


@cache
def _displays(system: str) -> dict[str, str]:
    return {c["code"]: c["display"] for c in code_systems()[system]["concept"]}


@cache
def codes(system: str) -> frozenset[str]:
    """The codes of one of the register's code systems."""
    return frozenset(_displays(system))


def display(system: str, code: str) -> str | None:
    """The English display of a code, or None if the system has no such code."""
    return _displays(system).get(code)
