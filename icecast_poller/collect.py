"""icecast_poller's step: poll every server once, one sample per tenant (shared.runtime.collect)."""

from __future__ import annotations

import time
from typing import Any

from icecast_poller.aggregate import aggregate
from icecast_poller.fetch import poll_servers
from shared.clients.http import HttpOptions, get_session
from shared.live.records import Sample
from shared.runtime.collect import Context
from shared.runtime.health import series_interval_seconds
from shared.runtime.runs import seconds_since_last_success
from shared.runtime.status import RunReport

FUNCTION = "icecast_poller"


def collect(settings: Any, context: Context) -> list[Sample]:
    """Each server's stats and listeners, aggregated per tenant; a server that fails is a failed
    source of the run, and the others are written."""
    report = context.report
    session = context.session or get_session(
        HttpOptions(
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            retries=1,
            pool_size=settings.max_parallel,
        )
    )
    results = poll_servers(
        settings.servers,
        session=session,
        wants_mount=lambda m: settings.owners.tenant_for_mount(m) is not None,
        ip_tokens=settings.hasher.ip_tokens,
        max_parallel=settings.max_parallel,
        deadline=time.monotonic() + settings.deadline_seconds,
        countries=settings.geoip.countries if settings.geoip else None,
    )
    interval_s = seconds_since_last_success(
        FUNCTION,
        settings.store,
        redis=context.redis,
        now_ms=report.started_ms,
        default_s=series_interval_seconds("icecast", context.env),
    )
    relay_ips = frozenset(settings.hasher.ip_tokens([a for s in settings.servers for a in s.relay_addresses]))
    result = aggregate(
        results,
        settings.owners,
        time_ms=report.started_ms,
        relay_ip_tokens=relay_ips,
        top_countries=settings.geoip.top if settings.geoip else None,
        interval_s=interval_s,
        aqh_seconds=settings.aqh_seconds,
    )
    _report(report, results, result, settings, context.log)
    for sample in result.samples:
        report.succeed(f"tenant:{sample.tenant}", listeners=sample.metrics["listeners"])
    return list(result.samples)


def _report(report: RunReport, results: Any, result: Any, settings: Any, log: Any) -> None:
    """Each server's outcome (a mount without its breakdown only noted), the unclaimed mounts,
    and the country database: the run's status for on-call."""
    for r in results:
        source = f"server:{r.server.name}"
        if r.error:
            report.fail(source, r.error)
            continue
        counts = {
            "mounts": len(r.stats.mounts),
            "listeners": sum(m.listeners for m in r.stats.mounts),
            "clients_listed": sum(len(v) for v in r.listeners.values()),
            "elapsed_ms": r.elapsed_ms,
            "mounts_without_source": sum(1 for m in r.stats.mounts if not m.has_source),
        }
        if r.mount_errors:  # the server answered: a mount without its breakdown is only noted
            counts["mounts_without_breakdown"] = len(r.mount_errors)
            log.bind(source=source).info(
                "no listener breakdown for %s", "; ".join(f"{m}: {e}" for m, e in sorted(r.mount_errors.items()))
            )
        report.succeed(source, **counts)
    if result.unclaimed:
        log.warning(
            "mounts no tenant claims: %s",
            ", ".join(f"{m} ({n} listeners)" for m, n in sorted(result.unclaimed.items())),
        )
        report.succeed("unclaimed-mounts", **result.unclaimed)
    if settings.geoip is not None:  # countries only: the listener numbers above stand either way
        if settings.geoip.problem:
            report.fail("geoip", settings.geoip.problem)
        else:
            report.succeed("geoip")
