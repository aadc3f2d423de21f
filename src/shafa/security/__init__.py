"""Security: identities, accounts and login (tokens, access rules and audit build on these)."""
