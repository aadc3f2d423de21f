"""What the "Find a citizen" page reads from a search text and shows of a Patient, as plain
functions over plain values."""

# Azerbaijani and Russian letters are the subject.
# ruff: noqa: RUF001

import pytest

from shafa.registries.citizens.rules import FIN_SYSTEM, LANGUAGE_EXTENSION
from shafa.registries.citizens.schemas import CitizenRow, Wanted, citizen_row, display_name, wanted


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("5ABC123", Wanted("5ABC123", ())),
        (" 5abc 123 ", Wanted("5ABC123", ())),
        ("BABAYEV", Wanted("BABAYEV", ("BABAYEV",))),  # 7 capitals: a FIN or a name
        ("Əliyev İlham", Wanted(None, ("Əliyev", "İlham"))),
        ("Алиев, Ильхам", Wanted(None, ("Алиев", "Ильхам"))),
        ("O'Neil-Smith 1990", Wanted(None, ("O'Neil-Smith",))),
        ("a b c d e f", Wanted(None, ("a", "b", "c", "d"))),
        ("5ABCI23", Wanted(None, ("ABCI23",))),  # no FIN has an I
        ("1234", Wanted(None, ())),
        ("", Wanted(None, ())),
    ],
)
def test_a_search_text_asks_for_a_fin_names_or_both(text: str, asked: Wanted) -> None:
    assert wanted(text) == asked


RUSSIAN = [{"url": LANGUAGE_EXTENSION, "valueCode": "ru"}]
ILHAM = {
    "resourceType": "Patient",
    "id": "ilham",
    "identifier": [{"system": "urn:x", "value": "1"}, {"system": FIN_SYSTEM, "value": "5ABC123"}],
    "name": [
        {"use": "old", "family": "Əliyev", "given": ["Ilham"]},
        {"use": "official", "family": "Алиев", "given": ["Ильхам"], "extension": RUSSIAN},
        {"use": "official", "family": "Əliyev", "given": ["İlham", "Heydər oğlu"]},
    ],
    "gender": "male",
    "birthDate": "1961-12-24",
    "address": [
        {"use": "work", "city": "Sumqayıt"},
        {"use": "home", "district": "Nəsimi", "city": "Bakı"},
    ],
}


def test_a_row_shows_the_fin_the_name_in_the_page_s_script_and_the_home_district() -> None:
    assert citizen_row(ILHAM, "az") == CitizenRow(
        "ilham", "5ABC123", "Əliyev İlham Heydər oğlu", "1961-12-24", "male", "Nəsimi"
    )
    assert citizen_row(ILHAM, "ru").name == "Алиев Ильхам"
    assert citizen_row(ILHAM, "en").name == "Əliyev İlham Heydər oğlu"


def test_what_a_patient_lacks_is_left_out() -> None:
    bare = {"resourceType": "Patient", "id": "p"}
    assert citizen_row(bare, "az") == CitizenRow("p", None, "", None, None, None)
    in_town = bare | {"address": [{"city": "Gəncə"}], "name": [{"text": " Günel "}]}
    row = citizen_row(in_town, "ru")
    assert row.district == "Gəncə" and row.name == "Günel"  # no Cyrillic spelling: the one there is


def test_a_name_that_says_nothing_is_not_shown() -> None:
    assert display_name({"name": [{"use": "official"}, {"given": ["Aynur"]}]}, "az") == "Aynur"
    assert display_name({"name": "not a list of names"}, "az") == ""
