"""The medicinal product register (after EU SPOR/IDMP product registration, Estonia's
Ravimiregister and NHS dm+d's packs and substitution by ingredient, strength and form).

Each registered pack is a Medication and a MedicationKnowledge in the FHIR store (modelled in
medicines_rules). What the store alone cannot decide is kept here, in the write's transaction:
a registration number and a GTIN belong to one product, and a product to one
MedicationKnowledge (medicines_tables, written by the store write checks keep_products and
keep_registrations). The other contexts ask the register through two service functions:

- equivalents(conn, inn, strength, dose_form, moment): what a pharmacy may substitute for a
  prescription by INN, every product of that substance, strength and form in force then;
- product(conn, gtin_or_id, moment): one product by GTIN (as a pack's DataMatrix carries it)
  or Medication id, with its status at that moment.

Registry admins load and take out the register as CSV (medicines_csv): import_csv, export_csv.
"""

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, Table, and_, bindparam, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shafa.db import bulk
from shafa.db.engine import read_transaction
from shafa.db.tables import resources
from shafa.fhir import jsonio, store, validation
from shafa.fhir.errors import FhirError, Issue
from shafa.fhir.routes import in_write
from shafa.fhir.store import ConcurrentWrite, WriteCheck, WriteRejected, Written
from shafa.fhir.validation import Rule
from shafa.registries import medicines_csv
from shafa.registries.medicines_csv import CsvError
from shafa.registries.medicines_entry import (
    Entry,
    Product,
    from_resources,
    product_at,
    to_resources,
)
from shafa.registries.medicines_rules import (
    DOSE_FORM,
    INN,
    Ingredient,
    RegistrationStatus,
    Strength,
    equivalence,
    first_code,
    gtin14,
    gtin_problem,
    gtins,
    is_register_knowledge,
    is_register_product,
    knowledge_issues,
    listed,
    medication_issues,
    period_bounds,
    ratio_strength,
    reference_id,
    registration_numbers,
    registration_period,
    registration_status,
)
from shafa.registries.medicines_tables import (
    medicine_gtins,
    medicine_products,
    medicine_registrations,
)

__all__ = [
    "RULES",
    "WRITE_CHECKS",
    "ImportResult",
    "Product",
    "RegistrationStatus",
    "Strength",
    "equivalents",
    "export_csv",
    "import_csv",
    "product",
]

MEDICATION = "Medication"
KNOWLEDGE = "MedicationKnowledge"
_CHUNK = 500  # keys a statement asks about at once (SQLite's bind-parameter limit)

RULES: tuple[tuple[str, Rule], ...] = (
    (MEDICATION, medication_issues),
    (KNOWLEDGE, knowledge_issues),
)


# --- keeping the register's rows in step with its resources ---------------------------------


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


async def _forget(conn: AsyncConnection, table: Table, column: str, ids: Sequence[str]) -> None:
    for chunk in _chunks(ids):
        await conn.execute(delete(table).where(table.c[column].in_(chunk)))


def _taken(written: Written, what: str, value: str, holder: str, where: str) -> WriteRejected:
    """409 Conflict naming the holder, as HAPI FHIR answers a write that would break a unique
    search parameter (R4 leaves identifier uniqueness to the server, resource.html#identifiers)."""
    message = (
        f"{what} {value} already belongs to {holder}: a registered product holds it alone. "
        f"Update that resource instead, or take it off there first."
    )
    return WriteRejected(
        409, [Issue("duplicate", message, expression=(where,))], write_index=written.write_index
    )


