"""Structured dosage: an R4 Dosage (datatypes.html#Dosage), its instruction text in the
citizen's language, the daily dose and the quantity a course needs. Pure.

Shafa prescribes one regular regimen per line, the shape most community prescriptions take:
a dose (doseAndRate.doseQuantity, UCUM), how often (timing.repeat frequency per period and
periodUnit), for how long (timing.repeat.boundsDuration), by which route, and whether only as
needed (asNeededBoolean: then the frequency is the most the patient may take). Elements outside
that shape (dose ranges, timeOfDay, when, tapering sequences ...) are refused rather than
silently left out of the text and the checks.

Routes are SNOMED CT route qualifiers, the codes of R4's example binding for Dosage.route
(valueset-route-codes) and the codes the medicinal product register already gives a product's
intended routes (registries.medicines_rules.ROUTES), so a prescription's route is checked against
the product's without a mapping. EDQM Standard Terms, which the EU's cross-border ePrescription
uses, can be added as a second coding when Shafa exchanges prescriptions abroad.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from babel import Locale

from shafa.fhir.errors import Issue
from shafa.registries.medicines_rules import (
    ANNOTATION,
    ROUTE_NAMES,
    ROUTES,
    SNOMED,
    UCUM,
    Amount,
    Strength,
    decimal_of,
    plain,
    unit_dimension,
)

LANGUAGES = ("az", "en", "ru")

# UCUM time units a period or a duration may be in, in hours. UCUM's month (mo) is the mean
# Julian month, 30.4375 days; a 1-month period over a 3-month course still makes 3 doses.
TIME_UNITS: dict[str, Decimal] = {
    "h": Decimal(1),
    "d": Decimal(24),
    "wk": Decimal(168),
    "mo": Decimal("730.5"),
}
# Units of presentation a dose may be counted in (UCUM annotations); mass, volume, amount and
# international units come from the register's UNITS.
PRESENTATIONS = frozenset(
    {"{tablet}", "{capsule}", "{sachet}", "{suppository}", "{drop}", "{vial}", "{ampoule}",
     "{patch}", "{actuation}", "{dose}", "{syringe}"}
)  # fmt: skip
DOSE_DIMENSIONS = frozenset({"1", "g", "L", "mol", "[IU]"})
KNOWN = {"sequence", "text", "timing", "route", "doseAndRate", "asNeededBoolean"}


class DosageError(ValueError):
    """A Dosage Shafa cannot prescribe with: the issues, each with its FHIRPath."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(i.diagnostics for i in issues))
        self.issues = issues


@dataclass(frozen=True, slots=True)
class Regimen:
    """One line's dosage: dose (None where a dose is not counted: 'apply thinly'), frequency
    per period, route (the register's route name), optional duration, and as-needed."""

    dose: Amount | None
    frequency: int
    period: Decimal
    period_unit: str
    route: str
    duration: Decimal | None = None
    duration_unit: str | None = None
    as_needed: bool = False

    def __post_init__(self) -> None:
        issues = list(_regimen_issues(self))
        if issues:
            raise DosageError(issues)

    def period_hours(self) -> Decimal:
        return self.period * TIME_UNITS[self.period_unit]

    def duration_hours(self) -> Decimal | None:
        if self.duration is None or self.duration_unit is None:
            return None
        return self.duration * TIME_UNITS[self.duration_unit]

    def fhir(self, language: str = "en") -> dict[str, Any]:
        """The R4 Dosage, with its text in the language."""
        repeat: dict[str, Any] = {
            "frequency": self.frequency,
            "period": self.period,
            "periodUnit": self.period_unit,
        }
        if self.duration is not None and self.duration_unit is not None:
            repeat["boundsDuration"] = {
                "value": self.duration,
                "unit": TIME_WORDS[self.duration_unit]["en"][1],
                "system": UCUM,
                "code": self.duration_unit,
            }
        code, display = ROUTES[self.route]
        dosage: dict[str, Any] = {
            "text": instruction_text(self, language),
            "timing": {"repeat": repeat},
            "asNeededBoolean": self.as_needed,
            "route": {"coding": [{"system": SNOMED, "code": code, "display": display}]},
        }
        if self.dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": self.dose.quantity()}]
        return dosage


