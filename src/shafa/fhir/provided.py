"""Resources the server provides itself, read-only, beside those clients store.

A context registers a provider for a resource type when the application is built (the
terminology its CodeSystems and ValueSets). The FHIR router then answers a read of one of the
provider's ids from the provider, adds the provider's matches to the first page of a search of
the type, and refuses to update, patch or delete a provided resource: it is the server's, not
any client's. Everything else of the type (other ids, the rest of a search) is the store's as
usual.
"""

from collections.abc import Sequence
from typing import Protocol

from shafa.fhir.errors import FhirError, Issue


class Provider(Protocol):
    """What the router asks a provider."""

    def read(self, fhir_id: str) -> bytes | None:
        """The provided resource with this id as JSON, or None if it provides no such id."""

    def search(self, params: Sequence[tuple[str, str]]) -> list[tuple[str, bytes]]:
        """(id, JSON) of each provided resource a search's parameters match."""


_PROVIDERS: dict[str, Provider] = {}


def provide(resource_type: str, provider: Provider) -> None:
    """Let the provider serve resources of the type beside the store."""
    _PROVIDERS[resource_type] = provider


def provider(resource_type: str) -> Provider | None:
    """The provider of the type, or None."""
    return _PROVIDERS.get(resource_type)


def read(resource_type: str, fhir_id: str) -> bytes | None:
    """The provided resource of that type and id as JSON, or None."""
    found = _PROVIDERS.get(resource_type)
    return found.read(fhir_id) if found is not None else None


def refuse_change(resource_type: str, fhir_id: str, method: str) -> None:
    """405 for a write of a provided resource: the server owns it."""
    if read(resource_type, fhir_id) is not None:
        raise FhirError(
            405,
            [
                Issue(
                    "not-supported",
                    f"{method} is not allowed on {resource_type}/{fhir_id}: it is built into "
                    "the server, read-only",
                )
            ],
            headers={"Allow": "GET"},
        )
