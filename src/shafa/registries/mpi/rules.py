# Azerbaijani and Russian letters are this module's subject.
# ruff: noqa: RUF001, RUF002, RUF003
"""Duplicate detection as pure functions: what of a Patient is compared, how two Patients
agree field by field, the Fellegi–Sunter weight of that agreement, and the blocking keys that
find candidates without reading every citizen. No database, HTTP or clock here.

Fellegi and Sunter ("A Theory for Record Linkage", JASA 64, 1969): for each field, an
agreement level γ is observed between two records; m = P(γ | the records are one person),
u = P(γ | they are two people). The weight of the level is log2(m/u) and the weight of a pair
is the sum over fields (fields are taken as independent given match status). A missing value
weighs 0. The pair's match probability is the posterior 1 / (1 + 2^-(w + prior)), prior being
log2 of the odds that a record matches a given other one before comparing (about one in the
size of the registry). Splink (UK Ministry of Justice) computes the same quantities.

The m and u of DEFAULT_MODEL, and where they come from, are in docs/registries.md, "Duplicate
detection, merge and unmerge"; SHAFA_MPI_MODEL_FILE overrides any of them (MatchModel.merged).
"""

import copy
import hashlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import lru_cache
from typing import Any

from rapidfuzz.distance import JaroWinkler

from shafa.fhir.indexing import normalise_text
from shafa.registries.citizens.names import fold_name
from shafa.registries.citizens.rules import FIN_SYSTEM, date_span


class Level:
    """How two records agree on a field; the codes are stored in review items. Plain strings,
    not an Enum: they key the weight table a million times a load, and str hashes in C."""

    EXACT = "exact"  # the same spelling (case and accents aside), the same value
    FOLDED = "folded"  # the same once transliteration is folded away (Əliyev, Aliyev, Алиев)
    SIMILAR = "similar"  # Jaro-Winkler >= SIMILAR_NAMES on the folded forms: a typo
    TRANSPOSED = "transposed"  # a birth date with day and month swapped
    YEAR_MONTH = "year-month"  # a birth date whose year and month agree, not the day
    DAY_MONTH = "day-month"  # a birth date whose day and month agree, not the year
    DIFFERENT = "different"
    MISSING = "missing"  # one record or both lack the field: weight 0


LEVELS = frozenset(
    value for name, value in vars(Level).items() if name.isupper() and isinstance(value, str)
)


class Grade(StrEnum):
    """FHIR R4 match-grade (extension-match-grade.html, value set match-grade)."""

    CERTAIN = "certain"
    PROBABLE = "probable"
    POSSIBLE = "possible"
    CERTAINLY_NOT = "certainly-not"


FIELDS = ("fin", "family", "given", "patronymic", "birth_date", "sex", "district", "phone")
NAME_FIELDS = ("family", "given", "patronymic")
# Jaro-Winkler similarity (Winkler 1990, as the US Census Bureau's record linkage uses it)
# above which two different folded names count as a typo of each other: 0.9 keeps a letter
# dropped or swapped (Hüseynov/Hüsenov 0.975), and parts names that share only an ending.
# A letter added in front (Əliyev/Vəliyev, 0.944) still counts: the other fields decide.
SIMILAR_NAMES = 0.9


