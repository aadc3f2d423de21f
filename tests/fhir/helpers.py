"""Small helpers the search tests share."""

import httpx


def put(fhir: httpx.Client, resource: dict) -> None:
    """Store the resource under its own id (create or update), or fail the test."""
    response = fhir.put(f"/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.text


def found(fhir: httpx.Client, res_type: str, params: dict[str, str]) -> set[str]:
    """The ids of the resources a search matches (not those it includes)."""
    response = fhir.get(f"/{res_type}", params=params)
    assert response.status_code == 200, response.text
    return {e["resource"]["id"] for e in response.json()["entry"] if e["search"]["mode"] == "match"}
