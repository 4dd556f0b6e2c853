"""What keeps personal data and secrets out: the keyed hash of addresses, scrubbing, redaction, the
country lookup."""
