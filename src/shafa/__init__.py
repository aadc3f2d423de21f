"""Shafa: a FHIR-native national digital-health platform."""

__version__ = "0.1.0"
