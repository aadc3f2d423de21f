"""Accounts and login sessions: users (staff and citizens) and sessions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21 23:25:58.584971
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("role", sa.String(length=32), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("totp_secret", sa.String(length=64), nullable=True),
        sa.Column("totp_last_step", sa.BigInteger(), nullable=True),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("practitioner_id", sa.String(length=64), nullable=True),
        sa.Column("practitioner_role_id", sa.String(length=64), nullable=True),
        sa.Column("patient_id", sa.String(length=64), nullable=True),
        sa.Column("fin", sa.String(length=7), nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("updated_at", shafa.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "(kind = 'citizen' AND role = 'citizen') OR (kind = 'staff' AND role <> 'citizen')",
            name=op.f("ck_users_role_fits_kind"),
        ),
        sa.CheckConstraint(
            "kind <> 'citizen' OR (patient_id IS NOT NULL AND fin IS NOT NULL AND organization_id IS NULL AND practitioner_id IS NULL)",
            name=op.f("ck_users_citizen_linked"),
        ),
        sa.CheckConstraint(
            "kind <> 'staff' OR (organization_id IS NOT NULL AND practitioner_id IS NOT NULL AND totp_secret IS NOT NULL AND patient_id IS NULL AND fin IS NULL)",
            name=op.f("ck_users_staff_linked"),
        ),
        sa.CheckConstraint("kind IN ('staff', 'citizen')", name=op.f("ck_users_kind_known")),
        sa.CheckConstraint(
            "role IN ('doctor', 'nurse', 'pharmacist', 'laboratory', 'call-center-operator', 'agency-officer', 'analyst', 'ministry-staff', 'registry-admin', 'system-admin', 'citizen')",
            name=op.f("ck_users_role_known"),
        ),
        sa.CheckConstraint(
            "failed_attempts >= 0", name=op.f("ck_users_failed_attempts_not_negative")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("fin", name=op.f("uq_users_fin")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
        comment="Accounts of staff and citizens: credentials, lockout state and their FHIR links.",
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index("ix_users_patient", ["patient_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("last_seen_at", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("revoked_at", shafa.db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "expires_at > created_at", name=op.f("ck_sessions_expires_after_created")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_sessions")),
        comment="Web login sessions: hashed id, owner, CSRF token, last use, expiry and logout.",
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user", ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user")

    op.drop_table("sessions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("ix_users_patient")

    op.drop_table("users")
