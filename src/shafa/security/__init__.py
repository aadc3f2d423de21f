"""Security: identities and login, OAuth2 tokens and SMART scopes, access control, consent and
the audit log."""
