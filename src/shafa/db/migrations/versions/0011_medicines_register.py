"""The medicinal product register's rows: registered packs, their GTINs and registrations
(medicine_products, medicine_gtins, medicine_registrations)

No rows to derive: before this revision no Medication carried the register's registration
number system, so the tables start empty.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22 04:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "medicine_products",
        sa.Column("medication_id", sa.String(length=64), nullable=False),
        sa.Column("registration_number", sa.String(length=64), nullable=False),
        sa.Column("substance", sa.String(length=1000), nullable=False),
        sa.Column("strength", sa.String(length=1000), nullable=False),
        sa.Column("dose_form", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("medication_id", name=op.f("pk_medicine_products")),
        sa.UniqueConstraint(
            "registration_number", name=op.f("uq_medicine_products_registration_number")
        ),
        comment="Registered packs (Medication with a registration number): one registration "
        "number to one product, and the key of what may be substituted for it.",
    )
    op.create_index(
        "ix_medicine_products_equivalence",
        "medicine_products",
        ["substance", "strength", "dose_form"],
    )
    op.create_table(
        "medicine_gtins",
        sa.Column("gtin", sa.String(length=14), nullable=False),
        sa.Column("medication_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("gtin", name=op.f("pk_medicine_gtins")),
        comment="The GTINs of registered packs, each held by one product.",
    )
    op.create_index("ix_medicine_gtins_medication", "medicine_gtins", ["medication_id"])
    op.create_table(
        "medicine_registrations",
        sa.Column("knowledge_id", sa.String(length=64), nullable=False),
        sa.Column("medication_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("valid_from", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("valid_to", shafa.db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('valid', 'suspended', 'withdrawn', 'expired')",
            name=op.f("ck_medicine_registrations_status_known"),
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_medicine_registrations_period_ordered"),
        ),
        sa.PrimaryKeyConstraint("knowledge_id", name=op.f("pk_medicine_registrations")),
        sa.UniqueConstraint("medication_id", name=op.f("uq_medicine_registrations_medication_id")),
        comment="The registration of each registered pack (its MedicationKnowledge): status and "
        "validity period; one MedicationKnowledge to a product.",
    )


def downgrade() -> None:
    op.drop_table("medicine_registrations")
    op.drop_index("ix_medicine_gtins_medication", table_name="medicine_gtins")
    op.drop_table("medicine_gtins")
    op.drop_index("ix_medicine_products_equivalence", table_name="medicine_products")
    op.drop_table("medicine_products")