async def _insert(conn: AsyncConnection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert the rows; a concurrent transaction holding one of their keys makes ConcurrentWrite.

    On PostgreSQL a UNIQUE key another open transaction has inserted makes this INSERT wait for
    it; if it commits, the INSERT fails with a unique violation (never both succeed). The store's
    caller then retries the whole write, and the retry finds the holder and answers 409.
    """
    if not rows:
        return
    columns = list(rows[0])
    try:
        await bulk.insert_rows(conn, table, columns, [tuple(r[c] for c in columns) for r in rows])
    except bulk.DuplicateKey:
        raise ConcurrentWrite(f"a key of {table.name} was written concurrently") from None


@dataclass(frozen=True, slots=True)
class _Claim:
    written: Written
    value: str
    where: str


async def _first_holder(
    conn: AsyncConnection, table: Table, key: str, claims: Mapping[str, _Claim]
) -> tuple[_Claim, str] | None:
    """A claimed key another stored product holds already, and that product's id."""
    values = list(claims)
    for chunk in _chunks(values):
        query = select(table.c[key], table.c.medication_id).where(table.c[key].in_(chunk))
        for value, holder in await conn.execute(query):
            return claims[value], holder
    return None


def _claim(claims: dict[str, _Claim], key: str, claim: _Claim, what: str) -> WriteRejected | None:
    earlier = claims.setdefault(key, claim)
    if earlier is claim:
        return None
    return _taken(
        claim.written, what, claim.value, f"{MEDICATION}/{earlier.written.fhir_id}", claim.where
    )


async def keep_products(conn: AsyncConnection, batch: Sequence[Written]) -> None:
    """Store write check of Medication: the register's rows of the products a batch writes.

    Registration numbers and GTINs are each held by one registered product; a write that would
    give one to a second product is refused (409) whole.
    """
    ids = [written.fhir_id for written in batch]
    await _forget(conn, medicine_gtins, "medication_id", ids)
    await _forget(conn, medicine_products, "medication_id", ids)
    products, gtin_rows = [], []
    numbers: dict[str, _Claim] = {}
    codes: dict[str, _Claim] = {}
    for written in batch:
        medication = written.resource
        if medication is None or not is_register_product(medication):
            continue
        position, number = registration_numbers(medication)[0]
        claim = _Claim(written, number, f"Medication.identifier[{position}].value")
        if (refused := _claim(numbers, number, claim, "Registration number")) is not None:
            raise refused
        for position, value in gtins(medication):
            claim = _Claim(written, value, f"Medication.identifier[{position}].value")
            if (refused := _claim(codes, gtin14(value), claim, "GTIN")) is not None:
                raise refused
            gtin_rows.append({"gtin": gtin14(value), "medication_id": written.fhir_id})
        substance, strength, form = equivalence(
            _ingredients(medication), first_code(medication.get("form"), DOSE_FORM) or ""
        )
        products.append(
            {"medication_id": written.fhir_id, "registration_number": number,
             "substance": substance, "strength": strength, "dose_form": form}
        )  # fmt: skip
    for table, key, claims, what in (
        (medicine_products, "registration_number", numbers, "Registration number"),
        (medicine_gtins, "gtin", codes, "GTIN"),
    ):
        held = await _first_holder(conn, table, key, claims)
        if held is not None:
            claim, holder = held
            raise _taken(claim.written, what, claim.value, f"{MEDICATION}/{holder}", claim.where)
    await _insert(conn, medicine_products, products)
    await _insert(conn, medicine_gtins, gtin_rows)


def _ingredients(resource: Mapping[str, Any]) -> list[Ingredient]:
    """The ingredients of a resource that kept the register's rules."""
    found = []
    for item in listed(resource.get("ingredient")):
        _problem, strength = ratio_strength(item.get("strength"))
        inn = first_code(item.get("itemCodeableConcept"), INN)
        assert strength is not None and inn is not None
        found.append(Ingredient(inn, strength))
    return found


async def keep_registrations(conn: AsyncConnection, batch: Sequence[Written]) -> None:
    """Store write check of MedicationKnowledge: each product's registration, held by one
    MedicationKnowledge; a second one for the same Medication is refused (409)."""
    await _forget(conn, medicine_registrations, "knowledge_id", [w.fhir_id for w in batch])
    rows = []
    claims: dict[str, _Claim] = {}
    for written in batch:
        knowledge = written.resource
        if knowledge is None or not is_register_knowledge(knowledge):
            continue
        medication_id = reference_id(listed(knowledge.get("associatedMedication"))[0], MEDICATION)
        assert medication_id is not None
        claim = _Claim(
            written, f"{MEDICATION}/{medication_id}", "MedicationKnowledge.associatedMedication"
        )
        earlier = claims.setdefault(medication_id, claim)
        if earlier is not claim:
            raise _taken(written, "The registration of", claim.value,
                         f"{KNOWLEDGE}/{earlier.written.fhir_id}", claim.where)  # fmt: skip
        start, end = registration_period(knowledge)
        low, high = period_bounds(start, end)
        rows.append(
            {"knowledge_id": written.fhir_id, "medication_id": medication_id,
             "status": registration_status(knowledge), "valid_from": low, "valid_to": high}
        )  # fmt: skip
    table = medicine_registrations
    for chunk in _chunks(list(claims)):
        query = select(table.c.medication_id, table.c.knowledge_id).where(
            table.c.medication_id.in_(chunk)
        )
        for medication_id, holder in await conn.execute(query):
            claim = claims[medication_id]
            raise _taken(claim.written, "The registration of", claim.value,
                         f"{KNOWLEDGE}/{holder}", claim.where)  # fmt: skip
    await _insert(conn, medicine_registrations, rows)


WRITE_CHECKS: tuple[tuple[str, WriteCheck], ...] = (
    (MEDICATION, keep_products),
    (KNOWLEDGE, keep_registrations),
)

# --- the service functions other contexts call ------------------------------------------------

_p, _r = medicine_products.c, medicine_registrations.c
_IN_FORCE = and_(
    _r.status == RegistrationStatus.VALID.value,
    or_(_r.valid_from.is_(None), _r.valid_from <= bindparam("moment")),
    or_(_r.valid_to.is_(None), _r.valid_to >= bindparam("moment")),
)
_medication = resources.alias("medication")
_knowledge = resources.alias("knowledge")


def _with_resources(query: Select[Any]) -> Select[Any]:
    """The query's products with the current content of their two resources, each joined by
    the store's unique (type, id) key: one statement, one round trip."""
    m, k = _medication.c, _knowledge.c
    return (
        query.add_columns(m.content.label("medication"), k.content.label("knowledge"))
        .join(_medication, and_(m.res_type == MEDICATION, m.fhir_id == _r.medication_id))
        .join(_knowledge, and_(k.res_type == KNOWLEDGE, k.fhir_id == _r.knowledge_id))
        .where(m.deleted.is_(False), k.deleted.is_(False))
    )


# One probe of ix_medicine_products_equivalence, then one of each registration's unique key.
_EQUIVALENTS = _with_resources(
    select(_p.medication_id, _r.knowledge_id)
    .join(medicine_registrations, _r.medication_id == _p.medication_id)
    .where(
        _p.substance == bindparam("substance"),
        _p.strength == bindparam("strength"),
        _p.dose_form == bindparam("dose_form"),
        _IN_FORCE,
    )
)
_BY_GTIN = _with_resources(
    select(_r.medication_id, _r.knowledge_id)
    .join(medicine_gtins, medicine_gtins.c.medication_id == _r.medication_id)
    .where(medicine_gtins.c.gtin == bindparam("gtin"))
)
_BY_MEDICATION = _with_resources(
    select(_r.medication_id, _r.knowledge_id)
    .join(medicine_products, _p.medication_id == _r.medication_id)
    .where(_r.medication_id == bindparam("medication_id"))
)


def _product(row: Any, moment: datetime) -> Product:
    """The Product of a row of _with_resources."""
    return product_at(
        row.medication_id,
        row.knowledge_id,
        jsonio.parse(row.medication),
        jsonio.parse(row.knowledge),
        moment,
    )


def _price_order(product: Product) -> tuple[Decimal, str, str]:
    retail = product.entry.retail_price
    return (
        retail if retail is not None else Decimal("Infinity"),
        product.entry.trade_name,
        product.entry.registration_number,
    )


async def equivalents(
    conn: AsyncConnection,
    inn_code: str | Sequence[str],
    strength: Strength | Mapping[str, Any] | str | Sequence[Strength | Mapping[str, Any] | str],
    dose_form: str,
    moment: datetime,
) -> list[Product]:
    """Every product a pharmacy may dispense for a prescription by INN: registered, valid and
    in its validity period at moment, of that INN (a combination: INNs), strength (a Strength,
    a FHIR Ratio or text such as '500 mg/{tablet}'; one per INN) and dose form code; cheapest
    retail price first. ValueError for a strength the register cannot read."""
    inns = [inn_code] if isinstance(inn_code, str) else list(inn_code)
    strengths = [strength] if isinstance(strength, str | Strength | Mapping) else list(strength)
    if len(strengths) != len(inns):
        raise ValueError(f"{len(strengths)} strength(s) for {len(inns)} INN(s)")
    ingredients = [Ingredient(inn, Strength.of(s)) for inn, s in zip(inns, strengths, strict=True)]
    substance, canonical, form = equivalence(ingredients, dose_form)
    rows = await conn.execute(
        _EQUIVALENTS,
        {"substance": substance, "strength": canonical, "dose_form": form, "moment": moment},
    )
    found = [p for p in (_product(row, moment) for row in rows) if p.in_force]
    return sorted(found, key=_price_order)


async def product(conn: AsyncConnection, gtin_or_id: str, moment: datetime) -> Product | None:
    """The registered product a GTIN (8 to 14 digits, check digit valid) or a Medication id
    names, with its status at moment (a valid registration past its period reads expired);
    None if the register has no such product."""
    if gtin_problem(gtin_or_id) is None:
        query, params = _BY_GTIN, {"gtin": gtin14(gtin_or_id)}
    else:
        query, params = _BY_MEDICATION, {"medication_id": gtin_or_id}
    row = (await conn.execute(query, params)).first()
    return None if row is None else _product(row, moment)


# --- CSV import and export ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: products created, updated and left as they were."""

    created: int
    updated: int
    unchanged: int
    resources: int = 0  # written: every product's two, and the holders' Organizations new here

    def __str__(self) -> str:
        return (
            f"{self.created} product(s) registered, {self.updated} updated, "
            f"{self.unchanged} unchanged"
        )


def _refused(line: int, error: FhirError, status: int = 422) -> FhirError:
    """A rule's or the store's refusal of one row, named by its line and column."""
    issues = []
    for issue in error.issues:
        column = next((c for e in issue.expression if (c := medicines_csv.column_of(e))), None)
        where = f"Line {line}" + (f", column {column}" if column else "")
        issues.append(
            Issue(issue.code, f"{where}: {issue.diagnostics}", issue.severity, issue.expression)
        )
    return FhirError(status, issues)


async def _existing(
    conn: AsyncConnection, numbers: Sequence[str]
) -> dict[str, tuple[str, str | None]]:
    """(Medication id, MedicationKnowledge id) of the products registered under the numbers."""
    found: dict[str, tuple[str, str | None]] = {}
    for chunk in _chunks(list(numbers)):
        query = (
            select(_p.registration_number, _p.medication_id, _r.knowledge_id)
            .join(medicine_registrations, _r.medication_id == _p.medication_id, isouter=True)
            .where(_p.registration_number.in_(chunk))
        )
        for number, medication_id, knowledge_id in await conn.execute(query):
            found[number] = (medication_id, knowledge_id)
    return found


async def _holder_writes(conn: AsyncConnection, entries: Sequence[Entry]) -> list[store.Write]:
    """Organizations for the holders the register names that are not stored yet (an existing
    Organization, which the facilities registry may keep, is left as it is)."""
    names = {entry.holder_id: entry.holder for entry in entries}
    stored = await store.current_versions(conn, [("Organization", i) for i in names], lock=False)
    return [
        store.Write(
            "Organization",
            holder,
            {"resourceType": "Organization", "id": holder, "active": True, "name": name},
            "PUT",
        )
        for holder, name in names.items()
        if ("Organization", holder) not in stored or stored[("Organization", holder)]["deleted"]
    ]


def csv_error(error: CsvError) -> FhirError:
    """422 for a CSV row the register refuses, naming its line and column."""
    return FhirError.of(422, "invalid", str(error)[:1].upper() + str(error)[1:])


async def import_rows(
    conn: AsyncConnection, rows: Sequence[tuple[int, Entry]], moment: datetime
) -> ImportResult:
    """Register or update every entry, in the caller's transaction, all or none: a product is
    found by its registration number (so importing a file again changes nothing), a new one gets
    new ids. FhirError naming the line of the first entry refused."""
    existing = await _existing(conn, [entry.registration_number for _line, entry in rows])
    writes = await _holder_writes(conn, [entry for _line, entry in rows])
    lines: list[int] = [0] * len(writes)
    for line, entry in rows:
        medication_id, knowledge_id = existing.get(entry.registration_number, (None, None))
        medication_id = medication_id or store.new_id()
        medication, knowledge = to_resources(entry, medication_id)
        knowledge["id"] = knowledge_id = knowledge_id or medication_id
        for resource in (medication, knowledge):
            try:
                validation.check_resource(resource)
            except FhirError as error:
                raise _refused(line, error) from None
            writes.append(store.Write(resource["resourceType"], resource["id"], resource, "PUT"))
            lines.append(line)
    try:
        outcomes = await store.apply_writes(conn, writes, moment)
    except WriteRejected as error:
        raise _refused(lines[error.write_index], error, error.status) from None
    created = updated = unchanged = 0
    # The products' writes follow the holders', a Medication then its MedicationKnowledge.
    first = len(writes) - 2 * len(rows)
    for product_outcome, registration in zip(
        outcomes[first::2], outcomes[first + 1 :: 2], strict=True
    ):
        if product_outcome.created:
            created += 1
        elif product_outcome.changed or registration.changed:
            updated += 1
        else:
            unchanged += 1
    return ImportResult(created, updated, unchanged, len(writes))


async def import_csv(engine: AsyncEngine, text: str, moment: datetime) -> ImportResult:
    """Import a register CSV whole in one transaction, or nothing of it (FhirError 422 naming
    the line and column refused; 409 for a GTIN or number another product holds)."""
    try:
        rows = medicines_csv.parse(text)
    except CsvError as error:
        raise csv_error(error) from None
    return await in_write(engine, lambda conn: import_rows(conn, rows, moment))


async def entries(conn: AsyncConnection) -> AsyncIterator[Entry]:
    """Every registered pack with its registration, by registration number."""
    query = (
        select(_p.registration_number, _p.medication_id, _r.knowledge_id)
        .join(medicine_registrations, _r.medication_id == _p.medication_id)
        .order_by(_p.registration_number)
    )
    pairs = [(row.medication_id, row.knowledge_id) for row in await conn.execute(query)]
    for chunk in _chunks(pairs):
        keys = [(MEDICATION, m) for m, _k in chunk] + [(KNOWLEDGE, k) for _m, k in chunk]
        stored = await store.current_versions(conn, keys, lock=False)
        for medication_id, knowledge_id in chunk:
            medication = stored[(MEDICATION, medication_id)]
            knowledge = stored[(KNOWLEDGE, knowledge_id)]
            yield from_resources(
                jsonio.parse(medication["content"]), jsonio.parse(knowledge["content"])
            )


async def export_csv(engine: AsyncEngine) -> str:
    """The whole register as CSV (one consistent snapshot), as import_csv reads it."""
    async with read_transaction(engine) as conn:
        return medicines_csv.dump([entry async for entry in entries(conn)])
