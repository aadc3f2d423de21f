"""FHIR JSON keeps numbers exactly as written (R4 datatypes: decimal precision is significant)."""

import pytest

from shafa.fhir import jsonio
from shafa.fhir.errors import FhirError


@pytest.mark.parametrize(
    "number",
    [
        "1.50",
        "0.12345678901234567",
        "100.000",
        "-0.0",
        "1E-245",
        "-1E+245",
        "3",
        "123456789012345678901234",
    ],
)
def test_numbers_come_back_as_written(number: str) -> None:
    text = f'{{"value":{number}}}'
    assert jsonio.dumps(jsonio.parse(text)).decode() == text


def test_text_is_utf8_not_escaped() -> None:
    assert jsonio.dumps({"family": "Əliyev"}) == '{"family":"Əliyev"}'.encode()


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": Infinity}', '{"a": 1,}', "{", ""])
def test_what_is_not_json_is_a_400(text: str) -> None:
    with pytest.raises(FhirError) as caught:
        jsonio.parse(text)
    assert caught.value.status == 400


def test_a_malformed_document_says_where() -> None:
    with pytest.raises(FhirError) as caught:
        jsonio.parse('{\n  "resourceType": "Patient",\n  "active": tru\n}')
    assert "line 3" in caught.value.issues[0].diagnostics


def test_canonical_form_ignores_key_order_but_not_digits() -> None:
    assert jsonio.canonical(jsonio.parse('{"a":1,"b":2}')) == jsonio.canonical(
        jsonio.parse('{"b":2,"a":1}')
    )
    assert jsonio.canonical(jsonio.parse('{"a":1.5}')) != jsonio.canonical(
        jsonio.parse('{"a":1.50}')
    )
