"""Settings: one typed object read from SHAFA_* environment variables, failing fast."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Shafa's settings; every field can be set as SHAFA_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="SHAFA_", env_file=None, extra="ignore")

    # The embedded default: a SQLite file beside where Shafa runs, so a demo needs nothing else.
    database_url: str = "sqlite+aiosqlite:///./shafa.db"
    # Connections a worker keeps open to PostgreSQL. A request that finds none free opens a new
    # one (connect, TLS negotiation, close): an order of magnitude dearer than the query, so
    # the pool must cover the concurrent requests a worker sees. Searches have a pool of their
    # own (db.engine.create_search_engine). 2 workers x (30 + 15) stays within PostgreSQL's
    # default max_connections of 100.
    database_pool_size: int = Field(default=20, ge=1, le=500)
    database_pool_overflow: int = Field(default=10, ge=0, le=500)
    database_search_pool_size: int = Field(default=10, ge=1, le=500)
    database_search_pool_overflow: int = Field(default=5, ge=0, le=500)
    # Public base URL of the FHIR API, used in Location headers and Bundle links when set;
    # otherwise derived from each request.
    base_url: str | None = None
    # Largest request body accepted (issue: >= 50 MB for transaction bundles); larger gets 413.
    max_body_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    # Default and largest page size of _history and search Bundles.
    default_page_size: int = Field(default=50, ge=1, le=1000)
    max_page_size: int = Field(default=1000, ge=1, le=10000)
    # Entries a batch or transaction Bundle may carry.
    max_bundle_entries: int = Field(default=20000, ge=1)
    # OAuth2 issuer: the server's public root URL (e.g. https://shafa.example.az), the iss of
    # every access token; their aud is the FHIR base URL (base_url, or this + /fhir). Unset,
    # both are derived from each request, which suits development only.
    oauth_issuer: str | None = None
    # Every FHIR interaction but the CapabilityStatement and SMART discovery needs a bearer
    # access token whose scopes grant it. Only a local demo (make run) turns this off.
    fhir_auth_required: bool = True
    # Algorithm of the keys that sign access tokens (RFC 7518 §3.1); verification accepts no
    # other. ES256 tokens and keys are smaller and faster to make than RS256 ones.
    signing_algorithm: Literal["ES256", "RS256"] = "ES256"
    # Encrypts the signing keys' private parts at rest (PKCS#8 under the passphrase), so a copy
    # of the database or of a backup signs no token. Give it as a mounted secret file
    # (SHAFA_SIGNING_KEY_PASSPHRASE_FILE) or directly; unset, keys are stored unencrypted, which
    # suits development only. `shafa keys encrypt` encrypts keys made before it was set.
    signing_key_passphrase: SecretStr | None = None
    signing_key_passphrase_file: Path | None = None
    # Access tokens are short-lived (SMART App Launch 2.0 suggests minutes, not hours), so a
    # leaked token is worth little and a disabled client loses access quickly.
    access_token_seconds: int = Field(default=600, ge=60, le=3600)
    # A refresh token family's whole life; every use rotates it within that life.
    refresh_token_seconds: int = Field(default=30 * 24 * 3600, ge=300, le=365 * 24 * 3600)
    # RFC 6749 §4.1.2: authorization codes live briefly; ten minutes at most is recommended.
    authorization_code_seconds: int = Field(default=60, ge=10, le=600)
    # Failed logins in a row after which an account is locked, and for how long (minutes).
    lockout_attempts: int = Field(default=5, ge=1, le=100)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    # A web session ends after this long unused, and this long after login whatever happens.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(default=12, ge=1, le=24 * 30)
    # A JSON file overriding the master patient index's match model (m and u of a field's
    # agreement level, the thresholds): see docs/registries.md. Unset: the documented defaults.
    mpi_model_file: Path | None = None

    def key_passphrase(self) -> str | None:
        """The signing keys' passphrase, from its file if one is named, else the variable."""
        if self.signing_key_passphrase_file is not None:
            return self.signing_key_passphrase_file.read_text().strip() or None
        if self.signing_key_passphrase is not None:
            return self.signing_key_passphrase.get_secret_value() or None
        return None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
