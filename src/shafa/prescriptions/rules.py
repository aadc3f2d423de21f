"""e-Prescription rules: validity, repeats, and the safety checks at prescribing time, with the
R4 DetectedIssue resources they become. Pure: no database, HTTP or clock (dates are passed in).

The checks (check()) each return Findings:

- drug-drug interactions from the curated table (interactions.py), code DRG;
- duplicate therapy: an active prescription with an INN in common or in the same ATC level-4
  group (chemical subgroup, the first 5 characters), DUPTHPY;
- allergy (ALGY) or intolerance (INT) recorded for the INN or its class (an ATC code standing
  for its group); an allergy to one penicillin is an allergy to all (J01C);
- maximum dose (DOSEH) against data/max_daily_doses.csv, a small curated table of true
  maxima with their sources: WHO's DDD is an average maintenance dose for drug-use statistics,
  not a maximum, so it is never used as one; and methotrexate given more often than once a
  week (DOSEIVL);
- pregnancy (PREG) and age (AGE) contraindications from data/contraindications.csv.

A high-severity finding blocks prescribing unless the doctor overrides it with a reason; the
override is recorded as the DetectedIssue's mitigation. A moderate finding warns.
Codes are HL7 v3 ActCode's detected-issue codes (R4 binding of DetectedIssue.code, value set
detectedissue-category: ActDetectedIssueCode).
"""

import csv
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from shafa.prescriptions.dosage import LANGUAGES, TIME_UNITS, Regimen, daily_dose, regimen
from shafa.prescriptions.interactions import Severity, interactions
from shafa.prescriptions.substances import Substance, any_matches, tokens
from shafa.registries.codes import ICD10
from shafa.registries.medicines_rules import (
    ATC,
    CONTROLLED,
    INN,
    SNOMED,
    Amount,
    Schedule,
    Strength,
    plain,
    unit_dimension,
)

ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"

# --- validity and repeats ----------------------------------------------------------------------

DEFAULT_VALIDITY_DAYS = 30
# Narcotic and psychotropic prescriptions expire sooner, so that an unused controlled
# prescription does not linger: the UK allows 28 days for Schedule 2-4 controlled drugs and
# Russia 15 days for its narcotic and psychotropic forms; 10 days is the ministry's policy
# value to confirm (a setting, not a law Shafa can cite).
CONTROLLED_VALIDITY_DAYS = 10
MAX_REPEAT_ISSUES = 12
MAX_REPEAT_SPAN_DAYS = 366  # a repeat prescription is reviewed at least yearly


def validity_period(
    issued: date,
    controlled: Schedule | None = None,
    days: int = DEFAULT_VALIDITY_DAYS,
    controlled_days: int = CONTROLLED_VALIDITY_DAYS,
) -> tuple[date, date]:
    """(first, last day) a prescription may be dispensed, both inclusive as an R4 Period's
    dates are (dispenseRequest.validityPeriod): issued on 1 March for 30 days, valid to
    30 March. A controlled product's shorter validity wins over a longer setting."""
    length = days
    if controlled in CONTROLLED:
        length = min(days, controlled_days)
    if length < 1:
        raise ValueError("A prescription is valid for at least one day")
    return issued, issued + timedelta(days=length - 1)


def repeat_schedule(
    first: date, issues: int, interval_days: int, controlled: Schedule | None = None
) -> list[date]:
    """The dates each issue of a repeat prescription becomes available: the first at once,
    then one every interval (dispenseRequest.numberOfRepeatsAllowed = issues - 1,
    dispenseInterval = the interval). ValueError for a schedule the rules refuse: a controlled
    product is not repeated, at most 12 issues, all within a year."""
    if issues < 1 or interval_days < 1:
        raise ValueError("A repeat prescription has at least one issue and a positive interval")
    if issues > 1 and controlled in CONTROLLED:
        raise ValueError("A narcotic or psychotropic product is prescribed one issue at a time")
    if issues > MAX_REPEAT_ISSUES:
        raise ValueError(f"A repeat prescription has at most {MAX_REPEAT_ISSUES} issues")
    if (issues - 1) * interval_days > MAX_REPEAT_SPAN_DAYS - 1:
        raise ValueError("The last issue falls more than a year after the first")
    return [first + timedelta(days=interval_days * n) for n in range(issues)]


