# Azerbaijani place names keep their letters.
# ruff: noqa: RUF003
"""The citizens registry's rules over a Patient, as pure functions: each returns the issues a
resource breaks (none when it keeps the rule), naming the element as a FHIRPath expression.

The store refuses a write, and $validate reports, with 422 and every issue (fhir.validation).
"""

import calendar
import re
import unicodedata
from collections.abc import Iterator
from datetime import date
from typing import Any

from shafa.fhir.errors import Issue
from shafa.terminology import admin_division

# FIN (fərdi identifikasiya nömrəsi), the personal identification number the State Register of
# Population assigns to every citizen and resident for life, never reused (Cabinet of
# Ministers of the Republic of Azerbaijan, Resolution No. 92 of 19 May 2005, "Procedure for
# assignment of personal identification number"). It is 7 characters, digits and letters of
# the English alphabet except I and O, as the identity card explains its "FİN" field: the
# register leaves out the letters read as 1 and 0, so a FIN with an I or an O is a misreading
# of one that has a 1 or a 0, and refusing it keeps the wrong person from being registered.
# Patient.identifier carries it under this system.
FIN_SYSTEM = "https://fhir.shafa.az/sid/fin"
FIN_LENGTH = 7
FIN_PATTERN = re.compile(r"[0-9A-HJ-NP-Z]{7}")

# A name's language (BCP 47), where a name repeats in several (R4 extension-language.html).
LANGUAGE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/language"
_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")
_NAME_PARTS = ("family", "given", "prefix", "suffix", "text")
# The script a language tag implies where it names none: Azerbaijani is written in Latin
# letters since 2001 (the Law "On the State Language", 2002); these are written in Cyrillic.
_LATIN_LANGUAGES = frozenset({"az", "en", "tr"})
_CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg"})
_SCRIPTS = {"latn": "LATIN", "cyrl": "CYRILLIC"}

# ITU-T E.164: at most 15 digits with the country code. Azerbaijan's is 994, followed by
# a 9-digit national number (an area or mobile operator code and the subscriber's number).
_PHONE = re.compile(r"\+?[0-9 ()./-]+")
_PHONE_MIN_DIGITS = 3  # the shortest numbers are the emergency services' (112, 103)
_E164_DIGITS = 15
_AZ_PHONE = ("994", 9)
_PHONE_SYSTEMS = frozenset({"phone", "sms", "fax"})

# Azərpoçt's postal codes: AZ and four digits, such as AZ1000 (Bakı) or AZ 2000 (Gəncə).
_AZ_POSTAL_CODE = re.compile(r"AZ ?[0-9]{4}")
_AZERBAIJAN = frozenset({"az", "aze", "azerbaijan", "azərbaycan", "азербайджан"})
# Where an address lies on the official administrative division (terminology.admin_division),
# coded: R4 Address has only free-text city and district, so an extension carries the code.
ADMIN_DIVISION_EXTENSION = "https://fhir.shafa.az/StructureDefinition/admin-division"
# An economic region groups districts; nobody lives at one.
_RESIDENCE_KINDS = frozenset({"autonomous-republic", "city", "district", "city-district"})


def patient_issues(patient: dict[str, Any], today: date) -> list[Issue]:
    """Every rule of the registry a Patient breaks; today is the date in Azerbaijan."""
    return [
        *fin_issues(patient),
        *life_issues(patient, today),
        *name_issues(patient),
        *phone_issues(patient),
        *address_issues(patient),
    ]


def _listed(resource: dict[str, Any], element: str) -> Iterator[tuple[int, dict[str, Any]]]:
    items = resource.get(element)
    for index, item in enumerate(items if isinstance(items, list) else ()):
        if isinstance(item, dict):
            yield index, item


def fin_problem(value: str) -> str | None:
    """What is wrong with a FIN, said so it can be put right; None if it is one."""
    if FIN_PATTERN.fullmatch(value):
        return None
    if len(value) != FIN_LENGTH:
        return f"has {len(value)} characters, not {FIN_LENGTH}"
    if FIN_PATTERN.fullmatch(value.upper()):
        return f"must be written in capitals: {value.upper()}"
    if set(value) & {"I", "O"} and FIN_PATTERN.fullmatch(value.replace("I", "1").replace("O", "0")):
        return "has the letter I or O, which no FIN has: read them as the digits 1 and 0"
    return "may hold only digits and Latin capital letters (no I or O)"


