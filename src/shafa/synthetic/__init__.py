"""Deterministic synthetic FHIR R4 clinical data for tests, demos and benchmarks."""
