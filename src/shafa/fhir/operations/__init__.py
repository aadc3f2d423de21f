"""FHIR $operations, one module each with its OperationDefinition."""
