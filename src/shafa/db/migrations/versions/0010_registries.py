"""The registries' tables: licence numbers held by Practitioners and Organizations, one holder
each (licence_numbers), and the Organizations' tree (organization_ancestors), both filled from
the stored resources

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22 12:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shafa.fhir import jsonio
from shafa.registries import codes, facilities_rules, workforce_rules

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 2000
_resources = sa.table(
    "resources",
    sa.column("pk", sa.BigInteger()),
    sa.column("res_type", sa.String()),
    sa.column("fhir_id", sa.String()),
    sa.column("deleted", sa.Boolean()),
    sa.column("content", sa.Text()),
)
_licence_numbers = sa.table(
    "licence_numbers",
    sa.column("system", sa.String()),
    sa.column("number", sa.String()),
    sa.column("holder_type", sa.String()),
    sa.column("holder_id", sa.String()),
)
_organization_ancestors = sa.table(
    "organization_ancestors",
    sa.column("organization_id", sa.String()),
    sa.column("ancestor_id", sa.String()),
    sa.column("depth", sa.Integer()),
    sa.column("kind", sa.String()),
)
_HOLDERS = {
    "Practitioner": (codes.PRACTITIONER_LICENCE, workforce_rules.licence_numbers),
    "Organization": (codes.FACILITY_LICENCE, facilities_rules.licence_numbers),
}


def upgrade() -> None:
    op.create_table(
        "licence_numbers",
        sa.Column("system", sa.String(length=512), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("holder_type", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("system", "number", name=op.f("pk_licence_numbers")),
        comment="The licence numbers the registries' resources hold, derived on every write of "
        "them.",
    )
    op.create_index("ix_licence_numbers_holder", "licence_numbers", ["holder_type", "holder_id"])
    op.create_table(
        "organization_ancestors",
        sa.Column("organization_id", sa.String(length=64), nullable=False),
        sa.Column("ancestor_id", sa.String(length=64), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=True),
        sa.CheckConstraint("depth >= 1", name=op.f("ck_organization_ancestors_depth_positive")),
        sa.PrimaryKeyConstraint(
            "organization_id", "ancestor_id", name=op.f("pk_organization_ancestors")
        ),
        comment="The tree of Organizations through partOf as a closure table: a row for each "
        "organisation and each of its ancestors, with its kind, derived on every write of an "
        "Organization.",
    )
    op.create_index(
        "ix_organization_ancestors_descendants",
        "organization_ancestors",
        ["ancestor_id", "depth", "organization_id"],
    )
    op.create_index(
        "ix_organization_ancestors_kind",
        "organization_ancestors",
        ["ancestor_id", "kind", "depth", "organization_id"],
    )
    _derive_stored_numbers()
    _derive_stored_tree()


def _derive_stored_numbers() -> None:
    """The numbers of the licences stored before this revision, found by the code that finds
    them on every write. A number stored twice before stays its first holder's."""
    bind = op.get_bind()
    r = _resources.c
    taken: set[tuple[str, str]] = set()
    last = 0
    while True:
        batch = bind.execute(
            sa.select(r.pk, r.res_type, r.fhir_id, r.content)
            .where(r.deleted.is_(False), r.res_type.in_(sorted(_HOLDERS)), r.pk > last)
            .order_by(r.pk)
            .limit(BATCH)
        ).all()
        if not batch:
            return
        last = batch[-1].pk
        rows = []
        for _pk, res_type, fhir_id, content in batch:
            system, numbers_of = _HOLDERS[res_type]
            for _index, number in numbers_of(jsonio.parse(content)):
                if (system, number) not in taken and len(number) <= 64:
                    taken.add((system, number))
                    rows.append(
                        {
                            "system": system,
                            "number": number,
                            "holder_type": res_type,
                            "holder_id": fhir_id,
                        }
                    )
        if rows:
            bind.execute(_licence_numbers.insert(), rows)


def _derive_stored_tree() -> None:
    """The ancestors of the Organizations stored before this revision, worked out by the code
    that works them out on every write (a cycle stored before is cut where it closes)."""
    bind = op.get_bind()
    r = _resources.c
    parents: dict[str, str | None] = {}
    kinds: dict[str, str | None] = {}
    last = 0
    while True:
        batch = bind.execute(
            sa.select(r.pk, r.fhir_id, r.content)
            .where(r.deleted.is_(False), r.res_type == "Organization", r.pk > last)
            .order_by(r.pk)
            .limit(BATCH)
        ).all()
        if not batch:
            break
        last = batch[-1].pk
        for _pk, fhir_id, content in batch:
            organization = jsonio.parse(content)
            parents[fhir_id] = facilities_rules.parent_of(organization)
            kinds[fhir_id] = facilities_rules.kind_of(organization)
    chains, _looping = facilities_rules.ancestor_chains(parents, {})
    rows = [
        {
            "organization_id": fhir_id,
            "ancestor_id": ancestor,
            "depth": depth,
            "kind": kinds[fhir_id],
        }
        for fhir_id, chain in chains.items()
        for depth, ancestor in enumerate(chain, start=1)
    ]
    for start in range(0, len(rows), BATCH):
        bind.execute(_organization_ancestors.insert(), rows[start : start + BATCH])


def downgrade() -> None:
    op.drop_index("ix_organization_ancestors_kind", table_name="organization_ancestors")
    op.drop_index("ix_organization_ancestors_descendants", table_name="organization_ancestors")
    op.drop_table("organization_ancestors")
    op.drop_index("ix_licence_numbers_holder", table_name="licence_numbers")
    op.drop_table("licence_numbers")
