"""Who is asking the FHIR API, and what their token lets them do (SMART App Launch 2.0 scopes).

One AccessContext is built per request from the bearer token, then every interaction is checked
against its scopes before it touches the store; a refusal is 403 and an audit record. A missing
or bad token is 401 (RFC 6750 §3).

This is the first layer of issue 4's authorisation: type-level scopes for systems and users,
and for patient-context tokens (patient/... scopes) reads and searches bounded by the patient's
compartment (compartment(); the store and search filter by it). Only resources owned by the
patient are in it: directory resources that belong to nobody (Practitioner, Medication) are
outside it too, which errs on the side of showing less.
"""

from dataclasses import dataclass
from datetime import datetime

from shafa.fhir.errors import FhirError, Issue
from shafa.security.scopes import Context, Interaction, Scopes, access
from shafa.security.tokens import TokenClaims


@dataclass(frozen=True, slots=True)
class AccessContext:
    """The caller of one request: built once from the access token, then only read."""

    subject: str  # the token's sub: a user or a client
    client_id: str
    scopes: Scopes
    patient: str | None  # the launch patient of a patient-context token
    fhir_user: str | None  # e.g. Practitioner/x for a user's token
    expires: datetime

    @classmethod
    def of(cls, claims: TokenClaims) -> "AccessContext":
        """The context of a verified token."""
        return cls(
            subject=claims.subject,
            client_id=claims.client_id,
            scopes=claims.scopes,
            patient=claims.patient,
            fhir_user=claims.fhir_user,
            expires=claims.expires,
        )

    def contexts(self) -> tuple[Context, ...]:
        """The SMART contexts the token's resource scopes are in."""
        return tuple(dict.fromkeys(scope.context for scope in self.scopes.resources))


def unauthenticated(reason: str) -> FhirError:
    """401 for a request without a usable access token (RFC 6750 §3.1)."""
    return FhirError(
        401,
        [Issue("login", f"{reason}; get an access token at the token endpoint", "error")],
        headers={"WWW-Authenticate": 'Bearer realm="fhir", error="invalid_token"'},
    )


def forbidden(reason: str) -> FhirError:
    """403 for an interaction the token's scopes do not grant."""
    return FhirError(
        403,
        [Issue("forbidden", reason, "error")],
        headers={"WWW-Authenticate": 'Bearer realm="fhir", error="insufficient_scope"'},
    )


def require(context: AccessContext, interaction: Interaction, resource_type: str) -> None:
    """Raise 403 unless the scopes grant the interaction on the type.

    Granular scopes (?category=...) grant only part of a type: they need the store's filters,
    so they are not enough here yet. A patient-context token may read and search within its
    patient's compartment (the store filters by compartment()); it may not write yet.
    """
    contexts = context.contexts()
    if "patient" in contexts:
        if context.patient is None:
            raise forbidden("A patient-context token must name its patient (the patient claim)")
        if interaction not in ("r", "s"):
            raise forbidden("Patient-context tokens (patient/...) may read and search, not write")
    for smart_context in contexts:
        if access(context.scopes.resources, interaction, resource_type, smart_context).full:
            return
    raise forbidden(
        f"The access token does not allow {_VERBS[interaction]} {resource_type} "
        f"(needs a scope such as system/{resource_type}.{interaction})"
    )


def compartment(context: AccessContext | None) -> str | None:
    """The patient whose compartment bounds everything this caller sees, or None.

    Any patient/ scope bounds the whole token: a token never sees more for holding others too.
    """
    if context is None or "patient" not in context.contexts():
        return None
    return context.patient


_VERBS = {"c": "creating", "r": "reading", "u": "updating", "d": "deleting", "s": "searching"}
