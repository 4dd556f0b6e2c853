"""icecast_poller as the rest of the app sees it (shared.core.descriptor)."""

from __future__ import annotations

import time
from typing import Any, Iterable, Mapping

from icecast_poller.tenant import SECTION
from shared.core.descriptor import Descriptor, Metric, Probe, Series, Setting, lazy

ICECAST = Series(
    name="icecast",
    bucket_ms=1_800_000,  # 60 samples at the default 30 s
    metrics=(
        Metric(
            "listeners",
            "connections",
            "raw connections, bots and short sessions included: Σ of the tenant's `mount:<mount>` (its own "
            "mounts and the fallbacks only it declares)",
        ),
        Metric(
            "active_sessions",
            "sessions",
            "listening now for 60 s or more, bots and relays out (the industry's active sessions; docs/measurement.md)",
        ),
        Metric(
            "session_starts", "sessions", "sessions that reached 60 s since the previous sample (each counted once)"
        ),
        Metric(
            "listening_seconds",
            "seconds",
            "seconds listened since the previous sample by qualifying sessions (a new one: its whole time); "
            "Σ over a window / 3600 = listening hours (TLH)",
        ),
        Metric(
            "aqh_persons",
            "sessions",
            "qualifying sessions with `AQH_MIN_SECONDS` (300) or more inside the current clock quarter hour",
        ),
        Metric(
            "excluded:bot", "connections", "connections of bots (OPAWG and crawler lists), not in the session metrics"
        ),
        Metric("excluded:relay", "connections", "Icecast relays pulling the stream, not in the session metrics"),
        Metric("excluded:short", "connections", "listeners connected for under 60 s (not yet a session)"),
        Metric(
            "unique_listeners", "addresses", "distinct keyed hashes of listener IPs (people behind one NAT count once)"
        ),
        Metric(
            "median_listening_seconds",
            "seconds",
            "median time connected so far, of the tenant's listeners now (not ATSL: that is TLH / sessions)",
        ),
        Metric(
            "mount:<mount>",
            "connections",
            "listeners of one mount summed over servers, minus the relays pulling it: the mounts add up to `listeners`",
        ),
        Metric("on_fallback", "mounts", "the tenant's mounts whose source is gone (listeners moved to a fallback)"),
        Metric(
            "fallback_listeners",
            "connections",
            "while on fallback: listeners on declared fallbacks shared with other tenants (not in `listeners`)",
        ),
        Metric(
            "client:<kind>",
            "connections",
            "by User-Agent: `client:app`, `client:bot`, `client:browser`, `client:player`, `client:other` "
            "(OPAWG's lists and the tenant's app rule: `icecast_poller/README.md`)",
        ),
        Metric(
            "device:<category>",
            "connections",
            "listeners that are not bots by OPAWG device category: `mobile`, `computer`, `smart_speaker`, "
            "`smart_tv`, `watch`, `auto`, `unknown`; categories with no listener are left out",
        ),
        Metric(
            "country:<code>",
            "connections",
            "with `GEOIP_DATABASE` only: listeners per country (ISO code), the 10 largest (`GEOIP_TOP_COUNTRIES`), "
            "the rest as `country:other`, unplaced addresses as `country:unknown`; absent countries are left out "
            "(at most 12 such metrics)",
        ),
        Metric("relays", "connections", "Icecast relays pulling the tenant's mounts (not counted in `listeners`)"),
        Metric("servers_failed", "servers", "servers that did not answer in this run: when > 0 the sample may be low"),
    ),
)


def _probes(settings: Any, env: Mapping[str, str]) -> Iterable[Probe]:
    for server in settings.servers:
        yield Probe(f"icecast {server.name}", lambda server=server: _reach(server))
    if settings.geoip is not None:
        yield Probe("country database (GEOIP_DATABASE)", lambda: _countries_ready(settings.geoip))


def _countries_ready(geoip: Any) -> str:
    from shared.core.errors import ConfigError

    geoip.countries([])  # looks at the file as it is now
    if geoip.problem:
        raise ConfigError({"GEOIP_DATABASE": geoip.problem.removeprefix("GEOIP_DATABASE: ")})
    return "readable, checked whole"


def _reach(server: Any) -> str:
    from icecast_poller.fetch import fetch_stats  # loads lxml
    from shared.clients.http import HttpOptions, make_session

    stats = fetch_stats(make_session(HttpOptions(retries=0)), server, time.monotonic() + 15)
    return f"{len(stats.mounts)} mounts"


SETTINGS = (
    Setting(
        "ICECAST_SERVERS",
        (
            'JSON list: `[{"name": "ice1", "url": "http://host:8000", "username": "admin", "password": '
            '"..."}]`; `name` defaults to host:port, `username` to `admin`; no credentials in the URL. '
            "Optional per server: `relay_agents` (User-Agents, i.e. `<server-id>`s, of relays pulling from it "
            "that are not polled) and `relay_addresses` (their IP addresses)"
        ),
        default="required",
        secret=True,
        example=(
            '[{"name": "ice1", "url": "http://127.0.0.1:8000", "username": "admin", "password": '
            '"example-admin-password"}]'
        ),
    ),
    Setting(
        "ICECAST_CONNECT_TIMEOUT_SECONDS",
        "per request",
        default="`3`",
        example="3",
    ),
    Setting(
        "ICECAST_READ_TIMEOUT_SECONDS",
        "per socket read",
        default="`5`",
        example="5",
    ),
    Setting(
        "ICECAST_MAX_PARALLEL",
        (
            "requests in flight at once, over all servers and mounts (threads waiting on I/O; raise it above "
            "the number of servers)"
        ),
        default="`64`",
        example="64",
    ),
    Setting(
        "ICECAST_RUN_DEADLINE_SECONDS",
        ("the whole run ends by then (keep it below the schedule); unanswered requests are reported as timed out"),
        default="`20`",
        example="20",
    ),
    Setting(
        "AQH_MIN_SECONDS",
        (
            "time inside the current clock quarter hour that credits a session to `aqh_persons` (Nielsen: 5 "
            "minutes); 1-900 (docs/measurement.md)"
        ),
        default="`300`",
        example="300",
    ),
)


DESCRIPTOR = Descriptor(
    name="icecast_poller",
    in_use=("ICECAST_SERVERS",),
    load_settings=lazy("icecast_poller.settings", "load_settings"),
    schedule="*/30 * * * * *",
    series=(ICECAST,),
    tenant_sections=(SECTION,),
    probes=_probes,
    settings=SETTINGS,
    collect=lazy("icecast_poller.collect", "collect"),
    settings_note="Fallback mounts: `icecast.fallback_mounts` (see icecast_poller/README.md).",
    schedule_help="every 30 s",
)