def _regimen_issues(r: Regimen) -> list[Issue]:
    issues = []
    if r.dose is not None:
        dimension = unit_dimension(r.dose.unit)
        if (
            dimension is None
            or dimension[0] not in DOSE_DIMENSIONS
            or (ANNOTATION.fullmatch(r.dose.unit) and r.dose.unit not in PRESENTATIONS)
        ):
            issues.append(_issue("code-invalid", f"{r.dose.unit!r} is not a dose unit Shafa "
                                 "takes (mg, g, ug, mL, [IU], mmol, {tablet}, {capsule}, ...)",
                                 "Dosage.doseAndRate[0].doseQuantity.code"))  # fmt: skip
        if r.dose.value <= 0:
            issues.append(_issue("value", "The dose is positive", "Dosage.doseAndRate[0]"))
    if isinstance(r.frequency, bool) or not isinstance(r.frequency, int) or r.frequency < 1:
        issues.append(
            _issue("value", "The frequency is a whole number of at least 1",
                   "Dosage.timing.repeat.frequency")
        )  # fmt: skip
    if r.period_unit not in TIME_UNITS or not r.period > 0:
        issues.append(
            _issue("value", "The period is positive, in h, d, wk or mo",
                   "Dosage.timing.repeat.period")
        )  # fmt: skip
    if (r.duration is None) != (r.duration_unit is None) or (
        r.duration is not None and (r.duration_unit not in TIME_UNITS or not r.duration > 0)
    ):
        issues.append(
            _issue("value", "A duration is positive, in h, d, wk or mo",
                   "Dosage.timing.repeat.boundsDuration")
        )  # fmt: skip
    if r.route not in ROUTES:
        issues.append(
            _issue("code-invalid", f"A route is one of the register's routes ({', '.join(ROUTES)})",
                   "Dosage.route")
        )  # fmt: skip
    return issues


def _issue(code: str, text: str, where: str) -> Issue:
    return Issue(code, text, expression=(where,))


def _time(value: Any, unit: Any, where: str, issues: list[Issue]) -> tuple[Decimal, str]:
    number = decimal_of(value)
    if number is None or number <= 0 or unit not in TIME_UNITS:
        issues.append(_issue("value", "A time is a positive number in h, d, wk or mo", where))
        return Decimal(1), "d"
    return number, str(unit)


def parse(dosage: Any) -> Regimen:
    """The Regimen an R4 Dosage states; DosageError naming every problem if Shafa cannot
    prescribe with it (an element it does not interpret, a unit it does not know ...)."""
    if not isinstance(dosage, Mapping):
        raise DosageError([_issue("structure", "A Dosage is a JSON object", "Dosage")])
    issues = [
        _issue("not-supported", f"Shafa does not prescribe with Dosage.{key} yet", f"Dosage.{key}")
        for key in dosage
        if key not in KNOWN
    ]
    timing = dosage.get("timing")
    repeat = timing.get("repeat") if isinstance(timing, Mapping) else None
    if not isinstance(repeat, Mapping) or set(timing) - {"repeat"}:  # type: ignore[arg-type]
        issues.append(_issue("required", "A Dosage needs timing.repeat (and nothing else)",
                             "Dosage.timing"))  # fmt: skip
        repeat = {}
    for key in set(repeat) - {"frequency", "period", "periodUnit", "boundsDuration"}:
        issues.append(_issue("not-supported", f"Shafa does not prescribe with repeat.{key} yet",
                             f"Dosage.timing.repeat.{key}"))  # fmt: skip
    frequency = repeat.get("frequency")
    if isinstance(frequency, bool) or not isinstance(frequency, int) or frequency < 1:
        issues.append(_issue("value", "The frequency is a whole number of at least 1",
                             "Dosage.timing.repeat.frequency"))  # fmt: skip
        frequency = 1
    period, period_unit = _time(
        repeat.get("period"), repeat.get("periodUnit"), "Dosage.timing.repeat.period", issues
    )
    duration: Decimal | None = None
    duration_unit: str | None = None
    bounds = repeat.get("boundsDuration")
    if bounds is not None:
        where = "Dosage.timing.repeat.boundsDuration"
        if not isinstance(bounds, Mapping) or bounds.get("system") != UCUM:
            issues.append(_issue("value", f"The duration is a UCUM Duration ({UCUM})", where))
        else:
            duration, duration_unit = _time(bounds.get("value"), bounds.get("code"), where, issues)
    route = None
    route_json = dosage.get("route")
    codings = route_json.get("coding") if isinstance(route_json, Mapping) else None
    for coding in codings if isinstance(codings, list) else []:
        if isinstance(coding, Mapping) and coding.get("system") == SNOMED:
            route = ROUTE_NAMES.get(str(coding.get("code")))
    if route is None:
        issues.append(_issue("code-invalid", "The route is one of the register's SNOMED CT "
                             "routes", "Dosage.route"))  # fmt: skip
    dose = None
    dose_and_rate = dosage.get("doseAndRate")
    if dose_and_rate is not None:
        entry = dose_and_rate[0] if isinstance(dose_and_rate, list) and dose_and_rate else None
        quantity = entry.get("doseQuantity") if isinstance(entry, Mapping) else None
        if (
            not isinstance(entry, Mapping)
            or len(dose_and_rate) != 1
            or set(entry) != {"doseQuantity"}
            or not isinstance(quantity, Mapping)
        ):
            issues.append(_issue("not-supported", "Shafa prescribes one doseQuantity (no "
                                 "ranges, no rates)", "Dosage.doseAndRate"))  # fmt: skip
        else:
            value = decimal_of(quantity.get("value"))
            code = quantity.get("code")
            if value is None or quantity.get("system") != UCUM or not isinstance(code, str):
                issues.append(_issue("value", "The dose is a number in a UCUM unit",
                                     "Dosage.doseAndRate[0].doseQuantity"))  # fmt: skip
            else:
                dose = Amount(value, code)
    as_needed = dosage.get("asNeededBoolean", False)
    if not isinstance(as_needed, bool):
        issues.append(_issue("value", "asNeededBoolean is true or false", "Dosage.asNeeded"))
        as_needed = False
    if issues:
        raise DosageError(issues)
    assert route is not None
    return Regimen(
        dose=dose,
        frequency=frequency,
        period=period,
        period_unit=period_unit,
        route=route,
        duration=duration,
        duration_unit=duration_unit,
        as_needed=as_needed,
    )


