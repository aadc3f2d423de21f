"""Deterministic synthetic FHIR R4 clinical records: Azerbaijani patients and their care.

Everything is derived from one seeded ``random.Random`` and a fixed base date, never the
clock, so the same arguments always give byte-identical resources. Each patient brings
exactly ``ENCOUNTERS_PER_PATIENT`` Encounters, ``OBSERVATIONS_PER_PATIENT`` Observations and
``MEDICATION_REQUESTS_PER_PATIENT`` MedicationRequests, so a dataset of N resources is
exactly ``N / RESOURCES_PER_PATIENT`` patients, plus ``SHARED_SIZE`` resources they all refer
to: the Medications of the formulary and the polyclinics (Organizations) that manage the
patients and hold their encounters, which makes the polyclinics' professionals the patients'
carers. Ids are client-chosen and stable (``pat-000001``, ``enc-000001-2``,
``medication-c09aa05``, ``polyclinic-3``...), which makes references between resources known in
advance and lets transaction Bundles PUT them idempotently.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone

from shafa.security.rules import FIN_SYSTEM

BASE_DATE = date(2025, 1, 1)
DEFAULT_BASE_URL = "https://fhir.shafa.az/fhir"

ENCOUNTERS_PER_PATIENT = 2
OBSERVATIONS_PER_PATIENT = 5
MEDICATION_REQUESTS_PER_PATIENT = 2
RESOURCES_PER_PATIENT = (
    1 + ENCOUNTERS_PER_PATIENT + OBSERVATIONS_PER_PATIENT + MEDICATION_REQUESTS_PER_PATIENT
)

ACT_CODE_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
LOINC_SYSTEM = "http://loinc.org"
UCUM_SYSTEM = "http://unitsofmeasure.org"
ATC_SYSTEM = "http://www.whocc.no/atc"
ICD10_SYSTEM = "http://hl7.org/fhir/sid/icd-10"
SNOMED_SYSTEM = "http://snomed.info/sct"
ORGANIZATION_TYPE_SYSTEM = "http://terminology.hl7.org/CodeSystem/organization-type"
OBSERVATION_CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"

# Baku has had no daylight saving since 2016, so a fixed offset is the true local time.
BAKU = timezone(timedelta(hours=4))

# Letters I and O are left out because on a printed card they read as 1 and 0.
FIN_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
FIN_LENGTH = 7
_FIN_SPACE = len(FIN_ALPHABET) ** FIN_LENGTH

# Tables stay hand-aligned, one row of data a line.
# fmt: off
# Male forms; the female form of an -ov/-yev surname adds "a", -li surnames are shared.
SURNAMES = (
    "Əliyev", "Məmmədov", "Hüseynov", "Həsənov", "Quliyev", "İsmayılov", "Abdullayev",
    "Rzayev", "Kərimov", "Nəsirov", "Orucov", "Süleymanov", "Cəfərov", "Əhmədov", "Bağırov",
    "Qasımov", "Mustafayev", "Vəliyev", "Zeynalov", "Səfərov", "Həsənli", "Əlizadə",
    "Məmmədli", "Nağıyev", "Sadıqov", "Babayev", "Hacıyev", "İbrahimov", "Novruzov", "Şükürov",
)
MALE_NAMES = (
    "Əli", "Məhəmməd", "Hüseyn", "Rəşad", "Elvin", "Orxan", "Tural", "Kamran", "Nicat",
    "Fərid", "Elçin", "Vüqar", "Ramil", "Səbuhi", "Anar", "İlkin", "Murad", "Rauf", "Şahin",
    "Emil", "Toğrul", "Cavid", "Ülvi", "Rövşən", "Zaur",
)
FEMALE_NAMES = (
    "Aysel", "Günel", "Leyla", "Nərgiz", "Səbinə", "Aynur", "Gülnar", "Lalə", "Nigar",
    "Şəbnəm", "Aygün", "Fidan", "Könül", "Ülviyyə", "Zəhra", "Xədicə", "Sevinc", "Türkan",
    "Ayşən", "Mələk", "Rəna", "Təranə", "Jalə", "Gülşən", "Səadət",
)
# (city, first four-digit postal code): Bakı is the most common, as in the population.
CITIES = (
    ("Bakı", 1000), ("Bakı", 1000), ("Bakı", 1000), ("Bakı", 1000), ("Gəncə", 2000),
    ("Sumqayıt", 5000), ("Mingəçevir", 4500), ("Lənkəran", 4200), ("Şəki", 5500),
    ("Naxçıvan", 7000), ("Quba", 4000), ("Şirvan", 5800),
)
STREETS = (
    "Nizami küçəsi", "Füzuli küçəsi", "Azadlıq prospekti", "Neftçilər prospekti",
    "Səməd Vurğun küçəsi", "Üzeyir Hacıbəyov küçəsi", "Həsən bəy Zərdabi küçəsi",
    "Heydər Əliyev prospekti", "Xətai prospekti", "Cəfər Cabbarlı küçəsi", "Atatürk prospekti",
)
MOBILE_PREFIXES = ("50", "51", "55", "70", "77", "99", "10")

# (LOINC, display, category, unit, UCUM code, value low, value high, ref low, ref high,
# decimals): value ranges reach past the reference range so some results are abnormal.
OBSERVATION_KINDS = (
    ("8867-4", "Heart rate", "vital-signs", "beats/minute", "/min", 48, 130, 60, 100, 0),
    ("8480-6", "Systolic blood pressure", "vital-signs", "mmHg", "mm[Hg]", 95, 185, 90, 140, 0),
    ("8462-4", "Diastolic blood pressure", "vital-signs", "mmHg", "mm[Hg]", 55, 115, 60, 90, 0),
    ("8310-5", "Body temperature", "vital-signs", "°C", "Cel", 35.8, 39.6, 36.1, 37.2, 1),
    ("9279-1", "Respiratory rate", "vital-signs", "breaths/minute", "/min", 10, 30, 12, 20, 0),
    ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry", "vital-signs", "%",
     "%", 86, 100, 95, 100, 0),
    ("29463-7", "Body weight", "vital-signs", "kg", "kg", 45, 130, 50, 100, 1),
    ("39156-5", "Body mass index (BMI) [Ratio]", "vital-signs", "kg/m2", "kg/m2", 17, 41,
     18.5, 25, 1),
    ("2339-0", "Glucose [Mass/volume] in Blood", "laboratory", "mg/dL", "mg/dL", 60, 260, 70,
     100, 0),
    ("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "laboratory", "%", "%", 4.2, 11.5,
     4.0, 5.6, 1),
    ("718-7", "Hemoglobin [Mass/volume] in Blood", "laboratory", "g/dL", "g/dL", 8.5, 18.5,
     12.0, 17.5, 1),
    ("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL",
     0.4, 2.8, 0.6, 1.3, 2),
    ("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "laboratory", "mg/dL", "mg/dL",
     120, 320, 125, 200, 0),
    ("2823-3", "Potassium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L",
     "mmol/L", 2.9, 6.1, 3.5, 5.1, 1),
    ("2951-2", "Sodium [Moles/volume] in Serum or Plasma", "laboratory", "mmol/L", "mmol/L",
     125, 152, 135, 145, 0),
    ("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "laboratory", "10*3/uL",
     "10*3/uL", 2.5, 18.0, 4.0, 11.0, 1),
)
CATEGORY_DISPLAY = {"vital-signs": "Vital Signs", "laboratory": "Laboratory"}

ORAL = ("26643006", "Oral route")
RESPIRATORY = ("447694001", "Respiratory tract route")
# (ATC, display, ICD-10 reason, reason display, dose, UCUM dose unit, times a day, route)
MEDICATIONS = (
    ("C09AA05", "ramipril", "I10", "Essential (primary) hypertension", 5, "mg", 1, ORAL),
    ("C08CA01", "amlodipine", "I10", "Essential (primary) hypertension", 5, "mg", 1, ORAL),
    ("C07AB07", "bisoprolol", "I48.9", "Atrial fibrillation and atrial flutter, unspecified",
     2.5, "mg", 1, ORAL),
    ("A10BA02", "metformin", "E11.9", "Type 2 diabetes mellitus without complications", 500,
     "mg", 2, ORAL),
    ("C10AA05", "atorvastatin", "E78.0", "Pure hypercholesterolaemia", 20, "mg", 1, ORAL),
    ("B01AC06", "acetylsalicylic acid", "I25.9", "Chronic ischaemic heart disease, unspecified",
     75, "mg", 1, ORAL),
    ("J01CA04", "amoxicillin", "J18.9", "Pneumonia, unspecified", 500, "mg", 3, ORAL),
    ("N02BE01", "paracetamol", "R50.9", "Fever, unspecified", 500, "mg", 3, ORAL),
    ("M01AE01", "ibuprofen", "M54.5", "Low back pain", 400, "mg", 3, ORAL),
    ("A02BC01", "omeprazole", "K21.9", "Gastro-oesophageal reflux disease without oesophagitis",
     20, "mg", 1, ORAL),
    ("H03AA01", "levothyroxine sodium", "E03.9", "Hypothyroidism, unspecified", 50, "ug", 1,
     ORAL),
    ("R03AC02", "salbutamol", "J45.9", "Asthma, unspecified", 200, "ug", 2, RESPIRATORY),
)
ENCOUNTER_CLASSES = (("AMB", "ambulatory"), ("IMP", "inpatient encounter"))
# fmt: on


def patient_id(patient: int) -> str:
    """Id of the 1-based ``patient``-th Patient."""
    return f"pat-{patient:06d}"


def encounter_id(patient: int, number: int) -> str:
    """Id of that patient's ``number``-th (1-based) Encounter."""
    return f"enc-{patient:06d}-{number}"


