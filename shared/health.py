"""Which collectors are in use here, and how fresh each must be (``shared.verdict`` judges).

A function is **enabled** when any of its source settings is present (a deployment may run only
some collectors). Each enabled function, and each of its sources still part of its latest run
(``status``'s "gone" rule), must have succeeded within a freshness limit:

* timers: ``2 x interval + 60 s``, the interval read from the function's NCRONTAB schedule
  (``*/30 * * * * *`` is 30 s: 120 s; daily ``0 30 16 * * *``: 48 h 1 min);
* ``eventhub_to_redis``: 600 s (the HAProxy agent sends every 10 s, the platform constantly);
* any of them overridden by ``HEALTH_MAX_AGE_<FUNCTION>_SECONDS``.

Pure: settings in, names and limits out.
"""

from __future__ import annotations

from typing import Iterable, Mapping

# The settings that say a function is in use here: none of them set -> not enabled.
IN_USE = {
    "icecast_poller": ("ICECAST_SERVERS",),
    "matomo_live_poller": ("MATOMO_URL", "MATOMO_TOKEN"),
    "eventhub_to_redis": ("EVENTHUB_CONNECTION", "EVENTHUB_CONNECTION__fullyQualifiedNamespace", "EVENTHUB_NAME"),
    "store_downloads_fetcher": ("APPLE_KEY_ID", "APPLE_VENDOR_NUMBER", "GOOGLE_SERVICE_ACCOUNT_JSON"),
}
DEFAULT_SCHEDULES = {
    "icecast_poller": "*/30 * * * * *",
    "matomo_live_poller": "0 * * * * *",
    "store_downloads_fetcher": "0 30 16 * * *",
}
EVENTHUB_MAX_AGE_S = 600


def enabled(env: Mapping[str, str], functions: Iterable[str]) -> list[str]:
    return [f for f in sorted(functions) if any(env.get(k) for k in IN_USE.get(f, ()))]


def max_age_seconds(function: str, env: Mapping[str, str]) -> int:
    name = f"HEALTH_MAX_AGE_{function.upper()}_SECONDS"
    override = env.get(name, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"{name}: a whole number of seconds, at least 1")
        return int(override)
    if function == "eventhub_to_redis":
        return EVENTHUB_MAX_AGE_S
    schedule = env.get(f"{function.upper()}_SCHEDULE") or DEFAULT_SCHEDULES.get(function, "0 * * * * *")
    return 2 * schedule_interval_seconds(schedule) + 60


def schedule_interval_seconds(schedule: str) -> int:
    """The interval of a six-field NCRONTAB expression, for the common shapes (``*/N`` or
    ``*`` in one field with the finer fields fixed). Anything else counts as daily."""
    fields = schedule.split()
    if len(fields) != 6:
        return 86_400
    for field, unit in zip(fields[:3], (1, 60, 3600)):
        if field == "*":
            return unit
        if field.startswith("*/") and field[2:].isdigit() and int(field[2:]) > 0:
            return unit * int(field[2:])
        if not field.isdigit():
            break
    return 86_400
