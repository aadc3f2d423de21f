"""Who may see a patient's data: care relationships, break-the-glass, and the patient's Consent.

A professional sees the data of a patient their organisation or they themselves care for, as
the FHIR data itself says (the way NHS Legitimate Relationships and Estonia's e-Health work):

- Patient: managingOrganization and generalPractitioner (Organization, Practitioner), always;
- Encounter: serviceProvider and participant.individual, unless cancelled or entered in error,
  until AFTERCARE past the end of its period;
- Appointment: participant.actor (Practitioner, unless declined), proposed to fulfilled, until
  AFTERCARE past its end;
- EpisodeOfCare (managingOrganization, careManager) and CareTeam (managingOrganization,
  participant.member) while live, until AFTERCARE past the end of their period;
- ServiceRequest, a referral: performer and requester, while draft, active or on hold.

Those rows are derived on every write of such a resource into care_links, in the same
transaction (project()), so a search can bound its results with one indexed EXISTS.

Break-the-glass gives one professional every resource of one patient for BREAK_GLASS_MINUTES,
after they state a reason; it is an audit record, and stays flagged until someone reviews it.

A privacy Consent (consentscope#patient-privacy, status active) hides resources carrying a
security label (meta.security): a provision of type deny with securityLabel hides them from
everyone, or from the organisations named as its actors; a permit provision nested in it names
organisations excepted (say the clinic that treats the patient). stated_rules() reads a
Consent into rows of consent_rules. Break-the-glass overrides a Consent, as emergencies must.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import BigInteger, Boolean, String, and_, bindparam, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from shafa.db import bulk
from shafa.db.tables import idx_token
from shafa.db.types import UtcDateTime
from shafa.fhir.indexing import date_range
from shafa.security.rules import Role
from shafa.security.tables import break_glass, care_links, consent_rules

# Who treats: their organisation's and their own relationships open a patient's data to them.
CLINICAL_ROLES = frozenset({Role.DOCTOR, Role.NURSE, Role.PHARMACIST, Role.LABORATORY})
# Who must find any citizen's Patient (demographics only) to start care or route a request.
PATIENT_FINDING_ROLES = CLINICAL_ROLES | {Role.CALL_CENTER_OPERATOR, Role.REGISTRY_ADMIN}
# Who may break the glass: those who treat emergencies.
BREAK_GLASS_ROLES = frozenset({Role.DOCTOR, Role.NURSE})


def clinical(role: Role) -> bool:
    """The role's care relationships open patients' data to it."""
    return role in CLINICAL_ROLES


def finds_patients(role: Role) -> bool:
    """The role may find any citizen's Patient resource."""
    return role in PATIENT_FINDING_ROLES


# How long a relationship outlives the care that made it: the follow-up after a discharge,
# the results that arrive after a visit.
AFTERCARE = timedelta(days=30)
CONSENT_TYPE = "Consent"
PRIVACY_SCOPE = ("http://terminology.hl7.org/CodeSystem/consentscope", "patient-privacy")

_ENCOUNTER_ENDED = frozenset({"cancelled", "entered-in-error", "unknown"})
_APPOINTMENT_LIVE = frozenset(
    {"proposed", "pending", "booked", "arrived", "fulfilled", "checked-in", "waitlist"}
)
_EPISODE_LIVE = frozenset({"planned", "waitlist", "active", "onhold"})
_CARE_TEAM_LIVE = frozenset({"proposed", "active", "suspended"})
_REFERRAL_LIVE = frozenset({"draft", "active", "on-hold"})


@dataclass(frozen=True, slots=True)
class CareLink:
    """An organisation or a practitioner caring for the resource's patient, from starts (None:
    always) until ends (None: open)."""

    organization_id: str | None
    practitioner_id: str | None
    starts: datetime | None = None
    ends: datetime | None = None


@dataclass(frozen=True, slots=True)
class ConsentRule:
    """One row of consent_rules: deny (organization None: everyone) or permit (an exception)."""

    effect: str
    label_system: str
    label_code: str
    organization_id: str | None
    starts: datetime | None
    ends: datetime | None


