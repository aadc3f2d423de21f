# Azerbaijani and Russian letters are this module's subject.

"""Synthetic citizens for the master patient index: deterministic Patients with Azerbaijani
names (a surname's share falling with its rank, as Zipf's law has it), patronymics, birth dates,
sexes, districts, phones and FINs, and near-duplicates of them as another clinic would have
registered the same person: a passport's Latin spelling, a Russian record in Cyrillic, a typo,
day and month swapped, another district. Nothing here is anyone real.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION

SURNAMES = [
    "Məmmədov",
    "Əliyev",
    "Həsənov",
    "Hüseynov",
    "Quliyev",
    "İsmayılov",
    "Abbasov",
    "Babayev",
    "Cəfərov",
    "Rzayev",
    "Süleymanov",
    "Nəsirov",
    "Kərimov",
    "Orucov",
    "Qasımov",
    "Əhmədov",
    "Əsgərov",
    "Həşimov",
    "Mustafayev",
    "İbrahimov",
    "Bayramov",
    "Əzizov",
    "Məlikov",
    "Rəhimov",
    "Vəliyev",
    "Xəlilov",
    "Qurbanov",
    "Novruzov",
    "Sadıqov",
    "Mirzəyev",
    "Paşayev",
    "Hacıyev",
    "Tağıyev",
    "Nəbiyev",
    "Zeynalov",
    "Şükürov",
    "Salmanov",
    "Axundov",
    "Səfərov",
    "Əkbərov",
    "Bağırov",
    "Hümbətov",
    "Qədirov",
    "Musayev",
    "Şirinov",
    "Yusifov",
    "Allahverdiyev",
    "Həmidov",
    "Kazımov",
    "Səmədov",
]
MALE = [
    "Əli",
    "Məhəmməd",
    "Hüseyn",
    "Həsən",
    "Elvin",
    "Orxan",
    "Rəşad",
    "Tural",
    "Kamran",
    "Rauf",
    "Elçin",
    "Vüqar",
    "Anar",
    "Fərid",
    "Nicat",
    "Ramil",
    "Samir",
    "Cavid",
    "İlqar",
    "Zaur",
    "Emin",
    "Nurlan",
    "Ruslan",
    "Murad",
    "Fuad",
    "Elnur",
    "Rəhim",
    "Vaqif",
    "Tofiq",
    "İlham",
    "Şahin",
    "Xəyal",
    "Rövşən",
    "Namiq",
    "Ceyhun",
    "Rüstəm",
    "Aqil",
    "Elşən",
    "Mahir",
    "Səbuhi",
]
FEMALE = [
    "Leyla",
    "Aysel",
    "Günay",
    "Nigar",
    "Səbinə",
    "Aynur",
    "Könül",
    "Sevinc",
    "Nərgiz",
    "Türkan",
    "Gülnar",
    "Fidan",
    "Lalə",
    "Aygün",
    "Ülviyyə",
    "Şəbnəm",
    "Aidə",
    "Zəhra",
    "Məryəm",
    "Nurlana",
    "Vüsalə",
    "Xədicə",
    "Fatimə",
    "Aytən",
    "Samirə",
    "Röya",
    "Jalə",
    "Sona",
    "Elnarə",
    "Arzu",
    "Gülşən",
    "Nailə",
    "Kəmalə",
    "Səidə",
    "Tamilla",
    "Validə",
    "Rəna",
    "Zərifə",
    "Afət",
    "Mələk",
]
DISTRICTS = [
    "Yasamal",
    "Nəsimi",
    "Nərimanov",
    "Binəqədi",
    "Xətai",
    "Səbail",
    "Suraxanı",
    "Sabunçu",
    "Qaradağ",
    "Nizami",
    "Xəzər",
    "Sumqayıt",
    "Gəncə",
    "Mingəçevir",
    "Şəki",
    "Lənkəran",
    "Quba",
    "Şirvan",
    "Naxçıvan",
    "Bərdə",
    "Şamaxı",
    "Qəbələ",
    "Zaqatala",
    "Masallı",
    "Salyan",
    "Ağdam",
    "Ağcabədi",
    "İmişli",
    "Göyçay",
    "Şəmkir",
]
_FIN_ALPHABET = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # a FIN's letters: no I, no O
_MOBILE = ("50", "51", "55", "70", "77", "99", "10")
_FIRST_BIRTH = date(1935, 1, 1)
_BIRTH_DAYS = (date(2025, 12, 31) - _FIRST_BIRTH).days
VARIATIONS = ("passport", "russian", "typo", "swapped", "moved")


def _zipf(count: int) -> list[float]:
    # An exponent under 1: the first name or surname is about a tenth of its sex's people, as
    # the commonest are in Azerbaijan; these lists are shorter than a country's.
    return [1 / rank**0.7 for rank in range(1, count + 1)]


_SURNAME_WEIGHTS = _zipf(len(SURNAMES))
_MALE_WEIGHTS = _zipf(len(MALE))
_FEMALE_WEIGHTS = _zipf(len(FEMALE))
_DISTRICT_WEIGHTS = [4.0] * 11 + [1.0] * (len(DISTRICTS) - 11)  # Baku's districts are large


def fin(number: int) -> str:
    """A FIN of its own for each number below 34**7 (a bijection: times a prime coprime to it)."""
    value = (number * 1_000_003) % 34**7
    letters = []
    for _ in range(7):
        value, digit = divmod(value, 34)
        letters.append(_FIN_ALPHABET[digit])
    return "".join(reversed(letters))


@dataclass(frozen=True)
class Person:
    """One synthetic person, as the population register knows them."""

    number: int
    family: str
    given: str
    patronymic: str
    female: bool
    birth: date
    district: str
    phone: str | None


def person(number: int, seed: int = 1) -> Person:
    """The person of that number (the same whenever asked)."""
    rng = random.Random(seed * 10_000_019 + number)
    female = rng.random() < 0.5
    surname = rng.choices(SURNAMES, _SURNAME_WEIGHTS)[0]
    given = rng.choices(FEMALE if female else MALE, _FEMALE_WEIGHTS if female else _MALE_WEIGHTS)
    father = rng.choices(MALE, _MALE_WEIGHTS)[0]
    phone = None
    if rng.random() < 0.6:
        phone = f"+994 {rng.choice(_MOBILE)} {rng.randrange(10**7):07d}"
    return Person(
        number=number,
        family=surname + ("a" if female else ""),
        given=given[0],
        patronymic=father,
        female=female,
        birth=_FIRST_BIRTH + timedelta(days=rng.randrange(_BIRTH_DAYS)),
        district=rng.choices(DISTRICTS, _DISTRICT_WEIGHTS)[0],
        phone=phone,
    )


def patient_id(number: int) -> str:
    """The id of a person's Patient."""
    return f"c{number}"


