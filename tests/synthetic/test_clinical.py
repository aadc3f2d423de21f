"""The synthetic clinical generator: reproducible, schema-valid, referentially closed."""

import gzip
import json
import re
from collections import Counter
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from shafa.synthetic.clinical import (
    FIN_SYSTEM,
    FORMULARY_SIZE,
    POLYCLINICS,
    RESOURCES_PER_PATIENT,
    SHARED_SIZE,
    generate,
    shared_resources,
    transaction_bundles,
)

# The official schema as handed out beside the repository; the package ships the same file.
SHARED_SCHEMA = Path(__file__).resolve().parents[3] / "shared/fhir-r4/fhir.schema.json"
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
FIN = re.compile(r"[0-9A-Z]{7}")


@cache
def _schema_validator() -> Any:
    if SHARED_SCHEMA.exists():
        schema = json.loads(SHARED_SCHEMA.read_bytes())
    else:
        packaged = resources.files("shafa.fhir").joinpath("data/fhir.schema.json.gz")
        schema = json.loads(gzip.decompress(packaged.read_bytes()))
    # The file refers to these two definitions without defining them.
    schema["definitions"]["Resource"] = {"oneOf": schema["definitions"]["ResourceList"]["oneOf"]}
    schema["definitions"]["integer64"] = {"type": "string"}
    return jsonschema_rs.validator_for(schema)


def _references(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        for child in value.values():
            found += _references(child)
        return found
    if isinstance(value, list):
        return [reference for child in value for reference in _references(child)]
    return []


def test_same_seed_gives_same_output_and_another_seed_does_not():
    first = json.dumps(list(generate(25, seed=7)))
    assert first == json.dumps(list(generate(25, seed=7)))
    assert first != json.dumps(list(generate(25, seed=8)))
    bundles = json.dumps(list(transaction_bundles(25, per_bundle=40, seed=7)))
    assert bundles == json.dumps(list(transaction_bundles(25, per_bundle=40, seed=7)))


def test_every_resource_is_valid_against_the_official_schema():
    validator = _schema_validator()
    for resource in generate(40, seed=3):
        errors = [error.message for error in validator.iter_errors(resource)]
        assert not errors, (resource["id"], errors[:3])
    for bundle in transaction_bundles(12, per_bundle=50, seed=3):
        assert validator.is_valid(bundle)


def test_every_reference_points_to_a_resource_generated_earlier():
    seen: set[str] = set()
    for resource in generate(300, seed=5):
        for reference in _references(resource):
            assert reference in seen, (resource["id"], reference)
        assert FHIR_ID.fullmatch(resource["id"])
        seen.add(f"{resource['resourceType']}/{resource['id']}")
    assert len(seen) == SHARED_SIZE + 300 * RESOURCES_PER_PATIENT, "ids are unique"


def test_fins_are_unique_and_well_formed():
    fins = [
        identifier["value"]
        for resource in generate(5000, seed=11)
        if resource["resourceType"] == "Patient"
        for identifier in resource["identifier"]
        if identifier["system"] == FIN_SYSTEM
    ]
    assert len(fins) == 5000
    assert all(FIN.fullmatch(fin) for fin in fins)
    assert len(set(fins)) == len(fins)


def test_the_mix_is_one_patient_two_encounters_five_observations_two_requests():
    counts = Counter(resource["resourceType"] for resource in generate(100))
    assert counts == {
        "Medication": FORMULARY_SIZE,
        "Organization": POLYCLINICS,
        "Patient": 100,
        "Encounter": 200,
        "Observation": 500,
        "MedicationRequest": 200,
    }


@pytest.mark.parametrize("per_bundle", [1, 25, 500])
def test_bundles_put_every_resource_once_without_splitting_a_patient(per_bundle):
    base_url = "http://127.0.0.1:8765/fhir"
    bundles = list(transaction_bundles(60, per_bundle=per_bundle, base_url=base_url))
    shared = {f"{r['resourceType']}/{r['id']}" for r in shared_resources()}
    assert {entry["request"]["url"] for entry in bundles[0]["entry"]} == shared
    urls = []
    for number, bundle in enumerate(bundles):
        assert bundle["resourceType"] == "Bundle"
        assert bundle["type"] == "transaction"
        if number:
            assert len(bundle["entry"]) <= max(per_bundle, RESOURCES_PER_PATIENT)
        in_bundle = set()
        for entry in bundle["entry"]:
            resource = entry["resource"]
            url = f"{resource['resourceType']}/{resource['id']}"
            assert entry["request"] == {"method": "PUT", "url": url}
            assert entry["fullUrl"] == f"{base_url}/{url}"
            in_bundle.add(url)
            urls.append(url)
        # Bundles after the formulary's may be posted concurrently, so each must resolve its own
        # references to anything but the formulary.
        for entry in bundle["entry"]:
            assert set(_references(entry["resource"])) <= in_bundle | shared
    assert urls == [f"{r['resourceType']}/{r['id']}" for r in generate(60)]
