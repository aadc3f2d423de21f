"""The search parameters of FHIR R4: the official SearchParameter bundle, as a registry.

The bundle (hl7.org/fhir/R4/search-parameters.json, 4.0.1) is loaded once, on first use.
A parameter whose base is `Resource` or `DomainResource` (`_id`, `_profile`, `_tag`, ...)
applies to every resource type. Parameters without an expression (`_text`, `_content`,
`_query`) are left out: nothing can be extracted for them.
"""

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from shafa.fhir.resource_types import RESOURCE_TYPES

_ABSTRACT_BASES = frozenset({"Resource", "DomainResource"})


@dataclass(frozen=True, slots=True)
class SearchParam:
    """One SearchParameter, as far as indexing and searching need it."""

    code: str
    type: str  # number | date | string | token | reference | composite | quantity | uri | special
    base: tuple[str, ...]
    expression: str  # shared by all bases; compile_path keeps the branches of one type
    targets: tuple[str, ...]  # resource types a reference parameter may point to
    modifiers: tuple[str, ...]  # as the definition lists them (none do in the R4 bundle)
    components: tuple[tuple[str, str], ...]  # composite: (definition url, expression) pairs
    url: str


@dataclass(frozen=True, slots=True)
class _Registry:
    by_type: dict[str, dict[str, SearchParam]]  # params of named bases, by resource type and code
    common: dict[str, SearchParam]  # params of Resource and DomainResource, by code


# The R4 bundle gives DocumentReference-relationship's components each other's expressions
# (relatesto, a reference parameter, with `code`; relation, a token parameter, with `target`),
# so the composite could match nothing; later FHIR versions pair them as here.
_COMPONENT_ERRATA = {
    "http://hl7.org/fhir/SearchParameter/DocumentReference-relationship": (
        ("http://hl7.org/fhir/SearchParameter/DocumentReference-relatesto", "target"),
        ("http://hl7.org/fhir/SearchParameter/DocumentReference-relation", "code"),
    ),
}


def _search_param(definition: dict[str, Any]) -> SearchParam:
    components = tuple(
        (component["definition"], component["expression"])
        for component in definition.get("component", ())
    )
    return SearchParam(
        code=definition["code"],
        type=definition["type"],
        base=tuple(definition["base"]),
        expression=definition["expression"],
        targets=tuple(definition.get("target", ())),
        modifiers=tuple(definition.get("modifier", ())),
        components=_COMPONENT_ERRATA.get(definition["url"], components),
        url=definition["url"],
    )


@cache
def _registry() -> _Registry:
    raw = resources.files("shafa.fhir").joinpath("data/search-parameters.json").read_text()
    by_type: dict[str, dict[str, SearchParam]] = {}
    common: dict[str, SearchParam] = {}
    for entry in json.loads(raw)["entry"]:
        definition = entry["resource"]
        if not definition.get("expression"):
            continue
        param = _search_param(definition)
        for base in param.base:
            target = common if base in _ABSTRACT_BASES else by_type.setdefault(base, {})
            target[param.code] = param
    return _Registry(by_type, common)


@cache
def params_for(resource_type: str) -> dict[str, SearchParam]:
    """The search parameters of a resource type by code, those of Resource included.

    One dict a type, shared by every caller: read it, never change it.
    """
    registry = _registry()
    return {**registry.common, **registry.by_type.get(resource_type, {})}


def all_resource_types() -> frozenset[str]:
    """Every R4 resource type: each has at least the parameters of Resource."""
    return RESOURCE_TYPES


def param_by_url(url: str) -> SearchParam | None:
    """The parameter a canonical URL names, as composite components refer to theirs."""
    return _by_url().get(url)


@cache
def _by_url() -> dict[str, SearchParam]:
    registry = _registry()
    params = list(registry.common.values())
    for type_params in registry.by_type.values():
        params += type_params.values()
    return {param.url: param for param in params}