def _local_id(reference: Any, res_type: str) -> str | None:
    """The id of a local reference {"reference": "Type/id"} to res_type, else None."""
    if not isinstance(reference, dict):
        return None
    text = reference.get("reference")
    if not isinstance(text, str):
        return None
    parts = text.split("/")
    if len(parts) == 2 and parts[0] == res_type and parts[1]:
        return parts[1]
    return None


def _links_of(references: Iterable[Any], starts: Any = None, ends: Any = None) -> list[CareLink]:
    links = []
    for reference in references:
        organization = _local_id(reference, "Organization")
        practitioner = _local_id(reference, "Practitioner")
        if organization or practitioner:
            links.append(CareLink(organization, practitioner, starts, ends))
    return links


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _period_end(period: Any, *, finished: bool = False) -> datetime | None:
    """When a relationship made by something of this period ends: AFTERCARE past its end; an
    open period never ends, unless the care is finished, when its start stands for its end."""
    if not isinstance(period, dict):
        return None
    end = date_range(period.get("end")) if period.get("end") else None
    if end is not None:
        return end[1] + AFTERCARE
    if finished and period.get("start"):
        start = date_range(period.get("start"))
        return None if start is None else start[1] + AFTERCARE
    return None


def stated_links(resource: dict[str, Any]) -> list[CareLink]:
    """The care relationships a resource states (see the module's table)."""
    kind = resource.get("resourceType")
    status = resource.get("status")
    if kind == "Patient":
        return _links_of(
            [resource.get("managingOrganization"), *_list(resource.get("generalPractitioner"))]
        )
    if kind == "Encounter":
        if status in _ENCOUNTER_ENDED:
            return []
        ends = _period_end(resource.get("period"), finished=status == "finished")
        individuals = [
            p.get("individual") for p in _list(resource.get("participant")) if isinstance(p, dict)
        ]
        return _links_of([resource.get("serviceProvider"), *individuals], ends=ends)
    if kind == "Appointment":
        if status not in _APPOINTMENT_LIVE:
            return []
        end = resource.get("end") or resource.get("start")
        span = date_range(end) if end else None
        ends = None if span is None else span[1] + AFTERCARE
        actors = [
            p.get("actor")
            for p in _list(resource.get("participant"))
            if isinstance(p, dict) and p.get("status") != "declined"
        ]
        return _links_of(actors, ends=ends)
    if kind == "EpisodeOfCare":
        if status not in _EPISODE_LIVE:
            return []
        ends = _period_end(resource.get("period"))
        return _links_of(
            [resource.get("managingOrganization"), resource.get("careManager")], ends=ends
        )
    if kind == "CareTeam":
        if status not in _CARE_TEAM_LIVE:
            return []
        ends = _period_end(resource.get("period"))
        members = [
            p.get("member") for p in _list(resource.get("participant")) if isinstance(p, dict)
        ]
        return _links_of([*_list(resource.get("managingOrganization")), *members], ends=ends)
    if kind == "ServiceRequest":
        if status not in _REFERRAL_LIVE:
            return []
        return _links_of([*_list(resource.get("performer")), resource.get("requester")])
    return []


CARE_TYPES = frozenset(
    {"Patient", "Encounter", "Appointment", "EpisodeOfCare", "CareTeam", "ServiceRequest"}
)


def _is_privacy_consent(resource: dict[str, Any]) -> bool:
    scope = resource.get("scope")
    codings = scope.get("coding") if isinstance(scope, dict) else None
    return resource.get("status") == "active" and any(
        isinstance(c, dict) and (c.get("system"), c.get("code")) == PRIVACY_SCOPE
        for c in _list(codings)
    )


