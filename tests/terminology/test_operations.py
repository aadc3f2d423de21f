"""$lookup, $validate-code and $expand over real HTTP, on SQLite and PostgreSQL."""

import httpx

from tests.terminology.conftest import (
    ADMIN,
    ATC,
    DIAGNOSIS,
    ICD10,
    UCUM,
    codes,
    outcome,
    parameter,
    properties,
)


def _lookup(fhir: httpx.Client, **params: str) -> httpx.Response:
    return fhir.get("/CodeSystem/$lookup", params=params)


def test_lookup_names_the_code_its_parent_children_and_properties(fhir: httpx.Client) -> None:
    response = _lookup(fhir, system=ICD10, code="J45")
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["resourceType"] == "Parameters"
    assert parameter(found, "name") == "ICD10"
    assert parameter(found, "version") == "2019"
    assert parameter(found, "display") == "Asthma"
    props = properties(found)
    assert ("parent", "J40-J47") in props
    assert [v for c, v in props if c == "child"] == ["J45.0", "J45.1", "J45.8", "J45.9"]
    assert ("kind", "category") in props
    assert ("notSelectable", True) in props
    assert ("inactive", False) in props
    # Asked for one property only.
    only = _lookup(fhir, system=ICD10, code="J45.0", property="parent").json()
    assert properties(only) == [("parent", "J45")]


def test_lookup_by_post_with_a_coding_and_in_another_language(fhir: httpx.Client) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "coding", "valueCoding": {"system": ADMIN, "code": "AZ-QBA"}},
            {"name": "displayLanguage", "valueCode": "en"},
        ],
    }
    found = fhir.post("/CodeSystem/$lookup", json=body).json()
    assert parameter(found, "display") == "Guba district"
    designations = [
        {
            part["name"]: next(iter(v for k, v in part.items() if k.startswith("value")))
            for part in p["part"]
        }
        for p in found["parameter"]
        if p["name"] == "designation"
    ]
    assert {"language": "ru", "value": "Губинский район"} in designations
    assert ("parent", "ER-08") in properties(found)


def test_lookup_of_atc_gives_level_parent_and_ddds(fhir: httpx.Client) -> None:
    found = _lookup(fhir, system=ATC, code="J01CA04").json()
    assert parameter(found, "display") == "amoxicillin"
    props = {c: v for c, v in properties(found) if c != "child"}
    assert props == {"parent": "J01CA", "level": 5, "ddd": "1.5 g O; 3 g P"}


def test_lookup_refuses_bad_input_and_unknown_codes(fhir: httpx.Client) -> None:
    assert "Unknown code 'J45.7'" in outcome(_lookup(fhir, system=ICD10, code="J45.7"), 404)
    assert "not a code system" in outcome(
        _lookup(fhir, system="http://snomed.info/sct", code="1"), 404
    )
    assert "2019" in outcome(_lookup(fhir, system=ICD10, code="J45", version="2016"), 404)
    outcome(_lookup(fhir, system=ICD10), 400)
    outcome(_lookup(fhir, code="J45"), 400)
    outcome(fhir.post("/CodeSystem/$lookup", json={"resourceType": "Patient"}), 400)
    outcome(fhir.get("/CodeSystem/$subsumes", params={"system": ICD10}), 404)
    outcome(fhir.get("/CodeSystem/icd-10/$lookup", params={"code": "J45"}), 404)


