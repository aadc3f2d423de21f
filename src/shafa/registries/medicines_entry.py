"""One registered pack as the register's record (Entry, a row of the CSV), and the two R4
resources that hold it (see medicines_rules for the modelling). Pure.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from shafa.registries import medicines_codes
from shafa.registries.medicines_rules import (
    ANNOTATION,
    ATC,
    CHARACTERISTIC,
    CLASSIFICATION_TYPE,
    CONTROLLED,
    CURRENCY,
    DDD,
    DOSE_FORM,
    EXT_REGISTRATION_PERIOD,
    EXT_REGISTRATION_STATUS,
    GTIN,
    INN,
    PRICE_SOURCE,
    PRICE_TYPE,
    PRODUCT,
    REGISTRATION_NUMBER,
    REGISTRATION_STATUS,
    REGULATORY_AUTHORITY,
    REIMBURSEMENT_LIST,
    ROUTE_NAMES,
    ROUTES,
    SCHEDULE,
    SNOMED,
    Amount,
    ClassificationType,
    Ingredient,
    PriceType,
    RegistrationStatus,
    Schedule,
    classification,
    coded,
    decimal_of,
    equivalence,
    first_code,
    gtins,
    listed,
    plain,
    price,
    ratio_strength,
    reference_id,
    registration_numbers,
    registration_period,
    registration_status,
    schedules,
    status_at,
    unit_display,
)

# Units of presentation a label names after the strength ("100 ug/actuation"); tablets and
# capsules go without ("500 mg film-coated tablet").
PER_LABELLED = frozenset({"{actuation}", "{dose}", "{vial}", "{ampoule}", "{sachet}"})


@dataclass(frozen=True, slots=True)
class Entry:
    """One registered pack: the register's record of it, one row of the CSV."""

    registration_number: str
    trade_name: str
    ingredients: tuple[Ingredient, ...]
    dose_form: str
    routes: tuple[str, ...]
    pack: Amount
    gtins: tuple[str, ...]
    atc: str
    ddd: Amount | None
    holder: str  # the marketing-authorisation holder's name
    holder_id: str  # its Organization's id
    status: RegistrationStatus
    valid_from: str  # FHIR date
    valid_to: str | None
    prescription_only: bool
    controlled: Schedule | None
    reimbursement: str | None
    reference_price: Decimal | None
    retail_price: Decimal | None

    def equivalence(self) -> tuple[str, str, str]:
        """(substance, strength, dose form) it may be substituted within."""
        return equivalence(self.ingredients, self.dose_form)

    def label(self) -> str:
        """What the pack is called, as dm+d names an AMPP: 'Augmentin 875 mg + 125 mg
        film-coated tablet, 14 tablet', 'Ventolin 100 ug/actuation pressurised inhalation,
        suspension, 200 actuation', 'Ceftriaxone 1 g/vial powder ..., 1 vial'."""
        strengths = " + ".join(str(i.strength.amount) for i in self.ingredients)
        per = self.ingredients[0].strength.per
        if per.value != 1 or not ANNOTATION.fullmatch(per.unit) or per.unit in PER_LABELLED:
            value = "" if per.value == 1 else f"{plain(per.value)} "
            strengths += f"/{value}{unit_display(per.unit)}"
        form = dose_form_display(self.dose_form).lower()
        pack = f"{plain(self.pack.value)} {unit_display(self.pack.unit)}"
        return f"{self.trade_name} {strengths} {form}, {pack}"


def dose_form_display(code: str) -> str:
    """The English name of a dose form."""
    return medicines_codes.display(DOSE_FORM, code) or code


def _coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    coding = {"system": system, "code": code}
    return coding | ({"display": display} if display else {})


def _ingredients_json(entry: Entry) -> list[dict[str, Any]]:
    return [
        {
            "itemCodeableConcept": {"coding": [_coding(INN, i.inn, i.inn)]},
            "isActive": True,
            "strength": i.strength.ratio(),
        }
        for i in entry.ingredients
    ]


