"""Failed logins under unknown usernames are throttled like an account's: login_throttle

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22 04:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("username_digest", sa.String(length=64), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("last_attempt", shafa.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint(
            "failed_attempts >= 0", name=op.f("ck_login_throttle_failed_attempts_not_negative")
        ),
        sa.PrimaryKeyConstraint("username_digest", name=op.f("pk_login_throttle")),
        comment="Failed logins under usernames no account has, counted and locked as an "
        "account's are, so that a lockout does not tell which usernames exist.",
    )
    op.create_index(
        "ix_login_throttle_last_attempt", "login_throttle", ["last_attempt"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_login_throttle_last_attempt", table_name="login_throttle")
    op.drop_table("login_throttle")
