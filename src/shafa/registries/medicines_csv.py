"""The register as CSV: one row per registered pack (RFC 4180, UTF-8, a header row). Pure.

The columns, in order (docs/registries.md says what each holds):

    registration_number, trade_name, inn, strength, strength_per, dose_form, route,
    pack_size, pack_unit, gtin, atc, ddd, ddd_unit, holder, holder_id, status, valid_from,
    valid_to, prescription_only, controlled, reimbursement, reference_price, retail_price

A combination lists its INNs and their strengths in the same order, joined by ' + '; routes and
GTINs are separated by spaces. parse() reads every row into an Entry or raises CsvError naming
the line and the column; what only the resources can tell (the register's rules, a GTIN another
product holds) is named by its line, and by its column where the rule's element maps to one.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

from shafa.registries.medicines_entry import (
    Entry,
)
from shafa.registries.medicines_rules import (
    ATC_PATTERN,
    INN_PATTERN,
    REGISTRATION_NUMBER_PATTERN,
    ROUTES,
    Amount,
    Ingredient,
    RegistrationStatus,
    Schedule,
    Strength,
    gtin14,
    gtin_problem,
    plain,
)

COLUMNS = (
    "registration_number",
    "trade_name",
    "inn",
    "strength",
    "strength_per",
    "dose_form",
    "route",
    "pack_size",
    "pack_unit",
    "gtin",
    "atc",
    "ddd",
    "ddd_unit",
    "holder",
    "holder_id",
    "status",
    "valid_from",
    "valid_to",
    "prescription_only",
    "controlled",
    "reimbursement",
    "reference_price",
    "retail_price",
)
OPTIONAL = frozenset(
    {"holder_id", "ddd", "ddd_unit", "valid_to", "controlled", "reimbursement",
     "reference_price", "retail_price"}
)  # fmt: skip
YES_NO = {"yes": True, "no": False}
MAX_TEXT = 200
HOLDER_PREFIX = "mah-"

# The element of a rule's issue (its FHIRPath expression, by prefix) and the column that fills
# it, so an issue found on the resources is named as the CSV has it.
_COLUMN_OF_ELEMENT = (
    ("Medication.identifier", "gtin"),
    ("Medication.code", "trade_name"),
    ("Medication.form", "dose_form"),
    ("Medication.ingredient", "strength"),
    ("Medication.manufacturer", "holder"),
    ("Medication.amount", "pack_size"),
    ("MedicationKnowledge.regulatory[0].extension.valuePeriod", "valid_to"),
    ("MedicationKnowledge.regulatory[0].extension", "status"),
    ("MedicationKnowledge.regulatory[0].schedule", "controlled"),
    # to_resources writes the ATC classification first, the reimbursement list second.
    ("MedicationKnowledge.medicineClassification[1]", "reimbursement"),
    ("MedicationKnowledge.medicineClassification", "atc"),
    ("MedicationKnowledge.cost", "reference_price"),
    ("MedicationKnowledge.drugCharacteristic", "ddd"),
    ("MedicationKnowledge.intendedRoute", "route"),
    ("MedicationKnowledge.doseForm", "dose_form"),
    ("MedicationKnowledge.ingredient", "strength"),
)


@dataclass
class CsvError(ValueError):
    """A row the register refuses: where (line, column if known) and why."""

    line: int
    column: str | None
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", column {self.column}" if self.column else "")
        return f"{where}: {self.message}"


def column_of(expression: str) -> str | None:
    """The CSV column that fills the element a rule's issue names, if one does."""
    for prefix, column in _COLUMN_OF_ELEMENT:
        if expression.startswith(prefix):
            return column
    return None