def _bounds(
    period: Any, outer: tuple[datetime | None, datetime | None]
) -> tuple[datetime | None, datetime | None]:
    """A provision's period within the one around it."""
    starts, ends = outer
    if isinstance(period, dict):
        start = date_range(period.get("start")) if period.get("start") else None
        end = date_range(period.get("end")) if period.get("end") else None
        if start is not None:
            starts = start[0] if starts is None else max(starts, start[0])
        if end is not None:
            ends = end[1] if ends is None else min(ends, end[1])
    return starts, ends


def _labels(provision: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (label["system"], label["code"])
        for label in _list(provision.get("securityLabel"))
        if isinstance(label, dict)
        and isinstance(label.get("system"), str)
        and isinstance(label.get("code"), str)
    ]


def _actor_organizations(provision: dict[str, Any]) -> list[str]:
    found = (
        _local_id(actor.get("reference"), "Organization")
        for actor in _list(provision.get("actor"))
        if isinstance(actor, dict)
    )
    return [organization for organization in found if organization]


def stated_rules(resource: dict[str, Any]) -> list[ConsentRule]:
    """The rows a privacy Consent puts in consent_rules (see the module's docstring); none for
    another kind of Consent, or one not active."""
    if resource.get("resourceType") != CONSENT_TYPE or not _is_privacy_consent(resource):
        return []
    root = resource.get("provision")
    if not isinstance(root, dict):
        return []
    return list(_provision_rules(root, _bounds(root.get("period"), (None, None)), []))


def _provision_rules(
    provision: dict[str, Any],
    bounds: tuple[datetime | None, datetime | None],
    denied: list[tuple[str, str]],
) -> Iterator[ConsentRule]:
    """Rules of a provision and those nested in it; denied: the labels a deny around it hid."""
    labels = _labels(provision)
    starts, ends = bounds
    if provision.get("type") == "deny" and labels:
        organizations: list[str | None] = [*_actor_organizations(provision)] or [None]
        for system, code in labels:
            for organization in organizations:
                yield ConsentRule("deny", system, code, organization, starts, ends)
        denied = labels
    elif provision.get("type") == "permit" and denied:
        for system, code in labels or denied:
            for organization in _actor_organizations(provision):
                yield ConsentRule("permit", system, code, organization, starts, ends)
    for nested in _list(provision.get("provision")):
        if isinstance(nested, dict):
            yield from _provision_rules(nested, _bounds(nested.get("period"), bounds), denied)


PROJECTED_TYPES = CARE_TYPES | {CONSENT_TYPE}


@dataclass(frozen=True, slots=True)
class Written:
    """A resource the store has just written (or deleted: resource None), for project()."""

    pk: int
    res_type: str
    patient_id: str | None
    resource: dict[str, Any] | None
    created: bool = False  # new (or back from deletion): it has no rows to replace


async def project(conn: AsyncConnection, written: list[Written]) -> None:
    """Replace the care_links and consent_rules rows of each written resource with those its
    newest version states. Runs in the store's write transaction, like the index rows."""
    written = [w for w in written if w.res_type in PROJECTED_TYPES]
    if not written:
        return
    newest = {w.pk: w for w in written}  # a resource written twice in a batch: its last version
    # Only what existed before has rows: a load of new resources deletes nothing (and does not
    # scan a table the planner, before its next ANALYZE, believes empty).
    stale = {w.pk for w in written if not w.created}
    if stale:
        await conn.execute(delete(care_links).where(care_links.c.source_pk.in_(stale)))
        await conn.execute(delete(consent_rules).where(consent_rules.c.source_pk.in_(stale)))
    links, rules = [], []
    for w in newest.values():
        if w.resource is None or w.patient_id is None:
            continue
        for link in stated_links(w.resource):
            links.append(
                (
                    w.patient_id,
                    link.organization_id,
                    link.practitioner_id,
                    w.pk,
                    w.res_type,
                    link.starts,
                    link.ends,
                )
            )
        for rule in stated_rules(w.resource):
            rules.append(
                (
                    w.patient_id,
                    w.pk,
                    rule.effect,
                    rule.label_system,
                    rule.label_code,
                    rule.organization_id,
                    rule.starts,
                    rule.ends,
                )
            )
    await bulk.insert_rows(
        conn,
        care_links,
        [
            "patient_id",
            "organization_id",
            "practitioner_id",
            "source_pk",
            "source_type",
            "starts",
            "ends",
        ],
        links,
    )
    await bulk.insert_rows(
        conn,
        consent_rules,
        [
            "patient_id",
            "source_pk",
            "effect",
            "label_system",
            "label_code",
            "organization_id",
            "starts",
            "ends",
        ],
        rules,
    )


