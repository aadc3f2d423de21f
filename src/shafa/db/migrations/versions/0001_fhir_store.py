"""FHIR resource store: resources, versions and search index tables

Revision ID: 0001
Revises:
Create Date: 2026-11-21 20:29:54.595415
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column(
            "pk",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("fhir_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("last_updated", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("index_mask", sa.SmallInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "deleted OR content IS NOT NULL", name=op.f("ck_resources_live_has_content")
        ),
        sa.CheckConstraint("version >= 1", name=op.f("ck_resources_version_positive")),
        sa.PrimaryKeyConstraint("pk", name=op.f("pk_resources")),
        sa.UniqueConstraint("res_type", "fhir_id", name=op.f("uq_resources_res_type_fhir_id")),
        comment="The current version of every FHIR resource, one row a resource.",
    )
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.create_index("ix_resources_patient", ["patient_id"], unique=False)
        batch_op.create_index(
            "ix_resources_type_updated",
            ["res_type", "last_updated"],
            unique=False,
            postgresql_where=sa.text("deleted IS false"),
            sqlite_where=sa.text("deleted IS false"),
        )

    op.create_table(
        "idx_date",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("low", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("high", shafa.db.types.UtcDateTime(), nullable=False),
        comment="Date search values as the closed UTC range [low, high] the FHIR value covers.",
    )
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.create_index("ix_idx_date_high", ["res_type", "param", "high"], unique=False)
        batch_op.create_index("ix_idx_date_low", ["res_type", "param", "low"], unique=False)
        batch_op.create_index("ix_idx_date_resource", ["resource_pk"], unique=False)

    op.create_table(
        "idx_number",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        comment="Number search values.",
    )
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.create_index("ix_idx_number_resource", ["resource_pk"], unique=False)
        batch_op.create_index("ix_idx_number_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "idx_quantity",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=False),
        sa.Column("system", sa.String(length=512), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("unit", sa.String(length=255), nullable=True),
        comment="Quantity search values with their unit system and code.",
    )
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.create_index("ix_idx_quantity_resource", ["resource_pk"], unique=False)
        batch_op.create_index("ix_idx_quantity_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "idx_reference",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=True),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=512), nullable=True),
        comment="Reference search values: the target's type and id when local, else its absolute URL.",
    )
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.create_index("ix_idx_reference_resource", ["resource_pk"], unique=False)
        batch_op.create_index(
            "ix_idx_reference_target", ["target_id", "target_type", "param"], unique=False
        )

    op.create_table(
        "idx_string",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("exact", sa.String(length=255), nullable=False),
        comment="String search values: normalised (lower case, no accents) for matching, exact for :exact.",
    )
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.create_index("ix_idx_string_resource", ["resource_pk"], unique=False)
        batch_op.create_index("ix_idx_string_value", ["res_type", "param", "value"], unique=False)

    op.create_table(
        "idx_token",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("system", sa.String(length=512), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("text", sa.String(length=255), nullable=True),
        comment="Token search values: system and code, and the display text for :text.",
    )
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_token_code", ["res_type", "param", "code", "system"], unique=False
        )
        batch_op.create_index("ix_idx_token_resource", ["resource_pk"], unique=False)

    op.create_table(
        "idx_uri",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("uri", sa.String(length=512), nullable=False),
        comment="URI and canonical search values.",
    )
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.create_index("ix_idx_uri_resource", ["resource_pk"], unique=False)
        batch_op.create_index("ix_idx_uri_uri", ["res_type", "param", "uri"], unique=False)

    op.create_table(
        "resource_versions",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("fhir_id", sa.String(length=64), nullable=False),
        sa.Column("last_updated", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("method", sa.String(length=6), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("content", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "method IN ('POST', 'PUT', 'PATCH', 'DELETE')",
            name=op.f("ck_resource_versions_method_known"),
        ),
        sa.CheckConstraint(
            "deleted OR content IS NOT NULL", name=op.f("ck_resource_versions_live_has_content")
        ),
        sa.ForeignKeyConstraint(
            ["resource_pk"],
            ["resources.pk"],
            name=op.f("fk_resource_versions_resource_pk_resources"),
        ),
        sa.PrimaryKeyConstraint("resource_pk", "version", name=op.f("pk_resource_versions")),
        comment="Every version of every resource, deletions included (history and vread).",
    )
    with op.batch_alter_table("resource_versions", schema=None) as batch_op:
        batch_op.create_index("ix_resource_versions_type_id", ["res_type", "fhir_id"], unique=False)
        batch_op.create_index(
            "ix_resource_versions_type_updated", ["res_type", "last_updated"], unique=False
        )
        batch_op.create_index("ix_resource_versions_updated", ["last_updated"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("resource_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_resource_versions_updated")
        batch_op.drop_index("ix_resource_versions_type_updated")
        batch_op.drop_index("ix_resource_versions_type_id")

    op.drop_table("resource_versions")
    with op.batch_alter_table("idx_uri", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_uri_uri")
        batch_op.drop_index("ix_idx_uri_resource")

    op.drop_table("idx_uri")
    with op.batch_alter_table("idx_token", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_token_resource")
        batch_op.drop_index("ix_idx_token_code")

    op.drop_table("idx_token")
    with op.batch_alter_table("idx_string", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_string_value")
        batch_op.drop_index("ix_idx_string_resource")

    op.drop_table("idx_string")
    with op.batch_alter_table("idx_reference", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_reference_target")
        batch_op.drop_index("ix_idx_reference_resource")

    op.drop_table("idx_reference")
    with op.batch_alter_table("idx_quantity", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_quantity_value")
        batch_op.drop_index("ix_idx_quantity_resource")

    op.drop_table("idx_quantity")
    with op.batch_alter_table("idx_number", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_number_value")
        batch_op.drop_index("ix_idx_number_resource")

    op.drop_table("idx_number")
    with op.batch_alter_table("idx_date", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_date_resource")
        batch_op.drop_index("ix_idx_date_low")
        batch_op.drop_index("ix_idx_date_high")

    op.drop_table("idx_date")
    with op.batch_alter_table("resources", schema=None) as batch_op:
        batch_op.drop_index("ix_resources_type_updated")
        batch_op.drop_index("ix_resources_patient")

    op.drop_table("resources")
