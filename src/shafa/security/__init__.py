"""Identities, access control, consent and the audit log."""
