"""OperationOutcome errors: raised anywhere, rendered once (FHIR R4 §3.1.0.4 http.html)."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Issue:
    """One OperationOutcome.issue: what is wrong and, where known, where (FHIRPath expression)."""

    code: str  # http://hl7.org/fhir/issue-type, e.g. invalid, structure, not-found, conflict
    diagnostics: str
    severity: str = "error"
    expression: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        """This issue as OperationOutcome.issue JSON."""
        issue: dict[str, Any] = {
            "severity": self.severity,
            "code": self.code,
            "diagnostics": self.diagnostics,
        }
        if self.expression:
            issue["expression"] = list(self.expression)
        return issue


def operation_outcome(issues: Iterable[Issue]) -> dict[str, Any]:
    """An OperationOutcome resource carrying the issues."""
    return {"resourceType": "OperationOutcome", "issue": [i.as_json() for i in issues]}


@dataclass
class FhirError(Exception):
    """A FHIR interaction failed; rendered as an OperationOutcome with this HTTP status."""

    status: int
    issues: list[Issue]
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(i.diagnostics for i in self.issues)

    @classmethod
    def of(cls, status: int, code: str, diagnostics: str, *expression: str) -> "FhirError":
        """An error with a single issue."""
        return cls(status, [Issue(code, diagnostics, expression=expression)])


def invalid(diagnostics: str, *expression: str) -> FhirError:
    """400: the request is not valid FHIR or not a valid interaction."""
    return FhirError.of(400, "invalid", diagnostics, *expression)


def not_found(diagnostics: str) -> FhirError:
    """404: no such resource or type."""
    return FhirError.of(404, "not-found", diagnostics)


def gone(diagnostics: str) -> FhirError:
    """410: the resource was deleted (R4 http.html#read)."""
    return FhirError.of(410, "deleted", diagnostics)


def unprocessable(diagnostics: str, *expression: str) -> FhirError:
    """422: well-formed but breaks a rule of the resource (e.g. a PATCH that makes it invalid)."""
    return FhirError.of(422, "processing", diagnostics, *expression)