def fin_issues(patient: dict[str, Any]) -> list[Issue]:
    """A FIN is 7 digits and capital letters without I and O; a Patient has at most one."""
    issues = []
    held: list[int] = []
    for index, identifier in _listed(patient, "identifier"):
        if identifier.get("system") != FIN_SYSTEM:
            continue
        where = f"Patient.identifier[{index}]"
        held.append(index)
        value = identifier.get("value")
        if not isinstance(value, str):
            message = f"{where} has the FIN system but no FIN value"
            issues.append(Issue("required", message, expression=(f"{where}.value",)))
            continue
        problem = fin_problem(value)
        if problem is not None:
            issues.append(
                Issue(
                    "value",
                    f"FIN {value!r} {problem} (a FIN is {FIN_LENGTH} digits and Latin capital "
                    "letters, such as 5ABC123)",
                    expression=(f"{where}.value",),
                )
            )
    if len(held) > 1:
        where = f"Patient.identifier[{held[1]}]"
        issues.append(
            Issue(
                "business-rule",
                "A person has one FIN for life: a Patient carries one identifier of the FIN "
                f"system ({FIN_SYSTEM}), this one is the second",
                expression=(where,),
            )
        )
    return issues


_DATE = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?")


def date_span(text: Any) -> tuple[date, date] | None:
    """The first and last day a FHIR date or dateTime (as written, before any time) may be."""
    match = _DATE.match(text) if isinstance(text, str) else None
    if match is None:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    assert year is not None
    try:
        if month is None:
            return date(year, 1, 1), date(year, 12, 31)
        if day is None:
            return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
        return date(year, month, day), date(year, month, day)
    except ValueError:  # no such day; the structure check refuses it before the rules run
        return None


def life_issues(patient: dict[str, Any], today: date) -> list[Issue]:
    """No birth or death after today; no death before birth."""
    issues = []
    birth = date_span(patient.get("birthDate"))
    death = date_span(patient.get("deceasedDateTime"))
    if birth is not None and birth[0] > today:
        issues.append(
            Issue(
                "business-rule",
                f"Birth date {patient['birthDate']} is after today ({today.isoformat()})",
                expression=("Patient.birthDate",),
            )
        )
    if death is not None and death[0] > today:
        issues.append(
            Issue(
                "business-rule",
                f"Date of death {patient['deceasedDateTime']} is after today ({today.isoformat()})",
                expression=("Patient.deceasedDateTime",),
            )
        )
    if birth is not None and death is not None and death[1] < birth[0]:
        issues.append(
            Issue(
                "business-rule",
                f"Date of death {patient['deceasedDateTime']} is before the birth date "
                f"{patient['birthDate']}",
                expression=("Patient.deceasedDateTime",),
            )
        )
    return issues


def name_language(name: dict[str, Any]) -> str | None:
    """The language a HumanName is written in, from the language extension; None if unsaid."""
    for extension in name.get("extension") or ():
        if isinstance(extension, dict) and extension.get("url") == LANGUAGE_EXTENSION:
            code = extension.get("valueCode")
            return code if isinstance(code, str) else ""
    return None


def expected_script(language: str | None) -> str | None:
    """The script (LATIN, CYRILLIC) a name in this language is written in; a name that says
    no language is the Azerbaijani one, in Latin letters. None where the registry cannot tell."""
    if language is None:
        return "LATIN"
    subtags = language.lower().split("-")
    for subtag in subtags[1:]:
        if len(subtag) == 4 and subtag.isalpha():  # a script subtag (BCP 47 §2.2.3)
            return _SCRIPTS.get(subtag)
    if subtags[0] in _LATIN_LANGUAGES:
        return "LATIN"
    if subtags[0] in _CYRILLIC_LANGUAGES:
        return "CYRILLIC"
    return None


def _foreign_letters(text: str, script: str) -> str:
    """The letters of text not of the script, in order, each once."""
    found = dict.fromkeys(
        char
        for char in text
        if unicodedata.category(char).startswith("L")
        and not unicodedata.name(char, "").startswith(script)
    )
    return "".join(found)


def _name_parts(name: dict[str, Any], where: str) -> Iterator[tuple[str, str]]:
    for part in _NAME_PARTS:
        value = name.get(part)
        if isinstance(value, str):
            yield f"{where}.{part}", value
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, str):
                    yield f"{where}.{part}[{index}]", item


