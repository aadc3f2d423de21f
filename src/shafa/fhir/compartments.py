"""The Patient compartment (FHIR R4 compartmentdefinition-patient): who owns a resource."""

import json
from functools import cache
from importlib import resources


@cache
def patient_compartment_params() -> dict[str, tuple[str, ...]]:
    """For each resource type, the search parameters that place it in a Patient's compartment."""
    raw = resources.files("shafa.fhir").joinpath("data/compartmentdefinition-patient.json")
    definition = json.loads(raw.read_text())
    return {
        entry["code"]: tuple(entry["param"])
        for entry in definition["resource"]
        if entry.get("param")
    }


def owning_patient(
    resource_type: str,
    fhir_id: str,
    references: list[tuple[str, str | None, str | None, str | None]],
) -> str | None:
    """The id of the patient whose compartment holds the resource, or None.

    A resource can sit in several compartments (a Observation.performer may be another patient);
    the owner is the first compartment parameter that points to a local Patient, in the order
    the definition lists them (subject/patient first), which is the one the data belongs to.
    """
    if resource_type == "Patient":
        return fhir_id
    params = patient_compartment_params().get(resource_type)
    if not params:
        return None
    for param in params:
        for ref_param, target_type, target_id, _url in references:
            if ref_param == param and target_type == "Patient" and target_id:
                return target_id
    return None
