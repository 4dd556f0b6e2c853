"""``python -m shared.cli``: run one trigger, show live data, read run status (see docs/cli.md)."""
