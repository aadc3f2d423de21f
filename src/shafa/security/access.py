"""Who is asking the FHIR API, and what their token lets them do (SMART App Launch 2.0 scopes).

One AccessContext is built per request from the bearer token, then every interaction is checked
against its scopes before it touches the store; a refusal is 403 and an audit record. A missing
or bad token is 401 (RFC 6750 §3).

Two layers. The scopes say which interactions on which types (require()). Then the data
itself bounds what a caller sees (bound()), as a SQL condition on the resources table that the
store and search apply wherever rows are read (results, counts, _include, chains, _has, history):
- a patient-context token (patient/... scopes): its patient's compartment, and resources that
  belong to no patient (Practitioner, Organization, Medication: what a citizen's app shows
  beside the record);
- a professional's token (user/... scopes, whose sub is their account): the rules of
  security.care, from their organisation, their care relationships, break-the-glass and the
  patient's Consent;
- a system's token (system/... scopes): the scopes alone; registering a system is an
  operator's decision about what it may do.
"""

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import String, bindparam, or_
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from shafa.fhir.errors import FhirError, Issue
from shafa.fhir.store import Bound, WriteGuard
from shafa.security import accounts
from shafa.security.accounts import Identity
from shafa.security.care import SEES_PATIENT, CareScope, clinical, finds_patients, visible
from shafa.security.keys import KeyRing
from shafa.security.rules import Role
from shafa.security.scopes import Context, Interaction, Scopes, access
from shafa.security.tokens import Audience, TokenClaims, TokenRefused, verify_bearer


@dataclass(frozen=True, slots=True)
class AccessContext:
    """The caller of one request: built once from the access token, then only read."""

    subject: str  # the token's sub: a user or a client
    client_id: str
    scopes: Scopes
    patient: str | None  # the launch patient of a patient-context token
    fhir_user: str | None  # e.g. Practitioner/x for a user's token
    expires: datetime
    user: Identity | None = None  # the account behind a user's token, as it is now

    @classmethod
    def of(cls, claims: TokenClaims, user: Identity | None = None) -> "AccessContext":
        """The context of a verified token, and of the account it acts for if any."""
        return cls(
            subject=claims.subject,
            client_id=claims.client_id,
            scopes=claims.scopes,
            patient=claims.patient,
            fhir_user=claims.fhir_user,
            expires=claims.expires,
            user=user,
        )

    @property
    def professional(self) -> Identity | None:
        """The staff account of a user-context token, whose access the care rules bound."""
        if self.user is None or self.user.patient_id is not None:
            return None
        return self.user if "patient" not in self.contexts() else None

    def care(self, moment: datetime) -> CareScope | None:
        """What the professional behind the token may see at this moment, or None."""
        user = self.professional
        return None if user is None else care_scope(user, moment)

    def write_guard(self, moment: datetime) -> WriteGuard | None:
        """The check of a professional's writes (store.WRITE_GUARD), or None for others."""
        care = self.care(moment)
        if care is None:
            return None

        async def guard(conn: AsyncConnection, touched: set[tuple[str, str]]) -> None:
            for res_type, patient in sorted(touched):
                if res_type == "Patient" and care.keeps_registry:
                    continue
                params = {**care.params, "care_patient": patient}
                if not (await conn.execute(SEES_PATIENT, params)).scalar():
                    raise forbidden(
                        f"You may not write {res_type} data of Patient/{patient}: no care "
                        "relationship of yours or your organisation's, and no break-the-glass"
                    )

        return guard

    def bound(self, moment: datetime) -> Bound | None:
        """The condition on resources rows for what this caller sees; None: only the scopes
        bound it (a system)."""
        patient = compartment(self)
        if patient is not None:
            return Bound(_own_or_nobodys, {"bound_patient": patient})
        care = self.care(moment)
        if care is not None:
            return Bound(visible, care.params)
        if "user" in self.contexts():
            # A user-context token that is not a professional's account sees no patient data.
            return Bound(_nobodys, {})
        return None

    def contexts(self) -> tuple[Context, ...]:
        """The SMART contexts the token's resource scopes are in."""
        return tuple(dict.fromkeys(scope.context for scope in self.scopes.resources))


