"""The inputs of a terminology operation, from a GET query or a POSTed Parameters resource.

R4 operations.html#request: a GET carries primitive parameters in the query string; a POST
carries a Parameters resource whose parameters have a value[x] (or a resource). Either way an
operation reads its inputs here, by name and type, and bad input is a 400 naming the parameter
before the operation looks anything up.
"""

from collections.abc import Iterable
from typing import Any

from shafa.fhir.errors import invalid

MAX_TEXT = 1000  # characters of any one string input


class Params:
    """An operation's inputs: name -> values, in the order given."""

    def __init__(self, values: dict[str, list[Any]]) -> None:
        self.values = values

    @classmethod
    def from_query(cls, pairs: Iterable[tuple[str, str]]) -> "Params":
        """The inputs of a GET: every query parameter, as text."""
        values: dict[str, list[Any]] = {}
        for name, value in pairs:
            if name in ("_format", "_pretty"):
                continue
            values.setdefault(name, []).append(value)
        return cls(values)

    @classmethod
    def from_parameters(cls, body: Any) -> "Params":
        """The inputs of a POST: a Parameters resource's parameters, each its value[x]."""
        if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
            raise invalid("POST a Parameters resource to a terminology operation", "Parameters")
        values: dict[str, list[Any]] = {}
        for parameter in body.get("parameter") or []:
            name = parameter.get("name") if isinstance(parameter, dict) else None
            if not isinstance(name, str):
                raise invalid("Every parameter needs a name", "Parameters.parameter")
            found = [v for key, v in parameter.items() if key.startswith("value")]
            if "resource" in parameter:
                found.append(parameter["resource"])
            if len(found) != 1:
                raise invalid(f"Parameter {name!r} needs one value", f"Parameters.parameter.{name}")
            values.setdefault(name, []).append(found[0])
        return cls(values)

    def one(self, name: str) -> Any:
        """The parameter's one value, or None; 400 if it is given more than once."""
        found = self.values.get(name) or []
        if len(found) > 1:
            raise invalid(f"Give {name} once", name)
        return found[0] if found else None

    def text(self, name: str) -> str | None:
        """A string-like parameter (string, code, uri), or None."""
        value = self.one(name)
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
            raise invalid(f"{name} must be a non-empty text of at most {MAX_TEXT} characters", name)
        return value

    def texts(self, name: str) -> list[str]:
        """Every value of a repeatable string-like parameter."""
        found = self.values.get(name) or []
        for value in found:
            if not isinstance(value, str) or not value:
                raise invalid(f"{name} must be text", name)
        return list(found)

    def integer(self, name: str, low: int, high: int) -> int | None:
        """An integer parameter within [low, high], or None."""
        value = self.one(name)
        if value is None:
            return None
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise invalid(f"{name} must be a whole number from {low} to {high}", name)
        return value

    def boolean(self, name: str) -> bool | None:
        """A boolean parameter (true or false), or None."""
        value = self.one(name)
        if value is None or isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise invalid(f"{name} must be true or false", name)

    def coding(self, name: str) -> dict[str, Any] | None:
        """A Coding parameter (POST only: R4 passes complex types in a Parameters body)."""
        value = self.one(name)
        if value is None:
            return None
        if not isinstance(value, dict) or not isinstance(value.get("code"), str):
            raise invalid(f"{name} must be a Coding with a code", name)
        return value

    def codings(self, name: str) -> list[dict[str, Any]] | None:
        """The codings of a CodeableConcept parameter, or None."""
        value = self.one(name)
        if value is None:
            return None
        codings = value.get("coding") if isinstance(value, dict) else None
        if not isinstance(codings, list) or not codings:
            raise invalid(f"{name} must be a CodeableConcept with at least one coding", name)
        for coding in codings:
            if not isinstance(coding, dict) or not isinstance(coding.get("code"), str):
                raise invalid(f"Every coding of {name} needs a code", name)
        return codings
