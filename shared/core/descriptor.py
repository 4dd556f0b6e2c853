"""What a function package declares about itself, so ``shared/`` never names a collector.

Modelled on Telegraf's one folder per input and Prometheus client_python's declared metrics: a
package ships ``descriptor.py`` with one ``DESCRIPTOR``; ``shared.core.functions`` finds it next to
the package's ``function.json``, and health, ``doctor``, ``TENANTS``, the live store and the
live feed read what they need from it. Adding a collector touches its own folder only.

Descriptors are read on every cold start: they hold data and small callables, and import
anything heavy inside those callables.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

Env = Mapping[str, str]


@dataclass(frozen=True)
class Metric:
    """One metric of a series. ``name`` ending in ``<…>`` is a family (``mount:<mount>``)."""

    name: str
    unit: str
    help: str

    def matches(self, key: str) -> bool:
        if "<" not in self.name:
            return key == self.name
        prefix = self.name.split("<", 1)[0]
        return key.startswith(prefix) and len(key) > len(prefix)


@dataclass(frozen=True)
class Series:
    """A live series in Redis (docs/redis-schema.md). ``bucket_ms`` is part of the key contract:
    about 60 samples a bucket at the series' rate, so each hash stays in the compact encoding.
    ``every_s`` is the writer's fixed pace; without it the pace is its function's schedule."""

    name: str
    metrics: tuple[Metric, ...]
    bucket_ms: int = 1_800_000
    every_s: int | None = None
    per_edge: bool = False  # kept per HAProxy edge, summed when read (shared.live.hls_edges)

    def metric_for(self, key: str) -> Metric | None:
        return next((m for m in self.metrics if m.matches(key)), None)


@dataclass(frozen=True)
class TenantSection:
    """One source section of a tenant in ``TENANTS`` (``{"icecast": {...}}``).

    ``parse(tenant, value, problems)`` returns the section's typed record, or None after adding
    a problem naming ``<tenant>.<section>.<key>``. ``check(records, problems)`` sees every
    tenant's record at once, for what one tenant cannot know (a mount claimed twice)."""

    name: str
    keys: frozenset[str]
    parse: Callable[[str, dict, list[str]], Any]
    check: Callable[[Mapping[str, Any], list[str]], None] | None = None


@dataclass(frozen=True)
class Setting:
    """One app setting, declared once. ``make docs`` writes local.settings.sample.json and the
    tables of docs/settings.md from the declarations; tests hold the code to them (every name it
    reads is declared, and a default in backticks is the one it uses when the setting is unset).

    ``default`` is what the docs show: `` `7200` `` (the value), "required", "none", or words;
    ``example`` is the sample's value (None: not in the sample, e.g. a family of names);
    ``label`` replaces the name in the docs' first column (a family written out)."""

    name: str
    help: str
    default: str = "none"
    example: str | None = ""
    secret: bool = False
    label: str = ""

    @property
    def default_value(self) -> str | None:
        """The value the code uses when the setting is unset, when the docs give one."""
        shown = self.default
        if len(shown) > 2 and shown[0] == shown[-1] == "`" and shown.count("`") == 2:
            return shown[1:-1]
        return None


@dataclass(frozen=True)
class Probe:
    """One thing ``doctor`` reaches (a server, a container, a token endpoint): ``run`` returns
    what it found, or raises a ``FabrikError`` (or an SDK's own error) saying what failed."""

    what: str
    run: Callable[[], str]


@dataclass(frozen=True)
class Descriptor:
    """A function package, as the rest of the app sees it.

    * ``in_use``: the settings that say it runs in this deployment (none set: not configured);
    * ``load_settings(env)``: its validated settings, raising ``ConfigError``;
    * ``schedule``: the default NCRONTAB of a timer (``<NAME>_SCHEDULE`` overrides it), or
      ``max_age_s`` for a function without a timer: how fresh its runs must be;
    * ``probes(settings, env)``: what ``doctor`` reaches; ``trigger_missing(env)``: the
      host's own settings for its trigger, which ``load_settings`` does not read;
    * ``settings``: every setting it reads beyond the app's (``shared.core.app_settings``);
    * ``collect(settings, context)``: a collector's one step, samples out; ``shared.runtime.collect``
      owns the rest of the run (settings, status, the write, the failure rules).
    """

    name: str
    in_use: tuple[str, ...] = ()
    load_settings: Callable[[Env], Any] | None = None
    schedule: str | None = None
    max_age_s: int | None = None
    series: tuple[Series, ...] = ()
    tenant_sections: tuple[TenantSection, ...] = ()
    probes: Callable[[Any, Env], Iterable[Probe]] | None = None
    trigger_missing: Callable[[Env], dict[str, str]] | None = None
    settings: tuple[Setting, ...] = ()
    settings_note: str = ""  # docs/settings.md: a paragraph after the function's table
    schedule_help: str = "NCRONTAB, six fields (seconds first), UTC"
    collect: Callable[[Any, Any], Iterable[Any]] | None = None

    def enabled(self, env: Env) -> bool:
        return any(env.get(key) for key in self.in_use)

    def schedule_in(self, env: Env) -> str | None:
        return env.get(f"{self.name.upper()}_SCHEDULE") or self.schedule


def lazy(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, imported at the first call: a descriptor names its function's settings
    loader without importing it (descriptors are read on every cold start)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    return call