async def authenticate(
    authorization: str | None,
    keys: KeyRing,
    audience: Audience,
    engine: AsyncEngine,
    moment: datetime,
) -> AccessContext:
    """The AccessContext of the bearer token in an Authorization header: its verified claims,
    and the account a person's token acts for as that account is now. TokenRefused if the
    token is not one to accept, or its account is locked or inactive."""
    claims = await verify_bearer(authorization, keys, audience, moment)
    user = None
    if claims.fhir_user is not None and claims.subject.isdigit():
        user = await accounts.identity_of(engine, int(claims.subject), moment)
        if user is None:
            raise TokenRefused("claims", "The token's account is locked or inactive")
    return AccessContext.of(claims, user)


def care_scope(user: Identity, moment: datetime) -> CareScope:
    """What a member of staff may see and write at this moment, by the rules of their role."""
    cares = clinical(user.role)
    return CareScope(
        user_id=user.user_id,
        organization_id=user.organization_id if cares else None,
        practitioner_id=user.practitioner_id if cares else None,
        moment=moment,
        sees_patients=finds_patients(user.role),
        keeps_registry=user.role is Role.REGISTRY_ADMIN,
    )


def staff_bound(user: Identity, moment: datetime) -> Bound:
    """What a member of staff sees (for their pages, as their tokens do at /fhir)."""
    return Bound(visible, care_scope(user, moment).params)


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
    if interaction in _WRITES and resource_type in REGISTRY_OWNED:
        _require_registry_authority(context, interaction, resource_type)
    for smart_context in contexts:
        if access(context.scopes.resources, interaction, resource_type, smart_context).full:
            return
    raise forbidden(
        f"The access token does not allow {_VERBS[interaction]} {resource_type} "
        f"(needs a scope such as system/{resource_type}.{interaction})"
    )


# The national registries' own resources: who is a licensed health worker, which facilities
# exist and hold licences, which medicines are registered. The prescribing and dispensing rules
# trust them, so only the registries' keepers write them: a registry administrator's account,
# or a system (the licensing authority's, say) granted the type by name. A wildcard scope such
# as a hospital system's system/*.cruds does not reach them, nor does a doctor's user/*.cruds.
REGISTRY_OWNED = frozenset(
    {
        "Practitioner",
        "PractitionerRole",
        "Organization",
        "Location",
        "Medication",
        "MedicationKnowledge",
    }
)
_WRITES = frozenset("cud")


def _require_registry_authority(
    context: AccessContext, interaction: Interaction, resource_type: str
) -> None:
    if context.user is not None:
        if context.user.role is not Role.REGISTRY_ADMIN:
            raise forbidden(
                f"{resource_type} is kept by the national registries: only a registry "
                f"administrator may write it, not a {context.user.role.value}"
            )
        return
    named = any(
        scope.resource_type == resource_type and interaction in scope.interactions
        for scope in context.scopes.resources
    )
    if not named:
        raise forbidden(
            f"The access token does not allow {_VERBS[interaction]} {resource_type}: the "
            "national registries keep it, and a system writes it only with a scope naming it, "
            f"such as system/{resource_type}.{interaction} (a wildcard scope does not reach "
            "the registries)"
        )


def compartment(context: AccessContext | None) -> str | None:
    """The patient whose compartment bounds everything this caller sees, or None.

    Any patient/ scope bounds the whole token: a token never sees more for holding others too.
    """
    if context is None or "patient" not in context.contexts():
        return None
    return context.patient


_VERBS = {"c": "creating", "r": "reading", "u": "updating", "d": "deleting", "s": "searching"}


@lru_cache(maxsize=256)
def _own_or_nobodys(row: Any) -> ColumnElement[bool]:
    patient = bindparam("bound_patient", type_=String)
    return or_(row.c.patient_id == patient, row.c.patient_id.is_(None))


@lru_cache(maxsize=256)
def _nobodys(row: Any) -> ColumnElement[bool]:
    return row.c.patient_id.is_(None)