def regimen(dosage: "Regimen | Mapping[str, Any]") -> Regimen:
    """A Regimen from itself or from an R4 Dosage."""
    return dosage if isinstance(dosage, Regimen) else parse(dosage)


# --- the daily dose and the quantity a course needs ----------------------------------------


def daily_dose(dosage: "Regimen | Mapping[str, Any]") -> Amount | None:
    """The most taken in a day, in the dose's unit (1 tablet every 8 hours: 3 {tablet});
    None where no dose is counted."""
    r = regimen(dosage)
    if r.dose is None:
        return None
    value = r.dose.value * r.frequency * TIME_UNITS["d"] / r.period_hours()
    return Amount(Decimal(plain(value)), r.dose.unit)


def administrations(dosage: "Regimen | Mapping[str, Any]") -> int | None:
    """How many doses the course holds (at most, if as needed); None without a duration.
    A part of a period still needs its doses: every 3 days for 10 days is 4 doses."""
    r = regimen(dosage)
    hours = r.duration_hours()
    if hours is None:
        return None
    return math.ceil(r.frequency * hours / r.period_hours())


def expected_quantity(dosage: "Regimen | Mapping[str, Any]") -> Amount | None:
    """dose x frequency x duration, in the dose's unit; None without a dose or a duration."""
    r = regimen(dosage)
    count = administrations(r)
    if r.dose is None or count is None:
        return None
    return Amount(Decimal(plain(r.dose.value * count)), r.dose.unit)


class QuantityProblem(StrEnum):
    """How a prescribed quantity disagrees with its course."""

    EXCESS = "excess"  # more than the course needs, rounded up to whole packs
    SHORT = "short"  # less than the course needs


@dataclass(frozen=True, slots=True)
class QuantityWarning:
    """A prescribed quantity that the dosage and duration do not account for (a warning)."""

    problem: QuantityProblem
    needed: Amount  # what the course needs, in the pack's unit
    whole_packs: Amount  # that, rounded up to whole packs
    prescribed: Amount  # in the pack's unit

    def text(self) -> str:
        if self.problem is QuantityProblem.EXCESS:
            return (
                f"{self.prescribed} prescribed is more than the course needs: {self.needed}, "
                f"or {self.whole_packs} in whole packs"
            )
        return f"{self.prescribed} prescribed is less than the course needs: {self.needed}"


def _in_unit(amount: Amount, unit: str) -> Decimal | None:
    """The amount in another unit of its dimension; a unit of presentation only as itself."""
    if amount.unit == unit:
        return amount.value
    mine, theirs = unit_dimension(amount.unit), unit_dimension(unit)
    if mine is None or theirs is None or mine[0] != theirs[0] or mine[0] == "1":
        return None
    return amount.value * mine[1] / theirs[1]


