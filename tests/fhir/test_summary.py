"""_summary=true (R4 search.html#summary): the elements marked isSummary in the base definitions,
inside backbone elements too, on search, read and vread. The expectations come from the Σ flags
of the R4 pages (patient.html, observation.html), not from the generated file."""

import json
from pathlib import Path

import httpx
import pytest

from shafa.fhir import jsonio, subsetting
from shafa.fhir.resource_types import RESOURCE_TYPES
from shafa.fhir.validation import check_resource
from tests.fhir.helpers import put
from tests.fhir.test_examples import EXAMPLES

SUBSETTED = "SUBSETTED"
NARRATIVE = {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Nigar</div>'}

# A Patient with elements of every kind; PATIENT_SUMMARY holds those patient.html marks Σ.
NIGAR = {
    "resourceType": "Patient",
    "id": "nigar",
    "text": NARRATIVE,
    "extension": [{"url": "https://fhir.shafa.az/ext/citizenship", "valueCode": "AZ"}],
    "identifier": [{"system": "https://fhir.shafa.az/sid/fin", "value": "5ABC123"}],
    "active": True,
    "name": [{"family": "Quliyeva", "given": ["Nigar"]}],
    "telecom": [{"system": "phone", "value": "+994501234567"}],
    "gender": "female",
    "birthDate": "1992-04-04",
    "_birthDate": {
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/patient-birthTime",
                "valueDateTime": "1992-04-04T06:30:00+04:00",
            }
        ]
    },
    "deceasedBoolean": False,
    "address": [{"city": "Gəncə"}],
    "maritalStatus": {"text": "married"},
    "multipleBirthBoolean": False,
    "photo": [{"contentType": "image/png", "data": "iVBORw0KGgo="}],
    "contact": [{"name": {"family": "Quliyev"}, "telecom": [{"system": "phone", "value": "1"}]}],
    "communication": [{"language": {"text": "Azərbaycan dili"}, "preferred": True}],
    "generalPractitioner": [{"reference": "Practitioner/aliyev"}],
    "managingOrganization": {"reference": "Organization/central"},
    "link": [
        {
            "extension": [{"url": "https://fhir.shafa.az/ext/linked-by", "valueString": "MPI"}],
            "other": {"reference": "Patient/nigar-old"},
            "type": "replaces",
        }
    ],
}
PATIENT_SUMMARY = {
    "resourceType",
    "id",
    "meta",
    "identifier",
    "active",
    "name",
    "telecom",
    "gender",
    "birthDate",
    "_birthDate",
    "deceasedBoolean",
    "address",
    "managingOrganization",
    "link",
}

# A blood pressure whose components carry interpretations, which are not Σ.
PRESSURE = {
    "resourceType": "Observation",
    "id": "bp",
    "text": NARRATIVE,
    "status": "final",
    "category": [{"text": "vital-signs"}],
    "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
    "subject": {"reference": "Patient/nigar"},
    "effectiveDateTime": "2026-03-01T09:00:00+04:00",
    "performer": [{"reference": "Practitioner/aliyev"}],
    "interpretation": [{"text": "high"}],
    "note": [{"text": "measured twice"}],
    "bodySite": {"text": "left arm"},
    "component": [
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
            "valueQuantity": {"value": 142.5, "unit": "mm[Hg]"},
            "interpretation": [{"text": "high"}],
        },
        {
            "code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
            "valueQuantity": {"value": 91, "unit": "mm[Hg]"},
            "referenceRange": [{"high": {"value": 90}}],
        },
    ],
}
PULSE = {
    "resourceType": "Observation",
    "id": "pulse",
    "status": "final",
    "code": {"text": "pulse"},
    "subject": {"reference": "Patient/nigar"},
    "valueQuantity": {"value": 72, "unit": "/min"},
    "dataAbsentReason": {"text": "not really absent"},
}


def tags(resource: dict) -> list[str]:
    return [tag["code"] for tag in resource.get("meta", {}).get("tag", [])]


def matches(bundle: dict) -> dict[str, dict]:
    entries = [e for e in bundle["entry"] if e["search"]["mode"] == "match"]
    return {e["resource"]["id"]: e["resource"] for e in entries}


