"""Composite search values and identifier types (idx_composite), and the narrative words of
_text (idx_string rows of param _text), filled for stored resources

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 22:33:13.682113
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types
from shafa.fhir import indexing, jsonio

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# resources.index_mask: the bits of idx_string and idx_composite (their places in
# db.tables.INDEX_TABLE_ORDER).
STRING_BIT = 1 << 0
COMPOSITE_BIT = 1 << 7
BATCH = 2000

_resources = sa.table(
    "resources",
    sa.column("pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("deleted", sa.Boolean()),
    sa.column("index_mask", sa.SmallInteger()),
    sa.column("content", sa.Text()),
)
_COMPOSITE_COLUMNS = (
    ("param", sa.String()),
    ("hash", sa.BigInteger()),
    ("value", sa.Numeric()),
    ("system", sa.String()),
    ("code", sa.String()),
    ("unit", sa.String()),
    ("value2", sa.Numeric()),
    ("low", shafa.db.types.UtcDateTime()),
    ("high", shafa.db.types.UtcDateTime()),
    ("text", sa.String()),
)
_idx_string = sa.table(
    "idx_string",
    sa.column("resource_pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("param", sa.String()),
    sa.column("value", sa.String()),
    sa.column("exact", sa.String()),
)
_idx_composite = sa.table(
    "idx_composite",
    sa.column("resource_pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    *(sa.column(name, kind) for name, kind in _COMPOSITE_COLUMNS),
)


def upgrade() -> None:
    op.create_table(
        "idx_composite",
        sa.Column(
            "resource_pk", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("res_type", sa.String(length=64), nullable=False),
        sa.Column("param", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Numeric(), nullable=True),
        sa.Column("system", sa.String(length=512), nullable=True),
        sa.Column("code", sa.String(length=255), nullable=True),
        sa.Column("unit", sa.String(length=255), nullable=True),
        sa.Column("value2", sa.Numeric(), nullable=True),
        sa.Column("low", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("high", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("text", sa.String(length=255), nullable=True),
        comment="Composite search values, one row for each element and combination of its component values; and the (type, value) pairs of Identifiers for token :of-type.",
    )
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.create_index(
            "ix_idx_composite_hash", ["res_type", "param", "hash", "value"], unique=False
        )
        batch_op.create_index("ix_idx_composite_resource", ["resource_pk"], unique=False)
    _index_stored_resources()


def _index_stored_resources() -> None:
    """The composite rows and narrative words of every live resource stored before this revision.

    Index rows are derived data: they are extracted here by the same code that extracts them on
    every write, so the resources already stored are found as new ones are.
    """
    bind = op.get_bind()
    r = _resources.c
    names = [name for name, _ in _COMPOSITE_COLUMNS]
    last = 0
    while True:
        batch = bind.execute(
            sa.select(r.pk, r.res_type, r.content)
            .where(r.deleted.is_(False), r.pk > last)
            .order_by(r.pk)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].pk
        composites, words, with_composites, with_words = [], [], [], []
        for pk, res_type, content in batch:
            extracted = indexing.extract(jsonio.parse(content))
            if extracted.composite:
                with_composites.append(pk)
                composites += [
                    {"resource_pk": pk, "res_type": res_type, **dict(zip(names, row, strict=True))}
                    for row in extracted.composite
                ]
            narrative = [row for row in extracted.string if row[0] == "_text"]
            if narrative:
                with_words.append(pk)
                words += [
                    {
                        "resource_pk": pk,
                        "res_type": res_type,
                        "param": param,
                        "value": value,
                        "exact": exact,
                    }
                    for param, value, exact in narrative
                ]
        for table, rows, indexed, bit in (
            (_idx_composite, composites, with_composites, COMPOSITE_BIT),
            (_idx_string, words, with_words, STRING_BIT),
        ):
            if rows:
                bind.execute(table.insert(), rows)
                bind.execute(
                    _resources.update()
                    .where(r.pk.in_(indexed))
                    .values(index_mask=r.index_mask.op("|")(bit))
                )


def downgrade() -> None:
    r = _resources.c
    # A string bit set here may stay: the store then deletes string rows there are none of.
    op.get_bind().execute(_idx_string.delete().where(_idx_string.c.param == "_text"))
    op.get_bind().execute(
        _resources.update()
        .where(r.index_mask.op("&")(COMPOSITE_BIT) != 0)
        .values(index_mask=r.index_mask.op("&")(~COMPOSITE_BIT))
    )
    with op.batch_alter_table("idx_composite", schema=None) as batch_op:
        batch_op.drop_index("ix_idx_composite_resource")
        batch_op.drop_index("ix_idx_composite_hash")

    op.drop_table("idx_composite")
