"""e-Prescription: the prescriptions table, the fast and lockable state of each prescription

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_moment = sa.DateTime(timezone=False)
_statuses = "'active', 'partially-dispensed', 'completed', 'cancelled', 'expired'"


def upgrade() -> None:
    op.create_table(
        "prescriptions",
        sa.Column("number", sa.String(14), nullable=False),
        sa.Column("verification", sa.String(12), nullable=False),
        sa.Column("medication_request_id", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("prescriber_id", sa.String(64), nullable=False),
        sa.Column("organization_id", sa.String(64), nullable=True),
        sa.Column("inn", sa.String(1000), nullable=False),
        sa.Column("atc", sa.String(7), nullable=False),
        sa.Column("substance", sa.String(1000), nullable=False),
        sa.Column("strength", sa.String(1000), nullable=False),
        sa.Column("dose_form", sa.String(64), nullable=False),
        sa.Column("medication_id", sa.String(64), nullable=True),
        sa.Column("quantity", sa.Numeric(12, 3), nullable=False),
        sa.Column("dispensed", sa.Numeric(12, 3), nullable=False),
        sa.Column("unit", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("controlled", sa.Boolean(), nullable=False),
        sa.Column("issue", sa.Integer(), nullable=False),
        sa.Column("issues", sa.Integer(), nullable=False),
        sa.Column("issued_at", _moment, nullable=False),
        sa.Column("updated_at", _moment, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("number", name=op.f("pk_prescriptions")),
        sa.UniqueConstraint(
            "medication_request_id", name=op.f("uq_prescriptions_medication_request_id")
        ),
        sa.CheckConstraint(f"status IN ({_statuses})", name=op.f("ck_prescriptions_status_known")),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_prescriptions_quantity_positive")),
        sa.CheckConstraint(
            "dispensed >= 0 AND dispensed <= quantity",
            name=op.f("ck_prescriptions_within_quantity"),
        ),
        sa.CheckConstraint(
            "status <> 'cancelled' OR dispensed = 0",
            name=op.f("ck_prescriptions_cancelled_undispensed"),
        ),
        sa.CheckConstraint(
            "status <> 'completed' OR dispensed = quantity",
            name=op.f("ck_prescriptions_completed_whole"),
        ),
        sa.CheckConstraint(
            "valid_until >= valid_from", name=op.f("ck_prescriptions_period_ordered")
        ),
        sa.CheckConstraint(
            "issue >= 1 AND issue <= issues", name=op.f("ck_prescriptions_issue_within")
        ),
        comment="One row per MedicationRequest that is a prescription: its number, substance, "
        "quantity prescribed and dispensed, status and validity; dispensing updates it "
        "atomically.",
    )
    op.create_index(op.f("ix_prescriptions_patient"), "prescriptions", ["patient_id", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_prescriptions_patient"), table_name="prescriptions")
    op.drop_table("prescriptions")
