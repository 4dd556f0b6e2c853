"""Which collectors are in use here, and how fresh each must be (``shared.runtime.verdict`` judges).

A function is **enabled** when any of its source settings (its descriptor's ``in_use``) is
present (a deployment may run only some collectors). Each enabled function, and each of its
sources still part of its latest run (``status``'s "gone" rule), must have succeeded within a
freshness limit:

* timers: ``2 x interval + 60 s``, the interval read from the function's NCRONTAB schedule
  (``*/30 * * * * *`` is 30 s: 120 s; daily ``0 30 16 * * *``: 48 h 1 min);
* a function without a timer: its descriptor's ``max_age_s`` (``eventhub_to_redis``: 600 s,
  the HAProxy agent sends every 10 s, the platform constantly);
* any of them overridden by ``HEALTH_MAX_AGE_<FUNCTION>_SECONDS``.

Pure: settings in, names and limits out (the descriptors are read once a process).
"""

from __future__ import annotations

from typing import Iterable, Mapping

from shared.core.descriptor import Descriptor
from shared.core.functions import all_series, descriptors, writer_of


def enabled(env: Mapping[str, str], functions: Iterable[str]) -> list[str]:
    """The functions whose descriptor says they are in use here (shared.core.descriptor ``in_use``)."""
    found = descriptors()
    return [f for f in sorted(functions) if f in found and found[f].enabled(env)]


def max_age_seconds(function: str, env: Mapping[str, str]) -> int:
    name = f"HEALTH_MAX_AGE_{function.upper()}_SECONDS"
    override = env.get(name, "").strip()
    if override:
        if not override.isdigit() or int(override) < 1:
            raise ValueError(f"{name}: a whole number of seconds, at least 1")
        return int(override)
    described = descriptors().get(function) or Descriptor(name=function)
    if described.max_age_s is not None:
        return described.max_age_s
    return 2 * schedule_interval_seconds(described.schedule_in(env) or "0 * * * * *") + 60


def series_interval_seconds(series: str, env: Mapping[str, str]) -> int:
    """How often a series gets a sample: its writer's fixed pace, or its writer's schedule."""
    spec = all_series()[series]
    return spec.every_s or schedule_interval_seconds(writer_of(series).schedule_in(env) or "0 * * * * *")


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