# --- The SQL that bounds what a professional sees ------------------------------------------

# The conditions are built once for each resources row (table or alias) with these named
# parameters, whose values CareScope.params gives: building them for every request cost more
# than the read they guard.
_USER = bindparam("care_user", type_=BigInteger)
_ORG = bindparam("care_org", type_=String)
_PRACTITIONER = bindparam("care_practitioner", type_=String)
_MOMENT = bindparam("care_moment", type_=UtcDateTime)
_SEES_PATIENTS = bindparam("care_sees_patients", type_=Boolean)
_PATIENT = bindparam("care_patient", type_=String)


def _live(table: Any) -> ColumnElement[bool]:
    return and_(
        or_(table.c.starts.is_(None), table.c.starts <= _MOMENT),
        or_(table.c.ends.is_(None), table.c.ends > _MOMENT),
    )


def _cares_for(patient_id: Any) -> ColumnElement[bool]:
    """The professional's organisation or the professional has a live relationship (a NULL
    organisation or practitioner matches nothing)."""
    link = care_links.c
    return exists().where(
        link.patient_id == patient_id,
        or_(link.organization_id == _ORG, link.practitioner_id == _PRACTITIONER),
        _live(care_links),
    )


def _broke_glass(patient_id: Any) -> ColumnElement[bool]:
    g = break_glass.c
    return exists().where(
        g.user_id == _USER, g.patient_id == patient_id, g.started <= _MOMENT, g.expires > _MOMENT
    )


def _hidden(row: Any) -> ColumnElement[bool]:
    """The patient's Consent hides this resource from the professional's organisation."""
    deny = consent_rules.alias("deny")
    permit = consent_rules.alias("permit")
    t = idx_token.c
    # Nested two levels down, it must be told what to correlate: everything but its own.
    labelled = (
        exists()
        .where(
            t.resource_pk == row.c.pk,
            t.param == "_security",
            t.system == deny.c.label_system,
            t.code == deny.c.label_code,
        )
        .correlate_except(idx_token)
    )
    excepted = (
        exists()
        .where(
            permit.c.source_pk == deny.c.source_pk,
            permit.c.effect == "permit",
            permit.c.label_system == deny.c.label_system,
            permit.c.label_code == deny.c.label_code,
            permit.c.organization_id == _ORG,
            _live(permit),
        )
        .correlate_except(permit)
    )
    return (
        select(deny.c.id)
        .where(
            deny.c.patient_id == row.c.patient_id,
            deny.c.effect == "deny",
            or_(deny.c.organization_id.is_(None), deny.c.organization_id == _ORG),
            _live(deny),
            labelled,
            ~excepted,
        )
        .exists()
    )


@lru_cache(maxsize=256)
def visible(row: Any) -> ColumnElement[bool]:
    """The condition on a resources row (or an alias of it) for what a professional sees:
    resources of no patient; any Patient if the role finds citizens; the data of patients in
    their care that no Consent hides from them; everything of a patient they broke the glass
    for. Parameters: CareScope.params."""
    patient = row.c.patient_id
    return or_(
        patient.is_(None),
        and_(row.c.res_type == "Patient", _SEES_PATIENTS),
        _broke_glass(patient),
        and_(_cares_for(patient), ~_hidden(row)),
    )


# Whether a professional may see a patient's data at all (care or glass): care_patient and
# CareScope.params.
SEES_PATIENT = select(or_(_broke_glass(_PATIENT), _cares_for(_PATIENT)))


