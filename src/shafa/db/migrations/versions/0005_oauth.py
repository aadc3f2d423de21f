"""OAuth2 clients, signing keys, authorization codes and refresh tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-21 23:27:11.773402
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import shafa.db.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "oauth_clients",
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("secret_hash", sa.String(length=255), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("scopes", sa.Text(), nullable=False),
        sa.Column("grant_types", sa.String(length=200), nullable=False),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created", shafa.db.types.UtcDateTime(), nullable=False),
        sa.CheckConstraint("length(name) > 0", name=op.f("ck_oauth_clients_name_not_empty")),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_oauth_clients")),
        comment="OAuth2 clients: systems and apps that may ask the token endpoint for tokens.",
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("activated", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("retired", shafa.db.types.UtcDateTime(), nullable=True),
        sa.CheckConstraint(
            "algorithm IN ('ES256', 'RS256')", name=op.f("ck_signing_keys_algorithm_known")
        ),
        sa.PrimaryKeyConstraint("kid", name=op.f("pk_signing_keys")),
        comment="Asymmetric keys that sign access tokens, rotated by `shafa keys rotate`.",
    )
    op.create_table(
        "authorization_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_uri", sa.String(length=1024), nullable=False),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("fhir_user", sa.String(length=200), nullable=True),
        sa.Column("patient", sa.String(length=64), nullable=True),
        sa.Column("created", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("used", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("refresh_family", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.client_id"],
            name=op.f("fk_authorization_codes_client_id_oauth_clients"),
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_authorization_codes")),
        comment="Authorization codes the login issues, each exchanged once with its PKCE verifier.",
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("family", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("fhir_user", sa.String(length=200), nullable=True),
        sa.Column("patient", sa.String(length=64), nullable=True),
        sa.Column("created", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("expires", shafa.db.types.UtcDateTime(), nullable=False),
        sa.Column("used", shafa.db.types.UtcDateTime(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.client_id"],
            name=op.f("fk_refresh_tokens_client_id_oauth_clients"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_refresh_tokens")),
        comment="Refresh tokens (hashed), rotated on every use; reuse revokes the whole family.",
    )
    op.create_index("ix_refresh_tokens_family", "refresh_tokens", ["family"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_table("authorization_codes")
    op.drop_table("signing_keys")
    op.drop_table("oauth_clients")