def _valid(fhir: httpx.Client, path: str, **params: str) -> dict:
    response = fhir.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_validate_code_in_a_code_system(fhir: httpx.Client) -> None:
    found = _valid(fhir, "/CodeSystem/$validate-code", url=ICD10, code="E11.9")
    assert parameter(found, "result") is True
    assert parameter(found, "display") == "Type 2 diabetes mellitus without complications"
    # The instance, by id.
    assert (
        parameter(_valid(fhir, "/CodeSystem/ucum/$validate-code", code="mmol/L"), "result") is True
    )
    unknown = _valid(fhir, "/CodeSystem/$validate-code", url=ICD10, code="E11.99")
    assert parameter(unknown, "result") is False
    assert "Unknown code 'E11.99'" in str(parameter(unknown, "message"))
    wrong = _valid(fhir, "/CodeSystem/$validate-code", url=ATC, code="A10BA02", display="insulin")
    assert parameter(wrong, "result") is False
    assert parameter(wrong, "display") == "metformin"
    # Displays compare without case and accents, in any language the concept has.
    named = _valid(
        fhir, "/CodeSystem/$validate-code", url=ADMIN, code="AZ-GA", display="GANJA CITY"
    )
    assert parameter(named, "result") is True
    assert "not a code system" in outcome(
        fhir.get("/CodeSystem/$validate-code", params={"url": "urn:x", "code": "1"}), 404
    )
    outcome(fhir.get("/CodeSystem/$validate-code", params={"url": ICD10}), 400)


def test_validate_code_in_a_value_set_get_and_post(fhir: httpx.Client) -> None:
    leaf = _valid(fhir, "/ValueSet/$validate-code", url=DIAGNOSIS, system=ICD10, code="J45.0")
    assert parameter(leaf, "result") is True
    block = _valid(fhir, "/ValueSet/$validate-code", url=DIAGNOSIS, system=ICD10, code="J45")
    assert parameter(block, "result") is False
    assert "not in the value set" in str(parameter(block, "message"))
    subtree = f"{ICD10}?fhir_vs=isa/J40-J47"
    inside = _valid(fhir, "/ValueSet/$validate-code", url=subtree, system=ICD10, code="J45.0")
    outside = _valid(fhir, "/ValueSet/$validate-code", url=subtree, system=ICD10, code="E11.9")
    assert (parameter(inside, "result"), parameter(outside, "result")) == (True, False)
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": DIAGNOSIS},
            {
                "name": "codeableConcept",
                "valueCodeableConcept": {
                    "coding": [
                        {"system": "http://snomed.info/sct", "code": "195967001"},
                        {"system": ICD10, "code": "J45.9", "display": "Asthma, unspecified"},
                    ]
                },
            },
        ],
    }
    posted = fhir.post("/ValueSet/$validate-code", json=body)
    assert posted.status_code == 200, posted.text
    assert parameter(posted.json(), "result") is True
    by_id = _valid(fhir, "/ValueSet/icd-10-diagnosis/$validate-code", system=ICD10, code="X")
    assert parameter(by_id, "result") is False
    outcome(
        fhir.get(
            "/ValueSet/$validate-code", params={"url": "urn:nope", "system": ICD10, "code": "X"}
        ),
        404,
    )
    outcome(fhir.get("/ValueSet/$validate-code", params={"url": DIAGNOSIS, "code": "J45.0"}), 400)
    outcome(fhir.get("/ValueSet/nope/$validate-code", params={"code": "J45.0"}), 404)


