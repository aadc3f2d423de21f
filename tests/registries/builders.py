"""Factories for the registries' resources, and the people and places the tests speak of.

The licensing authority issues licences; the Ministry of Health sits at the top of the tree,
the Baku regional union under it, and Polyclinic 1, Pharmacy 7 and Central Laboratory under the
union. Dr Aysel is a licensed general practitioner at Polyclinic 1; Dr Rauf a cardiologist; the
Baku commission determines disabilities. Leyla and Tural are citizens.
"""

from typing import Any

from shafa.registries import codes

PASSED = "2020-01-01"  # licences and determinations start here unless a test says otherwise


def ref(res_type: str, fhir_id: str) -> dict[str, str]:
    """A literal Reference."""
    return {"reference": f"{res_type}/{fhir_id}"}


def coded(system: str, code: str) -> dict[str, Any]:
    """A CodeableConcept with one coding."""
    return {"coding": [{"system": system, "code": code}]}


def suspension(start: str, reason: str, end: str | None = None) -> dict[str, Any]:
    """A licence-suspension extension."""
    period = {"start": start} | ({"end": end} if end else {})
    return {
        "url": codes.LICENCE_SUSPENSION,
        "extension": [
            {"url": "period", "valuePeriod": period},
            {"url": "reason", "valueString": reason},
        ],
    }


def licence(
    number: str,
    speciality: str = "general-practice",
    *,
    start: str | None = PASSED,
    end: str | None = None,
    issuer: str = "licensing-authority",
    suspensions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Practitioner.qualification that is a licence to practise."""
    period = ({"start": start} if start else {}) | ({"end": end} if end else {})
    qualification: dict[str, Any] = {
        "identifier": [{"system": codes.PRACTITIONER_LICENCE, "value": number}],
        "code": coded(codes.SPECIALITY, speciality),
        "issuer": ref("Organization", issuer),
    }
    if period:
        qualification["period"] = period
    if suspensions:
        qualification["extension"] = suspensions
    return qualification


def practitioner(fhir_id: str, *qualifications: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A Practitioner holding the qualifications."""
    resource: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": fhir_id,
        "name": [{"family": fhir_id.title()}],
    }
    if qualifications:
        resource["qualification"] = list(qualifications)
    return resource | extra


def role(
    fhir_id: str,
    practitioner_id: str,
    organization_id: str,
    *,
    speciality: str = "general-practice",
    start: str = PASSED,
    end: str | None = None,
    active: bool = True,
) -> dict[str, Any]:
    """A PractitionerRole: a post at an organisation."""
    return {
        "resourceType": "PractitionerRole",
        "id": fhir_id,
        "active": active,
        "period": {"start": start} | ({"end": end} if end else {}),
        "practitioner": ref("Practitioner", practitioner_id),
        "organization": ref("Organization", organization_id),
        "code": [coded("http://terminology.hl7.org/CodeSystem/practitioner-role", "doctor")],
        "specialty": [coded(codes.SPECIALITY, speciality)],
    }


def facility_licence(
    number: str,
    activity: str = "pharmaceutical",
    *,
    start: str | None = PASSED,
    end: str | None = None,
    assigner: str = "licensing-authority",
    suspensions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Organization.identifier that is a facility's licence."""
    period = ({"start": start} if start else {}) | ({"end": end} if end else {})
    identifier: dict[str, Any] = {
        "system": codes.FACILITY_LICENCE,
        "value": number,
        "type": coded(codes.LICENSED_ACTIVITY, activity),
        "assigner": ref("Organization", assigner),
    }
    if period:
        identifier["period"] = period
    if suspensions:
        identifier["extension"] = suspensions
    return identifier


def organization(
    fhir_id: str,
    kind: str,
    *,
    part_of: str | None = None,
    ownership: str = "public",
    licences: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An Organization of the health system."""
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": fhir_id,
        "active": True,
        "name": fhir_id.replace("-", " ").title(),
        "type": [coded(codes.ORGANIZATION_TYPE, kind), coded(codes.OWNERSHIP, ownership)],
    }
    if part_of:
        resource["partOf"] = ref("Organization", part_of)
    if licences:
        resource["identifier"] = licences
    return resource


def determination(
    fhir_id: str,
    patient: str,
    group: str = "group-2",
    *,
    cause: str | None = "G80.1",
    start: str | None = PASSED,
    review: str | None = "2027-01-01",
    commission: str | None = "baku-commission",
    status: str = "final",
) -> dict[str, Any]:
    """An Observation recording a disability determination."""
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": fhir_id,
        "status": status,
        "code": coded(codes.REGISTRY_OBSERVATION, codes.DISABILITY_DETERMINATION),
        "subject": ref("Patient", patient),
        "valueCodeableConcept": coded(codes.DISABILITY_GROUP, group),
    }
    period = ({"start": start} if start else {}) | ({"end": review} if review else {})
    if period:
        resource["effectivePeriod"] = period
    if cause:
        resource["component"] = [
            {
                "code": coded(codes.REGISTRY_OBSERVATION, codes.DISABILITY_CAUSE),
                "valueCodeableConcept": coded(codes.ICD10, cause),
            }
        ]
    if commission:
        resource["performer"] = [ref("Organization", commission)]
    return resource


def country() -> list[dict[str, Any]]:
    """The organisations every registry test stands on."""
    return [
        organization("ministry", "ministry"),
        organization("licensing-authority", "agency", part_of="ministry"),
        organization("baku-union", "regional-union", part_of="ministry"),
        organization("polyclinic-1", "polyclinic", part_of="baku-union"),
        organization("baku-commission", "disability-commission", part_of="ministry"),
    ]
