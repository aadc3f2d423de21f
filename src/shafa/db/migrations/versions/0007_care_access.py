"""Who may see a patient's data: care relationships, privacy Consent rules and break-the-glass
(care_links, consent_rules, break_glass), the first two filled from the stored resources

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 10:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types
from shafa.fhir import jsonio
from shafa.security import care

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
_Pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_resources = sa.table(
    "resources",
    sa.column("pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("deleted", sa.Boolean()),
    sa.column("patient_id", sa.String()),
    sa.column("content", sa.Text()),
)
_care_links = sa.table(
    "care_links",
    sa.column("patient_id", sa.String()),
    sa.column("organization_id", sa.String()),
    sa.column("practitioner_id", sa.String()),
    sa.column("source_pk", sa.BigInteger()),
    sa.column("source_type", sa.String()),
    sa.column("starts", shafa.db.types.UtcDateTime()),
    sa.column("ends", shafa.db.types.UtcDateTime()),
)
_consent_rules = sa.table(
    "consent_rules",
    sa.column("patient_id", sa.String()),
    sa.column("source_pk", sa.BigInteger()),
    sa.column("effect", sa.String()),
    sa.column("label_system", sa.String()),
    sa.column("label_code", sa.String()),
    sa.column("organization_id", sa.String()),
    sa.column("starts", shafa.db.types.UtcDateTime()),
    sa.column("ends", shafa.db.types.UtcDateTime()),
)


def upgrade() -> None:
    op.create_table(
        "care_links",
        sa.Column("id", _Pk, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("practitioner_id", sa.String(length=64), nullable=True),
        sa.Column("source_pk", _Pk, nullable=False),
        sa.Column("source_type", sa.String(length=64), nullable=False),
        sa.Column("starts", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("ends", shafa.db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "organization_id IS NOT NULL OR practitioner_id IS NOT NULL",
            name=op.f("ck_care_links_links_someone"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_care_links")),
        comment="Care relationships derived from Patient, Encounter, Appointment, EpisodeOfCare, "
        "CareTeam and ServiceRequest: which organisation or practitioner cares for which patient.",
    )
    op.create_index("ix_care_links_patient_org", "care_links", ["patient_id", "organization_id"])
    op.create_index(
        "ix_care_links_patient_practitioner", "care_links", ["patient_id", "practitioner_id"]
    )
    op.create_index("ix_care_links_source", "care_links", ["source_pk"])
    op.create_table(
        "consent_rules",
        sa.Column("id", _Pk, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("source_pk", _Pk, nullable=False),
        sa.Column("effect", sa.String(length=8), nullable=False),
        sa.Column("label_system", sa.String(length=255), nullable=False),
        sa.Column("label_code", sa.String(length=64), nullable=False),
        sa.Column("organization_id", sa.String(length=64), nullable=True),
        sa.Column("starts", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("ends", shafa.db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "effect IN ('deny', 'permit')", name=op.f("ck_consent_rules_effect_known")
        ),
        sa.CheckConstraint(
            "effect = 'deny' OR organization_id IS NOT NULL",
            name=op.f("ck_consent_rules_permit_names_organization"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_rules")),
        comment="What a patient's active privacy Consents hide: resources with a security label, "
        "from everyone or from named organisations, with the organisations excepted.",
    )
    op.create_index("ix_consent_rules_patient", "consent_rules", ["patient_id", "effect"])
    op.create_index("ix_consent_rules_source", "consent_rules", ["source_pk"])
    op.create_table(
        "break_glass",
        sa.Column("id", _Pk, autoincrement=True, nullable=False),
        sa.Column("user_id", _Pk, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("audit_record", sa.String(length=36), nullable=True),
        sa.Column("reviewed_by", _Pk, nullable=True),
        sa.Column("reviewed_at", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.CheckConstraint("expires > started", name=op.f("ck_break_glass_expires_after_start")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_break_glass_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_break_glass_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass")),
        comment="Break-the-glass: a professional's emergency access to a patient, with the "
        "stated reason, until it expires; flagged until reviewed.",
    )
    op.create_index("ix_break_glass_user_patient", "break_glass", ["user_id", "patient_id"])
    op.create_index("ix_break_glass_unreviewed", "break_glass", ["reviewed_at", "started"])
    _project_stored_resources()


def _project_stored_resources() -> None:
    """The care links and consent rules of the resources stored before this revision, derived
    by the same code that derives them on every write."""
    bind = op.get_bind()
    r = _resources.c
    last = 0
    while True:
        batch = bind.execute(
            sa.select(r.pk, r.res_type, r.patient_id, r.content)
            .where(
                r.deleted.is_(False),
                r.res_type.in_(sorted(care.PROJECTED_TYPES)),
                r.patient_id.is_not(None),
                r.pk > last,
            )
            .order_by(r.pk)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].pk
        links, rules = [], []
        for pk, res_type, patient_id, content in batch:
            resource = jsonio.parse(content)
            links += [
                {
                    "patient_id": patient_id,
                    "organization_id": link.organization_id,
                    "practitioner_id": link.practitioner_id,
                    "source_pk": pk,
                    "source_type": res_type,
                    "starts": link.starts,
                    "ends": link.ends,
                }
                for link in care.stated_links(resource)
            ]
            rules += [
                {
                    "patient_id": patient_id,
                    "source_pk": pk,
                    "effect": rule.effect,
                    "label_system": rule.label_system,
                    "label_code": rule.label_code,
                    "organization_id": rule.organization_id,
                    "starts": rule.starts,
                    "ends": rule.ends,
                }
                for rule in care.stated_rules(resource)
            ]
        if links:
            bind.execute(_care_links.insert(), links)
        if rules:
            bind.execute(_consent_rules.insert(), rules)


def downgrade() -> None:
    op.drop_table("break_glass")
    op.drop_table("consent_rules")
    op.drop_table("care_links")
