"""The generic FHIR R4 engine: knows nothing of prescriptions or sick leave."""
