"""Concurrent writers: nothing lost, no version twice, conditional creates stay unique."""

import json
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import LiveServer

WRITERS = 8
ROUNDS = 6


def _client(server: LiveServer) -> httpx.Client:
    return httpx.Client(
        base_url=server.base, headers={"Content-Type": "application/fhir+json"}, timeout=60
    )


def test_concurrent_updates_of_one_resource_all_land_in_order(
    fhir: httpx.Client, server: LiveServer
) -> None:
    assert (
        fhir.put("/Patient/busy", json={"resourceType": "Patient", "id": "busy"}).status_code == 201
    )

    def writer(number: int) -> list[str]:
        versions = []
        with _client(server) as client:
            for round_ in range(ROUNDS):
                body = {
                    "resourceType": "Patient",
                    "id": "busy",
                    "birthDate": f"{1950 + number}-01-{round_ + 1:02d}",
                }
                response = client.put("/Patient/busy", content=json.dumps(body))
                assert response.status_code == 200, response.text
                versions.append(response.json()["meta"]["versionId"])
        return versions

    with ThreadPoolExecutor(WRITERS) as pool:
        versions = [v for vs in pool.map(writer, range(WRITERS)) for v in vs]

    assert sorted(map(int, versions)) == list(range(2, 2 + WRITERS * ROUNDS))
    history = fhir.get("/Patient/busy/_history", params={"_count": 1000}).json()
    assert history["total"] == 1 + WRITERS * ROUNDS


def test_concurrent_conditional_creates_make_one_resource(
    fhir: httpx.Client, server: LiveServer
) -> None:
    patient = {"resourceType": "Patient", "identifier": [{"system": "urn:test", "value": "once"}]}

    def creator(_: int) -> int:
        with _client(server) as client:
            response = client.post(
                "/Patient",
                content=json.dumps(patient),
                headers={"If-None-Exist": "identifier=urn:test|once"},
            )
            return response.status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = sorted(pool.map(creator, range(WRITERS)))

    assert statuses == [200] * (WRITERS - 1) + [201]
    assert fhir.get("/Patient", params={"identifier": "urn:test|once"}).json()["total"] == 1


def test_concurrent_creates_of_one_client_id_make_one_resource(
    fhir: httpx.Client, server: LiveServer
) -> None:
    def creator(number: int) -> int:
        with _client(server) as client:
            body = {
                "resourceType": "Patient",
                "id": "raced",
                "gender": "female" if number % 2 else "male",
            }
            return client.put("/Patient/raced", content=json.dumps(body)).status_code

    with ThreadPoolExecutor(WRITERS) as pool:
        statuses = list(pool.map(creator, range(WRITERS)))

    assert statuses.count(201) == 1
    assert set(statuses) <= {200, 201}
    history = fhir.get("/Patient/raced/_history", params={"_count": 100}).json()
    versions = [e["response"]["etag"] for e in history["entry"]]
    assert len(versions) == len(set(versions))
