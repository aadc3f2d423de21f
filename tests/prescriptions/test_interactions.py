"""The curated interaction table: every name real, every row sourced, and the matcher finds
what a pharmacist would, by INN or by ATC group, either way round."""

import csv
from importlib import resources
from itertools import product

import pytest

from shafa.prescriptions.interactions import Severity, interactions, table
from shafa.prescriptions.substances import Substance, is_atc
from shafa.terminology import atc


def _register_inns() -> set[str]:
    text = resources.files("shafa.registries").joinpath("data/medicines.csv").read_text("utf-8")
    return {inn for row in csv.DictReader(text.splitlines()) for inn in row["inn"].split(" + ")}


KNOWN_INNS = _register_inns() | {c.name for c in atc.substances()}


def rx(inn: str, code: str, ref: str | None = None) -> Substance:
    return Substance.of(inn, code, ref)


WARFARIN = rx("warfarin", "B01AA03", "MedicationRequest/warfarin")
IBUPROFEN = rx("ibuprofen", "M01AE01")
SIMVASTATIN = rx("simvastatin", "C10AA01", "MedicationRequest/simva")
CLARITHROMYCIN = rx("clarithromycin", "J01FA09")
METHOTREXATE = rx("methotrexate", "L04AX03", "MedicationRequest/mtx")
COTRIMOXAZOLE = rx("sulfamethoxazole + trimethoprim", "J01EE01")
SERTRALINE = rx("sertraline", "N06AB06")
TRAMADOL = rx("tramadol", "N02AX02")
LINEZOLID = rx("linezolid", "J01XX08")
SILDENAFIL = rx("sildenafil", "G04BE03")
GTN = rx("glyceryl trinitrate", "C01DA02")
ENALAPRIL = rx("enalapril", "C09AA02")
SPIRONOLACTONE = rx("spironolactone", "C03DA01")
PARACETAMOL = rx("paracetamol", "N02BE01")
AMOXICILLIN = rx("amoxicillin", "J01CA04")


def test_the_table_holds_at_least_sixty_serious_pairs() -> None:
    assert len(table()) >= 60
    assert len({p.id for p in table()}) == len(table())
    assert sum(p.severity is Severity.HIGH for p in table()) >= 30


@pytest.mark.parametrize("pair", table(), ids=lambda p: p.id)
def test_every_row_names_real_substances_and_a_source(pair) -> None:  # type: ignore[no-untyped-def]
    for token in pair.a + pair.b:
        if is_atc(token):
            assert atc.concept(token) is not None, f"{token} is not in the shipped ATC data"
        else:
            assert token in KNOWN_INNS, f"{token} is neither a register INN nor an ATC substance"
    assert pair.severity in (Severity.HIGH, Severity.MODERATE)
    assert pair.mechanism.strip() and pair.effect.strip()
    assert any(
        word in pair.source
        for word in ("BNF", "Stockley", "SmPC", "FDA", "EMA", "MHRA", "CredibleMeds", "FSRH",
                     "ESC")
    )  # fmt: skip


def test_no_pair_of_names_is_in_two_rows() -> None:
    seen: dict[frozenset[str], str] = {}
    for pair in table():
        for a, b in product(pair.a, pair.b):
            key = frozenset((a, b))
            assert key not in seen, f"{a} + {b} in {seen.get(key)} and {pair.id}"
            seen[key] = pair.id


def test_a_class_row_matches_any_member_of_the_class() -> None:
    found = interactions(IBUPROFEN, [WARFARIN])
    assert [i.pair.id for i in found] == ["vka-nsaid"]
    assert found[0].severity is Severity.HIGH
    assert found[0].new_token == "M01A" and found[0].current_token == "B01AA"
    diclofenac = rx("diclofenac", "M01AB05")
    assert [i.pair.id for i in interactions(diclofenac, [WARFARIN])] == ["vka-nsaid"]


