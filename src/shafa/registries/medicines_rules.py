"""The medicinal product register's vocabulary and rules. Pure: no database, HTTP or clock.

One registered pack (dm+d's AMPP level: a trade product in one pack size) is two R4 resources
with the same id (see docs/registries.md, "Medicinal product register"):

- a Medication: what the pack is. identifier = the registration number and the pack's GTINs,
  code = the register's product code (the registration number) with the trade name as text,
  form, amount (the pack size), ingredient (INN with its strength, a Ratio in UCUM units) and
  manufacturer = the marketing-authorisation holder (an Organization);
- a MedicationKnowledge: what the register says of it. associatedMedication points at the
  Medication; regulatory carries the registration status and validity period (Shafa
  extensions: R4 has no element for either) and the schedules (prescription-only, narcotic,
  psychotropic); cost the reference and retail prices; medicineClassification the ATC code
  and the reimbursement list; drugCharacteristic the DDD; intendedRoute the routes.

A Medication is a register product when it carries a registration number; a
MedicationKnowledge when its code is a register product code. The rules here hold for those
only, so the Medications other systems keep (a hospital's formulary, a compounded medicine) are
left alone, except that a GTIN with a wrong check digit is wrong wherever it is.
"""

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from functools import lru_cache
from typing import Any

from biip import ParseError
from biip.gtin import Gtin
from biip.rcn import Rcn

from shafa.fhir.errors import Issue
from shafa.fhir.indexing import date_range
from shafa.registries import medicines_codes

BASE = "https://fhir.shafa.az"

# Identifier systems (R4 datatypes.html#Identifier). GS1's GTIN URI is the one HL7's
# identifier registry names for GTINs (terminology.hl7.org, NamingSystem "GTIN").
REGISTRATION_NUMBER = f"{BASE}/sid/medicine-registration"
GTIN = "https://www.gs1.org/gtin"

# Code systems. The register's product codes are its registration numbers; INNs are coded by
# their English name in lower case, as WHO's ATC index lists them ("amoxicillin").
PRODUCT = f"{BASE}/CodeSystem/medicinal-product"
INN = f"{BASE}/CodeSystem/inn"
DOSE_FORM = f"{BASE}/CodeSystem/dose-form"
REGISTRATION_STATUS = f"{BASE}/CodeSystem/registration-status"
SCHEDULE = f"{BASE}/CodeSystem/medicine-schedule"
PRICE_TYPE = f"{BASE}/CodeSystem/medicine-price-type"
CLASSIFICATION_TYPE = f"{BASE}/CodeSystem/medicine-classification-type"
REIMBURSEMENT_LIST = f"{BASE}/CodeSystem/reimbursement-list"
CHARACTERISTIC = f"{BASE}/CodeSystem/medicine-characteristic"
ATC = "http://www.whocc.no/atc"  # WHO ATC, as HL7 names it (R4 terminologies-systems.html)
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"

# Extensions on MedicationKnowledge.regulatory (R4 extensibility.html): R4 has no element for
# the status of a marketing authorisation nor for the period it is valid in.
EXT_REGISTRATION_STATUS = f"{BASE}/ext/registration-status"  # valueCoding
EXT_REGISTRATION_PERIOD = f"{BASE}/ext/registration-period"  # valuePeriod

REGULATORY_AUTHORITY = "Analytical Expertise Center, Ministry of Health of Azerbaijan"
CURRENCY = "AZN"
PRICE_SOURCE = "Tariff Council of the Republic of Azerbaijan"

# The routes the register knows, by the name the CSV uses: SNOMED CT route qualifiers (the
# codes of R4's example value set route-codes).
ROUTES: dict[str, tuple[str, str]] = {
    "oral": ("26643006", "Oral route"),
    "sublingual": ("37839007", "Sublingual route"),
    "intravenous": ("47625008", "Intravenous route"),
    "intramuscular": ("78421000", "Intramuscular route"),
    "subcutaneous": ("34206005", "Subcutaneous route"),
    "cutaneous": ("6064005", "Topical route"),
    "transdermal": ("45890007", "Transdermal route"),
    "ocular": ("54485002", "Ophthalmic route"),
    "otic": ("10547007", "Otic route"),
    "nasal": ("46713006", "Nasal route"),
    "inhalation": ("447694001", "Respiratory tract route"),
    "rectal": ("37161004", "Rectal route"),
    "vaginal": ("16857009", "Vaginal route"),
}
ROUTE_NAMES = {code: name for name, (code, _display) in ROUTES.items()}