def patient(p: Person, *, with_fin: bool = True, fhir_id: str | None = None) -> dict[str, Any]:
    """The person's Patient as the registry holds it."""
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": fhir_id or patient_id(p.number),
        "active": True,
        "name": [
            {
                "use": "official",
                "family": p.family,
                "given": [p.given, f"{p.patronymic} {'qızı' if p.female else 'oğlu'}"],
            }
        ],
        "gender": "female" if p.female else "male",
        "birthDate": p.birth.isoformat(),
        "address": [{"use": "home", "district": p.district, "country": "AZ"}],
    }
    if with_fin:
        resource["identifier"] = [{"use": "official", "system": FIN_SYSTEM, "value": fin(p.number)}]
    if p.phone:
        resource["telecom"] = [{"system": "phone", "value": p.phone, "use": "mobile"}]
    return resource


# Azerbaijani Latin as a passport office writes it for foreign readers (ə a, ş sh...).
_PASSPORT = str.maketrans(
    {"ə": "a", "Ə": "A", "ş": "sh", "Ş": "Sh", "ç": "ch", "Ç": "Ch", "ğ": "gh", "x": "kh"}
    | {"X": "Kh", "ı": "i", "İ": "I", "ü": "u", "Ü": "U", "ö": "o", "Ö": "O", "q": "g", "Q": "G"}
    | {"c": "j", "C": "J"}
)
# ... and in Russian letters, as Soviet-era records wrote it.
_RUSSIAN = {
    "a": "а", "b": "б", "c": "дж", "ç": "ч", "d": "д", "e": "е", "ə": "а", "f": "ф", "g": "г",
    "ğ": "г", "h": "г", "x": "х", "ı": "ы", "i": "и", "j": "ж", "k": "к", "q": "г", "l": "л",
    "m": "м", "n": "н", "o": "о", "ö": "ё", "p": "п", "r": "р", "s": "с", "ş": "ш", "t": "т",
    "u": "у", "ü": "ю", "v": "в", "y": "й", "z": "з",
}  # fmt: skip


