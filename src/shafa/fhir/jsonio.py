"""FHIR JSON in and out, keeping numbers exactly as the client wrote them.

FHIR R4 §2.6.2 (datatypes, decimal): the precision of a decimal is significant, so 1.50 must come
back as 1.50. Decimals are parsed as Decimal (which keeps its digits and exponent) and written
back verbatim through orjson.Fragment, so orjson's speed is kept without float rounding.
"""

import json
from decimal import Decimal
from typing import Any, NoReturn

import orjson

from shafa.fhir.errors import FhirError, Issue


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def parse(body: bytes | str) -> Any:
    """Parse FHIR JSON text, or raise a 400 FhirError saying where it is malformed."""
    try:
        return json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise FhirError(
            400,
            [
                Issue(
                    "structure",
                    f"Malformed JSON at line {error.lineno}, column {error.colno}: {error.msg}",
                )
            ],
        ) from None
    except (ValueError, RecursionError) as error:
        raise FhirError(400, [Issue("structure", f"Malformed JSON: {error}")]) from None


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"{type(value).__name__} is not JSON")


_INT64 = range(-(2**63), 2**63)


def _big_ints_as_fragments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _big_ints_as_fragments(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_big_ints_as_fragments(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and value not in _INT64:
        return orjson.Fragment(str(value))
    return value


def dumps(value: Any) -> bytes:
    """Compact JSON bytes, decimals and integers verbatim."""
    try:
        return orjson.dumps(value, default=_fragment)
    except orjson.JSONEncodeError:
        # orjson refuses integers past 64 bits before it would call default; such numbers are
        # rare (FHIR integers are 32-bit), so only then is the document walked.
        return orjson.dumps(_big_ints_as_fragments(value), default=_fragment)


def canonical(value: Any) -> bytes:
    """Key-sorted compact JSON: equal for equal documents, however their keys were ordered."""
    try:
        return orjson.dumps(value, default=_fragment, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError:
        return orjson.dumps(
            _big_ints_as_fragments(value), default=_fragment, option=orjson.OPT_SORT_KEYS
        )
