"""Health of the collectors: the same truth as ``status``, as one verdict an uptime check reads.

A function is **enabled** when any of its source settings is present (a deployment may run only
some collectors). Each enabled function, and each of its sources still part of its latest run
(``status``'s "gone" rule), must have succeeded within a freshness limit:

* timers: ``2 x interval + 60 s``, the interval read from the function's NCRONTAB schedule
  (``*/30 * * * * *`` is 30 s: 120 s; daily ``0 30 16 * * *``: 48 h 1 min);
* ``eventhub_to_redis``: 600 s (the HAProxy agent sends every 10 s, the platform constantly);
* any of them overridden by ``HEALTH_MAX_AGE_<FUNCTION>_SECONDS``.

Pure: status records, settings and a time in, findings out.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable, Mapping

from shared.status import SourceStatus

# The settings that say a function is in use here: none of them set -> not enabled.
IN_USE = {"icecast_poller": ("ICECAST_SERVERS",), "matomo_live_poller": ("MATOMO_URL", "MATOMO_TOKEN"),
          "eventhub_to_redis": ("EVENTHUB_CONNECTION", "EVENTHUB_CONNECTION__fullyQualifiedNamespace", "EVENTHUB_NAME"),
          "store_downloads_fetcher": ("APPLE_KEY_ID", "APPLE_VENDOR_NUMBER", "GOOGLE_SERVICE_ACCOUNT_JSON")}
DEFAULT_SCHEDULES = {"icecast_poller": "*/30 * * * * *", "matomo_live_poller": "0 * * * * *",
                     "store_downloads_fetcher": "0 30 16 * * *"}
EVENTHUB_MAX_AGE_S = 600


@dataclass(frozen=True)
class Finding:
    function: str
    source: str
    state: str  # ok | stale | failing | never
    max_age_s: int
    last_success_ms: int | None = None
    error: str | None = None

    def as_json(self) -> dict:
        out = {"function": self.function, "source": self.source, "state": self.state, "max_age_s": self.max_age_s,
               "last_success": _iso(self.last_success_ms)}
        if self.state != "ok":
            out["since"] = out["last_success"]  # failing or stale since the last success (None: never)
        if self.error:
            out["error"] = self.error
        return out


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


def evaluate(status: Mapping[str, list[SourceStatus]], functions: Iterable[str], env: Mapping[str, str], *,
             now_ms: int) -> list[Finding]:
    findings = []
    for function in functions:
        limit = max_age_seconds(function, env)
        rows = [r for r in status.get(function, []) if not r.gone]
        if not rows:
            findings.append(Finding(function, "_run", "never", limit))
            continue
        for row in rows:
            if not row.ok:
                state = "failing"
            elif row.last_success is None or now_ms - row.last_success > limit * 1000:
                state = "stale"
            else:
                state = "ok"
            findings.append(Finding(function, row.source, state, limit, row.last_success,
                                    row.current_error if state == "failing" else None))
    return findings


def _iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