def _course_in_pack_units(course: Amount, pack: Amount, strength: Strength | None) -> Decimal:
    direct = _in_unit(course, pack.unit)
    if direct is not None:
        return direct
    if strength is not None:
        substance = _in_unit(course, strength.amount.unit)
        if substance is not None:
            presentations = substance / strength.amount.value * strength.per.value
            per = _in_unit(Amount(presentations, strength.per.unit), pack.unit)
            if per is not None:
                return per
    raise ValueError(
        f"A course in {course.unit} cannot be counted in packs of {pack.unit}"
        + ("" if strength else " without the product's strength")
    )


def quantity_warning(
    prescribed: Amount,
    dosage: "Regimen | Mapping[str, Any]",
    pack_size: Amount,
    strength: Strength | None = None,
) -> QuantityWarning | None:
    """A warning when the prescribed quantity (in the pack's unit, or a number of {pack}) is
    more than the course needs rounded up to whole packs, or (unless as needed) less than it;
    None when it agrees or there is no course to compare (no duration or no dose). A dose in
    mg against packs of tablets needs the product's strength; ValueError if they cannot be
    compared at all (a dose in capsules, a pack of tablets)."""
    r = regimen(dosage)
    course = expected_quantity(r)
    if course is None:
        return None
    needed = _course_in_pack_units(course, pack_size, strength)
    if prescribed.unit == "{pack}":
        given = prescribed.value * pack_size.value
    else:
        converted = _in_unit(prescribed, pack_size.unit)
        if converted is None:
            raise ValueError(f"{prescribed} cannot be counted in packs of {pack_size.unit}")
        given = converted
    packs = math.ceil(needed / pack_size.value)
    unit = pack_size.unit
    warning = None
    if given > packs * pack_size.value:
        warning = QuantityProblem.EXCESS
    elif given < needed and not r.as_needed:
        warning = QuantityProblem.SHORT
    if warning is None:
        return None
    return QuantityWarning(
        warning,
        Amount(Decimal(plain(needed)), unit),
        Amount(Decimal(plain(packs * pack_size.value)), unit),
        Amount(Decimal(plain(given)), unit),
    )


# --- instruction text ---------------------------------------------------------------------

# A word's forms by CLDR plural category (Babel's rules): English one/other; Russian one, few,
# many, other (other is the fraction's form, genitive singular: "0,5 таблетки").
# Azerbaijani puts a noun after a numeral in the singular: "3 tablet", "7 gün".
DOSE_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    # unit: en (one, other), ru (one, few, many, other), az
    "{tablet}": {"en": ("tablet", "tablets"),
                 "ru": ("таблетка", "таблетки", "таблеток", "таблетки"), "az": ("tablet",)},
    "{capsule}": {"en": ("capsule", "capsules"),
                  "ru": ("капсула", "капсулы", "капсул", "капсулы"), "az": ("kapsul",)},
    "{sachet}": {"en": ("sachet", "sachets"),
                 "ru": ("пакетик", "пакетика", "пакетиков", "пакетика"), "az": ("paket",)},
    "{suppository}": {"en": ("suppository", "suppositories"),
                      "ru": ("суппозиторий", "суппозитория", "суппозиториев", "суппозитория"),
                      "az": ("şam",)},
    "{drop}": {"en": ("drop", "drops"), "ru": ("капля", "капли", "капель", "капли"),
               "az": ("damcı",)},
    "{vial}": {"en": ("vial", "vials"), "ru": ("флакон", "флакона", "флаконов", "флакона"),
               "az": ("flakon",)},
    "{ampoule}": {"en": ("ampoule", "ampoules"), "ru": ("ампула", "ампулы", "ампул", "ампулы"),
                  "az": ("ampula",)},
    "{patch}": {"en": ("patch", "patches"),
                "ru": ("пластырь", "пластыря", "пластырей", "пластыря"), "az": ("plastır",)},
    "{syringe}": {"en": ("syringe", "syringes"), "ru": ("шприц", "шприца", "шприцев", "шприца"),
                  "az": ("şpris",)},
    "{dose}": {"en": ("dose", "doses"), "ru": ("доза", "дозы", "доз", "дозы"), "az": ("doza",)},
    # An actuation of an inhaler is a puff, of a nasal spray a spray (see _dose_words).
    "{puff}": {"en": ("puff", "puffs"),
               "ru": ("ингаляция", "ингаляции", "ингаляций", "ингаляции"),
               "az": ("inhalyasiya",)},
    "{spray}": {"en": ("spray", "sprays"),
                "ru": ("впрыскивание", "впрыскивания", "впрыскиваний", "впрыскивания"),
                "az": ("püskürtmə",)},
    # Units of measure are written as symbols and do not inflect; micrograms in full in English
    # (BNF, "Prescription writing": the abbreviation is easily misread as mg).
    "ug": {"en": ("microgram", "micrograms"), "ru": ("мкг",), "az": ("mkq",)},
    "mg": {"en": ("mg",), "ru": ("мг",), "az": ("mq",)},
    "g": {"en": ("g",), "ru": ("г",), "az": ("q",)},
    "kg": {"en": ("kg",), "ru": ("кг",), "az": ("kq",)},
    "ng": {"en": ("nanogram", "nanograms"), "ru": ("нг",), "az": ("nq",)},
    "mL": {"en": ("mL",), "ru": ("мл",), "az": ("ml",)},
    "L": {"en": ("L",), "ru": ("л",), "az": ("l",)},
    "uL": {"en": ("microlitre", "microlitres"), "ru": ("мкл",), "az": ("mkl",)},
    "mmol": {"en": ("mmol",), "ru": ("ммоль",), "az": ("mmol",)},
    "umol": {"en": ("micromole", "micromoles"), "ru": ("мкмоль",), "az": ("mkmol",)},
    "mol": {"en": ("mol",), "ru": ("моль",), "az": ("mol",)},
    "[IU]": {"en": ("unit", "units"), "ru": ("МЕ",), "az": ("BV",)},
}  # fmt: skip

