"""Prescription numbers: readable, with a check character that catches every single-character
error and every adjacent transposition; and the text the QR code carries."""

import random
from itertools import product

import pytest

from shafa.prescriptions.numbers import (
    ALPHABET,
    NUMBER_SPACE,
    VERIFICATION_SPACE,
    check_character,
    is_valid,
    new_number,
    normalise,
    parse_qr_payload,
    qr_payload,
    verification_code,
)

SEEDED = random.Random(20261121)
SAMPLES = [new_number(0), new_number(1), new_number(NUMBER_SPACE - 1)] + [
    new_number(SEEDED.randrange(NUMBER_SPACE)) for _ in range(60)
]


def test_the_docstring_example_is_valid() -> None:
    assert is_valid("7KQ4-M2XD-9HTV")


def test_a_number_is_three_groups_of_four_without_ambiguous_characters() -> None:
    for number in SAMPLES:
        groups = number.split("-")
        assert [len(g) for g in groups] == [4, 4, 4]
        assert not set(number) & set("01IOU")
        assert is_valid(number)


def test_numbers_are_distinct_for_distinct_values_and_in_order() -> None:
    numbers = [new_number(v) for v in range(2000)]
    assert len(set(numbers)) == 2000
    assert new_number(0) == "2222-2222-2223"


@pytest.mark.parametrize("value", [-1, NUMBER_SPACE])
def test_values_outside_the_space_are_refused(value: int) -> None:
    with pytest.raises(ValueError):
        new_number(value)


@pytest.mark.parametrize("number", SAMPLES[:20])
def test_every_single_character_error_is_detected(number: str) -> None:
    compact = normalise(number)
    for position, wrong in product(range(len(compact)), ALPHABET):
        if wrong != compact[position]:
            assert not is_valid(compact[:position] + wrong + compact[position + 1 :])


@pytest.mark.parametrize("number", SAMPLES)
def test_every_adjacent_and_jump_transposition_is_detected(number: str) -> None:
    compact = normalise(number)
    for gap in (1, 2):
        for i in range(len(compact) - gap):
            a, b = compact[i], compact[i + gap]
            if a != b:
                swapped = list(compact)
                swapped[i], swapped[i + gap] = b, a
                assert not is_valid("".join(swapped)), (number, i, gap)


def test_every_adjacent_transposition_of_every_pair_of_characters_is_detected() -> None:
    # Exhaustively over the alphabet: each pair of distinct characters, at each position.
    base = normalise(SAMPLES[5])[:-1]
    for a, b in product(ALPHABET, repeat=2):
        if a == b:
            continue
        for i in range(len(base) - 1):
            body = base[:i] + a + b + base[i + 2 :]
            good = body + check_character(body)
            swapped = body[:i] + b + a + body[i + 2 :] + good[-1]
            assert is_valid(good) and not is_valid(swapped)


@pytest.mark.parametrize(
    "typed", ["7kq4-m2xd-9htv", "7KQ4 M2XD 9HTV", " 7KQ4M2XD9HTV ", "7KQ4-M2XD-9HTV"]
)
def test_spacing_and_case_as_people_type_them_are_forgiven(typed: str) -> None:
    assert is_valid(typed)


@pytest.mark.parametrize(
    "bad", ["", "7KQ4-M2XD-9HT", "7KQ4-M2XD-9HTVV", "7KQ4-M2XD-9HT0", "7KQ4-M2XD-9HTO",
            "7KQ4_M2XD_9HTV", "7KQ4-M2XD-9HTÜ"],
)  # fmt: skip
def test_malformed_numbers_are_invalid(bad: str) -> None:
    assert not is_valid(bad)


def test_the_check_character_refuses_characters_outside_the_alphabet() -> None:
    with pytest.raises(ValueError):
        check_character("0000")


def test_the_qr_payload_carries_the_number_and_the_verification_code() -> None:
    code = verification_code(SEEDED.randrange(VERIFICATION_SPACE))
    assert len(code) == 12 and set(code) <= set(ALPHABET)
    payload = qr_payload("7kq4 m2xd 9htv", code)
    assert payload == f"SHAFA:RX1:7KQ4-M2XD-9HTV:{code}"
    assert set(payload) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")
    assert parse_qr_payload(payload) == ("7KQ4-M2XD-9HTV", code)
    assert parse_qr_payload(f"  {payload}\n") == ("7KQ4-M2XD-9HTV", code)


@pytest.mark.parametrize(
    "text",
    ["", "SHAFA:RX1:7KQ4-M2XD-9HTV", "SHAFA:RX2:7KQ4-M2XD-9HTV:222222222222",
     "OTHER:RX1:7KQ4-M2XD-9HTV:222222222222", "SHAFA:RX1:7KQ4-M2XD-9HTW:222222222222",
     "SHAFA:RX1:7KQ4-M2XD-9HTV:22222222222", "SHAFA:RX1:7KQ4-M2XD-9HTV:22222222222O",
     "SHAFA:RX1:7KQ4-M2XD-9HTV:222222222222:extra"],
)  # fmt: skip
def test_a_payload_that_is_not_ours_or_is_damaged_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_qr_payload(text)


def test_a_payload_is_not_made_of_a_bad_number_or_code() -> None:
    with pytest.raises(ValueError, match="number"):
        qr_payload("7KQ4-M2XD-9HTW", "222222222222")
    with pytest.raises(ValueError, match="verification"):
        qr_payload("7KQ4-M2XD-9HTV", "2222")
    with pytest.raises(ValueError):
        verification_code(VERIFICATION_SPACE)