def _expand(fhir: httpx.Client, **params: str) -> dict:
    response = fhir.get("/ValueSet/$expand", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["resourceType"] == "ValueSet"
    return body


def test_expand_type_ahead_ranks_the_code_first(fhir: httpx.Client) -> None:
    found = _expand(fhir, url=f"{ICD10}?fhir_vs", filter="J45", count="10")
    assert codes(found)[:5] == ["J45", "J45.0", "J45.1", "J45.8", "J45.9"]
    expansion = found["expansion"]
    assert expansion["total"] == 5
    assert expansion["identifier"].startswith("urn:uuid:")
    assert {"name": "filter", "valueString": "J45"} in expansion["parameter"]
    first = expansion["contains"][0]
    assert first == {"system": ICD10, "version": "2019", "code": "J45", "display": "Asthma"}


def test_expand_filter_words_in_any_order_among_diagnosis_leaves(fhir: httpx.Client) -> None:
    found = _expand(fhir, url=DIAGNOSIS, filter="mellitus type 2 diab", count="50")
    assert "E11" not in codes(found)  # subdivided: not valid for a diagnosis
    assert "E11.9" in codes(found)
    assert all(c.startswith("E11.") for c in codes(found))
    pneumonia = codes(_expand(fhir, url=DIAGNOSIS, filter="PNEUM", count="5"))
    assert len(pneumonia) == 5
    assert _expand(fhir, url=DIAGNOSIS, filter="zzzz")["expansion"]["total"] == 0


def test_expand_a_subtree_pages_and_counts(fhir: httpx.Client) -> None:
    url = f"{ICD10}?fhir_vs=isa/J40-J47"
    whole = _expand(fhir, url=url, count="1000")
    assert codes(whole)[:3] == ["J40-J47", "J40", "J41"]
    total = whole["expansion"]["total"]
    page = _expand(fhir, url=url, count="3", offset="2")
    assert codes(page) == codes(whole)[2:5]
    assert page["expansion"]["offset"] == 2
    counted = _expand(fhir, url=url, count="0")
    assert counted["expansion"]["total"] == total and "contains" not in counted["expansion"]


def test_expand_admin_division_with_designations_in_a_language(fhir: httpx.Client) -> None:
    found = _expand(
        fhir,
        url=f"{ADMIN}?fhir_vs",
        filter="gence",
        displayLanguage="en",
        includeDesignations="true",
    )
    assert codes(found) == ["AZ-GA", "ER-05"]
    ganja = found["expansion"]["contains"][0]
    assert ganja["display"] == "Ganja city"
    assert {"language": "az", "value": "Gəncə şəhəri"} in ganja["designation"]
    baku = _expand(fhir, url=f"{ADMIN}?fhir_vs=isa/AZ-BA")
    assert baku["expansion"]["total"] == 13
    assert codes(_expand(fhir, url=f"{ADMIN}?fhir_vs", filter="баку")) == ["AZ-BA"]


def test_expand_by_post_and_by_instance(fhir: httpx.Client) -> None:
    body = {
        "resourceType": "Parameters",
        "parameter": [
            {"name": "url", "valueUri": f"{UCUM}?fhir_vs"},
            {"name": "filter", "valueString": "mmol"},
            {"name": "count", "valueInteger": 5},
        ],
    }
    posted = fhir.post("/ValueSet/$expand", json=body)
    assert posted.status_code == 200, posted.text
    assert codes(posted.json())[0] == "mmol"
    substances = fhir.get("/ValueSet/atc-substance/$expand", params={"filter": "metf"}).json()
    # metformin first (its name begins with the filter), then its combinations.
    assert codes(substances) == ["A10BA02", "A10BD07", "A10BD08"]
    assert substances["id"] == "atc-substance"


def test_expand_refuses_bad_input(fhir: httpx.Client) -> None:
    assert "not a value set" in outcome(
        fhir.get("/ValueSet/$expand", params={"url": "urn:nope"}), 404
    )
    outcome(fhir.get("/ValueSet/$expand"), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "count": "-1"}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "count": "100000"}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "count": "ten"}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "offset": "-5"}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": DIAGNOSIS, "filter": "x" * 201}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": [DIAGNOSIS, DIAGNOSIS]}), 400)
    outcome(fhir.get("/ValueSet/$expand", params={"url": f"{ICD10}?fhir_vs=isa/NOPE"}), 404)
    outcome(fhir.get("/ValueSet/stored-one/$expand"), 404)
    inline_value_set = {"resourceType": "ValueSet", "status": "active"}
    inline = {
        "resourceType": "Parameters",
        "parameter": [{"name": "valueSet", "resource": inline_value_set}],
    }
    outcome(fhir.post("/ValueSet/$expand", json=inline), 400)
