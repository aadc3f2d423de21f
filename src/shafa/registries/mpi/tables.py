"""What the master patient index keeps beside the FHIR store: the compared fields and the
blocking keys of every matchable Patient (derived on each write, like security's care_links),
the review queue of likely duplicates, and the merges done, so that each can be undone."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shafa.db.tables import FHIR_ID, Pk, metadata
from shafa.db.types import UtcDateTime

REVIEW_STATUSES = ("open", "merged", "not-duplicate")

mpi_patients = Table(
    "mpi_patients",
    metadata,
    Column("patient_id", String(FHIR_ID), primary_key=True),
    # rules.Features.as_json: names (as written and folded), FIN, birth date, sex, districts,
    # phones. Derived from the Patient on every write; never edited.
    Column("features", Text, nullable=False),
    comment="The fields duplicate detection compares of each matchable Patient (derived).",
)

mpi_keys = Table(
    "mpi_keys",
    metadata,
    # rules.key_hash of a rules.blocking_keys key.
    Column("key", BigInteger, nullable=False),
    Column("patient_id", String(FHIR_ID), nullable=False),
    PrimaryKeyConstraint("key", "patient_id"),
    comment="Blocking keys: a Patient under each key it is filed under (derived).",
)
Index("ix_mpi_keys_patient", mpi_keys.c.patient_id)

mpi_reviews = Table(
    "mpi_reviews",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    # The pair, the smaller id first, so a pair has one item whichever was written last.
    Column("patient_a", String(FHIR_ID), nullable=False),
    Column("patient_b", String(FHIR_ID), nullable=False),
    Column("weight", Float, nullable=False),
    Column("score", Float, nullable=False),
    Column("grade", String(16), nullable=False),
    # {field: rules.Level} as JSON: what the reviewer is shown side by side.
    Column("agreement", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("found_at", UtcDateTime, nullable=False),
    Column("decided_at", UtcDateTime, nullable=True),
    Column("decided_by", String(255), nullable=True),  # user id and name, or the client id
    Column("survivor_id", String(FHIR_ID), nullable=True),
    UniqueConstraint("patient_a", "patient_b"),
    CheckConstraint("patient_a < patient_b", name="pair_ordered"),
    CheckConstraint(
        "status IN (" + ", ".join(f"'{status}'" for status in REVIEW_STATUSES) + ")",
        name="status_known",
    ),
    CheckConstraint("status = 'open' OR decided_at IS NOT NULL", name="decided_when"),
    comment="Pairs of Patients that may be one person, for a registry administrator to decide.",
)
Index("ix_mpi_reviews_status", mpi_reviews.c.status, mpi_reviews.c.weight)
Index("ix_mpi_reviews_patient_b", mpi_reviews.c.patient_b)

mpi_merges = Table(
    "mpi_merges",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("duplicate_id", String(FHIR_ID), nullable=False),
    Column("survivor_id", String(FHIR_ID), nullable=False),
    Column("merged_at", UtcDateTime, nullable=False),
    Column("merged_by", String(255), nullable=False),
    # The duplicate's Patient.active before the merge: "true", "false" or "absent".
    Column("duplicate_active", String(8), nullable=False),
    # {"references": [[type, id, [path, ...]], ...], "fins": [Identifier, ...]}: the References
    # moved to the survivor (rules.Path), and the duplicate's FIN, moved with them.
    Column("moved", Text, nullable=False),
    Column("moved_count", Integer, nullable=False),
    Column("unmerged_at", UtcDateTime, nullable=True),
    Column("unmerged_by", String(255), nullable=True),
    CheckConstraint("duplicate_id <> survivor_id", name="not_itself"),
    comment="Each merge of a duplicate Patient into a survivor, and what unmerge moves back.",
)
Index("ix_mpi_merges_duplicate", mpi_merges.c.duplicate_id)
Index("ix_mpi_merges_survivor", mpi_merges.c.survivor_id)
