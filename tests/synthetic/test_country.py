"""The synthetic country: the same for a seed however it is split, and plausible."""

import collections
from datetime import date

from shafa import registries
from shafa.fhir.validation import check_resource
from shafa.registries import medicines_csv
from shafa.registries.medicines_entry import dose_form_display
from shafa.registries.medicines_rules import GTIN, RegistrationStatus
from shafa.synthetic import country
from shafa.terminology import icd10


def _by_type(resources: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = collections.defaultdict(list)
    for resource in resources:
        grouped[resource["resourceType"]].append(resource)
    return grouped


def test_a_country_has_exactly_the_citizens_asked_for_with_unique_fins() -> None:
    for citizens in (1, 7, 1000):
        plan = country.plan(citizens, seed=3)
        assert sum(plan.sizes) == citizens
        assert all(1 <= size <= country.MAX_HOUSEHOLD for size in plan.sizes)
    patients = _by_type(list(country.households(country.plan(1000, seed=3))))["Patient"]
    assert len(patients) == 1000
    assert len({p["identifier"][0]["value"] for p in patients}) == 1000
    assert len({p["id"] for p in patients}) == 1000


def test_the_country_is_the_same_for_a_seed_however_it_is_split() -> None:
    plan = country.plan(600, seed=5)
    whole = list(country.households(plan))
    middle = plan.households // 3
    parts = [*country.households(plan, middle, None), *country.households(plan, 0, middle)]
    assert sorted(whole, key=lambda r: r["id"]) == sorted(parts, key=lambda r: r["id"])
    assert whole != list(country.households(country.plan(600, seed=6)))


def test_every_resource_is_valid_fhir() -> None:
    for resource in country.households(country.plan(300, seed=2)):
        check_resource(resource)


def test_families_hold_together() -> None:
    resources = list(country.households(country.plan(2000, seed=4)))
    grouped = _by_type(resources)
    patients = {p["id"]: p for p in grouped["Patient"]}
    ids = {f"{r['resourceType']}/{r['id']}" for r in resources}
    for related in grouped["RelatedPerson"]:
        child = patients[related["patient"]["reference"].removeprefix("Patient/")]
        parent_fin = related["identifier"][0]["value"]
        (parent,) = [p for p in patients.values() if p["identifier"][0]["value"] == parent_fin]
        gap = date.fromisoformat(child["birthDate"]) - date.fromisoformat(parent["birthDate"])
        code = related["relationship"][0]["coding"][0]["code"]
        assert gap.days >= 17 * 365, (parent["birthDate"], child["birthDate"])
        assert parent["gender"] == ("female" if code == "MTH" else "male")
        assert {"other": {"reference": f"RelatedPerson/{related['id']}"}, "type": "seealso"} in (
            parent["link"]
        )
    # Every reference inside a household points at something the country holds, but the
    # facilities, which facility_resources makes.
    for resource in resources:
        for reference in _references(resource):
            if reference.split("/")[0] in {"Organization", "Practitioner"}:
                continue
            assert reference in ids, reference


def _references(value: object) -> list[str]:
    if isinstance(value, dict):
        found = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return found + [r for v in value.values() for r in _references(v)]
    if isinstance(value, list):
        return [r for v in value for r in _references(v)]
    return []


def test_the_population_looks_like_the_country() -> None:
    patients = _by_type(list(country.households(country.plan(20000, seed=1))))["Patient"]
    ages = [country.BASE_DATE.year - int(p["birthDate"][:4]) for p in patients]
    share = collections.Counter(min(age // 20, 4) for age in ages)
    # 0-19, 20-39, 40-59, 60-79, 80+ (2023: about 29, 30, 25, 14 and 1.5 %)
    assert 0.22 < share[0] / len(ages) < 0.36
    assert 0.22 < share[1] / len(ages) < 0.38
    assert 0.15 < share[2] / len(ages) < 0.30
    assert 0.07 < share[3] / len(ages) < 0.20
    women = sum(p["gender"] == "female" for p in patients) / len(patients)
    assert 0.47 < women < 0.53
    baku = sum(p["address"][0]["city"] == "Bakı" for p in patients) / len(patients)
    assert 0.18 < baku < 0.28  # Baku's districts hold about 23 % of the population
    names = patients[0]["name"]
    assert names[1]["extension"][0]["valueCode"] == "ru"
    assert all(ord(c) < 0x400 for c in names[0]["family"])
    assert all(not c.isalpha() or 0x400 <= ord(c) < 0x500 for c in names[1]["family"])


def test_the_country_keeps_the_registries_rules() -> None:
    """Facilities, licences, citizens and their records as the registries would accept them
    through the API: every rule installed, every resource checked."""
    registries.install()
    plan = country.plan(400, seed=8)
    facilities = list(country.facility_resources(plan))
    kinds = collections.Counter(r["resourceType"] for r in facilities)
    districts = len(country.districts())
    # All but the ministry, its three agencies, the commission and the 14 unions have a place.
    assert kinds["Location"] == kinds["Organization"] - 5 - 14
    assert kinds["Practitioner"] == kinds["PractitionerRole"] >= 2 * districts
    for resource in [*facilities, *country.households(plan)]:
        check_resource(resource)
    ids = {f"{r['resourceType']}/{r['id']}" for r in facilities}
    for resource in country.households(plan):
        for reference in _references(resource):
            if reference.split("/")[0] in {"Organization", "Practitioner"}:
                assert reference in ids, reference


def test_prescriptions_are_dispensed_as_registered_packs_of_their_ingredient() -> None:
    """A prescription names the INN, strength and form; its dispense names a valid pack of
    the shipped register that a pharmacy may substitute for it, by GTIN, enough for the course."""
    register = {
        gtin: entry
        for _line, entry in medicines_csv.shipped()
        for gtin in entry.gtins
        if entry.status is RegistrationStatus.VALID
    }
    resources = list(country.households(country.plan(1500, seed=4)))
    requests = {r["id"]: r for r in resources if r["resourceType"] == "MedicationRequest"}
    dispenses = [r for r in resources if r["resourceType"] == "MedicationDispense"]
    assert len(dispenses) > 100
    gtins_used = set()
    for dispense in dispenses:
        request = requests[dispense["authorizingPrescription"][0]["reference"].split("/")[1]]
        gtin = next(
            c["code"]
            for c in dispense["medicationCodeableConcept"]["coding"]
            if c["system"] == GTIN
        )
        pack = register[gtin]
        gtins_used.add(gtin)
        prescribed = request["medicationCodeableConcept"]
        assert pack.atc == prescribed["coding"][0]["code"]
        substance = pack.ingredients[0]
        form = dose_form_display(pack.dose_form)
        assert prescribed["text"] == f"{substance.inn} {substance.strength.amount} {form}"
        needed = request["dispenseRequest"]["quantity"]
        assert dispense["quantity"]["code"] == needed["code"] == pack.pack.unit
        assert needed["value"] <= dispense["quantity"]["value"] < needed["value"] + pack.pack.value
        assert dispense["quantity"]["value"] % pack.pack.value == 0  # whole packs
    assert len(gtins_used) > 10  # substitution: more than one pack per prescription kind


def test_disability_determinations_follow_age_and_the_registry() -> None:
    registries.install()
    plan = country.plan(3000, seed=5)
    resources = list(country.households(plan))
    born = {
        r["id"]: date.fromisoformat(r["birthDate"])
        for r in resources
        if r["resourceType"] == "Patient"
    }
    found = [
        r
        for r in resources
        if r["resourceType"] == "Observation"
        and r["code"]["coding"][0]["code"] == "disability-determination"
    ]
    assert 0.03 < len(found) / len(born) < 0.09  # about 6 % of the population
    for determination in found:
        check_resource(determination)
        birth = born[determination["subject"]["reference"].split("/")[1]]
        group = determination["valueCodeableConcept"]["coding"][0]["code"]
        start = date.fromisoformat(determination["effectivePeriod"]["start"])
        review = date.fromisoformat(determination["effectivePeriod"]["end"])
        child = (country.BASE_DATE - birth).days // 365 < 18
        assert (group == "under-18") == child
        assert birth < start <= country.BASE_DATE < review
        cause = determination["component"][0]["valueCodeableConcept"]["coding"][0]["code"]
        assert icd10.is_valid_leaf(cause)
