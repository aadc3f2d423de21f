"""Every table of Shafa, declared once on one MetaData (SQLAlchemy Core)."""

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from shafa.db.types import UtcDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BigInteger surrogate keys autoincrement on SQLite only when declared as INTEGER there.
Pk = BigInteger().with_variant(Integer(), "sqlite")

FHIR_ID = 64  # FHIR R4 id: [A-Za-z0-9\-\.]{1,64}
TYPE_NAME = 64
INDEXED_TEXT = 255  # index values are truncated here; the resource itself keeps the full text
INDEXED_URI = 512


def prefix_searched(length: int) -> Any:
    """A text column searched by prefix (LIKE 'x%'): byte order ("C" collation) on PostgreSQL.

    A btree index serves LIKE 'x%' only under the C collation (or a *_pattern_ops class); a
    database created with a linguistic default (en_US.UTF-8, ICU) would scan every row instead.
    Sorting by these columns is then code-point order, as the search documentation says.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


resources = Table(
    "resources",
    metadata,
    Column("pk", Pk, primary_key=True, autoincrement=True),
    Column("res_type", String(TYPE_NAME), nullable=False),
    Column("fhir_id", String(FHIR_ID), nullable=False),
    Column("version", Integer, nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    # The patient whose compartment owns the resource: the future distribution key (DESIGN, Scale).
    Column("patient_id", String(FHIR_ID), nullable=True),
    # Which idx_* tables hold rows of this resource (bit i = INDEX_TABLE_ORDER[i]), so an update
    # deletes old index rows only where there are some.
    Column("index_mask", SmallInteger, nullable=False, default=0),
    # The current version as served (meta.versionId and meta.lastUpdated already set); NULL
    # once deleted.
    Column("content", Text, nullable=True),
    UniqueConstraint("res_type", "fhir_id"),
    CheckConstraint("version >= 1", name="version_positive"),
    CheckConstraint("deleted OR content IS NOT NULL", name="live_has_content"),
    comment="The current version of every FHIR resource, one row a resource.",
)
# Live resources only: a count of a whole type (_summary=count) becomes an index-only scan
# (2 s -> 18 ms for 132,000 of 1,000,000 resources), and _lastUpdated searches want live ones.
_LIVE = text("deleted IS false")
Index(
    "ix_resources_type_updated",
    resources.c.res_type,
    resources.c.last_updated,
    postgresql_where=_LIVE,
    sqlite_where=_LIVE,
)
Index("ix_resources_patient", resources.c.patient_id)

resource_versions = Table(
    "resource_versions",
    metadata,
    Column("resource_pk", Pk, ForeignKey("resources.pk"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("res_type", String(TYPE_NAME), nullable=False),
    Column("fhir_id", String(FHIR_ID), nullable=False),
    Column("last_updated", UtcDateTime, nullable=False),
    # The interaction that made this version: POST, PUT, PATCH or DELETE.
    Column("method", String(6), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("patient_id", String(FHIR_ID), nullable=True),
    Column("content", Text, nullable=True),
    PrimaryKeyConstraint("resource_pk", "version"),
    CheckConstraint("method IN ('POST', 'PUT', 'PATCH', 'DELETE')", name="method_known"),
    CheckConstraint("deleted OR content IS NOT NULL", name="live_has_content"),
    comment="Every version of every resource, deletions included (history and vread).",
)
Index("ix_resource_versions_updated", resource_versions.c.last_updated)
Index("ix_resource_versions_type_id", resource_versions.c.res_type, resource_versions.c.fhir_id)
Index(
    "ix_resource_versions_type_updated",
    resource_versions.c.res_type,
    resource_versions.c.last_updated,
)


def _index_table(name: str, comment: str, *value_columns: Column[Any]) -> Table:
    """One search-index table: rows extracted on write, replaced on every update.

    resource_pk has no foreign key, deliberately: index rows are derived data that only the
    store writes and deletes, always in the same statement or transaction as their resource
    row. A foreign key would add a lookup and a row lock on the resource for every index row
    (about 15 a write, measured at half the database time of a create) and guard against
    nothing the store does not already ensure.
    """
    table = Table(
        name,
        metadata,
        Column("resource_pk", Pk, nullable=False),
        Column("res_type", String(TYPE_NAME), nullable=False),
        Column("param", String(TYPE_NAME), nullable=False),
        *value_columns,
        comment=comment,
    )
    Index(f"ix_{name}_resource", table.c.resource_pk)
    return table


idx_string = _index_table(
    "idx_string",
    "String search values: normalised (lower case, no accents) for matching, exact for :exact,"
    " folded for the parameters a context folds (fhir.indexing.Folding).",
    Column("value", prefix_searched(INDEXED_TEXT), nullable=False),
    Column("exact", String(INDEXED_TEXT), nullable=False),
    Column("folded", prefix_searched(INDEXED_TEXT), nullable=True),
)
Index("ix_idx_string_value", idx_string.c.res_type, idx_string.c.param, idx_string.c.value)
# Only the folded rows (a few parameters of a few types) are in it, so it stays small.
_FOLDED = text("folded IS NOT NULL")
Index(
    "ix_idx_string_folded",
    idx_string.c.res_type,
    idx_string.c.param,
    idx_string.c.folded,
    postgresql_where=_FOLDED,
    sqlite_where=_FOLDED,
)

idx_token = _index_table(
    "idx_token",
    "Token search values: system and code, and the display text for :text.",
    Column("system", String(INDEXED_URI), nullable=True),
    Column("code", String(INDEXED_TEXT), nullable=True),
    Column("text", prefix_searched(INDEXED_TEXT), nullable=True),
)
Index(
    "ix_idx_token_code",
    idx_token.c.res_type,
    idx_token.c.param,
    idx_token.c.code,
    idx_token.c.system,
)


def unique_token_index(name: str, res_type: str, param: str, system: str) -> Index:
    """A partial unique index on idx_token: among live resources of res_type, at most one
    holds a given code of param under system (a national ID, say).

    A deleted resource has no index rows, so it holds nothing. The store refuses a write
    that would break it before writing (fhir.unique), with a clear answer; the index is what
    holds under concurrent writers. The values become SQL text, so they must be plain.
    """
    for value in (res_type, param, system):
        if "'" in value or "\\" in value:
            raise ValueError(f"{value!r} cannot be put in an index predicate")
    where = text(f"res_type = '{res_type}' AND param = '{param}' AND system = '{system}'")
    return Index(name, idx_token.c.code, unique=True, postgresql_where=where, sqlite_where=where)


idx_date = _index_table(
    "idx_date",
    "Date search values as the closed UTC range [low, high] the FHIR value covers.",
    Column("low", UtcDateTime, nullable=False),
    Column("high", UtcDateTime, nullable=False),
)
Index("ix_idx_date_low", idx_date.c.res_type, idx_date.c.param, idx_date.c.low)
Index("ix_idx_date_high", idx_date.c.res_type, idx_date.c.param, idx_date.c.high)

idx_number = _index_table(
    "idx_number",
    "Number search values.",
    Column("value", Numeric, nullable=False),
)
Index("ix_idx_number_value", idx_number.c.res_type, idx_number.c.param, idx_number.c.value)

idx_quantity = _index_table(
    "idx_quantity",
    "Quantity search values with their unit system and code.",
    Column("value", Numeric, nullable=False),
    Column("system", String(INDEXED_URI), nullable=True),
    Column("code", String(INDEXED_TEXT), nullable=True),
    Column("unit", String(INDEXED_TEXT), nullable=True),
)
Index("ix_idx_quantity_value", idx_quantity.c.res_type, idx_quantity.c.param, idx_quantity.c.value)

idx_uri = _index_table(
    "idx_uri",
    "URI and canonical search values.",
    Column("uri", prefix_searched(INDEXED_URI), nullable=False),
)
Index("ix_idx_uri_uri", idx_uri.c.res_type, idx_uri.c.param, idx_uri.c.uri)

idx_reference = _index_table(
    "idx_reference",
    "Reference search values: the target's type and id when local, else its absolute URL.",
    Column("target_type", String(TYPE_NAME), nullable=True),
    Column("target_id", String(FHIR_ID), nullable=True),
    Column("url", String(INDEXED_URI), nullable=True),
)
Index(
    "ix_idx_reference_target",
    idx_reference.c.target_id,
    idx_reference.c.target_type,
    idx_reference.c.param,
)

idx_composite = _index_table(
    "idx_composite",
    "Composite search values, one row for each element and combination of its component values;"
    " and the (type, value) pairs of Identifiers for token :of-type.",
    # A 64-bit hash of the components matched exactly (token, reference, uri), in one of the
    # forms a search can ask for them (see fhir.indexing, composite rows).
    Column("hash", BigInteger, nullable=False),
    # The components compared by prefix or range: a quantity (value and unit) or a number,
    # a second number, a date range, a string.
    Column("value", Numeric, nullable=True),
    Column("system", String(INDEXED_URI), nullable=True),
    Column("code", String(INDEXED_TEXT), nullable=True),
    Column("unit", String(INDEXED_TEXT), nullable=True),
    Column("value2", Numeric, nullable=True),
    Column("low", UtcDateTime, nullable=True),
    Column("high", UtcDateTime, nullable=True),
    Column("text", String(INDEXED_TEXT), nullable=True),
)
# One probe for the exact components, a range scan within it for a quantity or the first number.
Index(
    "ix_idx_composite_hash",
    idx_composite.c.res_type,
    idx_composite.c.param,
    idx_composite.c.hash,
    idx_composite.c.value,
)

INDEX_TABLES = {
    "string": idx_string,
    "token": idx_token,
    "date": idx_date,
    "number": idx_number,
    "quantity": idx_quantity,
    "uri": idx_uri,
    "reference": idx_reference,
    "composite": idx_composite,
}

INDEX_TABLE_ORDER = tuple(INDEX_TABLES)