def to_resources(entry: Entry, fhir_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The Medication and the MedicationKnowledge (both with fhir_id) that hold an Entry."""
    code = {"coding": [_coding(PRODUCT, entry.registration_number, entry.label())],
            "text": entry.trade_name}  # fmt: skip
    holder = {"reference": f"Organization/{entry.holder_id}", "display": entry.holder}
    form = {"coding": [_coding(DOSE_FORM, entry.dose_form, dose_form_display(entry.dose_form))]}
    active = "active" if entry.status is RegistrationStatus.VALID else "inactive"
    pack = entry.pack.quantity()
    medication = {
        "resourceType": "Medication",
        "id": fhir_id,
        "identifier": [
            {"use": "official", "system": REGISTRATION_NUMBER, "value": entry.registration_number},
            *({"system": GTIN, "value": gtin} for gtin in entry.gtins),
        ],
        "code": code,
        "status": active,
        "manufacturer": holder,
        "form": form,
        "amount": {"numerator": pack, "denominator": Amount(Decimal(1), "{pack}").quantity()},
        "ingredient": _ingredients_json(entry),
    }
    period = {"start": entry.valid_from} | ({"end": entry.valid_to} if entry.valid_to else {})
    codes = [Schedule.PRESCRIPTION_ONLY] if entry.prescription_only else []
    codes += [entry.controlled] if entry.controlled else []
    classifications = [(ClassificationType.ATC, ATC, entry.atc)]
    if entry.reimbursement:
        classifications.append(
            (ClassificationType.REIMBURSEMENT, REIMBURSEMENT_LIST, entry.reimbursement)
        )
    prices = [(PriceType.REFERENCE, entry.reference_price), (PriceType.RETAIL, entry.retail_price)]
    knowledge: dict[str, Any] = {
        "resourceType": "MedicationKnowledge",
        "id": fhir_id,
        "code": code,
        "status": active,
        "manufacturer": holder,
        "doseForm": form,
        "amount": pack,
        "synonym": [entry.trade_name],
        "associatedMedication": [{"reference": f"Medication/{fhir_id}"}],
        "intendedRoute": [{"coding": [_coding(SNOMED, *ROUTES[route])]} for route in entry.routes],
        "ingredient": _ingredients_json(entry),
        "cost": [
            {
                "type": {"coding": [_coding(PRICE_TYPE, kind.value)]},
                "source": PRICE_SOURCE,
                "cost": {"value": value, "currency": CURRENCY},
            }
            for kind, value in prices
            if value is not None
        ],
        "packaging": {"quantity": pack},
        "medicineClassification": [
            {
                "type": {"coding": [_coding(CLASSIFICATION_TYPE, kind.value)]},
                "classification": [{"coding": [_coding(system, value)]}],
            }
            for kind, system, value in classifications
        ],
        "drugCharacteristic": [
            {
                "type": {"coding": [_coding(CHARACTERISTIC, DDD)]},
                "valueQuantity": entry.ddd.quantity(),
            }
        ]
        if entry.ddd
        else [],
        "regulatory": [
            {
                "extension": [
                    {
                        "url": EXT_REGISTRATION_STATUS,
                        "valueCoding": _coding(REGISTRATION_STATUS, entry.status.value),
                    },
                    {"url": EXT_REGISTRATION_PERIOD, "valuePeriod": period},
                ],
                "regulatoryAuthority": {"display": REGULATORY_AUTHORITY},
                **(
                    {
                        "schedule": [
                            {"schedule": {"coding": [_coding(SCHEDULE, c.value)]}} for c in codes
                        ]
                    }
                    if codes
                    else {}
                ),
            }
        ],
    }
    return medication, {k: v for k, v in knowledge.items() if v != []}


def _amount_of(quantity: Any) -> Amount | None:
    if not isinstance(quantity, Mapping):
        return None
    value, code = decimal_of(quantity.get("value")), quantity.get("code")
    if value is None or not isinstance(code, str):
        return None
    return Amount(value, code)


def from_resources(medication: Mapping[str, Any], knowledge: Mapping[str, Any]) -> Entry:
    """The Entry a register Medication and its MedicationKnowledge hold (both kept the rules)."""
    ingredients = []
    for item in listed(medication.get("ingredient")):
        _problem, strength = ratio_strength(item.get("strength"))
        inn = first_code(item.get("itemCodeableConcept"), INN)
        assert strength is not None and inn is not None
        ingredients.append(Ingredient(inn, strength))
    amount = medication.get("amount") or {}
    pack = _amount_of(amount.get("numerator"))
    assert pack is not None
    ddd = None
    for entry in listed(knowledge.get("drugCharacteristic")):
        if DDD in coded(entry.get("type"), CHARACTERISTIC):
            ddd = _amount_of(entry.get("valueQuantity"))
    codes = schedules(knowledge)
    controlled = next((Schedule(code) for code in codes if code in CONTROLLED), None)
    start, end = registration_period(knowledge)
    holder = medication.get("manufacturer") or {}
    routes = [
        ROUTE_NAMES[code]
        for route in listed(knowledge.get("intendedRoute"))
        if (code := first_code(route, SNOMED)) in ROUTE_NAMES
    ]
    return Entry(
        registration_number=registration_numbers(medication)[0][1],
        trade_name=medication["code"]["text"],
        ingredients=tuple(ingredients),
        dose_form=first_code(medication.get("form"), DOSE_FORM) or "",
        routes=tuple(routes),
        pack=pack,
        gtins=tuple(value for _index, value in gtins(medication)),
        atc=classification(knowledge, ClassificationType.ATC, ATC) or "",
        ddd=ddd,
        holder=holder.get("display", ""),
        holder_id=reference_id(holder, "Organization") or "",
        status=RegistrationStatus(registration_status(knowledge) or ""),
        valid_from=start or "",
        valid_to=end,
        prescription_only=Schedule.PRESCRIPTION_ONLY in codes,
        controlled=controlled,
        reimbursement=classification(
            knowledge, ClassificationType.REIMBURSEMENT, REIMBURSEMENT_LIST
        ),
        reference_price=price(knowledge, PriceType.REFERENCE),
        retail_price=price(knowledge, PriceType.RETAIL),
    )


@dataclass(frozen=True, slots=True)
class Product:
    """A registered pack as the register answers for it at a moment: its record, the ids of
    its resources, and its status then (a valid registration past its period reads expired)."""

    medication_id: str
    knowledge_id: str
    entry: Entry
    status: RegistrationStatus
    in_force: bool  # valid, and the moment within its validity period

    @property
    def reimbursed(self) -> bool:
        """On a reimbursement list."""
        return self.entry.reimbursement is not None


def product_at(
    medication_id: str,
    knowledge_id: str,
    medication: Mapping[str, Any],
    knowledge: Mapping[str, Any],
    moment: datetime,
) -> Product:
    """The Product a pair of register resources make at a moment."""
    entry = from_resources(medication, knowledge)
    status, in_force = status_at(entry.status, entry.valid_from, entry.valid_to, moment)
    return Product(medication_id, knowledge_id, entry, status, in_force)
