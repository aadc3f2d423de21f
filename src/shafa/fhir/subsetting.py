"""Subsetted resources for _elements and _summary (R4 search.html#elements, #summary).

A subsetted resource is marked with the SUBSETTED tag, so nobody mistakes it for the whole
resource and writes it back.
"""

from typing import Any

from shafa.fhir.validation import required_elements

SUBSETTED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "SUBSETTED",
}
# What every subset keeps.
ALWAYS = frozenset({"resourceType", "id", "meta"})
# The _summary modes that subset (count and false do not; true needs the StructureDefinitions'
# isSummary flags, which Shafa does not carry yet).
SUMMARY_MODES = ("text", "data")


def subset(
    resource: dict[str, Any], *, elements: set[str] | None, summary: str | None
) -> dict[str, Any]:
    """The resource cut down to the named elements, or to the _summary mode's elements.

    elements keeps those top-level elements and the mandatory ones; summary=text keeps the
    narrative and the mandatory elements; summary=data drops the narrative.
    """
    if summary == "data":
        kept = {k: v for k, v in resource.items() if k != "text"}
    else:
        wanted = ALWAYS | required_elements(resource["resourceType"])
        if summary == "text":
            wanted |= {"text"}
        if elements is not None:
            wanted |= elements
        kept = {k: v for k, v in resource.items() if k in wanted}
    meta = dict(kept.get("meta") or {})
    meta["tag"] = [*(meta.get("tag") or []), SUBSETTED]
    kept["meta"] = meta
    return kept
