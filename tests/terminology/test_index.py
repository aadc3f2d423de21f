# ruff: noqa: RUF001 (Azerbaijani letters: dotless i)
"""The type-ahead index alone: folding, word and code prefixes, ranking. No server."""

from shafa.terminology.index import TypeAheadIndex, code_key, fold, words
from shafa.terminology.model import CodeSystem, CodeSystemInfo, Concept, Designation

INFO = CodeSystemInfo("t", "urn:t", "T", "T", "1", "p", "d", "c", "complete", "is-a")


def _index(*concepts: Concept) -> TypeAheadIndex:
    return TypeAheadIndex(CodeSystem(INFO, concepts).ordered)


def _codes(index: TypeAheadIndex, text: str, **kwargs: object) -> list[str]:
    return [c.code for c in index.search(text, **kwargs)[1]]  # type: ignore[arg-type]


def test_folding_drops_case_and_accents_of_azerbaijani_latin_and_cyrillic() -> None:
    assert fold("Gəncə") == "gence"
    assert fold("Şəki") == "seki"
    assert fold("İsmayıllı") == "ismayilli"
    assert fold("Ağdaş Çöl Ünü") == "agdas col unu"
    assert fold("Ёлка") == "елка"
    assert words("Type 2 diabetes, mellitus") == ["type", "2", "diabetes", "mellitus"]
    assert code_key("J45.0") == code_key("j450") == "j450"


def test_every_word_must_begin_a_word_of_a_name_in_any_order() -> None:
    index = _index(
        Concept("E11", "Type 2 diabetes mellitus"),
        Concept("E10", "Type 1 diabetes mellitus"),
        Concept("E23.2", "Diabetes insipidus"),
    )
    assert _codes(index, "mell diab") == ["E10", "E11"]
    assert _codes(index, "DIAB 2") == ["E11"]
    assert _codes(index, "iabetes") == []  # prefixes of words, not infixes
    assert index.search("diab")[0] == 3


def test_designations_match_in_every_language() -> None:
    index = _index(
        Concept(
            "AZ-GA",
            "Gəncə şəhəri",
            designations=(Designation("en", "Ganja city"), Designation("ru", "город Гянджа")),
        ),
        Concept("AZ-BA", "Bakı şəhəri", designations=(Designation("en", "Baku city"),)),
    )
    assert _codes(index, "gence") == ["AZ-GA"]
    assert _codes(index, "ganja") == ["AZ-GA"]
    assert _codes(index, "гяндж") == ["AZ-GA"]
    assert _codes(index, "baki") == _codes(index, "BAKU") == ["AZ-BA"]


def test_the_code_ranks_first_then_longer_codes_then_names_that_begin_with_the_filter() -> None:
    index = _index(
        Concept("J40-J47", "Chronic lower respiratory diseases"),
        Concept("J45", "Asthma", parent="J40-J47"),
        Concept("J45.0", "Predominantly allergic asthma", parent="J45"),
        Concept("J45.9", "Asthma, unspecified", parent="J45"),
        Concept("J46", "Status asthmaticus", parent="J40-J47"),
    )
    assert _codes(index, "J45") == ["J45", "J45.0", "J45.9"]
    assert _codes(index, "j45.0") == ["J45.0"]
    assert _codes(index, "J450") == ["J45.0"]
    # Names beginning with the filter first, shorter first; then the rest, shorter first.
    assert _codes(index, "asthma") == ["J45", "J45.9", "J46", "J45.0"]
    assert _codes(index, "astHM allerg") == ["J45.0"]


def test_paging_members_and_counting() -> None:
    index = _index(*(Concept(f"C{n:02}", f"name {n:02}") for n in range(30)))
    total, page = index.search("name", offset=10, count=5)
    assert total == 30
    assert [c.code for c in page] == ["C10", "C11", "C12", "C13", "C14"]
    assert index.search("name", count=0) == (30, [])
    assert index.search("name", members=range(0, 30, 2))[0] == 15
    assert index.search("name", members=frozenset({1, 2, 99}))[0] == 2
    assert index.search("   ") == (0, [])
    assert index.search("zzz") == (0, [])
