"""The release of this app (CHANGELOG.md says what each release changed in the contracts)."""

VERSION = "1.0.0"
