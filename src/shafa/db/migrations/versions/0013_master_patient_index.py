"""Master patient index: the compared fields and blocking keys of each matchable Patient (filled
for the Patients stored before), the review queue of likely duplicates, and the merges done

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22 10:00:00
"""

from collections.abc import Sequence

import orjson
import sqlalchemy as sa
from alembic import op

from shafa.registries.mpi import rules

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
_pk = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_moment = sa.DateTime(timezone=False)
_resources = sa.table(
    "resources",
    sa.column("pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("fhir_id", sa.String()),
    sa.column("deleted", sa.Boolean()),
    sa.column("content", sa.Text()),
)


def _index_stored_patients() -> None:
    """What the write check keeps for every Patient written from now on, for those stored
    before. Their review items come with their next write."""
    bind = op.get_bind()
    patients = sa.table(
        "mpi_patients", sa.column("patient_id", sa.String()), sa.column("features", sa.Text())
    )
    keys = sa.table(
        "mpi_keys", sa.column("key", sa.BigInteger()), sa.column("patient_id", sa.String())
    )
    r = _resources.c
    last = 0
    while True:
        rows = bind.execute(
            sa.select(r.pk, r.fhir_id, r.content)
            .where(r.res_type == "Patient", r.deleted.is_(False), r.pk > last)
            .order_by(r.pk)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        last = rows[-1].pk
        found = []
        for row in rows:
            patient = orjson.loads(row.content)
            if rules.replaced_by(patient) is None:
                found.append((row.fhir_id, rules.features(patient)))
        if found:
            bind.execute(
                patients.insert(),
                [
                    {"patient_id": i, "features": orjson.dumps(f.as_json()).decode()}
                    for i, f in found
                ],
            )
            key_rows = [
                {"key": rules.key_hash(key), "patient_id": i}
                for i, f in found
                for key in rules.blocking_keys(f)
            ]
            if key_rows:
                bind.execute(keys.insert(), key_rows)


def upgrade() -> None:
    op.create_table(
        "mpi_patients",
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.Column("features", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_mpi_patients")),
        comment="The fields duplicate detection compares of each matchable Patient (derived).",
    )
    op.create_table(
        "mpi_keys",
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("patient_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("key", "patient_id", name=op.f("pk_mpi_keys")),
        comment="Blocking keys: a Patient under each key it is filed under (derived).",
    )
    op.create_index(op.f("ix_mpi_keys_patient"), "mpi_keys", ["patient_id"])
    op.create_table(
        "mpi_reviews",
        sa.Column("id", _pk, autoincrement=True, nullable=False),
        sa.Column("patient_a", sa.String(64), nullable=False),
        sa.Column("patient_b", sa.String(64), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("grade", sa.String(16), nullable=False),
        sa.Column("agreement", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("found_at", _moment, nullable=False),
        sa.Column("decided_at", _moment, nullable=True),
        sa.Column("decided_by", sa.String(255), nullable=True),
        sa.Column("survivor_id", sa.String(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpi_reviews")),
        sa.UniqueConstraint(
            "patient_a", "patient_b", name=op.f("uq_mpi_reviews_patient_a_patient_b")
        ),
        sa.CheckConstraint("patient_a < patient_b", name=op.f("ck_mpi_reviews_pair_ordered")),
        sa.CheckConstraint(
            "status IN ('open', 'merged', 'not-duplicate')",
            name=op.f("ck_mpi_reviews_status_known"),
        ),
        sa.CheckConstraint(
            "status = 'open' OR decided_at IS NOT NULL", name=op.f("ck_mpi_reviews_decided_when")
        ),
        comment="Pairs of Patients that may be one person, for a registry administrator to decide.",
    )
    op.create_index(op.f("ix_mpi_reviews_status"), "mpi_reviews", ["status", "weight"])
    op.create_index(op.f("ix_mpi_reviews_patient_b"), "mpi_reviews", ["patient_b"])
    op.create_table(
        "mpi_merges",
        sa.Column("id", _pk, autoincrement=True, nullable=False),
        sa.Column("duplicate_id", sa.String(64), nullable=False),
        sa.Column("survivor_id", sa.String(64), nullable=False),
        sa.Column("merged_at", _moment, nullable=False),
        sa.Column("merged_by", sa.String(255), nullable=False),
        sa.Column("duplicate_active", sa.String(8), nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        sa.Column("moved_count", sa.Integer(), nullable=False),
        sa.Column("unmerged_at", _moment, nullable=True),
        sa.Column("unmerged_by", sa.String(255), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mpi_merges")),
        sa.CheckConstraint("duplicate_id <> survivor_id", name=op.f("ck_mpi_merges_not_itself")),
        comment="Each merge of a duplicate Patient into a survivor, and what unmerge moves back.",
    )
    op.create_index(op.f("ix_mpi_merges_duplicate"), "mpi_merges", ["duplicate_id"])
    op.create_index(op.f("ix_mpi_merges_survivor"), "mpi_merges", ["survivor_id"])
    _index_stored_patients()


def downgrade() -> None:
    op.drop_table("mpi_merges")
    op.drop_table("mpi_reviews")
    op.drop_table("mpi_keys")
    op.drop_table("mpi_patients")
