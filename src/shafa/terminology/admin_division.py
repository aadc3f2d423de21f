"""Azerbaijan's administrative division: data/az-admin-division.csv.

The 14 economic regions of the Presidential Decree of 7 July 2021 ("On the new division of
economic regions in the Republic of Azerbaijan"), and under them the 66 districts (rayon), the
11 cities of republican subordination, the Nakhchivan Autonomous Republic (its 7 districts and
Nakhchivan city under it) and Baku's 12 districts. Names are in Azerbaijani (Latin script, the
display) with English and Russian designations.

Codes: ISO 3166-2:AZ where ISO gives one (districts such as AZ-QBA Quba, cities such as AZ-GA
Gəncə, AZ-NX for the autonomous republic; a district and a city of the same name differ, as
AZ-SAK Şəki district and AZ-SA Şəki city); Shafa's own for what ISO leaves out: ER-01 ... ER-14
for the economic regions, in the decree's order, and AZ-BA-XXX for Baku's districts. The tree
is part-of: AZ-BA-NSM (Nəsimi) is part of AZ-BA (Baku) is part of ER-01.
"""

import csv
from functools import cache
from importlib import resources

from shafa.terminology.model import CodeSystem, CodeSystemInfo, Concept, Designation, PropertyDef

URL = "https://fhir.shafa.az/CodeSystem/az-admin-division"
KINDS = ("economic-region", "autonomous-republic", "city", "district", "city-district")

INFO = CodeSystemInfo(
    id="az-admin-division",
    url=URL,
    name="AzAdminDivision",
    title="Administrative division of the Republic of Azerbaijan",
    version="2021-07-07",
    publisher="Shafa",
    description="Economic regions (2021), districts, cities of republican subordination, the "
    "Nakhchivan Autonomous Republic and Baku's districts, in Azerbaijani with English and "
    "Russian names. Codes are ISO 3166-2:AZ where ISO has one.",
    copyright="The division is public law of the Republic of Azerbaijan; ISO 3166-2 codes are "
    "ISO's. The file is Shafa's, Apache-2.0.",
    content="complete",
    hierarchy_meaning="part-of",
    properties=(
        PropertyDef(
            "kind",
            "code",
            "economic-region, autonomous-republic, city (of republican subordination), "
            "district (rayon) or city-district",
        ),
    ),
    language="az",
)


@cache
def code_system() -> CodeSystem:
    """The division in memory, read once."""
    text = resources.files("shafa.terminology").joinpath("data/az-admin-division.csv")
    rows = csv.DictReader(text.read_text("utf-8").splitlines())
    return CodeSystem(
        INFO,
        [
            Concept(
                code=row["code"],
                display=row["name_az"],
                parent=row["parent"] or None,
                designations=(
                    Designation("az", row["name_az"]),
                    Designation("en", row["name_en"]),
                    Designation("ru", row["name_ru"]),
                ),
                properties={"kind": row["kind"]},
            )
            for row in rows
        ],
    )


def concept(code: str) -> Concept | None:
    """The unit of the division with this code (`AZ-QBA`, `ER-08`), or None."""
    return code_system().get(code)


def path(code: str) -> list[Concept]:
    """The unit and every unit it is part of, from itself up to its economic region."""
    found = code_system().get(code)
    return [found, *code_system().ancestors(code)] if found is not None else []
