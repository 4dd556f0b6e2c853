"""The settings a CLI command sees: ``local.settings.json`` ``Values`` under the environment."""

from __future__ import annotations

import json
import os
from pathlib import Path

from shared.core.errors import ConfigError
from shared.privacy.redact import settings_secrets
from shared.runtime.logs import register_secrets

DEFAULT_FILE = "local.settings.json"


def load_env(settings_file: str | None) -> dict[str, str]:
    """Merge the file's ``Values`` with ``os.environ``; the environment wins, as in the host.

    Without ``--settings``, ``./local.settings.json`` is read when it exists.
    """
    path = Path(settings_file) if settings_file else Path(DEFAULT_FILE)
    values: dict[str, str] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not JSON
            raise ConfigError({str(path): f"cannot read settings file: {exc}"}) from None
        except RecursionError:
            raise ConfigError({str(path): "cannot read settings file: nested too deep"}) from None
        raw = data.get("Values", {}) if isinstance(data, dict) else None
        if not isinstance(raw, dict):
            raise ConfigError({str(path): 'expected an object with a "Values" object'})
        bad = sorted(k for k, v in raw.items() if not isinstance(v, str))
        if bad:
            raise ConfigError(
                {f"{path}:{k}": "values must be strings (JSON in a string for lists/objects)" for k in bad}
            )
        values.update(raw)
    elif settings_file:
        raise ConfigError({str(path): "settings file not found"})
    values.update(os.environ)

    register_secrets(settings_secrets(values))  # masked in every log line and printed line from here on
    return values