@dataclass(frozen=True, slots=True)
class MatchModel:
    """m and u of each (field, level), and the thresholds on the summed weight."""

    probabilities: Mapping[str, Mapping[str, tuple[float, float]]]
    certain: float  # weight at and above which a pair is the same person
    probable: float  # ... probably the same person (still reviewed)
    possible: float  # ... possibly: the lower end of the review band; below, a non-match
    prior: float  # log2 prior odds that a record is a given other one
    weights: Mapping[tuple[str, str], float] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        table = {
            (name, level): math.log2(m / u)
            for name, levels in self.probabilities.items()
            for level, (m, u) in levels.items()
        }
        object.__setattr__(self, "weights", table)

    def weight(self, name: str, level: str) -> float:
        """log2(m/u) of a field's level; 0 when missing or not modelled."""
        return self.weights.get((name, level), 0.0)

    def merged(self, overrides: Mapping[str, Any]) -> "MatchModel":
        """This model with some values replaced, as a settings file gives them:
        {"probabilities": {"family": {"exact": [m, u]}}, "certain": 30, ...}."""
        probabilities = {name: dict(levels) for name, levels in self.probabilities.items()}
        for name, levels in (overrides.get("probabilities") or {}).items():
            if name not in FIELDS:
                raise ValueError(f"{name!r} is not a compared field ({', '.join(FIELDS)})")
            for level, (m, u) in levels.items():
                if level not in LEVELS or level == Level.MISSING:
                    raise ValueError(f"{level!r} is not an agreement level of {name}")
                if not (0 < float(m) <= 1 and 0 < float(u) <= 1):
                    raise ValueError(f"m and u of {name} {level} must be in (0, 1]")
                probabilities.setdefault(name, {})[level] = (float(m), float(u))

        def given(key: str) -> float:
            return float(overrides.get(key, getattr(self, key)))

        model = replace(
            self,
            probabilities=probabilities,
            certain=given("certain"),
            probable=given("probable"),
            possible=given("possible"),
            prior=given("prior"),
        )
        if not model.possible <= model.probable <= model.certain:
            raise ValueError("The thresholds must keep possible <= probable <= certain")
        return model


# The defaults; docs/registries.md explains each pair. m: how often one person's two records
# show the level (registry error rates); u: how often two people's records do (the share of
# the population with the same value, from the frequencies of names, dates and districts).
DEFAULT_MODEL = MatchModel(
    probabilities={
        "family": {
            Level.EXACT: (0.87, 0.04),
            Level.FOLDED: (0.07, 0.004),
            Level.SIMILAR: (0.04, 0.01),
            Level.DIFFERENT: (0.02, 0.946),
        },
        "given": {
            Level.EXACT: (0.87, 0.012),
            Level.FOLDED: (0.06, 0.002),
            Level.SIMILAR: (0.04, 0.01),
            Level.DIFFERENT: (0.03, 0.976),
        },
        "patronymic": {
            Level.EXACT: (0.85, 0.012),
            Level.FOLDED: (0.07, 0.002),
            Level.SIMILAR: (0.03, 0.01),
            Level.DIFFERENT: (0.05, 0.976),
        },
        "birth_date": {
            Level.EXACT: (0.94, 1 / 25_000),
            Level.TRANSPOSED: (0.015, 1 / 25_000),
            Level.YEAR_MONTH: (0.02, 1 / 840),
            Level.DAY_MONTH: (0.01, 1 / 365),
            Level.DIFFERENT: (0.015, 0.9966),
        },
        "sex": {Level.EXACT: (0.98, 0.5), Level.DIFFERENT: (0.02, 0.5)},
        "district": {Level.EXACT: (0.8, 0.06), Level.DIFFERENT: (0.2, 0.94)},
        "phone": {Level.EXACT: (0.5, 0.0001), Level.DIFFERENT: (0.5, 0.9999)},
    },
    certain=28.0,
    probable=22.0,
    possible=16.0,
    prior=-20.0,  # log2 of 1 in about 1,000,000
)


# --- what of a Patient is compared -------------------------------------------------------------

# The words of a patronymic that say "son of" or "daughter of" (Azerbaijani oğlu, qızı; Russian
# оглы, кызы, and their Latin transliterations): Əli Vaqif oğlu is Əli, son of Vaqif.
_PATRONYMIC_WORDS = frozenset(
    {"oglu", "oğlu", "qizi", "qızı", "ogly", "kyzy", "gizi", "оглы", "кызы", "оглу", "гызы"}
)
_GENDERS = frozenset({"male", "female"})
_DIGITS = re.compile(r"\D+")
_NATIONAL_DIGITS = 9  # an Azerbaijani number without +994 or the trunk 0


@dataclass(frozen=True, slots=True)
class Name:
    """One name part as written (normalised: case and accents aside) and folded."""

    spellings: frozenset[str] = frozenset()
    folded: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.folded)


