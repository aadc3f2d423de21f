"""The tables of accounts and login sessions, on the shared MetaData of shafa.db.tables."""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from shafa.db.tables import FHIR_ID, Pk, metadata
from shafa.db.types import UtcDateTime
from shafa.security.rules import Kind, Role


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


users = Table(
    "users",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("username", String(64), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("role", String(32), nullable=False),
    Column("display_name", String(200), nullable=False),
    # Argon2id in PHC string format ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
    Column("password_hash", String(255), nullable=False),
    # Base32 TOTP secret (RFC 6238) of staff accounts, and the time step of the last code used,
    # so a code cannot be replayed.
    Column("totp_secret", String(64), nullable=True),
    Column("totp_last_step", BigInteger, nullable=True),
    # Staff: the FHIR resources the account acts as (ids, without the type).
    Column("organization_id", String(FHIR_ID), nullable=True),
    Column("practitioner_id", String(FHIR_ID), nullable=True),
    Column("practitioner_role_id", String(FHIR_ID), nullable=True),
    # Citizens: their Patient and national ID.
    Column("patient_id", String(FHIR_ID), nullable=True),
    Column("fin", String(7), nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("username"),
    UniqueConstraint("fin"),
    CheckConstraint(_one_of("kind", tuple(kind.value for kind in Kind)), name="kind_known"),
    CheckConstraint(_one_of("role", tuple(role.value for role in Role)), name="role_known"),
    CheckConstraint(
        "(kind = 'citizen' AND role = 'citizen') OR (kind = 'staff' AND role <> 'citizen')",
        name="role_fits_kind",
    ),
    CheckConstraint(
        "kind <> 'staff' OR (organization_id IS NOT NULL AND practitioner_id IS NOT NULL"
        " AND totp_secret IS NOT NULL AND patient_id IS NULL AND fin IS NULL)",
        name="staff_linked",
    ),
    CheckConstraint(
        "kind <> 'citizen' OR (patient_id IS NOT NULL AND fin IS NOT NULL"
        " AND organization_id IS NULL AND practitioner_id IS NULL)",
        name="citizen_linked",
    ),
    CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    comment="Accounts of staff and citizens: credentials, lockout state and their FHIR links.",
)
Index("ix_users_patient", users.c.patient_id)

sessions = Table(
    "sessions",
    metadata,
    # SHA-256 of the random session id the cookie carries: a copy of the table opens no session.
    Column("id_hash", String(64), primary_key=True),
    Column("user_id", Pk, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("last_seen_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("revoked_at", UtcDateTime, nullable=True),
    CheckConstraint("expires_at > created_at", name="expires_after_created"),
    comment="Web login sessions: hashed id, owner, CSRF token, last use, expiry and logout.",
)
Index("ix_sessions_user", sessions.c.user_id)