@dataclass(frozen=True, slots=True)
class CareScope:
    """What one professional may see and write at one moment: the values of the parameters of
    visible() and SEES_PATIENT.

    sees_patients: the role finds any citizen's Patient resource (demographics only), as a
    doctor must to start caring for a walk-in patient; the rest of the data still needs a
    relationship or break-the-glass. A write is allowed when, after it, the professional may
    see the data of every patient it touched: recording an Encounter at their own organisation
    starts a relationship, which the audit log shows the patient like every other write.
    """

    user_id: int
    organization_id: str | None
    practitioner_id: str | None
    moment: datetime
    sees_patients: bool
    keeps_registry: bool = False  # writes citizens' Patient resources (the registry)

    @property
    def params(self) -> dict[str, Any]:
        """The values of the conditions' parameters."""
        return {
            "care_user": self.user_id,
            "care_org": self.organization_id,
            "care_practitioner": self.practitioner_id,
            "care_moment": self.moment,
            "care_sees_patients": self.sees_patients,
        }


# --- Break-the-glass ------------------------------------------------------------------------

# Long enough to treat an emergency, short enough that the door does not stay open.
BREAK_GLASS_DURATION = timedelta(hours=1)
REASON_LENGTH = (10, 1000)  # a sentence a reviewer can judge, not "x"


class GlassRefused(ValueError):
    """A break-the-glass request the rules refuse; the message says why, for the caller."""


@dataclass(frozen=True, slots=True)
class GlassBroken:
    """A professional's emergency access to a patient (a row of break_glass)."""

    id: int
    user_id: int
    patient_id: str
    reason: str
    started: datetime
    expires: datetime
    audit_record: str | None
    reviewed_by: int | None
    reviewed_at: datetime | None
    review_note: str | None


def checked_reason(reason: str) -> str:
    """The stated reason, trimmed; GlassRefused when it is too short or too long to judge."""
    text = " ".join(reason.split())
    shortest, longest = REASON_LENGTH
    if not shortest <= len(text) <= longest:
        raise GlassRefused(
            f"State the reason for the emergency access in {shortest} to {longest} characters"
        )
    return text


async def break_the_glass(
    conn: AsyncConnection,
    *,
    user_id: int,
    role: Role,
    patient_id: str,
    reason: str,
    now: datetime,
    audit_record: str | None,
    lasts: timedelta = BREAK_GLASS_DURATION,
) -> GlassBroken:
    """Open one patient's data to one professional until now + lasts, in the caller's
    transaction (with the audit record of it); flagged until reviewed."""
    if role not in BREAK_GLASS_ROLES:
        raise GlassRefused(f"The role {role.value} may not break the glass")
    text = checked_reason(reason)
    values = {
        "user_id": user_id,
        "patient_id": patient_id,
        "reason": text,
        "started": now,
        "expires": now + lasts,
        "audit_record": audit_record,
    }
    row = (await conn.execute(break_glass.insert().values(values).returning(break_glass))).one()
    return GlassBroken(**row._mapping)


async def review(
    conn: AsyncConnection, glass_id: int, *, reviewer_id: int, note: str, now: datetime
) -> GlassBroken:
    """Record that someone else reviewed an emergency access; GlassRefused for one unknown,
    already reviewed, or one's own."""
    g = break_glass.c
    row = (await conn.execute(select(break_glass).where(g.id == glass_id))).first()
    if row is None:
        raise GlassRefused(f"There is no emergency access {glass_id}")
    if row.reviewed_at is not None:
        raise GlassRefused(f"Emergency access {glass_id} was reviewed already")
    if row.user_id == reviewer_id:
        raise GlassRefused("Nobody reviews their own emergency access")
    changes = {"reviewed_by": reviewer_id, "reviewed_at": now, "review_note": note.strip() or None}
    updated = (
        await conn.execute(
            break_glass.update()
            .where(g.id == glass_id, g.reviewed_at.is_(None))
            .values(changes)
            .returning(break_glass)
        )
    ).one()
    return GlassBroken(**updated._mapping)