@dataclass(frozen=True, slots=True)
class Features:
    """What duplicate detection compares of a Patient."""

    fin: str | None = None
    family: Name = field(default_factory=Name)
    given: Name = field(default_factory=Name)
    patronymic: Name = field(default_factory=Name)
    birth_date: str | None = None  # YYYY, YYYY-MM or YYYY-MM-DD as the Patient gives it
    sex: str | None = None  # male or female; other and unknown compare as missing
    districts: frozenset[str] = frozenset()  # folded district, else city, of each address
    phones: frozenset[str] = frozenset()  # the last 9 digits of each phone or SMS number

    def as_json(self) -> dict[str, Any]:
        """A plain dict to store (from_json reads it back)."""
        return {
            "fin": self.fin,
            "family": [sorted(self.family.spellings), sorted(self.family.folded)],
            "given": [sorted(self.given.spellings), sorted(self.given.folded)],
            "patronymic": [sorted(self.patronymic.spellings), sorted(self.patronymic.folded)],
            "birth_date": self.birth_date,
            "sex": self.sex,
            "districts": sorted(self.districts),
            "phones": sorted(self.phones),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Features":
        """The Features as_json stored."""

        def name(pair: Any) -> Name:
            return Name(frozenset(pair[0]), frozenset(pair[1])) if pair else Name()

        return cls(
            fin=data.get("fin"),
            family=name(data.get("family")),
            given=name(data.get("given")),
            patronymic=name(data.get("patronymic")),
            birth_date=data.get("birth_date"),
            sex=data.get("sex"),
            districts=frozenset(data.get("districts") or ()),
            phones=frozenset(data.get("phones") or ()),
        )


# Names repeat (a tenth of the country is Məmmədov): each spelling is folded once a process.
_normalised = lru_cache(maxsize=200_000)(normalise_text)
_folded = lru_cache(maxsize=200_000)(fold_name)


def _name(parts: Iterable[str]) -> Name:
    spellings = {_normalised(part) for part in parts if part and part.strip()}
    folded = {_folded(part) for part in spellings}
    return Name(frozenset(spellings), frozenset(key for key in folded if key))


def given_and_patronymic(given: list[str]) -> tuple[str | None, str | None]:
    """The first name and the patronymic of HumanName.given: the patronymic is the second
    given name (Əli, Vaqif oğlu), or what follows the first word of a single given that ends
    in oğlu/qızı ("Əli Vaqif oğlu"); its oğlu/qızı is dropped."""
    if not given:
        return None, None
    words = given[0].split()
    if len(given) == 1 and len(words) > 2 and words[-1].casefold() in _PATRONYMIC_WORDS:
        first, rest = words[0], words[1:]
    else:
        first, rest = given[0], given[1].split() if len(given) > 1 else []
    kept = [word for word in rest if word.casefold() not in _PATRONYMIC_WORDS]
    return first, " ".join(kept) or None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    for item in value if isinstance(value, list) else ():
        if isinstance(item, dict):
            yield item


def national_phone(value: str) -> str | None:
    """The last 9 digits of a phone number (+994 50 123 45 67, 050 123 45 67 and 501234567
    are one number), or None for one too short to tell people apart."""
    digits = _DIGITS.sub("", value)
    return digits[-_NATIONAL_DIGITS:] if len(digits) >= _NATIONAL_DIGITS else None


def features(patient: Mapping[str, Any]) -> Features:
    """What is compared of a Patient: every spelling of its names (each HumanName, Latin and
    Cyrillic), its FIN, birth date, sex, districts and phone numbers."""
    families: list[str] = []
    givens: list[str] = []
    patronymics: list[str] = []
    for name in _dicts(patient.get("name")):
        families += _strings(name.get("family"))
        first, patronymic = given_and_patronymic(_strings(name.get("given")))
        givens += [first] if first else []
        patronymics += [patronymic] if patronymic else []
    fin = next(
        (
            identifier["value"]
            for identifier in _dicts(patient.get("identifier"))
            if identifier.get("system") == FIN_SYSTEM and isinstance(identifier.get("value"), str)
        ),
        None,
    )
    birth = patient.get("birthDate")
    gender = patient.get("gender")
    districts = set()
    for address in _dicts(patient.get("address")):
        place = address.get("district") or address.get("city")
        if isinstance(place, str) and _folded(place):
            districts.add(_folded(place))
    phones = {
        number
        for point in _dicts(patient.get("telecom"))
        if point.get("system") in ("phone", "sms") and isinstance(point.get("value"), str)
        for number in [national_phone(point["value"])]
        if number
    }
    return Features(
        fin=fin,
        family=_name(families),
        given=_name(givens),
        patronymic=_name(patronymics),
        birth_date=birth if isinstance(birth, str) and date_span(birth) else None,
        sex=gender if gender in _GENDERS else None,
        districts=frozenset(districts),
        phones=frozenset(phones),
    )


# --- agreement ---------------------------------------------------------------------------------


def name_level(a: Name, b: Name) -> str:
    """The closest agreement of any spelling of one name with any of the other."""
    if not a or not b:
        return Level.MISSING
    if a.spellings & b.spellings:
        return Level.EXACT
    if a.folded & b.folded:
        return Level.FOLDED
    best = max(JaroWinkler.normalized_similarity(x, y) for x in a.folded for y in b.folded)
    return Level.SIMILAR if best >= SIMILAR_NAMES else Level.DIFFERENT


def date_level(a: str | None, b: str | None) -> str:
    """Birth dates: the same; day and month swapped (a date written the other way round);
    the same year and month; the same day and month; different. Partial dates agree only as
    far as both go (1985 and 1985-03-02 agree on the year: YEAR_MONTH is the closest level)."""
    if not a or not b:
        return Level.MISSING
    if a == b:
        return Level.EXACT
    ya, ma, da = [*a.split("-"), None, None][:3]
    yb, mb, db = [*b.split("-"), None, None][:3]
    if ya == yb and da and db and ma == db and da == mb:
        return Level.TRANSPOSED
    if ya == yb and (ma is None or mb is None or ma == mb):
        return Level.YEAR_MONTH
    if da and db and ma == mb and da == db:
        return Level.DAY_MONTH
    return Level.DIFFERENT


def _set_level(a: frozenset[str], b: frozenset[str]) -> str:
    if not a or not b:
        return Level.MISSING
    return Level.EXACT if a & b else Level.DIFFERENT


def _value_level(a: str | None, b: str | None) -> str:
    if not a or not b:
        return Level.MISSING
    return Level.EXACT if a == b else Level.DIFFERENT


def agreement(a: Features, b: Features) -> dict[str, str]:
    """The level of each field of FIELDS between two Patients."""
    return {
        "fin": _value_level(a.fin, b.fin),
        "family": name_level(a.family, b.family),
        "given": name_level(a.given, b.given),
        "patronymic": name_level(a.patronymic, b.patronymic),
        "birth_date": date_level(a.birth_date, b.birth_date),
        "sex": _value_level(a.sex, b.sex),
        "district": _set_level(a.districts, b.districts),
        "phone": _set_level(a.phones, b.phones),
    }


@dataclass(frozen=True, slots=True)
class Match:
    """How well two Patients match: the agreement of each field, the summed weight, the match
    probability (0..1, Bundle.entry.search.score) and the grade."""

    levels: Mapping[str, str]
    weight: float
    score: float
    grade: Grade | None  # None: a non-match, below the review band


def compare(a: Features, b: Features, model: MatchModel = DEFAULT_MODEL) -> Match:
    """Two Patients compared. The FIN decides alone when both have one: the State Register
    gives each person one for life (citizens.rules), so the same FIN is the same person and
    two FINs two people; the weight of the other fields is kept to show the reviewer."""
    levels = agreement(a, b)
    weight = sum(model.weight(name, level) for name, level in levels.items() if name != "fin")
    if levels["fin"] == Level.EXACT:
        return Match(levels, weight, 1.0, Grade.CERTAIN)
    if levels["fin"] == Level.DIFFERENT:
        return Match(levels, weight, 0.0, Grade.CERTAINLY_NOT)
    score = 1 / (1 + 2 ** -(weight + model.prior)) if weight + model.prior > -1000 else 0.0
    return Match(levels, weight, score, grade_of(weight, model))


def grade_of(weight: float, model: MatchModel = DEFAULT_MODEL) -> Grade | None:
    """The grade of a weight without a FIN to decide: certain, probable, possible, or None
    below the review band."""
    if weight >= model.certain:
        return Grade.CERTAIN
    if weight >= model.probable:
        return Grade.PROBABLE
    if weight >= model.possible:
        return Grade.POSSIBLE
    return None


def in_review_band(match: Match) -> bool:
    """A pair a person must look at: graded by weight (no FIN decided it) at or above
    possible. Certain pairs are reviewed too: nothing is merged without a person's decision,
    since a wrong merge puts one person's data in another's record."""
    return match.grade in (Grade.CERTAIN, Grade.PROBABLE, Grade.POSSIBLE) and (
        match.levels["fin"] == Level.MISSING
    )


# --- blocking ------------------------------------------------------------------------------------


def _years(birth_date: str | None) -> str | None:
    return birth_date[:4] if birth_date else None


def _full(birth_date: str | None) -> str | None:
    return birth_date if birth_date and len(birth_date) == 10 else None


def blocking_keys(f: Features) -> set[str]:
    """The keys a Patient is filed under: a candidate shares at least one with the record
    matched. Each is selective (tens of citizens at most in a country of 10 million), and
    together they catch every kind of difference the weights forgive but one at a time:
    - gfy: first name, family name (folded) and birth year: dates mistyped;
    - fd, gd: family or first name (folded) and full birth date: the other name changed;
    - ds: full birth date and sex: both names mangled;
    - gfa: first and family name and district: no birth date;
    - ph: a phone number; fin: the FIN.
    """
    keys: set[str] = set()
    year, full = _years(f.birth_date), _full(f.birth_date)
    for family in f.family.folded:
        for given in f.given.folded:
            if year:
                keys.add(f"gfy|{given}|{family}|{year}")
        if full:
            keys.add(f"fd|{family}|{full}")
    if full:
        keys.update(f"gd|{given}|{full}" for given in f.given.folded)
        if f.sex:
            keys.add(f"ds|{full}|{f.sex}")
    keys.update(
        f"gfa|{given}|{family}|{district}"
        for family in f.family.folded
        for given in f.given.folded
        for district in f.districts
    )
    keys.update(f"ph|{phone}" for phone in f.phones)
    if f.fin:
        keys.add(f"fin|{f.fin}")
    return keys


def transposed(birth_date: str | None) -> str | None:
    """The date with day and month swapped, where that is a date too."""
    full = _full(birth_date)
    if full is None:
        return None
    year, month, day = full.split("-")
    if day == month or int(day) > 12:
        return None
    return f"{year}-{day}-{month}"


def query_keys(f: Features, *, broad: bool = True) -> set[str]:
    """The keys a record to match looks up: its own, those of its birth date with day and
    month swapped, and, where it says no sex, those of both; without the birth date and sex
    keys (tens of citizens each, where the others have a few) unless broad."""
    keys = _query_keys(f)
    return keys if broad else {key for key in keys if not key.startswith("ds|")}


def _query_keys(f: Features) -> set[str]:
    keys = blocking_keys(f)
    if f.birth_date:  # gfa keys are for records without one: a name is common in a district
        keys = {key for key in keys if not key.startswith("gfa|")}
    swapped = transposed(f.birth_date)
    if swapped:
        keys |= blocking_keys(replace(f, birth_date=swapped, districts=frozenset()))
    if f.sex is None and _full(f.birth_date):
        for sex in _GENDERS:
            keys |= blocking_keys(replace(f, sex=sex, districts=frozenset()))
            if swapped:
                keys |= blocking_keys(
                    replace(f, sex=sex, birth_date=swapped, districts=frozenset())
                )
    return keys


def key_hash(key: str) -> int:
    """A blocking key as the signed 64-bit integer the database indexes (BLAKE2b): a fixed
    8 bytes whatever the names' length; a collision only adds a candidate, which the weights
    then reject."""
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


# --- merge ---------------------------------------------------------------------------------------

REPLACED_BY = "replaced-by"  # R4 valueset-link-type: the other Patient is the surviving record
REPLACES = "replaces"  # ... this Patient is the survivor of the other


def linked(patient: Mapping[str, Any], link_type: str) -> list[str]:
    """The ids of the local Patients the Patient links to with that type (Patient.link)."""
    found = []
    for link in _dicts(patient.get("link")):
        other = link.get("other")
        reference = other.get("reference") if isinstance(other, dict) else None
        if link.get("type") == link_type and isinstance(reference, str):
            kind, _, fhir_id = reference.partition("/")
            if kind == "Patient" and fhir_id and "/" not in fhir_id:
                found.append(fhir_id)
    return found


def replaced_by(patient: Mapping[str, Any]) -> str | None:
    """The Patient this one was merged into, or None."""
    survivors = linked(patient, REPLACED_BY)
    return survivors[0] if survivors else None


def deceased(patient: Mapping[str, Any]) -> bool:
    """The Patient is recorded as dead (deceasedBoolean true or a deceasedDateTime)."""
    return patient.get("deceasedBoolean") is True or "deceasedDateTime" in patient


def with_link(patient: Mapping[str, Any], link_type: str, other: str) -> dict[str, Any]:
    """The Patient with a link of that type to Patient/other added (R4 Patient.link)."""
    link = {"other": {"reference": f"Patient/{other}"}, "type": link_type}
    return {**patient, "link": [*_dicts(patient.get("link")), link]}


def without_link(patient: Mapping[str, Any], link_type: str, other: str) -> dict[str, Any]:
    """The Patient without its links of that type to Patient/other."""
    kept = [
        link
        for link in _dicts(patient.get("link"))
        if not (
            link.get("type") == link_type
            and isinstance(link.get("other"), dict)
            and link["other"].get("reference") == f"Patient/{other}"
        )
    ]
    changed = {key: value for key, value in patient.items() if key != "link"}
    if kept:
        changed["link"] = kept
    return changed


def fins(patient: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The Patient's FIN Identifiers (citizens.rules: one at most)."""
    return [i for i in _dicts(patient.get("identifier")) if i.get("system") == FIN_SYSTEM]


def without_fins(patient: Mapping[str, Any]) -> dict[str, Any]:
    """The Patient without its FIN Identifiers."""
    kept = [i for i in _dicts(patient.get("identifier")) if i.get("system") != FIN_SYSTEM]
    changed = {key: value for key, value in patient.items() if key != "identifier"}
    if kept:
        changed["identifier"] = kept
    return changed


def with_identifiers(patient: Mapping[str, Any], added: list[dict[str, Any]]) -> dict[str, Any]:
    """The Patient with more Identifiers."""
    return {**patient, "identifier": [*_dicts(patient.get("identifier")), *added]}


Path = tuple[str | int, ...]


def reference_paths(resource: Any, reference: str, at: Path = ()) -> list[Path]:
    """Where in a resource a Reference reads exactly `reference` (Patient/id): the path of
    keys and list positions to each such Reference, contained resources and extensions too.
    A versioned reference (Patient/id/_history/2) names one version and is left alone."""
    found: list[Path] = []
    if isinstance(resource, dict):
        if resource.get("reference") == reference:
            found.append(at)
        for key, value in resource.items():
            if isinstance(value, dict | list):
                found += reference_paths(value, reference, (*at, key))
    elif isinstance(resource, list):
        for index, value in enumerate(resource):
            if isinstance(value, dict | list):
                found += reference_paths(value, reference, (*at, index))
    return found


def _at(resource: Any, path: Path) -> Any:
    for step in path:
        if isinstance(step, int):
            if not isinstance(resource, list) or step >= len(resource):
                return None
        elif not isinstance(resource, dict):
            return None
        resource = resource[step] if isinstance(step, int) else resource.get(step)
    return resource


def moved_references(
    resource: dict[str, Any], paths: Iterable[Path], old: str, new: str
) -> tuple[dict[str, Any], list[Path]]:
    """A copy of the resource whose References at paths that read old read new instead, and
    the paths it changed (those that no longer read old are left as they are)."""
    changed = copy.deepcopy(resource)
    moved = []
    for path in paths:
        target = _at(changed, tuple(path))
        if isinstance(target, dict) and target.get("reference") == old:
            target["reference"] = new
            moved.append(tuple(path))
    return changed, moved
