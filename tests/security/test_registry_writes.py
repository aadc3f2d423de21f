"""Only the registries' keepers write the registries' resources: the attacks of a doctor and
of a hospital system that try to license themselves, register a pharmacy or a medicine."""

import httpx

from shafa.registries import codes
from shafa.security.access import REGISTRY_OWNED
from shafa.security.rules import Role
from tests.registries.test_medicines_access import _person, _system
from tests.security.conftest import Realm

FHIR = "application/fhir+json"
FORGED_LICENCE = {
    "resourceType": "Practitioner",
    "id": "self-made",
    "qualification": [
        {
            "identifier": [{"system": codes.PRACTITIONER_LICENCE, "value": "HL-FORGED"}],
            "code": {"coding": [{"system": codes.SPECIALITY, "code": "psychiatry"}]},
            "issuer": {"reference": "Organization/ministry"},
            "period": {"start": "2025-01-01", "end": "2035-12-31"},
        }
    ],
}
PHARMACY = {"resourceType": "Organization", "id": "pop-up-pharmacy", "name": "Aptek"}


def _as(realm: Realm, token: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": FHIR}
    return httpx.Client(base_url=f"{realm.server.base}", headers=headers, timeout=60)


def _stored(realm: Realm, keeper: str, path: str) -> int:
    with _as(realm, keeper) as fhir:
        return fhir.get(path).status_code


def test_a_doctor_cannot_license_herself_or_register_a_pharmacy(guarded: Realm) -> None:
    realm = guarded
    doctor = _person(realm, "aysel", Role.DOCTOR)
    keeper = _system(realm, "system/Practitioner.rs system/Organization.rs")
    with _as(realm, doctor) as fhir:
        for path, resource in (
            ("/Practitioner/self-made", FORGED_LICENCE),
            ("/Organization/pop-up-pharmacy", PHARMACY),
        ):
            answer = fhir.put(path, json=resource)
            assert answer.status_code == 403, answer.text
            assert "only a registry administrator may write it, not a doctor" in answer.text
            assert _stored(realm, keeper, path) == 404
        # Nor through a transaction, where the refusal stops every entry.
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "resource": {"resourceType": "Basic", "id": "x", "code": {"text": "x"}},
                    "request": {"method": "PUT", "url": "Basic/x"},
                },
                {
                    "resource": FORGED_LICENCE,
                    "request": {"method": "PUT", "url": "Practitioner/self-made"},
                },
            ],
        }
        assert fhir.post("/", json=bundle).status_code == 403
    assert _stored(realm, keeper, "/Practitioner/self-made") == 404


def test_a_hospital_system_with_every_scope_cannot_write_the_registries(guarded: Realm) -> None:
    realm = guarded
    hospital = _system(realm, "system/*.cruds")
    with _as(realm, hospital) as fhir:
        for kind in sorted(REGISTRY_OWNED):
            answer = fhir.post(f"/{kind}", json={"resourceType": kind})
            assert answer.status_code == 403, (kind, answer.text)
            assert f"such as system/{kind}.c" in answer.text
        # What is not a registry's it writes as before.
        note = {"resourceType": "Basic", "id": "note", "code": {"text": "n"}}
        assert fhir.put("/Basic/note", json=note).status_code == 201
        assert fhir.get("/Organization").status_code == 200  # and reads the registries


def test_the_registries_keepers_write_them(guarded: Realm) -> None:
    realm = guarded
    licensing_authority = _system(realm, "system/Practitioner.cru")
    with _as(realm, licensing_authority) as fhir:
        assert fhir.put("/Practitioner/self-made", json=FORGED_LICENCE).status_code == 201
        assert fhir.delete("/Practitioner/self-made").status_code == 403  # d not granted
    admin = _person(realm, "leyla", Role.REGISTRY_ADMIN, "user/Organization.crus")
    with _as(realm, admin) as fhir:
        assert fhir.put("/Organization/pop-up-pharmacy", json=PHARMACY).status_code == 201