def name_issues(patient: dict[str, Any]) -> list[Issue]:
    """A name is written in the script of its language: the Azerbaijani name (no language
    said) in Latin letters, a Russian or Azerbaijani Cyrillic spelling in Cyrillic ones, each
    spelling a HumanName of its own with the language extension."""
    issues = []
    for index, name in _listed(patient, "name"):
        where = f"Patient.name[{index}]"
        language = name_language(name)
        if language is not None and not _LANGUAGE_TAG.fullmatch(language):
            issues.append(
                Issue(
                    "value",
                    f"{where}: language {language!r} is not a BCP 47 language tag "
                    "(such as az, ru or az-Cyrl)",
                    expression=(f"{where}.extension",),
                )
            )
            continue
        script = expected_script(language)
        if script is None:
            continue
        for path, text in _name_parts(name, where):
            foreign = _foreign_letters(text, script)
            if foreign:
                said = f"in {language}" if language else "with no language said (Azerbaijani)"
                issues.append(
                    Issue(
                        "value",
                        f"{path} {text!r} is a name {said}, so it is written in "
                        f"{script.title()} letters, not {foreign!r}. Give a spelling in "
                        "another script a name of its own with the language extension "
                        f"({LANGUAGE_EXTENSION}, such as ru or az-Cyrl)",
                        expression=(path,),
                    )
                )
    return issues


def phone_problem(value: str) -> str | None:
    """What is wrong with a phone number, or None: digits with the usual separators, an
    optional leading +, at most 15 digits (E.164); a +994 number has 9 digits after it."""
    if not _PHONE.fullmatch(value.strip()):
        return "may hold only digits, spaces, ( ) - . / and a leading +"
    digits = "".join(char for char in value if char.isdigit())
    if len(digits) < _PHONE_MIN_DIGITS:
        return f"has {len(digits)} digits; a phone number has at least {_PHONE_MIN_DIGITS}"
    if len(digits) > _E164_DIGITS:
        return f"has {len(digits)} digits; a phone number has at most {_E164_DIGITS} (E.164)"
    country, national = _AZ_PHONE
    if value.strip().startswith("+" + country) and len(digits) - len(country) != national:
        return (
            f"has {len(digits) - len(country)} digits after +{country}; an Azerbaijani "
            f"number has {national}, such as +994 50 123 45 67"
        )
    return None


def phone_issues(patient: dict[str, Any]) -> list[Issue]:
    """The Patient's phone, SMS and fax numbers are phone numbers."""
    issues = []
    for index, point in _listed(patient, "telecom"):
        value = point.get("value")
        if point.get("system") not in _PHONE_SYSTEMS or not isinstance(value, str):
            continue
        problem = phone_problem(value)
        if problem is not None:
            where = f"Patient.telecom[{index}].value"
            issues.append(Issue("value", f"Phone number {value!r} {problem}", expression=(where,)))
    return issues


def address_issues(patient: dict[str, Any]) -> list[Issue]:
    """An address in Azerbaijan has an Azərpoçt postal code (AZ and four digits), and its
    place on the administrative division, when coded, is a district, city, city district or
    the autonomous republic of the official division."""
    issues = []
    for index, address in _listed(patient, "address"):
        issues += division_issues(address, f"Patient.address[{index}]")
        country, postal_code = address.get("country"), address.get("postalCode")
        if not isinstance(country, str) or country.strip().casefold() not in _AZERBAIJAN:
            continue
        if isinstance(postal_code, str) and not _AZ_POSTAL_CODE.fullmatch(postal_code):
            where = f"Patient.address[{index}].postalCode"
            issues.append(
                Issue(
                    "value",
                    f"Postal code {postal_code!r} of an address in Azerbaijan is AZ and four "
                    "digits, such as AZ1000",
                    expression=(where,),
                )
            )
    return issues


def division_issues(address: dict[str, Any], where: str) -> list[Issue]:
    """An address's place on the administrative division, when coded (ADMIN_DIVISION_EXTENSION),
    is a district, city, city district or the autonomous republic of the official division;
    `where` is the address's FHIRPath (Patient.address[0], Location.address)."""
    issues = []
    for position, extension in _listed(address, "extension"):
        if extension.get("url") != ADMIN_DIVISION_EXTENSION:
            continue
        coding = extension.get("valueCoding")
        code = coding.get("code") if isinstance(coding, dict) else None
        unit = admin_division.concept(code) if isinstance(code, str) else None
        if not isinstance(coding, dict) or coding.get("system") != admin_division.URL:
            problem = f"is not coded in {admin_division.URL}"
        elif unit is None:
            problem = f"has no unit {code!r}"
        elif unit.properties.get("kind") not in _RESIDENCE_KINDS:
            problem = (
                f"names {code} ({unit.display}), an economic region: code its district or city"
            )
        else:
            continue
        issues.append(
            Issue(
                "code-invalid",
                f"The address's administrative division {problem} (e.g. AZ-QBA for Quba)",
                expression=(f"{where}.extension[{position}].valueCoding",),
            )
        )
    return issues
