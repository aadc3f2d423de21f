"""The medicinal product register's tables, on the shared MetaData of shafa.db.tables.

The register's resources live in the FHIR store; these rows are derived from them in the same
transaction as every write (registries.medicines.keep_products, a store write check), for
what the store's search index cannot do: hold a registration number or a GTIN to one product
under concurrent writers (the UNIQUE and PRIMARY KEY constraints), and find what a pharmacy may
substitute by substance, strength and form with one index probe.
"""

from sqlalchemy import CheckConstraint, Column, Index, String, Table, UniqueConstraint

from shafa.db.tables import FHIR_ID, metadata
from shafa.db.types import UtcDateTime
from shafa.registries.medicines_rules import RegistrationStatus

EQUIVALENCE_TEXT = 1000  # a substance or strength key: a few INNs or strengths, joined

medicine_products = Table(
    "medicine_products",
    metadata,
    Column("medication_id", String(FHIR_ID), primary_key=True),
    Column("registration_number", String(64), nullable=False),
    # The equivalence a pharmacy substitutes within (medicines_rules.equivalence): INN codes
    # joined with '+', their strengths in canonical units, the dose form code.
    Column("substance", String(EQUIVALENCE_TEXT), nullable=False),
    Column("strength", String(EQUIVALENCE_TEXT), nullable=False),
    Column("dose_form", String(64), nullable=False),
    UniqueConstraint("registration_number"),
    comment="Registered packs (Medication with a registration number): one registration "
    "number to one product, and the key of what may be substituted for it.",
)
Index(
    "ix_medicine_products_equivalence",
    medicine_products.c.substance,
    medicine_products.c.strength,
    medicine_products.c.dose_form,
)

medicine_gtins = Table(
    "medicine_gtins",
    metadata,
    Column("gtin", String(14), primary_key=True),  # as GTIN-14
    Column("medication_id", String(FHIR_ID), nullable=False),
    comment="The GTINs of registered packs, each held by one product.",
)
Index("ix_medicine_gtins_medication", medicine_gtins.c.medication_id)

_STATUSES = ", ".join(repr(status.value) for status in RegistrationStatus)
medicine_registrations = Table(
    "medicine_registrations",
    metadata,
    Column("knowledge_id", String(FHIR_ID), primary_key=True),
    Column("medication_id", String(FHIR_ID), nullable=False),
    Column("status", String(16), nullable=False),
    # The validity period's first and last instants; NULL: open.
    Column("valid_from", UtcDateTime, nullable=True),
    Column("valid_to", UtcDateTime, nullable=True),
    UniqueConstraint("medication_id"),
    CheckConstraint(f"status IN ({_STATUSES})", name="status_known"),
    CheckConstraint(
        "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from", name="period_ordered"
    ),
    comment="The registration of each registered pack (its MedicationKnowledge): status and "
    "validity period; one MedicationKnowledge to a product.",
)
