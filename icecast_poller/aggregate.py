"""Turn what the servers said into one sample per tenant (pure: no I/O, no clock).

``listeners`` is the tenant's total over its mounts and servers (a master and its relays),
minus connections that are Icecast relays pulling the stream, which Icecast counts as
listeners and would otherwise be counted twice.
"""
from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable

from icecast_poller.classify import CLIENT_TYPES, client_type
from icecast_poller.fetch import ServerResult
from shared.live_store import Sample
from shared.tenants import Tenants


@dataclass
class _Tenant:
    mounts: Counter = field(default_factory=Counter)
    clients: Counter = field(default_factory=Counter)
    ips: set = field(default_factory=set)
    durations: list = field(default_factory=list)
    relays: int = 0


@dataclass(frozen=True)
class Aggregate:
    samples: list[Sample]
    unclaimed: dict[str, int]  # mount -> listeners on mounts no tenant claims
    servers_failed: int


def aggregate(results: Iterable[ServerResult], tenants: Tenants, *, time_ms: int) -> Aggregate:
    results = list(results)
    answered = [r for r in results if r.stats is not None]
    failed = len(results) - len(answered)
    if not answered:
        return Aggregate(samples=[], unclaimed={}, servers_failed=failed)
    acc = {t.name: _Tenant() for t in tenants if t.icecast_mounts}
    unclaimed: Counter = Counter()
    for result in answered:
        for mount in result.stats.mounts:
            name = tenants.tenant_for_mount(mount.mount)
            if name is None:
                unclaimed[mount.mount] += mount.listeners
                continue
            tenant = acc[name]
            tenant.mounts[mount.mount] += mount.listeners
            pattern = tenants.by_name[name].app_user_agent
            for rec in result.listeners.get(mount.mount, ()):
                kind = client_type(rec.user_agent, pattern)
                if kind == "relay":
                    tenant.relays += 1
                    continue
                tenant.clients[kind] += 1
                if rec.ip_hash:
                    tenant.ips.add(rec.ip_hash)
                if rec.connected_seconds is not None:
                    tenant.durations.append(rec.connected_seconds)
    samples = []
    for name, tenant in acc.items():
        metrics = {
            "listeners": max(0, sum(tenant.mounts.values()) - tenant.relays),
            "unique_listeners": len(tenant.ips),
            "median_listening_seconds": int(statistics.median_low(tenant.durations)) if tenant.durations else 0,
            "relays": tenant.relays,
            "servers_failed": failed,
        }
        metrics.update({f"client:{kind}": tenant.clients[kind] for kind in CLIENT_TYPES})
        metrics.update({f"mount:{m}": tenant.mounts[m] for m in tenants.by_name[name].icecast_mounts})
        samples.append(Sample(tenant=name, series="icecast", time_ms=time_ms, metrics=metrics))
    return Aggregate(samples=samples, unclaimed=dict(unclaimed), servers_failed=failed)