def test_a_pair_matches_whichever_side_is_new() -> None:
    assert [i.pair.id for i in interactions(WARFARIN, [IBUPROFEN])] == ["vka-nsaid"]
    found = interactions(CLARITHROMYCIN, [SIMVASTATIN])
    assert [i.pair.id for i in found] == ["simva-strong-cyp3a4"]
    assert found[0].current is SIMVASTATIN
    assert "simvastatin" in found[0].detail() and "Source:" in found[0].detail()


def test_an_ingredient_of_a_combination_matches() -> None:
    found = interactions(COTRIMOXAZOLE, [METHOTREXATE, WARFARIN])
    assert {i.pair.id for i in found} == {"mtx-trimethoprim", "vka-cotrimoxazole"}
    assert all(i.severity is Severity.HIGH for i in found)


@pytest.mark.parametrize(
    ("new", "current", "expected", "severity"),
    [
        (SERTRALINE, TRAMADOL, "ssri-tramadol", Severity.MODERATE),
        (LINEZOLID, SERTRALINE, "serotonergic-maoi", Severity.HIGH),
        (SILDENAFIL, GTN, "pde5-nitrate", Severity.HIGH),
        (ENALAPRIL, SPIRONOLACTONE, "raas-k-sparing", Severity.MODERATE),
        (rx("citalopram", "N06AB04"), rx("amiodarone", "C01BD01"), "citalopram-qt",
         Severity.HIGH),
        (rx("sacubitril + valsartan", "C09DX04"), ENALAPRIL, "arni-acei", Severity.HIGH),
        (rx("morphine", "N02AA01"), rx("diazepam", "N05BA01"), "opioid-benzodiazepine",
         Severity.HIGH),
        (rx("allopurinol", "M04AA01"), rx("azathioprine", "L04AX01"), "xo-thiopurine",
         Severity.HIGH),
        (rx("meropenem", "J01DH02"), rx("valproic acid", "N03AG01"), "valproate-carbapenem",
         Severity.HIGH),
        (rx("rifampicin", "J04AB02"), rx("levonorgestrel + ethinylestradiol", "G03AA07"),
         "inducer-contraceptive", Severity.HIGH),
    ],
)  # fmt: skip
def test_well_known_pairs_are_found(
    new: Substance, current: Substance, expected: str, severity: Severity
) -> None:
    found = interactions(new, [current])
    assert expected in [i.pair.id for i in found]
    assert next(i for i in found if i.pair.id == expected).severity is severity


def test_a_topical_form_does_not_raise_a_systemic_interaction() -> None:
    eye_drops = rx("ciprofloxacin", "S01AE03")
    tablets = rx("ciprofloxacin", "J01MA02")
    theophylline = rx("theophylline", "R03DA04")
    assert interactions(eye_drops, [theophylline]) == []
    assert [i.pair.id for i in interactions(tablets, [theophylline])] == ["theophylline-cyp1a2"]


def test_nothing_is_found_between_unrelated_medicines() -> None:
    assert interactions(PARACETAMOL, [AMOXICILLIN, ENALAPRIL]) == []
    assert interactions(IBUPROFEN, []) == []


def test_high_severity_comes_first_and_each_current_medicine_is_named() -> None:
    found = interactions(IBUPROFEN, [ENALAPRIL, WARFARIN, METHOTREXATE])
    # NSAIDs with ACE inhibitors are not in the table (a moderate, common pairing).
    assert [i.pair.id for i in found] == ["vka-nsaid", "mtx-nsaid"]
    assert [i.current.reference for i in found] == [WARFARIN.reference, METHOTREXATE.reference]


def test_a_substance_needs_an_inn_and_a_level_5_atc_code() -> None:
    with pytest.raises(ValueError, match="INN"):
        Substance.of(" ", "N02BE01")
    with pytest.raises(ValueError, match="level-5"):
        Substance.of("paracetamol", "N02BE")
    assert Substance.of("a + b", "J01CR02").inns == ("a", "b")
    assert Substance.of("a + b", "J01CR02").group() == "J01CR"
