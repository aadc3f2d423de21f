"""Prescription numbers people can read out, type and check, and the text a QR code carries.
Pure: the caller draws the randomness (secrets.randbelow) and passes it in.

A number is 11 characters and a check character, printed in three groups of four:
"7KQ4-M2XD-9HTV". The alphabet has 31 characters, the digits 2-9 and the capital letters
without I, O and U: 0/O and 1/I are the pairs people confuse when reading a number aloud or off
paper (the reason NHS EPS and Crockford's base 32 avoid them too), and U is left out, as
Crockford leaves it out, so that no number spells a common word by chance. 31^11 is about
2.5 x 10^16 numbers: drawn at random, two prescriptions in a country's lifetime do not meet,
and a number reveals neither how many prescriptions were written nor when.

The check character follows ISO/IEC 7064's pure systems, the family NHS EPS uses for its
prescription ID (MOD 37-2, with radix 2): the weighted sum sum(v_i * r^(n-i)) of the values of
all n characters, check character included, is 1 modulo M. Here M = 31, the size of the
alphabet and a prime, so the check character is always one of the 31 (MOD 37-2 needs a 37th
symbol, '+' in EPS, which our alphabet has no room for), and r = 3, a primitive root of 31,
so the weights do not repeat within 30 positions. Because M is prime and r - 1 and r^2 - 1 are
not multiples of it, every single wrong character (a difference (v - v') r^k, never 0 mod 31)
and every transposition of two adjacent characters (a difference (a - b) r^k (r - 1)) or of
two characters one apart ((a - b) r^k (r^2 - 1)) changes the sum, so is detected. Luhn mod N
would miss one adjacent transposition (of the first and last characters of the alphabet).

The QR code carries text in QR's alphanumeric mode (digits, capitals, space and $%*+-./:),
which packs 5.5 bits a character against 8 in byte mode: "SHAFA:RX1:<number>:<verification
code>". The verification code, 12 characters of the same alphabet (about 59 random bits),
is kept with the prescription and shown only to its patient; a pharmacy that scans or types
both may dispense, as Germany's E-Rezept token pairs a task id with a secret access code.
Rendering the image is the pages' work (the segno package would do it; not a dependency yet).
"""

import re

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTVWXYZ"
VALUES = {c: i for i, c in enumerate(ALPHABET)}
MODULUS = 31  # prime, and the size of the alphabet
RADIX = 3  # a primitive root modulo 31
BODY = 11
LENGTH = BODY + 1
NUMBER_SPACE = MODULUS**BODY  # new_number takes 0 <= value < NUMBER_SPACE
VERIFICATION_LENGTH = 12
VERIFICATION_SPACE = MODULUS**VERIFICATION_LENGTH
QR_PREFIX = "SHAFA:RX1"
SEPARATORS = re.compile(r"[\s\-]")

assert len(ALPHABET) == MODULUS and not set("01IOU") & set(ALPHABET)


def _encode(value: int, length: int) -> str:
    if not 0 <= value < MODULUS**length:
        raise ValueError(f"{value} is outside 0 .. {MODULUS}^{length} - 1")
    digits = []
    for _ in range(length):
        value, digit = divmod(value, MODULUS)
        digits.append(ALPHABET[digit])
    return "".join(reversed(digits))


def _weighted_sum(text: str) -> int:
    total = 0
    for char in text:
        total = (total * RADIX + VALUES[char]) % MODULUS
    return total


def check_character(body: str) -> str:
    """The character that makes body + it sum to 1 modulo 31 (ISO/IEC 7064 pure system)."""
    if any(c not in VALUES for c in body):
        raise ValueError(f"{body!r} has a character outside {ALPHABET}")
    return ALPHABET[(1 - _weighted_sum(body) * RADIX) % MODULUS]


def display(compact: str) -> str:
    """In groups of four: 7KQ4-M2XD-9HTV."""
    return "-".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def normalise(number: str) -> str:
    """As typed, without spaces or hyphens, in capitals."""
    return SEPARATORS.sub("", number).upper()


def new_number(value: int) -> str:
    """The number for a value 0 <= value < NUMBER_SPACE: secrets.randbelow(NUMBER_SPACE) in
    production; a sequence is accepted too (tests, an offline range)."""
    body = _encode(value, BODY)
    return display(body + check_character(body))


def is_valid(number: str) -> bool:
    """True for a well-formed number with the right check character (spacing and case as
    people type them are forgiven)."""
    compact = normalise(number)
    return (
        len(compact) == LENGTH and all(c in VALUES for c in compact) and _weighted_sum(compact) == 1
    )


def verification_code(value: int) -> str:
    """A verification code for 0 <= value < VERIFICATION_SPACE (secrets.randbelow)."""
    return _encode(value, VERIFICATION_LENGTH)


def qr_payload(number: str, code: str) -> str:
    """The text the prescription's QR code encodes: 'SHAFA:RX1:7KQ4-M2XD-9HTV:<code>'."""
    if not is_valid(number):
        raise ValueError(f"{number!r} is not a valid prescription number")
    code = normalise(code)
    if len(code) != VERIFICATION_LENGTH or any(c not in VALUES for c in code):
        raise ValueError("A verification code is 12 characters of the number alphabet")
    return f"{QR_PREFIX}:{display(normalise(number))}:{code}"


def parse_qr_payload(text: str) -> tuple[str, str]:
    """(number, verification code) from a scanned QR text; ValueError if it is not ours or
    the number's check character is wrong."""
    parts = text.strip().split(":")
    if len(parts) != 4 or ":".join(parts[:2]) != QR_PREFIX:
        raise ValueError("Not a Shafa prescription code")
    number, code = parts[2], parts[3]
    if not is_valid(number):
        raise ValueError("The prescription number's check character is wrong")
    if len(code) != VERIFICATION_LENGTH or any(c not in VALUES for c in code):
        raise ValueError("The verification code is malformed")
    return display(normalise(number)), code