def observation_id(patient: int, number: int) -> str:
    """Id of that patient's ``number``-th (1-based) Observation."""
    return f"obs-{patient:06d}-{number}"


def medication_request_id(patient: int, number: int) -> str:
    """Id of that patient's ``number``-th (1-based) MedicationRequest."""
    return f"med-{patient:06d}-{number}"


def medication_id(atc: str) -> str:
    """Id of the formulary's Medication with that ATC code."""
    return f"medication-{atc.lower()}"


def _fin_encoder(rng: random.Random) -> Callable[[int], str]:
    """A seeded bijection from patient number to FIN, so FINs are unique without a set."""
    # An affine map x -> a*x + b is a permutation of Z_m whenever gcd(a, m) == 1; m is 34**7
    # and 34 = 2 * 17, so a odd and not a multiple of 17 is enough.
    multiplier = rng.randrange(_FIN_SPACE // 3, _FIN_SPACE) | 1
    while multiplier % 17 == 0:
        multiplier += 2
    offset = rng.randrange(_FIN_SPACE)
    base = len(FIN_ALPHABET)

    def fin(patient: int) -> str:
        number = (patient * multiplier + offset) % _FIN_SPACE
        digits = []
        for _ in range(FIN_LENGTH):
            number, digit = divmod(number, base)
            digits.append(FIN_ALPHABET[digit])
        return "".join(digits)

    return fin


def _quantity(value: float, unit: str, code: str) -> dict:
    return {"value": value, "unit": unit, "system": UCUM_SYSTEM, "code": code}


def _patient(rng: random.Random, number: int, fin: str, base_date: date) -> dict:
    choice = rng.choice
    male = rng.random() < 0.5
    surname = choice(SURNAMES)
    father = choice(MALE_NAMES)
    if male:
        given, patronymic = choice(MALE_NAMES), f"{father} oğlu"
    else:
        given, patronymic = choice(FEMALE_NAMES), f"{father} qızı"
        if not surname.endswith(("li", "zadə")):
            surname += "a"
    city, postal_base = choice(CITIES)
    return {
        "resourceType": "Patient",
        "id": patient_id(number),
        "identifier": [{"use": "official", "system": FIN_SYSTEM, "value": fin}],
        "active": True,
        "name": [{"use": "official", "family": surname, "given": [given, patronymic]}],
        "telecom": [
            {
                "system": "phone",
                "value": f"+994{choice(MOBILE_PREFIXES)}{rng.randrange(10_000_000):07d}",
                "use": "mobile",
            }
        ],
        "gender": "male" if male else "female",
        "birthDate": (base_date - timedelta(days=rng.randrange(1, 90 * 365))).isoformat(),
        "address": [
            {
                "use": "home",
                "line": [
                    f"{choice(STREETS)} {rng.randrange(1, 200)}, mənzil {rng.randrange(1, 120)}"
                ],
                "city": city,
                "postalCode": f"AZ{postal_base + rng.randrange(100)}",
                "country": "AZ",
            }
        ],
    }


def _encounter(rng: random.Random, encounter: str, subject: str, start: datetime) -> dict:
    inpatient = rng.random() < 0.2
    code, display = ENCOUNTER_CLASSES[inpatient]
    length = (
        timedelta(days=rng.randrange(2, 10))
        if inpatient
        else timedelta(minutes=rng.randrange(15, 60))
    )
    return {
        "resourceType": "Encounter",
        "id": encounter,
        "status": "finished",
        "class": {"system": ACT_CODE_SYSTEM, "code": code, "display": display},
        "subject": {"reference": subject},
        "period": {"start": start.isoformat(), "end": (start + length).isoformat()},
    }


def _observation(
    rng: random.Random, observation: str, subject: str, encounter: str, effective: datetime
) -> dict:
    loinc, display, category, unit, code, low, high, ref_low, ref_high, decimals = rng.choice(
        OBSERVATION_KINDS
    )
    value = round(rng.uniform(low, high), decimals)
    if decimals == 0:
        value = int(value)
    interpretation = "L" if value < ref_low else "H" if value > ref_high else "N"
    return {
        "resourceType": "Observation",
        "id": observation,
        "status": "final",
        "category": [
            {
                "coding": [
                    {
                        "system": OBSERVATION_CATEGORY_SYSTEM,
                        "code": category,
                        "display": CATEGORY_DISPLAY[category],
                    }
                ]
            }
        ],
        "code": {
            "coding": [{"system": LOINC_SYSTEM, "code": loinc, "display": display}],
            "text": display,
        },
        "subject": {"reference": subject},
        "encounter": {"reference": encounter},
        "effectiveDateTime": effective.isoformat(),
        "valueQuantity": _quantity(value, unit, code),
        "interpretation": [{"coding": [{"system": INTERPRETATION_SYSTEM, "code": interpretation}]}],
        "referenceRange": [
            {"low": _quantity(ref_low, unit, code), "high": _quantity(ref_high, unit, code)}
        ],
    }


def _medication_request(
    rng: random.Random, request: str, subject: str, encounter: str, authored: datetime
) -> dict:
    atc, drug, icd, reason, dose, unit, per_day, (route_code, route) = rng.choice(MEDICATIONS)
    return {
        "resourceType": "MedicationRequest",
        "id": request,
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": f"Medication/{medication_id(atc)}", "display": drug},
        "subject": {"reference": subject},
        "encounter": {"reference": encounter},
        "authoredOn": authored.isoformat(),
        "reasonCode": [{"coding": [{"system": ICD10_SYSTEM, "code": icd, "display": reason}]}],
        "dosageInstruction": [
            {
                "sequence": 1,
                "text": f"{dose} {unit}, gündə {per_day} dəfə",
                "timing": {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}},
                "route": {
                    "coding": [{"system": SNOMED_SYSTEM, "code": route_code, "display": route}]
                },
                "doseAndRate": [{"doseQuantity": _quantity(dose, unit, unit)}],
            }
        ],
    }