def russian(name: str) -> str:
    """An Azerbaijani name in Russian letters: Məmmədov Мамедов, Hüseynov Гусейнов."""
    out = ""
    for char in name.lower():
        letter = _RUSSIAN.get(char, char)
        if out and letter == out[-1]:
            continue  # doubled letters once: Məmmədov, Мамедов
        if letter == "е" and out.endswith("й") and len(out) > 1 and out[-2] in "аеиоуы":
            out = out[:-1]  # -iyev is -иев
        out += letter
    return out[:1].upper() + out[1:]


def _typo(rng: random.Random, name: str) -> str:
    """One letter dropped or two neighbours swapped, not the first."""
    at = rng.randrange(1, len(name) - 1)
    if rng.random() < 0.5:
        return name[:at] + name[at + 1 :]
    return name[:at] + name[at + 1] + name[at] + name[at + 2 :]


def near_duplicate(p: Person, variation: str, fhir_id: str, rng: random.Random) -> dict[str, Any]:
    """The same person as another clinic registered them, without the FIN (which the registry
    would refuse twice), differing in one way."""
    resource = patient(p, with_fin=False, fhir_id=fhir_id)
    name = resource["name"][0]
    if variation == "passport":
        name["family"] = p.family.translate(_PASSPORT)
        name["given"] = [p.given.translate(_PASSPORT)]
    elif variation == "russian":
        resource["name"] = [
            {
                "extension": [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}],
                "family": russian(p.family),
                "given": [russian(p.given)],
            }
        ]
    elif variation == "typo":
        if rng.random() < 0.5:
            name["family"] = _typo(rng, p.family)
        else:
            name["given"] = [_typo(rng, p.given) if len(p.given) > 3 else p.given]
    elif variation == "swapped" and p.birth.day <= 12 and p.birth.day != p.birth.month:
        resource["birthDate"] = date(p.birth.year, p.birth.day, p.birth.month).isoformat()
    elif variation == "moved":
        resource["address"] = [{"use": "home", "district": rng.choice(DISTRICTS), "country": "AZ"}]
    if rng.random() < 0.5:
        resource.pop("telecom", None)
    return resource


def registry(count: int, seed: int = 1, duplicates: float = 0.02) -> Iterator[dict[str, Any]]:
    """count Patients: the people numbered 1 to count (Patient c<number>), but for a share of
    numbers a near-duplicate of an earlier person instead (Patient d<number>, a copy of the
    person duplicate_of(number))."""
    for number in range(1, count + 1):
        if is_duplicate(number, seed, duplicates):
            rng = random.Random(seed * 17 + number)
            variation = VARIATIONS[number % len(VARIATIONS)]
            original = person(duplicate_of(number, seed), seed)
            yield near_duplicate(original, variation, f"d{number}", rng)
        else:
            yield patient(person(number, seed))


def is_duplicate(number: int, seed: int = 1, duplicates: float = 0.02) -> bool:
    """Whether registry() makes that number a near-duplicate rather than a person of its own."""
    return number > 10 and random.Random(seed * 31 + number).random() < duplicates


def duplicate_of(number: int, seed: int = 1) -> int:
    """The earlier person a near-duplicate numbered so copies."""
    return random.Random(seed * 7_919 + number).randrange(1, number)