# Time units: English (one, other); Russian accusative after "в" ("в 2 дня") and genitive
# after "в течение" ("в течение 7 дней"), each (one, few, many, other); Azerbaijani bare,
# locative ("gündə") and ablative ("saatdan").
TIME_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "h": {"en": ("hour", "hours"), "ru_acc": ("час", "часа", "часов", "часа"),
          "ru_gen": ("часа", "часов", "часов", "часа"), "az": ("saat", "saatda", "saatdan")},
    "d": {"en": ("day", "days"), "ru_acc": ("день", "дня", "дней", "дня"),
          "ru_gen": ("дня", "дней", "дней", "дня"), "az": ("gün", "gündə", "gündən")},
    "wk": {"en": ("week", "weeks"), "ru_acc": ("неделю", "недели", "недель", "недели"),
           "ru_gen": ("недели", "недель", "недель", "недели"),
           "az": ("həftə", "həftədə", "həftədən")},
    "mo": {"en": ("month", "months"), "ru_acc": ("месяц", "месяца", "месяцев", "месяца"),
           "ru_gen": ("месяца", "месяцев", "месяцев", "месяца"), "az": ("ay", "ayda", "aydan")},
}  # fmt: skip
EN_ONE_PERIOD = {"h": "an hour", "d": "a day", "wk": "a week", "mo": "a month"}

ROUTE_WORDS: dict[str, dict[str, str]] = {
    "oral": {"en": "by mouth", "ru": "внутрь", "az": "ağızdan"},
    "sublingual": {"en": "under the tongue", "ru": "под язык", "az": "dilaltı"},
    "intravenous": {"en": "into a vein", "ru": "внутривенно", "az": "venadaxili"},
    "intramuscular": {"en": "into a muscle", "ru": "внутримышечно", "az": "əzələdaxili"},
    "subcutaneous": {"en": "under the skin", "ru": "подкожно", "az": "dərialtı"},
    "cutaneous": {"en": "on the skin", "ru": "наружно", "az": "dəri üzərinə"},
    "transdermal": {"en": "on the skin", "ru": "трансдермально", "az": "dəri üzərinə"},
    "ocular": {"en": "in the eye", "ru": "в глаз", "az": "gözə"},
    "otic": {"en": "in the ear", "ru": "в ухо", "az": "qulağa"},
    "nasal": {"en": "in the nose", "ru": "в нос", "az": "buruna"},
    "inhalation": {"en": "inhaled", "ru": "ингаляционно", "az": "inhalyasiya yolu ilə"},
    "rectal": {"en": "rectally", "ru": "ректально", "az": "rektal"},
    "vaginal": {"en": "vaginally", "ru": "вагинально", "az": "vaginal"},
}
AS_NEEDED = {"en": "as needed", "ru": "при необходимости", "az": "ehtiyac olduqda"}
RU_CATEGORIES = ("one", "few", "many", "other")


