"""Password hashes (Argon2id) and one-time codes (TOTP): the secrets a login checks.

No database here; accounts.py stores what these functions return.
"""

import hmac
from datetime import datetime
from functools import lru_cache
from importlib import resources

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ISSUER = "Shafa"

# argon2-cffi's defaults are RFC 9106's second recommended profile (Argon2id, t=3, 64 MiB,
# p=4). When a release raises them, needs_rehash() says so and the next login rehashes.
_HASHER = PasswordHasher()


def hash_password(password: str) -> str:
    """An Argon2id hash of the password, with a fresh random salt, in PHC string format."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether the password matches the hash (never raises on a mismatch or a bad hash)."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with other parameters than today's."""
    return _HASHER.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (common-passwords.txt), in lower case."""
    text = (resources.files("shafa.security") / "common-passwords.txt").read_text("utf-8")
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


@lru_cache(maxsize=1)
def _decoy_hash() -> str:
    return _HASHER.hash("a password that no account has")


def spend_like_a_verification(password: str) -> None:
    """Check the password against a decoy hash, so an unknown username costs what a known one
    does and timing does not tell which usernames exist (OWASP Authentication Cheat Sheet)."""
    verify_password(_decoy_hash(), password)


def new_totp_secret() -> str:
    """A random TOTP secret: 160 bits in base32, the key length RFC 4226 §4 recommends."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads (as a QR code or typed in)."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


# RFC 6238 §5.2: accept one time step either side of now for clock drift.
TOTP_DRIFT_STEPS = 1


def totp_step(secret: str, code: str, now: datetime) -> int | None:
    """The time step whose code `code` is (within the drift allowed), or None if it is none."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isascii() or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(now)
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None
