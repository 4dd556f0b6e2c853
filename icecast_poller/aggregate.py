"""Turn what the servers said into one sample per tenant (pure: no I/O, no clock).

``listeners`` is the tenant's total over its mounts and servers (a master and its relays),
minus connections that are Icecast relays pulling the stream, which Icecast counts as
listeners and would otherwise be counted twice. During a failover Icecast moves listeners to
the mount's fallback: a fallback only this tenant declares counts as its own; one shared by
several tenants is reported per tenant as ``on_fallback``/``fallback_listeners`` instead.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from icecast_poller.fetch import ServerResult
from icecast_poller.parse import ListenerRecord, MountStats
from icecast_poller.tenant import MountOwners
from shared.core.measurement import AQH_SECONDS, SessionTally
from shared.core.user_agents import DEVICES, Client, classify
from shared.live.store import Sample
from shared.privacy.geoip import country_metrics

CLIENT_KINDS = ("app", "bot", "player", "browser", "other")  # relays are counted apart


@dataclass
class _Tenant:
    mounts: Counter = field(default_factory=Counter)  # mount -> listeners, relays taken out
    clients: Counter = field(default_factory=Counter)
    devices: Counter = field(default_factory=Counter)
    ips: set = field(default_factory=set)
    durations: list = field(default_factory=list)
    relays: int = 0
    countries: Counter = field(default_factory=Counter)  # only with GEOIP_DATABASE
    sessions: SessionTally | None = None  # the industry's rules (shared.core.measurement)


@dataclass
class _Mounts:
    """What the servers said of mounts no single tenant owns, and which mounts had a source."""

    unclaimed: Counter = field(default_factory=Counter)  # mount -> listeners, no tenant claims it
    shared: Counter = field(default_factory=Counter)  # shared fallback mount -> listeners
    sourced: set = field(default_factory=set)
    sourceless: set = field(default_factory=set)


@dataclass(frozen=True)
class Aggregate:
    samples: list[Sample]
    unclaimed: dict[str, int]  # mount -> listeners on mounts no tenant claims or declares
    servers_failed: int


def aggregate(
    results: Iterable[ServerResult],
    owners: MountOwners,
    *,
    time_ms: int,
    relay_ip_tokens: frozenset[bytes] = frozenset(),
    top_countries: int | None = None,
    interval_s: int = 30,
    aqh_seconds: int = AQH_SECONDS,
) -> Aggregate:
    """One rule for every count: a mount's figure is its listeners less the relays pulling it,
    and a tenant's ``listeners`` is the sum of its mounts' figures (own mounts and fallbacks
    only it declares), so ``mount:<m>`` values add up to ``listeners``."""
    results = list(results)
    answered = [r for r in results if r.stats is not None]
    failed = len(results) - len(answered)
    if not answered:
        return Aggregate(samples=[], unclaimed={}, servers_failed=failed)
    is_relay = _relay_rule(results, answered, relay_ip_tokens)
    acc = {
        name: _Tenant(sessions=SessionTally(now_s=time_ms / 1000, interval_s=interval_s, aqh_seconds=aqh_seconds))
        for name, r in owners.tenants.items()
        if r.mounts or r.fallback_mounts
    }
    seen = _Mounts()
    kinds: dict[tuple[Any, str], Client] = {}  # (app rule, User-Agent) -> client: a few hundred agents per run
    for result in answered:
        for mount in result.stats.mounts:
            (seen.sourced if mount.has_source else seen.sourceless).add(mount.mount)
            name = owners.tenant_for_mount(mount.mount)
            if name is None:
                shared = owners.fallback_sharers(mount.mount)
                (seen.shared if shared else seen.unclaimed)[mount.mount] += mount.listeners
                continue
            listeners = result.listeners.get(mount.mount, ())
            _count_mount(acc[name], mount, listeners, owners.tenants[name].app_user_agent, is_relay, kinds)
    samples = [
        Sample(
            tenant=name,
            series="icecast",
            time_ms=time_ms,
            metrics=_tenant_metrics(name, tenant, owners, seen, failed=failed, top_countries=top_countries),
        )
        for name, tenant in acc.items()
    ]
    return Aggregate(samples=samples, unclaimed=dict(seen.unclaimed), servers_failed=failed)


def _relay_rule(
    results: list[ServerResult], answered: list[ServerResult], relay_ip_tokens: frozenset[bytes]
) -> Callable[[ListenerRecord], bool]:
    """A relay identifies itself with its <server-id>: every polled server's own id, the
    configured agents, and (without configuration) Icecast's default "Icecast 2.x"; or it
    connects from a configured relay address."""
    agents = {r.stats.server_id.strip() for r in answered if r.stats.server_id}
    agents |= {a.strip() for r in results for a in r.server.relay_agents}
    return lambda rec: rec.user_agent.strip() in agents or rec.ip_token in relay_ip_tokens


def _count_mount(
    tenant: _Tenant,
    mount: MountStats,
    listeners: Iterable[ListenerRecord],
    app_pattern: re.Pattern[str] | None,
    is_relay: Callable[[ListenerRecord], bool],
    kinds: dict[tuple[Any, str], Client],
) -> None:
    """Add one server's mount to its tenant: listeners less relays, and each listed listener's
    client kind, country, address token and time connected."""
    relays = 0
    for rec in listeners:
        if is_relay(rec):
            relays += 1
            tenant.sessions.add("relay", rec.connected_seconds)
            continue
        client = kinds.get((app_pattern, rec.user_agent))  # a dict hit per listener, the lists per agent
        if client is None:
            client = kinds[app_pattern, rec.user_agent] = classify(rec.user_agent, app_pattern)
        tenant.sessions.add(client.kind, rec.connected_seconds)
        if client.kind == "relay":
            relays += 1
            continue
        tenant.clients[client.kind] += 1
        if client.kind != "bot":
            tenant.devices[client.device] += 1
        if rec.country is not None:
            tenant.countries[rec.country] += 1
        if rec.ip_token:
            tenant.ips.add(rec.ip_token)
        if rec.connected_seconds is not None:
            tenant.durations.append(rec.connected_seconds)
    tenant.relays += relays
    tenant.mounts[mount.mount] += max(0, mount.listeners - relays)


def _tenant_metrics(
    name: str, tenant: _Tenant, owners: MountOwners, seen: _Mounts, *, failed: int, top_countries: int | None
) -> dict[str, int]:
    """The sample's metrics (docs/redis-schema.md, the ``icecast`` series)."""
    record = owners.tenants[name]
    counted = owners.counted(name)
    on_fallback = sum(1 for m in record.mounts if m in seen.sourceless and m not in seen.sourced)
    on_shared = sum(seen.shared[m] for m in record.fallback_mounts if owners.fallback_sharers(m))
    metrics = {
        "listeners": sum(tenant.mounts[m] for m in counted),
        "unique_listeners": len(tenant.ips),
        "median_listening_seconds": int(statistics.median_low(tenant.durations)) if tenant.durations else 0,
        "relays": tenant.relays,
        "servers_failed": failed,
        "on_fallback": on_fallback,
        "fallback_listeners": on_shared if on_fallback else 0,
    }
    metrics.update(tenant.sessions.metrics())
    metrics.update({f"client:{kind}": tenant.clients[kind] for kind in CLIENT_KINDS})
    metrics.update({f"device:{d}": tenant.devices[d] for d in DEVICES if tenant.devices[d]})  # like countries
    metrics.update({f"mount:{m}": tenant.mounts[m] for m in counted})
    if top_countries is not None:  # of the listeners listed (a mount without its list is not placed)
        metrics.update(country_metrics(tenant.countries.elements(), top=top_countries))
    return metrics
