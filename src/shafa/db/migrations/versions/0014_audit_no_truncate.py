"""The audit log refuses TRUNCATE on PostgreSQL, as it refuses UPDATE and DELETE

PostgreSQL's TRUNCATE fires no row trigger, so the append-only triggers of 0004 let it empty
the log in one statement; a statement-level BEFORE TRUNCATE trigger refuses it. (SQLite has no
TRUNCATE: its DELETE without WHERE fires the row trigger already.) Whoever owns the tables can
still disable the triggers; the hash chains and their heads show what was taken then.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-22 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("audit_log", "audit_patients", "audit_chains")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        # audit_append_only() (0004) raises insufficient_privilege naming the operation.
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table in APPEND_ONLY:
        op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
