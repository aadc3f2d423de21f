"""Citizens registry: one live Patient a FIN (a unique index), and the folded form of
Patients' names (idx_string.folded), filled for the Patients stored before

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shafa.registries.citizens import FOLDED_PARAMETERS
from shafa.registries.citizens.names import fold_name
from shafa.registries.citizens.rules import FIN_SYSTEM

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIN_INDEX = "uq_idx_token_patient_fin"
FIN_ROWS = f"res_type = 'Patient' AND param = 'identifier' AND system = '{FIN_SYSTEM}'"
FOLDED_INDEX = "ix_idx_string_folded"
FOLDED_ROWS = "folded IS NOT NULL"
BATCH = 1000
OLD_COMMENT = (
    "String search values: normalised (lower case, no accents) for matching, exact for :exact."
)
NEW_COMMENT = (
    "String search values: normalised (lower case, no accents) for matching, exact for :exact,"
    " folded for the parameters a context folds (fhir.indexing.Folding)."
)
SHOWN = 20  # duplicated FINs named in the refusal

_idx_string = sa.table(
    "idx_string",
    sa.column("res_type", sa.String()),
    sa.column("param", sa.String()),
    sa.column("value", sa.String()),
    sa.column("exact", sa.String()),
    sa.column("folded", sa.String()),
)
_idx_token = sa.table(
    "idx_token",
    sa.column("resource_pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("param", sa.String()),
    sa.column("system", sa.String()),
    sa.column("code", sa.String()),
)
_resources = sa.table(
    "resources", sa.column("pk", sa.BigInteger()), sa.column("fhir_id", sa.String())
)


def _refuse_duplicated_fins() -> None:
    """Stop, naming them, if Patients stored before share a FIN: the unique index could not be
    built, and which of them is the person is for the registry's keepers to decide."""
    t = _idx_token.c
    shared = (
        sa.select(t.code)
        .where(t.res_type == "Patient", t.param == "identifier", t.system == FIN_SYSTEM)
        .group_by(t.code)
        .having(sa.func.count() > 1)
        .order_by(t.code)
        .limit(SHOWN)
        .subquery()
    )
    rows = (
        op.get_bind()
        .execute(
            sa.select(t.code, _resources.c.fhir_id)
            .join(_resources, _resources.c.pk == t.resource_pk)
            .where(
                t.res_type == "Patient",
                t.param == "identifier",
                t.system == FIN_SYSTEM,
                t.code.in_(sa.select(shared.c.code)),
            )
            .order_by(t.code, _resources.c.fhir_id)
        )
        .all()
    )
    if not rows:
        return
    holders: dict[str, list[str]] = {}
    for code, fhir_id in rows:
        holders.setdefault(code, []).append(f"Patient/{fhir_id}")
    listed = "; ".join(f"FIN {code}: {', '.join(ids)}" for code, ids in holders.items())
    raise RuntimeError(
        "Patients share a FIN, so the citizens registry cannot guarantee one Patient a FIN: "
        f"{listed}. Correct or delete the wrong ones (or take the FIN off all but one), "
        "then run `shafa db upgrade` again."
    )


def _fold_stored_names() -> None:
    """The folded form of every name part of the Patients already stored, as the store now
    writes it on every write of a Patient (fhir.indexing.string_table_rows)."""
    bind = op.get_bind()
    s = _idx_string.c
    names = bind.execute(
        sa.select(s.param, s.value, s.exact)
        .distinct()
        .where(s.res_type == "Patient", s.param.in_(FOLDED_PARAMETERS))
    ).all()
    fold = (
        _idx_string.update()
        .where(
            s.res_type == "Patient",
            s.param == sa.bindparam("b_param"),
            s.value == sa.bindparam("b_value"),
            s.exact == sa.bindparam("b_exact"),
        )
        .values(folded=sa.bindparam("b_folded"))
    )
    for start in range(0, len(names), BATCH):
        keyed = [
            {
                "b_param": param,
                "b_value": value,
                "b_exact": exact,
                "b_folded": fold_name(exact)[:255] or None,
            }
            for param, value, exact in names[start : start + BATCH]
        ]
        bind.execute(fold, keyed)


def upgrade() -> None:
    _refuse_duplicated_fins()
    if op.get_bind().dialect.name == "postgresql":  # SQLite keeps no comments
        op.create_table_comment("idx_string", NEW_COMMENT, existing_comment=OLD_COMMENT)
    folded_type = sa.String(255).with_variant(sa.String(255, collation="C"), "postgresql")
    op.add_column("idx_string", sa.Column("folded", folded_type, nullable=True))
    op.create_index(
        FOLDED_INDEX,
        "idx_string",
        ["res_type", "param", "folded"],
        postgresql_where=sa.text(FOLDED_ROWS),
        sqlite_where=sa.text(FOLDED_ROWS),
    )
    _fold_stored_names()
    op.create_index(
        FIN_INDEX,
        "idx_token",
        ["code"],
        unique=True,
        postgresql_where=sa.text(FIN_ROWS),
        sqlite_where=sa.text(FIN_ROWS),
    )


def downgrade() -> None:
    op.drop_index(FIN_INDEX, table_name="idx_token")
    op.drop_index(FOLDED_INDEX, table_name="idx_string")
    with op.batch_alter_table("idx_string") as batch:
        batch.drop_column("folded")
    if op.get_bind().dialect.name == "postgresql":
        op.create_table_comment("idx_string", OLD_COMMENT, existing_comment=NEW_COMMENT)
