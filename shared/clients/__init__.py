"""Clients of what the app talks to: HTTP, hardened XML, Blob Storage, Redis, Azure identities."""