# The route of administration a DDD is given for (WHO ATC/DDD methodology, "Routes of
# administration"): the register's routes by WHO's letter; inhaled DDDs go by kind of device.
WHO_ROUTES = {
    "oral": "O",
    "sublingual": "SL",
    "intravenous": "P",
    "intramuscular": "P",
    "subcutaneous": "P",
    "rectal": "R",
    "nasal": "N",
    "transdermal": "TD",
    "vaginal": "V",
}
WHO_INHALED = {
    "pressurised-inhalation": "Inhal.aerosol",
    "inhalation-powder": "Inhal.powder",
    "nebuliser": "Inhal.solution",
}


def who_routes(routes: Sequence[str], dose_form: str) -> list[str]:
    """WHO's route of administration of each of a product's routes, for its DDD: O, P, R,
    Inhal.powder ...; the routes WHO gives no DDD for (cutaneous, ocular, otic) left out."""
    found = []
    for route in routes:
        letter = WHO_ROUTES.get(route)
        if route == "inhalation":
            letter = next((v for k, v in WHO_INHALED.items() if dose_form.startswith(k)), None)
        if letter is not None and letter not in found:
            found.append(letter)
    return found


REGISTRATION_NUMBER_PATTERN = re.compile(r"[A-Z0-9][A-Z0-9/.\-]{0,39}")
ATC_PATTERN = re.compile(r"[A-Z]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?")
INN_PATTERN = re.compile(r"[a-z0-9][a-z0-9 ,()'\-]{0,99}")


class RegistrationStatus(StrEnum):
    """The status of a marketing authorisation (the registration-status code system)."""

    VALID = "valid"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"


class Schedule(StrEnum):
    """How a product is supplied (the medicine-schedule code system)."""

    PRESCRIPTION_ONLY = "prescription-only"
    NARCOTIC = "narcotic"  # UN Single Convention on Narcotic Drugs (1961), national list
    PSYCHOTROPIC = "psychotropic"  # UN Convention on Psychotropic Substances (1971)


CONTROLLED = (Schedule.NARCOTIC, Schedule.PSYCHOTROPIC)


class PriceType(StrEnum):
    """The prices the register keeps (the medicine-price-type code system)."""

    REFERENCE = "reference"  # what the insurer's share is computed from
    RETAIL = "retail"  # the highest price a pharmacy may charge


class ClassificationType(StrEnum):
    """The classifications a product is in (the medicine-classification-type code system)."""

    ATC = "atc"
    REIMBURSEMENT = "reimbursement"


DDD = "ddd"  # the medicine-characteristic code of the defined daily dose


# --- units and strengths ----------------------------------------------------------------------

# The UCUM units a strength, a pack or a DDD may be stated in, as (dimension, factor to the
# dimension's base unit). UCUM is a grammar (any valid expression is a unit); the register takes
# the units medicinal products are labelled in, so that strengths compare across units
# (500 mg = 0.5 g). An annotation alone ({tablet}) is UCUM's unity: one unit of presentation.
UNITS: dict[str, tuple[str, Decimal]] = {
    "kg": ("g", Decimal(1000)),
    "g": ("g", Decimal(1)),
    "mg": ("g", Decimal("0.001")),
    "ug": ("g", Decimal("0.000001")),
    "ng": ("g", Decimal("0.000000001")),
    "L": ("L", Decimal(1)),
    "mL": ("L", Decimal("0.001")),
    "uL": ("L", Decimal("0.000001")),
    "mol": ("mol", Decimal(1)),
    "mmol": ("mol", Decimal("0.001")),
    "umol": ("mol", Decimal("0.000001")),
    "[IU]": ("[IU]", Decimal(1)),
    "h": ("h", Decimal(1)),
    "d": ("h", Decimal(24)),
    "1": ("1", Decimal(1)),
}
ANNOTATION = re.compile(r"\{[a-z][a-z\-]{0,30}\}")
# What may be measured per what: a strength is an amount of substance per unit of presentation,
# volume, mass or (a transdermal patch) time.
NUMERATOR_DIMENSIONS = frozenset({"g", "L", "mol", "[IU]"})
DENOMINATOR_DIMENSIONS = frozenset({"1", "g", "L", "h"})
PACK_DIMENSIONS = frozenset({"1", "g", "L"})