def age_in_years(birth: date, on: date) -> int:
    """Completed years of age on a day (a 29 February birthday counts from 1 March)."""
    years = on.year - birth.year
    return years - ((on.month, on.day) < (birth.month, birth.day))


# --- findings -----------------------------------------------------------------------------------


class Code(StrEnum):
    """The v3 ActCode detected-issue codes Shafa's checks raise."""

    DRG = "DRG"
    DUPTHPY = "DUPTHPY"
    ALGY = "ALGY"
    INT = "INT"
    DOSEH = "DOSEH"
    DOSEIVL = "DOSEIVL"
    PREG = "PREG"
    AGE = "AGE"


DISPLAYS = {
    Code.DRG: "Drug Interaction Alert",
    Code.DUPTHPY: "Duplicate Therapy Alert",
    Code.ALGY: "Allergy Alert",
    Code.INT: "Intolerance Alert",
    Code.DOSEH: "High Dose Alert",
    Code.DOSEIVL: "Dose-Interval Alert",
    Code.PREG: "Pregnancy Alert",
    Code.AGE: "Age Alert",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a check found with the medicine being prescribed."""

    code: Code
    severity: Severity
    detail: str
    rule: str  # what raised it: a table row's id, or the rule's name
    implicated: tuple[str, ...] = ()  # references to what else is involved

    @property
    def key(self) -> str:
        """Stable within one prescribing attempt, so an override can name what it overrides."""
        return ":".join((self.code.value, self.rule, *self.implicated))

    @property
    def blocks(self) -> bool:
        return self.severity is Severity.HIGH


def interaction_findings(new: Substance, current: Iterable[Substance]) -> list[Finding]:
    """DRG for each interaction with a medicine the patient takes."""
    return [
        Finding(
            Code.DRG,
            found.severity,
            found.detail(),
            found.pair.id,
            (found.current.reference,) if found.current.reference else (),
        )
        for found in interactions(new, current)
    ]


# ATC level-4 groups where two members together are standard care, not duplication.
DUPLICATION_EXPECTED = {
    # Dual antiplatelet therapy (aspirin with clopidogrel, prasugrel or ticagrelor) after an
    # acute coronary syndrome or a stent: ESC 2023 guideline on acute coronary syndromes.
    "B01AC": "dual antiplatelet therapy",
}


def duplicate_therapy(new: Substance, active: Iterable[Substance]) -> list[Finding]:
    """DUPTHPY (moderate) for each active prescription sharing an INN with the new medicine,
    or in its ATC level-4 group (except groups where two members are standard care)."""
    found = []
    for other in active:
        shared = sorted(set(new.inns) & set(other.inns))
        if shared:
            why = f"the same substance ({', '.join(shared)})"
        elif new.group() == other.group() and new.group() not in DUPLICATION_EXPECTED:
            why = f"the same therapeutic group (ATC {new.group()})"
        else:
            continue
        found.append(
            Finding(
                Code.DUPTHPY,
                Severity.MODERATE,
                f"{new.name} duplicates {other.name}, already prescribed: {why}.",
                "duplicate-therapy",
                (other.reference,) if other.reference else (),
            )
        )
    return found


class Reaction(StrEnum):
    """AllergyIntolerance.type (R4): an immune allergy or a non-immune intolerance."""

    ALLERGY = "allergy"
    INTOLERANCE = "intolerance"


@dataclass(frozen=True, slots=True)
class Allergy:
    """A recorded allergy or intolerance: to an INN, or to a class named by its ATC code."""

    substance: str  # "amoxicillin" or "J01C"
    type: Reaction = Reaction.ALLERGY
    reference: str | None = None  # "AllergyIntolerance/..."


# Classes within which an allergy to one member is an allergy to all: "patients who are
# allergic to one penicillin will be allergic to all" (BNF, Penicillins: hypersensitivity).
CROSS_REACTIVE = {"J01C": "penicillins"}


def allergy_findings(
    new: Substance, allergies: Iterable[Allergy], atc_of: Mapping[str, str] | None = None
) -> list[Finding]:
    """ALGY (high) or INT (moderate) for each recorded allergy or intolerance that names the
    new medicine's INN or a class (ATC group) it is in; an allergy to one member of a
    cross-reactive class (penicillins) counts for the class. atc_of gives an allergen INN's
    ATC code, needed for that (the register knows it)."""
    found = []
    for allergy in allergies:
        why = None
        if any_matches((allergy.substance,), new):
            why = f"recorded for {allergy.substance}"
        else:
            allergen_atc = (atc_of or {}).get(allergy.substance, "")
            for prefix, name in CROSS_REACTIVE.items():
                if allergen_atc.startswith(prefix) and new.atc.startswith(prefix):
                    why = f"recorded for {allergy.substance}; cross-reactive class: {name}"
        if why is None:
            continue
        is_allergy = allergy.type is Reaction.ALLERGY
        found.append(
            Finding(
                Code.ALGY if is_allergy else Code.INT,
                Severity.HIGH if is_allergy else Severity.MODERATE,
                f"{'Allergy' if is_allergy else 'Intolerance'} to {new.name}: {why}.",
                f"{allergy.type.value}:{allergy.substance}",
                (allergy.reference,) if allergy.reference else (),
            )
        )
    return found


# --- maximum doses ------------------------------------------------------------------------------

PARENTERAL = frozenset({"intravenous", "intramuscular", "subcutaneous"})
SUBSTANCE_DIMENSIONS = frozenset({"g", "mol", "[IU]"})  # a dose that is itself an amount


@dataclass(frozen=True, slots=True)
class MaxDose:
    """A row of data/max_daily_doses.csv: the most of an INN in a day (or week), adults."""

    inn: str
    route: str  # oral | parenteral | any
    max: Amount
    per: str  # d | wk
    source: str
    note: str

    def applies(self, route: str) -> bool:
        if self.route == "any":
            return True
        return route in PARENTERAL if self.route == "parenteral" else route == self.route


@cache
def max_doses() -> tuple[MaxDose, ...]:
    """Every row of data/max_daily_doses.csv, read once."""
    text = resources.files("shafa.prescriptions").joinpath("data/max_daily_doses.csv")
    return tuple(
        MaxDose(
            row["inn"],
            row["route"],
            Amount(Decimal(row["max"]), row["unit"]),
            row["per"],
            row["source"],
            row["note"],
        )
        for row in csv.DictReader(text.read_text("utf-8").splitlines())
    )


def substance_per_day(r: Regimen, strength: Strength | None) -> Amount | None:
    """How much active substance a day the regimen gives: the daily dose itself when it is a
    mass, through the product's strength when it counts tablets, capsules or millilitres;
    None when it cannot be known (no dose, no strength for a count)."""
    daily = daily_dose(r)
    if daily is None:
        return None
    dimension = unit_dimension(daily.unit)
    if dimension is not None and dimension[0] in SUBSTANCE_DIMENSIONS:
        return daily
    if strength is None:
        return None
    per = _convert(daily, strength.per.unit)
    if per is None:
        return None
    value = per / strength.per.value * strength.amount.value
    return Amount(Decimal(plain(value)), strength.amount.unit)


def _convert(amount: Amount, unit: str) -> Decimal | None:
    if amount.unit == unit:
        return amount.value
    mine, theirs = unit_dimension(amount.unit), unit_dimension(unit)
    if mine is None or theirs is None or mine[0] != theirs[0] or mine[0] == "1":
        return None
    return amount.value * mine[1] / theirs[1]


def dose_findings(
    new: Substance, dosage: "Regimen | Mapping[str, Any]", strength: Strength | None = None
) -> list[Finding]:
    """DOSEH (high) when the regimen gives more of a single-INN medicine than its known
    maximum a day (or week); DOSEIVL (high) when methotrexate for rheumatic disease (L04AX03)
    is given more often than once a week. Nothing where the table knows no maximum."""
    r = regimen(dosage)
    found = []
    if new.atc == "L04AX03" and r.period_hours() / r.frequency < TIME_UNITS["wk"]:
        found.append(
            Finding(
                Code.DOSEIVL,
                Severity.HIGH,
                "Methotrexate for rheumatic or skin disease is taken once a week; daily "
                "dosing has caused deaths. Source: NPSA/2006/13; BNF: methotrexate.",
                "methotrexate-weekly",
            )
        )
    if len(new.inns) != 1:
        return found
    per_day = substance_per_day(r, strength)
    if per_day is None:
        return found
    for limit in max_doses():
        if limit.inn != new.inns[0] or not limit.applies(r.route):
            continue
        given = _convert(per_day, limit.max.unit)
        if given is None:
            continue
        if limit.per == "wk":
            given *= 7
        if given > limit.max.value:
            period = "a week" if limit.per == "wk" else "a day"
            note = f" ({limit.note})" if limit.note else ""
            found.append(
                Finding(
                    Code.DOSEH,
                    Severity.HIGH,
                    f"{new.name}: {plain(given)} {limit.max.unit} {period} exceeds the "
                    f"maximum of {limit.max} {period}{note}. Source: {limit.source}.",
                    f"max-dose:{limit.inn}:{limit.route}",
                )
            )
    return found


# --- pregnancy and age --------------------------------------------------------------------------


class Kind(StrEnum):
    PREGNANCY = "pregnancy"
    AGE = "age"


@dataclass(frozen=True, slots=True)
class Contraindication:
    """A row of data/contraindications.csv."""

    id: str
    substance: tuple[str, ...]
    kind: Kind
    under_age: int | None  # for age: contraindicated below this many completed years
    severity: Severity
    reason: str
    source: str


@cache
def contraindications() -> tuple[Contraindication, ...]:
    """Every row of data/contraindications.csv, read once."""
    text = resources.files("shafa.prescriptions").joinpath("data/contraindications.csv")
    return tuple(
        Contraindication(
            row["id"],
            tokens(row["substance"]),
            Kind(row["kind"]),
            int(row["under_age"]) if row["under_age"] else None,
            Severity(row["severity"]),
            row["reason"],
            row["source"],
        )
        for row in csv.DictReader(text.read_text("utf-8").splitlines())
    )


def contraindication_findings(
    new: Substance, age: int | None = None, pregnant: bool = False
) -> list[Finding]:
    """PREG for a pregnant patient and AGE for a patient younger than a row's age, for each
    row naming the medicine; the age in completed years (age_in_years)."""
    found = []
    for row in contraindications():
        if any_matches(row.substance, new) is None:
            continue
        if row.kind is Kind.PREGNANCY and pregnant:
            found.append(
                Finding(
                    Code.PREG,
                    row.severity,
                    f"{new.name} in pregnancy: {row.reason}. Source: {row.source}.",
                    row.id,
                )
            )
        elif (
            row.kind is Kind.AGE
            and age is not None
            and row.under_age is not None
            and age < row.under_age
        ):
            found.append(
                Finding(
                    Code.AGE,
                    row.severity,
                    f"{new.name} under {row.under_age} years: {row.reason}. Source: {row.source}.",
                    row.id,
                )
            )
    return found


# --- all checks, overrides ----------------------------------------------------------------------


def check(
    new: Substance,
    dosage: "Regimen | Mapping[str, Any] | None" = None,
    *,
    strength: Strength | None = None,
    current: Sequence[Substance] = (),
    allergies: Iterable[Allergy] = (),
    allergen_atc: Mapping[str, str] | None = None,
    age: int | None = None,
    pregnant: bool = False,
) -> list[Finding]:
    """Every finding for a medicine being prescribed to a patient who takes current (their
    active prescriptions), high severity first."""
    found = [
        *interaction_findings(new, current),
        *duplicate_therapy(new, current),
        *allergy_findings(new, allergies, allergen_atc),
        *(dose_findings(new, dosage, strength) if dosage is not None else []),
        *contraindication_findings(new, age, pregnant),
    ]
    return sorted(found, key=lambda f: not f.blocks)


MIN_REASON_LENGTH = 10


@dataclass(frozen=True, slots=True)
class Override:
    """A doctor's decision to prescribe despite a high-severity finding, and why."""

    key: str  # Finding.key
    reason: str
    author: str  # "Practitioner/..."
    date: str  # FHIR dateTime of the decision

    def __post_init__(self) -> None:
        if len(self.reason.strip()) < MIN_REASON_LENGTH:
            raise ValueError(
                f"An override needs a reason (at least {MIN_REASON_LENGTH} characters)"
            )


def blocking(findings: Iterable[Finding], overrides: Iterable[Override] = ()) -> list[Finding]:
    """The high-severity findings no override answers: prescribing may go ahead when empty."""
    answered = {o.key for o in overrides}
    return [f for f in findings if f.blocks and f.key not in answered]


# --- DetectedIssue ------------------------------------------------------------------------------


def detected_issue(
    finding: Finding,
    *,
    patient: str,
    identified: str,
    prescription: str | None = None,
    author: str | None = None,
    override: Override | None = None,
    status: str = "final",
) -> dict[str, Any]:
    """The R4 DetectedIssue for a finding: code (v3 ActCode), severity, the patient, when it
    was identified, implicated (the prescription being written, then what else is involved),
    detail, and, when overridden, the mitigation: 'Therapy Appropriate' (ActCode 1, "confirmed
    drug therapy appropriate") with the doctor's reason, date and author. status: preliminary
    while the prescription is a draft, final once it is issued."""
    if status not in ("preliminary", "final"):
        raise ValueError("A finding's DetectedIssue is preliminary or final")
    if override is not None and override.key != finding.key:
        raise ValueError("The override answers another finding")
    implicated = [prescription] if prescription else []
    implicated += [ref for ref in finding.implicated if ref not in implicated]
    issue: dict[str, Any] = {
        "resourceType": "DetectedIssue",
        "status": status,
        "code": {
            "coding": [
                {
                    "system": ACT_CODE,
                    "code": finding.code.value,
                    "display": DISPLAYS[finding.code],
                }
            ]
        },
        "severity": finding.severity.value,
        "patient": {"reference": patient},
        "identifiedDateTime": identified,
        "detail": finding.detail,
    }
    if author:
        issue["author"] = {"reference": author}
    if implicated:
        issue["implicated"] = [{"reference": ref} for ref in implicated]
    if override is not None:
        issue["mitigation"] = [
            {
                "action": {
                    "coding": [{"system": ACT_CODE, "code": "1", "display": "Therapy Appropriate"}],
                    "text": override.reason.strip(),
                },
                "date": override.date,
                "author": {"reference": override.author},
            }
        ]
    return issue


# --- who may prescribe what ---------------------------------------------------------------------

# The specialities (Shafa's speciality code system) of a licence to practise medicine or
# dentistry: the licences that let their holder prescribe. Pharmacy, nursing, laboratory
# diagnostics and medical-social expertise license other work.
NOT_PRESCRIBING = frozenset(
    {"pharmacy", "nursing", "clinical-laboratory-diagnostics", "medical-social-expertise"}
)
# Who may prescribe a narcotic or a psychotropic product: a policy of Shafa's to be confirmed
# by the ministry, written after the common practice of restricting controlled prescribing to
# those who treat severe pain (oncology, anaesthesiology, palliative care in general practice)
# and, for psychotropics, mental and neurological disease. Dentists and the other specialities
# prescribe neither.
CONTROLLED_PRESCRIBERS: dict[Schedule, frozenset[str]] = {
    Schedule.NARCOTIC: frozenset({"oncology", "anaesthesiology", "general-practice"}),
    Schedule.PSYCHOTROPIC: frozenset(
        {"psychiatry", "neurology", "oncology", "anaesthesiology", "general-practice"}
    ),
}


def prescribing_problem(specialities: Iterable[str], controlled: Schedule | None) -> str | None:
    """Why a health worker licensed in these specialities (those in force) may not prescribe
    a product of that schedule, or None when they may."""
    held = set(specialities)
    prescribing = held - NOT_PRESCRIBING
    if not prescribing:
        listed_ = ", ".join(sorted(held)) or "none"
        return f"Only a licensed doctor or dentist prescribes; the licences in force are: {listed_}"
    if controlled in CONTROLLED_PRESCRIBERS:
        allowed = CONTROLLED_PRESCRIBERS[controlled]
        if not prescribing & allowed:
            return (
                f"A {controlled.value} product is prescribed only by a doctor licensed in "
                f"{', '.join(sorted(allowed))}; the licences in force are: "
                f"{', '.join(sorted(prescribing))}"
            )
    return None


# --- what the patient's record says -------------------------------------------------------------

LOINC_SYSTEM = "http://loinc.org"
# Pregnancy as the record states it: an active Condition coded ICD-10 Z33 (pregnant state) or
# Z34 (supervision of normal pregnancy), or SNOMED CT 77386006 |Pregnancy|; or the newest final
# Observation of LOINC 82810-3 (pregnancy status) valued SNOMED CT 77386006 |Pregnant|.
PREGNANT_SNOMED = "77386006"
PREGNANCY_ICD10 = ("Z33", "Z34")
PREGNANCY_STATUS_LOINC = "82810-3"
_INACTIVE = frozenset({"inactive", "resolved", "remission"})
_NOT_CONFIRMED = frozenset({"refuted", "entered-in-error"})


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, Mapping):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _code_of(concept: Any, system: str) -> str | None:
    for coding in _codings(concept):
        if coding.get("system") == system and isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def _status(resource: Mapping[str, Any], element: str) -> str | None:
    for coding in _codings(resource.get(element)):
        if isinstance(coding.get("code"), str):
            return str(coding["code"])
    return None


