"""What the "Find a citizen" page takes and shows, as typed values built by pure functions."""

import re
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import StringConstraints

from shafa.registries.citizens.rules import (
    FIN_LENGTH,
    FIN_PATTERN,
    FIN_SYSTEM,
    expected_script,
    name_language,
)

MAX_QUERY = 100  # a FIN or a few names
MAX_WORDS = 4  # names matched at once (family, given, patronymic, and one more)
Query = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_QUERY)]

# The scripts of the page's languages: a Russian page shows a name's Cyrillic spelling first.
_PAGE_SCRIPTS = {"az": "LATIN", "en": "LATIN", "ru": "CYRILLIC"}
# A word of a name: letters, then letters, digits, hyphens and apostrophes (', U+2019, U+02BC).
_WORD = re.compile("[^\\W\\d_][\\w'\u2019\u02bc-]*")


@dataclass(frozen=True, slots=True)
class Wanted:
    """A search as typed: a FIN, names, or both when the text could be either."""

    fin: str | None
    names: tuple[str, ...]


def wanted(text: str) -> Wanted:
    """What a search text asks for: a FIN if it is shaped as one (spaces and case aside), and
    the words that could be names (a word of 7 capitals and digits may be either)."""
    squeezed = "".join(text.split()).upper()
    fin = squeezed if len(squeezed) == FIN_LENGTH and FIN_PATTERN.fullmatch(squeezed) else None
    names = tuple(_WORD.findall(text))[:MAX_WORDS]
    if fin is not None and any(char.isdigit() for char in fin):
        names = ()  # a name has no digits
    return Wanted(fin, names)


@dataclass(frozen=True, slots=True)
class CitizenRow:
    """One found citizen as the page lists them."""

    patient_id: str
    fin: str | None
    name: str
    birth_date: str | None
    sex: str | None  # Patient.gender: male, female, other, unknown
    district: str | None


def _spelled(name: dict[str, Any]) -> str:
    text = name.get("text")
    if isinstance(text, str) and text.strip():
        return text.strip()
    parts = [name.get("family"), *(name.get("given") or [])]
    return " ".join(part for part in parts if isinstance(part, str) and part)


def display_name(patient: dict[str, Any], language: str) -> str:
    """The name to show on a page in language: in its script if the Patient has a spelling
    in it (Cyrillic on a Russian page), else the official Azerbaijani one, else any."""
    names = [n for n in patient.get("name") or () if isinstance(n, dict) and _spelled(n)]
    if not names:
        return ""
    script = _PAGE_SCRIPTS.get(language, "LATIN")

    def preference(name: dict[str, Any]) -> tuple[bool, bool, bool]:
        in_script = expected_script(name_language(name)) == script
        official = name.get("use") in (None, "official", "usual")
        return (not in_script, not official, name.get("use") == "old")

    return _spelled(min(names, key=preference))


def _first(items: Any) -> dict[str, Any] | None:
    found = [item for item in items or () if isinstance(item, dict)]
    homes = [item for item in found if item.get("use") == "home"]
    chosen = homes or found
    return chosen[0] if chosen else None


def citizen_row(patient: dict[str, Any], language: str) -> CitizenRow:
    """The page's row for a Patient: FIN, name, birth date, sex and district (the home
    address's district, else its city: Baku and the other cities rank with districts)."""
    fin = next(
        (
            i.get("value")
            for i in patient.get("identifier") or ()
            if isinstance(i, dict) and i.get("system") == FIN_SYSTEM
        ),
        None,
    )
    address = _first(patient.get("address"))
    district = None
    if address is not None:
        district = address.get("district") or address.get("city")
    return CitizenRow(
        patient_id=str(patient.get("id", "")),
        fin=fin if isinstance(fin, str) else None,
        name=display_name(patient, language),
        birth_date=patient.get("birthDate"),
        sex=patient.get("gender"),
        district=district if isinstance(district, str) else None,
    )