def unit_dimension(code: str) -> tuple[str, Decimal] | None:
    """(dimension, factor to its base unit) of a UCUM unit the register takes, else None."""
    if ANNOTATION.fullmatch(code):
        return "1", Decimal(1)
    return UNITS.get(code)


def unit_display(code: str) -> str:
    """How a unit reads on a label: {tablet} is 'tablet', mg is 'mg'."""
    return code[1:-1] if ANNOTATION.fullmatch(code) else code


def plain(value: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 0.5, 50, 0.000025."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def decimal_of(value: Any) -> Decimal | None:
    """A JSON number (or a Decimal from jsonio) as a finite Decimal, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return number if number.is_finite() else None


@dataclass(frozen=True, slots=True)
class Amount:
    """A value in a UCUM unit the register takes (a pack size, a DDD, one side of a strength)."""

    value: Decimal
    unit: str

    def __str__(self) -> str:
        return f"{plain(self.value)} {self.unit}"

    def canonical(self) -> str:
        """The amount in its dimension's base unit: 500 mg and 0.5 g both read '0.5 g'."""
        dimension = unit_dimension(self.unit)
        assert dimension is not None
        base, factor = dimension
        value = plain(self.value * factor)
        return value if base == "1" else f"{value} {base}"

    def quantity(self) -> dict[str, Any]:
        """The FHIR Quantity (R4 datatypes.html#Quantity) with its UCUM code."""
        return {"value": self.value, "unit": unit_display(self.unit), "system": UCUM,
                "code": self.unit}  # fmt: skip

    @classmethod
    def parse(cls, text: str, default_value: Decimal | None = None) -> "Amount":
        """'500 mg', '5 mL', '{tablet}' (default_value then, if given); ValueError if not."""
        parts = text.split()
        if len(parts) == 1 and default_value is not None:
            parts = [str(default_value), parts[0]]
        if len(parts) != 2:
            raise ValueError(f"{text!r} is not a value and a unit, such as '500 mg'")
        try:
            value = Decimal(parts[0])
        except InvalidOperation:
            raise ValueError(f"{parts[0]!r} is not a number") from None
        if not value.is_finite() or value <= 0:
            raise ValueError(f"{parts[0]!r} is not a positive number")
        if unit_dimension(parts[1]) is None:
            raise ValueError(f"{parts[1]!r} is not a UCUM unit the register takes ({UNIT_HELP})")
        # Written as plain() reads it, so a value stores as it exports (500.0 and 500 are one).
        return cls(Decimal(plain(value)), parts[1])


UNIT_HELP = "mg, g, ug, mL, L, mmol, [IU], h, or a unit of presentation such as {tablet}"


@dataclass(frozen=True, slots=True)
class Strength:
    """An ingredient's strength: an amount per unit of presentation, volume, mass or time."""

    amount: Amount
    per: Amount

    def __str__(self) -> str:
        per = self.per.unit if self.per.value == 1 else str(self.per)
        return f"{self.amount}/{per}"

    def canonical(self) -> str:
        """Numerator and denominator each in base units: 500 mg/{tablet} = 0.5 g/{capsule}
        ('0.5 g/1'), 250 mg/5 mL = 0.25 g/5 mL, which differs from 50 mg/mL as dm+d's VMPs
        do (the volume of a unit dose matters to who substitutes it)."""
        return f"{self.amount.canonical()}/{self.per.canonical()}"

    def ratio(self) -> dict[str, Any]:
        """The FHIR Ratio (R4 datatypes.html#Ratio)."""
        return {"numerator": self.amount.quantity(), "denominator": self.per.quantity()}

    @classmethod
    def of(cls, value: "Strength | Mapping[str, Any] | str") -> "Strength":
        """A Strength from itself, a FHIR Ratio or text such as '500 mg/{tablet}'."""
        if isinstance(value, Strength):
            return value
        if isinstance(value, str):
            amount, _, per = value.partition("/")
            return cls(Amount.parse(amount), Amount.parse(per or "1", Decimal(1)))
        problem, strength = ratio_strength(value)
        if strength is None:
            raise ValueError(problem)
        return strength


def _quantity_amount(quantity: Any, dimensions: frozenset[str]) -> tuple[str | None, Amount | None]:
    """(problem, None) or (None, Amount) for a FHIR Quantity in a UCUM unit of dimensions."""
    if not isinstance(quantity, Mapping):
        return "is missing", None
    value = decimal_of(quantity.get("value"))
    if value is None or value <= 0:
        return "needs a positive value", None
    if quantity.get("system") != UCUM:
        return f"needs its unit as a UCUM code (system {UCUM})", None
    code = quantity.get("code")
    dimension = unit_dimension(code) if isinstance(code, str) else None
    if dimension is None or dimension[0] not in dimensions:
        return f"has unit {code!r}, not one the register takes here ({UNIT_HELP})", None
    return None, Amount(value, str(code))


def ratio_strength(ratio: Any) -> tuple[str, Strength | None]:
    """('', Strength) for a Ratio in UCUM units, else (what is wrong, None)."""
    if not isinstance(ratio, Mapping):
        return "A strength must be a Ratio (numerator and denominator)", None
    problem, amount = _quantity_amount(ratio.get("numerator"), NUMERATOR_DIMENSIONS)
    if amount is None:
        return f"The strength's numerator {problem}", None
    problem, per = _quantity_amount(ratio.get("denominator"), DENOMINATOR_DIMENSIONS)
    if per is None:
        return f"The strength's denominator {problem}", None
    return "", Strength(amount, per)


@dataclass(frozen=True, slots=True)
class Ingredient:
    """An active ingredient: its INN and strength."""

    inn: str
    strength: Strength


def equivalence(ingredients: Sequence[Ingredient], dose_form: str) -> tuple[str, str, str]:
    """(substance, strength, dose form): what a pharmacy may substitute within (DESIGN:
    substitution by active ingredient, strength and form, as in dm+d's VMP). Ingredients in INN
    order, strengths in canonical units."""
    ordered = sorted(ingredients, key=lambda i: i.inn)
    return (
        "+".join(i.inn for i in ordered),
        " + ".join(i.strength.canonical() for i in ordered),
        dose_form,
    )


# --- GTINs --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def _gtin(value: str) -> tuple[str | None, str]:
    """(problem, '') or (None, GTIN-14) of a GTIN; parsed once (biip's parse is ~0.2 ms)."""
    if not value.isdecimal() or len(value) not in (8, 12, 13, 14):
        return f"{value!r} is not a GTIN: 8, 12, 13 or 14 digits", ""
    try:
        parsed = Gtin.parse(value)
    except ParseError as error:
        return str(error), ""
    if isinstance(parsed, Rcn):
        return f"{value} is a restricted circulation number, not a trade item's GTIN", ""
    return None, parsed.as_gtin_14()


def gtin_problem(value: Any) -> str | None:
    """What is wrong with a GTIN (GS1 General Specifications §3.3.2, check digit §7.9.1), or
    None. Restricted circulation numbers (prefixes 02, 04, 20-29) name no trade item."""
    if not isinstance(value, str):
        return f"{value!r} is not a GTIN: 8, 12, 13 or 14 digits"
    return _gtin(value)[0]


def gtin14(value: str) -> str:
    """The GTIN as 14 digits, the form GS1 keeps in databases (GS1 General Specifications
    §3.3.2): 4760001000015 and 04760001000015 are one GTIN. Only for a valid GTIN."""
    problem, canonical = _gtin(value)
    if problem is not None:
        raise ValueError(problem)
    return canonical


# --- reading the resources ------------------------------------------------------------------------


def listed(value: Any) -> list[Any]:
    """A FHIR repeating element as a list (absent: empty)."""
    return value if isinstance(value, list) else []


def coded(concept: Any, system: str) -> list[str]:
    """The codes of a CodeableConcept under system."""
    if not isinstance(concept, Mapping):
        return []
    return [
        c["code"]
        for c in listed(concept.get("coding"))
        if isinstance(c, Mapping) and c.get("system") == system and isinstance(c.get("code"), str)
    ]


def first_code(concept: Any, system: str) -> str | None:
    """The first code of a CodeableConcept under system, or None."""
    codes = coded(concept, system)
    return codes[0] if codes else None


def registration_numbers(medication: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """(position in identifier, value) of each registration number a Medication carries."""
    return [
        (index, identifier.get("value"))
        for index, identifier in enumerate(listed(medication.get("identifier")))
        if isinstance(identifier, Mapping) and identifier.get("system") == REGISTRATION_NUMBER
    ]


def gtins(medication: Mapping[str, Any]) -> list[tuple[int, Any]]:
    """(position in identifier, value) of each GTIN a Medication carries."""
    return [
        (index, identifier.get("value"))
        for index, identifier in enumerate(listed(medication.get("identifier")))
        if isinstance(identifier, Mapping) and identifier.get("system") == GTIN
    ]


def is_register_product(medication: Mapping[str, Any]) -> bool:
    """A Medication the register holds: one with a registration number."""
    return bool(registration_numbers(medication))


def is_register_knowledge(knowledge: Mapping[str, Any]) -> bool:
    """A MedicationKnowledge the register holds: its code is a register product code."""
    return bool(coded(knowledge.get("code"), PRODUCT))


def reference_id(reference: Any, res_type: str) -> str | None:
    """The id of a literal reference Type/id to res_type, else None."""
    if not isinstance(reference, Mapping) or not isinstance(reference.get("reference"), str):
        return None
    kind, _, fhir_id = reference["reference"].partition("/")
    return fhir_id if kind == res_type and fhir_id and "/" not in fhir_id else None


def _extension(element: Mapping[str, Any], url: str) -> Mapping[str, Any] | None:
    for extension in listed(element.get("extension")):
        if isinstance(extension, Mapping) and extension.get("url") == url:
            return extension
    return None


def regulatory(knowledge: Mapping[str, Any]) -> Mapping[str, Any]:
    """The register's regulatory entry of a MedicationKnowledge (the first), or {}."""
    entries = listed(knowledge.get("regulatory"))
    return entries[0] if entries and isinstance(entries[0], Mapping) else {}


def registration_status(knowledge: Mapping[str, Any]) -> str | None:
    """The stored registration status code, or None."""
    extension = _extension(regulatory(knowledge), EXT_REGISTRATION_STATUS)
    coding = extension.get("valueCoding") if extension else None
    if isinstance(coding, Mapping) and coding.get("system") == REGISTRATION_STATUS:
        code = coding.get("code")
        return code if isinstance(code, str) else None
    return None


def registration_period(knowledge: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(start, end) of the registration's validity period as stored."""
    extension = _extension(regulatory(knowledge), EXT_REGISTRATION_PERIOD)
    period = extension.get("valuePeriod") if extension else None
    if not isinstance(period, Mapping):
        return None, None
    start, end = period.get("start"), period.get("end")
    return (start if isinstance(start, str) else None), (end if isinstance(end, str) else None)


def period_bounds(start: str | None, end: str | None) -> tuple[datetime | None, datetime | None]:
    """The first and last instants a validity period covers (at its precision), None: open."""
    low = date_range(start) if start else None
    high = date_range(end) if end else None
    return (low[0] if low else None), (high[1] if high else None)


def status_at(
    stored: RegistrationStatus, start: str | None, end: str | None, moment: datetime
) -> tuple[RegistrationStatus, bool]:
    """(status, in force) at a moment: a valid registration whose period has ended reads
    expired; one whose period has not begun is valid but not yet in force."""
    low, high = period_bounds(start, end)
    if stored is not RegistrationStatus.VALID:
        return stored, False
    if high is not None and moment > high:
        return RegistrationStatus.EXPIRED, False
    return stored, low is None or moment >= low


def schedules(knowledge: Mapping[str, Any]) -> list[str]:
    """The schedule codes of the register's regulatory entry."""
    return [
        code
        for entry in listed(regulatory(knowledge).get("schedule"))
        if isinstance(entry, Mapping)
        for code in coded(entry.get("schedule"), SCHEDULE)
    ]


def classification(
    knowledge: Mapping[str, Any], kind: ClassificationType, system: str
) -> str | None:
    """The code of a product's classification of a kind (its ATC code, its reimbursement list)."""
    for entry in listed(knowledge.get("medicineClassification")):
        if isinstance(entry, Mapping) and kind.value in coded(
            entry.get("type"), CLASSIFICATION_TYPE
        ):
            for concept in listed(entry.get("classification")):
                code = first_code(concept, system)
                if code is not None:
                    return code
    return None


def price(knowledge: Mapping[str, Any], kind: PriceType) -> Decimal | None:
    """A product's price of a kind, in AZN, or None."""
    for entry in listed(knowledge.get("cost")):
        if isinstance(entry, Mapping) and kind.value in coded(entry.get("type"), PRICE_TYPE):
            money = entry.get("cost")
            if isinstance(money, Mapping):
                return decimal_of(money.get("value"))
    return None


# --- the rules ------------------------------------------------------------------------------------


def _gtin_issues(medication: Mapping[str, Any]) -> Iterator[Issue]:
    seen: dict[str, int] = {}
    for index, value in gtins(medication):
        where = f"Medication.identifier[{index}].value"
        problem = gtin_problem(value)
        if problem is not None:
            yield Issue("value", problem, expression=(where,))
            continue
        key = gtin14(value)
        if key in seen:
            yield Issue(
                "duplicate",
                f"GTIN {value} appears twice (identifier[{seen[key]}])",
                expression=(where,),
            )
        seen[key] = index


def _registration_number_issues(medication: Mapping[str, Any]) -> Iterator[Issue]:
    numbers = registration_numbers(medication)
    for index, value in numbers:
        if not isinstance(value, str) or not REGISTRATION_NUMBER_PATTERN.fullmatch(value):
            yield Issue(
                "value",
                f"A registration number is 1-40 upper-case letters, digits and / . - (got "
                f"{value!r})",
                expression=(f"Medication.identifier[{index}].value",),
            )
    if len(numbers) > 1:
        yield Issue(
            "business-rule",
            "A registered pack has one registration number",
            expression=(f"Medication.identifier[{numbers[1][0]}]",),
        )


def ingredient_issues(ingredients: Any, where: str) -> Iterator[Issue]:
    """Every active ingredient has an INN and a strength in UCUM units, all over one unit."""
    items = listed(ingredients)
    if not items:
        yield Issue(
            "required", "A registered product names its active ingredients", expression=(where,)
        )
        return
    denominators = set()
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        item = item if isinstance(item, Mapping) else {}
        inn = first_code(item.get("itemCodeableConcept"), INN)
        if inn is None or not INN_PATTERN.fullmatch(inn):
            yield Issue(
                "required",
                f"An ingredient is coded by its INN in lower case (system {INN})",
                expression=(f"{at}.itemCodeableConcept",),
            )
        if item.get("isActive") is False:
            yield Issue(
                "business-rule",
                "The register lists active ingredients only",
                expression=(f"{at}.isActive",),
            )
        problem, strength = ratio_strength(item.get("strength"))
        if strength is None:
            yield Issue("value", problem, expression=(f"{at}.strength",))
        else:
            denominators.add(strength.per.canonical())
    if len(denominators) > 1:
        yield Issue(
            "business-rule",
            "Every ingredient's strength is stated per the same unit (as on the label: "
            "875 mg + 125 mg per tablet)",
            expression=(where,),
        )


def _dose_form_issues(concept: Any, where: str) -> Iterator[Issue]:
    code = first_code(concept, DOSE_FORM)
    if code is None:
        yield Issue(
            "required",
            f"A registered product has a dose form from {DOSE_FORM}",
            expression=(where,),
        )
    elif code not in dose_forms():
        yield Issue(
            "code-invalid", f"{code!r} is not a dose form of {DOSE_FORM}", expression=(where,)
        )


def _product_code_issues(
    concept: Any, where: str, number: str | None, resource_type: str
) -> Iterator[Issue]:
    codes = coded(concept, PRODUCT)
    if number is not None and codes != [number]:
        yield Issue(
            "business-rule",
            f"The {resource_type}'s code is the register product code {number!r} (system "
            f"{PRODUCT}): its registration number",
            expression=(where,),
        )
    text = concept.get("text") if isinstance(concept, Mapping) else None
    if not isinstance(text, str) or not text.strip():
        yield Issue(
            "required",
            "A registered product's code.text is its trade name",
            expression=(f"{where}.text",),
        )


def _holder_issues(reference: Any, where: str) -> Iterator[Issue]:
    if reference_id(reference, "Organization") is None or not isinstance(
        reference.get("display"), str
    ):
        yield Issue(
            "required",
            "A registered product names its marketing-authorisation holder: a reference to the "
            "Organization, with its name as registered (display)",
            expression=(where,),
        )


def medication_issues(medication: Mapping[str, Any]) -> Iterator[Issue]:
    """A Medication: its GTINs, and, when it is a registered pack, the register's facts."""
    yield from _gtin_issues(medication)
    if not is_register_product(medication):
        return
    yield from _registration_number_issues(medication)
    if not gtins(medication):
        yield Issue(
            "required",
            f"A registered pack carries its GTIN (identifier with system {GTIN})",
            expression=("Medication.identifier",),
        )
    number = registration_numbers(medication)[0][1]
    yield from _product_code_issues(
        medication.get("code"), "Medication.code", number if isinstance(number, str) else None,
        "Medication",
    )  # fmt: skip
    yield from _dose_form_issues(medication.get("form"), "Medication.form")
    yield from ingredient_issues(medication.get("ingredient"), "Medication.ingredient")
    yield from _holder_issues(medication.get("manufacturer"), "Medication.manufacturer")
    amount = medication.get("amount")
    problem, _ = _quantity_amount(
        amount.get("numerator") if isinstance(amount, Mapping) else None, PACK_DIMENSIONS
    )
    if problem is not None:
        yield Issue(
            "value",
            f"The pack size (amount.numerator) {problem}",
            expression=("Medication.amount",),
        )


def _status_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    where = "MedicationKnowledge.regulatory[0].extension"
    status = registration_status(knowledge)
    if status not in set(RegistrationStatus):
        yield Issue(
            "code-invalid",
            f"The registration status ({EXT_REGISTRATION_STATUS}) is one of "
            f"{', '.join(RegistrationStatus)} from {REGISTRATION_STATUS} (got {status!r})",
            expression=(where,),
        )
        return
    expected = "active" if status == RegistrationStatus.VALID else "inactive"
    if knowledge.get("status") != expected:
        yield Issue(
            "business-rule",
            f"A registration that is {status} makes the MedicationKnowledge {expected}",
            expression=("MedicationKnowledge.status",),
        )
    start, end = registration_period(knowledge)
    if start is None:
        yield Issue(
            "required",
            f"A registration has a validity period with a start ({EXT_REGISTRATION_PERIOD})",
            expression=(where,),
        )
    low, high = period_bounds(start, end)
    if low is not None and high is not None and high < low:
        yield Issue(
            "invariant",
            f"The registration's validity period ends ({end}) before it starts ({start})",
            expression=(f"{where}.valuePeriod",),
        )


def _classification_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    for index, entry in enumerate(listed(knowledge.get("medicineClassification"))):
        where = f"MedicationKnowledge.medicineClassification[{index}]"
        entry = entry if isinstance(entry, Mapping) else {}
        kinds = coded(entry.get("type"), CLASSIFICATION_TYPE)
        for concept in listed(entry.get("classification")):
            for code in coded(concept, ATC):
                if ClassificationType.ATC in kinds and not ATC_PATTERN.fullmatch(code):
                    yield Issue("code-invalid", f"{code!r} is not an ATC code", expression=(where,))
            for code in coded(concept, REIMBURSEMENT_LIST):
                if code not in reimbursement_lists():
                    yield Issue(
                        "code-invalid",
                        f"{code!r} is not a list of {REIMBURSEMENT_LIST}",
                        expression=(where,),
                    )
    reimbursed = classification(knowledge, ClassificationType.REIMBURSEMENT, REIMBURSEMENT_LIST)
    if reimbursed is not None and price(knowledge, PriceType.REFERENCE) is None:
        yield Issue(
            "required",
            "A reimbursed product has a reference price (cost of type reference), from which the "
            "insurer's share is computed",
            expression=("MedicationKnowledge.cost",),
        )


def _cost_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    for index, entry in enumerate(listed(knowledge.get("cost"))):
        money = entry.get("cost") if isinstance(entry, Mapping) else None
        value = decimal_of(money.get("value")) if isinstance(money, Mapping) else None
        if value is None or value < 0 or not isinstance(money, Mapping):
            yield Issue(
                "value",
                "A price is a non-negative amount",
                expression=(f"MedicationKnowledge.cost[{index}].cost",),
            )
        elif money.get("currency") != CURRENCY:
            yield Issue(
                "value",
                f"Prices are in {CURRENCY}",
                expression=(f"MedicationKnowledge.cost[{index}].cost.currency",),
            )


def _schedule_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    codes = schedules(knowledge)
    for code in codes:
        if code not in set(Schedule):
            yield Issue(
                "code-invalid",
                f"{code!r} is not a schedule of {SCHEDULE}",
                expression=("MedicationKnowledge.regulatory[0].schedule",),
            )
    if any(code in CONTROLLED for code in codes) and Schedule.PRESCRIPTION_ONLY not in codes:
        yield Issue(
            "business-rule",
            "A narcotic or psychotropic product is prescription-only",
            expression=("MedicationKnowledge.regulatory[0].schedule",),
        )


def _ddd_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    for index, entry in enumerate(listed(knowledge.get("drugCharacteristic"))):
        if isinstance(entry, Mapping) and DDD in coded(entry.get("type"), CHARACTERISTIC):
            problem, _ = _quantity_amount(
                entry.get("valueQuantity"), frozenset({"g", "mol", "[IU]", "1"})
            )
            if problem is not None:
                yield Issue(
                    "value",
                    f"The DDD {problem}",
                    expression=(f"MedicationKnowledge.drugCharacteristic[{index}]",),
                )


def knowledge_issues(knowledge: Mapping[str, Any]) -> Iterator[Issue]:
    """A MedicationKnowledge of the register: the registration, prices, classifications."""
    if not is_register_knowledge(knowledge):
        return
    associated = listed(knowledge.get("associatedMedication"))
    if len(associated) != 1 or reference_id(associated[0], "Medication") is None:
        yield Issue(
            "required",
            "The register's MedicationKnowledge points at its one Medication "
            "(associatedMedication: Medication/id)",
            expression=("MedicationKnowledge.associatedMedication",),
        )
    codes = coded(knowledge.get("code"), PRODUCT)
    yield from _product_code_issues(
        knowledge.get("code"), "MedicationKnowledge.code", codes[0] if len(codes) == 1 else None,
        "MedicationKnowledge",
    )  # fmt: skip
    if len(codes) > 1:
        yield Issue(
            "business-rule",
            "One MedicationKnowledge holds the facts of one registered pack",
            expression=("MedicationKnowledge.code",),
        )
    yield from _dose_form_issues(knowledge.get("doseForm"), "MedicationKnowledge.doseForm")
    yield from ingredient_issues(knowledge.get("ingredient"), "MedicationKnowledge.ingredient")
    yield from _status_issues(knowledge)
    yield from _schedule_issues(knowledge)
    yield from _classification_issues(knowledge)
    yield from _cost_issues(knowledge)
    yield from _ddd_issues(knowledge)
    for index, route in enumerate(listed(knowledge.get("intendedRoute"))):
        code = first_code(route, SNOMED)
        if code not in ROUTE_NAMES:
            yield Issue(
                "code-invalid",
                f"A route is one of the register's SNOMED CT routes ({', '.join(ROUTES)})",
                expression=(f"MedicationKnowledge.intendedRoute[{index}]",),
            )


# --- the shipped code systems ------------------------------------------------------------------


def dose_forms() -> frozenset[str]:
    """The codes of the dose-form code system."""
    return medicines_codes.codes(DOSE_FORM)


def reimbursement_lists() -> frozenset[str]:
    """The codes of the reimbursement-list code system."""
    return medicines_codes.codes(REIMBURSEMENT_LIST)
