"""The audit log's tables, on the shared MetaData of shafa.db.tables."""

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shafa.db.tables import FHIR_ID, metadata
from shafa.db.types import UtcDateTime

RECORD_ID = 36  # a UUIDv7 in its text form
SHA256_HEX = 64

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", String(RECORD_ID), primary_key=True),
    # Which hash chain the record belongs to, and its place there (1, 2, ...).
    Column("chain", SmallInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("recorded", UtcDateTime, nullable=False),
    Column("action", String(16), nullable=False),
    Column("outcome", String(8), nullable=False),
    Column("outcome_code", String(64), nullable=True),
    Column("user_id", String(FHIR_ID), nullable=True),
    Column("client_id", String(FHIR_ID), nullable=True),
    Column("display", String(255), nullable=True),
    Column("role", String(64), nullable=True),
    Column("organisation", String(FHIR_ID), nullable=True),
    # The patient when the record concerns exactly one (most do): the distribution key of
    # DESIGN's Scale section. `patients` lists them all; audit_patients indexes them.
    Column("patient_id", String(FHIR_ID), nullable=True),
    # JSON arrays of strings, stored as hashed: patient ids; references Type/id[/_history/v].
    Column("patients", Text, nullable=False),
    Column("resources", Text, nullable=False),
    Column("purpose", String(64), nullable=True),
    Column("reason", Text, nullable=True),
    Column("source_ip", String(64), nullable=True),
    Column("user_agent", Text, nullable=True),
    Column("request_id", String(128), nullable=True),
    Column("query", Text, nullable=True),
    # SHA-256 (hex) of the previous record of the chain (GENESIS for seq 1), and this record's:
    # SHA-256 of prev_hash then the SHA-256 of its canonical content (audit.record_hash).
    Column("prev_hash", String(SHA256_HEX), nullable=False),
    Column("hash", String(SHA256_HEX), nullable=False),
    # Two records can never claim the same place in a chain: a fork is refused by the database.
    UniqueConstraint("chain", "seq"),
    CheckConstraint("seq >= 1", name="seq_positive"),
    CheckConstraint(
        "action IN ('read', 'vread', 'search', 'create', 'update', 'patch', 'delete', "
        "'history', 'export', 'login', 'logout', 'login-refused', 'access-refused', "
        "'break-glass')",
        name="action_known",
    ),
    CheckConstraint("outcome IN ('success', 'refused', 'error')", name="outcome_known"),
    comment="The audit log: one append-only, hash-chained record of every access and change.",
)
Index("ix_audit_log_recorded", audit_log.c.recorded)
Index("ix_audit_log_user_recorded", audit_log.c.user_id, audit_log.c.recorded)

audit_patients = Table(
    "audit_patients",
    metadata,
    Column("patient_id", String(FHIR_ID), nullable=False),
    Column("recorded", UtcDateTime, nullable=False),
    Column("record_id", String(RECORD_ID), nullable=False),
    # Who accessed my record, newest first, key-paged: one range scan of this key.
    PrimaryKeyConstraint("patient_id", "recorded", "record_id"),
    comment="Every patient an audit record concerns (derived from audit_log.patients).",
)

audit_chains = Table(
    "audit_chains",
    metadata,
    Column("chain", SmallInteger, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    # The hash of the record before the head: lets PostgreSQL's UPDATE ... RETURNING hand back
    # the old head with the new (see audit._APPEND_POSTGRESQL).
    Column("prev_hash", String(SHA256_HEX), nullable=False),
    Column("hash", String(SHA256_HEX), nullable=False),
    comment="The head of each audit hash chain: its last sequence number and hash.",
)
