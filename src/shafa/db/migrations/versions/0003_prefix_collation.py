"""Columns searched by prefix in the C collation on PostgreSQL, so LIKE 'x%' uses their index

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-21 23:35:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, column, length): the values string, token :text and uri :below search by prefix.
PREFIX_SEARCHED = (
    ("idx_string", "value", 255),
    ("idx_token", "text", 255),
    ("idx_uri", "uri", 512),
)


def _collate(collation: str | None) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite's LIKE is served by its own rules; nothing to change
    for table, column, length in PREFIX_SEARCHED:
        op.alter_column(
            table,
            column,
            type_=sa.String(length, collation=collation),
            existing_type=sa.String(length),
            # PostgreSQL re-sorts the column's indexes in the new order as it alters it.
            postgresql_using=f'"{column}" COLLATE "{collation or "default"}"',
        )


def upgrade() -> None:
    _collate("C")


def downgrade() -> None:
    _collate(None)