POLYCLINICS = 5


def polyclinic_id(patient: int) -> str:
    """The polyclinic a patient is registered at, and is seen at: patients take turns."""
    return f"polyclinic-{(patient - 1) % POLYCLINICS + 1}"


def facilities() -> list[dict]:
    """The polyclinics (Organizations) every patient is registered at."""
    return [
        {
            "resourceType": "Organization",
            "id": f"polyclinic-{number}",
            "active": True,
            "type": [{"coding": [{"system": ORGANIZATION_TYPE_SYSTEM, "code": "prov"}]}],
            "name": f"Bakı şəhəri {number} nömrəli poliklinika",
        }
        for number in range(1, POLYCLINICS + 1)
    ]


def formulary() -> list[dict]:
    """The Medications every generated MedicationRequest refers to, one an ATC code."""
    return [
        {
            "resourceType": "Medication",
            "id": medication_id(atc),
            "code": {
                "coding": [{"system": ATC_SYSTEM, "code": atc, "display": drug}],
                "text": drug,
            },
            "status": "active",
        }
        for atc, drug, *_ in MEDICATIONS
    ]


FORMULARY_SIZE = len(MEDICATIONS)
SHARED_SIZE = FORMULARY_SIZE + POLYCLINICS


def shared_resources() -> list[dict]:
    """What every patient's records refer to: the formulary and the polyclinics."""
    return formulary() + facilities()


