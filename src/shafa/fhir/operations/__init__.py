"""FHIR $operations, one module each with its OperationDefinition.

The generic engine routes `Type/$name` and `Type/id/$name` to the operations the contexts
register here when the application is built (the terminology's $lookup, $expand,
$validate-code), as it does the domain rules (validation.add_rule): fhir/ knows no context, and
the CapabilityStatement lists what is registered. $validate and $break-glass are the router's
own.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from shafa.security.scopes import Interaction

if TYPE_CHECKING:
    from shafa.fhir.routes import Call


@dataclass(frozen=True, slots=True)
class Operation:
    """An operation on a resource type: its definition, its handler, what it needs of the
    token's scopes, and whether it runs on the type (Type/$name), an instance, or both."""

    resource_type: str
    definition: dict[str, Any]  # the OperationDefinition: code, type, instance, parameters
    handler: Callable[["Call"], Awaitable[Response]]
    needs: Interaction = "r"

    @property
    def name(self) -> str:
        """The operation's code, without the $."""
        return str(self.definition["code"])

    def runs_on(self, instance: bool) -> bool:
        """True when the operation may be invoked at that level (R4 OperationDefinition.type,
        .instance)."""
        return bool(self.definition["instance" if instance else "type"])


_OPERATIONS: dict[tuple[str, str], Operation] = {}


def add_operation(operation: Operation) -> None:
    """Serve the operation at /fhir/{type}/$name (and /{type}/{id}/$name where it allows)."""
    _OPERATIONS[(operation.resource_type, operation.name)] = operation


def remove_operation(operation: Operation) -> None:
    """Stop serving an operation added with add_operation."""
    _OPERATIONS.pop((operation.resource_type, operation.name), None)


def find(resource_type: str, name: str) -> Operation | None:
    """The operation registered under the type and name, or None."""
    return _OPERATIONS.get((resource_type, name))


def of_type(resource_type: str) -> list[Operation]:
    """The operations registered on a type, by name."""
    return sorted(
        (op for (type_, _), op in _OPERATIONS.items() if type_ == resource_type),
        key=lambda op: op.name,
    )
