"""Security: OAuth2 clients and tokens, SMART on FHIR v2 scopes, signing keys."""