def _patient_records(patients: int, seed: int, base_date: date) -> Iterator[list[dict]]:
    """Each patient's resources, the Patient first and every referenced resource before use."""
    rng = random.Random(seed)
    fin = _fin_encoder(rng)
    midnight = datetime(base_date.year, base_date.month, base_date.day, tzinfo=BAKU)
    for number in range(1, patients + 1):
        patient = _patient(rng, number, fin(number), base_date)
        clinic = {"reference": f"Organization/{polyclinic_id(number)}"}
        patient["managingOrganization"] = clinic
        subject = f"Patient/{patient['id']}"
        records = [patient]
        # Oldest visit first, within the three years before the base date, in clinic hours.
        starts = sorted(
            midnight
            - timedelta(days=rng.randrange(1, 3 * 365))
            + timedelta(minutes=rng.randrange(8 * 60, 18 * 60))
            for _ in range(ENCOUNTERS_PER_PATIENT)
        )
        encounters = [
            _encounter(rng, encounter_id(number, visit), subject, start)
            | {"serviceProvider": clinic}
            for visit, start in enumerate(starts, 1)
        ]
        records += encounters
        for index in range(OBSERVATIONS_PER_PATIENT):
            visit = index % ENCOUNTERS_PER_PATIENT
            taken = starts[visit] + timedelta(minutes=rng.randrange(5, 15))
            records.append(
                _observation(
                    rng,
                    observation_id(number, index + 1),
                    subject,
                    f"Encounter/{encounters[visit]['id']}",
                    taken,
                )
            )
        for index in range(MEDICATION_REQUESTS_PER_PATIENT):
            visit = index % ENCOUNTERS_PER_PATIENT
            records.append(
                _medication_request(
                    rng,
                    medication_request_id(number, index + 1),
                    subject,
                    f"Encounter/{encounters[visit]['id']}",
                    starts[visit] + timedelta(minutes=20),
                )
            )
        yield records