@pytest.fixture
def nigar(fhir: httpx.Client) -> httpx.Client:
    for resource in (NIGAR, PULSE):
        put(fhir, resource)
    # Sent as text, so that the systolic value's 142.50 keeps its last digit.
    text = json.dumps(PRESSURE).replace("142.5", "142.50")
    assert fhir.put("/Observation/bp", content=text).status_code == 201
    return fhir


def test_a_patients_summary_keeps_who_she_is_and_drops_the_rest(nigar: httpx.Client) -> None:
    bundle = nigar.get("/Patient", params={"_summary": "true"}).json()
    patient = matches(bundle)["nigar"]
    assert set(patient) == PATIENT_SUMMARY
    for name in PATIENT_SUMMARY - {"resourceType", "meta", "link"}:
        assert patient[name] == NIGAR[name], name  # datatypes are kept whole
    assert SUBSETTED in tags(patient)
    assert patient["meta"]["versionId"] == "1"


def test_a_backbone_element_keeps_only_its_summary_children(nigar: httpx.Client) -> None:
    # Patient.link is Σ, and so are link.other and link.type; an extension is not.
    (patient,) = matches(nigar.get("/Patient", params={"_summary": "true"}).json()).values()
    assert patient["link"] == [{"other": {"reference": "Patient/nigar-old"}, "type": "replaces"}]


def test_an_observations_summary_keeps_what_was_measured(nigar: httpx.Client) -> None:
    response = nigar.get("/Observation", params={"_summary": "true"})
    pulse, pressure = matches(response.json())["pulse"], matches(response.json())["bp"]
    measured = {"resourceType", "id", "meta", "status", "code", "subject"}
    assert set(pulse) == measured | {"valueQuantity"}
    assert pulse["valueQuantity"] == PULSE["valueQuantity"]
    assert set(pressure) == measured | {"effectiveDateTime", "performer", "component"}
    # Observation.component is Σ with its code and value[x]; interpretation and
    # referenceRange are not.
    assert pressure["component"] == [
        {"code": sent["code"], "valueQuantity": sent["valueQuantity"]}
        for sent in PRESSURE["component"]
    ]
    assert '"value":142.50' in response.text  # a decimal keeps the precision it was sent with


def test_read_and_vread_give_the_summary_too(nigar: httpx.Client) -> None:
    read = nigar.get("/Patient/nigar", params={"_summary": "true"})
    assert read.status_code == 200
    assert read.headers["ETag"] == 'W/"1"'
    assert set(read.json()) == PATIENT_SUMMARY
    assert SUBSETTED in tags(read.json())
    vread = nigar.get("/Patient/nigar/_history/1", params={"_summary": "true"}).json()
    assert set(vread) == PATIENT_SUMMARY
    # Without _summary, or with false, the whole resource, untagged.
    for params in ({}, {"_summary": "false"}):
        whole = nigar.get("/Patient/nigar", params=params).json()
        assert "photo" in whole
        assert SUBSETTED not in tags(whole)


def test_read_takes_the_other_modes_and_elements_as_search_does(nigar: httpx.Client) -> None:
    text = nigar.get("/Patient/nigar", params={"_summary": "text"}).json()
    assert set(text) == {"resourceType", "id", "meta", "text"}
    data = nigar.get("/Patient/nigar/_history/1", params={"_summary": "data"}).json()
    assert set(data) == set(NIGAR) - {"text"} | {"meta"}
    elements = nigar.get("/Patient/nigar", params={"_elements": "photo"}).json()
    assert set(elements) == {"resourceType", "id", "meta", "photo"}


def test_a_get_in_a_batch_gives_the_summary(nigar: httpx.Client) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"request": {"method": "GET", "url": "Patient/nigar?_summary=true"}},
            {"request": {"method": "GET", "url": "Observation?_id=pulse&_summary=true"}},
        ],
    }
    read, search = (e["resource"] for e in nigar.post("", json=batch).json()["entry"])
    assert set(read) == PATIENT_SUMMARY
    assert "dataAbsentReason" not in search["entry"][0]["resource"]