def number(value: Decimal | int, language: str) -> str:
    """A number as the language writes it: 0.5 in English, 0,5 in Russian and Azerbaijani;
    no grouping, so a dose never reads as two numbers."""
    text = plain(Decimal(value))
    return text if language == "en" else text.replace(".", ",")


def _category(value: Decimal | int, language: str) -> str:
    return str(Locale.parse(language).plural_form(Decimal(plain(Decimal(value)))))


def _form(forms: tuple[str, ...], value: Decimal | int, language: str) -> str:
    """The form of a word for a number: CLDR's plural category picks it."""
    if len(forms) == 1:
        return forms[0]
    category = _category(value, language)
    if language == "en":
        return forms[0] if category == "one" else forms[1]
    return forms[RU_CATEGORIES.index(category)]


def _dose_text(r: Regimen, language: str) -> str:
    assert r.dose is not None
    unit = r.dose.unit
    if unit == "{actuation}":
        unit = {"inhalation": "{puff}", "nasal": "{spray}"}.get(r.route, "{dose}")
    forms = DOSE_WORDS[unit][language]
    return f"{number(r.dose.value, language)} {_form(forms, r.dose.value, language)}"


def _frequency_en(r: Regimen) -> str:
    times = {1: "once", 2: "twice"}.get(r.frequency, f"{r.frequency} times")
    if r.period == 1:
        text = f"{times} {EN_ONE_PERIOD[r.period_unit]}"
    else:
        unit = _form(TIME_WORDS[r.period_unit]["en"], r.period, "en")
        every = f"every {number(r.period, 'en')} {unit}"
        text = every if r.frequency == 1 and not r.as_needed else f"{times} {every}"
    return f"up to {text}" if r.as_needed else text


def _frequency_ru(r: Regimen) -> str:
    if r.as_needed:  # "до" takes the genitive: до 1 раза, до 3 раз
        times = f"до {r.frequency} {'раза' if _category(r.frequency, 'ru') == 'one' else 'раз'}"
    else:
        times = f"{r.frequency} {_form(('раз', 'раза', 'раз', 'раза'), r.frequency, 'ru')}"
    words = TIME_WORDS[r.period_unit]["ru_acc"]
    if r.period == 1:
        return f"{times} в {words[0]}"
    return f"{times} в {number(r.period, 'ru')} {_form(words, r.period, 'ru')}"


def _frequency_az(r: Regimen) -> str:
    _bare, locative, ablative = TIME_WORDS[r.period_unit]["az"]
    if r.as_needed:
        times = f"ən çox {r.frequency} dəfə"
    elif r.frequency == 1 and r.period != 1:
        return f"hər {number(r.period, 'az')} {ablative} bir"
    else:
        times = f"{r.frequency} dəfə"
    where = locative if r.period == 1 else f"{number(r.period, 'az')} {locative}"
    return f"{where} {times}"


def _duration_text(r: Regimen, language: str) -> str | None:
    if r.duration is None or r.duration_unit is None:
        return None
    words = TIME_WORDS[r.duration_unit]
    value = number(r.duration, language)
    if language == "en":
        return f"for {value} {_form(words['en'], r.duration, 'en')}"
    if language == "ru":
        return f"в течение {value} {_form(words['ru_gen'], r.duration, 'ru')}"
    return f"{value} {words['az'][0]} ərzində"


def instruction_text(dosage: "Regimen | Mapping[str, Any]", language: str = "en") -> str:
    """What the patient reads, in az, en or ru: '1 tablet 3 times a day for 7 days, by mouth',
    '1 таблетка 3 раза в день в течение 7 дней, внутрь', 'Gündə 3 dəfə 1 tablet, 7 gün
    ərzində, ağızdan'."""
    if language not in LANGUAGES:
        raise ValueError(f"{language!r} is not one of {', '.join(LANGUAGES)}")
    r = regimen(dosage)
    dose = _dose_text(r, language) if r.dose is not None else None
    duration = _duration_text(r, language)
    route = ROUTE_WORDS[r.route][language]
    if language == "az":
        head = " ".join(p for p in (_frequency_az(r), dose) if p)
        parts = [head, duration, route]
    else:
        frequency = _frequency_en(r) if language == "en" else _frequency_ru(r)
        parts = [" ".join(p for p in (dose, frequency, duration) if p), route]
    if r.as_needed:
        parts.append(AS_NEEDED[language])
    text = ", ".join(p for p in parts if p)
    return text[0].upper() + text[1:]
