"""Security's tables, on the one shared MetaData of shafa.db.tables: accounts and login
sessions; OAuth2 clients, signing keys, authorization codes and refresh tokens; the audit log.

Passwords, secrets, session ids, codes and refresh tokens are stored only as hashes: a copy of the
database hands out no credential.
"""

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from shafa.db.tables import FHIR_ID, Pk, metadata
from shafa.db.types import UtcDateTime
from shafa.security.rules import Kind, Role

# --- Accounts and sessions ------------------------------------------------------------------


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

login_throttle = Table(
    "login_throttle",
    metadata,
    # SHA-256 of the normalised username tried: the names guessers type are not kept.
    Column("username_digest", String(64), primary_key=True),
    Column("failed_attempts", Integer, nullable=False),
    Column("locked_until", UtcDateTime, nullable=True),
    Column("last_attempt", UtcDateTime, nullable=False),
    CheckConstraint("failed_attempts >= 0", name="failed_attempts_not_negative"),
    comment="Failed logins under usernames no account has, counted and locked as an account's "
    "are, so that a lockout does not tell which usernames exist.",
)
Index("ix_login_throttle_last_attempt", login_throttle.c.last_attempt)


# --- OAuth2 --------------------------------------------------------------------------------

CLIENT_ID = 64
TOKEN_HASH = 64  # SHA-256, hex
KID = 64
URI = 1024
NONCE = 255  # an OpenID Connect nonce: the app's random value, bounded here

oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", String(CLIENT_ID), primary_key=True),
    # argon2id hash of the client secret (PHC string); NULL for a public client (PKCE only).
    Column("secret_hash", String(255), nullable=True),
    Column("name", String(200), nullable=False),
    # Space-separated SMART scopes the client may be granted (canonical v2 forms).
    Column("scopes", Text, nullable=False),
    # Space-separated OAuth2 grant types it may use.
    Column("grant_types", String(200), nullable=False),
    # Space-separated redirect URIs registered for the authorization code grant.
    Column("redirect_uris", Text, nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created", UtcDateTime, nullable=False),
    CheckConstraint("length(name) > 0", name="name_not_empty"),
    comment="OAuth2 clients: systems and apps that may ask the token endpoint for tokens.",
)

signing_keys = Table(
    "signing_keys",
    metadata,
    Column("kid", String(KID), primary_key=True),
    Column("algorithm", String(16), nullable=False),
    # The public key as a JWK (RFC 7517), JSON text, served in the JWKS.
    Column("public_jwk", Text, nullable=False),
    # The private key, PKCS#8 PEM.
    Column("private_key", Text, nullable=False),
    Column("created", UtcDateTime, nullable=False),
    # When it became the signing key; the newest activated, unretired key signs.
    Column("activated", UtcDateTime, nullable=True),
    # From this instant on it verifies nothing and leaves the JWKS; set at rotation to the
    # rotation time plus the longest access token lifetime.
    Column("retired", UtcDateTime, nullable=True),
    CheckConstraint("algorithm IN ('ES256', 'RS256')", name="algorithm_known"),
    comment="Asymmetric keys that sign access tokens, rotated by `shafa keys rotate`.",
)

authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("code_hash", String(TOKEN_HASH), primary_key=True),
    Column("client_id", String(CLIENT_ID), ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("redirect_uri", String(URI), nullable=False),
    # RFC 7636: BASE64URL(SHA256(code_verifier)); only the S256 method is accepted.
    Column("code_challenge", String(128), nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("fhir_user", String(200), nullable=True),
    Column("patient", String(FHIR_ID), nullable=True),
    # OpenID Connect Core §3.1.2.1: the app's nonce, returned in the id_token.
    Column("nonce", String(NONCE), nullable=True),
    Column("created", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
    # When it was exchanged; a second exchange is refused and revokes what the first got.
    Column("used", UtcDateTime, nullable=True),
    # The refresh token family the exchange started, if any (RFC 6749 §4.1.2: revoke on reuse).
    Column("refresh_family", String(TOKEN_HASH), nullable=True),
    comment="Authorization codes the login issues, each exchanged once with its PKCE verifier.",
)

refresh_tokens = Table(
    "refresh_tokens",
    metadata,
    Column("token_hash", String(TOKEN_HASH), primary_key=True),
    # Every token rotated from one grant shares its family; reuse of any revokes them all.
    Column("family", String(TOKEN_HASH), nullable=False),
    Column("client_id", String(CLIENT_ID), ForeignKey("oauth_clients.client_id"), nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("fhir_user", String(200), nullable=True),
    Column("patient", String(FHIR_ID), nullable=True),
    Column("created", UtcDateTime, nullable=False),
    # The family's end: rotation hands the new token the same expiry.
    Column("expires", UtcDateTime, nullable=False),
    # When it was exchanged for a new one; from then on presenting it is reuse.
    Column("used", UtcDateTime, nullable=True),
    Column("revoked", Boolean, nullable=False, default=False),
    comment="Refresh tokens (hashed), rotated on every use; reuse revokes the whole family.",
)
Index("ix_refresh_tokens_family", refresh_tokens.c.family)


# --- The audit log --------------------------------------------------------------------------

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

# --- Who may see a patient's data: care relationships, break-the-glass, Consent ---------------

care_links = Table(
    "care_links",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("patient_id", String(FHIR_ID), nullable=False),
    Column("organization_id", String(FHIR_ID), nullable=True),
    Column("practitioner_id", String(FHIR_ID), nullable=True),
    # The resource that states the relationship (resources.pk): its rows are replaced whenever
    # it is written, in the same transaction, like search index rows.
    Column("source_pk", Pk, nullable=False),
    Column("source_type", String(64), nullable=False),
    Column("starts", UtcDateTime, nullable=True),
    Column("ends", UtcDateTime, nullable=True),
    CheckConstraint(
        "organization_id IS NOT NULL OR practitioner_id IS NOT NULL", name="links_someone"
    ),
    comment="Care relationships derived from Patient, Encounter, Appointment, EpisodeOfCare, "
    "CareTeam and ServiceRequest: which organisation or practitioner cares for which patient.",
)
Index("ix_care_links_patient_org", care_links.c.patient_id, care_links.c.organization_id)
Index("ix_care_links_patient_practitioner", care_links.c.patient_id, care_links.c.practitioner_id)
Index("ix_care_links_source", care_links.c.source_pk)

consent_rules = Table(
    "consent_rules",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("patient_id", String(FHIR_ID), nullable=False),
    Column("source_pk", Pk, nullable=False),  # the Consent resource (resources.pk)
    Column("effect", String(8), nullable=False),
    Column("label_system", String(255), nullable=False),
    Column("label_code", String(64), nullable=False),
    # deny: the organisation denied, NULL for everyone; permit: the organisation excepted.
    Column("organization_id", String(FHIR_ID), nullable=True),
    Column("starts", UtcDateTime, nullable=True),
    Column("ends", UtcDateTime, nullable=True),
    CheckConstraint("effect IN ('deny', 'permit')", name="effect_known"),
    CheckConstraint(
        "effect = 'deny' OR organization_id IS NOT NULL", name="permit_names_organization"
    ),
    comment="What a patient's active privacy Consents hide: resources with a security label, "
    "from everyone or from named organisations, with the organisations excepted.",
)
Index("ix_consent_rules_patient", consent_rules.c.patient_id, consent_rules.c.effect)
Index("ix_consent_rules_source", consent_rules.c.source_pk)

break_glass = Table(
    "break_glass",
    metadata,
    Column("id", Pk, primary_key=True, autoincrement=True),
    Column("user_id", Pk, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("patient_id", String(FHIR_ID), nullable=False),
    Column("reason", Text, nullable=False),
    Column("started", UtcDateTime, nullable=False),
    Column("expires", UtcDateTime, nullable=False),
    Column("audit_record", String(RECORD_ID), nullable=True),
    # Every emergency access is reviewed afterwards by someone else (DESIGN, Security).
    Column("reviewed_by", Pk, ForeignKey("users.id"), nullable=True),
    Column("reviewed_at", UtcDateTime, nullable=True),
    Column("review_note", Text, nullable=True),
    CheckConstraint("expires > started", name="expires_after_start"),
    comment="Break-the-glass: a professional's emergency access to a patient, with the "
    "stated reason, until it expires; flagged until reviewed.",
)
Index("ix_break_glass_user_patient", break_glass.c.user_id, break_glass.c.patient_id)
Index("ix_break_glass_unreviewed", break_glass.c.reviewed_at, break_glass.c.started)
