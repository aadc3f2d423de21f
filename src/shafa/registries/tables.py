"""The registries' tables, on the one shared MetaData of shafa.db.tables."""

from sqlalchemy import CheckConstraint, Column, Index, Integer, PrimaryKeyConstraint, String, Table

from shafa.db.tables import FHIR_ID, INDEXED_URI, TYPE_NAME, metadata
from shafa.registries.licence_rules import MAX_LICENCE_NUMBER

licence_numbers = Table(
    "licence_numbers",
    metadata,
    # The Identifier.system the number is issued in: health workers' and facilities' licences.
    Column("system", String(INDEXED_URI), nullable=False),
    Column("number", String(MAX_LICENCE_NUMBER), nullable=False),
    Column("holder_type", String(TYPE_NAME), nullable=False),
    Column("holder_id", String(FHIR_ID), nullable=False),
    # One holder a number: the database keeps it so even when two writes race (the second
    # waits for the first to commit, then finds the number taken).
    PrimaryKeyConstraint("system", "number"),
    comment="The licence numbers the registries' resources hold, derived on every write of them.",
)
Index("ix_licence_numbers_holder", licence_numbers.c.holder_type, licence_numbers.c.holder_id)

organization_ancestors = Table(
    "organization_ancestors",
    metadata,
    Column("organization_id", String(FHIR_ID), nullable=False),
    Column("ancestor_id", String(FHIR_ID), nullable=False),
    # 1: the Organization its partOf names, 2: that one's partOf, and so on up to the root.
    Column("depth", Integer, nullable=False),
    # The organisation's kind (its code of Shafa's organization-type), on each of its rows, so
    # that "the pharmacies under a union" is one index range too.
    Column("kind", String(TYPE_NAME), nullable=True),
    PrimaryKeyConstraint("organization_id", "ancestor_id"),
    CheckConstraint("depth >= 1", name="depth_positive"),
    comment="The tree of Organizations through partOf as a closure table: a row for each "
    "organisation and each of its ancestors, with its kind, derived on every write of an "
    "Organization.",
)
# Every descendant of an organisation, nearest first, in one index range (an index-only scan);
# and those of one kind.
Index(
    "ix_organization_ancestors_descendants",
    organization_ancestors.c.ancestor_id,
    organization_ancestors.c.depth,
    organization_ancestors.c.organization_id,
)
Index(
    "ix_organization_ancestors_kind",
    organization_ancestors.c.ancestor_id,
    organization_ancestors.c.kind,
    organization_ancestors.c.depth,
    organization_ancestors.c.organization_id,
)
