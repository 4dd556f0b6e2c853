"""Turn what the servers said into one sample per tenant (pure: no I/O, no clock).

``listeners`` is the tenant's total over its mounts and servers (a master and its relays),
minus connections that are Icecast relays pulling the stream, which Icecast counts as
listeners and would otherwise be counted twice. During a failover Icecast moves listeners to
the mount's fallback: a fallback only this tenant declares counts as its own; one shared by
several tenants is reported per tenant as ``on_fallback``/``fallback_listeners`` instead.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from icecast_poller.classify import CLIENT_TYPES, client_type
from icecast_poller.fetch import ServerResult
from shared.geoip import country_metrics
from shared.live_store import Sample
from shared.tenants import Tenants


@dataclass
class _Tenant:
    mounts: Counter = field(default_factory=Counter)  # mount -> listeners, relays taken out
    clients: Counter = field(default_factory=Counter)
    ips: set = field(default_factory=set)
    durations: list = field(default_factory=list)
    relays: int = 0
    countries: Counter = field(default_factory=Counter)  # only with GEOIP_DATABASE


@dataclass(frozen=True)
class Aggregate:
    samples: list[Sample]
    unclaimed: dict[str, int]  # mount -> listeners on mounts no tenant claims or declares
    servers_failed: int


def aggregate(
    results: Iterable[ServerResult],
    tenants: Tenants,
    *,
    time_ms: int,
    relay_ip_tokens: frozenset[bytes] = frozenset(),
    top_countries: int | None = None,
) -> Aggregate:
    """One rule for every count: a mount's figure is its listeners less the relays pulling it,
    and a tenant's ``listeners`` is the sum of its mounts' figures (own mounts and fallbacks
    only it declares), so ``mount:<m>`` values add up to ``listeners``."""
    results = list(results)
    answered = [r for r in results if r.stats is not None]
    failed = len(results) - len(answered)
    if not answered:
        return Aggregate(samples=[], unclaimed={}, servers_failed=failed)
    # A relay identifies itself with its <server-id>: every polled server's own id, the
    # configured agents, and (without configuration) Icecast's default "Icecast 2.x".
    relay_agents = {r.stats.server_id.strip() for r in answered if r.stats.server_id}
    relay_agents |= {a.strip() for r in results for a in r.server.relay_agents}
    acc = {t.name: _Tenant() for t in tenants if t.icecast_mounts or t.fallback_mounts}
    unclaimed: Counter = Counter()
    shared: Counter = Counter()  # shared fallback mount -> listeners
    sourced: set[str] = set()
    sourceless: set[str] = set()
    for result in answered:
        for mount in result.stats.mounts:
            (sourced if mount.has_source else sourceless).add(mount.mount)
            name = tenants.tenant_for_mount(mount.mount)
            if name is None:
                if tenants.fallback_sharers(mount.mount):
                    shared[mount.mount] += mount.listeners
                else:
                    unclaimed[mount.mount] += mount.listeners
                continue
            tenant = acc[name]
            pattern = tenants.by_name[name].app_user_agent
            relays = 0
            for rec in result.listeners.get(mount.mount, ()):
                if rec.user_agent.strip() in relay_agents or rec.ip_token in relay_ip_tokens:
                    kind = "relay"
                else:
                    kind = client_type(rec.user_agent, pattern)
                if kind == "relay":
                    relays += 1
                    continue
                tenant.clients[kind] += 1
                if rec.country is not None:
                    tenant.countries[rec.country] += 1
                if rec.ip_token:
                    tenant.ips.add(rec.ip_token)
                if rec.connected_seconds is not None:
                    tenant.durations.append(rec.connected_seconds)
            tenant.relays += relays
            tenant.mounts[mount.mount] += max(0, mount.listeners - relays)
    samples = []
    for name, tenant in acc.items():
        spec = tenants.by_name[name]
        on_fallback = sum(1 for m in spec.icecast_mounts if m in sourceless and m not in sourced)
        counted = [*spec.icecast_mounts, *(m for m in spec.fallback_mounts if tenants.tenant_for_mount(m) == name)]
        metrics = {
            "listeners": sum(tenant.mounts[m] for m in counted),
            "unique_listeners": len(tenant.ips),
            "median_listening_seconds": int(statistics.median_low(tenant.durations)) if tenant.durations else 0,
            "relays": tenant.relays,
            "servers_failed": failed,
            "on_fallback": on_fallback,
            "fallback_listeners": sum(shared[m] for m in spec.fallback_mounts if tenants.fallback_sharers(m))
            if on_fallback
            else 0,
        }
        metrics.update({f"client:{kind}": tenant.clients[kind] for kind in CLIENT_TYPES})
        metrics.update({f"mount:{m}": tenant.mounts[m] for m in counted})
        if top_countries is not None:  # of the listeners listed (a mount without its list is not placed)
            metrics.update(country_metrics(tenant.countries.elements(), top=top_countries))
        samples.append(Sample(tenant=name, series="icecast", time_ms=time_ms, metrics=metrics))
    return Aggregate(samples=samples, unclaimed=dict(unclaimed), servers_failed=failed)