def test_included_resources_stay_whole_as_with_the_other_modes(nigar: httpx.Client) -> None:
    params = {"_id": "pulse", "_summary": "true", "_include": "Observation:subject"}
    entries = nigar.get("/Observation", params=params).json()["entry"]
    (match,) = (e["resource"] for e in entries if e["search"]["mode"] == "match")
    (included,) = (e["resource"] for e in entries if e["search"]["mode"] == "include")
    assert "dataAbsentReason" not in match
    assert SUBSETTED in tags(match)
    assert included["id"] == "nigar"
    assert "photo" in included
    assert SUBSETTED not in tags(included)


def test_elements_add_to_the_summary(nigar: httpx.Client) -> None:
    params = {"_summary": "true", "_elements": "photo,contact"}
    patient = nigar.get("/Patient/nigar", params=params).json()
    assert set(patient) == PATIENT_SUMMARY | {"photo", "contact"}
    assert patient["contact"] == NIGAR["contact"]


def test_a_type_without_summary_flags_keeps_its_mandatory_elements(fhir: httpx.Client) -> None:
    # R4B replaced the medicinal-product family, so there are no flags for it: Resource's
    # summary elements and the mandatory ones are kept (docs/fhir-api.md).
    product = {
        "resourceType": "MedicinalProduct",
        "id": "metformin",
        "text": NARRATIVE,
        "identifier": [{"value": "AZ-0001"}],
        "name": [{"productName": "Metformin 500 mg"}],
        "domain": {"system": "http://hl7.org/fhir/medicinal-product-domain", "code": "Human"},
    }
    put(fhir, product)
    summary = fhir.get("/MedicinalProduct/metformin", params={"_summary": "true"}).json()
    assert set(summary) == {"resourceType", "id", "meta", "name"}
    assert summary["name"] == product["name"]


@pytest.mark.parametrize("prefer", ["handling=lenient", "handling=strict"])
def test_a_summary_r4_does_not_define_is_a_400(nigar: httpx.Client, prefer: str) -> None:
    response = nigar.get("/Patient", params={"_summary": "some"}, headers={"Prefer": prefer})
    assert response.status_code == 400
    assert "_summary" in response.json()["issue"][0]["diagnostics"]


def test_count_is_for_searches_only(nigar: httpx.Client) -> None:
    for url in ("/Patient/nigar", "/Patient/nigar/_history/1"):
        response = nigar.get(url, params={"_summary": "count"})
        assert response.status_code == 400
        assert response.json()["issue"][0]["expression"] == ["_summary"]
    assert nigar.get("/Patient", params={"_summary": "count"}).json()["total"] == 1


# --- the generated summary elements, without a server -----------------------------------------


def test_every_r4_type_has_summary_elements_and_every_backbone_named_has_its_own() -> None:
    table = subsetting.summary_elements()
    assert {path for path in table if "." not in path} == RESOURCE_TYPES
    for path, kept in table.items():
        assert {"id", "meta", "implicitRules"} <= set(kept) or "." in path, path
        assert "text" not in kept, path
        for child in kept.values():
            assert child is None or child in table, (path, child)


def test_a_backbone_element_that_contains_itself_points_back() -> None:
    table = subsetting.summary_elements()
    assert table["Parameters"]["parameter"] == "Parameters.parameter"
    assert table["Parameters.parameter"]["part"] == "Parameters.parameter"


def test_mandatory_elements_are_kept_even_where_not_summary() -> None:
    # AuditEvent.agent (1..*) and .source (1..1) are not Σ; a summary must still be valid.
    audit = subsetting.summary_elements()["AuditEvent"]
    assert audit["agent"] == "AuditEvent.agent"
    assert audit["source"] == "AuditEvent.source"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_the_summary_of_every_official_example_is_a_valid_resource(path: Path) -> None:
    example = jsonio.parse(path.read_bytes())
    summary = subsetting.subset(example, elements=None, summary="true")
    assert check_resource(summary) is summary
    assert "text" not in summary
    assert set(summary) <= set(example) | {"meta"}