def allergies_of(resources_: Iterable[Mapping[str, Any]]) -> tuple[list[Allergy], dict[str, str]]:
    """The Allergies the checks compare with, from the patient's AllergyIntolerance resources
    (code an INN of Shafa's INN code system, or an ATC class), leaving out those inactive,
    resolved, refuted or entered in error; and the ATC code of each INN allergen where the
    resource gives both codings (for cross-reactive classes)."""
    found: list[Allergy] = []
    atc_of: dict[str, str] = {}
    for resource in resources_:
        if _status(resource, "clinicalStatus") in _INACTIVE:
            continue
        if _status(resource, "verificationStatus") in _NOT_CONFIRMED:
            continue
        inn = _code_of(resource.get("code"), INN)
        atc = _code_of(resource.get("code"), ATC)
        substance = inn or atc
        if substance is None:
            continue
        kind = Reaction.INTOLERANCE if resource.get("type") == "intolerance" else Reaction.ALLERGY
        reference = f"AllergyIntolerance/{resource['id']}" if resource.get("id") else None
        found.append(Allergy(substance, kind, reference))
        if inn and atc:
            atc_of[inn] = atc
    return found, atc_of


def pregnant(
    conditions: Iterable[Mapping[str, Any]], observations: Iterable[Mapping[str, Any]]
) -> bool:
    """Whether the record states a current pregnancy (see PREGNANT_SNOMED above)."""
    for condition in conditions:
        if _status(condition, "clinicalStatus") not in (None, "active", "recurrence", "relapse"):
            continue
        if _status(condition, "verificationStatus") in _NOT_CONFIRMED:
            continue
        icd = _code_of(condition.get("code"), ICD10) or ""
        if icd[:3] in PREGNANCY_ICD10:
            return True
        if _code_of(condition.get("code"), SNOMED) == PREGNANT_SNOMED:
            return True
    statuses = [
        o
        for o in observations
        if o.get("status") in ("final", "amended", "corrected")
        and _code_of(o.get("code"), LOINC_SYSTEM) == PREGNANCY_STATUS_LOINC
    ]
    if not statuses:
        return False
    newest = max(statuses, key=lambda o: str(o.get("effectiveDateTime") or ""))
    return _code_of(newest.get("valueCodeableConcept"), SNOMED) == PREGNANT_SNOMED


def patient_language(patient: Mapping[str, Any], default: str = "az") -> str:
    """The language the patient reads instructions in: their preferred communication
    language if Shafa writes it (az, en, ru), else the first such, else Azerbaijani."""
    spoken = [c for c in patient.get("communication") or [] if isinstance(c, dict)]
    spoken.sort(key=lambda c: c.get("preferred") is not True)
    for communication in spoken:
        for coding in _codings(communication.get("language")):
            code = str(coding.get("code") or "").split("-")[0].lower()
            if code in LANGUAGES:
                return code
    return default


def birth_date(patient: Mapping[str, Any]) -> date | None:
    """Patient.birthDate when it is a full date."""
    text = patient.get("birthDate")
    try:
        return date.fromisoformat(text) if isinstance(text, str) and len(text) == 10 else None
    except ValueError:
        return None