def generate(patients: int, seed: int = 1, *, base_date: date = BASE_DATE) -> Iterator[dict]:
    """Yield the shared resources, then those of ``patients`` patients, each patient first."""
    yield from shared_resources()
    for records in _patient_records(patients, seed, base_date):
        yield from records


def transaction_bundles(
    patients: int,
    per_bundle: int = 500,
    seed: int = 1,
    *,
    base_date: date = BASE_DATE,
    base_url: str = DEFAULT_BASE_URL,
) -> Iterator[dict]:
    """Yield transaction Bundles of at most ``per_bundle`` idempotent PUT entries.

    The shared resources come first, in a Bundle of their own. A patient's resources never
    straddle two Bundles, so every reference but those to the shared resources resolves inside
    its own Bundle, and
    the Bundles after the first can be posted concurrently in any order. A single patient with
    more resources than ``per_bundle`` still gets one Bundle of its own.
    """
    yield _transaction([_put(resource, base_url) for resource in shared_resources()])
    entries: list[dict] = []
    for records in _patient_records(patients, seed, base_date):
        if entries and len(entries) + len(records) > per_bundle:
            yield _transaction(entries)
            entries = []
        entries += (_put(resource, base_url) for resource in records)
    if entries:
        yield _transaction(entries)


def _put(resource: dict, base_url: str) -> dict:
    url = f"{resource['resourceType']}/{resource['id']}"
    return {
        "fullUrl": f"{base_url}/{url}",
        "resource": resource,
        "request": {"method": "PUT", "url": url},
    }


def _transaction(entries: list[dict]) -> dict:
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}