def holder_id(name: str) -> str:
    """The Organization id of a marketing-authorisation holder known by name only:
    mah-<the name in lower-case ASCII, words joined by '-'>, a valid FHIR id."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return (HOLDER_PREFIX + (slug or "unnamed"))[:64].rstrip("-")


class _Row:
    """One CSV row being read: each cell by column, errors naming the line and column."""

    def __init__(self, line: int, cells: dict[str, str]) -> None:
        self.line = line
        self.cells = cells

    def fail(self, column: str, message: str) -> CsvError:
        return CsvError(self.line, column, message)

    def text(self, column: str) -> str | None:
        value = (self.cells.get(column) or "").strip()
        if not value:
            if column in OPTIONAL:
                return None
            raise self.fail(column, "is empty")
        if len(value) > MAX_TEXT and column not in ("gtin", "route"):
            raise self.fail(column, f"is longer than {MAX_TEXT} characters")
        return value

    def required(self, column: str) -> str:
        value = self.text(column)
        assert value is not None
        return value

    def decimal(self, column: str) -> Decimal | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self.fail(column, f"{value!r} is not a number") from None
        if not number.is_finite() or number < 0:
            raise self.fail(column, f"{value!r} is not a non-negative number")
        return Decimal(plain(number))

    def amount(self, column: str, text: str, default_value: Decimal | None = None) -> Amount:
        try:
            return Amount.parse(text, default_value)
        except ValueError as error:
            raise self.fail(column, str(error)) from None

    def day(self, column: str) -> str | None:
        value = self.text(column)
        if value is None:
            return None
        try:
            date.fromisoformat(value)
        except ValueError:
            raise self.fail(column, f"{value!r} is not a date (YYYY-MM-DD)") from None
        if len(value) != 10:
            raise self.fail(column, f"{value!r} is not a date (YYYY-MM-DD)")
        return value

    def choice(self, column: str, allowed: Iterable[str]) -> str | None:
        value = self.text(column)
        options = list(allowed)
        if value is not None and value not in options:
            raise self.fail(column, f"{value!r} is not one of {', '.join(options)}")
        return value


def _ingredients(row: _Row) -> tuple[Ingredient, ...]:
    inns = [part.strip() for part in row.required("inn").split(" + ")]
    strengths = [part.strip() for part in row.required("strength").split(" + ")]
    for inn in inns:
        if not INN_PATTERN.fullmatch(inn):
            raise row.fail("inn", f"{inn!r} is not an INN in lower case (e.g. 'amoxicillin')")
    if len(set(inns)) != len(inns):
        raise row.fail("inn", "names an INN twice")
    if len(strengths) != len(inns):
        raise row.fail(
            "strength", f"has {len(strengths)} strength(s) for {len(inns)} INN(s); join with ' + '"
        )
    per = row.amount("strength_per", row.required("strength_per"), Decimal(1))
    return tuple(
        Ingredient(inn, Strength(row.amount("strength", text), per))
        for inn, text in zip(inns, strengths, strict=True)
    )


def _gtins(row: _Row) -> tuple[str, ...]:
    values = row.required("gtin").split()
    for value in values:
        problem = gtin_problem(value)
        if problem is not None:
            raise row.fail("gtin", problem)
    if len({gtin14(value) for value in values}) != len(values):
        raise row.fail("gtin", "lists a GTIN twice")
    return tuple(values)


def _entry(row: _Row) -> Entry:
    number = row.required("registration_number")
    if not REGISTRATION_NUMBER_PATTERN.fullmatch(number):
        raise row.fail(
            "registration_number",
            f"{number!r} is not 1-40 upper-case letters, digits and / . -",
        )
    routes = tuple(row.required("route").split())
    for route in routes:
        if route not in ROUTES:
            raise row.fail("route", f"{route!r} is not one of {', '.join(ROUTES)}")
    pack_size = row.decimal("pack_size")
    pack = row.amount("pack_unit", f"{pack_size} {row.required('pack_unit')}")
    atc = row.required("atc")
    if not ATC_PATTERN.fullmatch(atc):
        raise row.fail("atc", f"{atc!r} is not an ATC code (e.g. N02BE01)")
    ddd_value, ddd_unit = row.decimal("ddd"), row.text("ddd_unit")
    if (ddd_value is None) != (ddd_unit is None):
        raise row.fail("ddd_unit" if ddd_unit is None else "ddd", "a DDD needs a value and a unit")
    ddd = row.amount("ddd_unit", f"{ddd_value} {ddd_unit}") if ddd_value is not None else None
    holder = row.required("holder")
    holder_ref = row.text("holder_id") or holder_id(holder)
    if not re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", holder_ref):
        raise row.fail("holder_id", f"{holder_ref!r} is not a FHIR id")
    controlled = row.choice(
        "controlled", (s.value for s in (Schedule.NARCOTIC, Schedule.PSYCHOTROPIC))
    )
    return Entry(
        registration_number=number,
        trade_name=row.required("trade_name"),
        ingredients=_ingredients(row),
        dose_form=row.required("dose_form"),
        routes=routes,
        pack=pack,
        gtins=_gtins(row),
        atc=atc,
        ddd=ddd,
        holder=holder,
        holder_id=holder_ref,
        status=RegistrationStatus(
            row.choice("status", (s.value for s in RegistrationStatus)) or ""
        ),
        valid_from=row.day("valid_from") or "",
        valid_to=row.day("valid_to"),
        prescription_only=YES_NO[row.choice("prescription_only", YES_NO) or "no"],
        controlled=Schedule(controlled) if controlled else None,
        reimbursement=row.text("reimbursement"),
        reference_price=row.decimal("reference_price"),
        retail_price=row.decimal("retail_price"),
    )


def parse(text: str) -> list[tuple[int, Entry]]:
    """Every row of a register CSV as (line, Entry); CsvError at the first row it refuses.

    Registration numbers and GTINs are each listed once in a file.
    """
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = reader.fieldnames or []
    missing = [column for column in COLUMNS if column not in header]
    unknown = [column for column in header if column not in COLUMNS]
    if missing or unknown:
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {', '.join(unknown)}"] if unknown else []
        )
        raise CsvError(1, None, f"The header has {'; '.join(problems)} (see docs/registries.md)")
    entries: list[tuple[int, Entry]] = []
    numbers: dict[str, int] = {}
    gtins: dict[str, int] = {}
    try:
        for cells in reader:
            row = _Row(reader.line_num, cells)
            if None in cells:
                raise CsvError(row.line, None, f"has more cells than the {len(header)} columns")
            entry = _entry(row)
            if entry.registration_number in numbers:
                raise row.fail(
                    "registration_number",
                    f"{entry.registration_number} is listed on line "
                    f"{numbers[entry.registration_number]} too",
                )
            numbers[entry.registration_number] = row.line
            for value in entry.gtins:
                earlier = gtins.setdefault(gtin14(value), row.line)
                if earlier != row.line:
                    raise row.fail("gtin", f"GTIN {value} is listed on line {earlier} too")
            entries.append((row.line, entry))
    except csv.Error as error:
        raise CsvError(reader.line_num, None, f"is not valid CSV: {error}") from None
    return entries


@cache
def shipped() -> tuple[tuple[int, Entry], ...]:
    """The register Shafa ships (data/medicines.csv), parsed: what `shafa demo` loads and the
    synthetic country prescribes and dispenses from."""
    data = resources.files("shafa.registries").joinpath("data", "medicines.csv")
    return tuple(parse(data.read_text(encoding="utf-8")))


def _row(entry: Entry) -> list[str]:
    per = entry.ingredients[0].strength.per
    return [
        entry.registration_number,
        entry.trade_name,
        " + ".join(i.inn for i in entry.ingredients),
        " + ".join(str(i.strength.amount) for i in entry.ingredients),
        per.unit if per.value == 1 else str(per),
        entry.dose_form,
        " ".join(entry.routes),
        plain(entry.pack.value),
        entry.pack.unit,
        " ".join(entry.gtins),
        entry.atc,
        plain(entry.ddd.value) if entry.ddd else "",
        entry.ddd.unit if entry.ddd else "",
        entry.holder,
        entry.holder_id,
        entry.status.value,
        entry.valid_from,
        entry.valid_to or "",
        "yes" if entry.prescription_only else "no",
        entry.controlled.value if entry.controlled else "",
        entry.reimbursement or "",
        plain(entry.reference_price) if entry.reference_price is not None else "",
        plain(entry.retail_price) if entry.retail_price is not None else "",
    ]


def rows(entries: Iterable[Entry]) -> Iterator[str]:
    """The CSV text of the entries, a line at a time, the header first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for entry in entries:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(_row(entry))
        yield buffer.getvalue()


def dump(entries: Sequence[Entry]) -> str:
    """The CSV text of the entries, with the header."""
    return "".join(rows(entries))
