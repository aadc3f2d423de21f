"""What other contexts ask the register, on SQLite and PostgreSQL: what a pharmacy may
substitute for a prescription by INN (equivalents), and one product by GTIN or id (product)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from shafa.registries import medicines
from shafa.registries.medicines import _EQUIVALENTS, Product, RegistrationStatus, Strength
from shafa.registries.medicines_rules import Amount, Ingredient
from tests.registries.medicines_fixtures import (
    Register,
    gtin,
    put,
    register,
    registry_fixture,  # noqa: F401 (the registry fixture)
    resources,
    wrong_check_digit,
)

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
TABLETS = "500 mg/{tablet}"


@pytest.fixture
def pharmacy_shelf(registry: Register) -> Register:
    """Paracetamol 500 mg tablets under many registrations, and their near neighbours."""
    fhir = registry.fhir
    products = [
        ("panadol", {"retail_price": Decimal("2.35")}),
        ("generic", {"trade_name": "Paracetamol-Farmak", "retail_price": Decimal("1.10"),
                     "ingredients": (Ingredient("paracetamol", Strength.of("0.5 g/{tablet}")),)}),
        ("suspended", {"status": "suspended"}),
        ("withdrawn", {"status": "withdrawn"}),
        ("expired", {"status": "expired", "valid_to": "2026-01-31"}),
        ("lapsed", {"valid_to": "2026-06-30"}),  # still "valid", but its period has ended
        ("not-yet", {"valid_from": "2027-01-01"}),
        ("stronger", {"ingredients": (Ingredient("paracetamol", Strength.of("1 g/{tablet}")),)}),
        ("coated", {"dose_form": "film-coated-tablet"}),
        ("syrup", {"dose_form": "oral-suspension", "pack": Amount(Decimal(100), "mL"),
                   "ingredients": (Ingredient("paracetamol", Strength.of("120 mg/5 mL")),)}),
        ("with-caffeine", {"ingredients": (
            Ingredient("paracetamol", Strength.of(TABLETS)),
            Ingredient("caffeine", Strength.of("65 mg/{tablet}")),
        )}),
    ]  # fmt: skip
    for number, (fhir_id, changes) in enumerate(products, start=1):
        register(fhir, fhir_id, f"AZ-T-{number:04d}", gtins=(gtin(number),), **changes)
    return registry


def _ids(products: list[Product]) -> list[str]:
    return [product.medication_id for product in products]


def test_a_pharmacy_may_substitute_every_pack_in_force_of_that_ingredient_strength_and_form(
    pharmacy_shelf: Register,
) -> None:
    found = pharmacy_shelf.run(
        lambda conn: medicines.equivalents(conn, "paracetamol", TABLETS, "tablet", NOW)
    )
    assert _ids(found) == ["generic", "panadol"]  # cheapest first
    cheapest = found[0]
    assert cheapest.status is RegistrationStatus.VALID and cheapest.in_force
    assert cheapest.entry.retail_price == Decimal("1.1")
    assert cheapest.entry.reference_price == Decimal("1.2")
    assert cheapest.reimbursed and cheapest.entry.reimbursement == "essential"
    assert cheapest.entry.gtins == (gtin(2),)
    assert cheapest.knowledge_id == "generic"


def test_equivalents_take_the_strength_as_a_fhir_ratio_or_in_other_units(
    pharmacy_shelf: Register,
) -> None:
    ratio = Strength.of("0.5 g/{tablet}").ratio()

    async def both(conn: AsyncConnection) -> tuple[list[Product], list[Product]]:
        return (
            await medicines.equivalents(conn, "paracetamol", ratio, "tablet", NOW),
            await medicines.equivalents(conn, "paracetamol", "500000 ug/{tablet}", "tablet", NOW),
        )

    as_ratio, in_micrograms = pharmacy_shelf.run(both)
    assert _ids(as_ratio) == _ids(in_micrograms) == ["generic", "panadol"]


def test_a_moment_before_a_period_ended_finds_what_was_in_force_then(
    pharmacy_shelf: Register,
) -> None:
    then = datetime(2026, 3, 1, tzinfo=UTC)
    found = pharmacy_shelf.run(
        lambda conn: medicines.equivalents(conn, "paracetamol", TABLETS, "tablet", then)
    )
    assert set(_ids(found)) == {"generic", "panadol", "lapsed"}


def test_combinations_are_asked_for_by_all_their_ingredients(pharmacy_shelf: Register) -> None:
    found = pharmacy_shelf.run(
        lambda conn: medicines.equivalents(
            conn, ["caffeine", "paracetamol"], ["65 mg/{tablet}", TABLETS], "tablet", NOW
        )
    )
    assert _ids(found) == ["with-caffeine"]
    with pytest.raises(ValueError, match="1 strength"):
        pharmacy_shelf.run(
            lambda conn: medicines.equivalents(
                conn, ["caffeine", "paracetamol"], TABLETS, "tablet", NOW
            )
        )


def test_a_product_by_gtin_in_any_length_or_by_id_with_its_status_now(
    pharmacy_shelf: Register,
) -> None:
    async def look(conn: AsyncConnection) -> dict[str, Product | None]:
        keys = [gtin(1), "0" + gtin(1), "panadol", gtin(3), gtin(6), gtin(99),
                wrong_check_digit(gtin(1)), "no-such-id"]  # fmt: skip
        return {key: await medicines.product(conn, key, NOW) for key in keys}

    found = pharmacy_shelf.run(look)
    assert found[gtin(1)] == found["0" + gtin(1)] == found["panadol"]
    panadol = found[gtin(1)]
    assert panadol is not None and panadol.entry.trade_name == "Panadol" and panadol.in_force
    suspended, lapsed = found[gtin(3)], found[gtin(6)]
    assert suspended is not None and suspended.status is RegistrationStatus.SUSPENDED
    assert lapsed is not None and (lapsed.status, lapsed.in_force) == (
        RegistrationStatus.EXPIRED,
        False,
    )
    assert lapsed.entry.status is RegistrationStatus.VALID  # as registered
    assert found[gtin(99)] is None
    assert found[wrong_check_digit(gtin(1))] is None
    assert found["no-such-id"] is None


def test_a_product_without_its_registration_is_not_answered_for(registry: Register) -> None:
    medication, _ = resources("bare")
    assert put(registry.fhir, medication).status_code == 201
    assert registry.run(lambda conn: medicines.product(conn, gtin(1), NOW)) is None


def test_equivalents_probe_the_equivalence_index(pharmacy_shelf: Register) -> None:
    """One index probe, never a scan of the register, however many products it holds. (At a
    few rows PostgreSQL would rather scan, so it is asked for its plan without scans; the
    plans at 10,000 products are bench/medicines.py's.)"""

    async def plan(conn: AsyncConnection) -> str:
        compiled = _EQUIVALENTS.compile(dialect=conn.dialect)
        moment = NOW.replace(tzinfo=None)
        values = tuple(moment if n == "moment" else "x" for n in compiled.positiontup or ())
        if conn.dialect.name == "sqlite":
            rows = await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}", values)
            return "\n".join(str(row[-1]) for row in rows)
        await conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        rows = await conn.exec_driver_sql(f"EXPLAIN {compiled}", values)
        return "\n".join(str(row[0]) for row in rows)

    steps = pharmacy_shelf.run(plan)
    assert "ix_medicine_products_equivalence" in steps, steps
    assert "SCAN medicine_products" not in steps and "Seq Scan" not in steps, steps
